"""The SMART connector's parts on their own: PKCE, state, origins, addresses, presets."""

from __future__ import annotations

import base64
import hashlib

import httpx2
import pytest

from healthlocker.connectors import PRESETS
from healthlocker.connectors.smart._auth import (
    SmartConfig,
    StateBook,
    choose_scopes,
    pkce_pair,
)
from healthlocker.connectors.smart._http import (
    Origin,
    check_address,
    normalise_base,
    retry_after,
)
from healthlocker.connectors.smart._presets import resolve_preset
from healthlocker.errors import OriginError, SyncError


def test_pkce_is_s256_of_a_long_random_verifier() -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert pkce_pair()[0] != verifier


def test_state_is_long_single_use_and_expires() -> None:
    now = [0.0]
    book = StateBook(ttl=60, clock=lambda: now[0])
    state = book.issue()
    assert len(base64.urlsafe_b64decode(state + "=" * (-len(state) % 4))) * 8 >= 128
    assert not book.consume("guessed")
    assert not book.consume(None)
    assert book.consume(state)
    assert not book.consume(state)  # used once
    late = book.issue()
    now[0] = 61.0
    assert not book.consume(late)  # expired


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://ehr.example.com/fhir/Observation?_count=5", True),
        ("https://EHR.example.com:443/fhir/Patient/1", True),
        ("https://ehr.example.com/fhir", True),
        ("https://ehr.example.com/fhirx/Patient", False),
        ("https://ehr.example.com/", False),
        ("http://ehr.example.com/fhir/Patient", False),
        ("https://ehr.example.com:444/fhir/Patient", False),
        ("https://ehr.example.com.evil.test/fhir/Patient", False),
        ("https://u:p@ehr.example.com/fhir/Patient", False),
    ],
)
def test_origin_is_scheme_host_port_and_path_prefix(url: str, allowed: bool) -> None:
    assert Origin.of("https://ehr.example.com/fhir/").allows(httpx2.URL(url)) is allowed


@pytest.mark.parametrize(
    "base",
    [
        "http://ehr.example.com/fhir",  # plain http off loopback
        "ftp://ehr.example.com/fhir",
        "https://ehr.example.com/fhir?tenant=1",
        "https://user:pw@ehr.example.com/fhir",
        "not a url",
    ],
)
def test_bases_we_refuse(base: str) -> None:
    with pytest.raises(SyncError):
        normalise_base(base)


def test_loopback_may_use_plain_http() -> None:
    assert normalise_base("http://127.0.0.1:8080/fhir/") == "http://127.0.0.1:8080/fhir"
    assert Origin.of("http://localhost:8080/fhir").loopback


@pytest.mark.parametrize(
    "address", ["10.0.0.1", "192.168.1.1", "172.16.0.1", "169.254.169.254", "127.0.0.1", "::1"]
)
def test_private_and_link_local_addresses_are_refused(address: str) -> None:
    url = httpx2.URL("https://api.example.com/fhir")
    with pytest.raises(OriginError, match="private or link-local"):
        check_address(url, allow_local=False, resolve=lambda host: [address])
    check_address(url, allow_local=True, resolve=lambda host: [address])  # base on loopback


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after("12") == 12.0
    assert retry_after("Thu, 01 Jan 1970 00:01:00 GMT", now=30.0) == 30.0
    assert retry_after("soon") is None
    assert retry_after(None) is None


def test_default_scopes_are_smart_v2_and_offline_only_where_offered() -> None:
    offered = SmartConfig("https://a/authorize", "https://a/token", ("launch/patient",))
    assert choose_scopes(None, offered) == "launch/patient patient/*.rs"
    unknown = SmartConfig("https://a/authorize", "https://a/token")
    assert choose_scopes(None, unknown) == "launch/patient patient/*.rs offline_access"
    narrower = choose_scopes(["patient/Observation.rs"], unknown)
    assert narrower == "launch/patient patient/Observation.rs"


def test_presets() -> None:
    assert set(PRESETS) >= {"bluebutton", "bluebutton-sandbox", "smarthealthit", "epic"}
    base, client, preset = resolve_preset("bluebutton-sandbox", None, "my-app")
    assert base.startswith("https://sandbox.bluebutton.cms.gov/") and client == "my-app"
    assert preset is not None and preset.needs_secret
    assert "patient/ExplanationOfBenefit.read" in (preset.scopes or ())
    with pytest.raises(SyncError, match="--fhir-base"):
        resolve_preset("epic", None, "id")  # an organisation's base is the user's to give
    with pytest.raises(SyncError, match="--client-id"):
        resolve_preset("epic-sandbox", None, None)
    assert resolve_preset("smarthealthit", None, None)[1] == "healthlocker"
    with pytest.raises(SyncError, match="no preset"):
        resolve_preset("nope", None, None)
