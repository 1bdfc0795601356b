"""Which copies a "stop loss required ... close" rule closes, against an oracle over random books."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from copier_gui.core import tags
from copier_gui.core.model import Position, Side
from copier_gui.core.planner import DesiredPosition
from copier_gui.core.prop_rules import StopLossRequired
from copier_gui.core.prop_stops import unprotected

MAGIC = 7
NOW = 1_800_000_000.0


def _position(i: int, *, magic: int, sl: float, opened: float, offset: float) -> Position:
    return Position(100 + i, 100 + i, "EURUSD", Side.BUY, 0.1, 1.1, sl, 0.0, magic, tags.comment_for(1000 + i),
                    int((opened + offset) * 1000))


def _desired(i: int, sl: float) -> DesiredPosition:
    return DesiredPosition(1000 + i, "EURUSD", Side.BUY, 0.1, 0.1, sl, 0.0, 1.1, 0, 0.1)


copies = st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans(),
                            st.floats(min_value=0, max_value=120)), max_size=12)


@settings(max_examples=200, deadline=None)
@given(copies, st.floats(min_value=1, max_value=60), st.sampled_from([None, 0.0, 7200.0, -18000.0]),
       st.floats(min_value=0, max_value=120))
def test_it_closes_exactly_the_bare_copies_past_their_time_and_books_the_next(book, within, offset, seen_ago):
    rule = StopLossRequired(within_s=within, action="close")
    positions, desired, first_seen = [], {}, {}
    due_now, due_later = set(), []
    for i, (ours, has_sl, planned, planned_sl, age) in enumerate(book):
        opened = NOW - age
        positions.append(_position(i, magic=MAGIC if ours else MAGIC + 1, sl=1.0 if has_sl else 0.0, opened=opened,
                                   offset=offset or 0.0))
        if planned:
            desired[1000 + i] = _desired(i, 1.05 if planned_sl else 0.0)
        first_seen[100 + i] = NOW - seen_ago
        # The oracle: ours, bare, planned bare; counted from the open (offset known) or first sight.
        if ours and not has_sl and planned and not planned_sl:
            opened = positions[-1].time_msc / 1000 - (offset or 0.0)  # the broker keeps milliseconds
            start = min(opened, NOW - seen_ago) if offset is not None else NOW - seen_ago
            (due_now.add(1000 + i) if start + within <= NOW else due_later.append(start + within))
    found = unprotected(rule, positions, desired, magic=MAGIC, now=NOW, server_offset_s=offset,
                        first_seen=first_seen)
    assert set(found.to_close) == due_now
    assert found.next_due == (min(due_later) if due_later else None)
    assert all("risk.prop.stop_loss" in why for why in found.to_close.values())


def test_add_stop_and_no_rule_close_nothing_and_forget_what_was_seen():
    seen = {1: NOW}
    bare = [_position(0, magic=MAGIC, sl=0.0, opened=NOW - 999, offset=0.0)]
    for rule in (None, StopLossRequired(within_s=1, distance={"value": 10, "unit": "pip"})):
        assert unprotected(rule, bare, {1000: _desired(0, 0.0)}, magic=MAGIC, now=NOW, server_offset_s=0.0,
                           first_seen=seen).to_close == {}
        assert seen == {}
