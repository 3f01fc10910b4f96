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
* Measurement-Summary: the day's mean weight (29463-7, kg) from the unit the caller resolved;
  body fat (41982-0, %) if the column is there; other columns (no unit in the file) are left out.
"""

from __future__ import annotations

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
MEASUREMENT_COLUMNS = ("Date", "Weight")
_MEALS = ("Breakfast", "Lunch", "Dinner", "Snacks")


def kind_of(header: Sequence[str]) -> str | None:
    """Which MyFitnessPal table a header starts: nutrition, exercise, measurement, or None."""
    cells = [c.strip() for c in header]
    if cells[:2] == ["Date", "Meal"]:
        return "nutrition"
    if cells[:3] == ["Date", "Exercise", "Type"]:
        return "exercise"
    if cells[:1] == ["Date"] and "Weight" in cells:
        return "measurement"
    return None


def weight_unit_of(header: Sequence[str]) -> str | None:
    """The weight unit of an account, as its exercise table's header names it."""
    cells = {c.strip() for c in header}
    return "kg" if "Kilograms" in cells else "lb" if "Pounds" in cells else None


@dataclass
class Context:
    """What a whole export's tables share: the weight unit, and the notes for the summary."""

    weight_unit: str | None = None  # resolved before a measurement table is read
    weight_from: str = ""  # why that unit, for the notes
    weight_found: str | None = None  # from an exercise table's header
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

    def row(self, line: int, cells: Sequence[str]) -> Iterator[Item]:
        place = f"{self.where}: line {line}"
        day = parse_day(self.cols.text(cells, "Date"), "Date", place)
        meal = self.cols.text(cells, "Meal")[:100] or "Meal not named"
        totals = self.days.setdefault(day, {})
        for n in NUTRIENTS:
            value = self.cols.number(cells, n.column, line)
            if value is not None:
                per_meal = totals.setdefault(n.key, {})
                per_meal[meal] = per_meal.get(meal, 0.0) + value
        note = self.cols.text(cells, "Note")
        if note:
            self.notes.setdefault(day, []).append(f"{meal}: {note}")
        return iter(())

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

    def row(self, line: int, cells: Sequence[str]) -> Iterator[Item]:
        place = f"{self.where}: line {line}"
        day = parse_day(self.cols.text(cells, "Date"), "Date", place)
        name = self.cols.text(cells, "Exercise")[:200] or "Exercise"
        if name.casefold().endswith("calorie adjustment"):
            count(self.ctx.skipped, "calorie adjustments from linked devices (not workouts)")
            return
        kcal = self.cols.number(cells, "Exercise Calories", line)
        minutes = self.cols.number(cells, "Exercise Minutes", line)
        parts: list[Part] = []
        if minutes is not None:
            parts.append((DURATION, amount(minutes, "min")))
        if kcal is not None:
            parts.append((ENERGY, amount(kcal, "kcal")))
            self.energy[day] = self.energy.get(day, 0.0) + kcal
        parts += self._strength(cells, line)
        kind = self.cols.text(cells, "Type")[:60]
        if kind:
            parts.append((detail("exercise-type", "Kind of exercise"), {"valueString": kind}))
        n = self.seen[(day, name)] = self.seen.get((day, name), 0) + 1
        rid = stable_id(PREFIX, "workout", day, name, str(n))
        yield (
            f"{place} (workout)",
            workout(rid, {"effectiveDateTime": day}, name, parts, self.cols.text(cells, "Note")),
        )

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
        self.cols = Columns(header, MEASUREMENT_COLUMNS, where, "MyFitnessPal Measurement-Summary")
        self.where, self.ctx = where, ctx
        self.fat = next((c for c in self.cols.names if c.startswith("Body Fat")), "")
        self.others = [c for c in self.cols.names if c and c not in ("Date", "Weight", self.fat)]
        self.weights: dict[str, list[float]] = {}
        self.fats: dict[str, list[float]] = {}

    def row(self, line: int, cells: Sequence[str]) -> Iterator[Item]:
        place = f"{self.where}: line {line}"
        day = parse_day(self.cols.text(cells, "Date"), "Date", place)
        weight = self.cols.number(cells, "Weight", line)
        if weight is not None:
            self.weights.setdefault(day, []).append(weight)
        if self.fat and (fat := self.cols.number(cells, self.fat, line, suffix="%")) is not None:
            self.fats.setdefault(day, []).append(fat)
        for name in self.others:
            if self.cols.text(cells, name):
                count(self.ctx.skipped, f"{name[:40]!r} measurements (the file gives no unit)")
        return iter(())

    def finish(self) -> Iterator[Item]:
        scale = LB if self.ctx.weight_unit == "lb" else 1.0
        for day, values in sorted(self.weights.items()):
            kg = sum(values) / len(values) * scale
            self.ctx.weights += 1
            self.ctx.odd_weights += not 20 <= kg <= 400
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


SINKS: dict[str, type[Nutrition] | type[Exercise] | type[Measurement]] = {
    "nutrition": Nutrition,
    "exercise": Exercise,
    "measurement": Measurement,
}
