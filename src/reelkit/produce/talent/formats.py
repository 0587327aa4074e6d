"""Readers for the talent-scheduling benchmark formats, with errors that name ``file:line``.

* Stuckey ``.dat`` (also DDOLib's generated ``.txt``): a name line, then whitespace-separated tokens:
  number of scenes ``n``, number of actors ``m``, ``m`` rows of ``n`` 0/1 flags each followed by the
  actor's daily cost, then ``n`` scene durations. Parsed by tokens (CRLF, blank lines and ``n m`` on one
  line all work).
* MiniZinc ``talent_scheduling.mzn`` data (``.dzn``): ``numScenes``, ``numActors``, ``ia`` (2-D actors ×
  scenes), ``c`` (costs), ``d`` (durations); other parameters (such as a sample schedule ``s``, sets, floats
  or strings) are ignored, and assignments may come in any order (a name is read where it is used).
* CSPLib prob039 ``rehearsal.mzn`` data (``.dzn``): ``num_pieces``, ``num_players``, ``duration``,
  ``rehearsal`` (``array2d(players, pieces, [...])``); every player costs 1 per time unit.

Scene ids are the 1-based column positions of the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelkit._files import check_input_file
from reelkit.errors import ConfigError, DataFormatError, EmptyDataError

from .instance import TalentInstance

__all__ = ["parse_dat", "parse_dzn", "read_instance"]


@dataclass(frozen=True)
class _Tok:
    text: str
    line: int


def read_instance(path: str | Path) -> TalentInstance:
    """Read a talent-scheduling instance; the format follows from the extension, else from the content."""
    p = check_input_file(path, DataFormatError, "is a directory, not an instance file")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataFormatError("not a text file (invalid UTF-8)", path=str(p), line=line) from exc
    if not text.strip():
        raise EmptyDataError("empty file; expected a .dat or .dzn talent-scheduling instance", path=str(p))
    is_dzn = p.suffix.lower() == ".dzn" or (
        p.suffix.lower() not in {".dat", ".txt"} and re.search(r"^\s*\w+\s*=", text, re.M) is not None
    )
    inst = parse_dzn(text, source=str(p)) if is_dzn else parse_dat(text, source=str(p))
    return inst


# ----------------------------------------------------------------------------------------------- .dat ---


MAX_NUMBER = 10**12
"""The largest count, cost or duration read (costs x days must stay within 64-bit integers)."""


def parse_dat(text: str, *, source: str = "<string>") -> TalentInstance:
    """Parse Stuckey's ``.dat`` text (see the module docstring)."""
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise EmptyDataError("empty file", path=source)
    name = lines[first].strip()
    try:
        return _dat_after_name(lines, first, name, source)
    except DataFormatError as exc:
        if exc.path != source or not re.fullmatch(r"[\d\s]+", name):
            raise
        # numbers where the name goes: the file likely has no name line, and every count is one off
        raise DataFormatError(
            f"{exc.message}; line {first + 1} ({name!r}) was read as the instance's name: a .dat file "
            "starts with a name line",
            path=exc.path,
            line=exc.line,
        ) from exc


def _dat_after_name(lines: list[str], first: int, name: str, source: str) -> TalentInstance:
    """The counts, rows and durations that follow the name line (``first``)."""
    toks = [_Tok(t, i + 1) for i, ln in enumerate(lines) if i > first for t in ln.split()]
    pos = 0
    last_line = len(lines)

    def take(what: str) -> _Tok:
        nonlocal pos
        if pos >= len(toks):
            raise DataFormatError(f"file ends early: expected {what}", path=source, line=last_line)
        tok = toks[pos]
        pos += 1
        return tok

    def integer(what: str, lo: int | None = None) -> int:
        tok = take(what)
        try:
            v = int(tok.text)
        except ValueError:
            raise DataFormatError(
                f"expected {what} (an integer), found {tok.text!r}", path=source, line=tok.line
            ) from None
        if lo is not None and v < lo:
            raise DataFormatError(f"{what} must be >= {lo}, found {v}", path=source, line=tok.line)
        if v > MAX_NUMBER:
            raise DataFormatError(f"{what} is {v}: above {MAX_NUMBER:.0e}", path=source, line=tok.line)
        return v

    n = integer("the number of scenes", 1)
    m = integer("the number of actors", 0)
    need = m * (n + 1) + n  # each actor's flags and cost, then the durations
    if len(toks) - pos < need:
        raise DataFormatError(
            f"file ends early: the header says {n} scenes and {m} actors, which take {need} numbers "
            f"after it; the file has {len(toks) - pos}",
            path=source,
            line=last_line,
        )
    req = np.zeros((m, n), dtype=bool)
    costs = np.zeros(m, dtype=np.int64)
    for a in range(m):
        for s in range(n):
            tok = take(f"actor {a + 1}'s flag for scene {s + 1}")
            if tok.text not in ("0", "1"):
                raise DataFormatError(
                    f"actor {a + 1}, scene {s + 1}: expected 0 or 1, found {tok.text!r} "
                    f"(each actor row has {n} flags then the daily cost)",
                    path=source,
                    line=tok.line,
                )
            req[a, s] = tok.text == "1"
        costs[a] = integer(f"actor {a + 1}'s daily cost", 0)
    durations = np.array([integer(f"the duration of scene {s + 1}", 0) for s in range(n)], dtype=np.int64)
    if pos < len(toks):
        extra = toks[pos]
        raise DataFormatError(
            f"unexpected token {extra.text!r} after the {n} scene durations "
            f"(the header says {n} scenes and {m} actors)",
            path=source,
            line=extra.line,
        )
    return _instance(req, durations, costs, name, source)


# ----------------------------------------------------------------------------------------------- .dzn ---

_TOKEN = re.compile(
    r"(?P<ws>[ \t\r\f\v]+)|(?P<nl>\n)|(?P<comment>%[^\n]*)|(?P<block>/\*.*?\*/)"
    r"|(?P<range>\.\.)|(?P<float>-?\d+(?:\.\d+(?:[eE][-+]?\d+)?|[eE][-+]?\d+))|(?P<int>-?\d+)"
    r'|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<string>"(?:[^"\\\n]|\\.)*")'
    r"|(?P<sym>\[\||\|\]|[\[\]|(),;={}+\-*/<>:!.])",
    re.S,
)


@dataclass(frozen=True)
class _Array:
    """A parsed array literal: flat values and the row lengths when written as ``[| .. | .. |]``."""

    values: tuple[int, ...]
    rows: tuple[int, ...] | None = None
    dims: tuple[int, ...] | None = None


_Value = int | tuple[int, int] | _Array


def _tokenize(text: str, source: str) -> list[_Tok]:
    out: list[_Tok] = []
    line = 1
    i = 0
    while i < len(text):
        mt = _TOKEN.match(text, i)
        if mt is None:
            raise DataFormatError(f"unexpected character {text[i]!r}", path=source, line=line)
        kind = mt.lastgroup
        chunk = mt.group()
        if kind in ("int", "float", "string", "ident", "sym", "range"):
            out.append(_Tok(chunk, line))
        line += chunk.count("\n")
        i = mt.end()
    return out


class _DznParser:
    """Reads the assignments ``name = value;`` first, then a value when it is asked for (:meth:`value`), so
    that a name may be used before its assignment and parameters nobody asks for are skipped whatever their
    syntax (sets, floats, strings)."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.toks = _tokenize(text, source)
        self.pos = 0
        self.end = len(self.toks)  # the end of the value being read: its ';'
        self.spans: dict[str, tuple[int, int]] = {}  # each name's value tokens
        self.env: dict[str, _Value] = {}  # the values read so far
        self.lines: dict[str, int] = {}
        self.reading: list[str] = []  # names whose values are being read, to refuse a cycle

    def error(self, msg: str, tok: _Tok | None = None) -> DataFormatError:
        line = tok.line if tok is not None else (self.toks[-1].line if self.toks else 1)
        return DataFormatError(msg, path=self.source, line=line)

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < self.end else None

    def missing(self, what: str) -> DataFormatError:
        """The error for a value that ends (at its ';' or the file's end) where ``what`` was expected."""
        if self.end < len(self.toks):
            return self.error(f"expected {what}, found ';'", self.toks[self.end])
        return self.error(f"file ends early: expected {what}")

    def next(self, what: str) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise self.missing(what)
        self.pos += 1
        return tok

    def expect(self, sym: str) -> _Tok:
        tok = self.next(repr(sym))
        if tok.text != sym:
            raise self.error(f"expected {sym!r}, found {tok.text!r}", tok)
        return tok

    def parse(self) -> None:
        while self.peek() is not None:
            name = self.next("a parameter name")
            if not re.fullmatch(r"[A-Za-z_]\w*", name.text):
                raise self.error(f"expected a parameter name, found {name.text!r}", name)
            if name.text in self.spans:
                raise self.error(
                    f"{name.text} is given twice (first at line {self.lines[name.text]}); keep one", name
                )
            self.expect("=")
            start = self.pos
            while self.pos < len(self.toks) and self.toks[self.pos].text != ";":
                if self.toks[self.pos].text == "=":  # 'name =': the ';' before it is missing
                    if self.pos == start:
                        raise self.error("expected a value, found '='", self.toks[self.pos])
                    before = self.toks[self.pos - 1]
                    raise self.error(f"expected ';', found {before.text!r}", before)
                self.pos += 1
            self.spans[name.text] = (start, self.pos)
            self.lines[name.text] = name.line
            self.pos += 1

    def value(self, name: str) -> _Value:
        """The value assigned to ``name`` (read on first use)."""
        if name in self.env:
            return self.env[name]
        start, stop = self.spans[name]
        if name in self.reading:
            chain = " -> ".join([*self.reading[self.reading.index(name) :], name])
            raise self.error(f"{name}'s value refers to itself ({chain})", self.toks[start - 1])
        saved = self.pos, self.end
        self.pos, self.end = start, stop
        self.reading.append(name)
        try:
            v = self.expr()
            tok = self.peek()
            if tok is not None:
                raise self.error(f"expected ';', found {tok.text!r}", tok)
        finally:
            self.reading.pop()
            self.pos, self.end = saved
        self.env[name] = v
        return v

    def scalar(self) -> int:
        tok = self.next("a number")
        if re.fullmatch(r"-?\d+", tok.text):
            v = int(tok.text)
            if abs(v) > MAX_NUMBER:
                raise self.error(f"{tok.text} is above {MAX_NUMBER:.0e}", tok)
            return v
        if tok.text in ("true", "false"):
            return int(tok.text == "true")
        if tok.text in self.spans:
            named = self.value(tok.text)
            if isinstance(named, int):
                return named
        raise self.error(f"expected a number, found {tok.text!r}", tok)

    def expr(self) -> _Value:
        tok = self.peek()
        if tok is None:
            raise self.missing("a value")
        if tok.text == "[|":
            return self.array2d_literal()
        if tok.text == "[":
            return self.array_literal()
        if re.fullmatch(r"array\dd", tok.text):
            return self.array_nd()
        lo = self.scalar()
        if self.peek() is not None and self.peek().text == "..":  # type: ignore[union-attr]
            self.pos += 1
            return (lo, self.scalar())
        return lo

    def array_literal(self) -> _Array:
        self.expect("[")
        vals: list[int] = []
        while True:
            tok = self.peek()
            if tok is not None and tok.text == "]":
                self.pos += 1
                return _Array(tuple(vals))
            vals.append(self.scalar())
            tok = self.next("',' or ']'")
            if tok.text == "]":
                return _Array(tuple(vals))
            if tok.text != ",":
                raise self.error(f"expected ',' or ']' in an array, found {tok.text!r}", tok)

    def array2d_literal(self) -> _Array:
        start = self.expect("[|")
        rows: list[list[int]] = [[]]
        while True:
            tok = self.peek()
            if tok is None:
                raise self.missing(f"'|]' closing the [| ... |] array of line {start.line}")
            if tok.text == "|]":
                self.pos += 1
                break
            if tok.text == "|":
                self.pos += 1
                rows.append([])
                continue
            if tok.text == ",":
                self.pos += 1
                continue
            rows[-1].append(self.scalar())
        rows = [r for r in rows if r] if rows and not rows[-1] else rows
        lengths = {len(r) for r in rows}
        if len(lengths) > 1:
            raise self.error(f"rows of different lengths {sorted(lengths)} in a [| ... |] array", start)
        flat = tuple(v for r in rows for v in r)
        return _Array(flat, rows=tuple(len(r) for r in rows), dims=(len(rows), len(rows[0]) if rows else 0))

    def array_nd(self) -> _Array:
        head = self.next("arrayNd")
        ndim = int(head.text[5])
        self.expect("(")
        dims: list[int] = []
        for _ in range(ndim):
            rng = self.expr()
            if isinstance(rng, tuple):
                dims.append(rng[1] - rng[0] + 1)
            else:
                raise self.error(f"{head.text}: expected an index range such as 1..n", head)
            self.expect(",")
        arr = self.expr()
        self.expect(")")
        if not isinstance(arr, _Array):
            raise self.error(f"{head.text}: expected an array of values", head)
        if int(np.prod(dims)) != len(arr.values):
            raise self.error(f"{head.text}: {len(arr.values)} values for dimensions {dims}", head)
        return _Array(arr.values, dims=tuple(dims))


def parse_dzn(text: str, *, source: str = "<string>") -> TalentInstance:
    """Parse MiniZinc talent-scheduling or CSPLib rehearsal data (see the module docstring)."""
    p = _DznParser(text, source)
    p.parse()
    env = p.spans
    if "ia" in env or "numScenes" in env:
        keys = {"n": "numScenes", "m": "numActors", "req": "ia", "cost": "c", "dur": "d"}
    elif "rehearsal" in env or "num_pieces" in env:
        keys = {"n": "num_pieces", "m": "num_players", "req": "rehearsal", "cost": "", "dur": "duration"}
    else:
        raise DataFormatError(
            "neither talent_scheduling.mzn data (numScenes, numActors, ia, c, d) nor CSPLib rehearsal data "
            "(num_pieces, num_players, rehearsal, duration)",
            path=source,
        )

    def get(key: str) -> _Value:
        if key not in env:
            raise DataFormatError(f"missing parameter {key!r}", path=source)
        return p.value(key)

    def line(key: str) -> int | None:
        return p.lines.get(key)

    n_v, m_v = get(keys["n"]), get(keys["m"])
    if not isinstance(n_v, int) or n_v < 1:
        raise DataFormatError(f"{keys['n']} must be a positive integer", path=source, line=line(keys["n"]))
    if not isinstance(m_v, int) or m_v < 0:
        raise DataFormatError(
            f"{keys['m']} must be a non-negative integer", path=source, line=line(keys["m"])
        )
    n, m = n_v, m_v

    def vector(key: str, size: int, lo: int) -> np.ndarray:
        v = get(key)
        if not isinstance(v, _Array) or len(v.values) != size:
            got = len(v.values) if isinstance(v, _Array) else "not an array"
            raise DataFormatError(
                f"{key} must be an array of {size} values (got {got})", path=source, line=line(key)
            )
        arr = np.array(v.values, dtype=np.int64)
        if np.any(arr < lo):
            raise DataFormatError(f"{key} values must be >= {lo}", path=source, line=line(key))
        return arr

    req_v = get(keys["req"])
    if not isinstance(req_v, _Array) or len(req_v.values) != n * m:
        got = len(req_v.values) if isinstance(req_v, _Array) else "not an array"
        raise DataFormatError(
            f"{keys['req']} must hold {m}×{n} (actors × scenes) 0/1 values (got {got})",
            path=source,
            line=line(keys["req"]),
        )
    if req_v.dims is not None and req_v.dims != (m, n) and m > 0:
        # every dimension is printed: a 1-d array has no second one, and a 2×2×1 array read as "2×2"
        shape = "×".join(map(str, req_v.dims))
        if len(req_v.dims) != 2:
            raise DataFormatError(
                f"{keys['req']} is a {len(req_v.dims)}-dimensional array of shape {shape}; expected a "
                f"2-dimensional {m}×{n} (actors × scenes)",
                path=source,
                line=line(keys["req"]),
            )
        raise DataFormatError(
            f"{keys['req']} has shape {shape}, expected {m}×{n} (actors × scenes)",
            path=source,
            line=line(keys["req"]),
        )
    req = np.array(req_v.values, dtype=np.int64).reshape(m, n)
    if np.any((req != 0) & (req != 1)):
        raise DataFormatError(f"{keys['req']} must hold only 0 and 1", path=source, line=line(keys["req"]))
    dur = vector(keys["dur"], n, 0)
    cost = vector(keys["cost"], m, 0) if keys["cost"] else np.ones(m, dtype=np.int64)
    name = Path(source).stem if source != "<string>" else "dzn"
    return _instance(req.astype(bool), dur, cost, name, source)


def _instance(req: np.ndarray, dur: np.ndarray, cost: np.ndarray, name: str, source: str) -> TalentInstance:
    """The instance, its checks' errors (costs x days beyond 64 bits) naming the file, not the instance's
    name (a .dat file's first line)."""
    try:
        return TalentInstance(requires=req, durations=dur, costs=cost, name=name, source=source)
    except ConfigError as exc:
        raise DataFormatError(str(exc).removeprefix(f"{name}: "), path=source) from exc
