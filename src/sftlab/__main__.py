"""``python -m sftlab <command> ...``: the same as the ``sftlab`` console script."""

import sys

from sftlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
