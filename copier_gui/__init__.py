"""copier_gui: mirror a master trading account to many slaves and measure the drift."""

__version__ = "0.1.0"
