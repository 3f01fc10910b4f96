"""The MCP server: tools, prompts, the summary resource, and the stdio and
Streamable HTTP (OAuth) transports.

The only package that imports ``mcp``. The other names load on first use: the stdio server
never needs the HTTP stack, and the command line's ``grants``, ``audit`` and ``revoke
--client`` read the registered clients (``client_labels``, ``find_client``, ``revoke_client``)
without loading the server at all (``_serve`` imports ``mcp`` only when it serves).
"""

from typing import TYPE_CHECKING

from healthlocker._lazy import lazy_attributes
from healthlocker.server._serve import serve_http, serve_stdio

if TYPE_CHECKING:
    from healthlocker.server._app import INSTRUCTIONS, build_server
    from healthlocker.server._demo import demo_session
    from healthlocker.server._http import HttpConfig
    from healthlocker.server._registry import (
        ClientLabel,
        Revoked,
        client_labels,
        find_client,
        revoke_client,
    )

__getattr__ = lazy_attributes(
    __name__,
    {
        "INSTRUCTIONS": "_app",
        "build_server": "_app",
        "demo_session": "_demo",
        "HttpConfig": "_http",
        "ClientLabel": "_registry",
        "Revoked": "_registry",
        "client_labels": "_registry",
        "find_client": "_registry",
        "revoke_client": "_registry",
    },
)

__all__ = [
    "INSTRUCTIONS",
    "ClientLabel",
    "HttpConfig",
    "Revoked",
    "build_server",
    "client_labels",
    "demo_session",
    "find_client",
    "revoke_client",
    "serve_http",
    "serve_stdio",
]
