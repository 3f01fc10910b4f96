"""MyFitnessPal and Peloton as real exports write them: placeholders in number cells, notes on
several lines without quotes, names quoted twice, a weight unit that must never be guessed;
a bad row is left out and named, through the library and the `healthlocker import` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.wellness_helpers import (
    EXERCISE_HEADER,
    LB,
    MFP,
    NUTRITION_HEADER,
    PELOTON_HEADER,
    code_of,
    component,
    csv_text,
    resources,
    sample,
    write,
    zip_folder,
)
from healthlocker.connectors import import_paths
from healthlocker.store import Vault
from helpers import run_cli

WORKOUT, WEIGHT, CALORIES = "73985-4", "29463-7", "9052-2"


def _ride(day: int, **cells: str) -> list[str]:
    values = dict.fromkeys(PELOTON_HEADER, "")
    values.update({
        "Workout Timestamp": f"2024-03-{day:02d} 07:00 (PST)", "Fitness Discipline": "Cycling",
        "Length (minutes)": "30", "Calories Burned": "300", "Distance (mi)": "9.5",
        "Avg. Speed (mph)": "19", "Total Output": "300",
    })  # fmt: skip
    values.update(cells)
    return [values[h] for h in PELOTON_HEADER]


def _workouts(vault: Vault) -> list[dict]:  # type: ignore[type-arg]
    return [r for r in resources(vault) if code_of(r) == WORKOUT]


# --- Peloton -------------------------------------------------------------------------------


def _scenic_rides(folder: Path) -> Path:
    """245 rides, 2 of them scenic: `None` for distance, speed and pace (one `N/A` output)."""
    rows = [
        _ride(
            1 + i % 28,
            **{"Workout Timestamp": f"2024-03-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d} (PST)"},
        )
        for i in range(243)
    ]
    scenic = {"Distance (mi)": "None", "Avg. Speed (mph)": "None", "Avg. Pace (min/mi)": "None"}
    rows += [_ride(29, **scenic), _ride(30, **{**scenic, "Total Output": "N/A"})]
    return write(folder / "jdoe_workouts.csv", csv_text(PELOTON_HEADER, rows))


def test_peloton_none_is_not_recorded(vault: Vault, tmp_path: Path) -> None:
    """Peloton writes `None` for a scenic ride's distance and speed: 2 such rows refused a file
    of 245. They are workouts with those measures not recorded."""
    path = _scenic_rides(tmp_path)
    [outcome] = import_paths(vault, [path]).files
    assert outcome.error is None and outcome.skipped_records == []
    workouts = _workouts(vault)
    assert len(workouts) == 245
    rides = {w["effectivePeriod"]["start"][:10]: w for w in workouts}
    for day in ("2024-03-29", "2024-03-30"):
        assert component(rides[day], "distance") is None
        assert component(rides[day], "speed-average") is None
        assert component(rides[day], "41981-2") == 300  # what was recorded is kept
    assert component(rides["2024-03-30"], "total-output") is None


def test_peloton_a_bad_row_is_left_out_and_named(tmp_path: Path, home: Path) -> None:
    rows = [_ride(d) for d in range(1, 11)]
    rows[3][PELOTON_HEADER.index("Total Output")] = "1O2"  # a letter O typed for a zero
    rows[6][0] = "yesterday"
    path = write(tmp_path / "x_workouts.csv", csv_text(PELOTON_HEADER, rows))
    assert run_cli("init", home=home).returncode == 0
    result = run_cli("import", str(path), "--json", home=home)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    [file] = summary["files"]
    assert file["skipped_records"] == [
        {"where": f"{path}: line 5", "why": "column 'Total Output': not a number"},
        {"where": f"{path}: line 8", "why": "column 'Workout Timestamp': not a time like "
         "2020-04-17 12:29 (PDT)"},
    ]  # fmt: skip
    assert "1O2" not in result.stdout and "yesterday" not in result.stdout
    with Vault.open(home) as vault:
        days = sorted(w["effectivePeriod"]["start"][:10] for w in _workouts(vault))
        energy = {r["effectiveDateTime"] for r in resources(vault) if code_of(r) == "41981-2"}
    assert days == [f"2024-03-{d:02d}" for d in (1, 2, 3, 5, 6, 8, 9, 10)]
    assert "2024-03-04" not in energy  # nothing of a skipped row is counted into its day


def test_peloton_mostly_bad_rows_refuse_the_file(vault: Vault, tmp_path: Path) -> None:
    rows = [
        _ride(1),
        _ride(2, **{"Workout Timestamp": "soon"}),
        _ride(3, **{"Workout Timestamp": "later"}),
    ]
    path = write(tmp_path / "y_workouts.csv", csv_text(PELOTON_HEADER, rows))
    [outcome] = import_paths(vault, [path]).files
    assert outcome.error is not None
    assert outcome.error.startswith(f"{path}: line 3: 2 of 3 records could not be read")
    assert "not read as a Peloton workouts CSV" in outcome.error
    assert vault.stats()["resources"] == 0


# --- MyFitnessPal: rows as the app writes them ----------------------------------------------


def _exercise(rows: list[str], unit: str = "Pounds") -> str:
    return "\ufeff" + EXERCISE_HEADER.format(unit=unit) + "\r\n" + "".join(r + "\r\n" for r in rows)


def _names_2026(folder: Path) -> Path:
    return write(folder / "Exercise-Summary-2026.csv", _exercise([
        '2026-01-05,"""Running (jogging), 5 mph (12 min mile)""","""Cardiovascular""",345,30,,,,,',
        '2026-01-06,"""Bench press, """"flat""""""",Strength,,,3,10,135,,',
        '2026-01-07,"Walk ""with dog""",Cardiovascular,100,20,,,,,',
    ]))  # fmt: skip


def test_mfp_2026_names_lose_their_literal_quotes(vault: Vault, tmp_path: Path) -> None:
    path = _names_2026(tmp_path)
    [outcome] = import_paths(vault, [path]).files
    assert outcome.error is None and outcome.skipped_records == []
    names = sorted(w["valueCodeableConcept"]["text"] for w in _workouts(vault))
    assert names == ['Bench press, "flat"', "Running (jogging), 5 mph (12 min mile)",
                     'Walk "with dog"']  # fmt: skip
    kinds = {component(w, "exercise-type") for w in _workouts(vault)}
    assert kinds == {"Cardiovascular", "Strength"}


def _multiline_notes(folder: Path) -> Path:
    zeros = ",".join(["0"] * 16)
    return write(folder / "Nutrition-Summary-x.csv", "\r\n".join([
        ",".join(NUTRITION_HEADER),
        f"2024-05-01,Breakfast,300,{zeros},Oatmeal, berries",
        "then coffee",
        "and a walk, 2 km",
        f"2024-05-01,Lunch,500,{zeros},",
        f"2024-05-02,Dinner,700,{zeros},Late",
        "again",
        "",
    ]))  # fmt: skip


def test_mfp_notes_on_several_lines_without_quotes_are_read_whole(
    vault: Vault, tmp_path: Path
) -> None:
    path = _multiline_notes(tmp_path)
    [outcome] = import_paths(vault, [path]).files
    assert outcome.error is None and outcome.skipped_records == []
    calories = {r["effectiveDateTime"]: r for r in resources(vault) if code_of(r) == CALORIES}
    assert calories["2024-05-01"]["valueQuantity"]["value"] == 800
    assert [n["text"] for n in calories["2024-05-01"]["note"]] == [
        "Breakfast: Oatmeal, berries\nthen coffee\nand a walk, 2 km"
    ]
    assert [n["text"] for n in calories["2024-05-02"]["note"]] == ["Dinner: Late\nagain"]


def test_mfp_an_unreadable_row_is_left_out_with_its_line(tmp_path: Path, home: Path) -> None:
    zeros = ",".join(["0"] * 16)
    path = write(tmp_path / "Nutrition-Summary-y.csv", "\n".join([
        ",".join(NUTRITION_HEADER),
        f"2024-05-01,Breakfast,300,{zeros},",
        f'2024-05-01,Lunch,500,{zeros},"Soup" and bread',  # a stray quote: not CSV
        f"2024-05-01,Dinner,six hundred,{zeros},",
        f"2024-05-02,Dinner,700,{zeros},",
        f"2024-05-03,Dinner,650,{zeros},",
        "",
    ]))  # fmt: skip
    assert run_cli("init", home=home).returncode == 0
    result = run_cli("import", str(path), home=home)
    assert result.returncode == 0, result.stderr
    assert "Left out 2 bad record(s)" in result.stdout
    assert f"{path}: line 3: malformed CSV (',' expected after '\"')" in result.stdout
    assert f"{path}: line 4: column 'Calories': not a number" in result.stdout
    assert "Soup" not in result.stdout and "six hundred" not in result.stdout
    with Vault.open(home) as vault:
        calories = {r["effectiveDateTime"]: r for r in resources(vault) if code_of(r) == CALORIES}
    assert {d: c["valueQuantity"]["value"] for d, c in calories.items()} == {
        "2024-05-01": 300, "2024-05-02": 700, "2024-05-03": 650,
    }  # fmt: skip
    # Into a vault of its own: in this one, the same file is imported already, whatever
    # --source says, and not read again.
    fresh = tmp_path / "fresh"
    assert run_cli("init", home=fresh).returncode == 0
    strict = run_cli("import", str(path), "--strict", home=fresh)
    assert strict.returncode == 1 and "Traceback" not in strict.stderr
    assert f"error: {path}: line 3: malformed CSV" in strict.stderr


def test_every_pattern_through_the_command(tmp_path: Path, home: Path) -> None:
    """The files above, as a user imports them: each comes in whole, nothing left out."""
    paths = [_scenic_rides(tmp_path), _names_2026(tmp_path), _multiline_notes(tmp_path)]
    assert run_cli("init", home=home).returncode == 0
    result = run_cli("import", *map(str, paths), "--json", home=home)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["failed"], summary["skipped_records"]) == (0, 0)
    assert [f["format"] for f in summary["files"]] == ["peloton", "myfitnesspal", "myfitnesspal"]
    with Vault.open(home) as vault:
        names = {w["valueCodeableConcept"]["text"] for w in _workouts(vault)}
        notes = [n["text"] for r in resources(vault) if code_of(r) == CALORIES for n in r["note"]]
    assert 'Bench press, "flat"' in names and "Cycling" in names
    assert "Breakfast: Oatmeal, berries\nthen coffee\nand a walk, 2 km" in notes


# --- MyFitnessPal: the weight unit -----------------------------------------------------------


def _measurements(folder: Path, weights: list[float], header: str = "Weight") -> Path:
    folder.mkdir(exist_ok=True)
    rows = "".join(f"2024-03-{i + 1:02d},{w}\r\n" for i, w in enumerate(weights))
    return write(folder / "Measurement-Summary-2024.csv", f"\ufeffDate,{header}\r\n{rows}")


def _weights(vault: Vault) -> list[float]:
    found = [r for r in resources(vault) if code_of(r) == WEIGHT]
    return [
        r["valueQuantity"]["value"] for r in sorted(found, key=lambda r: r["effectiveDateTime"])
    ]


def test_mfp_a_measurement_table_alone_is_never_read_in_a_guessed_unit(
    tmp_path: Path, home: Path
) -> None:
    """85.5 kg became 38.8 kg when a lone measurement table was read in pounds. With nothing
    in the export to say the unit, the file is refused, naming --weight-unit."""
    path = _measurements(tmp_path / "alone", [85.5, 85.3])
    assert run_cli("init", home=home).returncode == 0
    refused = run_cli("import", str(path), home=home)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith(f"error: {path}: the table does not say whether")
    assert "--weight-unit kg or --weight-unit lb" in refused.stderr
    assert "85.5" not in refused.stderr
    given = run_cli("import", str(path), "--weight-unit", "kg", home=home)
    assert given.returncode == 0, given.stderr
    with Vault.open(home) as vault:
        assert _weights(vault) == pytest.approx([85.5, 85.3])


@pytest.mark.parametrize(
    ("unit_column", "weights", "expected"),
    [
        ("Kilograms", [85.5, 85.1], [85.5, 85.1]),
        ("Pounds", [182.4, 181.8], [182.4 * LB, 181.8 * LB]),
    ],
)
def test_mfp_the_exercise_table_beside_or_in_the_zip_says_the_unit(
    vault: Vault, tmp_path: Path, unit_column: str, weights: list[float], expected: list[float]
) -> None:
    folder = tmp_path / "export"
    path = _measurements(folder, weights)
    write(folder / "Exercise-Summary-2024.csv", _exercise([], unit_column))
    [loose] = import_paths(vault, [path]).files
    assert _weights(vault) == pytest.approx(expected)
    assert any("(the unit of this export's exercise table)" in n for n in loose.notes)
    with Vault.ephemeral() as other:
        [zipped] = import_paths(other, [zip_folder(folder, tmp_path / "export.zip")]).files
        assert zipped.error is None
        assert _weights(other) == pytest.approx(expected)


def test_mfp_a_weight_column_that_names_its_unit(vault: Vault, tmp_path: Path) -> None:
    path = _measurements(tmp_path / "a", [85.5], header="Weight (kg)")
    [outcome] = import_paths(vault, [path]).files
    assert _weights(vault) == pytest.approx([85.5])
    assert any("as its column 'Weight (kg)' says" in n for n in outcome.notes)


def test_mfp_implausible_weights_refuse_the_stated_unit(vault: Vault, tmp_path: Path) -> None:
    """An exercise table says pounds, but read so the weights are no adult's (a table from
    another account, say): refused, naming the other unit; the person's --weight-unit wins."""
    folder = tmp_path / "export"
    path = _measurements(folder, [38.5, 38.8, 39.0])
    write(folder / "Exercise-Summary-2024.csv", _exercise([], "Pounds"))
    [outcome] = import_paths(vault, [path]).files
    assert outcome.error is not None
    assert "most daily weights are outside 20-400 kg when read in lb" in outcome.error
    assert "--weight-unit kg" in outcome.error and "38.5" not in outcome.error
    [given] = import_paths(vault, [path], weight_unit="lb").files
    assert given.error is None
    assert any("outside 20-400 kg" in n for n in given.notes)


def test_mfp_the_sample_export_still_imports_whole(vault: Vault, tmp_path: Path) -> None:
    report = import_paths(vault, [zip_folder(MFP, tmp_path / "mfp.zip")])
    assert report.ok and report.totals()["skipped_records"] == 0
    assert _weights(vault)[0] == pytest.approx(182.4 * LB)
    assert sample("Measurement").exists()
