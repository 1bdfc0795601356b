"""The drift report as JSON: the period and each slave's figures, as SlaveDrift.as_json gives them."""

from __future__ import annotations

import json

from copier_gui.reports.drift_json import render_json, report_json
from tests.unit.reports.journals import T0, two_slaves


def test_period_and_each_slaves_drift():
    drifts = two_slaves().drifts()
    report = report_json(drifts, start=T0, end=T0 + 86400, generated_wall=T0 + 4000)
    assert report["period"] == {"from": "2026-11-25T09:00:00Z", "to": "2026-11-26T09:00:00Z",
                                "generated": "2026-11-25T10:06:40Z"}
    assert report["drift"] == {slave: d.as_json() for slave, d in drifts.items()}
    assert json.loads(render_json(drifts, start=T0, end=T0 + 86400, generated_wall=T0 + 4000)) == report


def test_an_open_start_is_null():
    report = report_json({}, start=None, end=T0, generated_wall=T0)
    assert report["period"]["from"] is None and report["drift"] == {}
