"""The Linux bridge to MetaTrader 5: the ``MetaTrader5`` module in Windows Python under Wine,
reached over RPyC on loopback. ``MT5Bridge`` is the client; ``server`` runs next to the terminal.
"""

from copier_gui.bridge.client import MT5Bridge

__all__ = ["MT5Bridge"]
