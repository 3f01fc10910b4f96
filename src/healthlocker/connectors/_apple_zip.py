"""Reading an Apple Health ``export.zip`` in place: nothing is extracted to disk.

Only the members an export has are read (``export.xml``, ``clinical-records/*.json``); others
(``export_cda.xml``, ``workout-routes/*.gpx``, ``electrocardiograms/*.csv``) are listed, not
read. Before anything is read, every name is checked: a name with ``..``, an absolute path, a
drive, a backslash or a NUL, a symbolic link, a duplicate, an encrypted member, or a compression
other than stored/deflate refuses the whole archive. While reading, the bytes actually inflated
are counted against caps (per member, in total) and against the compressed bytes consumed (the
ratio a zip bomb needs is far above any real export's). A ``resourceFilePath`` in export.xml is
looked up as a member name, never opened as a path.

export.xml is inflated on a second thread (zlib releases the GIL), so the parser, on this one,
does not wait for it.
"""

from __future__ import annotations

import queue
import re
import stat
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from healthlocker.errors import ConnectorError, InputFormatError, LimitError, ParseError

MAX_MEMBERS = 200_000
MAX_XML_BYTES = 32 * 2**30  # inflated export.xml; real ones reach 4 GB
MAX_JSON_BYTES = 16 * 2**20  # one clinical record
MAX_TOTAL_BYTES = 40 * 2**30  # inflated, all members read
MAX_RATIO = 100  # inflated : compressed; exports deflate about 10-25:1, zip bombs 1000:1
RATIO_GRACE = 1 << 20  # below this much inflated, a high ratio is no threat
CHUNK = 1 << 20
_CLINICAL = re.compile(r"^/?clinical-records/[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.json$")
_KNOWN_FOLDERS = ("workout-routes/", "electrocardiograms/", "clinical-records/")


class _Counting:
    """The zip file, counting the bytes read from it (compressed bytes consumed)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.count += len(data)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def is_export_xml(name: str) -> bool:
    """export.xml at the top of the zip or in one folder (``apple_health_export/``)."""
    return name == "export.xml" or (name.endswith("/export.xml") and name.count("/") == 1)


def is_export_zip(names: list[str]) -> bool:
    return any(is_export_xml(n) for n in names)


def _check_name(info: zipfile.ZipInfo, where: str) -> None:
    name = info.filename
    parts = name.split("/")
    if (
        name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or ".." in parts
        or (len(name) > 1 and name[1] == ":")
    ):
        raise LimitError(
            f"refused: a member's name leaves the archive ({name[:80]!r}: absolute path, "
            "'..' or a drive)",
            where=where,
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise LimitError(f"refused: the member {name[:80]!r} is a symbolic link", where=where)


class ExportZip:
    """An open, checked export.zip."""

    def __init__(self, zf: zipfile.ZipFile, counting: _Counting, where: str) -> None:
        self.zf, self.counting, self.where = zf, counting, where
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise LimitError(f"a zip archive with over {MAX_MEMBERS:,} members", where=where)
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            _check_name(info, where)
            if info.filename in self.infos:
                raise LimitError(f"refused: two members named {info.filename[:80]!r}", where=where)
            self.infos[info.filename] = info
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
        self.inflated = 0

    def _open(self, info: zipfile.ZipInfo, cap: int) -> Any:
        place = f"{self.where}: {info.filename}"
        if info.flag_bits & 0x1:
            raise InputFormatError("the member is encrypted", where=place)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InputFormatError(
                f"the member uses compression method {info.compress_type}; exports use deflate",
                where=place,
            )
        if info.file_size > cap:
            raise LimitError(
                f"the member would inflate to {info.file_size:,} bytes, over the cap of {cap:,}",
                where=place,
            )
        try:
            return self.zf.open(info)
        except (zipfile.BadZipFile, zlib.error, OSError, ValueError) as exc:
            raise ParseError(f"the zip archive is damaged ({exc})", where=place) from None

    def _reader(self, info: zipfile.ZipInfo, cap: int) -> Callable[[], bytes]:
        """A function reading the next chunk of *info*, with every cap checked."""
        member = self._open(info, cap)
        place = f"{self.where}: {info.filename}"
        start = self.counting.count
        inflated = 0

        def read() -> bytes:
            nonlocal inflated
            try:
                chunk: bytes = member.read(CHUNK)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise ParseError(f"the zip archive is damaged ({exc})", where=place) from None
            inflated += len(chunk)
            self.inflated += len(chunk)
            if inflated > cap or self.inflated > MAX_TOTAL_BYTES:
                raise LimitError("inflates past the cap on uncompressed size", where=place)
            compressed = max(1, self.counting.count - start)
            if inflated > RATIO_GRACE and inflated > MAX_RATIO * compressed:
                raise LimitError(
                    f"refused: it inflates more than {MAX_RATIO}:1 (a zip bomb?)", where=place
                )
            return chunk

        return read

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
    where = str(path)
    with path.open("rb") as raw:
        counting = _Counting(raw)
        try:
            zf = zipfile.ZipFile(counting)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
            raise ParseError(f"not a readable zip archive ({exc})", where=where) from None
        with zf:
            yield ExportZip(zf, counting, where)


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
