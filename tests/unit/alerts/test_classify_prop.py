"""Prop-firm and other risk limits as alerts: a breach says which limit and what the copier does about
it, an entry a limit refused says so, and an 80% crossing says what is left."""

from __future__ import annotations

from copier_gui.alerts.classify import Classifier
from copier_gui.core.executor import Notice
from copier_gui.core.room_watch import NEAR_LIMIT

DAILY = ("risk: daily loss 512.40 USD >= 500.00 USD (baseline: equity 10,250.00 USD at 17:00 America/New_York) "
         "(prop.daily_loss, action flatten)")


def test_a_prop_breach_is_one_risk_alert_naming_the_limit_and_the_halt_after_it_is_not_a_second():
    c = Classifier()
    breach = c.classify(Notice("refusal", "s1", DAILY), 0)
    assert (breach.kind, breach.topic) == ("risk", "risk")
    assert breach.title == "s1: prop-firm daily loss limit reached: flattening, new entries stopped"
    assert breach.text == DAILY
    assert c.classify(Notice("state", "s1", "s1 trading state active -> halted", state="halted"), 0) is None
    # A later halt with no breach announced before it (a lost risk file) is still an alert.
    assert c.classify(Notice("state", "s1", "s1 trading state reducing -> halted", state="halted"), 1).kind == "risk"


def test_each_action_and_limit_has_its_words():
    c = Classifier()
    stop = c.classify(Notice("refusal", "s2", "risk: equity 8,990.00 USD <= max-loss floor 9,000.00 USD "
                                              "(static: ...) (prop.max_loss, action stop_entries)"), 0)
    assert stop.title == "s2: prop-firm maximum loss reached: new entries stopped, exits still mirrored"
    warn = c.classify(Notice("info", "s3", "risk: daily loss 3.00% >= limit 3% (daily_loss_percent, action warn)"), 0)
    assert warn.kind == "risk" and warn.title == "s3: daily loss limit (percent) reached (warning only)"


def test_an_entry_a_risk_limit_refused_is_a_risk_alert_with_its_text():
    c = Classifier()
    text = "skipped: risk: daily loss 512.40 USD >= 500.00 USD (...) (prop.daily_loss, action stop_entries); " \
           "exits only (reducing) (master #41)"
    refused = c.classify(Notice("refusal", "s1", text, 41), 0)
    assert (refused.kind, refused.topic, refused.title) == ("risk", "risk-refused", "s1: entry refused by a risk limit")
    assert refused.text == text
    hedge = c.classify(Notice("refusal", "s1", "skipped: risk.prop.hedging: buy 0.1 EURUSD would hedge ..."), 0)
    assert hedge.topic == "risk-refused"
    # Other refusals stay refusals.
    assert c.classify(Notice("refusal", "s1", "skipped: XAUUSD has no match at the slave"), 0).kind == "refusal"


def test_a_crossing_of_80_percent_is_a_risk_alert():
    text = "prop-firm daily loss 82% used: 90.00 USD left of the 500.00 USD limit today (resets in 3 h 12 m)"
    alert = Classifier().classify(Notice("info", "s1", text, state=NEAR_LIMIT), 0)
    assert (alert.kind, alert.topic) == ("risk", "near_limit")
    assert alert.title == "s1: prop-firm daily loss 82% used" and alert.text == text


def test_a_breach_long_before_a_halt_does_not_hide_it():
    c = Classifier()
    assert c.classify(Notice("refusal", "s1", DAILY.replace("flatten", "stop_entries")), 0).kind == "risk"
    halt = c.classify(Notice("state", "s1", "s1 trading state reducing -> halted", state="halted"), 30)
    assert halt is not None and halt.kind == "risk"
