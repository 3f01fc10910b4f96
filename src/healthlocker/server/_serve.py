"""Running the server over stdio, as an assistant spawns it from its MCP config."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from healthlocker.errors import HealthLockerError, StoreError
from healthlocker.store import Vault

log = logging.getLogger("healthlocker.server")


def _opener(home: str | None, ephemeral: Sequence[str] | None) -> Vault:
    if ephemeral is None:
        # No prompt: on stdio, stdin is the transport. The passphrase comes from the
        # environment or the OS keyring.
        return Vault.open(home, prompt=None)
    from healthlocker.connectors import import_paths

    vault = Vault.ephemeral()
    report = import_paths(vault, [Path(p) for p in ephemeral], source="session")
    if not report.ok:
        vault.close()
        first = next(f.error for f in report.files if f.error)
        raise StoreError(f"--ephemeral import failed: {first}")
    return vault


def serve_stdio(
    *, home: str | None = None, client: str | None = None, ephemeral: Sequence[str] | None = None
) -> None:
    """Serve MCP over stdin/stdout until the client closes the stream."""
    from healthlocker.server._app import build_server

    def opener() -> Vault:
        try:
            return _opener(home, ephemeral)
        except HealthLockerError as exc:
            # One line on stderr, where MCP clients show a server's log; no health data in it.
            log.error("healthlocker: %s", exc)
            raise

    server = build_server(opener, client=client)
    server.run("stdio")
