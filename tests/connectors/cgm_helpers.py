"""Helpers for the CGM tests: the samples, their time zones, and an independent reader.

The reader here takes a whole file with the standard library's csv module and strptime, the
way the layouts are documented: it is the reference the importer's streamed reading (and the
statistics computed from what it stored) are checked against.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from helpers import ROOT

CGM = ROOT / "samples" / "cgm"
DEXCOM_MG = CGM / "Clarity_Export_Doe_Jane_2024-03-18_101502.csv"
DEXCOM_MMOL = CGM / "Clarity_Export_Smith_Alex_2024-11-04_083011.csv"
LIBRE_US = CGM / "SamExample_glucose_16-4-2024.csv"
LIBRE_DE = CGM / "ErikaBeispiel_glucose_5-11-2024.csv"
# The wearer's time zone of each sample (the files, like real exports, do not say it).
ZONES = {
    DEXCOM_MG: "America/New_York",
    DEXCOM_MMOL: "Europe/London",
    LIBRE_US: "America/Chicago",
    LIBRE_DE: "Europe/Berlin",
}
MMOL = 18.0156


@dataclass(frozen=True)
class Row:
    line: int
    local: datetime
    value: float  # in the file's unit; a reading beyond the sensor's range is its limit
    scan: bool = False
    beyond: str | None = None  # "<" or ">"


def text_of(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")


def read_export(path: Path) -> tuple[str, list[Row]]:
    """(unit, rows) of a Clarity or LibreView export, by the layouts in docs/cgm.md."""
    text = text_of(path)
    if "Timestamp (YYYY-MM-DDThh:mm:ss)" in text.splitlines()[0]:
        return _dexcom(text)
    return _libreview(text)


def _dexcom(text: str) -> tuple[str, list[Row]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    unit = "mmol/L" if "Glucose Value (mmol/L)" in header else "mg/dL"
    column = f"Glucose Value ({unit})"
    limits = {"Low": ("<", 2.2 if unit == "mmol/L" else 40.0),
              "High": (">", 22.2 if unit == "mmol/L" else 400.0)}  # fmt: skip
    out = []
    for line, row in enumerate(reader, 2):
        if row["Event Type"] != "EGV":
            continue
        local = datetime.fromisoformat(row["Timestamp (YYYY-MM-DDThh:mm:ss)"])
        beyond, value = limits.get(row[column], (None, None))
        out.append(Row(line, local, value if value is not None else float(row[column]), False,
                       beyond))  # fmt: skip
    return unit, out


def _libreview(text: str) -> tuple[str, list[Row]]:
    lines = text.splitlines(keepends=True)
    sep = ";" if lines[1].count(";") > lines[1].count(",") else ","
    reader = csv.reader(io.StringIO("".join(lines[1:]), newline=""), delimiter=sep)
    header = next(reader)
    german = header[0] == "Gerät"
    historic = next(i for i, h in enumerate(header) if h.startswith(("Historic", "Glukosewert")))
    unit = header[historic].rsplit(" ", 1)[1]
    stamp_format = "%d-%m-%Y %H:%M" if german else "%m-%d-%Y %I:%M %p"
    out = []
    for line, row in enumerate(reader, 3):
        if row[3] not in ("0", "1"):
            continue
        cell = row[historic] if row[3] == "0" else row[historic + 1]
        local = datetime.strptime(row[2], stamp_format)
        out.append(Row(line, local, float(cell.replace(",", ".")), row[3] == "1"))
    return unit, out


@dataclass(frozen=True)
class Expected:
    mean_mg_dl: float
    ranges: dict[str, float]  # % of readings per band, the consensus's thresholds in the unit


def expected(unit: str, values: list[float]) -> Expected:
    """The consensus metrics computed directly in the file's own unit (mmol/L thresholds 3.0,
    3.9, 10.0 and 13.9; mg/dL 54, 70, 180 and 250)."""
    t1, t2, t3, t4 = (3.0, 3.9, 10.0, 13.9) if unit == "mmol/L" else (54, 70, 180, 250)
    n = len(values)
    bands = {
        "very_low": sum(v < t1 for v in values),
        "low": sum(t1 <= v < t2 for v in values),
        "in_range": sum(t2 <= v <= t3 for v in values),
        "high": sum(t3 < v <= t4 for v in values),
        "very_high": sum(v > t4 for v in values),
    }
    ranges = {k: round(100 * c / n, 2) for k, c in bands.items()}
    ranges["below_70"] = round(100 * (bands["very_low"] + bands["low"]) / n, 2)
    ranges["above_180"] = round(100 * (bands["high"] + bands["very_high"]) / n, 2)
    factor = MMOL if unit == "mmol/L" else 1.0
    return Expected(sum(values) / n * factor, ranges)
