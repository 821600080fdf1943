"""``python -m reconcile``: the same command line as ``reconcile``."""

from reconcile.cli import main

main()
