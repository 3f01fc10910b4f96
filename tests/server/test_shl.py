"""SMART Health Links end to end: `share` from one vault, served by a real `serve --http`,
`import`ed with the same code into a second vault; and every way a share refuses."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from healthlocker.connectors.shl._link import parse
from healthlocker.sharing import MAX_FAILURES, Shares, patient_summary
from healthlocker.store import Vault
from helpers import PASSPHRASE, run_cli
from server.remote import Server, serving

CODE = {"HEALTHLOCKER_SHL_PASSCODE": "maple-syrup-7"}
WRONG = {"HEALTHLOCKER_SHL_PASSCODE": "not-the-code"}


@pytest.fixture(scope="module")
def sharer(synthea_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the Synthea vault of its own: these tests make and forget shares in it."""
    home = tmp_path_factory.mktemp("sharer") / "vault"
    shutil.copytree(synthea_home, home)
    return home


@pytest.fixture(scope="module")
def server(sharer: Path) -> Iterator[Server]:
    with serving(sharer) as running:
        yield running


def _share(sharer: Path, server: Server, *extra: str, env: dict[str, str] = CODE) -> Any:
    if "--qr" not in extra:  # never into the folder the tests run in
        extra += ("--qr", str(sharer.parent / "share.png"))
    done = run_cli("share", "--public-url", server.base, "--json", *extra, home=sharer, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _receiver(tmp_path: Path) -> Path:
    home = tmp_path / "receiver"
    assert run_cli("init", home=home).returncode == 0
    return home


def _stored(home: Path) -> dict[str, int]:
    with Vault.open(home, prompt=lambda _: PASSPHRASE) as vault:
        return {s.label: s.total for s in vault.sources()}


def test_a_share_imports_into_another_vault_and_every_access_is_audited(
    sharer: Path, server: Server, tmp_path: Path
) -> None:
    made = _share(sharer, server, "--label", "For Dr Rivera", "--qr", str(tmp_path / "q.png"))
    assert (tmp_path / "q.png").read_bytes().startswith(b"\x89PNG")
    payload = parse(made["link"])
    assert payload.flag == "P" and payload.label == "For Dr Rivera"
    assert payload.exp == pytest.approx(time.time() + 7 * 86400, abs=120)
    receiver = _receiver(tmp_path)
    done = run_cli("import", made["link"], "--json", home=receiver, env=CODE)
    assert done.returncode == 0, done.stderr
    (imported,) = json.loads(done.stdout)["files"]
    assert imported["format"] == "shlink"
    assert imported["by_type"]["Composition"] == 1 and imported["by_type"]["Patient"] == 1
    with Vault.open(sharer, prompt=lambda _: PASSPHRASE) as vault:
        expected = patient_summary(vault).records
    assert imported["added"] == expected + 1  # and the Composition
    assert _stored(receiver) == {"For Dr Rivera": expected + 1}
    entries = json.loads(run_cli("audit", "--json", home=sharer).stdout)
    mine = [e for e in entries if e["client"] == "shl:For Dr Rivera"]
    assert [(e["tool"], e["outcome"], e["arguments"]["request"]) for e in mine] == [
        ("share", "allowed", "manifest"),
        ("share", "allowed", "file"),
    ]
    assert mine[0]["arguments"]["recipient"] == "healthlocker"


def test_a_wrong_passcode_is_refused_counted_and_ends_the_share(
    sharer: Path, server: Server, tmp_path: Path
) -> None:
    made = _share(sharer, server, "--label", "Counted")
    receiver = _receiver(tmp_path)
    done = run_cli("import", made["link"], home=receiver, env=WRONG)
    assert done.returncode == 1
    assert f"wrong passcode; {MAX_FAILURES - 1} attempts left" in done.stderr
    assert _stored(receiver) == {}
    url = parse(made["link"]).url
    for _ in range(MAX_FAILURES - 1):
        httpx2.post(url, json={"recipient": "guesser", "passcode": "guess"}, timeout=10)
    done = run_cli("import", made["link"], home=receiver, env=CODE)
    assert done.returncode == 1 and "no longer active" in done.stderr
    assert _stored(receiver) == {}
    listed = json.loads(run_cli("share", "--list", "--json", home=sharer).stdout)
    (counted,) = [s for s in listed if s["id"] == made["id"]]
    assert counted["disabled"] and counted["failures"] == MAX_FAILURES


def test_a_revoked_share_and_an_expired_one_are_refused(
    sharer: Path, server: Server, tmp_path: Path
) -> None:
    revoked = _share(sharer, server, "--label", "Revoked")
    assert run_cli("share", "--revoke", revoked["id"], home=sharer).returncode == 0
    with Vault.open(sharer, prompt=lambda _: PASSPHRASE) as vault:
        shares = Shares(vault)
        expired = shares.create(
            patient_summary(vault),
            base_url=server.base,
            label="Brief",
            duration=timedelta(seconds=1),
            passcode=None,
            what="patient summary",
        )
    time.sleep(1.5)
    receiver = _receiver(tmp_path)
    for link in (revoked["link"], expired.link):
        done = run_cli("import", link, home=receiver, env=CODE)
        assert done.returncode == 1
        assert "expired" in done.stderr or "no longer active" in done.stderr
    # The server's own check, not only the link's exp: the manifest of the expired share is 404.
    gone = httpx2.post(parse(expired.link).url, json={"recipient": "x"}, timeout=10)
    assert gone.status_code == 404
    assert _stored(receiver) == {}
    listed = json.loads(run_cli("share", "--list", "--json", home=sharer).stdout)
    assert {revoked["id"], expired.id}.isdisjoint(s["id"] for s in listed)


def test_files_are_embedded_on_request_and_their_locations_need_the_ticket(
    sharer: Path, server: Server
) -> None:
    made = _share(sharer, server, "--no-passcode", "--label", "Tickets", env={})
    url = parse(made["link"]).url
    embedded = httpx2.post(
        url, json={"recipient": "a viewer", "embeddedLengthMax": 10_000_000}, timeout=10
    ).json()
    assert embedded["files"][0]["contentType"] == "application/fhir+json"
    assert embedded["files"][0]["embedded"].count(".") == 4
    located = httpx2.post(url, json={"recipient": "a viewer"}, timeout=10).json()
    location = located["files"][0]["location"]
    got = httpx2.get(location, timeout=10)
    assert got.status_code == 200 and got.headers["content-type"] == "application/jose"
    assert got.text == embedded["files"][0]["embedded"]
    forged = location[:-3] + ("AAA" if not location.endswith("AAA") else "BBB")
    assert httpx2.get(forged, timeout=10).status_code == 403
    assert httpx2.get(location.split("?")[0], timeout=10).status_code == 403


def test_forgetting_a_source_ends_the_shares_holding_its_records(
    sharer: Path, server: Server, tmp_path: Path
) -> None:
    made = _share(sharer, server, "--label", "Forgotten")
    listed = json.loads(run_cli("share", "--list", "--json", home=sharer).stdout)
    assert made["id"] in {s["id"] for s in listed}
    assert run_cli("forget", "synthea", home=sharer).returncode == 0
    listed = json.loads(run_cli("share", "--list", "--json", home=sharer).stdout)
    assert listed == []
    gone = httpx2.post(parse(made["link"]).url, json={"recipient": "x"}, timeout=10)
    assert gone.status_code == 404
