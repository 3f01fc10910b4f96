"""The local times of a CGM export as FHIR dateTimes: the offset of the wearer's time zone.

Dexcom Clarity and LibreView write the display device's wall-clock time with no offset, and
FHIR needs one. The zone is ``--time-zone`` (an IANA name, e.g. ``Europe/Berlin``) or, without
it, this computer's (the one the export is most often made and imported in); each reading gets
its offset on its own date, so daylight saving time is followed. In the hour that repeats when
clocks go back, which of the two passes a reading is in (``fold``, PEP 495) is told by the
sensor's own clock where the export gives one (Dexcom's transmitter time), else by its time
stepping back from the reading before it on the same sensor.
"""

from __future__ import annotations

import functools
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from healthlocker.errors import InputFormatError

_HOUR = timedelta(hours=1)
_DAY_S = 86_400.0


def zone_of(name: str) -> ZoneInfo:
    """The IANA time zone *name*, or a clear error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputFormatError(
            f"unknown time zone {name[:60]!r}: give an IANA name such as Europe/Berlin or "
            "America/New_York"
        ) from None


class Clock:
    """Local wall-clock times → ``YYYY-MM-DDThh:mm:ss±hh:mm``, in one zone."""

    def __init__(self, name: str | None) -> None:
        self.zone = zone_of(name) if name else None
        self.last: dict[str, datetime] = {}  # sensor → the local time of its reading before
        self.folded: set[str] = set()  # sensors in the repeated hour's second pass
        # sensor → (UTC, device clock) of its last reading whose time was not ambiguous
        self.anchor: dict[str, tuple[datetime, float]] = {}

    def described(self) -> str:
        if self.zone is not None:
            return f"local times read in {self.zone.key}"
        names = "/".join(dict.fromkeys(time.tzname))
        return f"local times read in this computer's time zone ({names}); --time-zone names another"

    def stamp(self, sensor: str, local: datetime, elapsed: float | None = None) -> tuple[str, int]:
        """The FHIR dateTime of *local* (naive) on *sensor*, and its fold (1: the repeat).

        *elapsed* is the sensor's own clock, in seconds, where the export gives it (Dexcom's
        transmitter time): it tells the two passes of the repeated hour apart even when the
        rows are sorted by local time.
        """
        first, second = self._offsets(local.replace(minute=0, second=0, microsecond=0))
        if first == second:
            fold = 0
            self.folded.discard(sensor)
            if elapsed is not None:
                self.anchor[sensor] = (local - first, elapsed)
        else:
            fold = self._fold(sensor, local, elapsed, (local - first, local - second))
        self.last[sensor] = local
        offset = second if fold else first
        minutes = round(offset.total_seconds() / 60)
        sign = "-" if minutes < 0 else "+"
        hh, mm = divmod(abs(minutes), 60)
        return f"{local:%Y-%m-%dT%H:%M:%S}{sign}{hh:02d}:{mm:02d}", fold

    def _fold(
        self, sensor: str, local: datetime, elapsed: float | None, utc: tuple[datetime, datetime]
    ) -> int:
        """Which pass of the repeated hour *local* is in: by the sensor's clock if it runs on
        from a reading before, else by a step back in time from the reading before."""
        anchor = self.anchor.get(sensor)
        if elapsed is not None and anchor is not None and 0 <= elapsed - anchor[1] < _DAY_S:
            expected = anchor[0] + timedelta(seconds=elapsed - anchor[1])
            return int(abs(utc[1] - expected) < abs(utc[0] - expected))
        before = self.last.get(sensor)
        if sensor in self.folded or (before is not None and timedelta(0) < before - local <= _HOUR):
            self.folded.add(sensor)
            return 1
        return 0

    @functools.lru_cache(maxsize=8192)  # noqa: B019 (one Clock per file: it goes with it)
    def _offsets(self, hour: datetime) -> tuple[timedelta, timedelta]:
        """The UTC offsets of the local hour starting at *hour*, as the earlier and the later
        of two equal wall-clock times (they differ only in the hour clocks go back)."""
        if self.zone is not None:
            first = hour.replace(tzinfo=self.zone, fold=0).utcoffset()
            second = hour.replace(tzinfo=self.zone, fold=1).utcoffset()
        else:  # this computer's zone, through the C library's local time
            first = hour.replace(fold=0).astimezone().utcoffset()
            second = hour.replace(fold=1).astimezone().utcoffset()
        assert first is not None and second is not None
        return first, second
