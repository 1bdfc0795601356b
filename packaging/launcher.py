"""Entry script of the frozen executables: the same ``copier_gui.cli.main`` as ``copier-gui``.

Both executables (windowed and console) start here. ``freeze_support`` comes first because a
worker process started with multiprocessing's spawn method re-runs this executable, and must
become the worker instead of a second copy of the application.
"""

import multiprocessing
import sys

from copier_gui.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
