"""The MCP server: tools, prompts, the summary resource, and the stdio and
Streamable HTTP (OAuth) transports.

The only package that imports ``mcp``. ``HttpConfig`` loads on first use: the stdio server never
needs the HTTP stack.
"""

from typing import TYPE_CHECKING

from healthlocker._lazy import lazy_attributes
from healthlocker.server._app import INSTRUCTIONS, build_server
from healthlocker.server._serve import serve_http, serve_stdio

if TYPE_CHECKING:
    from healthlocker.server._http import HttpConfig

__getattr__ = lazy_attributes(__name__, {"HttpConfig": "_http"})

__all__ = ["INSTRUCTIONS", "HttpConfig", "build_server", "serve_http", "serve_stdio"]
