"""Faults a real server can't be made to produce, through ``httpx2.MockTransport``.

Each case must end in a correct vault (everything the fake holds) or a clear error with
nothing of the failed sync stored, and the token never sent off the approved origin.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx2
import pytest

from healthlocker.connectors import Link, LinkStore, Net, sync_link
from healthlocker.errors import AuthError, OriginError, SyncError, ValidationError
from healthlocker.store import Vault

BASE = "https://ehr.example.com/fhir"
PATIENT = "p1"
PUBLIC_IP = "93.184.215.14"  # a public address; nothing is sent: the fake transport answers


def _patient() -> dict[str, Any]:
    return {"resourceType": "Patient", "id": PATIENT, "gender": "female"}


def _observation(n: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o{n}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "effectiveDateTime": f"2024-01-{n % 28 + 1:02d}",
        "valueQuantity": {"value": 90 + n, "unit": "mg/dL"},
    }


CAPABILITY = {
    "resourceType": "CapabilityStatement",
    "status": "active",
    "kind": "instance",
    "fhirVersion": "4.0.1",
    "format": ["json"],
    "date": "2024-01-01",
    "rest": [
        {
            "mode": "server",
            "resource": [
                {"type": "Patient", "interaction": [{"code": "read"}, {"code": "search-type"}]},
                {
                    "type": "Observation",
                    "interaction": [{"code": "search-type"}],
                    "searchParam": [{"name": "patient", "type": "reference"}],
                },
            ],
        }
    ],
}


@dataclass
class FakeEhr:
    """A FHIR API with 1 Patient and *observations* Observations, 4 per page."""

    observations: int = 10
    page: int = 4
    valid: str = "tok-1"  # the one access token the API accepts now
    issued: int = 1
    seen: list[httpx2.Request] = field(default_factory=list)
    hook: Callable[[FakeEhr, httpx2.Request], httpx2.Response | None] | None = None
    fhir_requests: int = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(request)
        if self.hook is not None:
            answer = self.hook(self, request)
            if answer is not None:
                return answer
        url = request.url
        if url.host != "ehr.example.com":
            return httpx2.Response(200, json={"resourceType": "Bundle", "type": "searchset"})
        if url.path == "/token":
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["refresh_token"]
            self.issued += 1
            self.valid = f"tok-{self.issued}"
            return httpx2.Response(
                200,
                json={"access_token": self.valid, "token_type": "Bearer", "expires_in": 3600},
            )
        self.fhir_requests += 1
        if request.headers.get("authorization") != f"Bearer {self.valid}":
            return httpx2.Response(401)
        path = url.path.removeprefix("/fhir/")
        if path == "metadata":
            return httpx2.Response(
                200, json=CAPABILITY, headers={"Date": "Mon, 01 Jan 2024 00:00:00 GMT"}
            )
        if path == "Patient":
            return self._bundle([_patient()], None)
        if path == "Observation":
            offset = int(url.params.get("_offset", "0"))
            everything = [_observation(n) for n in range(self.observations)]
            chunk = everything[offset : offset + self.page]
            more = offset + self.page < self.observations
            nxt = (
                f"{BASE}/Observation?patient={PATIENT}&_offset={offset + self.page}"
                if more
                else None
            )
            return self._bundle(chunk, nxt)
        return httpx2.Response(404)

    @staticmethod
    def _bundle(resources: list[dict[str, Any]], nxt: str | None) -> httpx2.Response:
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(resources),
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
        }
        if nxt:
            bundle["link"] = [{"relation": "next", "url": nxt}]
        return httpx2.Response(200, content=json.dumps(bundle).encode())


@pytest.fixture
def slept() -> list[float]:
    return []


def _net(fake: FakeEhr, slept: list[float]) -> Net:
    def resolve(host: str) -> list[str]:
        return {"ehr.example.com": [PUBLIC_IP], "internal.example.com": ["10.1.2.3"]}.get(
            host, [PUBLIC_IP]
        )

    return Net(transport=httpx2.MockTransport(fake), resolve=resolve, sleep=slept.append)


def _link(vault: Vault, base: str = BASE) -> Link:
    link = Link(
        name="ehr",
        fhir_base=base,
        client_id="hl",
        authorize_url="https://ehr.example.com/authorize",
        token_url="https://ehr.example.com/token",
        patient=PATIENT,
        scope="launch/patient patient/*.rs offline_access",
        access_token="tok-1",
        refresh_token="refresh-1",
        expires_at="2999-01-01T00:00:00+00:00",
    )
    LinkStore(vault).save(link)
    return link


def _stored(vault: Vault) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["resourceType"], r["id"]): r for r in vault.iter_all()}


def _complete(vault: Vault, fake: FakeEhr) -> None:
    stored = _stored(vault)
    assert stored.pop(("Patient", PATIENT)) == _patient()
    assert stored == {("Observation", f"o{n}"): _observation(n) for n in range(fake.observations)}


def _nothing_stored(vault: Vault) -> None:
    assert vault.sources() == []
    assert LinkStore(vault).get("ehr").cursor is None


def test_happy_path_pages_through_next_links(vault: Vault, slept: list[float]) -> None:
    fake = FakeEhr()
    _link(vault)
    result = sync_link(vault, "ehr", net=_net(fake, slept))
    _complete(vault, fake)
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
    _link(vault)
    result = sync_link(vault, "ehr", net=_net(fake, slept))
    assert slept == [7.0, 7.0]
    assert result.stats.retries == 2
    _complete(vault, fake)


def test_503_then_success(vault: Vault, slept: list[float]) -> None:
    calls = {"n": 0}

    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path.endswith("/Patient") and calls["n"] == 0:
            calls["n"] += 1
            return httpx2.Response(503)
        return None

    fake = FakeEhr(hook=hook)
    _link(vault)
    sync_link(vault, "ehr", net=_net(fake, slept))
    assert len(slept) == 1 and 0 < slept[0] <= 0.5  # exponential backoff, with jitter
    _complete(vault, fake)


def test_5xx_that_persists_fails_with_nothing_stored(vault: Vault, slept: list[float]) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.params.get("_offset") == "8":  # the last page never comes
            return httpx2.Response(502)
        return None

    _link(vault)
    with pytest.raises(SyncError, match=r"HTTP 502\) after retries"):
        sync_link(vault, "ehr", net=_net(FakeEhr(hook=hook), slept))
    assert len(slept) == 4
    _nothing_stored(vault)


def test_retry_after_too_long_is_a_clear_error(vault: Vault, slept: list[float]) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path.endswith("/Observation"):
            return httpx2.Response(429, headers={"Retry-After": "3600"})
        return None

    _link(vault)
    with pytest.raises(SyncError, match="asks us to wait 3600 s"):
        sync_link(vault, "ehr", net=_net(FakeEhr(hook=hook), slept))
    assert slept == []
    _nothing_stored(vault)


def test_token_expiring_mid_sync_is_refreshed_and_the_sync_carries_on(
    vault: Vault, slept: list[float]
) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if fake.fhir_requests == 3 and fake.issued == 1:
            fake.valid = ""  # tok-1 expires now, before its announced expiry
        return None

    fake = FakeEhr(hook=hook)
    _link(vault)
    result = sync_link(vault, "ehr", net=_net(fake, slept))
    assert result.stats.refreshes == 1
    _complete(vault, fake)
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

    _link(vault)
    with pytest.raises(AuthError, match="connect"):
        sync_link(vault, "ehr", net=_net(FakeEhr(hook=hook), slept))
    _nothing_stored(vault)


def test_next_link_to_another_host_stops_without_sending_the_token(
    vault: Vault, slept: list[float]
) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.params.get("_offset") == "4":
            return FakeEhr._bundle(
                [_observation(4)], "https://collector.example.net/fhir/Observation?page=3"
            )
        return None

    fake = FakeEhr(hook=hook)
    _link(vault)
    with pytest.raises(OriginError, match=r"collector\.example\.net.*token was not sent"):
        sync_link(vault, "ehr", net=_net(fake, slept))
    assert all(r.url.host == "ehr.example.com" for r in fake.seen)
    _nothing_stored(vault)


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
            return FakeEhr._bundle([_observation(0)], target)
        return None

    fake = FakeEhr(hook=hook)
    _link(vault)
    with pytest.raises(OriginError):
        sync_link(vault, "ehr", net=_net(fake, slept))
    assert len(fake.seen) == 3  # metadata, Patient, first Observation page; never the target
    _nothing_stored(vault)


def test_redirect_to_a_private_address_is_not_followed(vault: Vault, slept: list[float]) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.host == "ehr.example.com" and request.url.path.endswith("/Patient"):
            return httpx2.Response(
                302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
            )
        return None

    fake = FakeEhr(hook=hook)
    _link(vault)
    with pytest.raises(OriginError, match=r"redirect to http://169\.254\.169\.254"):
        sync_link(vault, "ehr", net=_net(fake, slept))
    assert all(r.url.host == "ehr.example.com" for r in fake.seen)
    _nothing_stored(vault)


def test_same_origin_redirect_is_followed(vault: Vault, slept: list[float]) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.path == "/fhir/Patient" and "moved" not in request.url.params:
            return httpx2.Response(
                307, headers={"Location": f"{BASE}/Patient?_id={PATIENT}&moved=1"}
            )
        return None

    fake = FakeEhr(hook=hook)
    _link(vault)
    sync_link(vault, "ehr", net=_net(fake, slept))
    _complete(vault, fake)


def test_a_base_on_a_private_address_is_refused(vault: Vault, slept: list[float]) -> None:
    fake = FakeEhr()
    _link(vault, base="https://internal.example.com/fhir")
    with pytest.raises(OriginError, match=r"private or link-local address \(10\.1\.2\.3\)"):
        sync_link(vault, "ehr", net=_net(fake, slept))
    assert fake.seen == []


def test_an_invalid_resource_fails_the_whole_sync(vault: Vault, slept: list[float]) -> None:
    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if request.url.params.get("_offset") == "8":
            bad = {**_observation(8), "status": 42}
            return FakeEhr._bundle([bad], None)
        return None

    _link(vault)
    with pytest.raises(ValidationError, match=r"ehr: Observation/o8.*status"):
        sync_link(vault, "ehr", net=_net(FakeEhr(hook=hook), slept))
    _nothing_stored(vault)


def test_a_second_sync_after_a_failed_one_stores_everything(
    vault: Vault, slept: list[float]
) -> None:
    broken = {"on": True}

    def hook(fake: FakeEhr, request: httpx2.Request) -> httpx2.Response | None:
        if broken["on"] and request.url.params.get("_offset") == "8":
            return httpx2.Response(500)
        return None

    fake = FakeEhr(hook=hook)
    _link(vault)
    with pytest.raises(SyncError):
        sync_link(vault, "ehr", net=_net(fake, slept))
    _nothing_stored(vault)
    broken["on"] = False
    sync_link(vault, "ehr", net=_net(fake, slept))
    _complete(vault, fake)
