"""Sharing: SMART Health Links made from the vault for a clinician (``healthlocker share``).

What a share holds (``patient_summary``: an International Patient Summary; or
``records_of_types``), the shares themselves, sealed in the vault, and what ``serve --http``
answers for them (:class:`Shares`), and the QR code of a link (``write_qr``). The link's
format and encryption are the SMART Health Links connector's (``connectors.shl``).
"""

from typing import TYPE_CHECKING

from healthlocker._lazy import lazy_attributes

if TYPE_CHECKING:
    from healthlocker.sharing._ips import Summary, patient_summary, records_of_types
    from healthlocker.sharing._qr import write_qr
    from healthlocker.sharing._shares import (
        MAX_DURATION,
        MAX_FAILURES,
        Answer,
        NewShare,
        ShareInfo,
        Shares,
    )

# On first use: `serve` loads this only when a share is asked for.
_LAZY = {
    "MAX_DURATION": "_shares",
    "MAX_FAILURES": "_shares",
    "Answer": "_shares",
    "NewShare": "_shares",
    "ShareInfo": "_shares",
    "Shares": "_shares",
    "Summary": "_ips",
    "patient_summary": "_ips",
    "records_of_types": "_ips",
    "write_qr": "_qr",
}

__getattr__ = lazy_attributes(__name__, _LAZY)

__all__ = [
    "MAX_DURATION",
    "MAX_FAILURES",
    "Answer",
    "NewShare",
    "ShareInfo",
    "Shares",
    "Summary",
    "patient_summary",
    "records_of_types",
    "write_qr",
]
