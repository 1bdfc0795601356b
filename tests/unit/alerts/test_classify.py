"""Which notices become alerts, in which words."""

from __future__ import annotations

from copier_gui.alerts.classify import Classifier
from copier_gui.core.executor import Notice


def test_a_link_that_goes_down_and_comes_back_is_two_alerts_and_retries_are_none():
    c = Classifier()
    down = Notice("state", "s1", "s1 disconnected: terminal not connected", state="disconnected")
    first = c.classify(down, 0)
    assert (first.kind, first.topic, first.title) == ("disconnect", "disconnect", "s1: connection lost")
    assert c.classify(down, 1) is None
    assert c.classify(Notice("state", "s1", "s1 connecting", state="connecting"), 2) is None
    back = c.classify(Notice("state", "s1", "s1 connected", state="connected"), 3)
    assert (back.kind, back.topic, back.title) == ("disconnect", "reconnect", "s1: connected again")
    # Connected without having been reported down (the start) is not news.
    assert c.classify(Notice("state", "s2", "s2 connected", state="connected"), 4) is None


def test_trading_switched_off_is_an_alert():
    alert = Classifier().classify(Notice("state", "s1", "s1 degraded: AutoTrading is off", state="degraded"), 0)
    assert alert.title == "s1: cannot trade"


def test_a_risk_halt_carries_the_breach_that_caused_it():
    c = Classifier()
    breach = c.classify(Notice("refusal", "s1", "daily loss 12.00 USD >= limit 1.00 USD"), 0)
    assert breach.kind == "refusal"
    halt = c.classify(Notice("state", "s1", "s1 trading state active -> halted", state="halted"), 0)
    assert halt.kind == "risk"
    assert halt.text == "s1 trading state active -> halted (daily loss 12.00 USD >= limit 1.00 USD)"
    assert "flattened" in halt.title


def test_copies_master_changes_and_information_are_not_alerts():
    c = Classifier()
    for kind in ("copy", "master", "info"):
        assert c.classify(Notice(kind, "s1", "whatever"), 0) is None
    assert c.classify(Notice("state", "s1", "rules changed for s1"), 0) is None
    assert c.classify(Notice("failure", "s1", "failed: open: No money"), 0).title == "s1: failure"
