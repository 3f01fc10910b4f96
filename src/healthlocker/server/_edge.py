"""The server's edge: healthlocker's errors become MCP errors here, and nowhere else.

A ``HealthLockerError`` is something the person or the assistant can act on (an argument to
correct, a grant to make, a vault to unlock): its message goes to the client as it is, as a tool
error, or as a JSON-RPC error for prompts and resources. Anything else is a bug: it is logged on
stderr by type and place only (never its message, which could hold record text or argument
values) and the client gets an opaque message.

``Edge`` is the server's middleware: for every request it notes the name the client reported
(the server decides on the client's name from it, tokens and ``--client``), and it checks a
catalogued tool's arguments before the SDK does, so that a bad call gets one plain line per bad
argument (not pydantic's report with its links) and is audited as failed, like any other call.
It audits around the whole call: a tool call that ends without its entry (an unknown tool, an
elicitation answer that does not fit the form, anything the SDK refused) is audited as failed
here; a call whose entry cannot be written fails and says so. Only a round that asks the client
for input (``InputRequiredResult``) is not a finished call: its retry is.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import traceback
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import anyio.to_thread
from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import INTERNAL_ERROR, INVALID_PARAMS, CallToolResult, TextContent
from mcp_types.methods import is_input_required
from pydantic import BaseModel, ValidationError

from healthlocker.errors import ArgumentError, ConsentError, HealthLockerError

INTERNAL = "healthlocker hit an internal error; the server log has details"
REFUSED = -32001  # implementation-defined JSON-RPC error: no grant covers the request's reads

log = logging.getLogger("healthlocker.server")
Kind = Literal["tool", "prompt", "resource"]
# The client name the current request's client reported (MCP's clientInfo), if any.
REPORTED: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "healthlocker_reported_client", default=None
)
_TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass
class _Call:
    """The tool call in progress: whether its audit entry is written."""

    audited: bool = False


_CALL: contextvars.ContextVar[_Call | None] = contextvars.ContextVar(
    "healthlocker_call", default=None
)


def audited() -> None:
    """Say that the current tool call's audit entry is written (it is not audited again)."""
    call = _CALL.get()
    if call is not None:
        call.audited = True


@contextlib.contextmanager
def edge(kind: Kind, name: str) -> Iterator[None]:
    """Run a tool's, prompt's or resource's body; map what it raises for the client."""
    try:
        yield
    except (MCPError, ToolError):
        raise  # already an MCP answer (the SDK's own, or mapped further in)
    except HealthLockerError as exc:
        raise mapped(kind, exc) from None
    except Exception as exc:
        log_bug(exc, f"{kind} {name}")
        raise mapped(kind, None) from None


def mapped(kind: Kind, exc: HealthLockerError | None) -> Exception:
    """The MCP error a client gets for *exc* (None: a bug, reported opaquely)."""
    message = str(exc) if exc is not None else INTERNAL
    if kind == "tool":
        return ToolError(message)
    if isinstance(exc, ConsentError):
        return MCPError(REFUSED, message)
    if isinstance(exc, ArgumentError):
        return MCPError(INVALID_PARAMS, message)
    return MCPError(INTERNAL_ERROR, message)


def log_bug(exc: BaseException, during: str) -> None:
    """One line on stderr: the exception's type and where it was raised; nothing it says."""
    frames = traceback.extract_tb(exc.__traceback__)
    place = (
        f"{Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}"
        if frames
        else "an unknown place"
    )
    log.error("healthlocker: internal error during %s: %s at %s", during, type(exc).__name__, place)


M = TypeVar("M", bound=BaseModel)


def checked(model: type[M], values: dict[str, Any]) -> M:
    """*values* as *model*, or an ArgumentError with one line per bad value."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise ArgumentError("some arguments are not valid:\n" + argument_problems(exc)) from None


# pydantic's error types in plain words ({...} from the error's context); others keep its message.
_PLAIN = {
    "missing": "is required",
    "date_type": "must be a date written YYYY-MM-DD, e.g. 2024-01-31",
    "date_parsing": "must be a date written YYYY-MM-DD, e.g. 2024-01-31",
    "date_from_datetime_parsing": "must be a date written YYYY-MM-DD, e.g. 2024-01-31",
    "date_from_datetime_inexact": "must be a date written YYYY-MM-DD, e.g. 2024-01-31",
    "greater_than_equal": "must be {ge} or more",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be {le} or less",
    "less_than": "must be less than {lt}",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "string_too_short": "must be at least {min_length} character(s) long",
    "string_too_long": "must be at most {max_length} characters long",
    "list_type": "must be a list",
    "too_long": "must hold at most {max_length} items",
    "dict_type": "must be an object with named fields",
    "model_type": "must be an object with named fields",
    "literal_error": "must be {expected}",
    "extra_forbidden": "is not an argument here",
}


def argument_problems(exc: ValidationError) -> str:
    """One plain line per bad argument: where, and what is wrong (no values, no links)."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        plain = _PLAIN.get(error["type"])
        context = {
            k: f"{v:g}" if isinstance(v, float) else v for k, v in error.get("ctx", {}).items()
        }
        try:
            message = plain.format(**context) if plain else None
        except (KeyError, IndexError):
            message = None
        if message is None:
            message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"- {where.lstrip('.') or 'arguments'}: {message}")
    return "\n".join(lines)


def unknown_arguments(name: str, given: Mapping[str, Any], known: Collection[str]) -> str | None:
    """The lines for arguments *name* does not take (a misspelt one would be ignored, and the
    answer would look like the answer to another question), or None."""
    unknown = sorted(k for k in given if k not in known)
    if not unknown:
        return None
    takes = ", ".join(sorted(known)) or "none"
    return "\n".join(f"- {k}: is not an argument of {name} (it takes: {takes})" for k in unknown)


class Edge:
    """The server's middleware (``ServerMiddleware``): see the module's docstring.

    *check* validates each catalogued tool's arguments as the SDK will (raising pydantic's
    ``ValidationError``); *failed(tool, arguments)* audits a call that failed before any entry
    was written, with its arguments as the audit keeps them.
    """

    def __init__(
        self,
        check: Mapping[str, Callable[[dict[str, Any]], object]],
        failed: Callable[[str, dict[str, Any]], None],
        known: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self._check = check
        self._failed = failed
        self._known = known or {}

    async def __call__(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        params = ctx.session.client_params
        token = REPORTED.set(params.client_info.name if params else None)
        try:
            if ctx.method == "tools/call":
                return await self._tool_call(ctx, call_next)
            return await call_next(ctx)
        finally:
            REPORTED.reset(token)

    async def _tool_call(
        self, ctx: ServerRequestContext[Any, Any], call_next: CallNext
    ) -> HandlerResult:
        call = _Call()
        token = _CALL.set(call)
        params = ctx.params if isinstance(ctx.params, Mapping) else {}
        name = str(params.get("name"))
        shown = name if _TOOL_NAME.match(name) else f"<unknown, {len(name)} chars>"
        try:
            result: HandlerResult = await self._arguments(name, params.get("arguments") or {})
            if result is None:
                result = await call_next(ctx)
        except BaseException:
            if not call.audited:
                await self._audit_failed(shown, {})
            raise
        finally:
            _CALL.reset(token)
        if call.audited or is_input_required(result):
            return result
        return await self._audit_failed(shown, {}, result)

    async def _arguments(self, name: str, arguments: Any) -> HandlerResult:
        check = self._check.get(name)
        if check is None or not isinstance(arguments, dict):
            return None  # not ours, or not an object: the SDK answers it (audited after)
        known = self._known.get(name)
        problems = unknown_arguments(name, arguments, known) if known is not None else None
        fields = sorted(k for k in arguments if known is not None and k not in known)
        try:
            check(arguments)
        except ValidationError as exc:
            fields = sorted({*fields, *(str(e["loc"][0]) for e in exc.errors() if e["loc"])})
            problems = "\n".join(p for p in (argument_problems(exc), problems) if p)
        if not problems:
            return None
        text = f"{name}: some arguments are not valid; correct them and call again:\n{problems}"
        result = CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
        return await self._audit_failed(name, dict.fromkeys(fields, "<invalid>"), result)

    async def _audit_failed(
        self, tool: str, arguments: dict[str, Any], result: HandlerResult = None
    ) -> HandlerResult:
        """Audit a call that failed before its entry was written; *result* is what the client
        gets, which says so when the entry cannot be written either."""
        try:
            await anyio.to_thread.run_sync(self._failed, tool, arguments)
            return result
        except HealthLockerError as exc:
            problem = str(exc)
        except Exception as bug:
            log_bug(bug, f"auditing tool {tool}")
            problem = INTERNAL
        text = "This call could not be audited: " + problem
        if isinstance(result, dict):
            result = CallToolResult.model_validate(result)
        if isinstance(result, CallToolResult) and result.is_error:
            content = [*result.content, TextContent(type="text", text=text)]
            return CallToolResult(content=content, is_error=True)
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
