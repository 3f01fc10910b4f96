"""Real views to draw: the bundled samples imported into an in-memory vault, read by the
records functions the tools call, shaped as the tools' results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from healthlocker import records
from healthlocker.connectors import import_paths
from healthlocker.store import Vault
from helpers import ROOT

SAMPLES = ROOT / "samples"
# A patient of the Synthea samples with several medications, some stopped
MEDS_PATIENT = "ab47f921-b3c4-4bbe-8744-9bf303f64db9"
PLANS = json.loads((SAMPLES.parent / "examples" / "plans" / "example-plans.json").read_text())
HOSTILE_NAME = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>Pill"


def hostile_bundle(folder: Path) -> Path:
    """A FHIR Bundle whose medication and reason are HTML: they must be drawn as text."""
    patient = {"resourceType": "Patient", "id": "hostile-1", "gender": "female"}
    request = {
        "resourceType": "MedicationRequest",
        "id": "hostile-med-1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/hostile-1"},
        "authoredOn": "2023-05-01",
        "medicationCodeableConcept": {"text": HOSTILE_NAME},
        "reasonCode": [{"text": "<b>bold</b> & <i>reason</i>"}],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": patient}, {"resource": request}],
    }
    path = folder / "hostile.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def sample_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    hostile = hostile_bundle(tmp_path_factory.mktemp("hostile"))
    vault = Vault.ephemeral()
    paths = [SAMPLES / "fhir" / "synthea", SAMPLES / "fhir" / "bluebutton"]
    report = import_paths(vault, [*paths, SAMPLES / "myfitnesspal", hostile])
    assert report.ok, [f.error for f in report.files if f.error]
    yield vault
    vault.close()


def tool_result(view: BaseModel) -> dict[str, Any]:
    """The CallToolResult a tool returns for *view*, as it travels (the server's answer())."""
    return {
        "content": [{"type": "text", "text": view.render()}],  # type: ignore[attr-defined]
        "structuredContent": view.structured(),  # type: ignore[attr-defined]
    }


@pytest.fixture(scope="session")
def views(sample_vault: Vault) -> dict[str, tuple[str, dict[str, Any], BaseModel]]:
    """name → (tool, arguments, view): one real result per chart, and some harder ones."""
    v = sample_vault
    calls: dict[str, tuple[str, dict[str, Any]]] = {
        "blood_pressure": ("summarize_trends", {"metric": "blood_pressure"}),
        "body_weight": ("summarize_trends", {"metric": "body_weight"}),
        "glucose": ("list_labs", {"test": "glucose", "limit": 50}),
        "cholesterol": ("list_labs", {"test": "2093-3", "limit": 50}),
        "plans": ("explain_coverage", {"plans": PLANS}),
        "meds": ("get_meds", {"status": "all", "patient": MEDS_PATIENT}),
        "hostile": ("get_meds", {"status": "all", "patient": "hostile-1"}),
    }
    functions: dict[str, Any] = {
        "summarize_trends": records.summarize_trends,
        "list_labs": records.list_labs,
        "explain_coverage": records.explain_coverage,
        "get_meds": records.get_meds,
    }
    out = {}
    for name, (tool, args) in calls.items():
        person = args.pop("patient", None)
        out[name] = (tool, args, functions[tool](records.Scope(v, patient=person), **args))
    return out
