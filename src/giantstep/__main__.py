"""``python -m giantstep`` runs the CLI."""

from .cli import main

main()
