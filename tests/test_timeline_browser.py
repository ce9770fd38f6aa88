"""The timeline page as a browser renders it: headless Chromium (Debian's ``chromium``) loads the
page and a test-only script writes layout facts into the DOM, which ``--dump-dom`` returns.

Chromium is installed by this module's fixture when missing (``apt-get install chromium``).
If it cannot be installed, the tests FAIL with the reason: nothing is skipped.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ec2asr.migration.report import MigrationReport
from tests.migration.test_timeline import report

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing may be fetched: any host fails
)

# Measures what a person would see; run only by this test, never part of the product page.
PROBE = """
<script>
(function () {
  const root = document.querySelector("div.ec2asr-report");
  const ids = [...root.querySelectorAll(".iid")].map((el) => {
    const lh = parseFloat(getComputedStyle(el).lineHeight);
    return {text: el.textContent, lines: Math.round(el.getBoundingClientRect().height / lh),
            width: el.getBoundingClientRect().width, scroll: el.scrollWidth};
  });
  const cells = [...root.querySelectorAll("td, th")].map((el) => getComputedStyle(el).textAlign);
  const rows = [...root.querySelectorAll("table.timeline tr.machine")].map((tr) => {
    const svg = tr.querySelector("svg").getBoundingClientRect();
    const spans = [...tr.querySelectorAll("rect.span")].map((r) => {
      const b = r.getBoundingClientRect();
      return {stage: r.dataset.stage, left: b.left - svg.left, width: b.width};
    });
    const cut = tr.querySelector("rect.cutover");
    return {id: tr.dataset.instanceId, status: tr.dataset.status, svgWidth: svg.width,
            svgHeight: svg.height, spans: spans,
            cutover: cut ? cut.getBoundingClientRect().width : null,
            figures: tr.querySelector("td.fig").innerText};
  });
  const blocked = [...root.querySelectorAll("table.blocked tr.blocked")].map(
    (tr) => tr.dataset.instanceId);
  const timeline = root.querySelector("table.timeline").getBoundingClientRect();
  const blockedTable = root.querySelector("table.blocked").getBoundingClientRect();
  const facts = {ids, cells, rows, blocked, timelineBottom: timeline.bottom,
                 blockedTop: blockedTable.top, pageWidth: document.documentElement.scrollWidth,
                 viewport: window.innerWidth, text: root.innerText};
  const out = document.createElement("pre");
  out.id = "facts";
  out.textContent = JSON.stringify(facts);
  document.body.appendChild(out);
})();
</script>
"""

# What notebooks do to every output table (classic notebook and JupyterLab).
NOTEBOOK_CSS = """
<style>
.rendered_html td, .rendered_html th, .jp-RenderedHTMLCommon td,
.jp-RenderedHTMLCommon th { text-align: right; vertical-align: middle; padding: 0.5em;
  max-width: none; }
.rendered_html * { word-break: break-all; }
</style>
"""


def _install_chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    lock_path = Path(tempfile.gettempdir()) / "ec2asr-chromium-install.lock"
    with lock_path.open("w") as lock:  # several test workers: one installs, the others wait
        fcntl.flock(lock, fcntl.LOCK_EX)
        if Path(CHROMIUM).exists():
            return CHROMIUM
        apt = shutil.which("apt-get")
        if apt is None:
            pytest.fail("Chromium is missing and apt-get is not available to install it")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        steps = ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "chromium"])
        for step in steps:
            proc = subprocess.run(
                step, capture_output=True, text=True, env=env, timeout=900, check=False
            )
            if proc.returncode != 0:
                pytest.fail(
                    f"cannot install Chromium ({' '.join(step)} exited {proc.returncode}): "
                    f"{(proc.stderr or proc.stdout).strip()[-2000:]}"
                )
    if not Path(CHROMIUM).exists():
        pytest.fail(f"apt-get installed chromium but {CHROMIUM} does not exist")
    return CHROMIUM


@pytest.fixture(scope="session")
def chromium() -> str:
    return _install_chromium()


@pytest.fixture
def profile_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="ec2asr-chromium-") as folder:
        yield folder


def rendered(chromium: str, profile: str, page: str, width: int, tmp_path: Path) -> Any:
    path = tmp_path / "page.html"
    path.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = subprocess.run(
        [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},1000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    start = dom.index('<pre id="facts">') + len('<pre id="facts">')
    raw = dom[start : dom.index("</pre>", start)]
    return json.loads(raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def check_layout(facts: Any, width: int) -> None:
    # Every instance id is on one line, whole (never wrapped mid-id, never cut).
    assert len(facts["ids"]) == 4
    for iid in facts["ids"]:
        assert iid["lines"] == 1, iid
        assert iid["scroll"] <= iid["width"] + 1, iid
    # Every cell is left-aligned.
    assert set(facts["cells"]) == {"left"}, facts["cells"]
    # Three machines move; the blocked one is only in the table below the timeline.
    rows = {row["id"]: row for row in facts["rows"]}
    assert list(rows) == ["i-0123456789abcdef0", "i-0123456789abcdef1", "i-0123456789abcdef2"]
    assert facts["blocked"] == ["i-0123456789abcdef3"]
    assert facts["blockedTop"] >= facts["timelineBottom"]
    # Bars are drawn across a real width, in time order, inside their row.
    for row in rows.values():
        assert row["svgWidth"] >= 200, row
        lefts = [s["left"] for s in row["spans"]]
        assert lefts == sorted(lefts)
        assert all(
            s["left"] >= -1 and s["left"] + s["width"] <= row["svgWidth"] + 1 for s in row["spans"]
        )
    web = rows["i-0123456789abcdef0"]
    replicating = next(s for s in web["spans"] if s["stage"] == "replicating")
    prepared = next(s for s in web["spans"] if s["stage"] == "prepared")
    assert replicating["width"] == pytest.approx(prepared["width"] * 12, rel=0.05)  # 120 vs 10 min
    assert web["cutover"] is not None
    assert web["cutover"] > 0
    assert "downtime 22m00s" in web["figures"]
    assert "data loss 0 s (no write lost)" in web["figures"]
    assert rows["i-0123456789abcdef1"]["cutover"] is None
    text = facts["text"]
    assert "initial replication 63%" in text
    assert "db <primary>" in text  # escaped in the source, shown as written
    assert "Not migrated: 1 blocked" in text
    assert facts["pageWidth"] <= max(width, 0) + 1  # no horizontal scrolling


@pytest.mark.parametrize("width", [1280, 900])
def test_the_page_in_a_browser(chromium: str, profile_dir: str, tmp_path: Path, width: int) -> None:
    facts = rendered(chromium, profile_dir, report().to_html(), width, tmp_path)
    check_layout(facts, width)


def test_the_notebook_output_despite_the_notebook_css(
    chromium: str, profile_dir: str, tmp_path: Path
) -> None:
    fragment = report()._repr_html_()
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"{NOTEBOOK_CSS}</head><body><div class='rendered_html jp-RenderedHTMLCommon'>"
        f"{fragment}</div></body></html>"
    )
    facts = rendered(chromium, profile_dir, page, 1100, tmp_path)
    check_layout(facts, 1100)


def test_an_empty_report_renders(chromium: str, profile_dir: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.html"
    path.write_text(MigrationReport(()).to_html(), encoding="utf-8")
    proc = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile_dir}", "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "No machine is migrating." in proc.stdout
