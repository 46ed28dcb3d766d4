"""The console program `accert` (accert.exe): the command line, including `accert selftest`."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
