"""The gate's calendar memory: the weekend answer it keeps between passes is the one computed afresh."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from copier_gui.core.prop_rules import WeekendRule
from copier_gui.core.prop_watch import PropWatch
from copier_gui.core.prop_week import weekend_window

START = dt.datetime(2026, 10, 20, tzinfo=dt.UTC).timestamp()  # the weeks around the autumn changes


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.floats(0, 3 * 86400), min_size=1, max_size=60),
       close=st.sampled_from(["Fri 16:45 America/New_York", "Fri 23:00 Europe/Prague", "Sat 01:30 Australia/Sydney"]),
       reopen=st.sampled_from(["Sun 17:05 America/New_York", "Mon 00:00 Asia/Tokyo", "Sun 01:30 Europe/London"]))
def test_the_kept_answer_is_the_fresh_one_at_every_pass(steps, close, reopen):
    rule = WeekendRule.model_validate({"close": close, "reopen": reopen, "action": "stop_entries"})
    watch, now = PropWatch(), START
    for step in steps:
        now += step
        breach, _ = watch.weekend(rule, now)
        assert (breach is not None) == (weekend_window(now, rule.close, rule.reopen) is not None)
