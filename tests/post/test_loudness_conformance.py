"""Every case of the EBU Tech 3341/3342 and ITU BS.2217 set in ../shared/data/loudness, to the EBU tolerances.

The signals are not in the repository (the EBU allows technical testing only): the test looks for them under
``$REELKIT_LOUDNESS_DIR`` or ``../shared/data/loudness`` and skips when they are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reelkit.post.conformance import CASES, Case, case_files, check_case, measure_reelkit

DATA = Path(
    os.environ.get(
        "REELKIT_LOUDNESS_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "data" / "loudness"
    )
)

pytestmark = [
    pytest.mark.data,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"loudness conformance signals not found in {DATA}"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance_case(case: Case) -> None:
    files = case_files(case, DATA)
    if not files:
        pytest.skip(f"{case.name}: no file {case.pattern} in {DATA / case.folder}")
    failures = []
    for f in files:
        for outcome in check_case(case, f.name, measure_reelkit(f)):
            if not outcome.ok:
                failures.append(outcome)
    assert not failures, f"{case.source}: {failures}"


def test_every_case_has_its_files() -> None:
    missing = [c.name for c in CASES if not case_files(c, DATA)]
    assert not missing, f"cases without files under {DATA}: {missing}"
