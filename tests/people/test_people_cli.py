"""`healthlocker people` and `import --person` through the real command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from helpers import SAMPLES, run_cli
from people.people_helpers import bundle, glucose, patient


def _people(home: Path) -> list[dict[str, Any]]:
    done = run_cli("people", "--json", home=home)
    assert done.returncode == 0, done.stderr
    listed: list[dict[str, Any]] = json.loads(done.stdout)
    return listed


def test_people_list_link_split_owner_and_name(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    assert run_cli("init", home=home).returncode == 0
    files = sorted((SAMPLES / "synthea").glob("*.json"))[:3]
    done = run_cli("import", *map(str, files), home=home)
    assert done.returncode == 0, done.stderr
    assert "The vault's owner is A. H., born 1949 (person-1)" in done.stdout
    assert "Someone else: A. C., born 1949, stored apart as person-2" in done.stdout
    assert "Adalberto" not in done.stdout + done.stderr  # initials and birth year, no more

    table = run_cli("people", home=home)
    assert table.returncode == 0
    assert "person-3" in table.stdout and "A. T., born 2018" in table.stdout
    assert "healthlocker people link A B" in table.stdout
    listed = _people(home)
    assert [(p["id"], p["owner"], len(p["patients"])) for p in listed] == [
        ("person-1", True, 1),
        ("person-2", False, 1),
        ("person-3", False, 1),
    ]
    assert [p["sources"] for p in listed] == [[f.stem] for f in files]

    linked = run_cli("people", "link", "owner", "3", home=home)
    assert linked.returncode == 0, linked.stderr
    assert linked.stdout.strip() == "person-3 is person-1 now: one person (A. H., born 1949)."
    assert [len(p["patients"]) for p in _people(home)] == [2, 1]

    third = listed[2]["patients"][0]
    split = run_cli("people", "split", third.removeprefix("Patient/"), home=home)
    assert split.returncode == 0, split.stderr
    assert "Split off 1 Patient record(s) as person-3" in split.stdout

    named = run_cli("people", "name", "person-2", "Mum", home=home)
    assert named.stdout.strip() == "person-2 is called Mum now."
    owner = run_cli("people", "owner", "Mum", home=home)
    assert owner.stdout.strip() == "person-2 (Mum) is the vault's owner now."
    assert [(p["id"], p["owner"], p["name"]) for p in _people(home)] == [
        ("person-2", True, "Mum"),
        ("person-1", False, None),
        ("person-3", False, None),
    ]


def test_people_mistakes_are_one_line_and_status_1_or_2(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    assert run_cli("init", home=home).returncode == 0
    cases = [
        (("people", "link", "owner"), 2, "usage: healthlocker people link A B"),
        (("people", "owner", "person-7"), 1, "no person 'person-7' in this vault"),
        (("people", "split", "nothing"), 1, "no Patient and no source 'nothing'"),
        (("people", "person-1"), 2, "invalid choice"),
    ]
    for args, status, message in cases:
        done = run_cli(*args, home=home)
        assert done.returncode == status, (args, done.stderr)
        assert message in done.stderr
        assert "Traceback" not in done.stderr


def test_import_person_chooses_and_json_says_whom(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    assert run_cli("init", home=home).returncode == 0
    first = bundle(
        tmp_path / "mine.json",
        patient("me", "Alex", "Example", "1980-02-14", "female"),
        glucose("g1", "me", "2023-05-01T08:30:00-04:00", 95),
    )
    assert run_cli("import", str(first), home=home).returncode == 0
    unclear = bundle(
        tmp_path / "old-clinic.json",
        patient("me-old", "Alexandra", "Example", "1980-02-14", "female"),
    )
    refused = run_cli("import", str(unclear), home=home)
    assert refused.returncode == 1
    assert "looks like the vault's owner but whose name differs" in refused.stderr
    assert "--person owner" in refused.stderr
    chosen = run_cli("import", str(unclear), "--person", "owner", "--json", home=home)
    assert chosen.returncode == 0, chosen.stderr
    (outcome,) = json.loads(chosen.stdout)["files"]
    assert outcome["people"] == [
        {
            "person": "person-1",
            "shown": "A. E., born 1980",
            "owner": True,
            "how": "chosen",
            "note": "About A. E., born 1980 (the owner), as --person chose.",
        }
    ]
    again = run_cli("import", str(tmp_path / "mine.json"), "--source", "copy", "--json", home=home)
    (same,) = json.loads(again.stdout)["files"]
    assert (same["already_imported"], same["already_in"]) == (True, "mine")
