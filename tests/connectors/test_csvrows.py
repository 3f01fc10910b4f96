"""The capped line and CSV reader under every way of cutting a file into chunks."""

from __future__ import annotations

import csv
import io
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthlocker.connectors import Tolerance
from healthlocker.connectors.wellness._csvrows import Columns, header_of, lines, records, unquoted
from healthlocker.errors import LimitError, ParseError

_text = st.text(st.sampled_from('ab,"\n\r é'), max_size=300)


def _chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


@given(text=_text, cuts=st.lists(st.integers(0, 1000), max_size=10))
def test_lines_are_the_same_however_the_bytes_arrive(text: str, cuts: list[int]) -> None:
    data = text.encode()
    parts = data.split(b"\n")  # a line ends at LF (CR LF too); a lone CR is inside a line
    expected = [p + b"\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    assert list(lines(_chunked(data, cuts), "f")) == expected
    assert b"".join(lines(_chunked(data, cuts), "f")) == data


@given(
    rows=st.lists(st.lists(st.text(st.sampled_from("ab, \"\n"), max_size=8), min_size=2,
                           max_size=4), min_size=1, max_size=8),
    cuts=st.lists(st.integers(0, 500), max_size=8),
)  # fmt: skip
def test_records_read_what_the_csv_module_wrote(rows: list[list[str]], cuts: list[int]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    data = ("\ufeff" + buf.getvalue()).encode()
    got = [cells for _, cells in records(_chunked(data, cuts), "f")]
    assert got == [r for r in rows if any(c.strip() for c in r)]


def test_the_cap_counts_bytes_without_a_line_break() -> None:
    assert list(lines([b"a" * 10 + b"\n", b"b" * 10], "f", cap=11)) == [
        b"a" * 10 + b"\n",
        b"b" * 10,
    ]
    with pytest.raises(LimitError, match="f: line 2: a line over 11 bytes"):
        list(lines([b"a\n", b"b" * 6, b"b" * 6], "f", cap=11))


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xef\xbb\xbfDate,Meal\r\n1,2", ["Date", "Meal"]),
        (b'"Workout Timestamp","Title"\n', ["Workout Timestamp", "Title"]),
        (b"\x00\x01", None),
        (b"\xff\xfeD\x00", None),
        (b"", None),
    ],
)
def test_header_of(head: bytes, expected: list[str] | None) -> None:
    assert header_of(head) == expected


def _quoted(cell: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="").writerow([cell])
    return buf.getvalue()


@given(st.text(st.sampled_from('ab ,"é'), max_size=30))
def test_a_cell_quoted_twice_reads_as_once(cell: str) -> None:
    """2026 MyFitnessPal exports quote a name twice; read, it is the name again."""
    line = f"x,{_quoted(_quoted(cell))}\n".encode()
    [(_, [_, read])] = list(records([line], "f"))
    assert unquoted(read.strip()) == cell.strip()
    assert unquoted(cell) == cell or (cell[:1] == cell[-1:] == '"')  # else left alone


@pytest.mark.parametrize("cell", ["None", "none", "NULL", "N/A", "NaN", "--", "-", " None "])
def test_placeholders_are_not_recorded(cell: str) -> None:
    cols = Columns(["Date", "Distance (mi)"], ["Date"], "f", "test")
    assert cols.number(["2024-01-01", cell], "Distance (mi)", 2) is None
    with pytest.raises(ParseError, match="f: line 2: column 'Distance \\(mi\\)': not a number"):
        cols.number(["2024-01-01", "Nothing"], "Distance (mi)", 2)


def test_a_row_the_csv_module_cannot_read_is_skipped_only_when_tolerated() -> None:
    data = [b"a,b\n", b'1,"x" y\n', b"2,z\n"]
    with pytest.raises(ParseError, match="f: line 2: malformed CSV"):
        list(records(data, "f"))
    tolerance = Tolerance()
    assert [cells for _, cells in records(data, "f", tolerance)] == [["a", "b"], ["2", "z"]]
    assert [r.where for r in tolerance.skipped] == ["f: line 2"]
    # a quote left open takes the lines after it: the file is broken, not a row
    with pytest.raises(ParseError, match="malformed CSV"):
        list(records([b"a,b\n", b'1,"x\n', b"2,z\n", b"3,w\n"], "f", Tolerance()))
