"""Streaming syncs against the live bench (sekmet-fhir behind the SMART gateway, 127.0.0.1):
pages staged as they come and moved in as one batch; a sync killed with SIGKILL at several
points leaves nothing of itself, and the next one completes; documents given only as a ``url``
fetched from the approved origin, never from another.
"""

from __future__ import annotations

import base64
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from connectors.smart.servers import SmartBench, cli_connect, patient_of, play_browser
from healthlocker.connectors import LinkStore, connect_link, sync_link
from healthlocker.records import read_document
from healthlocker.store import Vault
from helpers import PASSPHRASE, SAMPLES, load_json, run_cli

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        shutil.which("npm") is None, reason="needs Node's npm to install oauth2-mock-server"
    ),
]
BIG = "Austin_Spencer_29195483-ce99-4a73-9cee-2d6728078472.json"  # the most pages
SMALL = "Asa_Hermiston_4384bf23-1dc3-48ca-8c84-89fbaff201ae.json"
LAB = "http://terminology.hl7.org/CodeSystem/observation-category"

Held = dict[tuple[str, str], dict[str, Any]]


@pytest.fixture(scope="module")
def bench() -> Iterator[tuple[SmartBench, str, str]]:
    with SmartBench.start() as b:
        big = patient_of(b.load(load_json(SAMPLES / "synthea" / BIG)))
        small = patient_of(b.load(load_json(SAMPLES / "synthea" / SMALL)))
        yield b, big, small


@pytest.fixture
def gateway(bench: tuple[SmartBench, str, str]) -> Iterator[Any]:
    b = bench[0]
    yield lambda patient, **options: b.start_gateway(patient, **options)
    b.stop_gateway()


def _connect(vault: Vault, b: SmartBench, **options: Any) -> Any:
    return connect_link(
        vault, "clinic", fhir_base=b.fhir_base, client_id="hl-stream", open_url=play_browser,
        **options,
    )  # fmt: skip


def _stored(vault: Vault) -> Held:
    return {(r["resourceType"], r["id"]): r for r in vault.iter_all()}


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALTHLOCKER_")}
    return env | {"HEALTHLOCKER_HOME": str(home), "HEALTHLOCKER_PASSPHRASE": PASSPHRASE}


def _stage_files(home: Path) -> list[Path]:
    return sorted(home.glob(".stage-*"))


def _kill_while_staging(home: Path, delay: float) -> bytes:
    """Start `healthlocker sync`, SIGKILL it *delay* s after it began staging; the bytes of
    the stage it left behind."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "healthlocker.cli", "sync", "clinic", "--page-size", "1"],
        env=_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not _stage_files(home):
            assert proc.poll() is None, "the sync ended before it staged anything"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(delay)
        assert proc.poll() is None, "the sync ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:  # killed and its pipe closed, whatever happened
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, err
    return b"".join(p.read_bytes() for p in _stage_files(home))


def test_a_sync_killed_at_random_points_leaves_nothing_and_the_next_completes(
    home: Path, bench: tuple[SmartBench, str, str], gateway: Any
) -> None:
    b, patient, _ = bench
    # Searches (no $everything, which this server answers in one page whatever `_count`), a
    # page a resource, each 10 ms at the least as over a network: hundreds of pages, so the
    # sync outlasts every kill point however fast this machine stages them.
    gateway(patient, everything=False, latency_ms=10)
    assert run_cli("init", home=home).returncode == 0
    cli_connect(home, b.fhir_base)
    name = load_json(SAMPLES / "synthea" / BIG)["entry"][0]["resource"]["name"][0]["family"]
    rng = random.Random(18)
    for delay in (0.0, rng.uniform(0.05, 0.3), rng.uniform(0.3, 0.8)):
        left = _kill_while_staging(home, delay)
        # What the killed sync left is sealed like the vault: no names, ids or types in it.
        assert patient.encode() not in left and name.encode() not in left
        assert b"Observation" not in left and b"resourceType" not in left
        with Vault.open(home) as vault:  # opening clears the dead sync's stage
            assert _stage_files(home) == []
            # Killed mid-sync (every kill point is: it lasts seconds), it stored nothing of
            # what it had fetched, and its cursor has not moved.
            assert _stored(vault) == {}
            assert vault.sources() == [] and LinkStore(vault).get("clinic").cursor is None
    # The whole record by $everything (Organization and Practitioner too): a fresh gateway, so
    # a fresh sign-in.
    gateway(patient)
    cli_connect(home, b.fhir_base)
    done = run_cli("sync", "clinic", "--page-size", "50", home=home)
    assert done.returncode == 0, done.stderr
    with Vault.open(home) as vault:
        assert _stored(vault) == b.everything(patient)
        assert LinkStore(vault).get("clinic").cursor is not None
    assert _stage_files(home) == []
    assert run_cli("verify", home=home).returncode == 0


def test_a_resource_two_searches_return_is_stored_and_counted_once(
    vault: Vault, bench: tuple[SmartBench, str, str], gateway: Any
) -> None:
    b, _, patient = bench
    both = {
        "resourceType": "Observation",
        "id": "in-two-categories",
        "status": "final",
        "category": [
            {"coding": [{"system": LAB, "code": "laboratory"}]},
            {"coding": [{"system": LAB, "code": "vital-signs"}]},
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": "2024-03-01",
        "valueQuantity": {"value": 61, "unit": "/min"},
    }
    b.put(both)
    gateway(patient, ehr="epic")
    _connect(vault, b, preset="epic")
    result = sync_link(vault, "clinic", page_size=5)
    searches = {s.query: s.resources for s in result.types["Observation"].searches}
    labs = {r["id"] for r in b.search_all("Observation", patient=patient, category="laboratory")}
    vitals = {r["id"] for r in b.search_all("Observation", patient=patient, category="vital-signs")}
    assert "in-two-categories" in labs & vitals
    assert searches["category=laboratory"] == len(labs) and searches["category=vital-signs"] == len(
        vitals
    )
    stored = _stored(vault)
    observations = {rid for (rtype, rid) in stored if rtype == "Observation"}
    assert (
        result.fetched["Observation"] == len(observations) == result.types["Observation"].resources
    )
    assert result.added == len(stored) and result.batch is not None
    assert result.batch.repeated == sum(searches.values()) - len(observations) >= 1
    assert stored[("Observation", "in-two-categories")]["valueQuantity"]["value"] == 61


class _Elsewhere:
    """Another origin (a different port on 127.0.0.1) that counts what is asked of it."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.asked.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"not to be fetched")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def elsewhere() -> Iterator[_Elsewhere]:
    server = _Elsewhere()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _document(rid: str, patient: str, attachment: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "id": rid,
        "status": "current",
        "type": {"text": "Progress note"},
        "subject": {"reference": f"Patient/{patient}"},
        "date": "2024-02-02T10:00:00Z",
        "content": [{"attachment": attachment}],
    }


def test_url_attachments_are_fetched_from_the_approved_origin_only(
    vault: Vault, bench: tuple[SmartBench, str, str], gateway: Any, elsewhere: _Elsewhere
) -> None:
    b, _, patient = bench
    note = "<html><body><p>Seen for HTN.</p><script>alert(1)</script><p>BP 150/95 BID</p>"
    b.put({"resourceType": "Binary", "id": "note-html", "contentType": "text/html",
           "data": base64.b64encode(note.encode()).decode()})  # fmt: skip
    b.put({"resourceType": "Binary", "id": "report-txt", "contentType": "text/plain",
           "data": base64.b64encode(b"Impression: no acute findings.").decode()})  # fmt: skip
    b.put(_document("by-url", patient, {"contentType": "text/html", "url": "Binary/note-html"}))
    b.put(_document("off-origin", patient, {"contentType": "text/plain",
                                            "url": f"{elsewhere.base}/note.txt"}))  # fmt: skip
    b.put(_document("gone", patient, {"contentType": "text/plain", "url": "Binary/missing"}))
    b.put({"resourceType": "DiagnosticReport", "id": "report-by-url", "status": "final",
           "code": {"text": "Chest X-ray"}, "subject": {"reference": f"Patient/{patient}"},
           "effectiveDateTime": "2024-02-03",
           "presentedForm": [{"contentType": "text/plain",
                              "url": f"{b.fhir_base}/Binary/report-txt"}]})  # fmt: skip
    gateway(patient)
    _connect(vault, b)
    result = sync_link(vault, "clinic")
    assert result.attachments == {"fetched": 2, "other-origin": 1, "refused": 1}
    assert result.public()["attachments"] == result.attachments
    assert elsewhere.asked == []  # not a request, so not the token either
    page = read_document(vault, id="DocumentReference/by-url")
    text = page.text.record_text  # type: ignore[union-attr]
    assert "Seen for HTN." in text and "BP 150/95 BID" in text and "alert" not in text
    report = read_document(vault, id="DiagnosticReport/report-by-url")
    assert "Impression: no acute findings." in report.text.record_text  # type: ignore[union-attr]
    stored = _stored(vault)
    for rid in ("off-origin", "gone"):  # kept as the server gave them
        attachment = stored[("DocumentReference", rid)]["content"][0]["attachment"]
        assert "data" not in attachment and len(stored[("DocumentReference", rid)]["content"]) == 1
