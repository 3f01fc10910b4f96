"""Broken and hostile C-CDA documents: each refused through the CLI with the file and the place
named, no traceback, nothing stored; and the caps, one by one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connectors.ccda_helpers import HEADER, SAMPLE_XML, document, lab, section
from healthlocker.connectors import ReadOptions, import_paths
from healthlocker.connectors.ccda import _reader as _ccda
from healthlocker.connectors.ccda._reader import read_ccda
from healthlocker.errors import LimitError
from healthlocker.store import Vault
from helpers import PASSPHRASE, run_cli

_BODY = section("3.1", "30954-2", lab("l1", "2345-7", "Glucose", "95", "mg/dL", "2024", "7", "9"))
_ROOT = '<ClinicalDocument xmlns="urn:hl7-org:v3">'
# name → (file content, what the error must say); the files are imported in one CLI run.
DETECTED: dict[str, tuple[str | bytes, str]] = {
    "truncated": (
        SAMPLE_XML[0].read_text(encoding="utf-8")[:60_000],
        r"the XML ends early at line \d+",
    ),
    "billion-laughs": (
        '<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument [\n <!ENTITY a "lol">\n'
        + "".join(
            f' <!ENTITY {c} "&{p};&{p};&{p};&{p};&{p};&{p};&{p};&{p};">\n'
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + f"]>\n{_ROOT}<title>&i;</title></ClinicalDocument>",
        r"before the root element: the document declares a DOCTYPE or entities",
    ),
    "external-entity": (
        '<?xml version="1.0"?>\n<!DOCTYPE ClinicalDocument [<!ENTITY x SYSTEM '
        f'"file:///etc/passwd">]>\n{_ROOT}<title>&x;</title></ClinicalDocument>',
        r"before the root element: the document declares a DOCTYPE or entities",
    ),
    "undeclared-entity": (
        document(_BODY).replace("<title>t</title>", "<title>&x;</title>", 1),
        r"malformed XML at line \d+, column \d+: Entity 'x' not defined",
    ),
    "about-no-one": (  # narrative only, and no patient: nothing to keep it with
        document(
            section("10", "18776-5", text="<paragraph>Rest</paragraph>"),
            header=re.sub(r"<recordTarget>.*?</recordTarget>", "", HEADER, flags=re.S),
        ),
        r"no patient \(recordTarget/patientRole\) in the header: a document about no one",
    ),
    "no-patient": (
        document(_BODY, header=re.sub(r"<recordTarget>.*?</recordTarget>", "", HEADER, flags=re.S)),
        r"line \d+ <organizer>: no patient \(recordTarget/patientRole\)",
    ),
    "deeply-nested": (
        document(
            section("3.1", "30954-2", "<entry>" + "<act>" * 150 + "</act>" * 150 + "</entry>")
        ),
        r"line \d+: elements nested more than 100 levels deep",
    ),
    "empty": (b"", r"the file is empty"),
}
# Files that only a stated format sends to the C-CDA reader.
FORCED: dict[str, tuple[str | bytes, str]] = {
    "not-cda": (
        "<html><body/></html>",
        r"line 1: not a C-CDA document: the root element is <html>",
    ),
    "utf-16": (document(_BODY).encode("utf-16"), r"not UTF-8 text"),
    "huge": (b"", r"a C-CDA document over 256 MiB"),  # made sparse below
}


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str, Path]]:
    """name → (file, the CLI's stderr, the vault) after importing every bad file."""
    folder = tmp_path_factory.mktemp("hostile")
    home = folder / "vault"
    env = {"HEALTHLOCKER_PASSPHRASE": PASSPHRASE}
    assert run_cli("init", home=home, env=env).returncode == 0
    out: dict[str, tuple[Path, str, Path]] = {}
    for cases, extra in ((DETECTED, ()), (FORCED, ("--format", "ccda"))):
        paths = []
        for name, (content, _) in cases.items():
            path = folder / f"{name}.xml"
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
            if name == "huge":
                with path.open("r+b") as f:
                    f.truncate(_ccda.MAX_BYTES + 1)  # sparse: no disk used
            paths.append(path)
        result = run_cli("import", *map(str, paths), *extra, home=home, env=env)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert f"0 of {len(paths)} file(s)" in result.stdout
        for name, path in zip(cases, paths, strict=True):
            out[name] = (path, result.stderr, home)
    return out


@pytest.mark.parametrize("name", [*DETECTED, *FORCED])
def test_refused_with_file_and_place(name: str, refused: dict[str, tuple[Path, str, Path]]) -> None:
    path, stderr, _ = refused[name]
    expected = {**DETECTED, **FORCED}[name][1]
    [line] = [x for x in stderr.splitlines() if x.startswith(f"error: {path}")]
    assert re.search(expected, line), line
    assert "root:" not in stderr, "nothing of /etc/passwd was read"


def test_nothing_of_them_is_stored(
    refused: dict[str, tuple[Path, str, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    home = next(iter(refused.values()))[2]
    monkeypatch.setenv("HEALTHLOCKER_PASSPHRASE", PASSPHRASE)
    with Vault.open(home) as vault:
        assert vault.stats()["resources"] == 0


def test_the_entry_cap(vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_ccda, "MAX_ENTRIES", 1)
    path = tmp_path / "two.xml"
    path.write_text(document(_BODY, _BODY.replace('"l1"', '"l2"').replace('"o-l1"', '"o-l2"')))
    with pytest.raises(LimitError, match="over 1 entries"):
        list(read_ccda(path, ReadOptions()))
    assert not import_paths(vault, [path]).ok
    assert vault.stats()["resources"] == 0


def test_the_narrative_cap_leaves_references_unresolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_ccda, "MAX_NARRATIVE", 10)
    notes: list[str] = []
    resources = list(read_ccda(SAMPLE_XML[0], ReadOptions(notes=notes)))
    assert resources
    assert any("narrative text past the cap" in n for n in notes)
