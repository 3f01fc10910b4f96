"""The QR code of a link, as a PNG a phone's camera reads (error correction M, as the IG
recommends). Written readable by the owner only: the link in it holds the key."""

from __future__ import annotations

import io
import os
from pathlib import Path

import segno


def write_qr(link: str, path: Path) -> None:
    """Write *link*'s QR code to *path* (replacing it), as a PNG."""
    buffer = io.BytesIO()
    segno.make(link, error="m", micro=False, boost_error=False).save(
        buffer, kind="png", scale=6, border=4
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(buffer.getvalue())
