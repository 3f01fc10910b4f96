"""The order resources leave an Apple Health import: group by group, as soon as each is final.

Exports list records type by type, so when the parser meets a new type the days of the types
before it are final (``Collector.take_finished``). Between two chunks of the file,
:meth:`Flow.step` builds those groups and yields them, so they are validated, sealed and stored
while the rest of the file is still being read, and nothing waits for the end. Workouts and
activity summaries are final as soon as they are parsed and go the same way.

Once a group has left, its accumulators are dropped from the collector (and so are workouts and
summaries once built), so the reader holds only the type it is reading: its memory does not grow
with the days or types an export covers.

A group's resources depend on its accumulators, the person (``Me``, at the top of every export)
and the priority class of the sources it counted. If any of these changed after the group was
yielded (an export not ordered by type: ``Collector.reopened``), :meth:`Flow.rest` yields the
group again as it is at the end; the store updates the rows within the same batch, so what is
committed is always what the whole file says. Its accumulators were dropped by then, so the file
is read once more for that (:meth:`Flow.stale`; never needed for an export ordered by type).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from healthlocker.connectors.apple import _agg as agg
from healthlocker.connectors.apple._map import (
    BLOOD_TYPES,
    DIASTOLIC,
    QTYPE,
    SYSTOLIC,
    blood_type,
    iso,
    patient,
    patient_id,
)
from healthlocker.connectors.apple._xml import SLEEP, Collector
from healthlocker.store import Item

BP = "blood pressure"


def _types(accumulators: dict[Any, Any]) -> set[str]:
    return {k[0] for k in accumulators}


def group_items(
    c: Collector, group: str, pid: str, where: str, notes: dict[str, int]
) -> Iterator[Item]:
    """The resources of one group: a record type's days, blood pressure, or sleep, one by one
    (a group's days are not all held as resources at once)."""
    if group == BP:
        made = agg.blood_pressure(c, pid)
    elif group == SLEEP:
        made = agg.sleep(c, pid)
    elif any(k[0] == group for k in c.sums):
        made = agg.daily_sums(c, pid, notes, [k for k in c.sums if k[0] == group])
    else:
        made = agg.daily_means(c, pid, notes, [k for k in c.means if k[0] == group])
    label = group.removeprefix(QTYPE).removeprefix("HKCategoryTypeIdentifier")
    return ((f"{where}: {label} {r['id']}", r) for r in made)


class Flow:
    """What has left already, and what is still to come."""

    def __init__(self, where: str) -> None:
        self.where = where
        # group yielded early → (person, classes of the sources it counted, its notes) then
        self.sent: dict[str, tuple[str, dict[str, int], dict[str, int]]] = {}
        self.released: set[str] = set()  # groups whose accumulators were dropped once yielded
        self.bp: set[str] = set()
        self.pid: str | None = None  # the person the first workouts were built for
        self.built = (0, 0)  # workouts, summaries built (and dropped from the collector) so far
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
        if self.pid is None and (c.workouts or c.summaries):
            self.pid = pid
        if self.pid == pid:  # else Me came after workouts (never in real exports): see rest()
            yield from self._others(c.workouts, c.summaries, pid)
            c.workouts.clear()
            c.summaries.clear()

    def _early(self, c: Collector, group: str, pid: str) -> Iterator[Item]:
        notes: dict[str, int] = {}  # filled as the group is built
        used = _sources_of(c, group)
        self.sent[group] = (pid, {s: c.sources.get(s, 2) for s in used}, notes)
        yield from group_items(c, group, pid, self.where, notes)
        if c.ordered:
            _release(c, group)
            self.released.add(group)

    def _others(
        self, workouts: list[dict[str, Any]], summaries: list[dict[str, str]], pid: str
    ) -> Iterator[Item]:
        """Workouts and activity summaries as resources, one by one."""
        for w in workouts:
            done = agg.workout(w, pid)
            if done is None:
                self.unreadable += 1
            else:
                yield f"{self.where}: workout {w['attrib']['startDate'][:19]}", done
        for a in summaries:
            summary = agg.activity_summary(a, pid)
            if summary is not None:
                day = a.get("dateComponents", "")[:10]
                yield f"{self.where}: activity summary {day}", summary
        self.built = (self.built[0] + len(workouts), self.built[1] + len(summaries))

    def _still(self, c: Collector, group: str, pid: str) -> bool:
        """Whether *group*, yielded early, is what it would be built as now."""
        members = (SYSTOLIC, DIASTOLIC) if group == BP else (group,)
        was_pid, was_sources, _ = self.sent[group]
        return (
            not c.reopened.intersection(members)
            and was_pid == pid
            and all(c.sources.get(s, 2) == k for s, k in was_sources.items())
        )

    def stale(self, c: Collector) -> bool:
        """Whether :meth:`rest` needs what was dropped: a group yielded early that changed
        since, or workouts built for a person other than the export's (``Me`` after them).
        Then the caller reads the file again and passes that reading to :meth:`rest`."""
        pid = patient_id(c.me)
        return any(not self._still(c, g, pid) for g in self.released) or (
            self.pid is not None and self.pid != pid
        )

    def rest(
        self, c: Collector, skipped: dict[str, int], again: Collector | None = None
    ) -> Iterator[Item]:
        """After the whole file: the person, the groups not yet yielded (or changed since).

        *again* is a second, whole reading of the file, when :meth:`stale` asked for one.
        """
        where = self.where
        full = c if again is None else again
        pid = patient_id(full.me)
        me = [(f"{where}: Me", patient(pid, full.me))]
        kind = full.me.get("HKCharacteristicTypeIdentifierBloodType", "")
        if kind in BLOOD_TYPES:
            me.append((f"{where}: Me", blood_type(pid, BLOOD_TYPES[kind], iso(full.export_date))))
        yield from me
        sums, means = _types(full.sums), _types(full.means)
        groups = [*sorted(sums), *sorted(means - sums), BP, SLEEP]
        groups += sorted(self.sent.keys() - set(groups))  # dropped, and unchanged since
        for group in groups:
            if group in self.sent and self._still(full, group, pid):
                for what, n in self.sent[group][2].items():
                    skipped[what] = skipped.get(what, 0) + n
                continue
            yield from group_items(full, group, pid, where, skipped)
        if self.pid is not None and self.pid != pid:  # built for another person: all again
            self.built, self.unreadable = (0, 0), 0
            yield from self._others(full.workouts, full.summaries, pid)
        elif again is not None:
            yield from self._others(
                again.workouts[self.built[0] :], again.summaries[self.built[1] :], pid
            )
        else:
            yield from self._others(c.workouts, c.summaries, pid)
        if self.unreadable:
            skipped["workouts with unreadable dates or type"] = self.unreadable


def _sources_of(c: Collector, group: str) -> set[str]:
    """The sources whose priority class decides a group's resources (sums and sleep)."""
    if group == SLEEP:
        return {source for _night, source in c.nights}
    return {k[2] for k in c.sums if k[0] == group}


def _release(c: Collector, group: str) -> None:
    """Drop a group's accumulators from the collector (its resources have left)."""
    if group == BP:
        c.pressures.clear()
    elif group == SLEEP:
        c.nights.clear()
    else:
        for k in [k for k in c.sums if k[0] == group]:
            del c.sums[k]
        for m in [m for m in c.means if m[0] == group]:
            del c.means[m]
