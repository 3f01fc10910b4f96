"""Reading a zip archive in place, safely: nothing is extracted to disk.

Before anything is read, every member's name is checked: a name with ``..``, an absolute path,
a drive, a backslash or a NUL, a symbolic link or a duplicate refuses the whole archive, and so
do more members than the caller's cap. A member is read only if it is neither encrypted nor
compressed other than stored/deflate. While reading, the bytes actually inflated are counted
against caps (per member, and in total for the archive) and against the compressed bytes
consumed: the ratio a zip bomb needs is far above any real export's. The sizes a zip declares
are only a first check; what counts is what inflates.

Used by the Apple Health (``apple._zip``) and MyFitnessPal (``wellness._mfp``) readers.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from healthlocker.connectors._read import Progress
from healthlocker.errors import InputFormatError, LimitError, ParseError

MAX_RATIO = 100  # inflated : compressed; exports deflate about 5-25:1, zip bombs 1000:1
RATIO_GRACE = 1 << 20  # below this much inflated, a high ratio is no threat
CHUNK = 1 << 20


class Counting:
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


def check_name(info: zipfile.ZipInfo, where: str) -> None:
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


class SafeZip:
    """An open zip archive whose member names were checked; members are read with caps."""

    def __init__(
        self,
        zf: zipfile.ZipFile,
        counting: Counting,
        where: str,
        *,
        max_members: int,
        max_total: int,
    ) -> None:
        self.zf, self.counting, self.where = zf, counting, where
        self.max_total = max_total
        infos = zf.infolist()
        if len(infos) > max_members:
            raise LimitError(f"a zip archive with over {max_members:,} members", where=where)
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            check_name(info, where)
            if info.filename in self.infos:
                raise LimitError(f"refused: two members named {info.filename[:80]!r}", where=where)
            self.infos[info.filename] = info
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
            if inflated > cap or self.inflated > self.max_total:
                raise LimitError("inflates past the cap on uncompressed size", where=place)
            compressed = max(1, self.counting.count - start)
            if inflated > RATIO_GRACE and inflated > MAX_RATIO * compressed:
                raise LimitError(
                    f"refused: it inflates more than {MAX_RATIO}:1 (a zip bomb?)", where=place
                )
            return chunk

        return read

    def chunks(self, name: str, cap: int, progress: Progress | None) -> Iterator[bytes]:
        """The inflated bytes of member *name*; *progress* gets the compressed bytes read."""
        read = self._reader(self.infos[name], cap)
        reported = self.counting.count
        while chunk := read():
            if progress is not None:
                now = self.counting.count
                progress(now - reported)
                reported = now
            yield chunk


Z = TypeVar("Z", bound=SafeZip)


@contextmanager
def open_zip(path: Path, make: Callable[[zipfile.ZipFile, Counting, str], Z]) -> Iterator[Z]:
    """The archive at *path*, checked by *make* (a :class:`SafeZip` subclass's constructor)."""
    where = str(path)
    with path.open("rb") as raw:
        counting = Counting(raw)
        try:
            zf = zipfile.ZipFile(counting)
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
            raise ParseError(f"not a readable zip archive ({exc})", where=where) from None
        with zf:
            yield make(zf, counting, where)
