"""Slave tags: round trip, length, and robustness to broker-altered comments."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from copier_gui.core import tags


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_comment_round_trips_and_fits_mt5(ticket):
    comment = tags.comment_for(ticket)
    assert len(comment) <= tags.MAX_COMMENT
    assert tags.master_ticket_of(comment) == ticket


def test_foreign_comments_are_not_ours():
    for comment in ("", "manual trade", "CG", "CG:", "cg-123", "[sl 1.09900]"):
        assert tags.master_ticket_of(comment) is None


def test_a_suffix_added_by_the_server_is_ignored():
    comment = tags.comment_for(41290404)
    assert tags.master_ticket_of(comment + " [tp]") == 41290404


def test_copy_ids_are_deterministic():
    assert tags.copy_id("m", 5, "s1", "entry") == tags.copy_id("m", 5, "s1", "entry")
    assert tags.copy_id("m", 5, "s1", "entry") != tags.copy_id("m", 5, "s2", "entry")
