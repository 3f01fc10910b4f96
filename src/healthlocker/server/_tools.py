"""The MCP tools: one gate, registered once per catalogued tool.

Each ``ToolSpec`` becomes an SDK ``Tool`` whose parameters are the spec's argument fields as
declared, plus the consent resolver; its body is ``answer``: settle consent, read through the
consent scope (cached), audit, map errors, return structure and text. Nothing here is specific
to one tool.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.apps import client_supports_apps
from mcp.server.mcpserver import Context, Resolve
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations

from healthlocker.catalogue import TOOLS, Arguments, ChartArguments, ToolSpec
from healthlocker.consent import AuditEvent
from healthlocker.errors import HealthLockerError
from healthlocker.server._asks import remote_consent
from healthlocker.server._consent import Consent, client_of, consent_resolver, settle
from healthlocker.server._edge import edge
from healthlocker.server._state import ServerState
from healthlocker.server._views import picture, tool_meta
from healthlocker.store import Vault

if TYPE_CHECKING:
    from healthlocker.records import Answer

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def answer(
    state: ServerState, tool: ToolSpec, args: Arguments, consent: Consent, *, shown: bool
) -> CallToolResult:
    """The gate every call passes: consent, the scoped and cached answer, exactly one audit
    entry, and errors mapped for the client. *shown*: the client shows MCP Apps views."""
    with edge("tool", tool.name):
        client = client_of(state)
        decision = settle(
            state, client=client, tool=tool.name, arguments=args.audited(), consent=consent
        )
        view = state.run(client=client, tool=tool, args=args, decision=decision)
        return _result(tool, args, view, shown)


def answer_remote(
    state: ServerState, ctx: Context, tool: ToolSpec, args: Arguments
) -> CallToolResult | InputRequiredResult:
    """:func:`answer` over HTTP: consent comes from the person on this server's page (or a
    live grant), never from a form the client could fill in itself."""
    with edge("tool", tool.name):
        client = client_of(state)
        decision = remote_consent(state, ctx, client=client, tool=tool, arguments=args.audited())
        if isinstance(decision, InputRequiredResult):
            return decision  # ask the person first; the retry is the call
        view = state.run(client=client, tool=tool, args=args, decision=decision)
        return _result(tool, args, view, client_supports_apps(ctx))


def _result(tool: ToolSpec, args: Arguments, view: Answer, shown: bool) -> CallToolResult:
    """The text and the structure; and, when the call's chart goes as a picture (asked for,
    or the client cannot show its view), the chart drawn from that same structure."""
    structure = view.structured()
    text = TextContent(type="text", text=view.render())
    drawn = isinstance(args, ChartArguments) and args.picture(shown)
    return CallToolResult(
        content=[text, *(picture(tool.name, structure) if drawn else [])],
        structured_content=structure,
    )


def tools(state: ServerState) -> list[Tool]:
    """The SDK tools of every catalogued tool, for ``MCPServer(tools=...)``."""
    return [_tool(state, spec) for spec in TOOLS]


def _tool(state: ServerState, spec: ToolSpec) -> Tool:
    remote = state.over_http

    def call(ctx: Context, **arguments: Any) -> CallToolResult | InputRequiredResult:
        # The SDK validated the arguments against these very fields: no second validation.
        consent = arguments.pop("consent", None)
        args = spec.input.model_construct(**arguments)
        if remote:
            return answer_remote(state, ctx, spec, args)
        return answer(state, spec, args, consent, shown=client_supports_apps(ctx))

    # The SDK reads a tool's parameters from its signature (and type hints): they are the
    # spec's fields, declared once in the catalogue, plus the context and, for a local client,
    # the consent answer (its own form; over HTTP the person answers on this server's page).
    hints = typing.get_type_hints(spec.input, include_extras=True)
    # The tool's own fields first, then the shared ones (``chart``, ``patient``).
    fields = sorted(spec.input.model_fields, key=lambda n: n in ChartArguments.model_fields)
    resolved = inspect.Parameter(
        "consent",
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[Consent, Resolve(consent_resolver(state, spec))],
    )
    params = [
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context),
        *([] if remote else [resolved]),
        *(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=hints[name],
                default=_default(spec.input, name),
            )
            for name in fields
        ),
    ]
    call.__signature__ = inspect.Signature(params, return_annotation=CallToolResult)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in params} | {"return": CallToolResult}
    call.__name__ = call.__qualname__ = f"{spec.name}_tool"
    tool = Tool.from_function(
        call,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        annotations=READ_ONLY,
        meta=tool_meta(spec.name),  # MCP Apps: ``_meta.ui.resourceUri``, its chart's view
    )
    # Publish the output schema, the catalogue's copy of the one the SDK would derive from
    # ``spec.output`` (deriving 12 of them took a quarter of start-up), and do not validate
    # each result against it: a result is the ``model_dump`` of a view pydantic built and
    # checked, and parsing it back into the same model took a third of a large call.
    # ``FuncMetadata``'s fields are read live, and a schema published without a model is
    # "advertised but not validated" (its docs); the SDK's client still checks every result
    # against the published schema in the tests.
    tool.fn_metadata.output_schema = spec.output_schema
    return tool


def _default(model: type[Arguments], name: str) -> Any:
    field = model.model_fields[name]
    return inspect.Parameter.empty if field.is_required() else field.default


def audit_failed(state: ServerState, tool: str, arguments: dict[str, Any]) -> None:
    """Audit a call that failed before any entry was written (bad arguments, named but never
    their values; an unknown tool; an answer the SDK refused)."""
    state.record(
        AuditEvent(client=client_of(state), tool=tool, arguments=arguments, outcome="failed")
    )


def warm_up(state: ServerState) -> None:
    """Build the answers each spec names to warm (``ToolSpec.warm_calls``), before a client waits.

    A remote-mode worker starts cold: its first calls would each decrypt and index the records
    they read, fill the catalog caches and build their serializers, while every other call
    waited behind them on the vault's lock. This pays for that at start-up, one answer at a
    time (each under the lock, so a call arriving meanwhile waits for one view, not all of
    them). Nothing leaves the process, so nothing is audited.
    """
    from healthlocker.records import Scope

    def build(spec: ToolSpec, args: Arguments) -> Callable[[Vault], Answer]:
        return lambda vault: spec.answer(Scope.for_tool(vault), args)

    for spec in TOOLS:
        for extra in spec.warm_calls():
            try:
                view = state.using(build(spec, spec.input(**extra)))
            except HealthLockerError:  # no such data, or the vault could not open
                continue
            view.structured()
            view.render()
