"""The consistency rule's words: a firm's day named so that an evening start is not read as the day before."""

from __future__ import annotations

import datetime as dt

from copier_gui.core.prop_consistency import best_day, breach_text, day_label
from copier_gui.core.prop_rules import ConsistencyRule, DayReset

NOV_24 = (dt.date(2026, 11, 24) - dt.date(1970, 1, 1)).days


def test_a_midnight_day_is_its_date_and_an_evening_day_the_span_it_covers():
    assert day_label(NOV_24, DayReset.model_validate("00:00 Europe/Prague")) == "2026-11-24"
    assert day_label(NOV_24, DayReset.model_validate("17:00 America/New_York")) == (
        "2026-11-24 17:00 to 2026-11-25 17:00 America/New_York")
    assert day_label(NOV_24, None) == "2026-11-24"


def test_the_warning_names_the_day_its_profit_and_its_share():
    best = best_day({NOV_24: 600.0, NOV_24 + 1: 150.0})
    text = breach_text(ConsistencyRule(best_day_percent=40), best, "USD", DayReset.model_validate("17:00 America/New_York"))
    assert text == ("consistency: the best day (2026-11-24 17:00 to 2026-11-25 17:00 America/New_York) made 600.00 USD, "
                    "80.0% of the total profit 750.00 USD > 40%")
