"""Session-wide test settings."""

from __future__ import annotations

import os

# The CLI lays tables out for $COLUMNS when its output is not a terminal (reelkit.cli.common reads it once,
# at import): a narrow terminal running the tests (COLUMNS=50) cut table cells the tests read ("1.…" for
# 1.11). Tests see the CLI's own default width.
os.environ.pop("COLUMNS", None)
