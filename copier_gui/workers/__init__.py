"""One worker process per MetaTrader 5 terminal (the package binds one terminal per process and
has no callbacks), and ``WorkerConnector``, the core's port onto one of them.
"""

from copier_gui.workers.config import BridgeTerminal, RealTerminal, SimTerminal, WorkerConfig
from copier_gui.workers.connector import WorkerConnector

__all__ = ["BridgeTerminal", "RealTerminal", "SimTerminal", "WorkerConfig", "WorkerConnector"]
