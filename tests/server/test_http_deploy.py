"""Remote mode as deployed: tokens from an external identity provider, and several workers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from helpers import NODE_MODULES, free_port, node_binary, run_cli
from server.remote import OAuthClient, serving

HERE = Path(__file__).parent
CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "list_labs", "arguments": {"limit": 2}},
}
HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"}


@pytest.fixture(scope="module")
def home(synthea_home: Path) -> Path:
    return synthea_home


@pytest.fixture(scope="module")
def idp() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [str(node_binary()), str(HERE / "idp.mjs"), str(NODE_MODULES), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def _idp_token(idp: str, *, scope: str, aud: str, client: str = "cloud-assistant") -> str:
    r = httpx2.post(
        idp + "/token",
        data={"grant_type": "client_credentials", "scope": scope, "aud": aud, "client_id": client},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_tokens_of_an_external_provider_are_validated_and_mapped(home: Path, idp: str) -> None:
    with serving(home, "--issuer", idp, "--jwks-url", idp + "/jwks") as server:
        meta = httpx2.get(server.base + "/.well-known/oauth-protected-resource/mcp").json()
        assert meta["authorization_servers"] == [idp + "/"]
        assert httpx2.get(server.base + "/authorize").status_code == 404  # no built-in server
        good = _idp_token(idp, scope="read:list_labs", aud=server.mcp)
        headers = {**HEADERS, "Authorization": f"Bearer {good}"}
        # Valid, but the person has not granted anything to this client yet.
        refused = httpx2.post(server.mcp, json=CALL, headers=headers).json()["result"]
        assert refused["isError"] is True
        assert (
            "healthlocker grant list_labs --client cloud-assistant" in refused["content"][0]["text"]
        )
        grant = run_cli(
            "grant", "list_labs", "--client", "cloud-assistant", "--for", "1h", home=home
        )
        assert grant.returncode == 0, grant.stderr
        answered = httpx2.post(server.mcp, json=CALL, headers=headers).json()["result"]
        assert answered["isError"] is False
        assert answered["structuredContent"]["results"]
        wrong_aud = _idp_token(idp, scope="read:list_labs", aud="https://elsewhere.example/mcp")
        r = httpx2.post(
            server.mcp, json=CALL, headers={**HEADERS, "Authorization": f"Bearer {wrong_aud}"}
        )
        assert r.status_code == 401
        other_scope = _idp_token(idp, scope="read:get_meds", aud=server.mcp)
        r = httpx2.post(
            server.mcp, json=CALL, headers={**HEADERS, "Authorization": f"Bearer {other_scope}"}
        )
        assert r.status_code == 403


def test_two_workers_share_clients_codes_and_keys(home: Path) -> None:
    """Whichever worker answers, a client registered, authorized and refreshed on one works on
    the other: the state is in the vault, not in a process."""
    with serving(home, "--workers", "2") as server:
        workers = _children(server.process.pid)
        assert len(workers) >= 2  # uvicorn's supervisor spawns them (plus maybe a tracker)
        before = {pid: _cpu_ticks(pid) for pid in workers}
        client = OAuthClient.register(server, "Two Workers")
        client.authorize(scopes=["read:list_labs"])
        for _ in range(3):
            assert client.refresh().status_code == 200
        headers = {**HEADERS, "Authorization": f"Bearer {client.tokens['access_token']}"}
        for _ in range(30):
            # New connections spread over the workers (the kernel balances the shared socket).
            with httpx2.Client() as http:
                r = http.post(server.mcp, json=CALL, headers=headers)
            assert r.status_code == 200
            assert r.json()["result"]["isError"] is False
        busy = [pid for pid in workers if _cpu_ticks(pid) - before[pid] > 5]
        assert len(busy) >= 2, "the requests did not reach both workers"


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime
