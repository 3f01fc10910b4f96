"""The MCP server: tools, prompts, the summary resource, and the stdio transport.

The only package that imports ``mcp``.
"""

from healthlocker.server._app import INSTRUCTIONS, build_server
from healthlocker.server._serve import serve_stdio

__all__ = ["INSTRUCTIONS", "build_server", "serve_stdio"]
