"""The catalogue: each tool, prompt and resource declared once, and everything reads it."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata

import healthlocker.catalogue as catalogue
from healthlocker import charts
from healthlocker.catalogue import (
    PROMPTS,
    RESOURCES,
    TOOL_NAMES,
    TOOLS,
    ChartArguments,
    ToolSpec,
    tool,
)
from healthlocker.consent import OpenGate
from healthlocker.server import build_server
from healthlocker.server._http import PROMPT_TOOLS, RESOURCE_TOOLS, _needed
from healthlocker.server._tokens import ALL_SCOPES, scope_for, tools_in
from healthlocker.store import Vault
from helpers import ROOT, run_cli

EXPORTED = [
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


def test_exports_are_pinned() -> None:
    assert catalogue.__all__ == EXPORTED
    assert all(hasattr(catalogue, name) for name in EXPORTED)


def test_the_catalogue_never_imports_mcp_nor_the_views() -> None:
    """No ``mcp``: the server turns specs into tools. No view either: a server lists its
    tools from the catalogue without importing them (start-up); a tool's view and answer model
    load on its first call. (An argument's type, ``PlanOption``, loads its own module.)"""
    code = (
        "import sys, healthlocker.catalogue as c\n"
        "[s.output_schema for s in c.TOOLS]\n"
        "print(' '.join(m for m in sys.modules if m.split('.')[0] == 'mcp'\n"
        "    or m.startswith('healthlocker.records.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    views = {spec.view.__module__ for spec in TOOLS} | {spec.output.__module__ for spec in TOOLS}
    assert "healthlocker.records._labs" in views
    assert loaded and not any(m.split(".")[0] == "mcp" for m in loaded)
    assert loaded.isdisjoint(views)


def test_the_published_output_schemas_are_the_answer_models() -> None:
    """The output schema each tool publishes (``ToolSpec.output_schema``, from the
    catalogue's ``output_schemas.json``) is exactly the one the SDK derives from its answer
    model, so the file changes only with the models: ``UPDATE_SNAPSHOT=1`` rewrites it."""
    derived = {
        spec.name: FuncMetadata(arg_model=ArgModelBase, output_model=spec.output).output_schema
        for spec in TOOLS
    }
    path = Path(inspect.getfile(catalogue)).with_name("output_schemas.json")
    if os.environ.get("UPDATE_SNAPSHOT") == "1":
        path.write_text(json.dumps(derived, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert json.loads(path.read_text(encoding="utf-8")) == derived
    assert all(spec.output_schema == derived[spec.name] for spec in TOOLS)


@pytest.mark.parametrize("spec", TOOLS, ids=TOOL_NAMES)
def test_each_spec_is_whole_and_its_arguments_are_its_views(spec: ToolSpec) -> None:
    assert spec.scope == f"read:{spec.name}"
    assert tool(spec.name) is spec
    assert spec.title and spec.purpose and spec.description
    fields = spec.input.model_fields
    assert all(f.description for f in fields.values())
    assert "patient" in fields  # the person goes to the scope, not to the view
    view = inspect.signature(spec.view).parameters
    drawing = {"chart"} if issubclass(spec.input, ChartArguments) else set()  # nor the picture
    assert set(fields) - {"patient"} - drawing <= set(view)
    assert inspect.signature(spec.view).return_annotation in (spec.output, spec.output.__name__)
    for extra in spec.warm_calls():
        spec.input(**extra)  # the warm-up's arguments are valid ones


@pytest.mark.anyio
async def test_the_server_registers_exactly_the_catalogue(loaded_vault: Vault) -> None:
    async with Client(build_server(loaded_vault, gate=OpenGate())) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
    assert list(tools) == list(TOOL_NAMES)
    for spec in TOOLS:
        published = tools[spec.name]
        assert (published.title, published.description) == (spec.title, spec.description)
        assert set(published.input_schema["properties"]) == set(spec.input.model_fields)
        assert set(published.output_schema["properties"]) == set(spec.output.model_fields)  # type: ignore[index]
    assert {p.name: (p.title, p.description) for p in prompts.values()} == {
        p.name: (p.title, p.description) for p in PROMPTS
    }
    views = {v.uri for v in charts.VIEWS.values()}  # the charts' MCP Apps views
    assert set(resources) == {r.uri for r in RESOURCES} | views


def test_the_tools_with_a_chart_are_the_charts_tools() -> None:
    charted = [t.name for t in TOOLS if issubclass(t.input, ChartArguments)]
    assert sorted(charted) == sorted(charts.VIEWS)
    for name in charted:
        args = tool(name).input.model_fields
        assert args["chart"].default is False


def test_scopes_pages_and_the_cli_read_the_catalogue() -> None:
    assert [scope_for(t) for t in TOOL_NAMES] == ALL_SCOPES == [t.scope for t in TOOLS]
    assert tools_in(reversed(ALL_SCOPES)) == list(TOOL_NAMES)
    assert {p.name: p.reads for p in PROMPTS} == PROMPT_TOOLS
    assert {r.uri: r.reads for r in RESOURCES} == RESOURCE_TOOLS
    for reads in [*PROMPT_TOOLS.values(), *RESOURCE_TOOLS.values()]:
        assert set(reads) <= set(TOOL_NAMES)
    body = b'{"method": "prompts/get", "params": {"name": "prepare_for_visit"}}'
    assert _needed(body) == [
        "read:health_summary",
        "read:list_labs",
        "read:condition_overview",
    ]
    # a chart's view needs its tool's scope (the view holds no record; the scope names it)
    for view in charts.VIEWS.values():
        body = json.dumps({"method": "resources/read", "params": {"uri": view.uri}}).encode()
        assert _needed(body) == [scope_for(view.tool)]


def test_the_cli_offers_the_catalogues_tools(home: Path, vault: Vault) -> None:
    said = run_cli("grant", "no_such_tool", "--client", "x", home=home)
    assert said.returncode == 1
    assert ", ".join(TOOL_NAMES) in said.stderr


def test_adding_a_tool_is_written_down() -> None:
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    section = architecture.split("\n## tools\n", 1)[1].split("\n## ", 1)[0]
    for step in ("ToolSpec", "records", "Scope", "tests", "tool_list.snapshot.json"):
        assert step in section


def test_the_remote_docs_say_which_prompts_and_resources_need_each_scope() -> None:
    remote = (ROOT / "docs" / "remote.md").read_text()
    rows = {
        line.split("|")[1].strip(" `"): line for line in remote.splitlines() if "| `read:" in line
    }
    needs = [(p.name, p.reads) for p in PROMPTS] + [(r.uri, r.reads) for r in RESOURCES]
    for name, reads in needs:
        for read in reads:
            assert name in rows[tool(read).scope], (name, read)
