"""Running the server over stdio, as an assistant spawns it from its MCP config."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from healthlocker.errors import HealthLockerError, StoreError
from healthlocker.store import Vault

if TYPE_CHECKING:
    from healthlocker.server._http import HttpConfig

_CONFIG_ENV = "HEALTHLOCKER_HTTP_CONFIG"

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


def serve_http(
    *,
    home: str | None,
    config: HttpConfig,
    workers: int = 1,
    prompt: Callable[[str], str] | None = None,
) -> None:
    """Serve remote mode with uvicorn until SIGINT/SIGTERM (graceful: in-flight requests end).

    One worker opens the vault here (asking for the passphrase on a terminal if need be). Several
    workers each open it themselves, so the passphrase must come from the environment or the OS
    keyring; the vault's WAL and its sealed OAuth state let them serve the same clients.
    """
    import uvicorn

    from healthlocker.server._http import build_http_app

    config.check()
    vault = Vault.open(home, prompt=prompt if workers == 1 else None)
    log.warning(
        "healthlocker: serving MCP at %s (%s); grants and audit at %s/account",
        config.resource,
        f"tokens from {config.issuer}" if config.issuer else "built-in authorization server",
        config.base,
    )
    options: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "log_level": "warning",
        "access_log": False,  # request lines carry one-time secrets (consent request ids)
        "server_header": False,
        # A client's address (rate limits, passphrase tries) is the proxy's own unless its
        # forwarded headers are trusted: from a proxy on this machine (an https --public-url
        # on a loopback bind) or, with --behind-tls-proxy, from FORWARDED_ALLOW_IPS.
        "proxy_headers": config.behind_proxy or config.base.startswith("https://"),
        # Half-open requests are cut off, and one address holds at most 64 connections.
        "http": "healthlocker.server._conn:GuardedHTTPProtocol",
        # Longer than clients keep idle connections (httpx: 5 s), so a client never reuses a
        # connection the server is closing at that moment.
        "timeout_keep_alive": 30,
        "timeout_graceful_shutdown": 10,
        "limit_concurrency": 500,
    }
    if workers == 1:
        uvicorn.run(build_http_app(vault, config), **options)
        return
    vault.close()
    os.environ[_CONFIG_ENV] = json.dumps({"home": home, **asdict(config)})
    uvicorn.run("healthlocker.server._serve:app_from_env", factory=True, workers=workers, **options)


def app_from_env() -> Any:
    """A worker's app (``uvicorn --factory``): the settings the parent put in the environment."""
    from healthlocker.server._http import HttpConfig, build_http_app

    settings = json.loads(os.environ[_CONFIG_ENV])
    home = settings.pop("home")
    return build_http_app(Vault.open(home, prompt=None), HttpConfig(**settings))
