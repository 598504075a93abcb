"""``python -m autonas`` runs the command line."""

from autonas.cli import main

raise SystemExit(main())
