"""MyFitnessPal: the sample tables and generated exports read back against an independent
reader; zip and loose CSVs agree; ids make re-imports and later exports idempotent."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from connectors.wellness_helpers import (
    LB,
    MFP,
    NUTRITION_HEADER,
    code_of,
    component,
    csv_text,
    daily_totals,
    generate_mfp,
    resources,
    sample,
    table,
    write,
    zip_folder,
)
from healthlocker.connectors import ReadOptions, detect_format, import_paths
from healthlocker.connectors.wellness._mfp import read_mfp
from healthlocker.store import Vault
from helpers import run_cli

HK = "HKQuantityTypeIdentifier"
# column → the code its daily Observation carries (independent of the importer's table)
COLUMN_CODES = {
    "Calories": "9052-2",
    "Fat (g)": HK + "DietaryFatTotal",
    "Sodium (mg)": HK + "DietarySodium",
    "Carbohydrates (g)": HK + "DietaryCarbohydrates",
    "Protein (g)": HK + "DietaryProtein",
    "Vitamin C": "vitamin-c-daily-value",
}


def _by_code_and_day(vault: Vault) -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    return {
        (code_of(r), r["effectiveDateTime"]): r
        for r in resources(vault)
        if "effectiveDateTime" in r and code_of(r) != "73985-4"
    }


def test_sample_nutrition_daily_totals_and_meals(vault: Vault) -> None:
    report = import_paths(vault, [sample("Nutrition")])
    assert report.ok, report.files[0].error
    got = _by_code_and_day(vault)
    for column, code in COLUMN_CODES.items():
        expected = daily_totals(sample("Nutrition"), column)
        assert {d: got[(code, d)]["valueQuantity"]["value"] for d in expected} == pytest.approx(
            expected
        )
    rows = table(sample("Nutrition"))
    day = rows[0]["Date"]
    calories = got[("9052-2", day)]
    meals = {c["code"]["text"]: c["valueQuantity"]["value"] for c in calories["component"]}
    assert meals == {r["Meal"]: float(r["Calories"]) for r in rows if r["Date"] == day}
    assert calories["valueQuantity"]["code"] == "kcal"
    assert got[(HK + "DietarySodium", day)]["valueQuantity"]["code"] == "mg"
    assert got[("vitamin-c-daily-value", day)]["valueQuantity"]["code"] == "%"
    noted = [r for r in rows if r["Note"]]
    assert got[("9052-2", noted[0]["Date"])]["note"][0]["text"].endswith(noted[0]["Note"])
    assert all("subject" not in r for r in resources(vault))


def test_sample_exercise_workouts_and_energy(vault: Vault) -> None:
    [outcome] = import_paths(vault, [sample("Exercise")]).files
    rows = [r for r in table(sample("Exercise")) if "calorie adjustment" not in r["Exercise"]]
    workouts = [r for r in resources(vault) if code_of(r) == "73985-4"]
    assert len(workouts) == len(rows)
    assert sorted(w["valueCodeableConcept"]["text"] for w in workouts) == sorted(
        r["Exercise"] for r in rows
    )
    bench = next(w for w in workouts if w["valueCodeableConcept"]["text"].startswith("Bench"))
    assert component(bench, "weight-lifted") == pytest.approx(135 * LB, abs=1e-3)
    assert (component(bench, "sets"), component(bench, "reps-per-set")) == (3, 10)
    energy = {
        r["effectiveDateTime"]: r["valueQuantity"]["value"]
        for r in resources(vault)
        if code_of(r) == "41981-2"
    }
    expected: dict[str, float] = {}
    for r in rows:
        if r["Exercise Calories"]:
            expected[r["Date"]] = expected.get(r["Date"], 0) + float(r["Exercise Calories"])
    assert energy == expected
    assert "1 × calorie adjustments from linked devices (not workouts)" in outcome.notes[0]


def test_sample_measurements_in_the_exercise_tables_unit(vault: Vault) -> None:
    [outcome] = import_paths(vault, [sample("Measurement")]).files
    weights = {
        r["effectiveDateTime"]: r["valueQuantity"]["value"]
        for r in resources(vault)
        if code_of(r) == "29463-7"
    }
    by_day: dict[str, list[float]] = {}
    for r in table(sample("Measurement")):
        if r["Weight"]:
            by_day.setdefault(r["Date"], []).append(float(r["Weight"]) * LB)
    assert weights == pytest.approx({d: sum(v) / len(v) for d, v in by_day.items()}, abs=1e-3)
    assert any("read in lb (the unit of this export's exercise table)" in n for n in outcome.notes)
    assert any("'Waist' measurements" in n for n in outcome.notes)
    fat = [r for r in resources(vault) if code_of(r) == "41982-0"]
    assert [(f["valueQuantity"]["value"], f["valueQuantity"]["code"]) for f in fat] == [(24.1, "%")]


@pytest.mark.parametrize(("option", "scale"), [("kg", 1.0), ("lb", LB)])
def test_weight_unit_option(vault: Vault, tmp_path: Path, option: str, scale: float) -> None:
    alone = tmp_path / "alone.csv"  # no exercise table beside it to say the unit
    shutil.copy(sample("Measurement"), alone)
    [outcome] = import_paths(vault, [alone], weight_unit=option).files
    first = float(table(alone)[0]["Weight"])
    day = table(alone)[0]["Date"]
    [weight] = [
        r for r in resources(vault) if code_of(r) == "29463-7" and r["effectiveDateTime"] == day
    ]
    assert weight["valueQuantity"]["value"] == pytest.approx(first * scale, abs=1e-3)
    assert any("as --weight-unit says" in n for n in outcome.notes), outcome.notes


def test_the_same_file_again_with_another_unit_updates_the_weights(vault: Vault) -> None:
    path = sample("Measurement")
    days = len({r["Date"] for r in table(path) if r["Weight"]})
    import_paths(vault, [path])  # in lb, as the exercise table beside it says
    again = import_paths(vault, [path], weight_unit="kg").totals()
    assert (again["skipped_files"], again["updated"]) == (0, days)
    first = table(path)[0]
    [weight] = [
        r
        for r in resources(vault)
        if code_of(r) == "29463-7" and r["effectiveDateTime"] == first["Date"]
    ]
    assert weight["valueQuantity"]["value"] == pytest.approx(float(first["Weight"]))
    assert import_paths(vault, [path], weight_unit="kg").totals()["skipped_files"] == 1


def test_kilogram_accounts_are_read_in_kg_from_the_zip(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    for p in MFP.glob("*.csv"):
        write(folder / p.name, p.read_text(encoding="utf-8").replace(",Pounds,", ",Kilograms,"))
    [outcome] = import_paths(vault, [zip_folder(folder, tmp_path / "mfp.zip")]).files
    first = table(sample("Measurement"))[0]
    [weight] = [
        r
        for r in resources(vault)
        if code_of(r) == "29463-7" and r["effectiveDateTime"] == first["Date"]
    ]
    assert weight["valueQuantity"]["value"] == pytest.approx(float(first["Weight"]))
    assert any("read in kg" in n for n in outcome.notes)


def test_zip_and_loose_tables_give_the_same_resources(tmp_path: Path) -> None:
    archive = zip_folder(MFP, tmp_path / "File-Export-2024-03-04-to-2024-03-07.zip", "export/")
    assert detect_format(archive) == "myfitnesspal"
    seen: list[int] = []
    from_zip = sorted(
        (r for _, r in read_mfp(archive, ReadOptions(progress=seen.append))), key=lambda r: r["id"]
    )
    loose = sorted(
        (r for p in sorted(MFP.glob("*.csv")) for _, r in read_mfp(p, ReadOptions())),
        key=lambda r: r["id"],
    )
    assert from_zip == loose
    assert 0 < sum(seen) <= archive.stat().st_size  # progress in compressed bytes read


def test_detected_by_header_not_name(tmp_path: Path) -> None:
    for kind in ("Nutrition", "Exercise", "Measurement"):
        renamed = shutil.copy(sample(kind), tmp_path / f"{kind.lower()}.txt")
        assert detect_format(Path(renamed)) == "myfitnesspal"
    no_bom = write(tmp_path / "n.dat", csv_text(NUTRITION_HEADER, [], bom=False))
    assert detect_format(no_bom) == "myfitnesspal"
    archive = zip_folder(MFP, tmp_path / "data.bin")
    assert detect_format(archive) == "myfitnesspal"


def test_a_folder_brings_in_its_tables_and_passes_over_other_csvs(
    vault: Vault, tmp_path: Path
) -> None:
    folder = tmp_path / "downloads"
    shutil.copytree(MFP, folder)
    write(folder / "budget.csv", "Month,Rent\n2024-01,1200\n")
    report = import_paths(vault, [folder])
    assert report.ok
    assert sorted(Path(f.path).name for f in report.files) == sorted(p.name for p in MFP.iterdir())
    assert {s.label for s in vault.sources()} == {"myfitnesspal"}


def test_time_column_entries_add_up_per_meal(vault: Vault, tmp_path: Path) -> None:
    header = [*NUTRITION_HEADER[:2], "Time", *NUTRITION_HEADER[2:]]
    zeros = ["0"] * 16
    rows = [
        ["2024-05-01", "Breakfast", "7:02 AM", "300", *zeros, ""],
        ["2024-05-01", "Breakfast", "9:40 AM", "150", *zeros, ""],
        ["2024-05-01", "Lunch", "12:15 PM", "500", *zeros, ""],
    ]
    assert import_paths(vault, [write(tmp_path / "t.csv", csv_text(header, rows))]).ok
    [calories] = [r for r in resources(vault) if code_of(r) == "9052-2"]
    assert calories["valueQuantity"]["value"] == 950
    assert {c["code"]["text"]: c["valueQuantity"]["value"] for c in calories["component"]} == {
        "Breakfast": 450,
        "Lunch": 500,
    }


def test_reimport_and_a_later_export_add_only_what_is_new(vault: Vault, tmp_path: Path) -> None:
    first = zip_folder(generate_mfp(tmp_path / "a", date(2024, 1, 1), 20), tmp_path / "a.zip")
    one = import_paths(vault, [first]).totals()
    stored = len(resources(vault))
    assert one["added"] == stored > 0
    assert import_paths(vault, [first]).totals()["skipped_files"] == 1
    # A later export, named for its dates: the same 20 days, one of them edited since, and
    # 10 more days.
    later = generate_mfp(tmp_path / "b", date(2024, 1, 1), 30)
    nutrition = next(later.glob("Nutrition-*.csv"))
    lines = nutrition.read_text(encoding="utf-8").splitlines(keepends=True)
    both = [i for i, line in enumerate(lines) if line.startswith("2024-01-19,")]
    cells = lines[both[0]].split(",")
    cells[2] = str(int(cells[2]) + 100)  # more calories on 19 January
    lines[both[0]] = ",".join(cells)
    nutrition.write_text("".join(lines), encoding="utf-8", newline="")
    again = import_paths(vault, [zip_folder(later, tmp_path / "b.zip")])
    totals = again.totals()
    all_now = resources(vault)
    assert totals["updated"] == 1  # 19 January's calories: one day, one nutrient
    assert totals["added"] == len(all_now) - stored
    assert totals["unchanged"] == stored - 1
    by_day = _by_code_and_day(vault)
    assert by_day[("9052-2", "2024-01-19")]["valueQuantity"]["value"] == pytest.approx(
        daily_totals(nutrition, "Calories")["2024-01-19"]
    )
    assert {s.label for s in vault.sources()} == {"myfitnesspal"}


def test_cli_import_of_a_generated_year(tmp_path: Path, home: Path) -> None:
    folder = generate_mfp(tmp_path / "export", date(2023, 1, 1), 365, seed=7)
    assert run_cli("init", home=home).returncode == 0
    result = run_cli("import", str(zip_folder(folder, tmp_path / "mfp.zip")), home=home)
    assert result.returncode == 0, result.stderr
    assert "daily weights read in lb" in result.stdout
    with Vault.open(home) as vault:
        got = _by_code_and_day(vault)
    expected = daily_totals(next(folder.glob("Nutrition-*")), "Protein (g)")
    assert len(expected) > 300
    assert {d: got[(HK + "DietaryProtein", d)]["valueQuantity"]["value"] for d in expected} == (
        pytest.approx(expected)
    )
