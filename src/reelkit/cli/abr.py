"""The ``reelkit abr`` command group; its commands live in ``abr_core``, ``abr_play``."""

from __future__ import annotations

import typer

__all__ = ["group", "register"]

group = typer.Typer(
    help="Adaptive bitrate: simulate, compare, train, offline optimum, real playback.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the ``abr`` group (and any top-level commands of this pillar) to the root app."""
    from reelkit.cli import abr_core, abr_play

    abr_core.add_commands(group, app)
    abr_play.add_commands(group, app)
    app.add_typer(group, name="abr")
