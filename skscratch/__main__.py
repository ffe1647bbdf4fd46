"""``python -m skscratch``: the same as the ``skscratch`` command."""

from .cli.console import console_main

if __name__ == "__main__":
    console_main()
