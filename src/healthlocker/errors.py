"""The one error tree of healthlocker.

Every error a user can cause or meet derives from :class:`HealthLockerError`; its message says
what happened and what to do next, and never contains health data::

    HealthLockerError
    ├── ArgumentError               a tool or view argument out of range or form (also a ValueError)
    ├── StoreError                  the vault: opening, unlocking, reading, writing
    │   ├── VaultNotFoundError      no vault where one was expected (run `healthlocker init`)
    │   ├── VaultExistsError        `init` over an existing vault
    │   ├── UnlockError             wrong passphrase, or no way to get one
    │   ├── IntegrityError          a ciphertext failed authentication (edited, swapped, truncated)
    │   │   └── RollbackError       the vault file is older than the state last seen here
    │   └── SourceNotFoundError     `forget`/`status` named a source the vault does not hold
    ├── ConnectorError              input that cannot be imported
    │   ├── InputFormatError        not a format we read (or not FHIR at all)
    │   ├── ParseError              malformed JSON/NDJSON/XML/CSV, with file and place
    │   ├── LimitError              over an explicit cap (size, depth, entries, members)
    │   ├── ValidationError         a resource fails FHIR validation, with entry and element path
    │   ├── SyncError               a linked FHIR API (SMART on FHIR): HTTP failures, bad answers
    │   │   ├── AuthError           authorisation refused, expired or malformed (connect again)
    │   │   ├── OriginError         a URL off the approved FHIR origin, or a private address
    │   │   └── LinkNotFoundError   `sync`/`forget` named an API that is not linked
    │   └── ShlError                a SMART Health Link: passcode, expiry, files, keys, signatures
    ├── ConsentError                a tool call no live grant allows
    │   ├── RefusedError            no grant, and no way to ask the person (names the command)
    │   └── DeclinedError           the person said no, or dismissed the consent prompt
    ├── PeopleError                 who records are about: a person the vault does not know
    │   └── PersonUnclearError      a file about someone who looks like a person in the vault
    │                               but differs: nothing imported; choose with --person
    └── ShareError                  `healthlocker share`: what, how long, passcode, which share

The CLI turns any of these into one line on stderr and exit status 1; nothing else is caught
there, so a bug still shows its traceback. The MCP server maps them, in one place
(``server/_edge.py``), to tool, prompt and resource errors with the same message; anything else
is a bug, logged (its type and place only) and reported opaquely.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "AuthError",
    "ConnectorError",
    "ConsentError",
    "DeclinedError",
    "HealthLockerError",
    "InputFormatError",
    "IntegrityError",
    "LimitError",
    "LinkNotFoundError",
    "OriginError",
    "ParseError",
    "PeopleError",
    "PersonUnclearError",
    "RefusedError",
    "RollbackError",
    "ShareError",
    "ShlError",
    "SourceNotFoundError",
    "StoreError",
    "SyncError",
    "UnlockError",
    "ValidationError",
    "VaultExistsError",
    "VaultNotFoundError",
]


class HealthLockerError(Exception):
    """Root of every error healthlocker raises on purpose."""


class ArgumentError(HealthLockerError, ValueError):
    """An argument a caller (an assistant, or a library user) can correct; the message says how.

    Also a ``ValueError``, so library code that caught those keeps working.
    """


class StoreError(HealthLockerError):
    """The vault could not do what was asked."""


class VaultNotFoundError(StoreError):
    pass


class VaultExistsError(StoreError):
    pass


class UnlockError(StoreError):
    pass


class IntegrityError(StoreError):
    """A sealed value failed to open. Deliberately says nothing about why or what it held."""


class RollbackError(IntegrityError):
    """The vault file is older than it was when last used here (rolled back, or restored)."""


class SourceNotFoundError(StoreError):
    pass


class ConnectorError(HealthLockerError):
    """Input that cannot be imported. ``where`` names the file and the place inside it."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class InputFormatError(ConnectorError):
    pass


class ParseError(ConnectorError):
    pass


class LimitError(ConnectorError):
    pass


class ValidationError(ConnectorError):
    pass


class SyncError(ConnectorError):
    """A linked FHIR API could not be read; nothing of the failed sync is stored."""


class AuthError(SyncError):
    pass


class OriginError(SyncError):
    """A URL that is not on the approved FHIR origin; the token was not sent there."""


class LinkNotFoundError(SyncError):
    pass


class ShlError(ConnectorError):
    """A SMART Health Link that cannot be imported: nothing of it is stored."""


class ConsentError(HealthLockerError):
    """A tool call that no live grant allows; the message names the command that would."""


class RefusedError(ConsentError):
    """No live grant covers the call and the person could not be asked: the message names the
    exact `healthlocker grant` command that would allow it."""


class DeclinedError(ConsentError):
    """The person answered the consent prompt with no (or dismissed it): no data was read."""


class PeopleError(HealthLockerError):
    """Who records are about: a person the vault does not know, or a change that cannot be
    made (say, splitting a person's only record off them)."""


class PersonUnclearError(PeopleError):
    """A file is about someone who looks like a person in the vault but differs (say, the same
    name and another birth date): nothing of it is stored; ``--person`` chooses."""


class ShareError(HealthLockerError):
    """A share (a SMART Health Link made from the vault) that cannot be made or found."""
