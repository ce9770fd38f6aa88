from __future__ import annotations

import itertools

from ec2asr.migration.stages import Stage


def test_stages_compare_by_order_not_alphabet() -> None:
    members = list(Stage)
    for a, b in itertools.combinations(members, 2):
        assert a < b
        assert a <= b
        assert b > a
        assert b >= a
        assert not a >= b
    # "planned" > "completed" alphabetically; by stage it is the other way round.
    assert Stage.PLANNED < Stage.COMPLETED
    assert not Stage.PLANNED >= Stage.COMPLETED
    assert max(members) is Stage.COMPLETED
    backwards = list(members)
    backwards.reverse()
    assert sorted(backwards) == members


def test_stage_helpers() -> None:
    assert Stage.PLANNED.order == 0
    assert Stage.PLANNED.next is Stage.PREPARED
    assert Stage.COMPLETED.next is None
    assert str(Stage.PROTECTED) == "protected"
    assert {Stage.PROTECTED: 1}[Stage("protected")] == 1
