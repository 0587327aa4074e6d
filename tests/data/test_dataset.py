"""Dataset normalisation rules and persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reelkit.data import Dataset


def test_datetime_timestamps_become_unix_seconds() -> None:
    ev = pd.DataFrame(
        {
            "member_id": ["a", "b"],
            "title_id": ["x", "y"],
            "value": [4.0, 5.0],
            "timestamp": pd.to_datetime(["1970-01-02 00:00:00", "2024-01-01 00:00:01"]),
        }
    )
    ds = Dataset.from_events(ev)
    assert ds.events["timestamp"].tolist() == [86400, 1704067201]


def test_datetimes_outside_the_nanosecond_range_become_unix_seconds() -> None:
    """A datetime column holding 0999-05-01 or 2300-01-01 was an OutOfBoundsDatetime traceback."""
    stamps = np.array(["0999-05-01", "2300-01-01"], dtype="datetime64[s]")
    ev = pd.DataFrame({"member_id": ["a", "b"], "title_id": ["x", "y"], "timestamp": stamps})
    assert Dataset.from_events(ev).events["timestamp"].tolist() == [-30631392000, 10413792000]


@pytest.mark.parametrize(
    ("scale", "unit"), [(1000, "milliseconds"), (10**6, "microseconds"), (10**9, "nanoseconds")]
)
def test_timestamps_in_smaller_units_are_read_as_such(scale: int, unit: str) -> None:
    from reelkit.errors import DataFormatError, TimestampUnitWarning

    secs = [1_700_000_000, 1_700_172_800]
    ev = pd.DataFrame(
        {"member_id": ["a", "b"], "title_id": ["x", "y"], "timestamp": [t * scale + 7 for t in secs]}
    )
    with pytest.warns(TimestampUnitWarning, match=unit):
        ds = Dataset.from_events(ev)
    assert ds.events["timestamp"].tolist() == secs
    mixed = ev.assign(timestamp=[secs[0], secs[1] * scale])
    with pytest.raises(DataFormatError, match="timestamps mix units"):
        Dataset.from_events(mixed)


def test_a_time_of_exactly_1e11_is_read_as_milliseconds() -> None:
    """The units start at their bound: 1e11 (the year 5138 in seconds) is 1e8 s in milliseconds."""
    from reelkit.errors import TimestampUnitWarning

    ev = pd.DataFrame({"member_id": ["a", "b"], "title_id": ["x", "y"], "timestamp": [10**11, 10**11]})
    with pytest.warns(TimestampUnitWarning, match="milliseconds"):
        ds = Dataset.from_events(ev)
    assert ds.events["timestamp"].tolist() == [10**8, 10**8]


def test_kind_defaults_to_play_without_values_and_rating_with() -> None:
    bare = Dataset.from_events(pd.DataFrame({"member_id": ["a"], "title_id": ["x"]}))
    assert bare.events["kind"].tolist() == ["play"]
    # a play with unknown fraction counts as half watched (the documented unknown_fraction)
    assert bare.interactions().weight.tolist() == [0.5]
    rated = Dataset.from_events(pd.DataFrame({"member_id": ["a"], "title_id": ["x"], "value": [3.0]}))
    assert rated.events["kind"].tolist() == ["rating"]


def test_members_and_titles_missing_from_their_tables_get_placeholder_rows() -> None:
    """A members table without an event's member gains its row ("Member b"); a catalogue kind left empty
    is a movie; with strict_titles an event title missing from the catalogue is refused, naming it."""
    from reelkit.errors import UnknownIdError

    ev = pd.DataFrame({"member_id": ["a", "b"], "title_id": ["x", "y"], "value": [4.0, 3.0]})
    members = pd.DataFrame({"member_id": ["a"], "name": ["Ann"]})
    titles = pd.DataFrame({"title_id": ["x", "y"], "name": ["X", "Y"], "kind": ["series", None]})
    ds = Dataset.from_events(ev, titles, members)
    assert ds.members["name"].to_dict() == {"a": "Ann", "b": "Member b"}
    assert ds.titles["kind"].to_dict() == {"x": "series", "y": "movie"}
    with pytest.raises(UnknownIdError, match=r"1 event title id.*e\.g\. y"):
        Dataset.from_events(ev, titles.iloc[:1], members, strict_titles=True)


def test_last_rating_wins_and_ties_keep_event_order() -> None:
    ev = pd.DataFrame(
        {
            "member_id": ["a"] * 4 + ["b"] * 2,
            "title_id": ["x"] * 4 + ["x"] * 2,
            "value": [1.0, 5.0, 2.0, 4.0, 3.0, 1.0],
            # a: the latest (t=30) is written twice; the later event (4.0) wins the tie
            "timestamp": [10, 20, 30, 30, 5, 1],
        }
    )
    inter = Dataset.from_events(ev).interactions()
    got = dict(zip(inter.member_ids[inter.rows], inter.rating, strict=True))
    assert got == {"a": 4.0, "b": 3.0}


def test_a_dropped_duplicate_leaves_the_first_copy_in_its_place() -> None:
    """Ratings 2 then 4 at t=30 and a resent copy of the 2 after them: the copy is dropped, so the 4 stays
    the later event of the tie and wins (keeping the last copy made the 2 win)."""
    from reelkit.errors import DuplicateEventsWarning

    ev = pd.DataFrame({"member_id": "a", "title_id": "x", "value": [2.0, 4.0, 2.0], "timestamp": 30})
    with pytest.warns(DuplicateEventsWarning, match="dropped 1"):
        inter = Dataset.from_events(ev).interactions()
    assert inter.rating.tolist() == [4.0]


def test_min_rating_keeps_a_rating_equal_to_it_and_entries_sort_by_member_then_title() -> None:
    """min_rating drops ratings below it only (3 kept at 3, 2 becomes a seen pair); entries are sorted
    by (row, col), as Interactions documents."""
    ev = pd.DataFrame(
        {
            "member_id": ["b", "b", "a", "a", "b"],
            "title_id": ["y", "x", "z", "x", "z"],
            "value": [3.0, 2.0, 4.0, 5.0, 1.0],
            "timestamp": [1, 2, 3, 4, 5],
        }
    )
    inter = Dataset.from_events(ev).interactions(min_rating=3.0)
    got = list(zip(inter.member_ids[inter.rows], inter.title_ids[inter.cols], inter.rating, strict=True))
    assert got == [("a", "x", 5.0), ("a", "z", 4.0), ("b", "y", 3.0)]
    seen = sorted(zip(inter.member_ids[inter.seen_rows], inter.title_ids[inter.seen_cols], strict=True))
    assert seen == [("b", "x"), ("b", "z")]


def test_all_titles_keeps_every_catalogue_title_in_id_order() -> None:
    """all_titles: a catalogue given out of order (c, a, b, d) gives columns a, b, c, d, the titles without
    events ("a", "d") as empty columns, and each pair stays on its own title's column."""
    ev = pd.DataFrame({"member_id": ["m", "m", "n"], "title_id": ["c", "b", "c"], "value": [5.0, 3.0, 4.0]})
    titles = pd.DataFrame({"title_id": ["c", "a", "b", "d"], "name": ["C", "A", "B", "D"]})
    inter = Dataset.from_events(ev, titles).interactions(all_titles=True)
    assert inter.title_ids.tolist() == ["a", "b", "c", "d"]
    assert inter.titles["name"].tolist() == ["A", "B", "C", "D"]
    got = list(zip(inter.member_ids[inter.rows], inter.title_ids[inter.cols], inter.rating, strict=True))
    assert got == [("m", "b", 3.0), ("m", "c", 5.0), ("n", "c", 4.0)]
    assert inter.matrix("binary").sum(axis=0).tolist() == [[0.0, 1.0, 2.0, 0.0]]


def test_interactions_apply_the_sample_thresholds_they_are_given() -> None:
    """A 200 s play to 5% is a viewing by default (over 120 s, over 2%); with sample_seconds=300 it is a
    sample (under 300 s and a tenth), and a 3% play is one with sample_fraction=0.04 (the service's
    settings reach training)."""
    ev = pd.DataFrame(
        {"member_id": ["m", "n"], "title_id": ["x", "x"], "kind": "play", "value": [200.0, 900.0]}
    ).assign(fraction=[0.05, 0.03])
    ds = Dataset.from_events(ev)
    assert ds.interactions().sample_only.tolist() == [False, False]
    assert ds.interactions(sample_seconds=300.0).sample_only.tolist() == [True, False]
    assert ds.interactions(sample_fraction=0.04).sample_only.tolist() == [False, True]


def test_one_rated_value_stretches_the_scale_to_include_0_and_1() -> None:
    """Every rating the same v: the scale is (min(v, 0), max(v, 1)), so a lone 4 is the top of (0, 4)."""
    for v, scale in ((4.0, (0.0, 4.0)), (0.5, (0.0, 1.0)), (-2.0, (-2.0, 1.0))):
        ev = pd.DataFrame({"member_id": ["a", "b"], "title_id": ["x", "y"], "value": [v, v]})
        inter = Dataset.from_events(ev).interactions()
        assert inter.rating_scale == scale


def test_the_scale_is_the_lowest_and_highest_rating_even_when_one_rating_holds_each() -> None:
    """198 ratings of 2-4, one 1 and one 5: the inferred scale is (1, 5), not a quantile range."""
    values = [1.0, 5.0] + [float(2 + i % 3) for i in range(198)]
    ev = pd.DataFrame({"member_id": [f"m{i}" for i in range(200)], "title_id": "x", "value": values})
    assert Dataset.from_events(ev).interactions().rating_scale == (1.0, 5.0)


def test_save_replaces_whole_folder(tmp_path: Path) -> None:
    one = Dataset.from_events(pd.DataFrame({"member_id": ["a"], "title_id": ["x"], "value": [3.0]}))
    two = Dataset.from_events(
        pd.DataFrame({"member_id": ["a", "b"], "title_id": ["x", "y"], "value": [3.0, 4.0]})
    )
    folder = tmp_path / "ds"
    one.save(folder)
    two.save(folder)
    back = Dataset.load(folder)
    assert back.n_events == 2
    assert sorted(back.titles.index) == ["x", "y"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"], "no temporary folders left behind"
    assert np.array_equal(back.events["value"].to_numpy(), two.events["value"].to_numpy())


def test_a_saved_dataset_folder_has_the_umasks_permissions(tmp_path: Path) -> None:
    """The folder is made by mkdtemp (0700) and renamed into place: it is 0777 less the umask (0750 under
    027), as any folder the user makes, not readable by its owner only."""
    import os
    import stat

    from reelkit._files import _umask

    ds = Dataset.from_events(pd.DataFrame({"member_id": ["a"], "title_id": ["x"], "value": [3.0]}))
    old = os.umask(0o027)
    _umask.cache_clear()
    try:
        ds.save(tmp_path / "ds")
    finally:
        os.umask(old)
        _umask.cache_clear()
    assert stat.S_IMODE(os.stat(tmp_path / "ds").st_mode) == 0o750


def test_save_failure_keeps_previous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = Dataset.from_events(pd.DataFrame({"member_id": ["a"], "title_id": ["x"], "value": [3.0]}))
    folder = tmp_path / "ds"
    one.save(folder)

    def boom(self: pd.DataFrame, *args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(OSError, match="disk full"):
        one.save(folder)
    monkeypatch.undo()
    assert Dataset.load(folder).n_events == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_save_failing_between_its_renames_puts_the_previous_folder_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the system cannot swap two folders in one step, the old folder is moved aside before the new
    one is renamed in: when that last rename fails, the old one is renamed back (the dataset is not left
    under a hidden .ds.old-* name)."""
    import reelkit._files

    one = Dataset.from_events(pd.DataFrame({"member_id": ["a"], "title_id": ["x"], "value": [3.0]}))
    two = Dataset.from_events(
        pd.DataFrame({"member_id": ["a", "b"], "title_id": ["x", "y"], "value": [3.0, 4.0]})
    )
    folder = tmp_path / "ds"
    one.save(folder)
    monkeypatch.setattr(reelkit._files, "_exchange", lambda a, b: False)
    rename = Path.rename

    def fail_into_place(self: Path, target: str | Path) -> Path:
        if Path(target) == folder and self.name.startswith(".ds.tmp-"):  # the new copy into place
            raise OSError("rename refused")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", fail_into_place)
    with pytest.raises(OSError, match="rename refused"):
        two.save(folder)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    assert Dataset.load(folder).n_events == 1


def test_a_save_killed_between_its_renames_or_while_staging_is_recovered(tmp_path: Path) -> None:
    """A save killed between moving the old folder aside and renaming the new one in left no dataset at the
    folder (its complete copy hidden as .ds.old-PID, for good); one killed while writing left its
    .ds.tmp-PID-* folder for good. The next load puts the old folder back; the next save removes the dead
    process's staging folder, not a running one's."""
    import subprocess
    import sys

    one = Dataset.from_events(pd.DataFrame({"member_id": ["a"], "title_id": ["x"], "value": [3.0]}))
    folder = tmp_path / "ds"
    one.save(folder)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # the killed writer
    folder.rename(tmp_path / f".ds.old-{gone.pid}")
    (tmp_path / f".ds.tmp-{gone.pid}-abc").mkdir()
    (tmp_path / f".ds.tmp-{gone.pid}-abc" / "events.parquet").write_bytes(b"PAR1 half")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as live:
        try:
            (tmp_path / f".ds.tmp-{live.pid}-xyz").mkdir()  # another save, still writing
            assert Dataset.load(folder).n_events == 1
            one.save(folder)
            left = sorted(p.name for p in tmp_path.iterdir())
        finally:
            live.kill()
    assert left == [f".ds.tmp-{live.pid}-xyz", "ds"]


def test_a_save_swaps_the_folder_in_one_step_and_names_it_when_the_disk_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Linux the new folder replaces the old in one rename (no moment without a dataset); a full disk
    named no file (pyarrow's error; the command exited 1, not 2)."""
    import errno

    import reelkit._files

    one = Dataset.from_events(pd.DataFrame({"member_id": ["a"], "title_id": ["x"], "value": [3.0]}))
    folder = tmp_path / "ds"
    one.save(folder)
    swaps: list[bool] = []
    real = reelkit._files._exchange
    monkeypatch.setattr(reelkit._files, "_exchange", lambda a, b: swaps.append(real(a, b)) or swaps[-1])
    one.save(folder)
    assert swaps == [True] and sorted(p.name for p in tmp_path.iterdir()) == ["ds"]

    def full(self: pd.DataFrame, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    with pytest.raises(OSError) as info:
        one.save(folder)
    assert info.value.filename == str(folder) and "No space left" in str(info.value)
    monkeypatch.undo()
    assert Dataset.load(folder).n_events == 1 and sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_a_save_over_a_link_to_a_folder_leaves_no_link_behind(tmp_path: Path) -> None:
    """The link swapped out of the way was "removed" by rmtree, which does not remove a link: a hidden
    .link.tmp-* link stayed for good."""
    one = Dataset.from_events(pd.DataFrame({"member_id": ["a"], "title_id": ["x"], "value": [3.0]}))
    (tmp_path / "real").mkdir()
    one.save(tmp_path / "real" / "data")
    (tmp_path / "link").symlink_to(tmp_path / "real" / "data")
    one.save(tmp_path / "link")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]
    assert (
        Dataset.load(tmp_path / "link").n_events == 1
        and Dataset.load(tmp_path / "real" / "data").n_events == 1
    )


def test_values_beyond_64_bits_are_refused_or_kept_apart() -> None:
    from reelkit.errors import DataFormatError

    with pytest.raises(DataFormatError, match="beyond any date"):  # it wrapped to -2^63: the earliest event
        Dataset.from_events(pd.DataFrame({"member_id": [1], "title_id": [10], "timestamp": [1e30]}))
    big = Dataset.from_events(pd.DataFrame({"member_id": [1e20, 2e20, 3.0], "title_id": [1, 2, 3]}))
    assert sorted(big.events["member_id"].unique()) == ["100000000000000000000", "200000000000000000000", "3"]


def test_float_ids_with_a_fraction_keep_it() -> None:
    """Member 1.5 stays "1.5", not "1"; an integral float is "1" value by value, whatever else its column
    holds (1.0 beside a 1.5 was "1.0": a train and a test file converted apart disagreed on member 1)."""
    ds = Dataset.from_events(pd.DataFrame({"member_id": [1.5, 1.0], "title_id": [10, 10]}))
    assert ds.events["member_id"].tolist() == ["1.5", "1"]
    whole = Dataset.from_events(pd.DataFrame({"member_id": [2.0, 1.0], "title_id": [10, 10]}))
    assert whole.events["member_id"].tolist() == ["2", "1"]


@pytest.mark.parametrize(
    ("column", "values", "needle"),
    [
        ("value", [4.0, np.inf], "infinite"),
        ("value", [4.0, np.nan], r"rating event \(row 2\) has no value"),
        ("fraction", [0.5, 1.5], "fraction 1.5 is not a share"),
        ("fraction", [0.5, 1.0001], "fraction 1.0001 is not a share"),  # past rounding (1e-9)
        ("fraction", [0.5, -0.0001], "fraction -0.0001 is not a share"),
    ],
)
def test_values_a_reader_refuses_are_refused_from_any_source(column: str, values: list, needle: str) -> None:
    """A Parquet file or a frame took what the delimited reader refuses (an infinite rating made the scale
    (4, inf); a NaN rating gave its pair weight 0; a fraction of 1.5 was clipped to 1)."""
    from reelkit.errors import DataFormatError

    frame = pd.DataFrame({"member_id": [1, 2], "title_id": [10, 11], column: values})
    if column == "fraction":
        frame["kind"] = "play"
    with pytest.raises(DataFormatError, match=needle):
        Dataset.from_events(frame)


def test_two_plays_to_different_points_are_not_duplicates() -> None:
    import warnings

    frame = pd.DataFrame({"member_id": [1, 1, 2], "title_id": [10, 10, 10], "fraction": [0.3, 1.0, 1.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "dropped 1 exact duplicate" (the completed play was dropped)
        ds = Dataset.from_events(frame)
    assert len(ds.events) == 3


def test_a_fraction_one_rounding_step_above_one_is_clipped_not_refused() -> None:
    ds = Dataset.from_events(pd.DataFrame({"member_id": [1], "title_id": [10], "fraction": [0.1 * 3 / 0.3]}))
    assert ds.events["fraction"].tolist() == [1.0]


@pytest.mark.parametrize("missing", [None, np.nan])
def test_a_missing_text_id_is_refused_not_given_to_another_member(tmp_path: Path, missing: object) -> None:
    """Only float id columns were checked: in a text column None stayed None, the factorized code -1 gave
    its event to the last member, and ``reelkit import`` of such a folder was a traceback."""
    from reelkit.errors import EmptyDataError

    frame = pd.DataFrame({"member_id": ["a", "b", missing], "title_id": ["x", "y", "z"]})
    with pytest.raises(EmptyDataError, match="an id column has missing values"):
        Dataset.from_events(frame)
    titles = pd.DataFrame({"member_id": ["a"], "title_id": [missing]})
    with pytest.raises(EmptyDataError, match="an id column has missing values"):
        Dataset.from_events(titles)


def test_a_frame_names_its_columns_as_a_file_may(tmp_path: Path) -> None:
    """A frame's ``rating`` column (LensKit's, Surprise's, RecBole's name) was dropped without a word: the
    ratings became plays with no value, so ``min_rating`` kept every pair. A frame's columns are now read
    by the names a file's header may use (``userId``, ``movieId``, ``rating``; case and ``_`` ignored)."""
    from reelkit.data.loaders import load_delimited

    frame = pd.DataFrame(
        {"userId": [1, 1, 2], "movieId": [10, 11, 10], "rating": [5.0, 2.0, 4.0], "timestamp": [1, 2, 3]}
    )
    ds = Dataset.from_events(frame)
    assert ds.events["member_id"].tolist() == ["1", "1", "2"]
    assert ds.events["title_id"].tolist() == ["10", "11", "10"]
    assert ds.events["kind"].tolist() == ["rating"] * 3
    assert ds.events["value"].tolist() == [5.0, 2.0, 4.0]
    # min_rating 4 keeps the 5 and the 4; the 2 is a pair seen, not liked
    inter = ds.interactions(min_rating=4.0)
    got = list(zip(inter.member_ids[inter.rows], inter.title_ids[inter.cols], inter.rating, strict=True))
    assert got == [("1", "10", 5.0), ("2", "10", 4.0)]
    # the same table as a file reads the same
    path = tmp_path / "ratings.csv"
    frame.to_csv(path, index=False)
    pd.testing.assert_frame_equal(load_delimited(path).events, ds.events)
    # the file reader's other rules hold too: a column called rating beside fractions stays ratings
    both = Dataset.from_events(
        pd.DataFrame({"user": ["a"], "item": ["x"], "rating": [3.0], "progress": [0.5], "time": [7]})
    )
    assert both.events[
        ["member_id", "title_id", "timestamp", "kind", "value", "fraction"]
    ].values.tolist() == [["a", "x", 7, "rating", 3.0, 0.5]]
    # and the canonical name wins over an alias (value, not score)
    pick = Dataset.from_events(
        pd.DataFrame({"member_id": ["a"], "title_id": ["x"], "value": [4.0], "score": [9], "timestamp": [1]})
    )
    assert pick.events["value"].tolist() == [4.0]


def test_a_frame_column_that_may_be_the_missing_rating_is_named_in_a_warning() -> None:
    """As for a file: a numeric column no name matches, while the events have no rating, is said (the
    events are read as plays), not dropped silently; a text column beside a rating is ignored quietly."""
    import warnings

    from reelkit.errors import ReelkitWarning

    stars = pd.DataFrame({"member_id": ["a"], "title_id": ["x"], "stars": [4.0], "timestamp": [1]})
    with pytest.warns(
        ReelkitWarning,
        match=r"'stars' not used and no rating column .* \(implicit.*rename\(columns=\{'stars': 'rating'\}\)",
    ):
        ds = Dataset.from_events(stars)
    assert ds.events["kind"].tolist() == ["play"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rated = Dataset.from_events(
            pd.DataFrame({"member_id": ["a"], "title_id": ["x"], "rating": [4.0], "note": ["good"]})
        )
    assert rated.events["value"].tolist() == [4.0]


def test_two_frame_columns_that_name_one_field_alike_are_refused() -> None:
    from reelkit.errors import DataFormatError

    frame = pd.DataFrame({"user_id": ["a"], "userId": ["b"], "title_id": ["x"]})
    with pytest.raises(DataFormatError, match="'user_id' and 'userId' both look like member_id"):
        Dataset.from_events(frame)


def test_a_frame_with_a_canonical_column_and_its_camel_case_twin_reads_the_canonical_one(
    tmp_path: Path,
) -> None:
    """``member_id`` beside ``memberId`` (a merge's leftover) loaded before frames were read by the file
    header's aliases (the exact name was used) and was then refused as two names of one field: the exact
    canonical name is used again. A file with that header is still refused, as it always was."""
    import warnings

    from reelkit.data.loaders import load_events_file
    from reelkit.errors import DataFormatError

    frame = pd.DataFrame(
        {
            "member_id": ["a", "b"],
            "memberId": ["zz", "zz"],
            "title_id": ["x", "y"],
            "titleId": ["q", "q"],
            "rating": [4.0, 3.0],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = Dataset.from_events(frame)
    assert ds.events[["member_id", "title_id", "kind", "value"]].values.tolist() == [
        ["a", "x", "rating", 4.0],
        ["b", "y", "rating", 3.0],
    ]
    path = tmp_path / "twins.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataFormatError, match="'member_id' and 'memberId' both look like member_id"):
        load_events_file(path)


@pytest.mark.parametrize(
    ("time_column", "cells", "seconds"),
    [
        # 2020-01-01 10:00 UTC is 18262 days * 86400 + 36000 s; the next line a day and an hour later
        ("timestamp", ["2020-01-01 10:00:00", "2020-01-02 11:00:00"], [1577872800, 1577962800]),
        ("date", ["2020-01-01", "2020-01-02"], [1577836800, 1577923200]),
    ],
)
def test_a_frame_with_dates_as_text_reads_them_as_its_file_does(
    tmp_path: Path, time_column: str, cells: list[str], seconds: list[int]
) -> None:
    """``pd.read_csv`` of a file the loader reads (ISO dates as text) was refused: "timestamp
    '2020-01-01 10:00:00' is not a number". A frame's text dates are parsed as the file's are."""
    from reelkit.data.loaders import load_events_file

    path = tmp_path / "dates.csv"
    pd.DataFrame({"userId": [1, 2], "movieId": [10, 11], "rating": [4, 5], time_column: cells}).to_csv(
        path, index=False
    )
    ds = Dataset.from_events(pd.read_csv(path))
    assert ds.events["timestamp"].tolist() == seconds
    pd.testing.assert_frame_equal(ds.events, load_events_file(path).events)


def test_a_frame_date_text_that_is_no_date_names_its_row() -> None:
    from reelkit.errors import DataFormatError

    frame = pd.DataFrame(
        {"member_id": ["a", "b"], "title_id": ["x", "y"], "timestamp": ["2020-01-01", "soon"]}
    )
    with pytest.raises(
        DataFormatError, match="row 2: timestamp 'soon' is not an ISO 8601 date like the others"
    ):
        Dataset.from_events(frame)
    # a blank one is empty, as a file's empty cell (not a time of 0, the oldest event)
    with pytest.raises(DataFormatError, match="row 2: empty timestamp"):
        Dataset.from_events(frame.assign(timestamp=["2020-01-01", " "]))


def test_a_column_that_lost_to_another_name_of_its_field_is_not_offered_as_the_time(tmp_path: Path) -> None:
    """With ``value`` and ``rating`` (or ``rating`` and ``score``) and no time, the column that lost to the
    higher-priority name was offered as the time: ``.rename(columns={'rating': 'timestamp'})``, and
    ``--columns 'rating=timestamp'`` for the file. It is a rating, not a time: no such advice."""
    import warnings

    from reelkit.data.loaders import load_events_file

    for second in ("rating", "score"):
        frame = pd.DataFrame(
            {"member_id": ["a", "b"], "title_id": ["x", "y"], "value": [1, 2], second: [4, 5]}
        )
        path = tmp_path / f"{second}.csv"
        frame.to_csv(path, index=False)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ds = Dataset.from_events(frame)
            from_file = load_events_file(path)
        assert ds.events["value"].tolist() == from_file.events["value"].tolist() == [1.0, 2.0]


def test_a_damaged_parquet_file_of_a_dataset_folder_is_named(tmp_path: Path) -> None:
    """A dataset folder whose events.parquet was cut short raised pyarrow's ArrowInvalid (a traceback in
    'reelkit data info' and 'reelkit import'); it is a DataFormatError naming the file, as a lone file's."""
    from reelkit.errors import DataFormatError

    folder = tmp_path / "ds"
    Dataset.from_events(pd.DataFrame({"member_id": ["a", "b"], "title_id": ["x", "y"]})).save(folder)
    data = (folder / "events.parquet").read_bytes()
    (folder / "events.parquet").write_bytes(data[:300])
    with pytest.raises(DataFormatError, match=r"events\.parquet: cannot read as Parquet"):
        Dataset.load(folder)
