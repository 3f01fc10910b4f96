"""MyFitnessPal's CSV tables → FHIR R4 Observations: one sink per table.

A sink takes a table's header (checked: a missing column refuses the file), then its rows,
and yields resources: workouts as their rows come, and the daily values once the table is
read (a day's rows are summed, or averaged, first; what is kept per day is small, however long
the file). docs/wellness.md has the mapping in words.

* Nutrition-Summary: one row per meal and day (or per entry, with a Time column). Per day and
  nutrient, one Observation: the day's total (for calories, each meal's as a component). Calories
  are LOINC 9052-2 (kcal); other nutrients carry the HealthKit identifier for the same
  quantity (the code an Apple Health import gives them: no LOINC code for a day's intake of
  them could be confirmed), in g or mg; vitamins and minerals, given as % of the daily value,
  carry healthlocker codes (unit %).
* Exercise-Summary: each row a workout (calorie adjustments from linked devices are not
  workouts: counted, left out), and per day the calories burned in them (41981-2).
* Measurement-Summary: the day's mean weight (29463-7, kg), in the unit the export states
  (see :meth:`Measurement.unit`); body fat (41982-0, %) if the column is there; other columns
  (no unit in the file) are left out.

A row is read whole before anything of it is kept: a bad cell skips the row (``_tolerance``),
never half of it.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from healthlocker.connectors.apple._map import DURATION, ENERGY, HK, LOINC, concept
from healthlocker.connectors.wellness._csvrows import Columns, count, stable_id
from healthlocker.connectors.wellness._resources import (
    Part,
    amount,
    daily_energy,
    daily_value,
    daily_weight,
    detail,
    parse_day,
    workout,
)
from healthlocker.errors import InputFormatError
from healthlocker.store import Item

NUTRIENT = "https://healthlocker.dev/fhir/CodeSystem/nutrient"
MEAL = "https://healthlocker.dev/fhir/CodeSystem/meal"
LB = 0.45359237
PREFIX = "mfp"


@dataclass(frozen=True)
class Nutrient:
    column: str
    key: str  # ids, docs
    text: str
    unit: str  # UCUM
    code: str
    system: str = HK


_Q = "HKQuantityTypeIdentifier"
NUTRIENTS = (
    Nutrient("Calories", "calories", "Calories eaten", "kcal", "9052-2", LOINC),
    Nutrient("Fat (g)", "fat", "Fat eaten", "g", _Q + "DietaryFatTotal"),
    Nutrient("Saturated Fat", "saturated_fat", "Saturated fat eaten", "g",
             _Q + "DietaryFatSaturated"),
    Nutrient("Polyunsaturated Fat", "polyunsaturated_fat", "Polyunsaturated fat eaten", "g",
             _Q + "DietaryFatPolyunsaturated"),
    Nutrient("Monounsaturated Fat", "monounsaturated_fat", "Monounsaturated fat eaten", "g",
             _Q + "DietaryFatMonounsaturated"),
    Nutrient("Trans Fat", "trans_fat", "Trans fat eaten", "g", "trans-fat", NUTRIENT),
    Nutrient("Cholesterol", "cholesterol", "Cholesterol eaten", "mg", _Q + "DietaryCholesterol"),
    Nutrient("Sodium (mg)", "sodium", "Sodium eaten", "mg", _Q + "DietarySodium"),
    Nutrient("Potassium", "potassium", "Potassium eaten", "mg", _Q + "DietaryPotassium"),
    Nutrient("Carbohydrates (g)", "carbohydrates", "Carbohydrates eaten", "g",
             _Q + "DietaryCarbohydrates"),
    Nutrient("Fiber", "fiber", "Fiber eaten", "g", _Q + "DietaryFiber"),
    Nutrient("Sugar", "sugar", "Sugar eaten", "g", _Q + "DietarySugar"),
    Nutrient("Protein (g)", "protein", "Protein eaten", "g", _Q + "DietaryProtein"),
    Nutrient("Vitamin A", "vitamin_a", "Vitamin A eaten, % of daily value", "%",
             "vitamin-a-daily-value", NUTRIENT),
    Nutrient("Vitamin C", "vitamin_c", "Vitamin C eaten, % of daily value", "%",
             "vitamin-c-daily-value", NUTRIENT),
    Nutrient("Calcium", "calcium", "Calcium eaten, % of daily value", "%",
             "calcium-daily-value", NUTRIENT),
    Nutrient("Iron", "iron", "Iron eaten, % of daily value", "%", "iron-daily-value", NUTRIENT),
)  # fmt: skip
NUTRITION_COLUMNS = ("Date", "Meal", *(n.column for n in NUTRIENTS))
EXERCISE_COLUMNS = ("Date", "Exercise", "Type", "Exercise Calories", "Exercise Minutes")
# "Weight", or a weight column that names its unit ("Weight (kg)", "Weight (lbs)").
_WEIGHT = re.compile(r"^Weight(?: \((kg|kgs|lb|lbs)\))?$", re.I)
PLAUSIBLE_KG = (20.0, 400.0)  # an adult's weight: outside it, the unit is likely wrong
_MEALS = ("Breakfast", "Lunch", "Dinner", "Snacks")


def kind_of(header: Sequence[str]) -> str | None:
    """Which MyFitnessPal table a header starts: nutrition, exercise, measurement, or None."""
    cells = [c.strip() for c in header]
    if cells[:2] == ["Date", "Meal"]:
        return "nutrition"
    if cells[:3] == ["Date", "Exercise", "Type"]:
        return "exercise"
    if cells[:1] == ["Date"] and weight_column(cells) is not None:
        return "measurement"
    return None


def weight_column(header: Sequence[str]) -> tuple[str, str | None] | None:
    """A measurement table's weight column, and the unit (kg or lb) its name states, if any."""
    for cell in header:
        m = _WEIGHT.match(cell.strip())
        if m is not None:
            unit = (m[1] or "").lower().rstrip("s")
            return cell.strip(), unit or None
    return None


def weight_unit_of(header: Sequence[str]) -> str | None:
    """The weight unit of an account, as its exercise table's header names it."""
    cells = {c.strip() for c in header}
    return "kg" if "Kilograms" in cells else "lb" if "Pounds" in cells else None


@dataclass
class Context:
    """What a whole export's tables share: the weight unit, and the notes for the summary."""

    weight_unit: str | None = None  # given (--weight-unit), else as the export states it
    weight_from: str = ""  # why that unit, for the notes
    weight_found: str | None = None  # from an exercise table's header (in the zip or beside)
    weight_given: bool = False  # by the person (--weight-unit)
    skipped: dict[str, int] = field(default_factory=dict)
    weights: int = 0
    odd_weights: int = 0


def _meal_code(meal: str) -> dict[str, Any]:
    if meal in _MEALS:
        return {**concept(meal.lower(), meal, MEAL), "text": meal}
    return {"text": meal}


class Nutrition:
    def __init__(self, header: Sequence[str], where: str, ctx: Context) -> None:
        self.cols = Columns(header, NUTRITION_COLUMNS, where, "MyFitnessPal Nutrition-Summary")
        self.where, self.ctx = where, ctx
        # day → nutrient key → meal → amount; day → notes
        self.days: dict[str, dict[str, dict[str, float]]] = {}
        self.notes: dict[str, list[str]] = {}

    def row(self, line: int, cells: Sequence[str]) -> list[Item]:
        place = f"{self.where}: line {line}"
        day = parse_day(self.cols.text(cells, "Date"), "Date", place)
        meal = self.cols.text(cells, "Meal")[:100] or "Meal not named"
        # Every cell read before any is added: a bad cell leaves the day as it was.
        values = [(n.key, self.cols.number(cells, n.column, line)) for n in NUTRIENTS]
        totals = self.days.setdefault(day, {})
        for key, value in values:
            if value is not None:
                per_meal = totals.setdefault(key, {})
                per_meal[meal] = per_meal.get(meal, 0.0) + value
        note = self.cols.text(cells, "Note")
        if note:
            self.notes.setdefault(day, []).append(f"{meal}: {note}")
        return []

    def finish(self) -> Iterator[Item]:
        for day in sorted(self.days):
            for n in NUTRIENTS:
                meals = self.days[day].get(n.key)
                if meals is None:
                    continue
                code = {**concept(n.code, n.text, n.system), "text": f"{n.text} (daily total)"}
                # Meals only for calories: components are most of what validating and storing a
                # day costs, and a meal's share of the day matters most for energy.
                parts: list[Part] = []
                if n.key == "calories":
                    parts = [(_meal_code(m), amount(v, n.unit)) for m, v in meals.items()]
                r = daily_value(
                    stable_id(PREFIX, "nutrition", n.key, day),
                    day,
                    code,
                    amount(sum(meals.values()), n.unit),
                    parts,
                )
                if n.key == "calories" and day in self.notes:
                    r["note"] = [{"text": t} for t in self.notes[day]]
                yield f"{self.where}: {n.key} {day}", r


class Exercise:
    def __init__(self, header: Sequence[str], where: str, ctx: Context) -> None:
        self.cols = Columns(header, EXERCISE_COLUMNS, where, "MyFitnessPal Exercise-Summary")
        self.where, self.ctx = where, ctx
        self.weight_column = next((c for c in ("Kilograms", "Pounds") if c in self.cols.index), "")
        self.seen: dict[tuple[str, str], int] = {}
        self.energy: dict[str, float] = {}

    def row(self, line: int, cells: Sequence[str]) -> list[Item]:
        place = f"{self.where}: line {line}"
        day = parse_day(self.cols.text(cells, "Date"), "Date", place)
        name = self.cols.text(cells, "Exercise")[:200] or "Exercise"
        if name.casefold().endswith("calorie adjustment"):
            count(self.ctx.skipped, "calorie adjustments from linked devices (not workouts)")
            return []
        kcal = self.cols.number(cells, "Exercise Calories", line)
        minutes = self.cols.number(cells, "Exercise Minutes", line)
        parts: list[Part] = []
        if minutes is not None:
            parts.append((DURATION, amount(minutes, "min")))
        if kcal is not None:
            parts.append((ENERGY, amount(kcal, "kcal")))
        parts += self._strength(cells, line)
        kind = self.cols.text(cells, "Type")[:60]
        if kind:
            parts.append((detail("exercise-type", "Kind of exercise"), {"valueString": kind}))
        # Every cell read: only now is the row counted into the day.
        if kcal is not None:
            self.energy[day] = self.energy.get(day, 0.0) + kcal
        n = self.seen[(day, name)] = self.seen.get((day, name), 0) + 1
        rid = stable_id(PREFIX, "workout", day, name, str(n))
        note = self.cols.text(cells, "Note")
        return [(f"{place} (workout)", workout(rid, {"effectiveDateTime": day}, name, parts, note))]

    def _strength(self, cells: Sequence[str], line: int) -> list[Part]:
        parts: list[Part] = []
        sets = self.cols.number(cells, "Sets", line)
        reps = self.cols.number(cells, "Reps Per Set", line)
        steps = self.cols.number(cells, "Steps", line)
        if sets:
            parts.append((detail("sets", "Sets"), amount(sets, "1", "sets")))
        if reps:
            parts.append((detail("reps-per-set", "Repetitions per set"), amount(reps, "1", "reps")))
        if self.weight_column:
            weight = self.cols.number(cells, self.weight_column, line)
            if weight:
                kg = weight * (LB if self.weight_column == "Pounds" else 1.0)
                parts.append((detail("weight-lifted", "Weight per repetition"), amount(kg, "kg")))
        if steps:
            parts.append((detail("steps", "Steps"), amount(steps, "{steps}", "steps")))
        return parts

    def finish(self) -> Iterator[Item]:
        for day, kcal in sorted(self.energy.items()):
            rid = stable_id(PREFIX, "active_energy", day)
            yield f"{self.where}: active energy {day}", daily_energy(rid, day, kcal)


class Measurement:
    def __init__(self, header: Sequence[str], where: str, ctx: Context) -> None:
        self.cols = Columns(header, ("Date",), where, "MyFitnessPal Measurement-Summary")
        self.where, self.ctx = where, ctx
        self.weight, self.stated = weight_column(self.cols.names) or ("Weight", None)
        self.fat = next((c for c in self.cols.names if c.startswith("Body Fat")), "")
        self.others = [c for c in self.cols.names if c and c not in ("Date", self.weight, self.fat)]
        self.weights: dict[str, list[float]] = {}
        self.fats: dict[str, list[float]] = {}

    def row(self, line: int, cells: Sequence[str]) -> list[Item]:
        place = f"{self.where}: line {line}"
        day = parse_day(self.cols.text(cells, "Date"), "Date", place)
        weight = self.cols.number(cells, self.weight, line)
        fat = self.cols.number(cells, self.fat, line, suffix="%") if self.fat else None
        if weight is not None:
            self.weights.setdefault(day, []).append(weight)
        if fat is not None:
            self.fats.setdefault(day, []).append(fat)
        for name in self.others:
            if self.cols.text(cells, name):
                count(self.ctx.skipped, f"{name[:40]!r} measurements (the file gives no unit)")
        return []

    def unit(self) -> str:
        """The unit of the weights: as given (``--weight-unit``), else as the export states it
        (this table's weight column, else its exercise table's ``Kilograms`` or ``Pounds``
        column); never guessed."""
        ctx = self.ctx
        if ctx.weight_unit is None and self.stated is not None:
            ctx.weight_unit, ctx.weight_from = self.stated, f"as its column {self.weight!r} says"
        elif ctx.weight_unit is None and ctx.weight_found is not None:
            ctx.weight_unit = ctx.weight_found
            ctx.weight_from = "the unit of this export's exercise table"
        if ctx.weight_unit is None:
            raise InputFormatError(
                "the table does not say whether its weights are kilograms or pounds, and no "
                "exercise table of the same export is here to say it (its Kilograms or Pounds "
                "column): import the whole export zip, or give the unit with --weight-unit kg "
                "or --weight-unit lb",
                where=self.where,
            )
        return ctx.weight_unit

    def finish(self) -> Iterator[Item]:
        kgs: dict[str, float] = {}
        if self.weights:
            scale = LB if self.unit() == "lb" else 1.0
            kgs = {day: sum(v) / len(v) * scale for day, v in sorted(self.weights.items())}
            self._plausible(list(kgs.values()))
        low, high = PLAUSIBLE_KG
        for day, kg in kgs.items():
            self.ctx.weights += 1
            self.ctx.odd_weights += not low <= kg <= high
            rid = stable_id(PREFIX, "body_weight", day)
            yield f"{self.where}: weight {day}", daily_weight(rid, day, kg)
        fat_code = {**concept("41982-0", "Percentage of body fat Measured", LOINC),
                    "text": "Body fat percentage"}  # fmt: skip
        for day, values in sorted(self.fats.items()):
            rid = stable_id(PREFIX, "body_fat", day)
            value = amount(sum(values) / len(values), "%")
            yield (
                f"{self.where}: body fat {day}",
                daily_value(rid, day, fat_code, value, [], "vital-signs"),
            )

    def _plausible(self, kgs: list[float]) -> None:
        """A unit the export stated, but under which most weights are no adult's: refused
        (a unit given with --weight-unit is the person's word: only noted)."""
        ctx, (low, high) = self.ctx, PLAUSIBLE_KG
        if ctx.weight_given or low <= statistics.median(kgs) <= high:
            return
        other = "kg" if ctx.weight_unit == "lb" else "lb"
        raise InputFormatError(
            f"most daily weights are outside {low:.0f}-{high:.0f} kg when read in "
            f"{ctx.weight_unit} ({ctx.weight_from}): if they are in {other}, import again "
            f"with --weight-unit {other}",
            where=self.where,
        )


SINKS: dict[str, type[Nutrition] | type[Exercise] | type[Measurement]] = {
    "nutrition": Nutrition,
    "exercise": Exercise,
    "measurement": Measurement,
}
