"""Tags: the comment that links a slave's trade to its master position, its copier and its role."""

from __future__ import annotations

from copier_gui.core import tags


def test_a_tag_names_the_master_ticket_the_copier_and_a_chase_order():
    plain = tags.comment_for(123456)
    mine = tags.comment_for(123456, instance="A1B2")
    chase = tags.comment_for(123456, instance="A1B2", chase=True)
    assert (plain, mine, chase) == ("CG:2N9C", "CG:2N9C.A1B2", "CG:2N9C.A1B2/L")
    assert {tags.master_ticket_of(c) for c in (plain, mine, chase)} == {123456}
    assert [tags.instance_of(c) for c in (plain, mine, chase)] == ["", "A1B2", "A1B2"]
    assert [tags.is_chase(c) for c in (plain, mine, chase)] == [False, False, True]
    assert len(tags.comment_for(36 ** 8 - 1, instance="ZZZZ", chase=True)) <= tags.MAX_COMMENT


def test_a_tag_without_a_copier_is_everyones_and_another_copiers_is_not_ours():
    assert tags.is_ours("CG:2N9C", "A1B2") and tags.is_ours("CG:2N9C.A1B2", "A1B2")
    assert not tags.is_ours("CG:2N9C.ZZZZ", "A1B2")
    assert not tags.is_ours("my own trade", "A1B2")
    assert tags.instance_of("my own trade") == ""


def test_a_magic_filter_becomes_a_predicate():
    from copier_gui.core.tags import magic_predicate

    assert magic_predicate(None) is None
    assert magic_predicate(7)(7) and not magic_predicate(7)(8)
    assert magic_predicate([1, 2])(2) and not magic_predicate([1, 2])(3)
    assert magic_predicate(lambda m: m > 5)(6)
