"""``python -m skscratch``: the same as the ``skscratch`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
