"""The ``reelkit cache`` command group; its commands live in ``cache_sim``, ``cache_plan``."""

from __future__ import annotations

import typer

__all__ = ["group", "register"]

group = typer.Typer(
    help="Edge caching: request traces, cache policies, forecast, nightly fill, download advice.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``cache`` group (and any top-level commands of this pillar) to the root app."""
    from reelkit.cli import cache_plan, cache_sim

    cache_sim.add_commands(group, app)
    cache_plan.add_commands(group, app)
    app.add_typer(group, name="cache")
