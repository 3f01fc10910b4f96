"""The SMART connector's parts on their own: PKCE, state, origins, URLs, addresses, scopes,
search plans, presets."""

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
from healthlocker.connectors.smart._http import retry_after
from healthlocker.connectors.smart._origin import (
    Origin,
    check_address,
    normalise_base,
    normalise_url,
)
from healthlocker.connectors.smart._presets import EPIC_RULES, resolve_preset
from healthlocker.connectors.smart._recipes import US_CORE_CATEGORIES, Capabilities, Rules, plan
from healthlocker.connectors.smart._scopes import Access, Grants
from healthlocker.errors import OriginError, SyncError
from helpers import ROOT


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


# -- URLs as the server will read them -------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "sent"),
    [
        ("https://ehr.example.com/fhir/Observation?_count=5", "/fhir/Observation?_count=5"),
        ("https://ehr.example.com/fhir/%2e%2e/admin", "/admin"),
        ("https://ehr.example.com/fhir/%2E%2e/%2e%2E/x", "/x"),
        ("https://ehr.example.com/fhir/a/.%2e/b/./c", "/fhir/b/c"),
        ("https://ehr.example.com/fhir/a/%2e", "/fhir/a/"),
        ("https://ehr.example.com/fhir/x?next=%2e%2e", "/fhir/x?next=%2e%2e"),  # query untouched
    ],
)
def test_urls_are_normalised_the_way_a_server_reads_them(url: str, sent: str) -> None:
    assert normalise_url(httpx2.URL(url), "x").raw_path.decode() == sent


@pytest.mark.parametrize("path", ["/fhir/a%2fb", "/fhir/a%5Cb", "/fhir/%252e%252e/x"])
def test_ambiguous_paths_are_refused(path: str) -> None:
    with pytest.raises(OriginError, match="encoded slash, backslash or percent"):
        normalise_url(httpx2.URL("https://ehr.example.com" + path), "x")


# -- scopes, SMART v1 and v2 -----------------------------------------------------------------

LAB = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
VITALS = "http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"


@pytest.mark.parametrize(
    ("scope", "rtype", "access"),
    [
        ("patient/Observation.read", "Observation", Access(read=True, search=True)),
        ("patient/*.read", "Condition", Access(read=True, search=True)),
        ("user/Observation.*", "Observation", Access(read=True, search=True)),
        ("patient/Observation.read", "Condition", Access(read=False, search=False)),
        ("patient/Observation.write", "Observation", Access(read=False, search=False)),
        ("patient/Observation.rs", "Observation", Access(read=True, search=True)),
        ("patient/*.cruds", "Goal", Access(read=True, search=True)),
        ("patient/Patient.r", "Patient", Access(read=True, search=False)),
        ("patient/Observation.s", "Observation", Access(read=False, search=True)),
        (
            f"patient/Observation.rs?category={LAB}",
            "Observation",
            Access(read=True, search=True, queries=((("category", LAB),),)),
        ),
        (
            f"patient/Observation.rs?category={LAB} patient/Observation.rs?category={VITALS}",
            "Observation",
            Access(read=True, search=True, queries=((("category", LAB),), (("category", VITALS),))),
        ),
        (
            f"patient/Observation.rs?category={LAB} patient/Observation.rs",
            "Observation",
            Access(read=True, search=True),  # one unlimited scope lifts the limit
        ),
        ("launch/patient openid offline_access", "Device", Access(read=True, search=True)),
    ],
)
def test_scopes_in_v1_and_v2_syntax(scope: str, rtype: str, access: Access) -> None:
    assert Grants.parse(scope).access(rtype) == access


def test_everything_needs_every_type_unlimited() -> None:
    assert Grants.parse("launch/patient patient/*.rs offline_access").everything
    assert Grants.parse("patient/*.read").everything
    assert not Grants.parse("patient/Observation.read patient/Patient.read").everything
    assert not Grants.parse(f"patient/*.rs?category={LAB}").everything
    assert Grants.parse("launch/patient").everything  # no resource scopes reported: unknown


# -- what to ask for, type by type -----------------------------------------------------------


def _statement(*resources: dict[str, object]) -> Capabilities:
    return Capabilities.of(
        {"resourceType": "CapabilityStatement", "rest": [{"resource": resources}]}
    )


def _searchable(rtype: str, *params: str) -> dict[str, object]:
    return {
        "type": rtype,
        "interaction": [{"code": "search-type"}],
        "searchParam": [{"name": p} for p in params],
    }


CAPS = _statement(
    _searchable("Observation", "patient", "category", "code"),
    _searchable("Condition", "patient"),  # no category declared
    {"type": "Device", "interaction": [{"code": "read"}]},
    _searchable("Coverage", "beneficiary"),
)


def test_a_plain_search_with_us_core_categories_to_fall_back_on() -> None:
    plans, skipped = plan(CAPS, Grants.parse("patient/*.rs"), Rules())
    by_type = {p.rtype: p for p in plans}
    assert set(by_type) == {"Observation", "Condition", "Coverage"}
    assert by_type["Observation"].queries == ((),)
    assert by_type["Observation"].fallback == tuple(
        (("category", c),) for c in US_CORE_CATEGORIES["Observation"]
    )
    assert by_type["Condition"].fallback == ()  # it declares no category to ask by
    assert by_type["Coverage"].param == "beneficiary"
    why = {t.rtype: (t.outcome, t.why) for t in skipped}
    assert why["Device"] == ("not-offered", "the server offers no search of it")
    assert why["Goal"] == ("not-offered", "not in the server's CapabilityStatement")


def test_an_api_known_to_need_categories_is_asked_by_category() -> None:
    plans, _ = plan(CAPS, Grants.parse("patient/*.read"), EPIC_RULES)
    observation = next(p for p in plans if p.rtype == "Observation")
    assert observation.queries == tuple(
        (("category", c),) for c in EPIC_RULES.by_category["Observation"]
    )
    assert observation.fallback == () and observation.how == "by category, as this API requires"
    bare = _statement(_searchable("Observation", "patient"))
    _, skipped = plan(bare, Grants.parse("patient/*.read"), EPIC_RULES)
    assert next(t for t in skipped if t.rtype == "Observation").why == (
        "this API needs a category to search it, and the server declares no category"
    )


def test_scopes_decide_what_is_asked() -> None:
    grants = Grants.parse(f"patient/Observation.rs?category={LAB} patient/Coverage.read")
    plans, skipped = plan(CAPS, grants, EPIC_RULES)
    assert {p.rtype: p.queries for p in plans} == {
        "Observation": ((("category", LAB),),),  # the scope's query, not Epic's categories
        "Coverage": ((),),
    }
    assert next(t for t in skipped if t.rtype == "Condition").outcome == "not-granted"


def test_every_preset_is_documented_and_well_formed() -> None:
    docs = (ROOT / "docs" / "connect.md").read_text(encoding="utf-8")
    for name, preset in PRESETS.items():
        assert f"`{name}`" in docs, name
        if preset.fhir_base:
            assert normalise_base(preset.fhir_base) == preset.fhir_base
    for name in ("athenahealth", "eclinicalworks"):
        assert "patient/*.read" in (PRESETS[name].scopes or ())
    assert PRESETS["epic"].rules == PRESETS["epic-sandbox"].rules == EPIC_RULES
    assert not EPIC_RULES.everything and "CarePlan" in EPIC_RULES.by_category


def test_every_connect_and_sync_option_is_in_the_connect_docs() -> None:
    from healthlocker.cli import build_parser

    docs = (ROOT / "docs" / "connect.md").read_text(encoding="utf-8")
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for command in ("connect", "sync"):
        options = [o for a in commands[command]._actions for o in a.option_strings]
        options = [o for o in options if o.startswith("--") and o not in ("--help", "--home")]
        assert [o for o in options if o not in docs] == [], command
