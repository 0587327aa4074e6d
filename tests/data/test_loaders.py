"""Loaders: every format from small files written here, the error cases, and the real MovieLens files."""

from __future__ import annotations

import gzip
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from reelkit.data.dataset import Dataset
from reelkit.data.loaders import (
    ML100K_GENRES,
    catalog_beside,
    load_dataset,
    load_delimited,
    load_events,
    load_events_file,
    load_movielens_1m,
    load_movielens_100k,
    load_movielens_csv,
    load_parquet,
    load_titles,
)
from reelkit.errors import (
    ConfigError,
    DataFormatError,
    DuplicateEventsWarning,
    EmptyDataError,
    MissingColumnsError,
    ReelkitWarning,
    UnknownIdError,
    UserInputError,
)

MOVIELENS = Path(__file__).resolve().parents[3] / "shared" / "data" / "movielens"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def flags(*genres: str) -> str:
    return "|".join("1" if g in genres else "0" for g in ML100K_GENRES)


# ------------------------------------------------------------------------------------ MovieLens 100K
@pytest.fixture
def ml100k(tmp_path: Path) -> Path:
    folder = tmp_path / "ml-100k"
    write(folder / "u.data", "1\t10\t5\t881250949\n1\t20\t3\t881250950\n2\t10\t4\t881250951\n")
    write(
        folder / "u.item",
        f"10|Toy Story (1995)|01-Jan-1995||http://x|{flags('Animation', 'Comedy')}\n"
        f"20|Café Society (1995)||||{flags('Drama')}\n"
        f"30|Unrated (1996)|15-Mar-1996||http://y|{flags('unknown')}\n"
        f"40|Taxi Driver (1976)|16-Feb-1996||http://z|{flags('Drama', 'Thriller')}\n"
        f"50|No Year|02-Feb-1990||http://w|{flags('Drama')}\n",
        encoding="latin-1",
    )
    return folder


def test_movielens_100k_folder_and_catalog(ml100k: Path) -> None:
    ds = load_movielens_100k(ml100k)
    assert ds.n_events == 3
    assert set(ds.events["kind"].astype(str)) == {"rating"}
    assert ds.events["value"].tolist() == [5.0, 3.0, 4.0]
    assert ds.events["timestamp"].dtype == np.int64
    assert sorted(ds.members.index) == ["1", "2"]
    assert len(ds.titles) == 5  # catalog titles without events are kept
    toy = ds.titles.loc["10"]
    assert toy["name"] == "Toy Story"
    assert toy["genres"] == "Animation|Comedy"
    assert toy["year"] == 1995
    assert toy["released"] == 788918400  # 1995-01-01 UTC
    cafe = ds.titles.loc["20"]
    assert cafe["name"] == "Café Society"  # latin-1 decoded
    assert cafe["year"] == 1995  # no release date: year from the title
    assert ds.titles["released"].isna().tolist() == [False, True, False, True, False]
    assert ds.titles.loc["30", "genres"] == "unknown"
    # the film's year is its title's, not the date of a re-release (u.item gives 1996 for Taxi Driver)
    assert ds.titles.loc["40", "year"] == 1976 and ds.titles.loc["40", "name"] == "Taxi Driver"
    assert pd.isna(ds.titles.loc["40", "released"])  # a re-release 20 years on is not its release date
    assert ds.titles.loc["50", "year"] == 1990  # no year in the title: the release date's


def test_movielens_100k_release_date_more_than_a_year_after_the_title_is_dropped(tmp_path: Path) -> None:
    """u.item's date is the release when at most a year after the title's year (1995 film, 1996 date),
    a re-release when more (1994 film, 1996 date: left out)."""
    folder = tmp_path / "ml-100k"
    write(folder / "u.data", "1\t10\t5\t881250949\n")
    write(
        folder / "u.item",
        f"10|Late Start (1995)|01-Jan-1996||http://x|{flags('Drama')}\n"
        f"20|Re-release (1994)|01-Jan-1996||http://y|{flags('Drama')}\n",
    )
    titles = load_movielens_100k(folder).titles
    assert titles.loc["10", "released"] == 820454400  # 1996-01-01 UTC
    assert pd.isna(titles.loc["20", "released"]) and titles.loc["20", "year"] == 1994


def test_movielens_100k_split_files_dispatch(ml100k: Path) -> None:
    write(ml100k / "u1.base", "1\t10\t5\t881250949\n")
    write(ml100k / "ua.test", "2\t20\t1\t881250949\n")
    assert load_events_file(ml100k / "u1.base").n_events == 1
    ds = load_events_file(ml100k / "ua.test")
    assert ds.titles.loc["20", "name"] == "Café Society"
    assert load_dataset(ml100k).n_events == 3


@pytest.mark.parametrize("name", ["users.test", "uploads.base", "u12.base", "ux.test"])
def test_only_movielens_split_names_dispatch_to_100k(tmp_path: Path, name: str) -> None:
    # comma-separated with a header: the 100K reader (tabs, no header) would reject it
    ds = load_events_file(write(tmp_path / name, "user,item\n1,2\n3,4\n"))
    assert ds.n_events == 2
    assert set(ds.events["kind"]) == {"play"}


@pytest.mark.parametrize("name", ["u5.base", "ub.test"])
def test_every_movielens_split_name_reads_as_100k_with_its_catalog(ml100k: Path, name: str) -> None:
    """All of u1..u5 and ua/ub .base/.test are MovieLens 100K files, joined to the u.item beside them."""
    ds = load_events_file(write(ml100k / name, "2\t10\t4\t881250951\n"))
    assert ds.events["value"].tolist() == [4.0] and ds.titles.loc["10", "name"] == "Toy Story"


def test_catalog_lines_end_only_at_newlines(tmp_path: Path) -> None:
    # read as latin-1, 0x85 was NEL, a line break to str.splitlines() (Windows-1252: an ellipsis); \x0c,
    # \x1c and \u2028 are line breaks to it too; 0x81, undefined in Windows-1252, is U+0081
    p = tmp_path / "movies.dat"
    p.write_bytes(b"1::Caf\x85 Story (1995)::Drama\r\n2::Plain\x81::Comedy\r3::Three::Drama\n")
    titles = load_titles(p)
    assert titles.loc["1", "name"] == "Caf\u2026 Story" and titles.loc["2", "name"] == "Plain\x81"
    assert load_titles(p, encoding="latin-1").loc["1", "name"] == "Caf\x85 Story"
    assert titles.loc["1", "year"] == 1995
    assert list(titles.index) == ["1", "2", "3"]
    p = write(tmp_path / "titles.csv", "id,name\n1,Up\u2028Down\n2,Form\x0cFeed\n3,Group\x1cSep\n")
    assert load_titles(p)["name"].tolist() == ["Up\u2028Down", "Form\x0cFeed", "Group\x1cSep"]
    u_item = write(tmp_path / "ml" / "u.data", "1\t10\t5\t881250949\n").with_name("u.item")
    u_item.write_bytes(
        f"10|Caf\x85 Society\x90 (1995)|01-Jan-1995||http://x|{flags('Drama')}\n".encode("latin-1")
    )
    assert load_movielens_100k(u_item.parent).titles.loc["10", "name"] == "Caf\u2026 Society\x90"


def test_a_legacy_catalogue_reads_as_windows_1252_and_a_utf16_one_by_its_mark(tmp_path: Path) -> None:
    """Excel writes Windows-1252: read as latin-1 its curly quotes were C1 control characters in the titles.
    A UTF-16 catalogue (byte-order mark) was read as UTF-8/latin-1 ("no title id column ... ÿþm o v i e")
    where a UTF-16 events file beside it read."""
    write(
        tmp_path / "cp" / "ratings.csv",
        "userId,movieId,rating\n1,1,4\n\u201cq\u201d,1,3\n",
        encoding="cp1252",
    )
    write(
        tmp_path / "cp" / "movies.csv",
        'movieId,title\n1,"Caf\u00e9 \u201cquoted\u201d \u2013 \u20ac5 (1999)"\n',
        encoding="cp1252",
    )
    ds = load_events_file(tmp_path / "cp" / "ratings.csv")
    assert ds.titles.loc["1", "name"] == "Caf\u00e9 \u201cquoted\u201d \u2013 \u20ac5"
    assert sorted(ds.events["member_id"].unique()) == ["1", "\u201cq\u201d"]  # the events file alike
    # a byte Windows-1252 leaves undefined (0x81) in one title does not change how the rest reads: an id
    # with curly quotes in the events still matches the catalogue's (each file chose its own code page)
    (tmp_path / "mix").mkdir()
    (tmp_path / "mix" / "ratings.csv").write_bytes(b"userId,movieId,rating\n1,Caf\x93e\x94,4\n")
    (tmp_path / "mix" / "movies.csv").write_bytes(
        b"movieId,title\nCaf\x93e\x94,One (1999)\nx,Two\x81 (2000)\n"
    )
    mixed = load_events_file(tmp_path / "mix" / "ratings.csv")
    assert (
        mixed.events["title_id"].tolist() == ["Caf\u201ce\u201d"]
        and mixed.titles.loc["x", "name"] == "Two\x81"
    )
    write(tmp_path / "u16" / "ratings.csv", "userId,movieId,rating\n1,1,4\n")
    write(
        tmp_path / "u16" / "movies.csv", "movieId,title,genres\n1,A\u00e9 (2000),Drama\n", encoding="utf-16"
    )
    assert load_events_file(tmp_path / "u16" / "ratings.csv").titles.loc["1", "name"] == "A\u00e9"
    for name in ("utf-32", "utf-32-be"):  # UTF-32's little-endian mark starts with UTF-16's
        bom = "\ufeff" if name.endswith("be") else ""
        write(tmp_path / name / "ratings.csv", "userId,movieId,rating\n1,1,4\n")
        write(
            tmp_path / name / "movies.csv",
            bom + "movieId,title,genres\n1,Am\u00e9lie (2001),Comedy\n",
            encoding=name,
        )
        cat = load_events_file(tmp_path / name / "ratings.csv").titles
        assert cat.loc["1", ["name", "genres"]].tolist() == ["Am\u00e9lie", "Comedy"], name


def test_movielens_100k_bad_catalog_line(ml100k: Path) -> None:
    write(ml100k / "u.item", f"10|Toy Story (1995)|01-Jan-1995||http://x|{flags('Comedy')}\n20|Broken|x\n")
    with pytest.raises(DataFormatError, match=r"u\.item:2: expected 24") as info:
        load_movielens_100k(ml100k)
    assert info.value.line == 2


# ------------------------------------------------------------------------------------ MovieLens CSV
def test_movielens_csv_with_movies(tmp_path: Path) -> None:
    write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,3.5,964981247\n")
    write(
        tmp_path / "movies.csv",
        "movieId,title,genres\n"
        '1,"American President, The (1995)",Comedy|Drama|Romance\n'
        "2,Babylon 5,(no genres listed)\n"
        "3,Fawlty Towers (1975-1979),Comedy\n",
    )
    ds = load_events_file(tmp_path / "ratings.csv")
    assert ds.n_events == 2
    assert ds.events["value"].tolist() == [4.0, 3.5]
    t = ds.titles
    assert t.loc["1", "name"] == "American President, The"
    assert t.loc["1", "year"] == 1995
    assert t.loc["1", "genres"] == "Comedy|Drama|Romance"
    assert t.loc["2", "genres"] == ""
    assert t["year"].isna().tolist() == [False, True, False]
    assert t.loc["3", "year"] == 1975
    assert load_dataset(tmp_path).n_events == 2


def test_a_catalogue_year_column_is_taken_over_the_year_in_a_title(tmp_path: Path) -> None:
    """A catalogue's year column is the year; a title's "(1995)" only stands in where that field is empty."""
    p = write(tmp_path / "titles.csv", "id,title,year\na,Heat (1995),1996\nb,Alien (1979),\nc,Plain,2001\n")
    t = load_titles(p)
    assert t.loc["a", "name"] == "Heat" and t.loc["a", "year"] == 1996
    assert t.loc["b", "year"] == 1979 and t.loc["c", "year"] == 2001


def test_movielens_csv_requires_its_header(tmp_path: Path) -> None:
    p = write(tmp_path / "ratings.csv", "userId,movieId\n1,1\n")
    with pytest.raises(MissingColumnsError, match="userId,movieId,rating,timestamp"):
        load_movielens_csv(p)
    # a file of one's own that is only *named* ratings.csv is read as any events file (it was refused)
    q = write(tmp_path / "mine" / "ratings.csv", "userId,movieId,rating\n1,2,5\n3,2,4\n")
    for source in (q, q.parent):
        ds = load_events(source) if source.is_file() else load_dataset(source)
        assert ds.n_events == 2 and ds.events["value"].tolist() == [5.0, 4.0]


# ------------------------------------------------------------------------------------ MovieLens 1M
def test_movielens_1m(tmp_path: Path) -> None:
    write(tmp_path / "ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n")
    write(
        tmp_path / "movies.dat",
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach (1996)::"
        "Animation|Children's|Musical\n2::Pokémon: The Movie (1999)::Animation\n",
        encoding="latin-1",
    )
    ds = load_events_file(tmp_path / "ratings.dat")
    assert ds.n_events == 3
    assert ds.titles.loc["661", "genres"] == "Animation|Children's|Musical"
    assert ds.titles.loc["2", "name"] == "Pokémon: The Movie"
    assert ds.titles.loc["1193", "year"] == 1975
    assert load_dataset(tmp_path).n_events == 3
    assert load_movielens_1m(tmp_path).n_events == 3


def test_movielens_1m_bad_line(tmp_path: Path) -> None:
    p = write(tmp_path / "ratings.dat", "1::1193::5::978300760\n1::661::3\n")
    with pytest.raises(
        DataFormatError, match=r"ratings\.dat:2: expected 4 fields separated by '::', found 3"
    ):
        load_movielens_1m(p)


# ------------------------------------------------------------------------------------ generic
@pytest.mark.parametrize(
    ("sep", "header"),
    [(",", True), (",", False), ("\t", True), ("\t", False), ("::", False), (";", True), ("|", False)],
)
def test_generic_separators_detected(tmp_path: Path, sep: str, header: bool) -> None:
    lines = ["u1 i1 4 100", "u1 i2 2 200", "u2 i1 5 300"]
    text = ("user item rating timestamp\n" if header else "") + "\n".join(lines) + "\n"
    p = write(tmp_path / "events.txt", text.replace(" ", sep))
    ds = load_events_file(p)
    assert ds.n_events == 3
    assert ds.events["member_id"].tolist() == ["u1", "u1", "u2"]
    assert ds.events["value"].tolist() == [4.0, 2.0, 5.0]
    assert ds.events["timestamp"].tolist() == [100, 200, 300]


@pytest.mark.parametrize("first", ["a1b2,77,5,1000", "u1,movie,5,1000", "u1,rating,5,1000"])
@pytest.mark.parametrize("columns", [None, "user,item,rating,timestamp"])
def test_a_first_line_holding_numbers_is_data_not_a_header(
    tmp_path: Path, first: str, columns: str | None
) -> None:
    # a text id (or a title named like a column) over numeric ids made the first line a "header": its
    # event was dropped without a word, also with the positional --columns the message asked for
    p = write(tmp_path / "events.csv", f"{first}\n1234,78,4,1001\n5678,79,3,1002\n")
    ds = load_events_file(p, columns=columns)
    assert ds.n_events == 3 and ds.events["member_id"].tolist()[0] == first.split(",")[0]


def test_a_semicolon_file_with_decimal_commas_is_read_by_its_semicolons(tmp_path: Path) -> None:
    # a comma splits each line evenly too (in two): the separator giving the most fields wins
    p = write(tmp_path / "euro.csv", "1;10;4,5;1000\n2;11;3,5;1001\n3;10;2,5;1002\n")
    with pytest.raises(
        DataFormatError, match=r"4,5"
    ):  # a decimal comma is not a number here: said, not misread
        load_events_file(p)
    q = write(tmp_path / "tabs.tsv", "u1\ti1\t4\t2020-01-01 10:00:00\nu2\ti2\t3\t2020-01-02 11:00:00\n")
    assert load_events_file(q).events["value"].tolist() == [4.0, 3.0]  # not split at the space


def test_a_comma_and_a_semicolon_splitting_every_line_alike_read_as_commas(tmp_path: Path) -> None:
    """On a tie (both split each line in two) the separator is the earlier in the order: the comma."""
    ds = load_events_file(write(tmp_path / "events.txt", "u1,t;1\nu2,t;2\n"))
    assert ds.events["member_id"].tolist() == ["u1", "u2"]
    assert ds.events["title_id"].tolist() == ["t;1", "t;2"]


@pytest.mark.parametrize(("events_ids", "catalog_ids"), [([10, 20], [10.0, 20.0]), ([10.0, 20.0], [10, 20])])
def test_parquet_float_ids_match_the_catalogs_integers(
    tmp_path: Path, events_ids: list[float], catalog_ids: list[float]
) -> None:
    pd.DataFrame({"user": [1, 2], "item": events_ids, "rating": [4.0, 5.0]}).to_parquet(
        tmp_path / "events.parquet"
    )
    pd.DataFrame({"item_id": catalog_ids, "title": ["Ten", "Twenty"]}).to_parquet(tmp_path / "titles.parquet")
    ds = load_events(tmp_path / "events.parquet")  # was: 2 title ids not in the catalog, e.g. '10', '20'
    assert ds.events["title_id"].tolist() == ["10", "20"]
    assert ds.titles.loc["20", "name"] == "Twenty"
    pd.DataFrame({"item_id": [10.0, np.nan], "title": ["Ten", "?"]}).to_parquet(tmp_path / "titles.parquet")
    with pytest.raises(DataFormatError, match=r"titles\.parquet: the catalogue's title id column"):
        load_events(tmp_path / "events.parquet")


def test_a_bad_row_after_a_quoted_line_break_is_named_by_its_own_line(tmp_path: Path) -> None:
    p = write(tmp_path / "q.csv", 'user,item,rating\n1,2,5\n"3,4",5,1\n7,"8\n9",2\n\n1,2,x\n')
    with pytest.raises(DataFormatError, match=r"q\.csv:7: rating"):  # was line 6: the break counted as a row
        load_events_file(p)


def test_parquet_date_columns_are_dates(tmp_path: Path) -> None:
    import datetime as dt

    import pyarrow.parquet as pq

    days = pa.array([dt.date(2020, 1, 1), dt.date(2020, 1, 2)], type=pa.date32())
    pq.write_table(pa.table({"user": ["a", "b"], "item": ["x", "y"], "date": days}), tmp_path / "e.parquet")
    released = pa.array([dt.date(1999, 3, 31), None], type=pa.date32())
    pq.write_table(pa.table({"item_id": ["x", "y"], "released": released}), tmp_path / "titles.parquet")
    ds = load_events(tmp_path / "e.parquet")  # was: timestamp datetime.date(2020, 1, 1) is not a number
    assert ds.events["timestamp"].tolist() == [1577836800, 1577923200]
    assert ds.titles.loc["x", "released"] == 922838400 and pd.isna(ds.titles.loc["y", "released"])


def test_generic_whitespace_runs(tmp_path: Path) -> None:
    p = write(tmp_path / "events.txt", "  1   10  4 100\n2\t 20 3   200  \n")
    ds = load_events_file(p)
    assert ds.events["title_id"].tolist() == ["10", "20"]
    assert ds.events["timestamp"].tolist() == [100, 200]


def test_generic_explicit_sep_and_columns(tmp_path: Path) -> None:
    p = write(tmp_path / "log.txt", "100;u1;i1;x;4\n200;u2;i1;y;3\n")
    ds = load_events_file(p, sep=";", columns="ts,user,item,-,rating")
    assert ds.events["member_id"].tolist() == ["u1", "u2"]
    assert ds.events["value"].tolist() == [4.0, 3.0]
    assert ds.events["timestamp"].tolist() == [100, 200]
    ds = load_events_file(p, columns=["time", "member", "movie", None, "value"])
    assert ds.n_events == 2


def test_positional_columns_naming_fewer_fields_than_the_lines_warn_of_a_time_or_rating_left_unread(
    tmp_path: Path,
) -> None:
    """``item,user,rating`` on MovieLens' four fields (user, item, rating, time) stored every event at time
    0 without a word, and the events are append-only in a service's store: a warning names the fields not
    read and the --columns that reads them (a time told by numbers past 1e6), or '-' to skip them; nothing
    is said when the fields left could be no time or rating, or when both are named."""
    p = write(tmp_path / "u.tsv", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    with pytest.warns(ReelkitWarning) as w:
        ds = load_events_file(p, columns="user,item,rating")
    assert str(w[0].message) == (
        f"{p}: the lines have 4 fields and columns= names 3: field 4 is not read and no time field is named, "
        "so every event is at time 0; name it (CLI: --columns user,item,rating,timestamp), or skip the rest "
        "on purpose with '-' (user,item,rating,-)"
    )
    assert ds.events["timestamp"].tolist() == [0, 0]
    both_missing = r"fields 3, 4 are not read and no rating or time field .* read as plays at time 0; name it"
    with pytest.warns(ReelkitWarning, match=both_missing + r" \(CLI: --columns user,item,rating,timestamp\)"):
        load_events_file(p, columns="user,item")
    with pytest.warns(ReelkitWarning, match=r"--columns user,item,-,timestamp\)"):
        load_events_file(p, columns="user,item,-")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_events_file(p, columns="user,item,rating,-")  # skipped on purpose
        # a time (past 1e6) left over where the rating is missing could not be the rating: it suggested the
        # skip command as the fix
        load_events_file(p, columns="user,item,timestamp")
        load_events_file(p, columns="user,item,rating,timestamp")
        both = write(tmp_path / "t.tsv", "196\t242\t3\t881250949\tdrama\n")
        load_events_file(both, columns="user,item,rating,timestamp")  # the genre left is neither
        load_events_file(write(tmp_path / "g.tsv", "196\t242\tdrama\n"), columns="user,item")


def test_generic_columns_by_name(tmp_path: Path) -> None:
    p = write(tmp_path / "log.csv", "when,uid,sku,stars\n100,a,x,5\n")
    ds = load_events_file(p, columns="uid=member_id,sku=title_id,stars=rating,when=timestamp")
    assert ds.events.iloc[0][["member_id", "title_id", "value", "timestamp"]].tolist() == ["a", "x", 5.0, 100]
    with pytest.warns(ReelkitWarning, match="'when', 'stars' not used"):  # said, not silent
        ds = load_events_file(p, columns={"uid": "user", "sku": "item"})
    assert ds.events["kind"].tolist() == ["play"]  # no value column: implicit plays


def test_generic_header_aliases_kinds_and_fractions(tmp_path: Path) -> None:
    p = write(
        tmp_path / "events.csv",
        "user_id,item_id,kind,value,fraction,time\n"
        "m1,t1,play,3000,0.5,100\nm1,t1,thumb,1,,200\nm1,t2,RATING,4,,300\n",
    )
    ds = load_events_file(p)
    ev = ds.events
    assert ev["kind"].astype(str).tolist() == ["play", "thumb", "rating"]
    assert ev["fraction"].iloc[0] == 0.5
    assert np.isnan(ev["fraction"].iloc[1])


def test_generic_dates_as_timestamps(tmp_path: Path) -> None:
    p = write(tmp_path / "e.csv", "user,item,rating,date\n1,2,3,2024-01-01\n1,3,4,2024-01-02T10:00:00Z\n")
    assert load_events_file(p).events["timestamp"].tolist() == [1704067200, 1704189600]


def test_generic_textual_ids_without_header_are_implicit(tmp_path: Path) -> None:
    p = write(tmp_path / "e.csv", "alice,matrix\nbob,matrix\nbob,alien\n")
    ds = load_events_file(p)
    assert ds.events["kind"].astype(str).tolist() == ["play"] * 3
    assert ds.interactions().nnz == 3


def test_a_header_of_textual_names_is_found_by_the_columns_named_in_it(tmp_path: Path) -> None:
    p = write(tmp_path / "h.csv", "viewer,show\nalice,s1\nbob,s2\n")
    # a header of text over ids of text looks like data to the detector ...
    assert len(load_events_file(p, columns=["user", "item"]).events) == 3
    # ... but naming its columns says it is one, and header=True says so for positions
    named = load_events_file(p, columns={"viewer": "user", "show": "item"})
    assert named.events["member_id"].tolist() == ["alice", "bob"]
    assert len(load_events_file(p, columns=["user", "item"], header=True).events) == 2


def test_generic_gzip(tmp_path: Path) -> None:
    p = tmp_path / "events.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("user,item,rating\n1,2,3\n1,3,x\n")
    with pytest.raises(
        DataFormatError, match=r"events\.csv\.gz:3: rating \('rating' column\) 'x' is not a number"
    ):
        load_events_file(p)


@pytest.mark.parametrize(
    ("name", "codec", "good", "bad"),
    [
        ("events.csv.zst", "zstd", "user,item,rating\n1,2,3\n", "1,3,x\n"),
        ("events.tsv.ZSTD", "zstd", "user\titem\trating\n1\t2\t3\n", "1\t3\tx\n"),
        ("events.csv.lz4", "lz4", "user,item,rating\n1,2,3\n", "1,3,x\n"),
        ("ratings.dat.zst", "zstd", "1::2::3::100\n", "1::3::x::100\n"),
    ],
)
def test_generic_zstd_and_lz4(tmp_path: Path, name: str, codec: str, good: str, bad: str) -> None:
    if not pa.Codec.is_available(codec):
        pytest.skip(f"pyarrow lacks {codec}")
    p = tmp_path / name
    with pa.CompressedOutputStream(str(p), codec) as out:
        out.write(good.encode())
    events = load_events_file(p).events
    assert events[["member_id", "title_id", "value"]].values.tolist() == [["1", "2", 3.0]]
    with pa.CompressedOutputStream(str(p), codec) as out:
        out.write((good + bad).encode())
    with pytest.raises(DataFormatError, match=rf"{re.escape(name)}:\d: rating .*'x' is not a number") as info:
        load_events_file(p)
    assert info.value.line == (good + bad).count("\n")


def test_blank_lines_before_the_header(tmp_path: Path) -> None:
    p = write(tmp_path / "lead.csv", "\nuser,item,rating\n1,2,3\n")
    ds = load_events_file(p)
    assert ds.events["value"].tolist() == [3.0]
    assert ds.events["member_id"].tolist() == ["1"]
    p = write(tmp_path / "lead.tsv", "\r\n \r\nuser\titem\trating\r\n1\t2\t3\r\n")
    assert load_events_file(p).n_events == 1
    p = write(tmp_path / "lead.txt", "\n  \n\nuser item rating\n1 2 3\n")
    assert load_events_file(p).n_events == 1
    p = write(tmp_path / "lead_uid.csv", "\n\nuid,sku,stars\n1,2,3\n")
    with pytest.raises(MissingColumnsError, match="no column 'nope'") as info:
        load_events_file(p, columns="nope=member_id,sku=title_id")
    assert info.value.line == 3


def test_generic_sibling_and_explicit_catalog(tmp_path: Path) -> None:
    write(tmp_path / "events.csv", "user,item\n1,a\n2,b\n")
    write(tmp_path / "titles.csv", "item_id,name,genres,year,kind\na,Alpha,Drama,2001,series\nb,Beta,,,\n")
    ds = load_events_file(tmp_path / "events.csv")
    got = [ds.titles.at["a", c] for c in ("name", "genres", "year", "kind")]
    assert got == ["Alpha", "Drama", 2001, "series"]
    assert ds.titles.loc["b", "kind"] == "movie"
    cat = write(tmp_path / "other" / "cat.tsv", "id\ttitle\nb\tBeta (2003)\na\tAlpha\n")
    ds = load_delimited(tmp_path / "events.csv", titles_path=cat)
    assert ds.titles.loc["b", "year"] == 2003


def test_a_titles_csv_beside_the_events_is_read_before_a_movies_csv(tmp_path: Path) -> None:
    """Of several catalogues beside an events file, titles.csv is taken before movies.csv (the documented
    order)."""
    write(tmp_path / "events.csv", "user,item\n1,a\n")
    write(tmp_path / "titles.csv", "item_id,name\na,Alpha\n")
    write(tmp_path / "movies.csv", "movieId,title\na,Other\n")
    assert load_events_file(tmp_path / "events.csv").titles.loc["a", "name"] == "Alpha"


def test_the_catalog_beside_a_file_read_generically_is_the_generic_readers(tmp_path: Path) -> None:
    """With columns or a separator given, a ratings.dat is read by the generic reader, whose catalog is a
    titles.csv beside it (not the movies.dat of MovieLens 1M): that is the one an output must not replace."""
    p = write(tmp_path / "ratings.dat", "1::1::5::978300760\n")
    write(tmp_path / "movies.dat", "1::Toy Story (1995)::Animation\n")
    write(tmp_path / "titles.csv", "id,name\n1,Toy Story\n")
    assert catalog_beside(p) == tmp_path / "movies.dat"
    assert catalog_beside(p, generic=True) == tmp_path / "titles.csv"


# ------------------------------------------------------------------------------------ Parquet
def test_parquet_events_with_aliases_and_datetimes(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "userId": [1, 1, 2],
            "movieId": [10, 20, 10],
            "rating": [4.0, 5.0, 3.0],
            "time": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"], utc=True),
        }
    )
    p = tmp_path / "events.parquet"
    frame.to_parquet(p)
    ds = load_events_file(p)
    assert ds.events["member_id"].tolist() == ["1", "1", "2"]
    assert ds.events["timestamp"].tolist() == [1704067200, 1704153600, 1704240000]
    frame.rename(columns={"userId": "who"}).to_parquet(p)
    with pytest.raises(MissingColumnsError, match="no member_id column"):
        load_parquet(p)
    assert load_parquet(p, columns={"who": "member_id"}).n_events == 3


def test_parquet_garbage(tmp_path: Path) -> None:
    p = write(tmp_path / "x.parquet", "not parquet")
    with pytest.raises(DataFormatError, match="cannot read as Parquet"):
        load_events_file(p)


def test_a_parquet_row_without_an_id_is_named_by_its_1_based_row(tmp_path: Path) -> None:
    """The message counts rows from 1, as a spreadsheet does: row 2 is the second (``iloc[1]``)."""
    p = tmp_path / "events.parquet"
    pd.DataFrame({"user": ["u1", None, "u3"], "item": ["a", "b", "c"]}).to_parquet(p)
    with pytest.raises(DataFormatError, match=r"row 2: empty member id"):
        load_parquet(p)


def test_dataset_folders(tmp_path: Path, ml100k: Path) -> None:
    ds = load_dataset(ml100k)
    ds.save(tmp_path / "saved")
    again = load_dataset(tmp_path / "saved")
    pd.testing.assert_frame_equal(again.events, ds.events)
    nested = tmp_path / "unpacked"
    (nested / "ml-100k").mkdir(parents=True)
    for f in ml100k.iterdir():
        (nested / "ml-100k" / f.name).write_bytes(f.read_bytes())
    assert load_dataset(nested).n_events == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="not a dataset folder"):
        load_dataset(tmp_path / "empty")
    with pytest.raises(DataFormatError, match="no such file"):
        load_dataset(tmp_path / "missing")


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("user,item,rating\n1,2,3\n\n\n4,5,6,7\n", 5, "expected 3 fields separated by commas, found 4"),
        ("user,item,rating\n1,2,3\n4,5\n", 3, "expected 3 fields separated by commas, found 2"),
        ("\nuser,item,rating\n1,2,3\n4,5\n", 4, "expected 3 fields separated by commas, found 2"),
        ("\n\nuser,item,rating\n1,2,3\n\n1,3,x\n", 6, "rating .*'x' is not a number"),
        ("\n\nuser,item,rating\n1,2,3\n\n1,,4\n", 6, "empty title id"),
        ("1,2,3,100\n1,2,3,100\n\n1,3,x,100\n", 4, "rating 'x' is not a number"),
        ("1,2,3,100\n1,3,4,1e\n", 2, "timestamp '1e' is not a number"),
        ("user,item,rating\n1,2,3\n\n3,,3\n", 4, "empty title id"),
        ("user,item,rating\n,2,3\n", 2, "empty member id"),
        ("user,item,rating\n1,2,3\n1,3,\n", 3, "empty rating"),
        ("user,item,kind\n1,2,play\n1,2,watch\n", 3, "unknown event kind 'watch'"),
        ("user,item,kind,fraction\n1,2,play,0.5\n1,2,play,1.5\n", 3, r"fraction 1.5 is outside \[0, 1\]"),
    ],
)
def test_malformed_line_is_reported_precisely(tmp_path: Path, text: str, line: int, message: str) -> None:
    p = write(tmp_path / "events.csv", text)
    with pytest.raises(DataFormatError, match=message) as info:
        load_events_file(p)
    assert info.value.line == line
    assert info.value.path == str(p)
    assert str(info.value).startswith(f"{p}:{line}: ")
    assert isinstance(info.value, UserInputError)


def test_a_huge_bad_value_is_clipped_in_the_message(tmp_path: Path) -> None:
    """A 1 MB rating (or event kind) was echoed whole: the message filled the terminal."""
    for header, field in (("rating", "rating"), ("kind", "unknown event kind")):
        p = write(tmp_path / "events.csv", f"user,item,{header}\n1,2,{'x' * 10**6}\n")
        with pytest.raises(DataFormatError, match=field) as info:
            load_events_file(p)
        assert len(str(info.value)) < 300 and f"'{'x' * 77}...'" in str(info.value), header
        assert info.value.line == 2
    for header in ("year", "released"):  # a catalogue's too
        p = write(tmp_path / "titles.csv", f"title_id,title,{header}\n1,A,{'x' * 10**4}\n")
        with pytest.raises(DataFormatError, match=r"year|release date") as info:
            load_titles(p)
        assert len(str(info.value)) < 300 and info.value.line == 2, header
    # past csv's 128 KiB field limit: named, not a csv traceback
    p = write(tmp_path / "titles.csv", f"title_id,title,year\n1,A,{'x' * 10**6}\n")
    with pytest.raises(DataFormatError, match="unreadable line") as info:
        load_titles(p)
    assert info.value.line == 2
    p = write(tmp_path / "titles.csv", f"title_id,title,{'x' * 10**6}\n1,A,1999\n")
    with pytest.raises(DataFormatError, match="unreadable header") as info:
        load_titles(p)
    assert info.value.line == 1


def test_malformed_line_late_in_a_large_file(tmp_path: Path) -> None:
    n = 200_000
    rng = np.random.default_rng(0)
    lines = [f"{u}\t{i}\t{r}\t{881250949 + k}" for k, (u, i, r) in enumerate(rng.integers(1, 500, (n, 3)))]
    lines[150_000] = "12\t34\tfive\t881250949"
    p = write(tmp_path / "u.data", "\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"u\.data:150001: rating 'five' is not a number") as info:
        load_events_file(p)
    assert info.value.line == 150_001


def test_missing_columns(tmp_path: Path) -> None:
    p = write(tmp_path / "e.csv", "name,score\nx,1\n")
    with pytest.raises(MissingColumnsError, match="no member_id or title_id column"):
        load_events_file(p)
    p = write(tmp_path / "f.csv", "user,item\n1,2\n")
    with pytest.raises(MissingColumnsError, match="no column 'stars' in the header"):
        load_events_file(p, columns="user=member_id,stars=rating")
    with pytest.raises(ConfigError, match="unknown column name 'bogus'"):
        load_events_file(p, columns="user,bogus")


def test_unused_columns_are_warned_about_when_no_rating_or_time_is_found(tmp_path: Path) -> None:
    """A ``user_rating``/``watched_at`` header was read as plays at time 0 without a word: a 1-star and a
    4.5-star rating weighed the same."""
    p = write(tmp_path / "ur.csv", "user_id,movie_id,user_rating,watched_at\n1,10,4.5,2020-01-01\n")
    with pytest.warns(
        ReelkitWarning, match=r"'user_rating', 'watched_at' not used and no rating or time"
    ) as w:
        ds = load_events_file(p)
    assert "read as plays without times (all at 0)" in str(w[0].message)
    assert "--columns 'user_rating=rating'" in str(w[0].message)
    assert list(ds.events["kind"]) == ["play"]
    pd.DataFrame({"user": [1], "item": [10], "stars": [4.5], "ts": [5]}).to_parquet(tmp_path / "s.parquet")
    with pytest.warns(ReelkitWarning, match=r"'stars' not used and no rating column .* plays \(implicit"):
        load_parquet(tmp_path / "s.parquet")
    named = load_events_file(p, columns="user_rating=rating,watched_at=timestamp")
    assert named.events["value"].tolist() == [4.5] and named.events["timestamp"].tolist() == [1577836800]
    # a column named by columns= leaves the rest to be warned about (watched_at was dropped in silence)
    with pytest.warns(
        ReelkitWarning, match=r"'watched_at' not used and no time column .*'watched_at=timestamp'"
    ):
        load_events_file(p, columns="user_rating=rating")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every column used, or nothing left that could be the rating/time
        load_events_file(write(tmp_path / "a.csv", "user,item,rating,timestamp,genre\n1,10,4,5,x\n"))
        load_events_file(write(tmp_path / "b.csv", "user,item\n1,10\n"))
        # MovieLens' tags.csv: its tag is text, no rating (it suggested --columns 'tag=rating')
        load_events_file(
            write(tmp_path / "tags.csv", "userId,movieId,tag,timestamp\n2,60756,funny,1445714994\n")
        )
        pd.DataFrame({"user": [1], "item": [10], "tag": ["dark"], "ts": [5]}).to_parquet(
            tmp_path / "t.parquet"
        )
        load_parquet(tmp_path / "t.parquet")


def test_a_value_beside_fractions_is_a_play_and_the_advice_names_plays_and_thumbs(tmp_path: Path) -> None:
    """A play log's seconds mapped as the value were read as ratings (3000 stars, the fraction ignored), and
    the warning advised mapping seconds or thumbs as the rating (a thumbs-down then a liked title)."""
    text = "user_id,title_id,ts,watch_seconds,completion\nu1,m1,5,3000,1.0\nu1,m2,6,600,0.2\n"
    p = write(tmp_path / "log.csv", text)
    with pytest.warns(ReelkitWarning) as w:
        load_events_file(p)
    assert "--columns 'watch_seconds=value,completion=fraction'" in str(w[0].message)
    assert "=rating'" not in str(w[0].message)
    ds = load_events_file(p, columns="watch_seconds=value,completion=fraction")
    assert ds.events["kind"].tolist() == ["play", "play"]
    assert ds.events["value"].tolist() == [3000.0, 600.0] and ds.events["fraction"].tolist() == [1.0, 0.2]
    frame = pd.DataFrame({"user": ["u1"], "item": ["m1"], "value": [3000.0], "fraction": [1.0], "ts": [5]})
    frame.to_parquet(tmp_path / "log.parquet")
    assert load_parquet(tmp_path / "log.parquet").events["kind"].tolist() == ["play"]
    assert Dataset.from_events(
        frame.rename(columns={"user": "member_id", "item": "title_id", "ts": "timestamp"})
    ).events["kind"].tolist() == ["play"]
    with pytest.warns(ReelkitWarning) as w:
        load_events_file(write(tmp_path / "thumbs.csv", "user,item,ts,thumb\nu1,t1,5,1\nu1,t2,6,-1\n"))
    assert "add a kind column saying thumb" in str(w[0].message) and "=rating'" not in str(w[0].message)


def test_a_column_called_rating_beside_fractions_stays_ratings(tmp_path: Path) -> None:
    """Only a value not called a rating is a play's position beside fractions: a 'rating' column (by its
    header or by columns=) was read as plays of 4.5 s once any row had a fraction (a diff review)."""
    text = "userId,movieId,rating,timestamp,fraction\n1,10,4.5,1600000000,\n1,11,0.5,1600000001,0.8\n"
    assert load_events_file(write(tmp_path / "r.csv", text)).events["kind"].tolist() == ["rating"] * 2
    named = "u,i,stars,timestamp,fraction\n1,10,4.5,1600000000,\n1,11,0.5,1600000001,0.8\n"
    by_spec = load_events_file(write(tmp_path / "s.csv", named), columns="u=user,i=item,stars=rating")
    assert by_spec.events["kind"].tolist() == ["rating"] * 2
    frame = pd.DataFrame({"user": [1], "item": [10], "rating": [4.5], "fraction": [0.8], "ts": [5]})
    frame.to_parquet(tmp_path / "r.parquet")
    assert load_parquet(tmp_path / "r.parquet").events["kind"].tolist() == ["rating"]


def test_an_empty_timestamp_is_refused_at_its_line(tmp_path: Path) -> None:
    """An empty time read as 0 made a re-rating the oldest event, so the rating it replaced counted."""
    p = write(
        tmp_path / "e.csv", "user,item,rating,timestamp\n1,10,4,1600000000\n1,10,2,\n2,11,3,1600000100\n"
    )
    with pytest.raises(DataFormatError, match="empty timestamp") as info:
        load_events_file(p)
    assert info.value.line == 3
    pd.DataFrame(
        {"user": [1, 2], "item": [10, 11], "rating": [4.0, 3.0], "timestamp": [np.nan, 2.0]}
    ).to_parquet(tmp_path / "e.parquet")
    with pytest.raises(DataFormatError, match="row 1: empty timestamp"):
        load_parquet(tmp_path / "e.parquet")
    # the file's row, though events of titles the catalogue lacks are dropped first (it said row 3 of 5)
    pd.DataFrame({"user": [1] * 5, "item": ["a", "x", "y", "a", "a"], "rating": [4.0] * 5,
                  "timestamp": [1, 2, 3, 4, np.nan]}).to_parquet(tmp_path / "d.parquet")  # fmt: skip
    pd.DataFrame({"item_id": ["a"], "title": ["A"]}).to_csv(tmp_path / "titles.csv", index=False)
    with pytest.raises(DataFormatError, match="row 5: empty timestamp"):
        load_parquet(tmp_path / "d.parquet", titles_path=tmp_path / "titles.csv", unknown_titles="drop")
    with pytest.raises(DataFormatError, match="row 2: empty timestamp"):
        Dataset.from_events(
            pd.DataFrame(
                {"member_id": ["a", "b"], "title_id": ["x", "y"], "timestamp": [pd.Timestamp(0), pd.NaT]}
            )
        )


def test_parquet_ids_lose_surrounding_spaces_as_delimited_ids_do(tmp_path: Path) -> None:
    """`' 1'` and `'1'` were two members in Parquet and one in the same rows as CSV."""
    frame = pd.DataFrame(
        {"user": ["1", " 1"], "item": ["a", "a "], "rating": [4.0, 5.0], "timestamp": [1, 2]}
    )
    frame.to_parquet(tmp_path / "e.parquet")
    frame.to_csv(tmp_path / "e.csv", index=False)
    frame.astype({"user": "category"}).to_parquet(tmp_path / "c.parquet")  # pandas' categoricals too
    read = [load_parquet(tmp_path / "e.parquet"), load_parquet(tmp_path / "c.parquet")]
    for ds in (*read, load_events_file(tmp_path / "e.csv")):
        assert set(ds.events["member_id"]) == {"1"} and set(ds.events["title_id"]) == {"a"}


@pytest.mark.parametrize("text", ["", "\n\n", "user,item,rating\n"])
def test_empty_files(tmp_path: Path, text: str) -> None:
    p = write(tmp_path / "events.csv", text)
    with pytest.raises(EmptyDataError):
        load_events_file(p)


def test_a_first_line_over_64_kib_is_named(tmp_path: Path) -> None:
    """A wide member x title matrix (a header of 20,000 titles) was 'the file is empty'."""
    header = "member," + ",".join(f"title{i}" for i in range(20_000))
    for lead in ("", "\n\n"):
        p = write(tmp_path / "matrix.csv", f"{lead}{header}\nm1{',4' * 20_000}\n")
        with pytest.raises(DataFormatError, match="first line is over 64 KiB long: not an events file"):
            load_events_file(p)


def test_a_pipe_is_refused_naming_it(tmp_path: Path) -> None:
    """A pipe (<(cat ratings.csv), a FIFO) was 'Not a directory'."""
    import os

    fifo = tmp_path / "ratings.csv"
    os.mkfifo(fifo)  # never opened: a read would wait for a writer
    for load in (load_dataset, load_events):
        with pytest.raises(DataFormatError, match="is a pipe or device, not a file or folder: give a file"):
            load(fifo)


def test_empty_movielens_file(tmp_path: Path) -> None:
    p = write(tmp_path / "u.data", "")
    with pytest.raises(EmptyDataError, match="empty"):
        load_movielens_100k(p)


def test_unknown_title_ids(tmp_path: Path) -> None:
    write(tmp_path / "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4,1\n1,99,3,2\n2,99,5,3\n")
    write(tmp_path / "movies.csv", "movieId,title,genres\n1,One (2000),Drama\n")
    with pytest.raises(
        UnknownIdError, match=r"1 title id\(s\) in the events are not in the catalog .*movies\.csv"
    ):
        load_events_file(tmp_path / "ratings.csv")
    with pytest.warns(ReelkitWarning, match="added with placeholder names"):
        ds = load_movielens_csv(tmp_path / "ratings.csv", unknown_titles="keep")
    assert ds.titles.loc["99", "name"] == "Title 99"
    with pytest.warns(ReelkitWarning, match="their 2 event"):
        ds = load_movielens_csv(tmp_path / "ratings.csv", unknown_titles="drop")
    assert ds.n_events == 1


def test_duplicates_and_repeated_ratings(tmp_path: Path) -> None:
    p = write(tmp_path / "e.csv", "user,item,rating,timestamp\n1,2,3,100\n1,2,3,100\n1,2,5,50\n1,3,2,10\n")
    with pytest.warns(DuplicateEventsWarning, match="dropped 1 exact duplicate"):
        ds = load_events_file(p)
    assert ds.n_events == 3  # the repeated rating is kept as an event...
    inter = ds.interactions()
    got = dict(zip(inter.title_ids[inter.cols], inter.rating, strict=True))
    assert got == {"2": 3.0, "3": 2.0}  # ...and the last by timestamp is the one that counts


def test_encodings(tmp_path: Path) -> None:
    p = write(tmp_path / "latin.csv", "user,item,rating\ncafé,2,3\n", encoding="latin-1")
    assert load_events_file(p).events["member_id"].tolist() == ["café"]
    p = write(tmp_path / "bom.csv", "\ufeffuser,item,rating\nzoë,2,3\n")
    assert load_events_file(p).events["member_id"].tolist() == ["zoë"]
    p = write(tmp_path / "wide.csv", "user,item,rating\nx,2,3\n", encoding="utf-16")
    assert load_events_file(p).events["member_id"].tolist() == ["x"]
    p = write(tmp_path / "wide_bad.csv", "user,item,rating\nx,2,3\r\n\r\ny,2,z\n", encoding="utf-16")
    with pytest.raises(DataFormatError, match=r"wide_bad\.csv:4: rating .* 'z' is not a number"):
        load_events_file(p)
    for name in ("utf-32", "utf-32-be"):  # UTF-32's little-endian mark starts with UTF-16's: "expected 3
        # fields separated by commas, found 1: '\x00'"
        bom = "\ufeff" if name.endswith("be") else ""
        p = write(tmp_path / "wide32.csv", bom + "user,item,rating\nzo\u00eb,2,3\n", encoding=name)
        assert load_events_file(p).events["member_id"].tolist() == ["zo\u00eb"], name
    p = write(tmp_path / "wide.csv", "user,item,rating\nx,2,3\n", encoding="utf-16-le")  # no byte-order mark
    with pytest.raises(DataFormatError, match="NUL bytes"):
        load_events_file(p)


def test_catalog_errors(tmp_path: Path) -> None:
    p = write(tmp_path / "titles.csv", "name,genres\nA,Drama\n")
    with pytest.raises(MissingColumnsError, match="no title id column"):
        load_titles(p)
    p = write(tmp_path / "dups.csv", "id,name\n1,A\n1,B\n")
    with pytest.warns(ReelkitWarning, match="appear more than once"):
        titles = load_titles(p)
    assert titles.loc["1", "name"] == "A"


# ------------------------------------------------------------------------------------ real data
def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (MovieLens files live in ../shared/data; see its SOURCES.md)")
    return path


@pytest.mark.data
def test_real_movielens_100k() -> None:
    folder = _need(MOVIELENS / "ml-100k")
    start = time.perf_counter()
    ds = load_dataset(folder)
    elapsed = time.perf_counter() - start
    assert (ds.n_events, ds.events["member_id"].nunique(), len(ds.titles)) == (100_000, 943, 1_682)
    counts = ds.events["value"].value_counts().sort_index().tolist()
    assert counts == [6_110, 11_370, 27_145, 34_174, 21_201]
    assert ds.titles.loc["1", "name"] == "Toy Story"
    assert ds.titles.loc["1", "genres"] == "Animation|Children's|Comedy"
    assert elapsed < 5.0
    assert load_events_file(folder / "u1.base").n_events == 80_000


@pytest.mark.data
def test_real_movielens_latest_small() -> None:
    folder = _need(MOVIELENS / "ml-latest-small")
    ds = load_dataset(folder)
    assert (ds.n_events, ds.events["member_id"].nunique(), len(ds.titles)) == (100_836, 610, 9_742)
    assert ds.events["title_id"].nunique() == 9_724
    assert ds.events["value"].min() == 0.5
    assert ds.titles.loc["1", "year"] == 1995


def test_dataset_roundtrip_keeps_everything(tmp_path: Path, ml100k: Path) -> None:
    ds = load_dataset(ml100k)
    ds.save(tmp_path / "out")
    again = Dataset.load(tmp_path / "out")
    pd.testing.assert_frame_equal(again.titles, ds.titles)
    pd.testing.assert_frame_equal(again.members, ds.members)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Dataset.load(tmp_path / "out")


def test_a_yaml_or_json_file_is_not_an_events_table(tmp_path: Path) -> None:
    # a concept file given as --ratings was read as two members' "ratings" and made up communities
    from reelkit.data.loaders import load_events_file

    for name in ("concept.yaml", "prod.json"):
        f = tmp_path / name
        f.write_text("title: X\ngenres: [Action]\n")
        with pytest.raises(DataFormatError, match="not a ratings/events table"):
            load_events_file(f)


def test_parquet_columns_by_name_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every --columns form was refused for Parquet ('give columns as a mapping'), so such a file could not
    be used from the command line."""
    import json

    from reelkit.testing.cli import run_cli

    path = tmp_path / "custom.parquet"
    pd.DataFrame({"viewer": [1, 2, 3], "show": [10, 11, 10], "stars": [4.0, 5.0, 3.0]}).to_parquet(path)
    code, out, err = run_cli(
        capsys, "data", "info", str(path), "--columns", "viewer=member_id,show=title_id,stars=value", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["members"] == 3


def test_dates_are_read_in_one_format_per_column(tmp_path: Path) -> None:
    """01/02/2020 was read month first and 13/02/2020 day first in one column; numbers among dates were
    said not to be numbers."""
    from reelkit.data.loaders import load_events_file
    from reelkit.errors import DataFormatError

    dm = tmp_path / "dm.csv"
    dm.write_text("user,item,rating,timestamp\n1,10,4,01/02/2020\n2,11,5,13/02/2020\n")
    with pytest.raises(
        DataFormatError, match=r"dm\.csv:3: .*'13/02/2020' is not in the format of the column's"
    ):
        load_events_file(dm)
    mix = tmp_path / "mix.csv"
    mix.write_text("user,item,rating,timestamp\n1,10,4,2020-01-01\n2,11,5,1600000000\n3,12,4,1600000001\n")
    with pytest.raises(DataFormatError, match="mixes unix seconds and dates"):
        load_events_file(mix)
    iso = tmp_path / "iso.csv"  # ISO dates of any precision are one format
    iso.write_text(
        "user,item,rating,timestamp\n1,10,4,2020-01-01\n2,11,5,2020-01-02 10:00:00\n"
        "3,12,3,2020-01-03T10:00:00Z\n"
    )
    assert sorted(load_events_file(iso).events["timestamp"]) == [1577836800, 1577959200, 1578045600]


def test_dates_outside_the_nanosecond_range_are_read_not_a_traceback(tmp_path: Path) -> None:
    """A date before 1677 or after 2262 (0999-05-01, 2300-01-01) was an OutOfBoundsDatetime traceback."""
    from reelkit.data.loaders import load_events_file

    far = tmp_path / "far.csv"
    far.write_text("user,item,rating,timestamp\n1,10,4,2020-01-01\n2,11,5,0999-05-01\n3,12,3,2300-01-01\n")
    assert load_events_file(far).events["timestamp"].tolist() == [1577836800, -30631392000, 10413792000]


def test_a_column_as_much_numbers_as_dates_is_read_as_numbers(tmp_path: Path) -> None:
    """One unix time and one date: a tie goes to numbers, so the date is the line named as the odd one."""
    from reelkit.data.loaders import load_events_file

    tie = tmp_path / "tie.csv"
    tie.write_text("user,item,rating,timestamp\n1,10,4,1600000000\n2,11,5,2020-01-01\n")
    with pytest.raises(DataFormatError, match=r"tie\.csv:3: .*a number like the others"):
        load_events_file(tie)


def test_a_catalog_missing_some_ids_can_be_loaded_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The error advised unknown_titles='keep', which no command offered: no way past it from the CLI."""
    import json

    from reelkit.testing.cli import run_cli

    (tmp_path / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,10,4,964982703\n1,11,5,964982704\n"
    )
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n10,A (1999),Drama\n")  # no 11
    code, _, err = run_cli(capsys, "data", "info", str(tmp_path / "ratings.csv"))
    assert code == 2 and "--unknown-titles keep or drop" in err
    for mode, events in (("keep", 2), ("drop", 1)):
        code, out, err = run_cli(
            capsys, "data", "info", str(tmp_path / "ratings.csv"), "--unknown-titles", mode, "--json"
        )
        assert code == 0, err
        assert json.loads(out)["events"] == events


def test_a_date_error_names_the_format_that_read_the_column(tmp_path: Path) -> None:
    from reelkit.data.loaders import load_events_file
    from reelkit.errors import DataFormatError

    path = tmp_path / "d.csv"
    path.write_text(
        "user,item,rating,timestamp\n1,10,4,1/5/2020 10:00\n"
        "2,11,5,2020-01-06 10:00\n3,12,4,2020-01-07 10:00\n"
    )
    with pytest.raises(
        DataFormatError, match=r"d\.csv:2: .*'1/5/2020 10:00' is not an ISO 8601 date like the others"
    ):
        load_events_file(path)


@pytest.mark.parametrize("name", ["r.csv.gz", "r.csv.bz2", "r.csv.zst"])
def test_a_damaged_compressed_file_is_named_in_one_line(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A truncated .gz said "Truncated compressed stream" (exit 1) and a truncated .bz2 "Aborted!"."""
    import bz2

    from reelkit.testing.cli import run_cli

    text = "userId,movieId,rating,timestamp\n" + "".join(
        f"{i % 97},{i % 501},4,{1000 + i}\n" for i in range(40000)
    )
    packed = {
        ".gz": gzip.compress(text.encode()),
        ".bz2": bz2.compress(text.encode()),
        ".zst": pa.compress(text.encode(), codec="zstd", asbytes=True),
    }[Path(name).suffix]
    path = tmp_path / name
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataFormatError, match=rf"{re.escape(name)}: corrupt or truncated compressed data"):
        load_events(path)
    code, _, err = run_cli(capsys, "data", "info", str(path))
    assert code == 2 and err.startswith(f"error: {path}: corrupt or truncated") and err.count("\n") == 1, err


def test_a_thumb_is_up_or_down(tmp_path: Path) -> None:
    """A 0/1 column's dislikes (0) were dropped without a word and a 7 counted as an up-thumb."""
    path = tmp_path / "thumbs.csv"
    for value, line in (("0", 3), ("7", 3), ("", 3)):
        path.write_text(
            "member_id,title_id,kind,value,fraction,timestamp\n"
            f"u1,A,play,,1.0,100\nu1,A,thumb,{value},,200\nu2,A,thumb,-1,,300\n"
        )
        with pytest.raises(
            DataFormatError, match=rf"thumbs\.csv:{line}: thumb value .*: a thumb is 1 \(up\) or -1"
        ):
            load_events(path)
    frame = pd.DataFrame(
        {"member_id": ["u1"], "title_id": ["A"], "kind": ["thumb"], "value": [0.5], "timestamp": [1]}
    )
    with pytest.raises(DataFormatError, match=r"thumb value 0\.5"):
        Dataset.from_events(frame)
    frame = pd.DataFrame(  # a table's 0 (a 0/1 column's dislike) as the file's
        {
            "member_id": ["u1", "u2"],
            "title_id": ["A"] * 2,
            "kind": ["thumb"] * 2,
            "value": [1, 0],
            "timestamp": [1, 2],
        }
    )
    with pytest.raises(DataFormatError, match=r"thumb value 0: a thumb is 1 \(up\) or -1 \(down\)"):
        Dataset.from_events(frame)


def test_a_rating_beyond_any_scale_is_refused(tmp_path: Path) -> None:
    """1e39 passed as finite, became inf as the models' float32: train exited 0 and wrote a model that every
    load refused ("retrain the model", which wrote the same)."""
    path = tmp_path / "r.csv"
    for value in ("1e39", "1e308", "-2e6"):
        path.write_text(f"userId,movieId,rating,timestamp\n1,1,4,100\n2,1,{value},200\n")
        with pytest.raises(
            DataFormatError, match=rf"r\.csv: rating {re.escape(f'{float(value):g}')} \(row 2\) is beyond"
        ):
            load_events(path)
    path.write_text("userId,movieId,rating,timestamp\n1,1,4,100\n2,1,-1e6,200\n")
    assert load_events(path).events["value"].tolist() == [4.0, -1e6]  # the bound itself is a rating
    frame = pd.DataFrame(  # a play's position is not a rating: a long one is kept
        {"member_id": ["u1"], "title_id": ["A"], "kind": ["play"], "value": [2e6], "timestamp": [1]}
    )
    assert Dataset.from_events(frame).events["value"].tolist() == [2e6]


def test_a_bad_value_is_named_by_its_rows_kind_and_line(tmp_path: Path) -> None:
    """A thumb 'up' was reported as a rating, a rating line of a file without values had no line number,
    and a play at -100 s was taken as a short play; the frame path names the row."""
    path = tmp_path / "e.csv"
    cases = (
        ("member,title,kind,value\nu1,t1,play,5\nu1,t2,thumb,up\n", r"e\.csv:3: thumb \(1 up or -1 down\)"),
        ("member,title,kind\nu1,t1,play\nu1,t2,rating\n", r"e\.csv:3: a rating event, but the file has no"),
        ("member,title,kind,value\nu1,t1,play,-100\n", r"e\.csv:2: play position -100 s is negative"),
        ("member,title,value,fraction\nu1,t1,5,0.1\nu1,t2,-3,0.2\n", r"e\.csv:3: play position -3 s"),
    )
    for text, message in cases:
        path.write_text(text)
        with pytest.raises(DataFormatError, match=message):
            load_events(path)
    frame = pd.DataFrame({"member_id": ["a", "b"], "title_id": ["x", "y"], "kind": ["play", "rating"]})
    with pytest.raises(DataFormatError, match=r"a rating event \(row 2\) has no value"):
        Dataset.from_events(frame.assign(value=[3.0, None]))
    pd.DataFrame({"user": ["a"], "item": ["x"], "kind": ["play"], "value": [-5.0]}).to_parquet(
        tmp_path / "n.pq"
    )
    with pytest.raises(DataFormatError, match=r"n\.pq: row 1: play position -5 s is negative"):
        load_parquet(tmp_path / "n.pq")
    # what a store holds from an older reelkit stays readable (its folder must stay trainable)
    assert Dataset.from_events(frame.assign(value=[-5.0, 4.0])).events["value"].tolist() == [-5.0, 4.0]


def test_loaders_take_their_file_by_keyword(tmp_path: Path) -> None:
    """The damaged-file wrapper took the first argument positionally only: path= calls failed."""
    path = tmp_path / "r.csv"
    path.write_text("userId,movieId,rating,timestamp\n1,10,4,1000\n")
    assert load_movielens_csv(ratings_csv=path).n_events == 1
    assert load_events(path=path).n_events == 1


def test_a_file_mixing_utf8_and_latin1_lines_is_refused_naming_the_line(tmp_path: Path) -> None:
    """One latin-1 byte made the whole file read as latin-1: a UTF-8 'josé' became 'josÃ©', a second
    member beside the one already imported, without a word. A file that is latin-1 throughout still reads."""
    from reelkit.data.loaders import load_events_file
    from reelkit.errors import DataFormatError

    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(b"user,item,rating\njos\xc3\xa9,t1,4\nbob,t2,5\nren\xe9e,t1,3\n")
    with pytest.raises(DataFormatError, match=r"mixed\.csv:4: mixes text encodings"):
        load_events_file(mixed)
    # the first line that is not UTF-8 is named, not the last before a UTF-8 one
    mixed.write_bytes(b"user,item,rating\nren\xe9e,t1,3\nzo\xeb,t2,5\njos\xc3\xa9,t1,4\n")
    with pytest.raises(DataFormatError, match=r"mixed\.csv:2: mixes text encodings"):
        load_events_file(mixed)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"user,item,rating\nren\xe9e,t1,3\nbob,t2,5\n")
    assert sorted(load_events_file(latin).events["member_id"].unique()) == ["bob", "renée"]


def test_ids_are_stripped_in_tab_files_as_in_comma_files_and_catalogues(tmp_path: Path) -> None:
    """A TSV kept 't1 ' (and 'u1 ', a second member) while its catalogue and any CSV stripped them."""
    from reelkit.data.loaders import load_events_file

    (tmp_path / "events.tsv").write_bytes(b"user\titem\trating\nu1\tt1 \t4\nu1 \tt2\t5\n")
    (tmp_path / "titles.tsv").write_bytes(b"title_id\tname\nt1 \tFirst\nt2\tSecond\n")
    ds = load_events_file(tmp_path / "events.tsv")
    assert sorted(ds.events["member_id"].unique()) == ["u1"]
    assert sorted(ds.events["title_id"].unique()) == ["t1", "t2"]


def test_a_stray_quote_in_a_short_file_is_named_at_its_line(tmp_path: Path) -> None:
    """The one bad line of a short file split into one field, so no separator 'tolerated' it: the file was
    'cannot tell how fields are separated', with no line. The separator most lines agree on is taken and the
    reader names the line; a file of one column says so, not 'pass sep='."""
    quoted = tmp_path / "q4.csv"
    quoted.write_text('user,item,rating\n1,10,4\n"2,11,3\n3,12,5\n')
    with pytest.raises(DataFormatError, match=r"q4\.csv:3: expected 3 fields separated by commas, found 1"):
        load_events_file(quoted)
    single = tmp_path / "q3.csv"
    single.write_text("user\n1\n2\n")
    with pytest.raises(DataFormatError, match=r"q3\.csv: holds one column only \('user', \.\.\.\)"):
        load_events_file(single)


def test_user_files_from_a_data_ingestion_review(tmp_path: Path) -> None:
    """What users' own files held, each once read wrongly or refused with the wrong advice: a quoted line
    break in a catalogue's title (refused as a short line), a titles.csv beside a MovieLens-style
    ratings.csv (ignored: placeholder titles), JSON lines (read as CSV), an Excel workbook (said to be
    UTF-16), a decimal comma (no hint), a float id column with one fraction (7.0 became '7.0')."""
    from reelkit.data.loaders import load_events_file

    ml = tmp_path / "ml"
    ml.mkdir()
    (ml / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,7,4,1000\n1,8,3,1001\n")
    (ml / "movies.csv").write_text('movieId,title,genres\n7,"Line1\nLine2 (1999)",Drama\n8,"A, B",Comedy\n')
    titles = load_events_file(ml / "ratings.csv").titles
    assert titles.loc["7", "name"] == "Line1\nLine2" and titles.loc["7", "year"] == 1999
    assert titles.loc["8", "name"] == "A, B"
    (ml / "movies.csv").unlink()
    (ml / "titles.csv").write_text("title_id,name,genres\n7,Seven (1995),Drama\n8,Eight,Comedy\n")
    assert load_events_file(ml / "ratings.csv").titles.loc["7", "name"] == "Seven"
    for name, body, message in (
        ("x.jsonl", '{"user":"1","item":"2","rating":3.5}\n', "is a JSONL file, not a ratings/events table"),
        ("x.xlsx", "PK\x03\x04", "is an Excel workbook, not a ratings/events table; save it as CSV"),
        ("x.csv", "PK\x03\x04rest", "is a zip archive \\(an Excel workbook\\?\\), not a ratings/events"),
        (
            "y.csv",
            "user;item;rating\n1;10;3,5\n",
            "'3,5' is not a number \\(a decimal comma: write it with a",
        ),
    ):
        (tmp_path / name).write_text(body)
        with pytest.raises(DataFormatError, match=message):
            load_events_file(tmp_path / name)
    ids = Dataset.from_events(
        pd.DataFrame({"member_id": [7.0, 9.5], "title_id": ["a", "b"], "value": [1, 2]})
    )
    assert sorted(ids.events["member_id"].unique()) == ["7", "9.5"]


def test_dates_that_read_either_way_and_yyyymmdd_numbers_are_said(tmp_path: Path) -> None:
    """04/03/2021 was read month first (the column's first date decided) in silence, months off for a
    dd/mm file whose days are all 12 or less; 20210304 was read as unix seconds (1970) in silence."""
    from reelkit.data.loaders import load_events_file

    both = tmp_path / "both.csv"
    both.write_text("user,item,rating,timestamp\n1,10,3.5,04/03/2021 05:06\n2,11,4,05/03/2021 05:06\n")
    with pytest.warns(ReelkitWarning, match="'04/03/2021 05:06' read month first .*ISO dates"):
        load_events_file(both, unknown_titles="keep")
    one = tmp_path / "one.csv"  # 13/03 can only be day first: no warning
    one.write_text("user,item,rating,timestamp\n1,10,3.5,13/03/2021\n2,11,4,04/03/2021\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReelkitWarning)
        assert sorted(load_events_file(one, unknown_titles="keep").events["timestamp"]) == [
            1614816000,
            1615593600,
        ]
    numbers = tmp_path / "n.csv"
    numbers.write_text("user,item,rating,timestamp\n1,10,3.5,20210304\n2,10,3,20210305\n")
    with pytest.warns(ReelkitWarning, match="such as 20210305 look like dates written YYYYMMDD"):
        load_events_file(numbers, unknown_titles="keep")
    numbers.write_text("user,item,rating,timestamp\n1,10,3.5,20210131\n2,10,3,20210331\n")  # day 31 too
    with pytest.warns(ReelkitWarning, match="such as 20210331 look like dates written YYYYMMDD"):
        load_events_file(numbers, unknown_titles="keep")


def test_a_read_of_the_ingestion_fixes(tmp_path: Path) -> None:
    """What a read of the ingestion fixes found left: a catalogue's release dates read one by one (04/03 month
    first, 13/02 day first, in one column); times with a decimal comma read as dates in year 1; compressed
    JSON lines and a workbook given as the catalogue not named; ratings.dat beside a titles.csv (no
    movies.dat) with placeholder titles."""
    from reelkit.data.loaders import load_events_file

    cat = tmp_path / "cat"
    cat.mkdir()
    (cat / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,7,4,1000\n1,8,3,1001\n")
    (cat / "titles.csv").write_text("title_id,name,released\n7,A,04/03/2021\n8,B,13/02/2021\n")
    # one format for the column, as for events: the first date's (month first) cannot read 13/02
    message = r"titles.csv:3: release date '13/02/2021' is neither unix seconds nor a date in the format"
    with pytest.raises(DataFormatError, match=message):
        load_events_file(cat / "ratings.csv")
    (cat / "titles.csv").write_text("title_id,name,released\n7,A,13/02/2021\n8,B,04/03/2021\n")
    released = load_events_file(cat / "ratings.csv").titles["released"]
    assert released.to_dict() == {"7": 1613174400, "8": 1614816000}  # day first, as 13/02 says
    (cat / "titles.csv").write_text("title_id,name,released\n7,A,04/03/2021\n8,B,05/03/2021\n")
    with pytest.warns(ReelkitWarning, match="'04/03/2021' read month first"):
        load_events_file(cat / "ratings.csv")
    comma = tmp_path / "comma.csv"
    comma.write_text("user;item;rating;timestamp\n1;10;3;3,5\n2;10;4;12,25\n")
    with pytest.raises(
        DataFormatError, match=r"'3,5' is not a number \(a decimal comma: write it with a point"
    ):
        load_events_file(comma, unknown_titles="keep")
    jl = tmp_path / "ev.jsonl.gz"
    jl.write_bytes(gzip.compress(b'{"user": "1", "item": "2", "rating": 3.5}\n'))
    with pytest.raises(DataFormatError, match="is a JSONL file, not a ratings/events table"):
        load_events_file(jl)
    (tmp_path / "titles.xlsx").write_bytes(b"PK\x03\x04rest")
    (tmp_path / "titles_in_disguise.csv").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(DataFormatError, match="is an Excel workbook, not a catalog; save it as CSV"):
        load_titles(tmp_path / "titles.xlsx")
    with pytest.raises(DataFormatError, match=r"is a zip archive \(an Excel workbook\?\), not a catalog"):
        load_titles(tmp_path / "titles_in_disguise.csv")
    m1 = tmp_path / "m1"
    m1.mkdir()
    (m1 / "ratings.dat").write_text("1::7::4::1000\n")
    (m1 / "titles.csv").write_text("title_id,name\n7,Seven\n")
    assert load_events_file(m1 / "ratings.dat").titles.loc["7", "name"] == "Seven"
    assert catalog_beside(m1 / "ratings.dat") == m1 / "titles.csv"
