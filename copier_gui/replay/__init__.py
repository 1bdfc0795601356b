"""Replay: run a scenario against simulated brokers on virtual time, so a run can be repeated.

``scenario`` reads and checks scenario files; ``virtual_loop`` is the asyncio loop whose time is a
VirtualClock. The runner drives the copier through a scenario on both: ``trader`` acts at the
terminals, ``process`` keeps the one copier (crashes and restarts), ``report`` writes it all down.
"""

from __future__ import annotations

from copier_gui.replay.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
    scenario_json_schema,
)
from copier_gui.replay.virtual_loop import VirtualTimeLoop, run_virtual

__all__ = [
    "Scenario",
    "ScenarioError",
    "VirtualTimeLoop",
    "load_scenario",
    "parse_scenario",
    "run_virtual",
    "scenario_json_schema",
]
