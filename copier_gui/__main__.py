"""``python -m copier_gui``: the same entry point as the ``copier-gui`` command."""

import sys

from copier_gui.cli import main

# Worker processes start with the spawn method, which re-imports this module in every child; the
# guard keeps a child from running the application again.
if __name__ == "__main__":
    sys.exit(main())
