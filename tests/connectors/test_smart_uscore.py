"""US Core-aware fetching against real components on 127.0.0.1: sekmet-fhir behind the SMART
gateway, with Epic's rules switched on (``gateway.mjs``: Observation and CarePlan searches
refused without a category, no ``$everything``, ``next`` links that expire) and with tokens
limited by SMART v1 and v2 scopes. Each rule the gateway enforces is met by the sync here.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.smart.servers import SmartBench, cli_connect, patient_of, play_browser
from healthlocker.connectors import LinkStore, SyncResult, connect_link, sync_link
from healthlocker.connectors.smart._presets import EPIC_RULES
from healthlocker.connectors.smart._recipes import US_CORE_CATEGORIES
from healthlocker.errors import SyncError
from healthlocker.store import Vault
from helpers import SAMPLES, load_json, run_cli

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(
        shutil.which("npm") is None, reason="needs Node's npm to install oauth2-mock-server"
    ),
]
PATIENT_FILE = "Austin_Spencer_29195483-ce99-4a73-9cee-2d6728078472.json"
LAB = "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
EPIC_REFUSAL = (
    "HTTP 400: required: A required element is missing. Must have either code or category."
)

Held = dict[tuple[str, str], dict[str, Any]]


@pytest.fixture(scope="module")
def bench() -> Iterator[tuple[SmartBench, str]]:
    with SmartBench.start() as b:
        yield b, patient_of(b.load(load_json(SAMPLES / "synthea" / PATIENT_FILE)))


@pytest.fixture
def gateway(bench: tuple[SmartBench, str]) -> Iterator[Any]:
    """Starts the gateway with the options a test asks for; stops it afterwards."""
    b, patient = bench
    yield lambda **options: b.start_gateway(patient, **options)
    b.stop_gateway()


def _connect(vault: Vault, b: SmartBench, **options: Any) -> Any:
    return connect_link(
        vault,
        "clinic",
        fhir_base=b.fhir_base,
        client_id="hl-uscore",
        open_url=play_browser,
        **options,
    )


def _stored(vault: Vault) -> Held:
    return {(r["resourceType"], r["id"]): r for r in vault.iter_all()}


def _search(b: SmartBench, rtype: str, patient: str, *queries: dict[str, str]) -> Held:
    """What the server holds for these searches, asked of it directly (as its operator)."""
    out: Held = {}
    for query in queries or ({},):
        for r in b.search_all(rtype, patient=patient, **query):
            out[(rtype, r["id"])] = r
    return out


def _epic_expected(b: SmartBench, patient: str, result: SyncResult) -> Held:
    """Everything an Epic-rules sync should hold: per-category searches where Epic demands
    them, plain patient searches for every other type the server offers."""
    expected: Held = {("Patient", patient): b.upstream_get(f"Patient/{patient}")}
    for rtype, outcome in result.types.items():
        if outcome.outcome != "fetched" or rtype == "Patient":
            continue
        categories = EPIC_RULES.by_category.get(rtype, ())
        expected |= _search(b, rtype, patient, *({"category": c} for c in categories))
    return expected


def test_the_epic_preset_asks_the_way_epic_requires_and_gets_labs_and_vitals(
    vault: Vault, bench: tuple[SmartBench, str], gateway: Any
) -> None:
    b, patient = bench
    gateway(ehr="epic")
    _connect(vault, b, preset="epic")
    result = sync_link(vault, "clinic", page_size=50)
    assert result.strategy == "search"  # Epic offers patients no $everything
    assert set(result.stats.statuses) == {200}  # never asked the way Epic refuses
    observations = result.types["Observation"]
    categories = EPIC_RULES.by_category["Observation"]
    assert [s.query for s in observations.searches] == [f"category={c}" for c in categories]
    assert all(s.refused is None for s in observations.searches)
    labs = _search(b, "Observation", patient, {"category": "laboratory"})
    vitals = _search(b, "Observation", patient, {"category": "vital-signs"})
    assert len(labs) > 200 and len(vitals) > 40
    stored = _stored(vault)
    assert labs.keys() | vitals.keys() <= stored.keys()
    assert result.fetched["Observation"] == len(_search(b, "Observation", patient))
    careplans = [s.query for s in result.types["CarePlan"].searches]
    assert careplans == [f"category={c}" for c in EPIC_RULES.by_category["CarePlan"]]
    assert stored == _epic_expected(b, patient, result)


def test_without_a_preset_an_epic_refusal_makes_the_sync_ask_by_category(
    home: Path, bench: tuple[SmartBench, str], gateway: Any
) -> None:
    b, patient = bench
    gateway(ehr="epic")
    assert run_cli("init", home=home).returncode == 0
    cli_connect(home, b.fhir_base)
    sync = run_cli("sync", "--json", home=home)
    assert sync.returncode == 0, sync.stderr
    [summary] = json.loads(sync.stdout)
    observations = summary["types"]["Observation"]
    assert observations["outcome"] == "fetched"
    assert observations["searches"][0] == {"query": "", "resources": 0, "refused": EPIC_REFUSAL}
    assert observations["why"] == (
        f"asked by category: the server refused a plain search ({EPIC_REFUSAL})"
    )
    asked = [s["query"] for s in observations["searches"][1:]]
    assert asked == [f"category={c}" for c in US_CORE_CATEGORIES["Observation"]]
    assert observations["resources"] == len(_search(b, "Observation", patient)) > 250
    assert summary["types"]["CarePlan"]["searches"][0]["refused"].startswith(
        "HTTP 400: required: This resource requires a category for searching."
    )
    text = run_cli("sync", "--full", home=home)
    assert text.returncode == 0, text.stderr
    note = f"  Observation: asked by category: the server refused a plain search ({EPIC_REFUSAL})"
    assert note in text.stdout
    assert patient not in sync.stdout + text.stdout


def test_a_v1_scope_for_one_type_fetches_that_type_only(
    vault: Vault, bench: tuple[SmartBench, str], gateway: Any
) -> None:
    b, patient = bench
    gateway()
    link = _connect(vault, b, scopes=["patient/Observation.read"])
    assert link.scope == "launch/patient patient/Observation.read"
    result = sync_link(vault, "clinic")
    assert result.strategy == "search"  # $everything is offered, but not granted
    assert set(result.stats.statuses) == {200}  # the gateway's 403s were never provoked
    assert result.types["Observation"].outcome == "fetched"
    assert result.types["Patient"].outcome == "not-granted"
    others = {t.outcome for r, t in result.types.items() if r not in ("Observation", "Patient")}
    assert others <= {"not-granted", "not-offered"} and "not-granted" in others
    assert _stored(vault) == _search(b, "Observation", patient)


def test_a_v2_scope_limited_to_a_category_asks_exactly_that(
    vault: Vault, bench: tuple[SmartBench, str], gateway: Any
) -> None:
    b, patient = bench
    gateway()
    _connect(vault, b, scopes=[f"patient/Observation.rs?category={LAB}", "patient/Patient.r"])
    result = sync_link(vault, "clinic")
    assert set(result.stats.statuses) == {200}
    [search] = result.types["Observation"].searches
    assert search.query == f"category={LAB}" and search.refused is None
    assert result.types["Patient"].searches[0].query == "read"
    expected = _search(b, "Observation", patient, {"category": LAB})
    expected[("Patient", patient)] = b.upstream_get(f"Patient/{patient}")
    assert _stored(vault) == expected
    codes = {
        r["category"][0]["coding"][0]["code"] for (t, _), r in expected.items() if t != "Patient"
    }
    assert codes == {"laboratory"}


def test_types_the_server_refuses_are_recorded_and_the_rest_is_stored(
    vault: Vault, bench: tuple[SmartBench, str], gateway: Any
) -> None:
    """The token response claims `patient/*.rs`, but the person approved three types only
    (what the token really carries): the server answers 403 for the rest."""
    b, patient = bench
    gateway(grant="launch/patient patient/Patient.rs patient/Observation.rs patient/Condition.rs")
    _connect(vault, b)
    result = sync_link(vault, "clinic")
    assert result.strategy == "search"  # $everything was refused (403): searched instead
    refused = {r: t for r, t in result.types.items() if t.outcome == "refused"}
    assert {"Encounter", "Immunization", "MedicationRequest"} <= refused.keys()
    assert refused["Encounter"].why == (
        "HTTP 403: forbidden: No scope granted to this app allows this Encounter search."
    )
    assert any(n.startswith("Encounter: refused by the server (HTTP 403") for n in result.notes())
    expected = _search(b, "Observation", patient) | _search(b, "Condition", patient)
    expected[("Patient", patient)] = b.upstream_get(f"Patient/{patient}")
    assert _stored(vault) == expected
    assert LinkStore(vault).get("clinic").cursor == result.cursor


def test_an_expired_next_link_makes_the_search_start_again(
    vault: Vault, bench: tuple[SmartBench, str], gateway: Any
) -> None:
    b, patient = bench
    gateway(ehr="epic", page_ttl=1.0)
    _connect(vault, b, preset="epic")
    waited: list[str] = []

    def slow_reader(label: str, done: int, total: int | None) -> None:
        if label == "Observation laboratory" and not waited:
            waited.append(label)
            time.sleep(1.5)  # the next link this page named expires meanwhile

    result = sync_link(vault, "clinic", page_size=20, progress=slow_reader)
    labs = next(s for s in result.types["Observation"].searches if s.query == "category=laboratory")
    assert labs.restarts == 1 and labs.refused is None
    assert result.stats.statuses.get(400) == 1
    assert labs.resources == len(_search(b, "Observation", patient, {"category": "laboratory"}))
    assert _stored(vault) == _epic_expected(b, patient, result)


def test_next_links_that_never_work_fail_the_sync_with_nothing_stored(
    vault: Vault, bench: tuple[SmartBench, str], gateway: Any
) -> None:
    b, _ = bench
    gateway(ehr="epic", page_ttl=0.001)
    _connect(vault, b, preset="epic")
    with pytest.raises(
        SyncError, match=r"next links stopped working 3 times \(HTTP 400: processing"
    ):
        sync_link(vault, "clinic", page_size=10)
    assert vault.sources() == []
    assert LinkStore(vault).get("clinic").cursor is None
