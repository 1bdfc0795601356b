"""The MetaTrader 5 connector: the core's port over the ``MetaTrader5`` module's API.

The same code drives the real package on Windows, the Linux bridge to it, and the simulated
terminal; only the ``api`` object handed to :class:`MT5Connector` differs.
"""

from copier_gui.connectors.mt5.connector import MT5Connector
from copier_gui.connectors.mt5.invoker import InlineInvoker, Invoker, ThreadInvoker

__all__ = ["InlineInvoker", "Invoker", "MT5Connector", "ThreadInvoker"]
