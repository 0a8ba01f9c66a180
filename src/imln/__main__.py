"""``python -m imln`` runs the command-line interface."""

from imln.cli import main

main()
