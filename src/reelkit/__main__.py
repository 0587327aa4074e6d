"""``python -m reelkit`` runs the command line."""

from reelkit._entry import main

main()
