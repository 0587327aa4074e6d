"""The ``reelkit schedule`` command group; its commands live in ``produce_talent``, ``produce_plan``."""

from __future__ import annotations

import typer

__all__ = ["group", "register"]

group = typer.Typer(
    help="Shoot scheduling: exact talent scheduling and real productions.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the ``schedule`` group (and any top-level commands of this pillar) to the root app."""
    from reelkit.cli import produce_plan, produce_talent

    produce_talent.add_commands(group, app)
    produce_plan.add_commands(group, app)
    app.add_typer(group, name="schedule")
