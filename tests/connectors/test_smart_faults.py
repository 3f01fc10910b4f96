"""Faults a real server can't be made to produce, through ``httpx2.MockTransport``.

Each case must end in a correct vault (everything the fake holds) or a clear error with
nothing of the failed sync stored, and the token never sent off the approved origin.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx2
import pytest

from connectors.smart.fake_ehr import (
    BASE,
    PATIENT,
    PUBLIC_IP,
    FakeEhr,
    complete,
    fake_net,
    host_of,
    nothing_stored,
    observation,
    patient,
    save_link,
    stored,
)
from healthlocker.connectors import LinkStore, sync_link
from healthlocker.connectors.smart import _attachments
from healthlocker.errors import AuthError, OriginError, SyncError, ValidationError
from healthlocker.store import Vault


@pytest.fixture
def slept() -> list[float]:
    return []


def test_happy_path_pages_through_next_links(vault: Vault, slept: list[float]) -> None:
    fake = FakeEhr()
    save_link(vault)
    result = sync_link(vault, "ehr", net=fake_net(fake, slept))
    complete(vault, fake)
    assert result.fetched == {"Observation": 10, "Patient": 1}
    assert result.stats.requests == 1 + 1 + 3  # metadata, Patient, three Observation pages
    assert LinkStore(vault).get("ehr").cursor == "2024-01-01T00:00:00Z"


def test_429_with_retry_after_waits_as_told(vault: Vault, slept: list[float]) -> None:
    calls = {"n": 0}

    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.params.get("_offset") == "4" and calls["n"] < 2:
            calls["n"] += 1
            return httpx2.Response(429, headers={"Retry-After": "7"})
        return None

    fake = FakeEhr(hook=hook)
    save_link(vault)
    result = sync_link(vault, "ehr", net=fake_net(fake, slept))
    assert slept == [7.0, 7.0]
    assert result.stats.retries == 2
    complete(vault, fake)


def test_503_then_success(vault: Vault, slept: list[float]) -> None:
    calls = {"n": 0}

    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path.endswith("/Patient") and calls["n"] == 0:
            calls["n"] += 1
            return httpx2.Response(503)
        return None

    fake = FakeEhr(hook=hook)
    save_link(vault)
    sync_link(vault, "ehr", net=fake_net(fake, slept))
    assert len(slept) == 1 and 0 < slept[0] <= 0.5  # exponential backoff, with jitter
    complete(vault, fake)


def test_5xx_that_persists_fails_with_nothing_stored(vault: Vault, slept: list[float]) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.params.get("_offset") == "8":  # the last page never comes
            return httpx2.Response(502)
        return None

    save_link(vault)
    with pytest.raises(SyncError, match=r"HTTP 502\) after retries"):
        sync_link(vault, "ehr", net=fake_net(FakeEhr(hook=hook), slept))
    assert len(slept) == 4
    nothing_stored(vault)


def test_retry_after_too_long_is_a_clear_error(vault: Vault, slept: list[float]) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path.endswith("/Observation"):
            return httpx2.Response(429, headers={"Retry-After": "3600"})
        return None

    save_link(vault)
    with pytest.raises(SyncError, match="asks us to wait 3600 s"):
        sync_link(vault, "ehr", net=fake_net(FakeEhr(hook=hook), slept))
    assert slept == []
    nothing_stored(vault)


def test_token_expiring_mid_sync_is_refreshed_and_the_sync_carries_on(
    vault: Vault, slept: list[float]
) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if fake.fhir_requests == 3 and fake.issued == 1:
            fake.valid = ""  # tok-1 expires now, before its announced expiry
        return None

    fake = FakeEhr(hook=hook)
    save_link(vault)
    result = sync_link(vault, "ehr", net=fake_net(fake, slept))
    assert result.stats.refreshes == 1
    complete(vault, fake)
    saved = LinkStore(vault).get("ehr")
    assert saved.access_token == fake.valid == "tok-2"
    assert saved.refresh_token == "refresh-1"  # kept: the server did not rotate it
    assert [r.url.path for r in fake.seen].count("/token") == 1


def test_refresh_refused_fails_with_nothing_stored(vault: Vault, slept: list[float]) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path == "/token":
            return httpx2.Response(400, json={"error": "invalid_grant"})
        if request.url.path.endswith("/Observation") and request.url.params.get("_offset"):
            return httpx2.Response(401)
        return None

    save_link(vault)
    with pytest.raises(AuthError, match="connect"):
        sync_link(vault, "ehr", net=fake_net(FakeEhr(hook=hook), slept))
    nothing_stored(vault)


def test_next_link_to_another_host_stops_without_sending_the_token(
    vault: Vault, slept: list[float]
) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.params.get("_offset") == "4":
            return FakeEhr.bundle(
                [observation(4)], "https://collector.example.net/fhir/Observation?page=3"
            )
        return None

    fake = FakeEhr(hook=hook)
    save_link(vault)
    with pytest.raises(OriginError, match=r"collector\.example\.net.*token was not sent"):
        sync_link(vault, "ehr", net=fake_net(fake, slept))
    assert all(host_of(r) == "ehr.example.com" and r.url.host == PUBLIC_IP for r in fake.seen)
    nothing_stored(vault)


@pytest.mark.parametrize(
    "target",
    [
        "https://ehr.example.com/other-api/Observation",  # same host, outside the base path
        "http://ehr.example.com/fhir/Observation",  # scheme downgrade
        "https://ehr.example.com:8443/fhir/Observation",  # another port
        "https://user@ehr.example.com/fhir/Observation",  # credentials in the URL
    ],
)
def test_next_link_off_origin_in_any_part_is_refused(
    vault: Vault, slept: list[float], target: str
) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path.endswith("/Observation") and not request.url.params.get("_offset"):
            return FakeEhr.bundle([observation(0)], target)
        return None

    fake = FakeEhr(hook=hook)
    save_link(vault)
    with pytest.raises(OriginError):
        sync_link(vault, "ehr", net=fake_net(fake, slept))
    assert len(fake.seen) == 3  # metadata, Patient, first Observation page; never the target
    nothing_stored(vault)


def test_redirect_to_a_private_address_is_not_followed(vault: Vault, slept: list[float]) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if host_of(request) == "ehr.example.com" and request.url.path.endswith("/Patient"):
            return httpx2.Response(
                302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
            )
        return None

    fake = FakeEhr(hook=hook)
    save_link(vault)
    with pytest.raises(OriginError, match=r"redirect to http://169\.254\.169\.254"):
        sync_link(vault, "ehr", net=fake_net(fake, slept))
    assert all(host_of(r) == "ehr.example.com" and r.url.host == PUBLIC_IP for r in fake.seen)
    nothing_stored(vault)


def test_same_origin_redirect_is_followed(vault: Vault, slept: list[float]) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path == "/fhir/Patient" and "moved" not in request.url.params:
            return httpx2.Response(
                307, headers={"Location": f"{BASE}/Patient?_id={PATIENT}&moved=1"}
            )
        return None

    fake = FakeEhr(hook=hook)
    save_link(vault)
    sync_link(vault, "ehr", net=fake_net(fake, slept))
    complete(vault, fake)


def test_a_base_on_a_private_address_is_refused(vault: Vault, slept: list[float]) -> None:
    fake = FakeEhr()
    save_link(vault, base="https://internal.example.com/fhir")
    with pytest.raises(OriginError, match=r"private or link-local address \(10\.1\.2\.3\)"):
        sync_link(vault, "ehr", net=fake_net(fake, slept))
    assert fake.seen == []


def test_an_invalid_resource_fails_the_whole_sync(vault: Vault, slept: list[float]) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.params.get("_offset") == "8":
            bad = {**observation(8), "status": 42}
            return FakeEhr.bundle([bad], None)
        return None

    save_link(vault)
    with pytest.raises(ValidationError, match=r"ehr: Observation/o8.*status"):
        sync_link(vault, "ehr", net=fake_net(FakeEhr(hook=hook), slept))
    nothing_stored(vault)


def test_a_second_sync_after_a_failed_one_stores_everything(
    vault: Vault, slept: list[float]
) -> None:
    broken = {"on": True}

    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if broken["on"] and request.url.params.get("_offset") == "8":
            return httpx2.Response(500)
        return None

    fake = FakeEhr(hook=hook)
    save_link(vault)
    with pytest.raises(SyncError):
        sync_link(vault, "ehr", net=fake_net(fake, slept))
    nothing_stored(vault)
    broken["on"] = False
    sync_link(vault, "ehr", net=fake_net(fake, slept))
    complete(vault, fake)


def _note(rid: str, url: str) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": rid,
        "status": "current",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "content": [{"attachment": {"contentType": "text/plain", "url": url}}],
    }


def test_url_attachments_off_origin_by_redirect_or_too_large_are_left_as_given(
    vault: Vault, slept: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_attachments, "MAX_BYTES", 1000)
    notes = [
        _note("plain", "Binary/plain"),  # raw text, not a FHIR Binary
        _note("moved", f"{BASE}/Binary/moved"),  # redirects to another host
        _note("huge", "Binary/huge"),
        _note("contained", "urn:uuid:6b7c1a52-3a4f-4c1e-9d0b-2f1e8c7a9b10"),  # no place to ask
    ]

    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        path = request.url.path
        if host_of(request) != "ehr.example.com" or path == "/token":
            return None
        if path == "/fhir/Patient":
            return FakeEhr.bundle([patient(), *notes], None)
        if path == "/fhir/Binary/plain":
            return httpx2.Response(200, content=b"Follow up in 2 weeks.", headers={
                "content-type": "text/plain; charset=utf-8"})  # fmt: skip
        if path == "/fhir/Binary/moved":
            return httpx2.Response(302, headers={"location": "https://files.example.net/n.txt"})
        if path == "/fhir/Binary/huge":
            return httpx2.Response(200, content=b"x" * 5000, headers={"content-type": "text/plain"})
        return None

    fake = FakeEhr(hook=hook)
    save_link(vault)
    result = sync_link(vault, "ehr", net=fake_net(fake, slept))
    expected = {"fetched": 1, "other-origin": 1, "too-large": 1, "unreadable": 1}
    assert result.attachments == expected
    assert result.notes()[-1] == (
        "documents given by url: 1 fetched, 1 other-origin, 1 too-large, 1 unreadable (those "
        "not fetched kept as given)"
    )
    assert all(host_of(r) == "ehr.example.com" for r in fake.seen)  # never asked elsewhere
    assert not any("urn" in r.url.path for r in fake.seen)
    held = stored(vault)
    plain = held[("DocumentReference", "plain")]["content"][0]["attachment"]
    assert base64.b64decode(plain["data"]) == b"Follow up in 2 weeks."
    for rid in ("moved", "huge", "contained"):
        assert held[("DocumentReference", rid)] == next(n for n in notes if n["id"] == rid)
    assert result.fetched["Observation"] == fake.observations
