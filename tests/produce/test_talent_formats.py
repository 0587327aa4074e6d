"""Readers of the talent-scheduling formats: Stuckey .dat, MiniZinc .dzn, CSPLib rehearsal .dzn."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from reelkit.errors import ConfigError, DataFormatError, EmptyDataError
from reelkit.produce.talent import TalentInstance, parse_dat, parse_dzn, read_instance

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "schedule"

TINY_DAT = "tiny\r\n4\r\n3\r\n\r\n1 0 1 0    1\r\n1 1 0 1    2\r\n0 1 1 0    3\r\n\r\n\r\n1 2 3 1 \r\n\r\n"
TINY_DZN = """numScenes = 4;
numActors = 3;
% a comment
ia = [| 1, 0, 1, 0
      | 1, 1, 0, 1
      | 0, 1, 1, 0 |];
c = [1,2,3];
d = [1,2,3,1];
s = [3,2,1,4];"""


def check_tiny(inst) -> None:  # type: ignore[no-untyped-def]
    assert inst.n_scenes == 4 and inst.n_actors == 3
    assert inst.requires.astype(int).tolist() == [[1, 0, 1, 0], [1, 1, 0, 1], [0, 1, 1, 0]]
    assert inst.costs.tolist() == [1, 2, 3]
    assert inst.durations.tolist() == [1, 2, 3, 1]
    assert inst.scene_ids == (1, 2, 3, 4)


def test_dat_crlf_blank_lines_and_trailing_blanks() -> None:
    inst = parse_dat(TINY_DAT)
    assert inst.name == "tiny"
    check_tiny(inst)


def test_dat_counts_on_one_line() -> None:
    text = "tiny\n4 3\n1 0 1 0 1\n1 1 0 1 2\n0 1 1 0 3\n1 2 3 1\n"
    check_tiny(parse_dat(text))


def test_dat_name_is_the_first_line_that_is_not_blank() -> None:
    """Blank lines before the name line: the instance is still called 'tiny' (not '')."""
    assert parse_dat("\n  \n" + TINY_DAT).name == "tiny"


def test_dzn_talent_scheduling_ignores_sample_schedule() -> None:
    check_tiny(parse_dzn(TINY_DZN))


def test_dzn_assignments_in_any_order_and_other_parameters_of_any_type() -> None:
    """MiniZinc takes assignments in any order and parameters the model does not read; ia used numActors
    before its assignment ("expected a number, found 'numActors'") and a set was refused ("unexpected
    character '{'")."""
    text = """ia = array2d(1..numActors, 1..numScenes, [1,0,1,0, 1,1,0,1, 0,1,1,0]);
numScenes = n;
n = 4;
numActors = 3;
s = {1, 2};
empty = {};
rate = 1.5e3;
scale = -0.25;
title = "film; \\"tiny\\"";
c = [1,2,3];
d = [1,2,3,1];
"""
    check_tiny(parse_dzn(text))
    # a name refers to itself through another, a value ends before it started, a float where a count goes
    for bad, words in (
        ("a = b;\nb = a;\nnumScenes = a;\n", r"^bad\.dzn:1: a's value refers to itself \(a -> b -> a\)"),
        ("numScenes = ;\n", r"^bad\.dzn:1: expected a value, found ';'"),
        ("s = {1, 2}\nnumScenes = 4;\n", r"^bad\.dzn:2: expected ';', found 'numScenes'"),  # not skipped
        ("numScenes = 2.5;\nnumActors = 1;\n", r"^bad\.dzn:1: expected a number, found '2\.5'"),
        (
            "numScenes = 2;\nnumActors = 1;\nia = [|1,0\n;\nc = [1];\nd = [1,1];\n",
            r"^bad\.dzn:4: expected '\|]' closing the \[\| \.\.\. \|] array of",
        ),
    ):
        with pytest.raises(DataFormatError, match=words):
            parse_dzn(bad, source="bad.dzn")


def test_dzn_scenes_of_zero_duration_are_read() -> None:
    """A scene may take no time (the .dat reader's zero was pinned, the .dzn readers' was not: a reader
    that wanted 1 or more refused both files)."""
    minizinc = parse_dzn("numScenes = 2; numActors = 1; ia = [|1,1|]; c = [5]; d = [0, 3];")
    rehearsal = parse_dzn("num_pieces = 2; num_players = 1; duration = [0, 3]; rehearsal = [|1,1|];")
    for inst in (minizinc, rehearsal):
        assert inst.durations.tolist() == [0, 3]


def test_dzn_rehearsal_array2d_unit_costs() -> None:
    text = """% Choco example
num_pieces = 5;
num_players = 3;
duration = [4,6,3,5,7];
rehearsal =  array2d(1..num_players, 1..num_pieces,
        [ 1,1,0,1,0,
          0,1,1,0,1,
          1,1,0,1,1 ]);
"""
    inst = parse_dzn(text)
    assert inst.requires.shape == (3, 5)
    assert inst.costs.tolist() == [1, 1, 1]
    assert inst.durations.tolist() == [4, 6, 3, 5, 7]
    assert inst.requires[1].astype(int).tolist() == [0, 1, 1, 0, 1]


def test_dzn_array2d_index_ranges_need_not_start_at_1() -> None:
    """array2d(0..0, 2..3, ...) is one player by two pieces: a range lo..hi has hi - lo + 1 indices."""
    text = "num_pieces = 2;\nnum_players = 1;\nduration = [1,2];\nrehearsal = array2d(0..0, 2..3, [1,0]);\n"
    inst = parse_dzn(text)
    assert inst.requires.astype(int).tolist() == [[1, 0]]


def test_dzn_rows_closed_by_a_bar_and_boolean_flags() -> None:
    """A 2-D literal whose last row ends with '|' before '|]' has no empty fourth row, and true/false flags
    read as 1/0, as MiniZinc reads them."""
    text = TINY_DZN.replace("| 0, 1, 1, 0 |]", "| 0, 1, 1, 0 |\n      |]")
    check_tiny(parse_dzn(text))
    check_tiny(parse_dzn(TINY_DZN.replace("1, 0, 1, 0\n", "true, false, true, false\n")))


def test_dzn_an_actor_may_cost_nothing() -> None:
    """A daily cost of 0 (an actor on a flat fee) is a valid cost, as it is in a .dat file."""
    assert parse_dzn(TINY_DZN.replace("c = [1,2,3]", "c = [0,2,3]")).costs.tolist() == [0, 2, 3]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("x\n3\n2\n1 0 1 5\n0 1 q 3\n1 1 1\n", 5, "expected 0 or 1"),
        ("x\n3\n2\n1 0 1 5\n0 1 1 3\n1 1\n", 6, "file ends early"),
        ("x\n3\n2\n1 0 1 5\n0 1 1 3\n1 1 1 9\n", 6, "unexpected token"),
        ("x\n3\n2\n1 0 1 -5\n0 1 1 3\n1 1 1\n", 4, "must be >= 0"),
        ("x\nthree\n2\n", 2, "number of scenes"),
        ("x\n1000000 1000000\n", 2, "the header says 1000000 scenes and 1000000 actors"),  # no 931 GiB
        ("x\n2\n1\n1 0 5\n1\n", 5, "which take 5 numbers after it; the file has 4"),  # flags, cost, durations
        ("x\n1\n1\n1 99999999999999999999\n1\n", 4, "above 1e"),
    ],
)
def test_dat_errors_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(DataFormatError, match=words) as exc:
        parse_dat(text, source="bad.dat")
    assert str(exc.value).startswith(f"bad.dat:{line}:")


def test_dat_numbers_up_to_1e12_are_read_and_one_more_is_refused() -> None:
    """MAX_NUMBER is inclusive: a daily cost of exactly 10**12 is read, 10**12 + 1 is refused at its line."""
    assert parse_dat("x\n1\n1\n1 1000000000000\n1\n").costs.tolist() == [10**12]
    with pytest.raises(DataFormatError, match=r"^bad\.dat:4: actor 1's daily cost is 1000000000001: above"):
        parse_dat("x\n1\n1\n1 1000000000001\n1\n", source="bad.dat")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("numScenes = 2;\nnumActors = 1;\nia = [|1,0|];\nc = [1];\n", "missing parameter 'd'"),
        ("numScenes = 2;\nnumActors = 1;\nia = [|1,0,1|];\nc = [1];\nd=[1,1];\n", "ia must hold"),
        ("numScenes = 2;\nnumActors = 1;\nia = [|1,2|];\nc = [1];\nd=[1,1];\n", "only 0 and 1"),
        ("numScenes = 2;\nnumActors = 1;\nia = [|1,0|];\nc = [1];\nd=[1];\n", "d must be an array of 2"),
        ("numScenes = 2\nnumActors = 1;\n", "expected ';'"),
        ("foo = 3;\n", "neither talent_scheduling"),
        ("numScenes = 2;\nnumActors = 1;\nia = [|1,0|];\nc = [1];\nd=[1,$];\n", "unexpected character"),
        ("numScenes = 2;\nnumActors = 1;\nia = [|1,0|];\nc = [1];\nd=[1,2];\nd=[3,4];\n", "d is given twice"),
        (
            "numScenes = 2;\nnumActors = 1;\nia = [|1,0|];\nc = [1];\nd=[1,99999999999999999999];\n",
            "above 1e",
        ),
    ],
)
def test_dzn_errors(text: str, words: str) -> None:
    with pytest.raises(DataFormatError, match=words) as exc:
        parse_dzn(text, source="bad.dzn")
    assert str(exc.value).startswith("bad.dzn")


@pytest.mark.parametrize(
    ("ia", "words"),
    [
        # array1d: the message read req_v.dims[1] of a 1-tuple and raised IndexError (a traceback, exit 1)
        ("array1d(1..4,[1,1,1,0])", "ia is a 1-dimensional array of shape 4; expected a 2-dimensional 2×2"),
        # array3d 2×2×1 was reported as "shape 2×2, expected 2×2": the third dimension was not printed
        (
            "array3d(1..2,1..2,1..1,[1,1,1,0])",
            "ia is a 3-dimensional array of shape 2×2×1; expected a 2-dimensional 2×2",
        ),
        ("array2d(1..4,1..1,[1,1,1,0])", "ia has shape 4×1, expected 2×2"),
    ],
)
def test_dzn_ia_of_the_wrong_dimensions_is_named(ia: str, words: str) -> None:
    text = f"numScenes = 2; numActors=2; ia={ia}; c=[5,3]; d=[1,2];\n"
    with pytest.raises(DataFormatError) as exc:
        parse_dzn(text, source="v.dzn")
    assert str(exc.value) == f"v.dzn:1: {words} (actors × scenes)"


def test_dat_without_its_name_line_says_the_first_line_was_read_as_the_name() -> None:
    """TINY without its name line: the 4 was the name, so 3 scenes and 1 actor, and the error said only
    that; it says line 1 was read as the name. A name that is not a number gets no such note."""
    text = "4\n3\n1 0 1 0 1\n1 1 0 1 2\n0 1 1 0 3\n1 2 3 1\n"
    with pytest.raises(DataFormatError) as exc:
        parse_dat(text, source="noname.dat")
    assert str(exc.value) == (
        "noname.dat:4: unexpected token '1' after the 3 scene durations (the header says 3 scenes and 1 "
        "actors); line 1 ('4') was read as the instance's name: a .dat file starts with a name line"
    )
    with pytest.raises(DataFormatError) as exc:
        parse_dat("tiny\n" + text + "9\n", source="extra.dat")
    assert "read as the instance's name" not in str(exc.value)


def test_costs_times_days_beyond_64_bits_are_refused(tmp_path: Path) -> None:
    """The error names the file, not the instance (a .dat file's first line: it said 'big: costs ...')."""
    text = "big\n2\n2\n1 1 1000000000000\n1 1 1000000000000\n10000000 10000000\n"
    with pytest.raises(DataFormatError, match=r"^<string>: costs times durations exceed 2\^62"):
        parse_dat(text)
    (tmp_path / "over.dat").write_text(text)
    (tmp_path / "over.dzn").write_text(
        "numScenes = 2; numActors = 2; ia = [| 1, 1 | 1, 1 |]; c = [1000000000000, 1000000000000];\n"
        "d = [10000000, 10000000];\n"
    )
    for name in ("over.dat", "over.dzn"):
        with pytest.raises(DataFormatError) as err:
            read_instance(tmp_path / name)
        assert str(err.value).startswith(f"{tmp_path / name}: costs times durations exceed 2^62")


def test_costs_times_days_of_exactly_2_62_are_refused() -> None:
    """2^62 is the search's infinity, so costs x days stay below it: (2^31-1)(2^31+1) is read, 2^62 not."""
    req = np.ones((1, 1), bool)
    TalentInstance(requires=req, durations=np.array([2**31 + 1]), costs=np.array([2**31 - 1]))
    with pytest.raises(ConfigError, match="exceed 2\\^62"):
        TalentInstance(requires=req, durations=np.array([2**31]), costs=np.array([2**31]))


def test_dzn_error_line_number() -> None:
    text = "numScenes = 2;\nnumActors = 1;\nia = [|1,0|];\nc = [1];\nd = [1,1]\nfoo = 3;\n"
    with pytest.raises(DataFormatError, match=r"bad.dzn:6: expected ';'"):
        parse_dzn(text, source="bad.dzn")


def test_dzn_line_numbers_count_the_lines_of_a_block_comment() -> None:
    """A two-line /* */ comment on top: the missing ';' after d is reported at line 8 (the next token)."""
    text = "/* two\nlines */\nnumScenes = 2;\nnumActors = 1;\nia = [|1,0|];\nc = [1];\nd = [1,1]\nfoo = 3;\n"
    with pytest.raises(DataFormatError, match=r"^bad\.dzn:8: expected ';'"):
        parse_dzn(text, source="bad.dzn")


def test_read_instance_by_extension_and_empty_file(tmp_path: Path) -> None:
    (tmp_path / "a.dat").write_text(TINY_DAT)
    (tmp_path / "a.dzn").write_text(TINY_DZN)
    (tmp_path / "noext").write_text(TINY_DZN)
    for name in ("a.dat", "a.dzn", "noext"):
        check_tiny(read_instance(tmp_path / name))
    (tmp_path / "empty.dat").write_text("  \n")
    with pytest.raises(EmptyDataError, match=r"empty\.dat"):
        read_instance(tmp_path / "empty.dat")
    (tmp_path / "bin.dat").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DataFormatError, match="not a text file"):
        read_instance(tmp_path / "bin.dat")


def test_invalid_utf8_is_named_at_its_line(tmp_path: Path) -> None:
    """A stray byte 0xff on the third line is reported at line 3."""
    bad = tmp_path / "bad.dat"
    bad.write_bytes(b"x\n1\n1 \xff\n1\n")
    with pytest.raises(DataFormatError, match="not a text file") as exc:
        read_instance(bad)
    assert str(exc.value).startswith(f"{bad}:3:")


def test_read_instance_names_a_dzn_by_its_stem_and_reads_txt_as_dat(tmp_path: Path) -> None:
    """a.dzn is the instance 'a' (not 'a.dzn'); a DDOLib .txt is a .dat even when its name line reads like
    a .dzn assignment."""
    (tmp_path / "a.dzn").write_text(TINY_DZN)
    assert read_instance(tmp_path / "a.dzn").name == "a"
    (tmp_path / "gen.txt").write_text(TINY_DAT.replace("tiny", "seed = 3", 1))
    inst = read_instance(tmp_path / "gen.txt")
    assert inst.name == "seed = 3"
    check_tiny(inst)


def _rows() -> list[dict[str, str]]:
    if not (DATA / "instances.csv").exists():
        return []
    with (DATA / "instances.csv").open() as fh:
        return list(csv.DictReader(fh))


@pytest.mark.data
def test_every_file_in_the_folder_reads_with_its_listed_size() -> None:
    rows = _rows()
    if not rows:
        pytest.skip(f"talent data not found at {DATA}")
    for r in rows:
        inst = read_instance(DATA / r["file"])
        assert inst.n_scenes == int(r["scenes"]), r["file"]
        assert inst.n_actors == int(r["actors"]), r["file"]
        assert inst.total_days == int(r["total_days"]), r["file"]
        assert inst.fixed_cost == int(r["opt_total"]) - int(r["opt_holding"]), r["file"]
        distinct = len({inst.requires[:, s].tobytes() for s in range(inst.n_scenes)})
        assert distinct == int(r["distinct_scenes"]), r["file"]


@pytest.mark.data
def test_dat_and_dzn_copies_are_the_same_instance() -> None:
    if not DATA.exists():
        pytest.skip(f"talent data not found at {DATA}")
    for name in ("film103", "film105", "film114", "film118", "film119", "concert", "small", "tiny"):
        a = read_instance(DATA / "classic" / f"{name}.dat")
        b = read_instance(DATA / "minizinc" / f"{name}.dzn")
        assert np.array_equal(a.requires, b.requires), name
        assert np.array_equal(a.costs, b.costs), name
        assert np.array_equal(a.durations, b.durations), name
