"""Helpers for the MyFitnessPal and Peloton tests: export builders and an independent reader.

The reader here uses the standard library's csv.DictReader on whole files: it is the
reference the importer's streamed, capped reading is checked against.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from helpers import ROOT

MFP = ROOT / "samples" / "myfitnesspal"
PELOTON = ROOT / "samples" / "peloton" / "jdoe_workouts.csv"
NUTRITION_HEADER = [
    *("Date", "Meal", "Calories", "Fat (g)", "Saturated Fat", "Polyunsaturated Fat"),
    *("Monounsaturated Fat", "Trans Fat", "Cholesterol", "Sodium (mg)", "Potassium"),
    *("Carbohydrates (g)", "Fiber", "Sugar", "Protein (g)", "Vitamin A", "Vitamin C"),
    *("Calcium", "Iron", "Note"),
]
EXERCISE_HEADER = (
    "Date,Exercise,Type,Exercise Calories,Exercise Minutes,Sets,Reps Per Set,{unit},Steps,Note"
)
PELOTON_HEADER = [
    *("Workout Timestamp", "Live/On-Demand", "Instructor Name", "Length (minutes)"),
    *("Fitness Discipline", "Type", "Title", "Class Timestamp", "Total Output", "Avg. Watts"),
    *("Avg. Resistance", "Avg. Cadence (RPM)", "Avg. Speed (mph)", "Distance (mi)"),
    *("Calories Burned", "Avg. Heartrate", "Avg. Incline", "Avg. Pace (min/mi)"),
]
METRIC_HEADER = [
    h.replace("(mph)", "(kph)").replace("(mi)", "(km)").replace("(min/mi)", "(min/km)")
    for h in PELOTON_HEADER
]
LB = 0.45359237
MI = 1.609344


def sample(kind: str) -> Path:
    return next(MFP.glob(f"{kind}-Summary-*.csv"))


def table(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def csv_text(header: list[str], rows: list[list[Any]], bom: bool = True) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "") + buf.getvalue()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    return path


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.glob("*.csv")):
            zf.write(p, prefix + p.name)
    return target


def daily_totals(path: Path, column: str) -> dict[str, float]:
    """Per date, the sum of *column* over the rows (empty cells skipped)."""
    out: dict[str, float] = defaultdict(float)
    for row in table(path):
        if row[column].strip():
            out[row["Date"]] += float(row[column])
    return dict(out)


def generate_mfp(folder: Path, start: date, days: int, *, seed: int = 1) -> Path:
    """An export's three tables for *days* days from *start* (pounds), like the app's."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    span = f"{start}-to-{start + timedelta(days=days - 1)}"
    meals, workouts, weights = [], [], []
    for i in range(days):
        day = (start + timedelta(days=i)).isoformat()
        for meal in ("Breakfast", "Lunch", "Dinner", "Snacks"):
            if rng.random() < 0.15:
                continue  # a meal not logged
            kcal = rng.randint(120, 900)
            macros = [round(kcal * f / 9, 1) for f in (0.3, 0.1, 0.05, 0.1, 0.0)]
            rest = [rng.randint(0, 300), rng.randint(50, 1500), rng.randint(50, 1200)]
            carbs = [round(kcal * 0.5 / 4, 1), rng.randint(0, 12), rng.randint(0, 30)]
            pct = [rng.randint(0, 60) for _ in range(4)]
            meals.append([day, meal, kcal, *macros, *rest, *carbs, round(kcal * 0.2 / 4, 1),
                          *pct, ""])  # fmt: skip
        if rng.random() < 0.5:
            kcal, minutes = rng.randint(150, 600), rng.randint(15, 60)
            workouts.append(
                [day, "Cycling, stationary", "Cardiovascular", kcal, minutes, "", "", "", "", ""]
            )
        if rng.random() < 0.7:
            weights.append([day, round(180 - i * 0.02 + rng.uniform(-1, 1), 1)])
    names = ("Nutrition", "Exercise", "Measurement")
    headers = (NUTRITION_HEADER, EXERCISE_HEADER.format(unit="Pounds").split(","),
               ["Date", "Weight"])  # fmt: skip
    for name, header, rows in zip(names, headers, (meals, workouts, weights), strict=True):
        write(folder / f"{name}-Summary-{span}.csv", csv_text(header, rows))
    return folder


def peloton_rows(path: Path) -> list[dict[str, str]]:
    return table(path)


def resources(vault: Any) -> list[dict[str, Any]]:
    return [s.resource for s in vault.resources("Observation")]


def code_of(r: dict[str, Any]) -> str:
    return str(r["code"]["coding"][0]["code"])


def component(r: dict[str, Any], code: str) -> Any:
    for c in r.get("component", ()):
        if c["code"].get("coding", [{}])[0].get("code") == code:
            return c.get("valueQuantity", {}).get("value", c.get("valueString"))
    return None
