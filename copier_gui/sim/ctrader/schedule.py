"""When a simulated cTrader symbol trades, in the Open API's terms: a weekly schedule of intervals
in seconds from Sunday 00:00 (end excluded) and the broker's holidays.

The weekly schedule is the shared market's own session (forex from Sunday 22:00 to Friday 21:00
UTC, metals and indices with a daily break from 21:00 to 22:00, crypto always), so what the
symbol says is what the engine does. Holidays are the broker's: on one, trade requests on the
symbol are refused with SYMBOL_HAS_HOLIDAY, while the engine still triggers what already works.
"""

from __future__ import annotations

import datetime as _dt

from copier_gui.ctrader_messages import model as MM
from copier_gui.sim.ctrader.profiles import Holiday
from copier_gui.sim.instruments import INSTRUMENTS, SessionKind

TIME_ZONE = "UTC"
_DAY = 86_400
_WEEK = 7 * _DAY


def holiday_message(holiday: Holiday) -> MM.ProtoOAHoliday:
    days = (holiday.date - _dt.date(1970, 1, 1)).days
    return MM.ProtoOAHoliday(holidayId=holiday.holiday_id, name=holiday.name, scheduleTimeZone=TIME_ZONE,
                             holidayDate=days, isRecurring=holiday.recurring, startSecond=holiday.start_second,
                             endSecond=holiday.end_second)


def weekly(instrument: str) -> list[tuple[int, int]]:
    """The trading intervals of a week, in seconds from Sunday 00:00 UTC, end excluded."""
    kind = INSTRUMENTS[instrument].session
    if kind is SessionKind.CRYPTO:
        return [(0, _WEEK)]
    if kind is SessionKind.FOREX:
        return [(22 * 3600, 5 * _DAY + 21 * 3600)]
    # Metals and indices stop for the daily hour from 21:00.
    return [(day * _DAY + 22 * 3600, (day + 1) * _DAY + 21 * 3600) for day in range(5)]


def intervals(instrument: str) -> list[MM.ProtoOAInterval]:
    return [MM.ProtoOAInterval(startSecond=start, endSecond=end) for start, end in weekly(instrument)]


def open_at(instrument: str, utc: float) -> bool:
    """Whether the weekly schedule has the symbol open at ``utc``."""
    second = (int(utc) + 4 * _DAY) % _WEEK  # 1970-01-01 was a Thursday: shift day 0 to a Sunday
    return any(start <= second < end for start, end in weekly(instrument))
