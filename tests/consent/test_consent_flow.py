"""The consent prompt through the SDK's real client: accept, once, decline, cancel, and a
client that cannot show a prompt -- in both protocol eras, in memory and over stdio."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client import ClientRequestContext
from mcp.types import (
    ElicitRequestFormParams,
    ElicitRequestParams,
    ElicitResult,
    ErrorData,
    Implementation,
)

from healthlocker.connectors import import_paths
from healthlocker.consent import AuditLog, GrantStore
from healthlocker.server import build_server
from healthlocker.store import Vault
from helpers import PASSPHRASE, SAMPLES, run_cli

ERAS = ["legacy", "2026-07-28"]
PERSON = SAMPLES / "synthea" / "Alexis_Toy_68cd1181-6359-4047-a77f-a165d7912480.json"
INFO = Implementation(name="tester", version="1")


@pytest.fixture
def person(vault: Vault) -> Vault:
    assert import_paths(vault, [PERSON]).ok
    return vault


def answering(action: str, allow: str = "for 1 hour", records: str = "all records") -> Any:
    asked: list[str] = []

    async def callback(
        ctx: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        assert isinstance(params, ElicitRequestFormParams)
        asked.append(params.message)
        content = {"allow": allow, "records": records} if action == "accept" else None
        return ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    callback.asked = asked  # type: ignore[attr-defined]
    return callback


def _outcomes(vault: Vault) -> list[tuple[str, str, str]]:
    return [(e.event.client, e.event.tool, e.event.outcome) for e in AuditLog(vault).entries()]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_accept_for_an_hour_makes_a_grant_and_asks_once(person: Vault, mode: str) -> None:
    callback = answering("accept")
    async with Client(
        build_server(person), mode=mode, client_info=INFO, elicitation_callback=callback
    ) as client:
        first = await client.call_tool("list_labs", {"limit": 3})
        second = await client.call_tool("list_labs", {"limit": 3})
    assert not first.is_error and not second.is_error, first.content
    assert len(first.structured_content["results"]) == 3  # type: ignore[index]
    assert len(callback.asked) == 1
    assert "'tester'" in callback.asked[0]
    [grant] = GrantStore(person).all()
    assert (grant.client, grant.tool, grant.window) == ("tester", "list_labs", "all")
    assert _outcomes(person) == [("tester", "list_labs", "allowed")] * 2


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_just_this_once_stores_no_grant(person: Vault, mode: str) -> None:
    callback = answering("accept", allow="just this once")
    async with Client(
        build_server(person), mode=mode, client_info=INFO, elicitation_callback=callback
    ) as client:
        assert not (await client.call_tool("get_meds", {})).is_error
        assert not (await client.call_tool("get_meds", {})).is_error
    assert len(callback.asked) == 2
    assert GrantStore(person).all() == []
    assert [e.event.grant_id for e in AuditLog(person).entries()] == ["once", "once"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(
    ("action", "allow", "says"),
    [
        ("decline", "for 1 hour", "did not allow"),
        ("cancel", "for 1 hour", "cancelled"),
        ("accept", "don't allow", "did not allow"),
    ],
)
async def test_no_means_no_data(
    person: Vault, mode: str, action: str, allow: str, says: str
) -> None:
    async with Client(
        build_server(person),
        mode=mode,
        client_info=INFO,
        elicitation_callback=answering(action, allow=allow),
    ) as client:
        result = await client.call_tool("list_labs", {})
    assert result.is_error
    assert result.structured_content is None
    assert says in result.content[0].text  # type: ignore[union-attr]
    assert GrantStore(person).all() == []
    assert _outcomes(person) == [("tester", "list_labs", "declined")]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_client_without_prompts_gets_the_grant_command(person: Vault, mode: str) -> None:
    async with Client(build_server(person), mode=mode, client_info=INFO) as client:
        result = await client.call_tool("explain_coverage", {})
    assert result.is_error
    assert result.structured_content is None
    assert "healthlocker grant explain_coverage --client tester --for 1h" in result.content[0].text  # type: ignore[union-attr]
    assert _outcomes(person) == [("tester", "explain_coverage", "refused")]


@pytest.mark.anyio
async def test_a_refusal_looks_the_same_whether_or_not_data_exists(vault: Vault) -> None:
    texts = []
    for v in (vault, Vault.ephemeral()):
        if v is vault:
            import_paths(v, [PERSON])
        async with Client(build_server(v), mode="legacy", client_info=INFO) as client:
            texts.append((await client.call_tool("list_labs", {"test": "glucose"})).content[0].text)  # type: ignore[union-attr]
    assert texts[0] == texts[1]


@pytest.mark.anyio
async def test_data_window_from_the_prompt_limits_records(person: Vault) -> None:
    async with Client(
        build_server(person),
        mode="legacy",
        client_info=INFO,
        elicitation_callback=answering("accept", records="the last 3 months"),
    ) as c:
        result = await c.call_tool("list_labs", {})
    # The sample's records all end years ago: a 3-month window sees none of them.
    assert not result.is_error
    assert result.structured_content["total"] == 0  # type: ignore[index]
    assert GrantStore(person).all()[0].window == "last:3m"


@pytest.mark.anyio
async def test_grant_for_one_client_never_serves_another(person: Vault) -> None:
    GrantStore(person).add(
        client="claude", tool="all", duration=__import__("datetime").timedelta(hours=1)
    )
    async with Client(build_server(person), mode="legacy", client_info=INFO) as client:
        assert (await client.call_tool("list_labs", {})).is_error
    async with Client(build_server(person, client="claude"), mode="legacy", client_info=INFO) as c:
        assert not (await c.call_tool("list_labs", {})).is_error


@pytest.mark.anyio
async def test_revocation_takes_effect_on_the_next_call(person: Vault) -> None:
    store = GrantStore(person)
    grant = store.add(
        client="tester", tool="all", duration=__import__("datetime").timedelta(hours=1)
    )
    async with Client(build_server(person), mode="legacy", client_info=INFO) as client:
        assert not (await client.call_tool("get_meds", {})).is_error
        store.revoke(grant.id)
        assert (await client.call_tool("get_meds", {})).is_error


# -- over stdio, a real subprocess ---------------------------------------------------------


@pytest.fixture(scope="module")
def stdio_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("consent") / "vault"
    assert run_cli("init", home=home).returncode == 0
    assert run_cli("import", str(PERSON), home=home).returncode == 0
    return home


def _params(home: Path) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
    env.update(HEALTHLOCKER_HOME=str(home), HEALTHLOCKER_PASSPHRASE=PASSPHRASE)
    return StdioServerParameters(
        command=sys.executable, args=["-m", "healthlocker.cli", "serve"], env=env
    )


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
@pytest.mark.parametrize(
    ("callback", "ok", "says"),
    [
        (lambda: answering("accept", allow="just this once"), True, ""),
        (lambda: answering("decline"), False, "did not allow"),
        (lambda: answering("cancel"), False, "cancelled"),
        (lambda: None, False, "healthlocker grant get_meds --client"),
    ],
)
async def test_prompt_flows_over_stdio(
    stdio_home: Path, mode: str, callback: Callable[[], Any], ok: bool, says: str
) -> None:
    cb = callback()
    kwargs = {"elicitation_callback": cb} if cb else {}
    name = f"stdio-{mode}-{ok}-{says[:6]}"
    async with Client(
        _params(stdio_home), mode=mode, client_info=Implementation(name=name, version="1"), **kwargs
    ) as client:
        result = await client.call_tool("get_meds", {})
    assert result.is_error is not ok
    if ok:
        assert result.structured_content["medications"] is not None  # type: ignore[index]
    else:
        assert says in result.content[0].text  # type: ignore[union-attr]
