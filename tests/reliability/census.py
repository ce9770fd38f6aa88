"""Count what happens to bad input, without asserting: the figure behind docs/reliability.md.

Runs the cases of ``test_bad_input.py`` (the same hypothesis strategies, derandomized) against
whatever ``ec2asr`` is importable and sorts every outcome into: typed and early (an ``ec2asr``
error, nothing written), typed but late (an ``ec2asr`` error after a write), untyped (any
other exception), accepted (no error at all). Run it against another checkout's package to
compare::

    python tests/reliability/census.py                      # this checkout
    PYTHONPATH=/path/to/other/checkout python tests/reliability/census.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.append(str(Path(__file__).resolve().parents[2]))

from hypothesis import HealthCheck, given, settings

PER_CASE = 25


def main() -> int:
    import ec2asr
    from tests.reliability import test_bad_input as t

    outcomes: Counter[str] = Counter()
    by_case: dict[str, Counter[str]] = {}
    tmp = Path("/tmp") / "ec2asr-census"
    tmp.mkdir(exist_ok=True)

    def classify(case: t.Case, call: Any, writes: Any = None) -> None:
        before = writes() if writes else None
        try:
            call()
        except ec2asr.Ec2AsrError:
            kind = "typed and early" if not writes or writes() == before else "typed but late"
        except Exception:
            kind = "untyped"
        else:
            kind = "accepted"
        outcomes[kind] += 1
        by_case.setdefault(f"{case.entry}.{case.param}", Counter())[kind] += 1

    def run(case: t.Case, call: Any, writes: Any = None) -> None:
        @settings(
            max_examples=PER_CASE,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(value=case.values)
        def each(value: Any) -> None:
            classify(case, lambda: call(value), writes)

        each()

    for case in t.CONSTRUCTOR_CASES:
        run(case, lambda v, c=case: t._construct(c.entry, c.param, v))
    for old in tmp.iterdir():
        old.unlink()
    gen = t.environment(tmp)
    env = next(gen)
    try:
        for case in t.RUN_CASES:
            run(case, lambda v, c=case: t._call(env, c, v), env.writes)
    finally:
        gen.close()
    tried = sum(outcomes.values())
    print(
        json.dumps(
            {
                "ec2asr": str(Path(ec2asr.__file__).parent),
                "tried": tried,
                "outcomes": dict(outcomes),
                "parameters": len(by_case),
                "parameters_not_all_typed_and_early": {
                    k: dict(v) for k, v in by_case.items() if set(v) != {"typed and early"}
                },
            },
            indent=1,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
