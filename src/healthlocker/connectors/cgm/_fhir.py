"""The resources a CGM export becomes, as the HL7 Continuous Glucose Monitoring IG draws them.

A sensor reading is an Observation of the IG's *CGM Sensor Reading* profiles, in the unit the
export gives: LOINC 99504-3 *Glucose [Mass/volume] in Interstitial fluid* with a value in
``mg/dL``, or 105272-9 *Glucose [Moles/volume] in Interstitial fluid* in ``mmol/L``; its time
is ``effectiveDateTime``. A reading outside what the sensor reports (Dexcom's ``Low``/``High``)
is its limit with a ``comparator`` (``<`` 40, ``>`` 400 mg/dL). A LibreView scan (an on-demand
reading, beside the sensor's 15-minute history) carries ``method.text`` ``scan``.

Each sensor is one Device (the IG's *CGM Device*: a ``user-friendly-name``, an identifier, the
serial number), and each reading points to it. Kept small on purpose, as a year at 5 minutes is
105,120 readings: no category (the IG asks for none, and ``laboratory`` would put every reading
among the person's lab results), no subject (the export names the wearer only by a name typed
into an app), no narrative, no profile claim, no display text beside the LOINC code.

Every resource is validated before it is yielded, each shape once (``apple._check``), so the
store need not validate them again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from healthlocker.connectors.apple._check import Checker
from healthlocker.connectors.apple._map import LOINC, UCUM
from healthlocker.connectors.cgm._time import Clock
from healthlocker.connectors.wellness._csvrows import count, describe, stable_id
from healthlocker.store import Item

SID = "https://healthlocker.dev/fhir/sid/"  # identifier systems for device serials, ours


@dataclass(frozen=True, eq=False)  # one of each: told apart by identity
class Unit:
    """A unit an export's readings come in, and its IG code, limits and plausible range."""

    ucum: str
    code: dict[str, Any]
    plausible: tuple[float, float]  # a value outside is not a sensor reading: the row is bad


# The codes as the IG's examples write them: no display, which 105,120 readings a year repeat.
MG_DL = Unit("mg/dL", {"coding": [{"system": LOINC, "code": "99504-3"}]}, (20.0, 600.0))
MMOL_L = Unit("mmol/L", {"coding": [{"system": LOINC, "code": "105272-9"}]}, (1.1, 33.3))
UNITS = {u.ucum.lower(): u for u in (MG_DL, MMOL_L)}


@dataclass(frozen=True)
class Sensor:
    """What a reading was measured by: its key (serial, transmitter id) and its name."""

    vendor: str  # dexcom, libreview: ids
    key: str
    name: str
    manufacturer: str
    id_system: str  # the identifier's system (SID + what the key is)

    @cached_property
    def id(self) -> str:
        return stable_id("cgm", self.vendor, "device", self.key)

    def resource(self) -> dict[str, Any]:
        return {
            "resourceType": "Device",
            "id": self.id,
            "identifier": [{"system": self.id_system, "value": self.key}],
            "manufacturer": self.manufacturer,
            "deviceName": [{"name": self.name, "type": "user-friendly-name"}],
            "serialNumber": self.key,
        }


@dataclass
class Readings:
    """Builds one file's readings and sensors, each validated, and says what was made."""

    unit: Unit
    clock: Clock
    check: Checker = field(default_factory=Checker)
    sensors: dict[str, str] = field(default_factory=dict)  # key → name
    made: dict[str, int] = field(default_factory=dict)  # what → how many

    def reading(
        self,
        sensor: Sensor,
        local: datetime,
        value: float,
        *,
        comparator: str | None = None,
        method: str | None = None,
        elapsed: float | None = None,
        place: str,
    ) -> Iterator[Item]:
        """The Observation of one reading (and, first, its sensor's Device if it is new);
        *elapsed* is the sensor's own clock, if the export gives it (see ``Clock.stamp``)."""
        if sensor.key not in self.sensors:
            self.sensors[sensor.key] = sensor.name
            device = sensor.resource()
            self.check(device, place)
            yield place, device
        stamp, fold = self.clock.stamp(f"{sensor.key}|{method}", local, elapsed)
        parts = (sensor.vendor, sensor.key, stamp[:19], method or "", "later" if fold else "")
        number = int(value) if self.unit is MG_DL and value.is_integer() else value
        quantity = {"value": number, "unit": self.unit.ucum, "system": UCUM, "code": self.unit.ucum}
        if comparator:
            quantity = {"comparator": comparator, **quantity}
            count(self.made, f"{'below' if comparator == '<' else 'above'} the sensor's range "
                             f"(stored as {comparator} {value:g} {self.unit.ucum})")  # fmt: skip
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": stable_id("cgm", *parts),
            "status": "final",
            "code": self.unit.code,
            "effectiveDateTime": stamp,
            "valueQuantity": quantity,
            "device": {"reference": f"Device/{sensor.id}"},
        }
        if method:
            obs["method"] = {"text": method}
        count(self.made, "scans" if method else "readings")
        self.check(obs, place)
        yield place, obs

    @property
    def count(self) -> int:
        return self.made.get("readings", 0) + self.made.get("scans", 0)

    def notes(self) -> list[str]:
        if not self.count:
            return ["no sensor readings in the file"]
        made = dict(self.made)
        what = f"{made.pop('readings', 0):,} sensor readings"
        if "scans" in made:
            what += f" and {made.pop('scans'):,} scans"
        outside = f" ({'; '.join(describe(made))})" if made else ""
        names = ", ".join(sorted(set(self.sensors.values())))
        return [
            f"{what} in {self.unit.ucum}{outside}, from {len(self.sensors)} sensor(s) ({names}); "
            f"{self.clock.described()}"
        ]
