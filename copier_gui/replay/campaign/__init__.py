"""The fault campaign: random valid scenarios, run through replay, judged by an independent oracle.

``generator`` draws a scenario from a seed, with ``disruptions`` (faults, terminal switches and
quiet-spell checkpoints); ``expected`` says what a slave should hold, from the documented rules and
the simulated brokers' symbol specs, without the copier's own planner; ``reasons`` reads what the
copier journaled; ``oracle`` compares a replay report with all that; ``judge`` replays a scenario
and has the oracle check it, giving the copier its next look at a slave before a difference at the
end counts; ``campaign`` runs many seeds and counts; ``shrink`` cuts a failing scenario down to
what the failure needs.
"""

from __future__ import annotations

from copier_gui.replay.campaign.campaign import run_campaign, run_seed
from copier_gui.replay.campaign.generator import generate
from copier_gui.replay.campaign.oracle import KINDS, Violation, check
from copier_gui.replay.campaign.shrink import shrink

__all__ = ["KINDS", "Violation", "check", "generate", "run_campaign", "run_seed", "shrink"]
