"""Attacks on the SMART sync by a hostile or compromised FHIR server (or its DNS), each
performed through ``httpx2.MockTransport``: none may send the token elsewhere, crash the sync,
or store anything of a sync it broke.
"""

from __future__ import annotations

import json

import httpx2
import pytest

from connectors.smart.fake_ehr import (
    BASE,
    PATIENT,
    PUBLIC_IP,
    FakeEhr,
    complete,
    dns,
    fake_net,
    nothing_stored,
    observation,
    patient,
    save_link,
    stored,
)
from healthlocker.connectors import LinkStore, sync_link
from healthlocker.errors import AuthError, OriginError, SyncError
from healthlocker.store import Vault


def _first_page_links_to(target: str) -> FakeEhr:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path == "/fhir/Observation" and not request.url.params.get("_offset"):
            return FakeEhr.bundle([observation(0)], target)
        return None

    return FakeEhr(hook=hook)


@pytest.mark.parametrize(
    "target",
    [
        f"{BASE}/%2e%2e/admin/secrets",  # the reported attack
        f"{BASE}/%2E%2E/%2E%2E/admin",
        f"{BASE}/.%2e/admin",
        f"{BASE}/Observation/..%2f..%2fadmin",  # an encoded slash
        f"{BASE}/%252e%252e/admin",  # double encoding, for a server that decodes twice
        f"{BASE}/..%5cadmin",  # an encoded backslash
    ],
)
def test_a_next_link_climbing_out_of_the_base_is_refused_before_the_token_goes(
    vault: Vault, target: str
) -> None:
    fake = _first_page_links_to(target)
    save_link(vault)
    with pytest.raises(OriginError, match="token was not sent"):
        sync_link(vault, "ehr", net=fake_net(fake, []))
    assert len(fake.seen) == 3  # metadata, Patient, first Observation page; never the target
    assert all(r.url.path.startswith("/fhir/") for r in fake.seen)
    assert not any(b"%2" in r.url.raw_path.split(b"?")[0].lower() for r in fake.seen)
    nothing_stored(vault)


def test_dot_segments_inside_the_base_are_resolved_and_the_resolved_path_is_sent(
    vault: Vault,
) -> None:
    fake = _first_page_links_to(f"{BASE}/Patient/%2e%2e/Observation?patient=p1&_offset=4")
    save_link(vault)
    sync_link(vault, "ehr", net=fake_net(fake, []))
    sent = [r.url.raw_path for r in fake.seen]
    assert b"/fhir/Observation?patient=p1&_offset=4" in sent  # what the server was sent
    assert not any(b"%2e" in path.lower() for path in sent)
    held = stored(vault)
    assert held[("Observation", "o0")] == observation(0)
    assert len(held) == 1 + 1 + 6  # Patient, o0, then o4..o9 from the followed link


def _deep(depth: int) -> bytes:
    resource = (
        '{"resourceType":"Observation","id":"deep","status":"final","code":{"text":"x"},'
        '"extension":' + "[" * depth + "]" * depth + "}"
    )
    return (
        '{"resourceType":"Bundle","type":"searchset","entry":[{"resource":' + resource + "}]}"
    ).encode()


@pytest.mark.parametrize("depth", [150, 100_000])
def test_a_deeply_nested_answer_is_a_clear_error_not_a_traceback(vault: Vault, depth: int) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path == "/fhir/Observation":
            return httpx2.Response(200, content=_deep(depth))
        return None

    save_link(vault)
    with pytest.raises(SyncError, match=r"Observation: the server's answer is nested over 100"):
        sync_link(vault, "ehr", net=fake_net(FakeEhr(hook=hook), []))
    nothing_stored(vault)


def test_a_deeply_nested_token_answer_is_refused_too(vault: Vault) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path == "/token":
            return httpx2.Response(200, content=b"[" * 100_000 + b"]" * 100_000)
        if request.url.path == "/fhir/Observation":
            return httpx2.Response(401)
        return None

    save_link(vault)
    with pytest.raises(AuthError, match="token refresh: the token endpoint's answer is not JSON"):
        sync_link(vault, "ehr", net=fake_net(FakeEhr(hook=hook), []))
    nothing_stored(vault)


def test_dns_rebinding_between_check_and_connection_cannot_reach_a_private_address(
    vault: Vault,
) -> None:
    """The attacker's DNS answers a public address once, then 127.0.0.1 (a short TTL). Every
    request goes to the address checked for it; the rebound answer is refused outright."""
    answers: list[str] = []

    def rebinding(host: str) -> list[str]:
        answers.append(PUBLIC_IP if not answers else "127.0.0.1")
        return [answers[-1]]

    fake = FakeEhr()
    save_link(vault)
    with pytest.raises(OriginError, match=r"private or link-local address \(127\.0\.0\.1\)"):
        sync_link(vault, "ehr", net=fake_net(fake, [], resolve=rebinding))
    assert answers == [PUBLIC_IP, "127.0.0.1"]  # one resolution per request, none in between
    assert [r.url.host for r in fake.seen] == [PUBLIC_IP]  # only the checked address
    nothing_stored(vault)


def test_each_request_resolves_once_and_goes_to_that_address(vault: Vault) -> None:
    resolved: list[str] = []

    def counting(host: str) -> list[str]:
        resolved.append(host)
        return dns(host)

    fake = FakeEhr()
    save_link(vault)
    result = sync_link(vault, "ehr", net=fake_net(fake, [], resolve=counting))
    complete(vault, fake)
    assert resolved == ["ehr.example.com"] * result.stats.requests == ["ehr.example.com"] * 5
    assert {(r.url.host, r.headers["host"]) for r in fake.seen} == {(PUBLIC_IP, "ehr.example.com")}


def test_a_refused_type_is_recorded_without_the_servers_secrets_and_the_rest_stored(
    vault: Vault,
) -> None:
    """A 403 for one type no longer fails the sync; the server's words are shown printable,
    capped, with the token and the patient id masked."""
    words = f"Patient {PATIENT} with token tok-1 may not \x1b[8mread{'!' * 500}"

    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path == "/fhir/Observation":
            issue = {"severity": "error", "code": "forbidden", "diagnostics": words}
            return httpx2.Response(403, json={"resourceType": "OperationOutcome", "issue": [issue]})
        return None

    save_link(vault)
    result = sync_link(vault, "ehr", net=fake_net(FakeEhr(hook=hook), []))
    outcome = result.types["Observation"]
    assert outcome.outcome == "refused" and outcome.resources == 0
    why = outcome.why or ""
    assert why.startswith("HTTP 403: forbidden: Patient … with token … may not [8mread!!")
    assert "tok-1" not in why and "\x1b" not in why and len(why) <= 210
    assert stored(vault) == {("Patient", PATIENT): patient()}
    assert LinkStore(vault).get("ehr").cursor is not None
    summary = json.dumps(result.public())
    assert "tok-1" not in summary and f'"{PATIENT}"' not in summary
