"""The official MCP conformance suite (npm @modelcontextprotocol/conformance) against a real
`serve --http`, as an OAuth client the person has allowed every tool for 30 days.

The suite's server mode cannot send a bearer token, so it talks to `bearer_proxy`, which adds
one and changes nothing else. The scenarios expected to fail, each with its reason, are in
conformance-expected-failures.yml; the suite itself exits non-zero on any other failure and on a
listed scenario that now passes, so both fail this test.

Two passes are hollow: tools-call-simple-text and tools-call-error accept the SDK's
"Unknown tool" error result, so they pass without the fixture tools. The baseline would go stale
(and this test fail) if the server ever answered an unknown tool differently.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from healthlocker.catalogue import TOOL_NAMES as TOOLS
from helpers import NODE_MODULES, node_binary
from server.bearer_proxy import bearer_proxy
from server.remote import OAuthClient, Server

SUITE = NODE_MODULES / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
BASELINE = Path(__file__).with_name("conformance-expected-failures.yml")
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "proxy-check", "version": "1"},
    },
}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def proxy(server: Server) -> Iterator[str]:
    """The proxy's base URL, carrying a token for every tool, granted for 30 days."""
    client = OAuthClient.register(server, "MCP conformance suite")
    tokens = client.authorize(duration="30d")
    assert tokens["scope"].split() == [f"read:{tool}" for tool in TOOLS]
    with bearer_proxy(server.base, tokens["access_token"]) as url:
        yield url


def test_the_proxy_adds_the_token_and_keeps_host_and_origin(server: Server, proxy: str) -> None:
    assert httpx2.post(server.mcp, json=INITIALIZE, headers=MCP_HEADERS).status_code == 401
    own = proxy.removeprefix("http://")
    ok = httpx2.post(proxy + "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, "Origin": proxy})
    assert ok.status_code == 200, ok.text
    assert ok.json()["result"]["serverInfo"]["name"]
    foreign = {**MCP_HEADERS, "Host": "evil.example.com"}
    assert httpx2.post(proxy + "/mcp", json=INITIALIZE, headers=foreign).status_code == 421
    foreign = {**MCP_HEADERS, "Host": own, "Origin": "http://evil.example.com"}
    assert httpx2.post(proxy + "/mcp", json=INITIALIZE, headers=foreign).status_code == 403


def test_the_conformance_suite_fails_only_the_listed_scenarios(proxy: str, tmp_path: Path) -> None:
    results = tmp_path / "results"  # the suite's raw per-scenario checks.json, kept out of the repo
    args = ["server", "--url", proxy + "/mcp", "--expected-failures", str(BASELINE)]
    done = subprocess.run(
        [str(node_binary()), str(SUITE), *args, "-o", str(results)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        check=False,
    )
    # The suite's own report is shown only on failure, indented: its closing
    # "Total: N passed, M failed" line counts checks, and must not pass for a test count.
    report = ANSI.sub("", done.stdout + done.stderr).splitlines()
    shown = "\n".join("  conformance | " + line for line in report)
    exit_code = done.returncode
    assert exit_code == 0, f"the conformance suite failed:\n{shown}\n(end of its report)"
    assert "Baseline check passed" in done.stdout, shown

    summary = _summary(done.stdout)
    assert summary["server-initialize"] == ("✓", 1, 0)
    assert summary["dns-rebinding-protection"] == ("✓", 2, 0)
    failing = _failing_scenarios(results)
    assert set(summary) >= failing
    assert failing == set(_baseline()), shown
    passing = set(summary) - failing
    assert {"server-initialize", "ping", "tools-list", "resources-list", "prompts-list"} <= passing
    assert "dns-rebinding-protection" in passing


def _summary(stdout: str) -> dict[str, tuple[str, int, int]]:
    """Scenario -> (mark, checks passed, checks failed), from the suite's SUMMARY block."""
    block = stdout.split("=== SUMMARY ===", 1)[1]
    found = re.findall(r"^([✓✗]) ([\w-]+): (\d+) passed, (\d+) failed$", block, re.MULTILINE)
    return {name: (mark, int(ok), int(bad)) for mark, name, ok, bad in found}


def _failing_scenarios(results: Path) -> set[str]:
    """Scenarios with a FAILURE or WARNING check (the suite counts both), from the -o files."""
    failing = set()
    for checks in results.glob("server-*/checks.json"):
        name = re.sub(r"^server-|-\d{4}-\d\d-\d\dT.*$", "", checks.parent.name)
        statuses = {c["status"] for c in json.loads(checks.read_text(encoding="utf-8"))}
        if statuses & {"FAILURE", "WARNING"}:
            failing.add(name)
    return failing


def _baseline() -> list[str]:
    """The scenario names listed under ``server:`` (the suite itself validates the file)."""
    text = BASELINE.read_text(encoding="utf-8").split("\nserver:\n", 1)[1].split("\nclient:", 1)[0]
    return re.findall(r"^  - ([\w-]+)$", text, re.MULTILINE)
