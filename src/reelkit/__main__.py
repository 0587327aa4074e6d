"""``python -m reelkit`` runs the command line."""

from reelkit.cli import main

main()
