"""The benchmark scripts' section writer keeps hand-written notes (benchmarks/results_md.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


rm = _module("results_md")


def test_a_rerun_replaces_the_tables_and_keeps_the_notes(tmp_path: Path) -> None:
    f = tmp_path / "x.md"
    f.write_text(f"# X\n\n| a |\n|---|\n| 1 |\n\n{rm.NOTES}\n\nWhy 1 moved: a fix.\n", encoding="utf-8")
    rm.write_section(f, "# X\n\n| a |\n|---|\n| 2 |\n", backup_dir=tmp_path / "out")
    want = f"# X\n\n| a |\n|---|\n| 2 |\n\n{rm.NOTES}\n\nWhy 1 moved: a fix.\n"
    assert f.read_text(encoding="utf-8") == want
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob("*.part"))


def test_a_file_without_the_notes_line_is_copied_before_it_is_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "x.md"
    f.write_text("# X\n\nold table\n\na note someone wrote\n", encoding="utf-8")
    rm.write_section(f, "# X\n\nnew table\n", backup_dir=tmp_path / "out")
    assert f.read_text(encoding="utf-8") == "# X\n\nnew table\n"
    assert (tmp_path / "out" / "x.replaced.md").read_text(encoding="utf-8").endswith("a note someone wrote\n")
    assert "x.replaced.md" in capsys.readouterr().err
    # a second run over a file still without the line keeps both replaced texts
    rm.write_section(f, "# X\n\nnewer table\n", backup_dir=tmp_path / "out")
    assert (tmp_path / "out" / "x.replaced.md").read_text(encoding="utf-8").endswith("a note someone wrote\n")
    assert (tmp_path / "out" / "x.replaced-2.md").read_text(encoding="utf-8") == "# X\n\nnew table\n"
    capsys.readouterr()
    f.write_text("# X\n\nnew table\n", encoding="utf-8")
    # the same text again, or a new file: nothing to keep, no copy, no message
    rm.write_section(f, "# X\n\nnew table\n", backup_dir=tmp_path / "out2")
    rm.write_section(tmp_path / "new.md", "# N\n", backup_dir=tmp_path / "out2")
    assert not (tmp_path / "out2").exists()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "name",
    [
        "abr.md",
        "abr_shift.md",
        "cache.md",
        "forecast.md",
        "production.md",
        "subsync.md",
        "subs_encoding.md",
        "talent.md",
    ],
)
def test_every_generated_section_file_has_the_notes_line(name: str) -> None:
    # these six are rewritten by their scripts (bench_abr, bench_abr_shift, bench_cache, bench_forecast,
    # bench_production, bench_subsync); without the line a rerun would drop their hand-written notes
    text = (ROOT / "benchmarks" / "RESULTS.d" / name).read_text(encoding="utf-8")
    assert text.count(rm.NOTES) == 1


@pytest.mark.parametrize(
    "script",
    [
        "bench_abr",
        "bench_abr_shift",
        "bench_cache",
        "bench_forecast",
        "bench_production",
        "bench_subsync",
        "bench_talent",
    ],
)
def test_the_scripts_write_through_the_section_writer(script: str) -> None:
    src = (ROOT / "benchmarks" / f"{script}.py").read_text(encoding="utf-8")
    assert "write_section(" in src


def test_talent_note_counts_what_the_files_not_proved_returned() -> None:
    """The note said every file not proved within the limit returned the listed optimum, unchecked; it
    counts them (1 of 2 here), and with every file proved it says so, as RESULTS.d/talent.md does."""
    bt = _module("bench_talent")
    ours = {"reduced_scenes": 4, "reduced_actors": 3, "nodes": 1, "wall_median_s": 1.0, "cpu_median_s": 1.0}

    def row(total: int, optimal: bool) -> dict[str, object]:
        status = "optimal" if optimal else "time_limit"
        return {"file": "x.dat", "size": "4×3", "opt_total": 29,
                "ours": {**ours, "total": total, "optimal": optimal, "status": status}}  # fmt: skip

    meta = {"command": "c", "machine": "m", "load_before": "0", "load_after": "0", "note": "n",
            "time_limit": 10.0, "repeats": 1, "cold_cli_s": "1 s", "long_limit": 10.0}  # fmt: skip
    text = bt._md([row(29, True), row(29, False), row(31, False)], meta)
    assert (
        "within the limit; 1 of the 2 files not proved within the limit returned a schedule of the " in text
    )
    text = bt._md([row(29, True)], meta)
    assert "within the limit (all 1 files in this run). A file not proved within the limit still " in text
