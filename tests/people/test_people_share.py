"""A share (a SMART Health Link) is one person's, as a tool's answer is: the owner's by default,
another's by `--patient`, never two people's records together."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from healthlocker.connectors import import_paths
from healthlocker.sharing import patient_summary, records_of_types
from healthlocker.store import Vault
from helpers import run_cli
from people.people_helpers import bundle, glucose, patient

ANN = patient("ann", "Ann", "Lee", "1970-02-01", "female")
BOB = patient("bob", "Bob", "Ray", "1990-07-09", "male")


def _files(folder: Path) -> list[Path]:
    return [
        bundle(folder / "ann.json", ANN, glucose("g-ann", "ann", "2024-01-02", 101)),
        bundle(folder / "bob.json", BOB, glucose("g-bob", "bob", "2024-01-03", 88)),
    ]


def _refs(summary: Any) -> set[str]:
    kinds = {"Patient", "Observation"}
    return {
        f"{r['resourceType']}/{r['id']}"
        for r in (e["resource"] for e in summary.bundle["entry"])
        if r["resourceType"] in kinds
    }


def test_a_summary_and_a_types_share_are_one_persons(vault: Vault, tmp_path: Path) -> None:
    assert import_paths(vault, _files(tmp_path)).ok
    assert _refs(patient_summary(vault)) == {"Patient/ann", "Observation/g-ann"}
    for who in ("person-2", "Patient/bob", "bob"):
        assert _refs(patient_summary(vault, patient=who)) == {"Patient/bob", "Observation/g-bob"}
    assert _refs(records_of_types(vault, ["Observation"])) == {"Observation/g-ann"}
    theirs = records_of_types(vault, ["Observation"], patient="person-2")
    assert _refs(theirs) == {"Observation/g-bob"}


def test_share_patient_takes_a_persons_id(home: Path, tmp_path: Path) -> None:
    assert run_cli("init", home=home).returncode == 0
    assert run_cli("import", *map(str, _files(tmp_path)), home=home).returncode == 0
    made = run_cli(
        "share",
        "--patient",
        "person-2",
        "--no-passcode",
        "--public-url",
        "http://127.0.0.1:9",
        "--qr",
        str(tmp_path / "q.png"),
        "--json",
        home=home,
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["records"] == 2  # Bob and his result: not Ann's
