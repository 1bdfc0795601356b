import sys

from copier_gui.cli import main

sys.exit(main())
