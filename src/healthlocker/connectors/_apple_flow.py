"""The order resources leave an Apple Health import: group by group, as soon as each is final.

Exports list records type by type, so when the parser meets a new type the days of the types
before it are final (``Collector.take_finished``). Between two chunks of the file,
:meth:`Flow.step` builds those groups and yields them, so they are validated, sealed and stored
while the rest of the file is still being read, and nothing waits for the end. Workouts and
activity summaries are final as soon as they are parsed and go the same way.

A group's resources depend on its accumulators, the person (``Me``, at the top of every export)
and the priority class of its sources. If any of these changed after the group was yielded (an
export not ordered by type: ``Collector.reopened``), :meth:`Flow.rest` yields the group again
as it is at the end; the store updates the rows within the same batch, so what is committed is
always what the whole file says.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from healthlocker.connectors import _apple_agg as agg
from healthlocker.connectors._apple_map import (
    BLOOD_TYPES,
    DIASTOLIC,
    QTYPE,
    SYSTOLIC,
    blood_type,
    iso,
    patient,
    patient_id,
)
from healthlocker.connectors._apple_xml import SLEEP, Collector
from healthlocker.store import Item

BP = "blood pressure"


def _types(accumulators: dict[Any, Any]) -> set[str]:
    return {k[0] for k in accumulators}


def group_items(
    c: Collector, group: str, pid: str, where: str, notes: dict[str, int]
) -> list[Item]:
    """The resources of one group: a record type's days, blood pressure, or sleep."""
    if group == BP:
        made = agg.blood_pressure(c, pid)
    elif group == SLEEP:
        made = agg.sleep(c, pid)
    elif any(k[0] == group for k in c.sums):
        made = agg.daily_sums(c, pid, notes, [k for k in c.sums if k[0] == group])
    else:
        made = agg.daily_means(c, pid, notes, [k for k in c.means if k[0] == group])
    label = group.removeprefix(QTYPE).removeprefix("HKCategoryTypeIdentifier")
    return [(f"{where}: {label} {r['id']}", r) for r in made]


class Flow:
    """What has left already, and what is still to come."""

    def __init__(self, where: str) -> None:
        self.where = where
        # group yielded early → (person, source classes, its notes) when it was built
        self.sent: dict[str, tuple[str, dict[str, int], dict[str, int]]] = {}
        self.bp: set[str] = set()
        self.pid: str | None = None  # the person the workouts were built for
        self.seen = (0, 0)  # workouts, summaries built so far
        self.unreadable = 0

    def step(self, c: Collector) -> Iterator[Item]:
        """Between chunks: the groups final since the last call."""
        pid = patient_id(c.me)
        for rtype in c.take_finished():
            if rtype in (SYSTOLIC, DIASTOLIC):
                self.bp.add(rtype)
                if len(self.bp) == 2:
                    yield from self._early(c, BP, pid)
            elif rtype == SLEEP or rtype in _types(c.sums) or rtype in _types(c.means):
                yield from self._early(c, rtype, pid)
        if self.pid is None:
            self.pid = pid
        if self.pid == pid:  # else Me came after workouts (never in real exports): see rest()
            yield from self._others(c, pid)

    def _early(self, c: Collector, group: str, pid: str) -> Iterator[Item]:
        notes: dict[str, int] = {}
        items = group_items(c, group, pid, self.where, notes)
        self.sent[group] = (pid, dict(c.sources), notes)
        yield from items

    def _others(self, c: Collector, pid: str) -> list[Item]:
        """The workouts and activity summaries parsed since the last call, as resources."""
        new: list[Item] = []
        for w in c.workouts[self.seen[0] :]:
            done = agg.workout(w, pid)
            if done is None:
                self.unreadable += 1
            else:
                new.append((f"{self.where}: workout {w['attrib']['startDate'][:19]}", done))
        for a in c.summaries[self.seen[1] :]:
            summary = agg.activity_summary(a, pid)
            if summary is not None:
                day = a.get("dateComponents", "")[:10]
                new.append((f"{self.where}: activity summary {day}", summary))
        self.seen = (len(c.workouts), len(c.summaries))
        return new

    def _still(self, c: Collector, group: str, pid: str) -> bool:
        """Whether *group*, yielded early, is what it would be built as now."""
        members = (SYSTOLIC, DIASTOLIC) if group == BP else (group,)
        was_pid, was_sources, _ = self.sent[group]
        return (
            not c.reopened.intersection(members)
            and was_pid == pid
            and all(c.sources.get(s) == k for s, k in was_sources.items())
        )

    def rest(self, c: Collector, skipped: dict[str, int]) -> Iterator[Item]:
        """After the whole file: the person, the groups not yet yielded (or changed since)."""
        where = self.where
        pid = patient_id(c.me)
        me = [(f"{where}: Me", patient(pid, c.me))]
        kind = c.me.get("HKCharacteristicTypeIdentifierBloodType", "")
        if kind in BLOOD_TYPES:
            me.append((f"{where}: Me", blood_type(pid, BLOOD_TYPES[kind], iso(c.export_date))))
        yield from me
        sums, means = _types(c.sums), _types(c.means)
        for group in [*sorted(sums), *sorted(means - sums), BP, SLEEP]:
            if group in self.sent and self._still(c, group, pid):
                for what, n in self.sent[group][2].items():
                    skipped[what] = skipped.get(what, 0) + n
                continue
            yield from group_items(c, group, pid, where, skipped)
        if self.pid != pid:  # built for another person: again, for this one
            self.seen, self.unreadable = (0, 0), 0
        yield from self._others(c, pid)
        if self.unreadable:
            skipped["workouts with unreadable dates or type"] = self.unreadable
