# READ FIRST: /work/PARALLEL_RULES.md (rules for the engineers working in parallel this session: no git commits, results in benchmarks/RESULTS.d/, files you must not edit, report deadline 09:20).
"""Commands of ``reelkit abr`` (placeholder until written)."""

from __future__ import annotations

import typer


def add_commands(group: typer.Typer, app: typer.Typer) -> None:
    """Add this module's commands to the ``abr`` group (``group``) or the root app (``app``)."""
