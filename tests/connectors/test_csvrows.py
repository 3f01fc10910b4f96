"""The capped line and CSV reader under every way of cutting a file into chunks."""

from __future__ import annotations

import csv
import io
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthlocker.connectors.wellness._csvrows import header_of, lines, records
from healthlocker.errors import LimitError

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
