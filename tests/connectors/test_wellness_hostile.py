"""Bad MyFitnessPal and Peloton input, through the command line as a user meets it: a clear
error naming the file and the place, exit status 1, no traceback, nothing stored."""

from __future__ import annotations

import json
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from connectors.wellness_helpers import (
    MFP,
    NUTRITION_HEADER,
    PELOTON,
    csv_text,
    sample,
    write,
    zip_folder,
)
from healthlocker.connectors import ReadOptions, _read, import_paths
from healthlocker.connectors.wellness import _csvrows
from healthlocker.connectors.wellness._peloton import read_peloton
from healthlocker.errors import LimitError
from healthlocker.store import Vault
from helpers import run_cli


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("hostile") / "vault"
    assert run_cli("init", home=home).returncode == 0
    return home


def _refused(home: Path, *paths: Path, options: tuple[str, ...] = ()) -> list[str]:
    """The error line of each of *paths*, imported in one run (a batch per file)."""
    result = run_cli("import", *map(str, paths), *options, home=home)
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    errors = result.stderr.splitlines()
    assert len(errors) == len(paths), result.stderr
    for path, error in zip(paths, errors, strict=True):
        assert error.startswith(f"error: {path}: ")
    return errors


@pytest.fixture(autouse=True)
def _nothing_stored(cli_home: Path) -> Iterator[None]:
    yield
    status = run_cli("status", "--json", home=cli_home)
    assert json.loads(status.stdout)["resources"] == 0, "nothing of a refused file is stored"


def _edit(source: Path, target: Path, change: Callable[[list[str]], None]) -> Path:
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    change(lines)
    return write(target, "".join(lines))


def test_a_wrong_header(cli_home: Path, tmp_path: Path) -> None:
    def drop_protein(lines: list[str]) -> None:
        lines[0] = lines[0].replace(",Protein (g)", ",Proteins")

    def drop_calories(lines: list[str]) -> None:
        lines[0] = lines[0].replace("Calories Burned", "Kilojoules")

    nutrition = _edit(sample("Nutrition"), tmp_path / "n.csv", drop_protein)
    peloton = _edit(PELOTON, tmp_path / "p_workouts.csv", drop_calories)
    other = write(tmp_path / "other.csv", "Date,Steps\n2024-01-01,5000\n")
    errors = _refused(cli_home, nutrition, peloton, other)
    assert errors[0].endswith(
        "n.csv: line 1: not a MyFitnessPal Nutrition-Summary header: no column 'Protein (g)'; "
        "import the file as the app exported it"
    )
    assert "p_workouts.csv: line 1: not a Peloton workouts header: no column 'Calories" in errors[1]
    assert "not a format this version imports" in errors[2]
    # a header MyFitnessPal never writes, forced as that format
    [forced] = _refused(cli_home, other, options=("--format", "myfitnesspal"))
    assert "other.csv: line 1: not a MyFitnessPal table" in forced


def test_a_non_numeric_cell_names_line_and_column_not_the_value(
    cli_home: Path, tmp_path: Path
) -> None:
    def spoil(lines: list[str]) -> None:
        cells = lines[5].split(",")
        cells[8] = "1O2"  # a letter O typed for a zero, in Total Output
        lines[5] = ",".join(cells)

    path = _edit(PELOTON, tmp_path / "x_workouts.csv", spoil)
    # rows 2-5 were read and yielded: still nothing stored (without --strict the row is left
    # out and named: test_tolerance.py)
    [error] = _refused(cli_home, path, options=("--strict",))
    assert "line 6: column 'Total Output': not a number" in error
    assert "1O2" not in error


def test_a_bad_row_inside_the_zip_stores_none_of_the_zip_when_strict(
    cli_home: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for p in MFP.glob("*.csv"):
        write(folder / p.name, p.read_text(encoding="utf-8"))
    nutrition = next(folder.glob("Nutrition-*"))

    def bad_date(lines: list[str]) -> None:
        lines[3] = "2024-13-01" + lines[3][10:]

    _edit(nutrition, nutrition, bad_date)
    archive = zip_folder(folder, tmp_path / "export.zip")
    [error] = _refused(cli_home, archive, options=("--strict",))
    assert f"{nutrition.name}: line 4: column 'Date': not a date" in error


def test_a_line_over_the_cap(cli_home: Path, tmp_path: Path) -> None:
    long_note = "x" * (_csvrows.MAX_LINE_BYTES + 10)
    path = write(tmp_path / "long.csv", csv_text(NUTRITION_HEADER, [["2024-01-01", long_note]]))
    [error] = _refused(cli_home, path)
    assert "long.csv: line 2: a line over 1 MiB" in error


def test_the_line_cap_is_configurable(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_csvrows, "MAX_LINE_BYTES", 400)
    lines = PELOTON.read_text(encoding="utf-8").splitlines(keepends=True)
    path = write(tmp_path / "w_workouts.csv", "".join([*lines[:3], lines[3].rstrip() + "," * 500]))
    [outcome] = import_paths(vault, [path]).files
    assert outcome.error is not None
    assert "line 4: a line over 400 bytes" in outcome.error
    assert vault.stats()["resources"] == 0


def test_a_2_gb_line_is_refused_without_reading_it(tmp_path: Path) -> None:
    """A sparse file: a header, then 2 GiB with no line break. The reader stops after about
    one cap's worth (1 MiB) and never holds more than a few chunks."""
    path = tmp_path / "huge_workouts.csv"
    with path.open("wb") as f:
        f.write(PELOTON.read_bytes().splitlines(keepends=True)[0])
        f.seek(2 * 2**30)
        f.write(b"\n")
    read: list[int] = []
    tracemalloc.start()
    try:
        with pytest.raises(LimitError, match=r"huge_workouts.csv: line 2: a line over 1 MiB"):
            list(read_peloton(path, ReadOptions(progress=read.append)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(read) <= 3 * _read.CHUNK
    assert peak < 16 * 2**20


def test_malformed_text(cli_home: Path, tmp_path: Path) -> None:
    latin = tmp_path / "latin_workouts.csv"
    latin.write_bytes(PELOTON.read_bytes().replace(b"Alex Rivera", "Álex Rivera".encode("latin-1")))
    unclosed = write(
        tmp_path / "quote_workouts.csv",
        PELOTON.read_text(encoding="utf-8").replace(",Music,", ',"Music,', 1)
        + ("2024-03-12 07:00 (PDT)," + "y" * 1000 + "\n") * 200,
    )
    errors = _refused(cli_home, latin, unclosed)
    assert "latin_workouts.csv: line 2: not UTF-8 text" in errors[0]
    assert "malformed CSV (field larger than field limit" in errors[1]


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_zip_bomb(cli_home: Path, tmp_path: Path) -> None:
    padding = b"\n".join([b" " * 1000] * 40_000)  # 40 MB of blank lines
    bomb = sample("Nutrition").read_bytes() + padding
    path = _zip(tmp_path / "bomb.zip", {"Nutrition-Summary-2024.csv": bomb})
    assert path.stat().st_size < 500_000
    [error] = _refused(cli_home, path)
    assert "Nutrition-Summary-2024.csv: refused: it inflates more than 100:1 (a zip bomb?)" in error


def test_path_traversal_members_refuse_the_archive(cli_home: Path, tmp_path: Path) -> None:
    members = {p.name: p.read_bytes() for p in MFP.glob("*.csv")}
    names = ["../Exercise-Summary-x.csv", "/tmp/Exercise-Summary-x.csv", "a\\..\\evil.csv"]
    paths = [
        _zip(tmp_path / f"export{i}.zip", {**members, name: b"Date,Weight\n"})
        for i, name in enumerate(names)
    ]
    for error in _refused(cli_home, *paths):
        assert "refused: a member's name leaves the archive" in error
    assert not (tmp_path.parent / "Exercise-Summary-x.csv").exists()


def test_a_truncated_zip(cli_home: Path, tmp_path: Path) -> None:
    whole = zip_folder(MFP, tmp_path / "whole.zip").read_bytes()
    path = tmp_path / "File-Export.zip"
    path.write_bytes(whole[: len(whole) // 2])
    [error] = _refused(cli_home, path, options=("--format", "myfitnesspal"))
    assert "File-Export.zip: not a readable zip archive" in error
    # without --format, it is named for what it is (issue 15: it was "not a format this
    # version imports", as if the person had picked the wrong file)
    [error] = _refused(cli_home, path)
    assert "File-Export.zip: a damaged or truncated zip archive" in error
    assert "not a format this version imports" not in error


def test_empty_files(cli_home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "Nutrition-Summary-empty.csv"
    empty.write_bytes(b"")
    blank = write(tmp_path / "blank.csv", "\ufeff\r\n\r\n")
    errors = _refused(cli_home, empty, blank, options=("--format", "myfitnesspal"))
    assert errors[0].endswith("Nutrition-Summary-empty.csv: the file is empty")
    assert "blank.csv: no CSV header" in errors[1]
    only_header = write(tmp_path / "h_workouts.csv", PELOTON.read_text().splitlines()[0] + "\n")
    result = run_cli("import", str(only_header), "--json", home=cli_home)
    assert result.returncode == 0, result.stderr
    [outcome] = json.loads(result.stdout)["files"]
    assert outcome["added"] == 0
    assert outcome["notes"] == ["no workouts in the file (a header only)"]
