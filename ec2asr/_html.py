"""HTML shown in notebooks and pages: one scoped style sheet for every ec2asr table.

Notebooks style every output table (classic Notebook and JupyterLab right-align cells, some
themes break words anywhere); ec2asr's rules are scoped under ``div.ec2asr-report``, which is
more specific than theirs, so cells stay left-aligned and ids (``class="iid"``) on one line.
"""

from __future__ import annotations

__all__ = ["notebook_safe"]

_CSS = """
div.ec2asr-report{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,
sans-serif;font-size:14px;color:#1f2328;text-align:left;line-height:1.4}
div.ec2asr-report h1{font-size:20px;margin:0 0 4px}
div.ec2asr-report h2{font-size:16px;margin:20px 0 6px}
div.ec2asr-report p{margin:4px 0}
div.ec2asr-report table{border-collapse:collapse;width:100%;margin:0}
div.ec2asr-report th,div.ec2asr-report td{text-align:left;vertical-align:top;padding:5px 8px;
border:none;border-bottom:1px solid #d8dee4;background:none}
div.ec2asr-report th{font-weight:600;color:#57606a;font-size:12px;white-space:nowrap}
div.ec2asr-report .name{font-weight:600;white-space:nowrap}
div.ec2asr-report .iid{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
font-size:12px;color:#57606a;white-space:nowrap}
div.ec2asr-report .stage,div.ec2asr-report .fig{white-space:nowrap;font-size:13px}
div.ec2asr-report td.bar{width:100%;min-width:240px;vertical-align:middle}
div.ec2asr-report td.bar svg{display:block;width:100%;height:22px}
div.ec2asr-report .axis{display:flex;justify-content:space-between;font-weight:400}
div.ec2asr-report .good{color:#1a7f37}div.ec2asr-report .bad{color:#cf222e;font-weight:600}
div.ec2asr-report .wait{color:#9a6700}
div.ec2asr-report tr.note td{border-bottom:1px solid #d8dee4;padding-top:0;color:#57606a;
font-size:12px;white-space:normal}
div.ec2asr-report tr.has-note td{border-bottom:none}
div.ec2asr-report .legend{display:flex;flex-wrap:wrap;gap:4px 12px;margin:8px 0;font-size:12px}
div.ec2asr-report .legend span{white-space:nowrap}
div.ec2asr-report .swatch{display:inline-block;width:10px;height:10px;margin-right:4px;
vertical-align:middle;border-radius:2px}
div.ec2asr-report .cut{border:2px solid #cf222e;background:none}
div.ec2asr-report ul{margin:0;padding-left:18px}
"""


def notebook_safe(inner: str) -> str:
    """``inner`` inside a ``div.ec2asr-report`` with the scoped styles."""
    return f'<div class="ec2asr-report"><style>{_CSS}</style>{inner}</div>'
