"""The MCP server: tools, prompts, the summary resource, and the stdio and
Streamable HTTP (OAuth) transports.

The only package that imports ``mcp``.
"""

from healthlocker.server._app import INSTRUCTIONS, build_server
from healthlocker.server._serve import serve_http, serve_stdio

__all__ = ["INSTRUCTIONS", "build_server", "serve_http", "serve_stdio"]
