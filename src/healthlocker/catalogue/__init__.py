"""The catalogue: every tool, prompt and resource, declared once.

A ``ToolSpec`` holds a tool's name, title, purpose (in the person's words), description (for
the model), OAuth scope, argument model and view function; the server registers the tools from
it, and the consent prompt and page, OAuth scopes, warm-up, the CLI's ``grant`` choices and the
docs' tests all read it. No ``mcp`` here: ``server/`` turns the specs into MCP tools.
"""

from healthlocker.catalogue._prompts import PROMPTS, RESOURCES
from healthlocker.catalogue._spec import (
    CHARS_PER_TOKEN,
    SCOPE_PREFIX,
    Arguments,
    ChartArguments,
    PromptSpec,
    ResourceSpec,
    ToolSpec,
    estimate_tokens,
)
from healthlocker.catalogue._tools import TOOLS

TOOL_NAMES: tuple[str, ...] = tuple(t.name for t in TOOLS)
_BY_NAME = {t.name: t for t in TOOLS}


def tool(name: str) -> ToolSpec:
    """The spec of the tool called *name* (KeyError if there is none)."""
    return _BY_NAME[name]


__all__ = [
    "CHARS_PER_TOKEN",
    "PROMPTS",
    "RESOURCES",
    "SCOPE_PREFIX",
    "TOOLS",
    "TOOL_NAMES",
    "Arguments",
    "ChartArguments",
    "PromptSpec",
    "ResourceSpec",
    "ToolSpec",
    "estimate_tokens",
    "tool",
]
