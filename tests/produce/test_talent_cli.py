"""``reelkit schedule solve``: JSON shape, both methods, one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reelkit.testing.cli import run_cli as run

TINY_DAT = "tiny\n4\n3\n1 0 1 0 1\n1 1 0 1 2\n0 1 1 0 3\n1 2 3 1\n"
KEYS = {"total_cost", "holding_cost", "optimal", "status", "lower_bound", "order"}


@pytest.fixture()
def tiny(tmp_path: Path) -> Path:
    p = tmp_path / "tiny.dat"
    p.write_text(TINY_DAT)
    return p


@pytest.mark.parametrize("method", ["dp", "cpsat"])
def test_solve_json(capsys: pytest.CaptureFixture[str], tiny: Path, method: str) -> None:
    code, out, _ = run(
        capsys, "schedule", "solve", str(tiny), "--method", method, "--time-limit", "20", "--json"
    )
    assert code == 0
    res = json.loads(out)
    assert set(res) == KEYS
    assert res["total_cost"] == 29 and res["holding_cost"] == 2
    assert res["optimal"] is True and res["status"] == "optimal" and res["lower_bound"] == 29
    assert sorted(res["order"]) == [1, 2, 3, 4]  # the file's 1-based scene ids


def _random_dat(path: Path, n: int, m: int, seed: int, p: float) -> int:
    """Write a random instance as .dat (the solver tests' generator); returns its fixed pay."""
    rng = np.random.default_rng(seed)
    req = rng.random((m, n)) < p
    dur, cost = rng.integers(1, 5, n), rng.integers(1, 50, m)
    rows = [" ".join(map(str, [*req[a].astype(int), cost[a]])) for a in range(m)]
    path.write_text("\n".join(["r", str(n), str(m), *rows, " ".join(map(str, dur))]) + "\n")
    return int(cost @ (req.astype(np.int64) @ dur))


@pytest.mark.parametrize(
    ("size", "args", "status", "words"),
    [
        ((34, 14, 1, 0.35), ["--time-limit", "0.3"], "time_limit", "the time limit (0.3 s) passed"),
        ((34, 14, 2, 0.35), ["--memory-mb", "16"], "memory_limit", "the search reached its memory cap"),
        ((64, 30, 5, 0.2), ["--time-limit", "0.3"], "too_large", "more than 63 distinct scenes"),
    ],
)
def test_a_schedule_not_proved_says_why(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    size: tuple[int, int, int, float],
    args: list[str],
    status: str,
    words: str,
) -> None:
    """The JSON of a stopped search was the same whatever stopped it; its status says, so does a note."""
    fixed = _random_dat(tmp_path / "r.dat", *size)
    code, out, err = run(capsys, "schedule", "solve", str(tmp_path / "r.dat"), *args, "--json")
    res = json.loads(out)
    assert code == 0 and set(res) == KEYS
    assert res["status"] == status and res["optimal"] is False
    assert fixed <= res["lower_bound"] < res["total_cost"]
    if status == "too_large":
        assert res["lower_bound"] == fixed == 28264
    note = f"note: not proved optimal ({status}): {words}"
    assert err.startswith(note) and f"lower bound {res['lower_bound']}, gap" in err
    assert len(err.strip().splitlines()) == 1


def test_solve_table(capsys: pytest.CaptureFixture[str], tiny: Path) -> None:
    code, out, _ = run(capsys, "schedule", "solve", str(tiny))
    assert code == 0
    assert "29" in out and "order:" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--time-limit", "0"], "--time-limit must be a positive, finite number"),
        # over 63 scenes an infinite limit never ended the local search; "1e400" reads as inf too
        (["--time-limit", "inf"], "--time-limit must be a positive, finite number"),
        (["--time-limit", "1e400"], "(leave it out for no limit), not inf"),
        (["--method", "mip"], "--method must be dp or cpsat"),
        (["--memory-mb", "8"], "--memory-mb must be at least 16"),  # named as the user typed it
    ],
)
def test_bad_options_exit_2(
    capsys: pytest.CaptureFixture[str], tiny: Path, args: list[str], words: str
) -> None:
    code, out, err = run(capsys, "schedule", "solve", str(tiny), *args, "--json")
    assert code == 2 and out == ""
    assert words in err and len(err.strip().splitlines()) == 1


def test_options_reach_the_solver(
    capsys: pytest.CaptureFixture[str], tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--memory-mb, --time-limit and --method arrive in the solver's config unchanged."""
    import reelkit.produce.talent as talent

    seen = []
    real = talent.solve_talent

    def spy(inst, cfg, **kw):  # type: ignore[no-untyped-def]
        seen.append(cfg)
        return real(inst, cfg, **kw)

    monkeypatch.setattr(talent, "solve_talent", spy)
    args = ("--memory-mb", "32", "--time-limit", "9", "--method", "cpsat", "--json")
    code, _, _ = run(capsys, "schedule", "solve", str(tiny), *args)
    assert code == 0
    assert (seen[0].memory_mb, seen[0].time_limit, seen[0].method) == (32, 9.0, "cpsat")


def test_bad_file_exit_2_names_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.dat"
    bad.write_text("x\n3\n2\n1 0 1 5\n0 1 q 3\n1 1 1\n")
    code, out, err = run(capsys, "schedule", "solve", str(bad), "--json")
    assert code == 2 and out == ""
    assert f"{bad}:5:" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "schedule", "solve", str(tmp_path / "missing.dat"))
    assert code == 2 and "missing.dat" in err and len(err.strip().splitlines()) == 1


def test_a_1d_ia_array_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """ia = array1d(...) crashed with an IndexError traceback (exit 1) while the message was formatted."""
    bad = tmp_path / "v.dzn"
    bad.write_text("numScenes = 2; numActors=2; ia=array1d(1..4,[1,1,1,0]); c=[5,3]; d=[1,2];\n")
    code, out, err = run(capsys, "schedule", "solve", str(bad))
    assert code == 2 and out == ""
    assert f"{bad}:1: ia is a 1-dimensional array of shape 4" in err and len(err.strip().splitlines()) == 1


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schedule", "solve", "--help")
    assert code == 0 and "--time-limit" in out
