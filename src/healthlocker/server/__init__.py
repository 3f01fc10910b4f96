"""The MCP server: tools, prompts, the summary resource, and the stdio and
Streamable HTTP (OAuth) transports.

The only package that imports ``mcp``.
"""

from typing import TYPE_CHECKING

from healthlocker._lazy import lazy_attributes
from healthlocker.server._app import INSTRUCTIONS, build_server
from healthlocker.server._serve import serve_http, serve_stdio

if TYPE_CHECKING:
    from healthlocker.server._demo import demo_session

# The demo's client is loaded only by `healthlocker demo`, never by `serve`.
__getattr__ = lazy_attributes(__name__, {"demo_session": "_demo"})

__all__ = ["INSTRUCTIONS", "build_server", "demo_session", "serve_http", "serve_stdio"]
