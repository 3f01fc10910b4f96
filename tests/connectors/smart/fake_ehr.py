"""A fake FHIR API (``httpx2.MockTransport``) for the faults and attacks a real server can't be
made to produce: 1 Patient and some Observations, paged 4 at a time, one valid token at a time.
Used by tests/connectors/test_smart_faults.py and test_smart_attacks.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx2

from healthlocker.connectors import Link, LinkStore, Net
from healthlocker.store import Vault

BASE = "https://ehr.example.com/fhir"
PATIENT = "p1"
PUBLIC_IP = "93.184.215.14"  # a public address; nothing is sent: the fake transport answers


def patient() -> dict[str, Any]:
    return {"resourceType": "Patient", "id": PATIENT, "gender": "female"}


def observation(n: int) -> dict[str, Any]:
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


def host_of(request: httpx2.Request) -> str:
    """The host a request was meant for (its URL names the checked address it went to)."""
    return request.headers["host"]


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
        if host_of(request) != "ehr.example.com":
            return httpx2.Response(200, json={"resourceType": "Bundle", "type": "searchset"})
        # Connected to the address that was checked, the name kept for Host (and TLS SNI).
        assert url.host == PUBLIC_IP, url
        assert request.extensions.get("sni_hostname") == "ehr.example.com"
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
            return self.bundle([patient()], None)
        if path == "Observation":
            offset = int(url.params.get("_offset", "0"))
            everything = [observation(n) for n in range(self.observations)]
            chunk = everything[offset : offset + self.page]
            more = offset + self.page < self.observations
            nxt = (
                f"{BASE}/Observation?patient={PATIENT}&_offset={offset + self.page}"
                if more
                else None
            )
            return self.bundle(chunk, nxt)
        return httpx2.Response(404)

    @staticmethod
    def bundle(resources: list[dict[str, Any]], nxt: str | None) -> httpx2.Response:
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(resources),
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
        }
        if nxt:
            bundle["link"] = [{"relation": "next", "url": nxt}]
        return httpx2.Response(200, content=json.dumps(bundle).encode())


def dns(host: str) -> list[str]:
    """The fake's DNS: the EHR on a public address, an internal host on a private one."""
    return {"ehr.example.com": [PUBLIC_IP], "internal.example.com": ["10.1.2.3"]}.get(
        host, [PUBLIC_IP]
    )


def fake_net(fake: FakeEhr, slept: list[float], resolve: Callable[[str], list[str]] = dns) -> Net:
    return Net(transport=httpx2.MockTransport(fake), resolve=resolve, sleep=slept.append)


def save_link(vault: Vault, base: str = BASE) -> Link:
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


def stored(vault: Vault) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["resourceType"], r["id"]): r for r in vault.iter_all()}


def complete(vault: Vault, fake: FakeEhr) -> None:
    held = stored(vault)
    assert held.pop(("Patient", PATIENT)) == patient()
    assert held == {("Observation", f"o{n}"): observation(n) for n in range(fake.observations)}


def nothing_stored(vault: Vault) -> None:
    """Nothing of the failed sync: no source, the cursor unmoved, its stage deleted."""
    assert vault.sources() == []
    assert LinkStore(vault).get("ehr").cursor is None
    if vault.path is not None:
        assert list(Path(vault.path).parent.glob(".stage-*")) == []
