"""The consent prompt: a tool call no live grant covers asks the person, through elicitation.

Uses the SDK's resolver pattern, so it works in both protocol eras: a resolver runs before the
tool body and either finds a live grant (nothing asked), finds a client that cannot show a
form (the call is refused with the exact `healthlocker grant` command), or asks. The answer
reaches the tool body as an ``ElicitationResult`` and becomes a grant -- made by the person,
never by a tool argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult
from mcp.types import ClientCapabilities, ElicitationCapability, FormElicitationCapability
from pydantic import BaseModel, Field

from healthlocker.catalogue import ToolSpec
from healthlocker.consent import Decision, grant_command, window_for
from healthlocker.errors import DeclinedError, RefusedError
from healthlocker.server._edge import REPORTED, edge
from healthlocker.server._state import ServerState

FORM = ClientCapabilities(elicitation=ElicitationCapability(form=FormElicitationCapability()))

_DURATIONS: dict[str, timedelta | None] = {
    "just this once": None,
    "for 1 hour": timedelta(hours=1),
    "for 24 hours": timedelta(hours=24),
    "for 30 days": timedelta(days=30),
}
_WINDOWS = {"all records": None, "the last 12 months": 12, "the last 3 months": 3}


class ConsentForm(BaseModel):
    allow: Literal["just this once", "for 1 hour", "for 24 hours", "for 30 days", "don't allow"] = (
        Field(
            title="Allow", description="Whether, and for how long, this assistant may use this tool"
        )
    )
    records: Literal["all records", "the last 12 months", "the last 3 months"] = Field(
        "all records", title="Records", description="Which period of your records it may see"
    )


@dataclass(frozen=True)
class Preset:
    """The resolver decided without asking."""

    kind: Literal["granted", "cannot_ask"]


Consent = ElicitationResult[ConsentForm]


def consent_resolver(state: ServerState, tool: ToolSpec) -> Any:
    def resolve(ctx: Context) -> Preset | Elicit[ConsentForm]:
        client = client_of(state)
        with edge("tool", tool.name):  # a vault that did not open says why, and asks nothing
            if state.decide(client=client, tool=tool.name).allowed:
                return Preset("granted")
        if not ctx.session.check_client_capability(FORM):
            return Preset("cannot_ask")
        return Elicit(
            f"healthlocker: may {client!r} read {tool.purpose} ({tool.name})? Choose for how "
            "long, and which period of your records it may see.",
            ConsentForm,
        )

    resolve.__name__ = f"consent_for_{tool.name}"
    return resolve


def client_of(state: ServerState) -> str:
    """The name this request's client goes by (see ``ServerState.client_name``)."""
    return state.client_name(REPORTED.get())


def settle(
    state: ServerState, *, client: str, tool: str, arguments: dict[str, Any], consent: Consent
) -> Decision | None:
    """The person's answer as a decision (None: a live grant decides), or refuse the call
    (auditing it with *arguments*, as the audit keeps them)."""
    if isinstance(consent, AcceptedElicitation):
        answer = consent.data
        if isinstance(answer, Preset):
            if answer.kind == "granted":
                return None
            state.refuse(
                client=client,
                tool=tool,
                arguments=arguments,
                outcome="refused",
                error=RefusedError(
                    f"No grant lets {client!r} use {tool}, and this client cannot show a "
                    f"consent prompt. To allow it, run: {grant_command(client=client, tool=tool)}"
                ),
            )
        if answer.allow != "don't allow":
            return state.grant(
                client=client,
                tool=tool,
                duration=_DURATIONS[answer.allow],
                window=window_for(months=_WINDOWS[answer.records]),
            )
    action = "cancelled the prompt" if consent.action == "cancel" else "did not allow it"
    state.refuse(
        client=client,
        tool=tool,
        arguments=arguments,
        outcome="declined",
        error=DeclinedError(
            f"The person {action}: {tool} returned no data. Ask them before trying again."
        ),
    )
