"""Commands of ``reelkit schedule`` (placeholder until written)."""

from __future__ import annotations

import typer


def add_commands(group: typer.Typer, app: typer.Typer) -> None:
    """Add this module's commands to the ``schedule`` group (``group``) or the root app (``app``)."""
