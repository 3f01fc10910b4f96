"""A SMART Health Link server and a card issuer on loopback, for the import tests.

Real HTTP (a threaded ``http.server`` on 127.0.0.1): the manifest (POST, passcode checked),
its files (GET), a ``U`` link's direct file, and an issuer's ``/.well-known/jwks.json``. The
cards are signed as an issuer signs them (ES256, zip DEF, kid = the key's thumbprint).
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jws
from joserfc.jwk import ECKey
from joserfc.registry import HeaderParameter

from healthlocker.connectors.shl._jose import encrypt_file
from healthlocker.connectors.shl._link import LinkPayload

KEY = bytes(range(32))
CARD = "application/smart-health-card"
FHIR = "application/fhir+json"


@dataclass
class LinkServer:
    files: list[tuple[str, str]] = field(default_factory=list)  # (content type, JWE)
    passcode: str | None = None
    jwks: dict[str, Any] | None = None
    requests: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        return self.base + "/issuer"

    def link(self, *, flag: str = "", exp: float | None = None, key: bytes = KEY) -> str:
        path = "/u" if "U" in flag else "/m"
        return LinkPayload(self.base + path, key, exp=exp, flag=flag, label="Visit summary").link()

    def add(self, content_type: str, plain: bytes, key: bytes = KEY) -> None:
        self.files.append((content_type, encrypt_file(plain, key, content_type)))


def _handler(server: LinkServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            server.requests.append("POST " + self.path)
            asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/m" or "recipient" not in asked:
                self._send(404, b"{}")
            elif server.passcode is not None and asked.get("passcode") != server.passcode:
                self._send(401, b'{"remainingAttempts": 3}')
            else:
                files = [
                    {"contentType": kind, "location": f"{server.base}/f/{n}"}
                    for n, (kind, _) in enumerate(server.files)
                ]
                self._send(200, json.dumps({"files": files}).encode())

        def do_GET(self) -> None:
            server.requests.append("GET " + self.path)
            if self.path.startswith("/f/"):
                self._send(200, server.files[int(self.path[3:])][1].encode(), "application/jose")
            elif self.path.startswith("/u?recipient="):
                self._send(200, server.files[0][1].encode(), "application/jose")
            elif self.path == "/issuer/.well-known/jwks.json" and server.jwks is not None:
                self._send(200, json.dumps(server.jwks).encode())
            else:
                self._send(404, b"{}")

    return Handler


@contextmanager
def link_server() -> Iterator[LinkServer]:
    state = LinkServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def issuer_key() -> ECKey:
    key = ECKey.generate_key("P-256", private=True)
    key.ensure_kid()
    return key


def public_jwks(key: ECKey) -> dict[str, Any]:
    return {"keys": [{**key.as_dict(private=False), "alg": "ES256", "use": "sig"}]}


def card(bundle: dict[str, Any], key: ECKey, iss: str) -> str:
    """A SMART Health Card JWS, as an issuer signs one."""
    claims = {
        "iss": iss,
        "nbf": 1_700_000_000,
        "vc": {
            "type": ["https://smarthealth.cards#health-card"],
            "credentialSubject": {"fhirVersion": "4.0.1", "fhirBundle": bundle},
        },
    }
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    payload = deflate.compress(json.dumps(claims, separators=(",", ":")).encode())
    payload += deflate.flush()
    registry = jws.JWSRegistry(
        algorithms=["ES256"], header_registry={"zip": HeaderParameter("zip", "str")}
    )
    header = {"alg": "ES256", "zip": "DEF", "kid": key.kid}
    return jws.serialize_compact(header, payload, key, registry=registry)


def card_file(*cards: str) -> bytes:
    return json.dumps({"verifiableCredential": list(cards)}).encode()


IMMUNIZATIONS = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "fullUrl": "resource:0",
            "resource": {
                "resourceType": "Patient",
                "name": [{"family": "Example", "given": ["Pat"]}],
                "birthDate": "1980-02-03",
            },
        },
        {
            "fullUrl": "resource:1",
            "resource": {
                "resourceType": "Immunization",
                "status": "completed",
                "vaccineCode": {
                    "coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208"}]
                },
                "patient": {"reference": "resource:0"},
                "occurrenceDateTime": "2021-04-01",
            },
        },
    ],
}

VISIT = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "fullUrl": "urn:uuid:4d5a6f0e-8f4e-4c36-9a57-8b1f0c3e2d11",
            "resource": {
                "resourceType": "Patient",
                "id": "4d5a6f0e-8f4e-4c36-9a57-8b1f0c3e2d11",
                # the card's person: one link, one person (see docs/people.md)
                "name": [{"family": "Example", "given": ["Pat"]}],
                "birthDate": "1980-02-03",
            },
        },
        {
            "resource": {
                "resourceType": "Condition",
                "id": "visit-dx",
                "subject": {"reference": "urn:uuid:4d5a6f0e-8f4e-4c36-9a57-8b1f0c3e2d11"},
                "code": {"text": "Seasonal allergic rhinitis"},
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
            }
        },
    ],
}
