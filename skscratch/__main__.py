"""``python -m skscratch``: the same as the ``skscratch`` command."""

from ._cli_entry import console_main

if __name__ == "__main__":
    console_main()
