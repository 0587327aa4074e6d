"""Request traces: dense ids, round trips through CSV / Parquet / oracleGeneral, and bad input."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from reelkit.errors import ConfigError, DataFormatError, EmptyDataError, MissingColumnsError, ReelkitWarning
from reelkit.stream.cache import RequestTrace, read_trace, write_trace
from reelkit.stream.cache.trace import next_use


def _sample() -> RequestTrace:
    return RequestTrace.from_arrays(
        [0.0, 1.5, 2.0, 3.0, 7.25],
        ["b", "a", "b", "c", "a"],
        [10, 20, 10, 30, 20],
        regions=[0, 1, 0, 2, 1],
    )


def test_dense_ids_in_order_of_first_request() -> None:
    tr = _sample()
    assert tr.objects.tolist() == [0, 1, 0, 2, 1]
    assert tr.original_ids.tolist() == ["b", "a", "c"]
    assert tr.n_objects == 3 and tr.n_requests == 5 and tr.n_regions == 3
    assert tr.object_sizes().tolist() == [10, 20, 30]
    assert tr.working_set_bytes() == 60


def test_an_objects_size_is_that_of_its_first_request() -> None:
    """Pins object_sizes (and the working set) to each object's first request when its size changes."""
    tr = RequestTrace.from_arrays([0, 1, 2, 3], ["a", "b", "a", "b"], [10, 20, 99, 5])
    assert tr.object_sizes().tolist() == [10, 20]
    assert tr.working_set_bytes() == 30


def test_next_use() -> None:
    assert next_use(np.array([0, 1, 0, 2, 1, 0])).tolist() == [2, 4, 5, 6, 6, 6]
    assert _sample().next_use().tolist() == [2, 4, 5, 5, 5]


def test_next_use_of_a_long_trace_is_the_next_request_of_its_object() -> None:
    """Pins next_use against its definition on 20,000 requests (an unstable sort of the ids mixes up the
    order of one object's requests, which a handful of requests does not show)."""
    rng = np.random.default_rng(0)
    objects = rng.integers(0, 300, size=20_000)
    want = np.full(len(objects), len(objects))
    last: dict[int, int] = {}
    for i in range(len(objects) - 1, -1, -1):
        want[i] = last.get(int(objects[i]), len(objects))
        last[int(objects[i])] = i
    np.testing.assert_array_equal(next_use(objects), want)


@pytest.mark.parametrize("name", ["t.csv", "t.parquet"])
def test_round_trip_table_formats(tmp_path: Path, name: str) -> None:
    tr = _sample()
    back = read_trace(write_trace(tr, tmp_path / name))
    assert np.array_equal(back.timestamps, tr.timestamps)
    assert np.array_equal(back.objects, tr.objects)
    assert np.array_equal(back.sizes, tr.sizes)
    assert back.regions is not None and np.array_equal(back.regions, tr.regions)
    assert back.original_ids.tolist() == ["b", "a", "c"]


def test_round_trip_oracle_general(tmp_path: Path) -> None:
    tr = RequestTrace.from_arrays([5, 6, 7, 9], [42, 7, 42, 42], [100, 200, 100, 100])
    path = write_trace(tr, tmp_path / "t.oracleGeneral")
    assert path.stat().st_size == 4 * 24
    raw = np.fromfile(path, dtype=np.dtype([("t", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")]))
    assert raw["t"].tolist() == [5, 6, 7, 9]
    assert raw["id"].tolist() == [42, 7, 42, 42]
    assert raw["size"].tolist() == [100, 200, 100, 100]
    assert raw["next"].tolist() == [2, -1, 3, -1]
    back = read_trace(path)
    assert back.original_ids.tolist() == [42, 7] and back.objects.tolist() == [0, 1, 0, 0]


def test_oracle_general_readable_by_libcachesim(tmp_path: Path) -> None:
    lcs = pytest.importorskip("libcachesim")
    tr = RequestTrace.from_arrays(np.arange(6.0), [1, 2, 1, 3, 2, 1], [10, 20, 10, 30, 20, 10])
    path = write_trace(tr, tmp_path / "t.oracleGeneral")
    reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE)
    reqs = [(r.obj_id, r.obj_size) for r in reader]
    assert reqs == [(1, 10), (2, 20), (1, 10), (3, 30), (2, 20), (1, 10)]


def test_negative_ids_are_written_to_oracle_as_their_64_bit_pattern(tmp_path: Path) -> None:
    """Pins a negative id's oracleGeneral id as its two's complement (-5 is 2^64 - 5), so -5 and 5 stay two
    objects; and a negative timestamp, which an unsigned 32-bit field would wrap, is refused."""
    path = write_trace(RequestTrace.from_arrays([1, 2, 3], [-5, 5, -5], [10, 20, 10]), tmp_path / "n.bin")
    raw = np.fromfile(path, dtype=np.dtype([("t", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")]))
    assert raw["id"].tolist() == [2**64 - 5, 5, 2**64 - 5]
    assert read_trace(path).objects.tolist() == [0, 1, 0]
    with pytest.raises(ConfigError, match="unsigned 32-bit seconds"):
        write_trace(RequestTrace.from_arrays([-1.0, 2.0], [1, 2], [1, 1]), tmp_path / "neg.bin")


def test_textual_ids_hash_to_oracle(tmp_path: Path) -> None:
    back = read_trace(write_trace(_sample(), tmp_path / "t.oracleGeneral"))
    assert back.objects.tolist() == [0, 1, 0, 2, 1]


def test_bad_csv_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("timestamp,object_id,size_bytes\n1,a,10\n2,b,10\n3,c,zero\n")
    with pytest.raises(DataFormatError, match=r"bad.csv:4: size_bytes"):
        read_trace(p)
    p.write_text("timestamp,object_id,size_bytes\n1,a,10\nnoon,b,10\n")
    with pytest.raises(DataFormatError, match=r"bad.csv:3: timestamp"):
        read_trace(p)
    p.write_text("timestamp,object_id,size_bytes\n1,a,10\n2,b\n")
    with pytest.raises(DataFormatError, match=r"bad.csv:3:"):
        read_trace(p)
    p.write_text("time,object_id,size_bytes\n1,a,10\n")
    with pytest.raises(MissingColumnsError, match="timestamp"):
        read_trace(p)
    p.write_text("timestamp,object_id,size_bytes\n")
    with pytest.raises(EmptyDataError):
        read_trace(p)
    p.write_text("timestamp,object_id,size_bytes\n1,a,0\n")
    with pytest.raises(DataFormatError, match=r"bad.csv:2: size_bytes"):
        read_trace(p)
    p.write_text("timestamp,object_id,size_bytes,region\n1,a,10,0\n2,b,10,1.5\n")  # not region 1
    with pytest.raises(DataFormatError, match=r"bad.csv:3: region must be an int from 0 to below 2\^63"):
        read_trace(p)
    p.write_text("timestamp, object_id,object_id ,size_bytes\n1,a,a,10\n")  # a traceback before
    with pytest.raises(DataFormatError, match=r"bad.csv:1: column object_id appears more than once"):
        read_trace(p)


def test_csv_lines_are_counted_past_quoted_commas_and_line_breaks(tmp_path: Path) -> None:
    p = tmp_path / "q.csv"
    p.write_text('timestamp,object_id,size_bytes\n1,"a,b",10\n2,c,10\n3,d\n')  # the short row is line 4
    with pytest.raises(DataFormatError, match=r"q\.csv:4: wrong number of fields"):
        read_trace(p)
    p.write_text('timestamp,object_id,size_bytes\n1,"a\nb",10\n\n2,c,10\n3,d,-1\n')
    with pytest.raises(DataFormatError, match=r"q\.csv:6: size_bytes"):  # after a quoted break and a blank
        read_trace(p)
    p.write_text('timestamp,object_id,size_bytes\n1,"a\nb",10\n2,"c,d",10\n')
    assert read_trace(p).n_requests == 2


def test_a_stray_quote_is_named_by_its_line_not_a_traceback(tmp_path: Path) -> None:
    # the quote makes one field of the rest of the file: past the csv module's field limit it raised
    rows = ["timestamp,object_id,size_bytes"] + [f"{i},o{i},100" for i in range(20_000)]
    rows[5] = '4,"obj4,100'
    p = tmp_path / "stray.csv"
    p.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataFormatError, match=r"stray\.csv:6: wrong number of fields"):
        read_trace(p)


def test_an_empty_object_id_is_refused_before_it_is_written(tmp_path: Path) -> None:
    # a CSV written with an empty id would not read back ("object_id is empty"); Parquet took it
    with pytest.raises(DataFormatError, match="request 0: object_id is empty"):
        RequestTrace.from_arrays([1, 2, 3], ["", "c", ""], [1, 2, 1])
    with pytest.raises(DataFormatError, match="request 1: object_id is empty"):
        RequestTrace.from_arrays([1, 2], np.array(["c", ""], dtype=object), [1, 2])
    for missing in (None, np.nan):  # written as an empty field too
        with pytest.raises(DataFormatError, match="request 2: object_id is empty"):
            RequestTrace.from_arrays([1, 2, 3], np.array([1, "a", missing], dtype=object), [1, 2, 3])
    with pytest.raises(DataFormatError, match="request 0: object_id is empty"):
        RequestTrace.from_arrays([1, 2], np.array([np.nan, 2.0]), [1, 2])
    tr = RequestTrace.from_arrays([1, 2], ["0", "c"], [1, 2])  # "0" is an id like any other
    write_trace(tr, tmp_path / "x.csv")
    assert read_trace(tmp_path / "x.csv").n_requests == 2


def test_parquet_with_a_repeated_column_is_one_line(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = [pa.array([0]), pa.array([0]), pa.array(["A"]), pa.array([100])]
    pq.write_table(
        pa.table(cols, names=["timestamp", "timestamp", "object_id", "size_bytes"]), tmp_path / "d.pq"
    )
    with pytest.raises(
        DataFormatError, match=r"^.*d\.pq: column timestamp appears more than once; keep one of each$"
    ):
        read_trace(tmp_path / "d.pq")


def test_bad_oracle_and_names(tmp_path: Path) -> None:
    p = tmp_path / "t.oracleGeneral"
    p.write_bytes(b"x" * 30)
    with pytest.raises(DataFormatError, match="24-byte"):
        read_trace(p)
    with pytest.raises(DataFormatError, match="no such trace file"):
        read_trace(tmp_path / "missing.csv")
    with pytest.raises(ConfigError, match="trace format"):
        write_trace(_sample(), tmp_path / "t.xyz")
    big = RequestTrace.from_arrays([0.0], [1], [2**33])
    with pytest.raises(ConfigError, match="32 bits"):
        write_trace(big, tmp_path / "big.oracleGeneral")
    assert not list(tmp_path.glob(".big*"))  # nothing half-written left behind


def test_a_binary_file_named_csv_is_said_to_be_binary(tmp_path: Path) -> None:
    """Pins the NUL-byte check: an oracleGeneral trace saved as .csv is "not UTF-8 text (... a binary file)",
    not a CSV without the timestamp, object_id and size_bytes columns."""
    oracle = write_trace(RequestTrace.from_arrays([1, 2, 3], [7, 5, 7], [10, 20, 10]), tmp_path / "t.bin")
    (tmp_path / "t.csv").write_bytes(oracle.read_bytes())
    with pytest.raises(DataFormatError, match=r"t\.csv: is not UTF-8 text \(UTF-16, or a binary file\)"):
        read_trace(tmp_path / "t.csv")


def test_integer_ids_stay_integers(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text("timestamp,object_id,size_bytes\n1,17,10\n2,3,10\n3,17,10\n")
    tr = read_trace(p)
    assert tr.original_ids.dtype.kind == "i" and tr.original_ids.tolist() == [17, 3]


def test_only_rows_earlier_than_the_one_above_are_out_of_order(tmp_path: Path) -> None:
    """Pins the out-of-order count to rows strictly earlier than the row above: requests in one second (ties,
    as second-resolution logs have) read in silence; times 5, 3, 3, 4, 1 have two rows out of order."""
    p = tmp_path / "ties.csv"
    p.write_text("timestamp,object_id,size_bytes\n1,a,10\n1,b,10\n2,a,10\n2,c,10\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_trace(p).timestamps.tolist() == [1.0, 1.0, 2.0, 2.0]
    p.write_text("timestamp,object_id,size_bytes\n5,a,10\n3,b,10\n3,a,10\n4,c,10\n1,a,10\n")
    with pytest.warns(ReelkitWarning, match=r"ties\.csv: 2 request\(s\) come before the one above them"):
        read_trace(p)


def test_slice_and_frame() -> None:
    tr = _sample()
    part = tr.slice(1, 4)
    assert part.original_ids.tolist() == ["a", "b", "c"] and part.n_requests == 3
    assert part.regions is not None and part.regions.tolist() == [1, 0, 2]  # the slice's own regions
    f = tr.to_frame()
    assert list(f.columns) == ["timestamp", "object_id", "size_bytes", "region"]


def test_oracle_records_of_size_zero_are_skipped_as_libcachesim_does(tmp_path: Path) -> None:
    dt = np.dtype([("t", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
    rec = np.array([(1, 5, 10, -1), (2, 6, 0, -1), (3, 5, 10, -1)], dtype=dt)
    rec.tofile(tmp_path / "z.oracleGeneral")
    with pytest.warns(ReelkitWarning, match=r"z\.oracleGeneral: 1 of 3 records have object size 0"):
        tr = read_trace(tmp_path / "z.oracleGeneral")
    assert tr.timestamps.tolist() == [1.0, 3.0] and tr.original_ids.tolist() == [5]
    np.array([(1, 5, 0, -1)], dtype=dt).tofile(tmp_path / "all0.oracleGeneral")
    with pytest.raises(EmptyDataError, match="object size 0"):
        read_trace(tmp_path / "all0.oracleGeneral")


def test_objects_are_numbered_in_order_of_first_request() -> None:
    tr = RequestTrace.from_arrays([1, 2, 3, 4, 5], np.array(["b", "a", "b", "c", "a"]), [1, 1, 1, 1, 1])
    assert tr.objects.tolist() == [0, 1, 0, 2, 1]
    assert tr.original_ids.tolist() == ["b", "a", "c"] and tr.original_ids.dtype.kind == "U"
    big = np.array([2**64 - 1, 5, 2**64 - 1, 2**63], dtype=np.uint64)  # past int64: kept exactly
    tr = RequestTrace.from_arrays([1, 2, 3, 4], big, [1, 1, 1, 1])
    assert tr.objects.tolist() == [0, 1, 0, 2]
    assert tr.original_ids.tolist() == [2**64 - 1, 5, 2**63] and tr.original_ids.dtype == np.uint64
    mixed = np.array([7, "7", 7.0, "a"], dtype=object)  # 7 and 7.0 are one id, "7" another (np.unique failed)
    assert RequestTrace.from_arrays([1, 2, 3, 4], mixed, [1, 1, 1, 1]).objects.tolist() == [0, 1, 0, 2]


def test_a_duration_timestamp_column_is_read_in_seconds(tmp_path: Path) -> None:
    """A Parquet ``duration`` column was read as nanoseconds (1800 s became 1.8e12)."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "timestamp": pd.to_timedelta([0, 1800, 18000], unit="s"),
            "object_id": [1, 2, 1],
            "size_bytes": [10, 20, 10],
        }
    )
    frame.to_parquet(tmp_path / "d.parquet")
    assert read_trace(tmp_path / "d.parquet").timestamps.tolist() == [0.0, 1800.0, 18000.0]


def test_a_datetime_timestamp_column_is_read_as_unix_seconds(tmp_path: Path) -> None:
    """Pins a Parquet datetime column to seconds since 1970-01-01 UTC (2023-11-14 22:13:20 is 1.7e9 s)."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "timestamp": pd.to_datetime([1_700_000_000, 1_700_000_001.5], unit="s"),
            "object_id": [1, 2],
            "size_bytes": [10, 20],
        }
    )
    frame.to_parquet(tmp_path / "dt.parquet")
    assert read_trace(tmp_path / "dt.parquet").timestamps.tolist() == [1_700_000_000.0, 1_700_000_001.5]
    # a microsecond column may hold dates outside the nanosecond range (before 1677): an OutOfBoundsDatetime
    # traceback against a nanosecond epoch. 1500-01-01 is 14,831,769,600 s before 1970-01-01.
    old = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(
                ["1500-01-01 00:00:00", "1500-01-01 00:00:01.5"], format="ISO8601"
            ).as_unit("us"),
            "object_id": [1, 2],
            "size_bytes": [10, 20],
        }
    )
    old.to_parquet(tmp_path / "old.parquet")
    assert read_trace(tmp_path / "old.parquet").timestamps.tolist() == [-14_831_769_600.0, -14_831_769_598.5]


def test_oracle_general_says_what_it_cannot_hold(tmp_path: Path) -> None:
    """Regions and fractions of a second were dropped in silence (the synth summary still said 3 regions)."""
    trace = RequestTrace.from_arrays([0.0, 1.5, 2.0], [1, 2, 1], [10, 20, 10], regions=[0, 1, 2])
    with pytest.warns(ReelkitWarning, match="not kept: its regions .*; the fractions of a second"):
        write_trace(trace, tmp_path / "t.oracleGeneral")
    assert read_trace(tmp_path / "t.oracleGeneral").regions is None
    plain = RequestTrace.from_arrays([0.0, 1.0, 2.0], [1, 2, 1], [10, 20, 10])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_trace(plain, tmp_path / "p.oracleGeneral")


def test_oracle_general_rounds_timestamps_to_the_nearest_second(tmp_path: Path) -> None:
    """Pins the writer's whole seconds as rounded, not cut (0.4, 1.6, 2.7 s are written 0, 2, 3)."""
    trace = RequestTrace.from_arrays([0.4, 1.6, 2.7], [1, 2, 1], [10, 20, 10])
    with pytest.warns(ReelkitWarning, match="fractions of a second"):
        write_trace(trace, tmp_path / "r.oracleGeneral")
    assert read_trace(tmp_path / "r.oracleGeneral").timestamps.tolist() == [0.0, 2.0, 3.0]


def test_epoch_milli_micro_and_nanoseconds_are_read_as_seconds_with_a_warning(tmp_path: Path) -> None:
    """Millisecond timestamps were read as seconds in silence (a 1d warm-up of a 3-day trace took 3 requests
    and --hourly dated the hours in the year 52680); they convert as the events reader converts them."""
    import pandas as pd

    from reelkit.errors import TimestampUnitWarning

    ms = tmp_path / "ms.csv"
    ms.write_text(
        "timestamp,object_id,size_bytes\n1600000000000,a,10\n1600000001500,b,20\n1600086400000,a,10\n"
    )
    with pytest.warns(TimestampUnitWarning, match=r"ms\.csv: timestamps read as milliseconds"):
        assert read_trace(ms).timestamps.tolist() == [1_600_000_000.0, 1_600_000_001.5, 1_600_086_400.0]
    for unit, scale in (("us", 10**6), ("ns", 10**9)):
        frame = pd.DataFrame(
            {
                "timestamp": [1_600_000_000 * scale, 1_600_000_002 * scale],
                "object_id": [1, 2],
                "size_bytes": [1, 1],
            }
        )
        frame.to_parquet(tmp_path / f"{unit}.parquet")
        with pytest.warns(TimestampUnitWarning, match=rf"{unit}\.parquet: timestamps read as"):
            assert read_trace(tmp_path / f"{unit}.parquet").timestamps.tolist() == [
                1_600_000_000.0,
                1_600_000_002.0,
            ]
    # seconds stay as they are (just under 1e11 is still seconds), and so does a trace from time 0, which is
    # relative in whatever unit it has (an hour in nanoseconds is 3.6e12), in silence
    rel = tmp_path / "rel.csv"
    rel.write_text("timestamp,object_id,size_bytes\n1,a,1\n1.5,b,1\n99999999999,a,1\n")
    zero = tmp_path / "zero.csv"
    zero.write_text("timestamp,object_id,size_bytes\n0,a,1\n3600000000000,b,1\n")
    # a relative microsecond trace from 5 us to two days was refused as mixing units
    five = tmp_path / "five.csv"
    five.write_text("timestamp,object_id,size_bytes\n5,a,1\n100000000000,b,1\n200000000000,a,1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_trace(rel).timestamps.tolist() == [1.0, 1.5, 99_999_999_999.0]
        assert read_trace(zero).timestamps.tolist() == [0.0, 3.6e12]
        assert read_trace(five).timestamps.tolist() == [5.0, 1e11, 2e11]
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("timestamp,object_id,size_bytes\n1600000000,a,1\n1600000001000,b,1\n")
    with pytest.raises(DataFormatError, match=r"mixed\.csv.*mix units"):
        read_trace(mixed)


def test_column_names_are_matched_in_any_case(tmp_path: Path) -> None:
    """A header Timestamp,Object_ID,Size_Bytes was refused as missing all three columns (the events and
    catalogue readers ignore case); ids under it stay text ("007" is not merged with 7), and a column named
    twice in two cases is refused in one line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = tmp_path / "case.csv"
    p.write_text("\ufeffTimestamp,Object_ID,SIZE_BYTES,Region\n1,007,10,0\n2.5,7,20,1\n")
    tr = read_trace(p)
    assert tr.timestamps.tolist() == [1.0, 2.5] and tr.original_ids.tolist() == ["007", "7"]
    assert tr.sizes.tolist() == [10, 20] and tr.regions is not None and tr.regions.tolist() == [0, 1]
    pq.write_table(
        pa.table({"TimeStamp": [1, 2], "Object_Id": ["a", "b"], "Size_bytes": [5, 6]}), tmp_path / "c.pq"
    )
    assert read_trace(tmp_path / "c.pq").original_ids.tolist() == ["a", "b"]
    p.write_text("timestamp,object_id,size_bytes,Region\n1,a,10,eu\n")  # read as the region column
    with pytest.raises(
        DataFormatError, match=r":2: region must be an int from 0 to below 2\^63 \(a column named region"
    ):
        read_trace(p)
    p.write_text("timestamp,Timestamp,object_id,size_bytes\n1,1,a,10\n")
    with pytest.raises(
        DataFormatError,
        match=r"case\.csv:1: columns timestamp and Timestamp name one column \(names ignore case\); keep one",
    ):
        read_trace(p)


def test_whole_number_columns_are_read_exactly_past_2_53(tmp_path: Path) -> None:
    """Sizes and regions went through float64: regions 2^53 + 1 and 2^53 merged, size 2^53 + 1 read as
    2^53, and region keys came out as 9007199254740992.0. Integer columns are read exactly; a value of 2^53
    or more in a column with decimals (which float64 cannot hold exactly) is refused at its line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from reelkit.stream.cache import simulate

    big = 2**53
    p = tmp_path / "big.csv"
    p.write_text(f"timestamp,object_id,size_bytes,region\n0,a,{big + 1},{big + 1}\n1,b,10,{big}\n")
    tr = read_trace(p)
    assert tr.sizes.tolist() == [big + 1, 10] and tr.regions is not None
    assert tr.regions.tolist() == [big + 1, big] and tr.n_regions == 2
    res = simulate(tr, "lru", 2**60)
    assert res.by_region is not None and res.by_region.key.tolist() == [big, big + 1]
    assert str(res.by_region.to_frame("region")["region"].iloc[0]) == "9007199254740992"
    pq.write_table(
        pa.table(
            {"timestamp": [0, 1], "object_id": ["a", "b"], "size_bytes": [big + 3, 5], "region": [0, big]}
        ),
        tmp_path / "big.parquet",
    )
    tr = read_trace(tmp_path / "big.parquet")
    assert tr.sizes.tolist() == [big + 3, 5] and tr.regions is not None and tr.regions.tolist() == [0, big]
    p.write_text(f"timestamp,object_id,size_bytes\n0,a,1e3\n1,b,{big + 1}\n")
    with pytest.raises(DataFormatError, match=r"big\.csv:3: size_bytes is 2\^53 or more in a column with"):
        read_trace(p)
    p.write_text(f"timestamp,object_id,size_bytes,region\n0,a,5,0.0\n1,b,5,{big}\n")
    with pytest.raises(DataFormatError, match=r"big\.csv:3: region is 2\^53 or more"):
        read_trace(p)
    pq.write_table(
        pa.table({"timestamp": [0, 1], "object_id": ["a", "b"], "size_bytes": [5.0, float(big)]}),
        tmp_path / "float.parquet",
    )
    with pytest.raises(DataFormatError, match=r"float\.parquet: row 1: size_bytes is 2\^53 or more"):
        read_trace(tmp_path / "float.parquet")
    p.write_text(f"timestamp,object_id,size_bytes,region\n0,a,5,{2**64}\n")
    with pytest.raises(DataFormatError, match=r"big\.csv:2: region must be an int from 0 to below 2\^63"):
        read_trace(p)


def test_request_arrays_are_checked_as_files_are(tmp_path: Path) -> None:
    """The library's own constructor refuses what the file readers do (a mutation pass found these checks
    unpinned): a size of 0 (integer or float), a negative region, a total past 2^62 bytes; oracleGeneral
    refuses a size past 32 bits instead of writing its low bits (2^32 + 5 bytes written as 5)."""
    for sizes in ([5, 0], [5.0, 0.0]):
        with pytest.raises(DataFormatError):
            RequestTrace.from_arrays([0, 1], [1, 2], sizes)
    with pytest.raises(DataFormatError):
        RequestTrace.from_arrays([0, 1], [1, 2], [5, 5], regions=[-1, 0])
    with pytest.raises(DataFormatError):
        RequestTrace.from_arrays([0, 1], [1, 2], [2**61, 2**61])
    big = RequestTrace.from_arrays([0, 1], [1, 2], [2**32 + 5, 5])
    with pytest.raises(ConfigError, match="oracleGeneral stores sizes in 32 bits"):
        write_trace(big, tmp_path / "x.oracleGeneral")
    assert not (tmp_path / "x.oracleGeneral").exists()
