"""SMART on FHIR against real components on 127.0.0.1: sekmet-fhir loaded with the Synthea
samples, behind a gateway running oauth2-mock-server (PKCE, tokens signed and checked).

The connect flow runs headless: the test plays the browser, following the authorisation
redirect to the loopback receiver itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from connectors.smart.servers import SmartBench, cli_connect, patient_of, play_browser
from healthlocker.connectors import LinkStore, connect_link, sync_link
from healthlocker.errors import AuthError
from healthlocker.store import Vault
from helpers import PASSPHRASE, SAMPLES, load_json

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(
        shutil.which("npm") is None, reason="needs Node's npm to install oauth2-mock-server"
    ),
]
# The sample with the most records: it makes for the most pages.
PATIENT_FILE = "Austin_Spencer_29195483-ce99-4a73-9cee-2d6728078472.json"


@pytest.fixture(scope="module")
def bench() -> Iterator[tuple[SmartBench, str]]:
    with SmartBench.start() as b:
        patient = ""
        for path in sorted((SAMPLES / "synthea").glob("*.json")):
            response = b.load(load_json(path))
            if path.name == PATIENT_FILE:
                patient = patient_of(response)
        yield b, patient


@pytest.fixture
def server(bench: tuple[SmartBench, str]) -> Iterator[SmartBench]:
    b, patient = bench
    b.start_gateway(patient)
    yield b
    b.stop_gateway()


def _connect(vault: Vault, server: SmartBench, name: str = "clinic") -> Any:
    return connect_link(
        vault,
        name,
        fhir_base=server.fhir_base,
        client_id="healthlocker-test",
        open_url=play_browser,
    )


def _stored(vault: Vault) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["resourceType"], r["id"]): r for r in vault.iter_all()}


def test_connect_runs_a_pkce_launch_and_seals_the_tokens(vault: Vault, server: SmartBench) -> None:
    link = _connect(vault, server)
    patient = server.everything(link.patient)
    assert ("Patient", link.patient) in patient
    assert link.scope == "launch/patient patient/*.rs offline_access"
    assert link.refresh_token and link.access_token.count(".") == 2  # a signed JWT
    assert (link.expires_in() or 0) > 3000
    # Sealed: neither token is anywhere in the vault's files.
    vault.scrub()  # the log moved into the file, so the file holds everything written
    raw = b"".join(p.read_bytes() for p in Path(str(vault.path)).parent.iterdir() if p.is_file())
    assert link.access_token.encode() not in raw
    assert link.refresh_token.encode() not in raw
    assert link.patient.encode() not in raw
    assert "access_token" not in repr(link) and link.access_token not in repr(link)


def test_first_sync_stores_exactly_what_the_server_holds(vault: Vault, server: SmartBench) -> None:
    link = _connect(vault, server)
    result = sync_link(vault, "clinic", page_size=50)
    assert result.strategy == "everything"
    expected = server.everything(link.patient)
    assert _stored(vault) == expected
    assert result.added == len(expected) > 300


def test_paged_search_sync_matches_the_servers_searches(vault: Vault, server: SmartBench) -> None:
    link = _connect(vault, server)
    result = sync_link(vault, "clinic", page_size=7, use_everything=False)
    assert result.strategy == "search"
    expected: dict[tuple[str, str], dict[str, Any]] = {
        ("Patient", link.patient): server.upstream_get(f"Patient/{link.patient}")
    }
    for rtype in result.fetched:
        if rtype != "Patient":
            for r in server.search_all(rtype, patient=link.patient):
                expected[(rtype, r["id"])] = r
    assert _stored(vault) == expected
    observations = result.fetched["Observation"]
    assert observations == len(server.search_all("Observation", patient=link.patient)) > 200
    # At 7 a page, every next link was followed (one request per page, one metadata).
    pages = sum(-(-n // 7) for n in result.fetched.values())
    assert result.stats.requests >= 1 + pages


def test_incremental_sync_fetches_only_what_changed(vault: Vault, server: SmartBench) -> None:
    link = _connect(vault, server)
    sync_link(vault, "clinic")
    time.sleep(1.1)  # _lastUpdated has one-second steps; the cursor is the server's clock
    again = sync_link(vault, "clinic")
    assert again.incremental and again.fetched == {} and again.batch is None
    observation = server.search_all("Observation", patient=link.patient)[0]
    observation["status"] = "amended"
    server.put(observation)
    changed = sync_link(vault, "clinic")
    assert changed.fetched == {"Observation": 1}
    assert (changed.added, changed.updated) == (0, 1)
    assert _stored(vault)[("Observation", observation["id"])]["status"] == "amended"


def test_an_expired_token_is_refreshed_for_real(
    vault: Vault, bench: tuple[SmartBench, str]
) -> None:
    b, patient = bench
    b.start_gateway(patient, token_ttl=2)
    try:
        link = _connect(vault, b)
        time.sleep(2.5)
        assert (link.expires_in() or 0) < 0
        result = sync_link(vault, "clinic")
        assert result.stats.refreshes == 0  # refreshed before use, not after a 401
        assert LinkStore(vault).get("clinic").access_token != link.access_token
        assert _stored(vault) == b.everything(patient)
    finally:
        b.stop_gateway()


def test_a_forged_callback_is_refused_and_the_real_one_still_works(
    vault: Vault, server: SmartBench
) -> None:
    def browser_and_attacker(url: str) -> None:
        redirect_uri = httpx2.URL(url).params["redirect_uri"]
        forged = httpx2.get(f"{redirect_uri}?code=evil&state=guessed", timeout=10)
        assert forged.status_code == 400
        play_browser(url)
        # Replaying the real redirect (state already used) is refused too.

    link = connect_link(
        vault,
        "clinic",
        fhir_base=server.fhir_base,
        client_id="healthlocker-test",
        open_url=browser_and_attacker,
    )
    assert link.patient


def test_an_authorisation_the_server_refuses_links_nothing(
    vault: Vault, server: SmartBench
) -> None:
    def deny(url: str) -> None:
        # The gateway refuses an authorisation request whose aud is not its FHIR base.
        answer = httpx2.get(url.replace("aud=http", "aud=https"), timeout=10)
        assert answer.status_code == 302
        refused = httpx2.get(answer.headers["location"], timeout=10)
        assert refused.status_code == 400

    with pytest.raises(AuthError, match="refused"):
        connect_link(
            vault, "clinic", fhir_base=server.fhir_base, client_id="x", open_url=deny, timeout=10
        )
    assert LinkStore(vault).all() == []


# -- the command line, as a user runs it ---------------------------------------------------------


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
    env |= {"HEALTHLOCKER_HOME": str(home), "HEALTHLOCKER_PASSPHRASE": PASSPHRASE}
    return subprocess.run(
        [sys.executable, "-m", "healthlocker.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_cli_connect_sync_sources_forget(home: Path, server: SmartBench) -> None:
    assert _cli(home, "init").returncode == 0
    out, err = cli_connect(home, server.fhir_base)
    assert "Linked 'clinic'" in out and "healthlocker sync clinic" in out

    sync = _cli(home, "sync", "--json")
    assert sync.returncode == 0, sync.stderr
    [summary] = json.loads(sync.stdout)
    assert summary["ok"] and summary["added"] > 300 and not summary["incremental"]
    plain = _cli(home, "sync", "clinic")
    assert plain.returncode == 0 and re.match(r"Synced 'clinic': 0 fetched", plain.stdout)

    links = json.loads(_cli(home, "sources", "--json", "--links").stdout)
    assert [link["name"] for link in links] == ["clinic"]
    assert links[0]["last_sync"] and links[0]["expires_at"] and links[0]["has_refresh_token"]
    assert not {"access_token", "refresh_token", "client_secret"} & set(links[0])
    table = _cli(home, "sources")
    assert "Linked APIs" in table.stdout and "clinic" in table.stdout
    for output in (out, err, sync.stdout, plain.stdout, table.stdout):
        assert "eyJ" not in output  # no JWT (access token) ever printed

    forget = _cli(home, "forget", "clinic")
    assert forget.returncode == 0 and "link and tokens are deleted" in forget.stdout
    assert json.loads(_cli(home, "sources", "--json", "--links").stdout) == []
    assert json.loads(_cli(home, "sources", "--json").stdout) == []
    again = _cli(home, "sync", "clinic")
    assert again.returncode == 1 and "no linked API named 'clinic'" in again.stderr
