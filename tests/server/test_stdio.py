"""`healthlocker serve` as a real subprocess over stdio: the SDK client, both eras, and the
MCP Inspector CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.types import Implementation

from helpers import NODE_MODULES, PASSPHRASE, SAMPLES, node_binary, run_cli


@pytest.fixture(scope="module")
def served_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("served") / "vault"
    assert run_cli("init", home=home).returncode == 0
    assert run_cli("import", str(SAMPLES / "synthea"), home=home).returncode == 0
    for client in ("stdio-test", "inspector"):
        assert run_cli("grant", "all", "--client", client, home=home).returncode == 0
    return home


def _env(home: Path, passphrase: str = PASSPHRASE) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
    return {**env, "HEALTHLOCKER_HOME": str(home), "HEALTHLOCKER_PASSPHRASE": passphrase}


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")])
async def test_stdio_session(served_home: Path, mode: str, version: str) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "healthlocker.cli", "serve"], env=_env(served_home)
    )
    info = Implementation(name="stdio-test", version="1")
    async with Client(params, mode=mode, client_info=info) as client:
        assert client.protocol_version == version
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"list_labs", "get_meds", "explain_coverage", "summarize_trends"} <= names
        result = await client.call_tool("list_labs", {"test": "2339-0", "limit": 2})
        assert not result.is_error, result.content
        assert [r["loinc"] for r in result.structured_content["results"]] == ["2339-0"] * 2  # type: ignore[index]


@pytest.mark.anyio
async def test_resources_and_prompts_read_under_the_clients_own_name(served_home: Path) -> None:
    """Regression: over stdio the summary resource read as client "local", which holds no
    grant, though the client that asked ("stdio-test") does."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "healthlocker.cli", "serve"], env=_env(served_home)
    )
    info = Implementation(name="stdio-test", version="1")
    async with Client(params, mode="legacy", client_info=info) as client:
        summary = await client.read_resource("healthlocker://summary")
        assert summary.contents[0].text.startswith("Health summary")  # type: ignore[union-attr]
        labs = await client.get_prompt("explain_my_labs", {"test": "glucose"})
        assert "Glucose" in labs.messages[0].content.text  # type: ignore[union-attr]
    said = run_cli("audit", "--json", "--client", "stdio-test", home=served_home)
    entries = json.loads(said.stdout)
    assert [(e["tool"], e["outcome"], e["arguments"]["via"]) for e in entries[-2:]] == [
        ("health_summary", "allowed", "healthlocker://summary"),
        ("list_labs", "allowed", "the prompt explain_my_labs"),
    ]


@pytest.mark.anyio
async def test_wrong_passphrase_is_a_clear_tool_error(served_home: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "healthlocker.cli", "serve"],
        env=_env(served_home, "wrong"),
    )
    async with Client(
        params, mode="legacy", client_info=Implementation(name="stdio-test", version="1")
    ) as client:
        assert (await client.list_tools()).tools
        result = await client.call_tool("get_meds", {})
        assert result.is_error
        assert "wrong passphrase" in result.content[0].text  # type: ignore[union-attr]


def _inspector(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    node = node_binary()
    cli = NODE_MODULES / "@modelcontextprotocol" / "inspector" / "cli" / "build" / "cli.js"
    return subprocess.run(
        [
            str(node),
            str(cli),
            "--cli",
            sys.executable,
            "-m",
            "healthlocker.cli",
            "serve",
            "--client",
            "inspector",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(home),
        check=False,
    )


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs Node's npm to install the Inspector")
def test_mcp_inspector_cli_lists_and_calls(served_home: Path) -> None:
    assert NODE_MODULES.is_dir(), "run scripts/setup --test: it installs the Inspector (tools/node)"
    listed = _inspector(served_home, "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr
    names = {t["name"] for t in json.loads(listed.stdout)["tools"]}
    assert {"list_labs", "get_meds", "explain_coverage", "summarize_trends"} <= names
    called = _inspector(served_home, "--method", "tools/call", "--tool-name", "get_meds")
    assert called.returncode == 0, called.stderr
    assert "medications" in json.loads(called.stdout)["structuredContent"]
