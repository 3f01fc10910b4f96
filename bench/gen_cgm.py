"""Realistic CGM exports: Dexcom Clarity and LibreView CSVs of a made-up wearer's glucose.

    .venv/bin/python bench/gen_cgm.py --samples            # rewrite samples/cgm/ (4 files)
    .venv/bin/python bench/gen_cgm.py OUT.csv --days 365   # a Clarity export for the benchmark

The glucose is a model of a person with type 1 diabetes, not a recording: a daily rhythm with a
dawn rise, three meals a day whose rise peaks about an hour after eating, a low on some nights
(one below what the sensor reports), a high after a large meal (one above it), correlated sensor
noise, a sensor change with its warm-up gap and a few signal losses. The files follow the
layouts published exports show, byte for byte where they are known (samples/SOURCES.md says
which and from where): Clarity with its byte-order mark, every field quoted, CRLF, the untimed
header rows and ragged event rows, rows sorted by local time; LibreView with its title line,
19 columns, rows grouped by device and record type. Local times are the wall clock of the
wearer's time zone, daylight saving time included (the samples span a change each).

Deterministic: the same arguments give byte-identical files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "cgm"
MMOL = 18.0156  # mg/dL per mmol/L of glucose
UTC = dt.UTC

Reading = tuple[dt.datetime, float]  # (UTC, mg/dL)
Meals = dict[dt.date, list[tuple[float, float]]]  # local day → (hour, rise in mg/dL)
Lows = dict[dt.date, tuple[float, float]]  # local day → (hour, depth in mg/dL)


def glucose(start: dt.datetime, days: int, step: int, zone: ZoneInfo, seed: int) -> list[Reading]:
    """Readings every *step* minutes (a second or two of jitter) from *start* (UTC) on."""
    rng = random.Random(seed)
    meals: Meals = {}
    lows: Lows = {}
    for d in range(-1, days + 1):
        day = (start + dt.timedelta(days=d)).astimezone(zone).date()
        meals[day] = [(h + rng.uniform(-0.6, 0.6), rng.uniform(35, 120)) for h in (7.5, 12.5, 19)]
        if rng.random() < 0.35:
            lows[day] = (rng.uniform(1.0, 5.0), rng.uniform(55, 95))
    first_day = start.astimezone(zone).date()
    meals[first_day + dt.timedelta(days=2)][2] = (19.2, 290.0)  # a feast: above the range
    lows[first_day + dt.timedelta(days=5)] = (3.0, 105.0)  # a night below it
    gaps = _gaps(start, days, rng)
    out: list[Reading] = []
    noise = 0.0
    t = start
    end = start + dt.timedelta(days=days)
    while t < end:
        noise = 0.88 * noise + rng.gauss(0, 3.2)
        if not any(a <= t < b for a, b in gaps):
            local = t.astimezone(zone)
            out.append((t, max(_level(local, meals, lows) + noise, 20.0)))
        t += dt.timedelta(minutes=step, seconds=rng.choice((-1, 0, 0, 1)))
    return out


def _level(local: dt.datetime, meals: Meals, lows: Lows) -> float:
    hour = local.hour + local.minute / 60 + local.second / 3600
    level = 128 + 14 * math.sin(2 * math.pi * (hour - 9) / 24) + 18 * _bump(hour - 4.5, 2.0)
    for offset, day in ((0, local.date()), (24, local.date() - dt.timedelta(days=1))):
        for at, rise in meals.get(day, ()):
            level += rise * _bump(hour + offset - at, 1.0)
        if day in lows:
            at, depth = lows[day]
            level -= depth * _bump(hour + offset - at, 0.7)
    return level


def _bump(hours: float, peak: float) -> float:
    """A rise to 1 at *peak* hours after 0 and its slower fall (a gamma-like meal response)."""
    if hours <= 0:
        return 0.0
    x = hours / peak
    return x * math.exp(1 - x)


def _gaps(
    start: dt.datetime, days: int, rng: random.Random
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Signal losses (20-90 min, about one a week) and a sensor change's warm-up at day 10."""
    gaps = []
    for _ in range(max(1, days // 7)):
        at = start + dt.timedelta(hours=rng.uniform(12, days * 24 - 12))
        gaps.append((at, at + dt.timedelta(minutes=rng.uniform(20, 90))))
    change = start + dt.timedelta(days=min(10, days - 1), hours=17)
    gaps.append((change, change + dt.timedelta(minutes=40)))
    return gaps


# -- Dexcom Clarity --------------------------------------------------------------------------

CLARITY_COLUMNS = (
    "Index,Timestamp (YYYY-MM-DDThh:mm:ss),Event Type,Event Subtype,Patient Info,Device Info,"
    "Source Device ID,Glucose Value ({u}),Insulin Value (u),Carb Value (grams),Duration "
    "(hh:mm:ss),Glucose Rate of Change ({u}/min),Transmitter Time (Long Integer),Transmitter ID"
)


def clarity(readings: list[Reading], zone: ZoneInfo, *, mmol: bool, g7: bool, seed: int) -> str:
    """A Clarity export of *readings*; *g7*: a G7 (a transmitter per sensor), else a G6."""
    rng = random.Random(seed)
    unit = "mmol/L" if mmol else "mg/dL"
    app, source = (
        ("Dexcom G7 Mobile App", "iOS G7") if g7 else ("Dexcom G6 Mobile App", "android G6")
    )
    high, low, urgent, rate = ("12.0", "5.0", "3.1", "0.2") if mmol else ("200", "70", "55", "3")
    alerts = (("Fall", "", "", rate), ("High", high, "", ""), ("Low", low, "", ""),
              ("Signal Loss", "", "00:20:00", ""), ("Rise", "", "", rate),
              ("Urgent Low", urgent, "", ""), ("Urgent Low Soon", urgent, "", ""))  # fmt: skip
    first, last = ("Jane", "Doe") if g7 else ("Alex", "Smith")
    head = [["", "FirstName", "", first], ["", "LastName", "", last],
            ["", "Device", "", "", app, source]]  # fmt: skip
    head += [["", "Alert", name, "", "", source, value, "", "", duration, rate]
             for name, value, duration, rate in alerts]  # fmt: skip
    timed: list[tuple[str, list[str]]] = []
    change = readings[0][0] + dt.timedelta(days=10)
    for t, mg in readings:
        g7_id = "50172" + ("5288" if t < change else "6931") + "431"
        tid = g7_id if g7 else "8KJ4NS"
        ticks = int((t - readings[0][0]).total_seconds()) + (0 if t < change or not g7 else -864000)
        value = _clarity_value(mg, mmol)
        cells = ["EGV", "", "", "", source, value, "", "", "", "", str(ticks + 3_600), tid]
        timed.append((_local(t, zone), cells))
    for t, kind, sub, values in _events(readings[0][0], readings[-1][0], rng, mmol):
        timed.append((_local(t, zone), [kind, sub, "", "", source, *values]))
    timed.sort(key=lambda row: row[0])  # as Clarity does: by the local time's text
    rows = head + [[stamp, *cells] for stamp, cells in timed]
    out = [CLARITY_COLUMNS.format(u=unit).split(",")]
    for i, row in enumerate(rows, 1):
        # EGV and calibration rows have all 14 fields; the others 13 (no transmitter id)
        width = 14 if row[1] in ("EGV", "Calibration") else 13
        out.append([str(i), *row, *[""] * (width - 1 - len(row))])
    return "\ufeff" + "".join(",".join(f'"{c}"' for c in row) + "\r\n" for row in out)


def _clarity_value(mg: float, mmol: bool) -> str:
    if round(mg) < 40:
        return "Low"
    if round(mg) > 400:
        return "High"
    return f"{mg / MMOL:.1f}" if mmol else str(round(mg))


Event = tuple[dt.datetime, str, str, list[str]]  # when, type, subtype, the cells after the source


def _events(
    first: dt.datetime, last: dt.datetime, rng: random.Random, mmol: bool
) -> Iterator[Event]:
    """Insulin, carbs, exercise and a calibration, as a wearer logs them."""
    day = first
    while day < last:
        for hour in (7.5, 12.5, 19.0):
            at = day + dt.timedelta(hours=hour + rng.uniform(-0.3, 0.3))
            if rng.random() < 0.7:
                yield at, "Insulin", "Fast-Acting", ["", f"{rng.uniform(2, 9):.1f}", "", "", "", ""]
            if rng.random() < 0.4:
                yield at, "Carbs", "", ["", "", str(rng.randint(20, 90)), "", "", ""]
        if rng.random() < 0.3:
            yield (
                day + dt.timedelta(hours=17),
                "Exercise",
                "Medium",
                ["", "", "", "00:30:00", "", ""],
            )
        day += dt.timedelta(days=1)
    value = "6.4" if mmol else "115"
    yield first + dt.timedelta(days=3, hours=8), "Calibration", "", [value, "", "", "", "", "", ""]


# -- LibreView -------------------------------------------------------------------------------

LIBRE_EN = (
    "Device,Serial Number,Device Timestamp,Record Type,Historic Glucose {u},Scan Glucose {u},"
    "Non-numeric Rapid-Acting Insulin,Rapid-Acting Insulin (units),Non-numeric Food,"
    "Carbohydrates (grams),Carbohydrates (servings),Non-numeric Long-Acting Insulin,"
    "Long-Acting Insulin (units),Notes,Strip Glucose {u},Ketone mmol/L,Meal Insulin (units),"
    "Correction Insulin (units),User Change Insulin (units)"
)
LIBRE_DE = (
    "Gerät,Seriennummer,Gerätezeitstempel,Aufzeichnungstyp,Glukosewert-Verlauf {u},"
    "Glukose-Scan {u},Nicht numerisches schnellwirkendes Insulin,Schnellwirkendes Insulin "
    "(Einheiten),Nicht numerische Nahrungsdaten,Kohlenhydrate (Gramm),Kohlenhydrate (Portionen),"
    "Nicht numerisches Depotinsulin,Depotinsulin (Einheiten),Notizen,Glukose-Teststreifen {u},"
    "Keton mmol/L,Mahlzeiteninsulin (Einheiten),Korrekturinsulin (Einheiten),Insulin-Änderung "
    "durch Anwender (Einheiten)"
)


def libreview(readings: list[Reading], zone: ZoneInfo, *, german: bool, seed: int) -> str:
    """A LibreView export: German (mmol/L, ``;``, decimal commas, ``DD-MM-YYYY HH:mm``, a Libre 3
    every 5 minutes) or US English (mg/dL, ``,``, ``MM-DD-YYYY hh:mm AM``, the LibreLink app)."""
    rng = random.Random(seed)
    sep = ";" if german else ","
    if german:  # a Libre 3 on Android: the app's id in lower case
        device, serial = "FreeStyle Libre 3", "3f1c9a52-0b7e-4d2a-9c61-7e5b2f80a4d3"
    else:  # the LibreLink app on an iPhone: upper case
        device, serial = "FreeStyle LibreLink", "9E2B7C41-5A3D-4F08-B6E2-1C7D90A3F5B8"

    def cells(t: dt.datetime, kind: int, *rest: str) -> str:
        row = [device, serial, _libre_time(t, zone, german), str(kind), *rest]
        return sep.join(row + [""] * (19 - len(row)))

    def value(mg: float) -> str:
        mg = min(max(mg, 40.0), 500.0 if german else 400.0)  # outside its range: its limits
        return f"{mg / MMOL:.1f}".replace(".", ",") if german else str(round(mg))

    step = 5 if german else 15
    scans = [(t + dt.timedelta(minutes=rng.randint(1, step - 1)), mg + rng.gauss(0, 4))
             for t, mg in readings if rng.random() < 0.005 * step]  # fmt: skip
    first, last = readings[0][0], readings[-1][0]
    notes = [first + dt.timedelta(days=d, hours=h) for d in range(0, 14, 3) for h in (8.2,)]
    food = [first + dt.timedelta(days=d, hours=12.4) for d in range(1, 14, 2)]
    insulin = [first + dt.timedelta(days=d, hours=7.6) for d in range(0, 14, 2)]
    lines = [cells(t, 0, value(mg)) for t, mg in readings]  # grouped by record type, each in order
    lines += [cells(t, 1, "", value(mg)) for t, mg in scans]
    lines += [cells(t, 4, "", "", "", str(rng.randint(2, 8))) for t in insulin if t < last]
    lines += [cells(t, 5, "", "", "", "", "", str(rng.randint(20, 80))) for t in food if t < last]
    lines += [cells(t, 6) for t in notes if t < last]
    made = (last + dt.timedelta(days=1, hours=3)).strftime(
        "%d-%m-%Y %H:%M" if german else "%m-%d-%Y %I:%M %p"
    )
    title = (
        ["Glukose-Werte", "Erstellt am", f"{made} UTC", "Erstellt von", "Erika Beispiel"]
        if german
        else ["Glucose Data", "Generated on", f"{made} UTC", "Generated by", "Sam Example"]
    )
    header = (LIBRE_DE if german else LIBRE_EN).format(u="mmol/L" if german else "mg/dL")
    return "".join(line + "\r\n" for line in [sep.join(title), header.replace(",", sep), *lines])


def _libre_time(t: dt.datetime, zone: ZoneInfo, german: bool) -> str:
    local = t.astimezone(zone)
    return local.strftime("%d-%m-%Y %H:%M" if german else "%m-%d-%Y %I:%M %p")


def _local(t: dt.datetime, zone: ZoneInfo) -> str:
    return t.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")


# -- the samples and the benchmark's export --------------------------------------------------

# file → (writer, its arguments, first UTC instant, minutes between readings, time zone)
SAMPLE_FILES = {
    "Clarity_Export_Doe_Jane_2024-03-18_101502.csv": ("dexcom", {"mmol": False, "g7": True},
        dt.datetime(2024, 3, 4, 5, 2, 13, tzinfo=UTC), 5, "America/New_York"),
    "Clarity_Export_Smith_Alex_2024-11-04_083011.csv": ("dexcom", {"mmol": True, "g7": False},
        dt.datetime(2024, 10, 20, 23, 1, 40, tzinfo=UTC), 5, "Europe/London"),
    "SamExample_glucose_16-4-2024.csv": ("libre", {"german": False},
        dt.datetime(2024, 4, 1, 5, 7, 30, tzinfo=UTC), 15, "America/Chicago"),
    "ErikaBeispiel_glucose_5-11-2024.csv": ("libre", {"german": True},
        dt.datetime(2024, 10, 20, 22, 3, 30, tzinfo=UTC), 5, "Europe/Berlin"),
}  # fmt: skip


def write_samples(folder: Path = SAMPLES, days: int = 14) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for seed, (name, (kind, kwargs, start, step, tz)) in enumerate(SAMPLE_FILES.items(), 1):
        zone = ZoneInfo(tz)
        readings = glucose(start, days, step, zone, seed)
        text = (clarity(readings, zone, seed=seed, **kwargs) if kind == "dexcom"
                else libreview(readings, zone, seed=seed, **kwargs))  # fmt: skip
        (folder / name).write_bytes(text.encode())
        written.append(folder / name)
    return written


def write_year(out: Path, days: int = 365, seed: int = 7) -> int:
    """A Clarity export of *days* days at 5 minutes (G7, mg/dL); returns its readings."""
    zone = ZoneInfo("America/New_York")
    readings = glucose(dt.datetime(2023, 1, 1, 5, tzinfo=UTC), days, 5, zone, seed)
    out.write_bytes(clarity(readings, zone, mmol=False, g7=True, seed=seed).encode())
    return len(readings)


WEARER_ZONE = "America/New_York"


def write_wearer(folder: Path, end: dt.date, days: int = 14, seed: int = 11) -> Path:
    """A synthetic person's Clarity export (G7, mg/dL, New York time): *days* days of readings
    from local midnight *days* days before *end* to the end of *end*'s day."""
    zone = ZoneInfo(WEARER_ZONE)
    first = dt.datetime.combine(end - dt.timedelta(days=days - 1), dt.time(0, 2), zone)
    readings = glucose(first.astimezone(UTC), days, 5, zone, seed)
    path = folder / f"Clarity_Export_Doe_Jane_{end.isoformat()}_070000.csv"
    path.write_bytes(clarity(readings, zone, mmol=False, g7=True, seed=seed).encode())
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, help="a Clarity export to write")
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--samples", action="store_true", help="rewrite samples/cgm/")
    args = ap.parse_args(argv)
    if args.samples:
        for path in write_samples():
            print(path.relative_to(ROOT))
    if args.out:
        print(f"{write_year(args.out, args.days):,} readings in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
