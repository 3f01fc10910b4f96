"""The MCP bundle (`scripts/build-mcpb`) and the MCP Registry's `server.json`: valid against
their published schemas, true to this version, and the bundle really runs the way a host runs
it (uv builds its environment from the bundle, the server unlocks with the passphrase setting)."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import Implementation

from distribution.offline import UV, WHEELHOUSE, clean_env
from healthlocker import __version__
from healthlocker.catalogue import TOOL_NAMES
from helpers import PASSPHRASE, ROOT, SAMPLES, run_cli

DATA = Path(__file__).parent / "data"


def _validate(document: Any, schema_file: str) -> None:
    schema = json.loads((DATA / schema_file).read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mcpb")
    built = subprocess.run(
        [str(ROOT / "scripts" / "build-mcpb"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    path = Path(built.stdout.strip().splitlines()[-1])
    assert path == out / f"healthlocker-{__version__}.mcpb"
    return path


def test_the_bundle_manifest_is_valid_and_keeps_the_passphrase_secret(bundle: Path) -> None:
    with zipfile.ZipFile(bundle) as z:
        manifest = json.loads(z.read("manifest.json"))
        names = set(z.namelist())
        person = json.loads(z.read("src/healthlocker/cli/demo_person/ehr.json"))
    _validate(manifest, "mcpb-manifest-v0.4.schema.json")
    assert manifest["manifest_version"] == "0.4"
    assert manifest["version"] == __version__
    assert manifest["server"]["type"] == "uv"
    assert manifest["user_config"]["passphrase"]["sensitive"] is True
    env = manifest["server"]["mcp_config"]["env"]
    assert env["HEALTHLOCKER_PASSPHRASE"] == "${user_config.passphrase}"
    assert [t["name"] for t in manifest["tools"]] == list(TOOL_NAMES)
    # What each reads, in the words the consent prompt uses, for the person installing it.
    assert manifest["tools"][0]["description"] == "Reads your lab results"
    assert {"pyproject.toml", "README.md", "server/main.py"} <= names
    assert manifest["server"]["entry_point"] in names
    assert "src/healthlocker/records/lab_catalog.json" in names
    assert "src/healthlocker/catalogue/output_schemas.json" in names  # tools/list reads it
    assert person["resourceType"] == "Bundle"  # the link, resolved
    assert not [n for n in names if "__pycache__" in n or ".venv" in n or n.startswith("tests/")]


@pytest.mark.anyio
async def test_the_bundle_runs_as_a_host_runs_it(bundle: Path, tmp_path: Path) -> None:
    """Unpacked, its mcp_config filled in from the person's settings as the host does, and
    started with uv (offline, from the wheelhouse): a tool call answers from the vault."""
    home = tmp_path / "vault"
    for args in (
        ("init",),
        ("import", str(SAMPLES / "bluebutton")),
        ("grant", "all", "--client", "mcpb-test"),
    ):
        assert run_cli(*args, home=home).returncode == 0, args
    folder = tmp_path / "installed"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(folder)
        config = json.loads(z.read("manifest.json"))["server"]["mcp_config"]
    # Online, the host's uv resolves for every platform from the package index; offline, from
    # this machine's wheelhouse, it can only resolve for this machine, so it is told so.
    here = (
        f"sys_platform == '{sys.platform}' and platform_machine == '{platform.machine()}' and "
        f"python_full_version == '{platform.python_version()}'"
    )
    with (folder / "pyproject.toml").open("a") as f:
        f.write(f'\n[tool.uv]\nenvironments = ["{here}"]\n')
    settings = {
        "__dirname": str(folder),
        "user_config.vault_folder": str(home),
        "user_config.passphrase": PASSPHRASE,
    }

    def filled(text: str) -> str:
        for key, value in settings.items():
            text = text.replace("${" + key + "}", value)
        return text

    assert config["command"] == "uv"
    uv_env = clean_env(
        UV_OFFLINE="1",
        UV_NO_INDEX="1",
        UV_FIND_LINKS=str(WHEELHOUSE),
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
        UV_PYTHON=sys.executable,
    )
    session = {k: uv_env[k] for k in uv_env if k.startswith("UV_") or k in ("HOME", "PATH")}
    params = StdioServerParameters(
        command=str(UV),
        args=[filled(a) for a in config["args"]],
        env=session | {k: filled(v) for k, v in config["env"].items()},
    )
    info = Implementation(name="mcpb-test", version="1")
    async with Client(params, mode="legacy", client_info=info) as client:
        result = await client.call_tool("explain_coverage", {})
        assert not result.is_error, result.content
        assert result.structured_content is not None
        assert result.structured_content["claims"]["count"] > 0


def test_server_json_is_valid_and_this_version() -> None:
    server = json.loads((ROOT / "server.json").read_text())
    _validate(server, "server.schema.json")
    assert server["version"] == __version__
    [package] = server["packages"]
    assert (package["identifier"], package["version"]) == ("healthlocker", __version__)
    assert package["packageArguments"] == [{"type": "positional", "value": "serve"}]
    secret = {v["name"]: v.get("isSecret", False) for v in package["environmentVariables"]}
    assert secret == {"HEALTHLOCKER_HOME": False, "HEALTHLOCKER_PASSPHRASE": True}
    # The registry checks the package's description names the server: the README is it.
    assert f"mcp-name: {server['name']}" in (ROOT / "README.md").read_text()


def test_the_schema_checks_reject_what_is_wrong() -> None:
    """The validation is not vacuous: a passphrase setting of a type the manifest does not
    know, and a server.json description over 100 characters, are errors."""
    server = json.loads((ROOT / "server.json").read_text())
    with pytest.raises(AssertionError, match="is too long"):
        _validate(server | {"description": "x" * 101}, "server.schema.json")
    manifest = {
        "manifest_version": "0.4",
        "name": "x",
        "version": "1",
        "description": "x",
        "author": {"name": "x"},
        "server": {"type": "uv", "entry_point": "m.py"},
        "user_config": {"p": {"type": "password", "title": "p", "description": "p"}},
    }
    with pytest.raises(AssertionError, match="is not one of"):
        _validate(manifest, "mcpb-manifest-v0.4.schema.json")
