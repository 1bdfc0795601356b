"""The simulated brokers as their profiles specify them, written out for the MT5 connector tests.

Expected values come from here, never read back from the simulator, so a mistake in the simulator
cannot hide behind the same mistake in a test.
"""

from __future__ import annotations

PROFILES = ("meridian_ecn", "harbor_fx", "summit_netting", "apex_prop")
SUFFIX = {"meridian_ecn": "", "harbor_fx": ".m", "summit_netting": "-ECN", "apex_prop": ".raw"}
MIN_LOT = {"meridian_ecn": 0.01, "harbor_fx": 0.01, "summit_netting": 0.01, "apex_prop": 0.1}
STOPS_LEVEL = {"meridian_ecn": 0, "harbor_fx": 10, "summit_netting": 5, "apex_prop": 20}
SERVER_OFFSET_S = {"meridian_ecn": 7200, "harbor_fx": 7200, "summit_netting": 0, "apex_prop": 10800}
COMPANY = {
    "meridian_ecn": "Meridian Markets Ltd",
    "harbor_fx": "Harbor FX Europe AG",
    "summit_netting": "Summit Securities K.K.",
    "apex_prop": "Apex Funded Traders LLC",
}
POINT = 1e-5  # EURUSD has five digits at every profile


def eurusd(profile: str) -> str:
    return "EURUSD" + SUFFIX[profile]
