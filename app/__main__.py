"""``python -m app``: the same as the ``kai`` command."""

from app.cli import main

main()
