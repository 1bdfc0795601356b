"""The Linux bridge to MetaTrader 5: the ``MetaTrader5`` module in Windows Python under Wine,
reached over RPyC on a TLS connection that both sides authenticate with a shared secret.
``MT5Bridge`` is the client; ``server`` runs next to the terminal; ``pairing`` keeps the secret.
"""

from copier_gui.bridge.client import MT5Bridge
from copier_gui.bridge.handshake import BridgeAuthError, BridgeError, NotABridge

__all__ = ["BridgeAuthError", "BridgeError", "MT5Bridge", "NotABridge"]
