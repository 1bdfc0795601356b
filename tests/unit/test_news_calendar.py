"""Reading a news calendar (CSV or ICS) for prop-firm blackouts: instants in UTC, currencies and
impact as documented, and every fault named with the file, the line or event, and what is wrong."""

from __future__ import annotations

import datetime as dt

import pytest

from copier_gui.core.prop_rules import NewsImpact
from copier_gui.news_calendar import CalendarError, load_calendar

NFP = dt.datetime(2026, 12, 4, 13, 30, tzinfo=dt.UTC).timestamp()


def write(tmp_path, name: str, text: str):
    (tmp_path / name).write_text(text, encoding="utf-8")
    return name


def test_a_csv_export_is_read_in_utc_by_default_and_in_its_timezone_column(tmp_path):
    write(tmp_path, "week.csv", "Title,Country,Date,Time,Impact,Forecast\n"
                                "Non-Farm Payrolls,USD,12-04-2026,1:30pm,High,50K\n"
                                "Bank Holiday,GBP,12-04-2026,All Day,Holiday,\n"
                                "ECB Press Conference,EUR,2026-12-04,13:45,Medium Impact,\n")
    nfp, ecb = load_calendar("week.csv", tmp_path)
    assert (nfp.at, nfp.title, nfp.currencies, nfp.impact) == (NFP, "Non-Farm Payrolls", {"USD"}, NewsImpact.HIGH)
    assert ecb.impact is NewsImpact.MEDIUM and ecb.at == NFP + 15 * 60
    write(tmp_path, "ny.csv", "event,currency,date,time,impact,timezone\nNFP,USD,2026-12-04,08:30,high,America/New_York\n")
    assert load_calendar(tmp_path / "ny.csv", tmp_path / "elsewhere")[0].at == NFP


def test_an_ics_file_takes_currencies_and_impact_from_categories_or_summary_and_priority(tmp_path):
    write(tmp_path, "news.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n"
          "BEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20261101T000000Z\r\nSUMMARY:USD Non-Farm Payrolls\r\n"
          "DTSTART;TZID=America/New_York:20261204T083000\r\nPRIORITY:1\r\nEND:VEVENT\r\n"
          "BEGIN:VEVENT\r\nUID:2\r\nDTSTAMP:20261101T000000Z\r\nSUMMARY:Rate decision\r\n"
          "DTSTART:20261204T134500Z\r\nCATEGORIES:EUR,Medium\r\nEND:VEVENT\r\n"
          "BEGIN:VEVENT\r\nUID:3\r\nDTSTAMP:20261101T000000Z\r\nSUMMARY:JPY Holiday\r\n"
          "DTSTART;VALUE=DATE:20261204\r\nPRIORITY:9\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    nfp, ecb = load_calendar("news.ics", tmp_path)
    assert (nfp.at, nfp.currencies, nfp.impact) == (NFP, {"USD"}, NewsImpact.HIGH)
    assert (ecb.at, ecb.currencies, ecb.impact) == (NFP + 900, {"EUR"}, NewsImpact.MEDIUM)


@pytest.mark.parametrize(("name", "text", "words"), [
    ("a.csv", "title,currency,date,time,impact\nNFP,USD,2026-13-04,13:30,high\n",
     ["line 2", "NFP", "date '2026-13-04'"]),
    ("b.csv", "title,currency,date,time,impact\nNFP,USD,2026-12-04,25:30,high\n", ["line 2", "time '25:30'"]),
    ("c.csv", "title,currency,date,time,impact\n\nNFP,US Dollar,2026-12-04,13:30,high\n",
     ["line 3", "currency 'US Dollar'"]),
    ("d.csv", "title,currency,date,time,impact\nNFP,USD,2026-12-04,13:30,huge\n", ["line 2", "impact 'huge'"]),
    ("e.csv", "title,currency,date,time,impact,timezone\nNFP,USD,2026-12-04,13:30,high,Mars/Base\n",
     ["line 2", "'Mars/Base'"]),
    ("f.csv", "title,date,time\n", ["line 1", "no currency or impact column"]),
    ("g.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:Payrolls\r\nDTSTART:20261204T133000Z\r\n"
              "PRIORITY:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", ["event 1 (Payrolls)", "no currency"]),
    ("h.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:USD Payrolls\r\nDTSTART:20261204T133000Z\r\n"
              "END:VEVENT\r\nEND:VCALENDAR\r\n", ["event 1 (USD Payrolls)", "no impact"]),
    ("i.ics", "this is not a calendar\n", ["i.ics", "not an iCalendar file"]),
    ("j.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:USD NFP\r\nDTSTART:2026XX04T133000Z\r\n"
              "PRIORITY:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", ["event 1 (USD NFP)", "DTSTART '2026XX04T133000Z'"]),
    ("k.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:USD NFP\r\nDTSTART;TZID=Mars/Base:20261204T083000\r\n"
              "PRIORITY:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", ["event 1 (USD NFP)", "'Mars/Base' is unknown"]),
    ("l.ics", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:USD NFP\r\nDTSTART:20261204T133000Z\r\n"
              "PRIORITY:soon\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", ["event 1 (USD NFP)", "PRIORITY 'soon'"]),
    ("m.csv", 'title,currency,date,time,impact\n"NFP,USD,2026-12-04,13:30,high\n', ["line 2", "unclosed quote"]),
])
def test_bad_input_names_the_file_the_place_and_the_fault(tmp_path, name, text, words):
    write(tmp_path, name, text)
    with pytest.raises(CalendarError) as caught:
        load_calendar(name, tmp_path)
    assert str(tmp_path / name) in caught.value.message
    for word in words:
        assert word in caught.value.message


def test_a_missing_file_names_the_path_and_the_folder_it_was_read_from(tmp_path):
    with pytest.raises(CalendarError, match="no such file") as caught:
        load_calendar("news/week.csv", tmp_path)
    assert str(tmp_path / "news" / "week.csv") in caught.value.message


def test_news_for_reads_a_profiles_calendar_or_says_why_not(tmp_path):
    from copier_gui.core.prop_rules import PropRules
    from copier_gui.news_calendar import news_for

    def profile(calendar: str | None) -> PropRules:
        news = {"news": {"calendar": calendar}} if calendar else {}
        return PropRules.model_validate({"reset": "17:00 America/New_York", **news})

    write(tmp_path, "week.csv", "title,currency,date,time,impact\nNFP,USD,2026-12-04,13:30,high\n")
    assert news_for(profile(None), tmp_path) == ((), "") and news_for(None, tmp_path) == ((), "")
    events, error = news_for(profile("week.csv"), tmp_path)
    assert [e.at for e in events] == [NFP] and error == ""
    events, error = news_for(profile("gone.csv"), tmp_path)
    assert events == () and "gone.csv" in error and "no news blackout is enforced" in error


def test_the_calendar_section_of_the_rules_docs_holds_a_valid_profile_and_a_readable_csv(tmp_path):
    import re
    from pathlib import Path

    import yaml

    from copier_gui.core.rules import CopyRules

    docs = (Path(__file__).parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
    section = docs[docs.index("### Prop-firm calendar rules"):]
    prop = CopyRules.model_validate(yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))).risk.prop
    assert prop.news.calendar == "news/this-week.csv" and prop.consistency.best_day_percent == 40
    write(tmp_path, "week.csv", re.search(r"```csv\n(.*?)```", section, re.S).group(1))
    nfp, ecb = load_calendar("week.csv", tmp_path)
    assert nfp.at == NFP and ecb.at == NFP + 15 * 60 and ecb.impact is NewsImpact.MEDIUM
