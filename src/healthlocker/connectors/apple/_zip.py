"""Reading an Apple Health ``export.zip`` in place: nothing is extracted to disk.

Only the members an export has are read (``export.xml``, ``clinical-records/*.json``); others
(``export_cda.xml``, ``workout-routes/*.gpx``, ``electrocardiograms/*.csv``) are listed, not
read. Member names, symbolic links, duplicates, compression methods, inflated sizes and the
compression ratio are checked as ``_zipsafe`` says; a ``resourceFilePath`` in export.xml is
looked up as a member name, never opened as a path.

export.xml is inflated on a second thread (zlib releases the GIL), so the parser, on this one,
does not wait for it.
"""

from __future__ import annotations

import queue
import re
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from healthlocker.connectors._zipsafe import Counting, SafeZip, open_zip
from healthlocker.errors import ConnectorError, InputFormatError, ParseError

MAX_MEMBERS = 200_000
MAX_XML_BYTES = 32 * 2**30  # inflated export.xml; real ones reach 4 GB
MAX_JSON_BYTES = 16 * 2**20  # one clinical record
MAX_TOTAL_BYTES = 40 * 2**30  # inflated, all members read
_CLINICAL = re.compile(r"^/?clinical-records/[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.json$")
_KNOWN_FOLDERS = ("workout-routes/", "electrocardiograms/", "clinical-records/")


def is_export_xml(name: str) -> bool:
    """export.xml at the top of the zip or in one folder (``apple_health_export/``)."""
    return name == "export.xml" or (name.endswith("/export.xml") and name.count("/") == 1)


def is_export_zip(names: list[str]) -> bool:
    return any(is_export_xml(n) for n in names)


class ExportZip(SafeZip):
    """An open, checked export.zip."""

    def __init__(self, zf: zipfile.ZipFile, counting: Counting, where: str) -> None:
        super().__init__(zf, counting, where, max_members=MAX_MEMBERS, max_total=MAX_TOTAL_BYTES)
        xml = sorted(
            (n for n in self.infos if is_export_xml(n)),
            key=lambda n: (n != "apple_health_export/export.xml", n),
        )
        if not xml:
            raise InputFormatError(
                "a zip archive, but not an Apple Health export: it has no export.xml", where=where
            )
        self.xml_name = xml[0]
        self.prefix = self.xml_name[: -len("export.xml")]

    def xml_chunks(self, progress: Callable[[int], None] | None) -> Iterator[bytes]:
        """export.xml's bytes, inflated on a second thread; *progress* gets compressed bytes."""
        read = self._reader(self.infos[self.xml_name], MAX_XML_BYTES)
        reported = self.counting.count
        for chunk in _threaded(read):
            if progress is not None:
                now = self.counting.count
                progress(now - reported)
                reported = now
            yield chunk

    def clinical(self, resource_path: str) -> tuple[str, bytes] | None:
        """The bytes of a clinical record named by export.xml, or None if it has no such file."""
        if not _CLINICAL.match(resource_path):
            return None
        name = self.prefix + resource_path.lstrip("/")
        info = self.infos.get(name)
        if info is None:
            return None
        read = self._reader(info, MAX_JSON_BYTES)
        parts = []
        while chunk := read():
            parts.append(chunk)
        return f"{self.where}: {name}", b"".join(parts)

    def unread(self, read: set[str]) -> dict[str, int]:
        """Members not read, by folder (or name): what the summary lists as not imported."""
        out: dict[str, int] = {}
        for name in self.infos:
            if name == self.xml_name or name in read or name.endswith("/"):
                continue
            rest = name[len(self.prefix) :] if name.startswith(self.prefix) else name
            label = next((f for f in _KNOWN_FOLDERS if rest.startswith(f)), rest[:60])
            out[label] = out.get(label, 0) + 1
        return out


@contextmanager
def open_export(path: Path) -> Iterator[ExportZip]:
    with open_zip(path, ExportZip) as z:
        yield z


def _threaded(read: Callable[[], bytes], depth: int = 4) -> Iterator[bytes]:
    """The chunks *read* returns (until an empty one), read ahead on another thread."""
    chunks: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            while not stop.is_set():
                chunk = read()
                chunks.put(chunk)
                if not chunk:
                    return
        except BaseException as exc:  # handed to the consumer, which raises it
            chunks.put(exc)

    worker = threading.Thread(target=run, name="healthlocker-unzip", daemon=True)
    worker.start()
    try:
        while True:
            item = chunks.get()
            if isinstance(item, BaseException):
                if isinstance(item, ConnectorError):
                    raise item
                raise ParseError(f"the zip archive could not be read ({item})") from None
            if not item:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                chunks.get_nowait()
            except queue.Empty:
                worker.join(0.01)
