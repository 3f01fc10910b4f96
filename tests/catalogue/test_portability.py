"""The schemas the server publishes read the same in every client: the MCP Inspector's schema
portability rules (its v2 ``--strict`` lint) find nothing in them, and Ajv's strict mode (the
validator of the TypeScript SDK) compiles each without a warning.

The Inspector in tools/node (0.15) predates the lint, so its rules are applied here as its
documentation states them: a ``type`` written as a list (``["string", "null"]``), a bare
``true``/``false`` where a schema belongs, an ``anyOf``/``oneOf`` branch or a property without
a ``type``, ``$ref``/``$defs``, and a ``format`` outside the nine every provider accepts. Issue
14 found 137 of them on the output schemas, all type lists: nullable fields now publish their one
type and are optional, as answers leave nulls out.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client

from healthlocker.consent import OpenGate
from healthlocker.server import build_server
from healthlocker.store import Vault
from helpers import NODE_MODULES, node_binary

FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")


def findings(schema: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """(rule, place) for each portability problem in *schema*."""
    if isinstance(schema, bool):
        yield "boolean-schema", where
        return
    if not isinstance(schema, dict):
        return
    if isinstance(schema.get("type"), list):
        yield "type-union", where
    if "$ref" in schema or "$defs" in schema or "definitions" in schema:
        yield "ref-or-defs", where
    if "format" in schema and schema["format"] not in FORMATS:
        yield "format", where
    for key in ("anyOf", "oneOf"):
        for i, branch in enumerate(schema.get(key) or ()):
            if isinstance(branch, dict) and "type" not in branch and "$ref" not in branch:
                yield "branch-without-type", f"{where}/{key}/{i}"
    for name, sub in (schema.get("properties") or {}).items():
        typed = ("type", "anyOf", "oneOf", "enum", "const", "$ref")
        if isinstance(sub, dict) and not any(k in sub for k in typed):
            yield "property-without-type", f"{where}/properties/{name}"
    for key in _SCHEMA_LISTS:
        for i, sub in enumerate(schema.get(key) or ()):
            yield from findings(sub, f"{where}/{key}/{i}")
    for key in _SCHEMA_MAPS:
        for name, sub in (schema.get(key) or {}).items():
            yield from findings(sub, f"{where}/{key}/{name}")
    for key in ("items", "additionalProperties", "not", "if", "then", "else"):
        if key in schema and not (key == "additionalProperties" and schema[key] is False):
            yield from findings(schema[key], f"{where}/{key}")


@pytest.fixture(scope="module")
async def tools(vault: Vault) -> list[dict[str, Any]]:
    async with Client(build_server(vault, gate=OpenGate())) as client:
        listed = (await client.list_tools()).tools
    return [t.model_dump(by_alias=True, exclude_none=True) for t in listed]


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    from helpers import PASSPHRASE

    with Vault.create(tmp_path_factory.mktemp("portable"), passphrase=PASSPHRASE) as v:
        yield v


def test_the_rules_find_what_they_are_for() -> None:
    bad = {
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"]},
            "b": True,
            "c": {"description": "anything"},
            "d": {"anyOf": [{"$ref": "#/$defs/X"}, {"description": "x"}]},
            "e": {"type": "string", "format": "uri"},
        },
    }
    assert sorted(r for r, _ in findings(bad)) == [
        "boolean-schema",
        "branch-without-type",
        "format",
        "property-without-type",
        "ref-or-defs",
        "type-union",
    ]


@pytest.mark.anyio
async def test_output_schemas_are_portable(tools: list[dict[str, Any]]) -> None:
    found = {t["name"]: sorted({rule for rule, _ in findings(t["outputSchema"])}) for t in tools}
    assert found == {t["name"]: [] for t in tools}
    assert all(t["outputSchema"]["type"] == "object" for t in tools)


@pytest.mark.anyio
async def test_input_schemas_have_no_type_lists_or_untyped_choices(
    tools: list[dict[str, Any]],
) -> None:
    # Inputs keep pydantic's two-way anyOf for optional arguments (each branch typed) and the
    # plan comparison's nested $defs: portable to every client the rules name.
    serious = {"type-union", "boolean-schema", "branch-without-type", "property-without-type"}
    found = {
        t["name"]: sorted({r for r, _ in findings(t["inputSchema"]) if r in serious}) for t in tools
    }
    assert found == {t["name"]: [] for t in tools}


_AJV = """
import { createRequire } from "module";
const require = createRequire(process.argv[2] + "/package.json");
const Ajv = require("ajv").default;
const addFormats = require("ajv-formats").default ?? require("ajv-formats");
let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = {};
for (const [name, schema] of Object.entries(JSON.parse(input))) {
  const said = [];
  const logger = { log() {}, warn: (...a) => said.push(a.join(" ")),
                   error: (...a) => said.push(a.join(" ")) };
  const ajv = new Ajv({ strict: "log", allErrors: true, logger });
  addFormats(ajv);
  try { ajv.compile(schema); } catch (e) { said.push("refused: " + e.message); }
  out[name] = said;
}
console.log(JSON.stringify(out));
"""


@pytest.mark.anyio
async def test_ajv_in_strict_mode_compiles_every_schema_without_a_word(
    tools: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    sdk = NODE_MODULES / "@modelcontextprotocol" / "sdk"
    assert sdk.is_dir(), "run scripts/setup: it installs the TypeScript SDK's Ajv in tools/node"
    script = tmp_path_factory.mktemp("ajv") / "strict.mjs"
    script.write_text(_AJV, encoding="utf-8")
    schemas = {f"{t['name']} {k}": t[k] for t in tools for k in ("inputSchema", "outputSchema")}
    done = subprocess.run(
        [str(node_binary()), str(script), str(sdk)],
        input=json.dumps(schemas),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    said = json.loads(done.stdout)
    assert said == {name: [] for name in schemas}
