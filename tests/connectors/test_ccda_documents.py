"""The C-CDA document itself → a DocumentReference: op notes, imaging reports and other
narrative-only documents keep their patient and their text; unstructured bodies are kept as
given. The text is checked against an independent reading of the XML (lxml XPath)."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from connectors.ccda_helpers import HEADER, document, section
from healthlocker.connectors import ReadOptions, import_paths
from healthlocker.connectors.ccda import _document
from healthlocker.connectors.ccda._reader import read_ccda
from healthlocker.store import Vault

VENDORS = Path(__file__).parent / "data" / "ccda-vendors"
NS = {"v3": "urn:hl7-org:v3"}
_BODY = re.compile(r"<component><structuredBody>.*", re.S)


def _read(path: Path, notes: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for _, r in read_ccda(path, ReadOptions(notes=[] if notes is None else notes)):
        out.setdefault(r["resourceType"], []).append(r)
    return out


def _text(reference: dict[str, Any]) -> str:
    [content] = reference["content"]
    assert content["attachment"]["contentType"] == "text/plain; charset=utf-8"
    data = base64.b64decode(content["attachment"]["data"])
    assert content["attachment"]["size"] == len(data)
    return data.decode("utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "doc.xml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "name",
    [
        "mtuitive-opnote-cataract.xml",
        "hl7-examples-Operative_Note-Operative_Note.xml",
        "hl7-examples-Diagnostic_Imaging_Report-Diagnostic_Imaging_Report.xml",
        "hl7-examples-Progress_Note-Progress_Note.xml",
        "hl7-examples-Care_Plan-Care_Plan.xml",
    ],
)
def test_a_narrative_document_keeps_its_patient_and_text(name: str) -> None:
    path = VENDORS / name
    tree = etree.parse(str(path), etree.XMLParser(remove_comments=True))
    found = _read(path)
    assert len(found["Patient"]) == 1
    [reference] = found["DocumentReference"]
    assert reference["subject"]["reference"] == f"Patient/{found['Patient'][0]['id']}"
    assert (
        reference["type"]["coding"][0]["code"]
        == tree.xpath("/v3:*/v3:code/@code", namespaces=NS)[0]
    )
    text = _text(reference)
    title = " ".join(tree.xpath("string(/v3:*/v3:title)", namespaces=NS).split())
    assert text.startswith(f"# {title}\n") and reference["description"] == title
    headings = {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("##")}
    for section_title in tree.xpath("//v3:section/v3:title", namespaces=NS):
        words = " ".join("".join(section_title.itertext()).split())
        if words:
            assert words in headings
    # Every word of every text node of the narrative is in the text (column headers only
    # with a value: "Header: value"); no markup is.
    words = {
        w
        for node in tree.xpath("//v3:section/v3:text//text()[not(ancestor::v3:th)]", namespaces=NS)
        for w in node.split()
    }
    missing = sorted(w for w in words if w not in text)
    assert not missing, missing[:10]
    assert not re.search(r"<\w", text)


def test_an_op_note_says_what_when_and_by_whom() -> None:
    [reference] = _read(VENDORS / "mtuitive-opnote-cataract.xml")["DocumentReference"]
    assert reference["type"]["coding"][0]["code"] == "11504-8"
    assert reference["context"]["event"][0]["coding"][0]["code"] == "66984"  # CPT, serviceEvent
    assert reference["context"]["period"] == {"start": "2013-03-22", "end": "2013-03-22"}
    assert [a["display"] for a in reference["author"]] == ["Ophthalmology Surgery"]
    assert reference["custodian"] == {"display": "Default Center"}
    assert "date" not in reference, "no UTC offset in the document's time: no instant"
    text = _text(reference)
    assert "## Operative Findings\n\n### Operative Findings\n- No unusual findings" in text
    assert "### Risk Factors\n- None" in text


def test_an_imaging_report_keeps_its_findings() -> None:
    name = "hl7-examples-Diagnostic_Imaging_Report-Diagnostic_Imaging_Report.xml"
    [reference] = _read(VENDORS / name)["DocumentReference"]
    text = _text(reference)
    assert reference["type"]["coding"][0]["code"] == "18748-4"
    assert reference["date"] == "2005-03-29T17:15:04-05:00"
    assert "## Findings" in text and "new round density at the left hilus" in text


_NARRATIVE = """<table><caption>Labs</caption>
  <thead><tr><th>Test</th><th>Result</th></tr></thead>
  <tbody><tr><td>Glucose</td><td><content styleCode="Bold">95</content> mg/dL</td></tr>
  <tr><td>Sodium</td><td>140 <sub>mmol</sub>/L</td></tr></tbody></table>
<paragraph>Seen <content styleCode="Italics">today</content>.<br/>Back in  two
  weeks.<script>alert('x')</script><style>p {}</style></paragraph>
<list><item>Rest</item><item>Fluids</item></list>
<table><tr><td>a</td><td>b</td></tr></table>"""


def test_the_narrative_block_becomes_plain_text_without_markup(tmp_path: Path) -> None:
    path = _write(tmp_path, document(section("10", "18776-5", text=_NARRATIVE)))
    text = _text(_read(path)["DocumentReference"][0])
    assert text == (
        "## t\n"  # the section's title
        "Labs\n"
        "Test: Glucose; Result: 95 mg/dL\n"
        "Test: Sodium; Result: 140 mmol/L\n"
        "Seen today.\n"
        "Back in two weeks.\n"
        "- Rest\n"
        "- Fluids\n"
        "a | b"
    )
    assert "alert" not in text and "<" not in text


def test_a_document_without_coded_sections_keeps_patient_and_narrative(
    vault: Vault, tmp_path: Path
) -> None:
    # Before, "a C-CDA document with no section this version imports" was refused whole.
    path = _write(
        tmp_path,
        document(
            section("17", "29762-2", text="<paragraph>Never smoked</paragraph>"),
            section("10", "18776-5", text="<paragraph>Follow up in May</paragraph>"),
        ),
    )
    report = import_paths(vault, [path])
    assert report.ok and report.files[0].result is not None
    assert report.files[0].result.by_type == {"Patient": 1, "DocumentReference": 1}
    [stored] = vault.resources("DocumentReference")
    assert "Follow up in May" in _text(stored.resource)


def _unstructured(body: str) -> str:
    return _BODY.sub(f"<component>{body}</component></ClinicalDocument>", HEADER)


def test_an_unstructured_pdf_is_kept_as_given(vault: Vault, tmp_path: Path) -> None:
    pdf = b"%PDF-1.4\n% a tiny document\n%%EOF\n"
    encoded = base64.b64encode(pdf).decode()
    wrapped = "\n".join(encoded[i : i + 20] for i in range(0, len(encoded), 20))
    path = _write(
        tmp_path,
        _unstructured(
            f'<nonXMLBody><text mediaType="application/pdf" representation="B64">{wrapped}'
            "</text></nonXMLBody>"
        ),
    )
    report = import_paths(vault, [path])
    assert report.ok and report.files[0].result is not None
    assert report.files[0].result.by_type == {"Patient": 1, "DocumentReference": 1}
    [stored] = vault.resources("DocumentReference")
    [content] = stored.resource["content"]
    attachment = content["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert base64.b64decode(attachment["data"]) == pdf and attachment["size"] == len(pdf)


def test_an_unstructured_text_body_is_its_text(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        _unstructured(
            '<nonXMLBody><text mediaType="text/plain">Seen today &amp; well.</text></nonXMLBody>'
        ),
    )
    [reference] = _read(path)["DocumentReference"]
    attachment = reference["content"][0]["attachment"]
    assert attachment["contentType"] == "text/plain"
    assert base64.b64decode(attachment["data"]) == b"Seen today & well."


@pytest.mark.parametrize(
    ("body", "note"),
    [
        (
            '<nonXMLBody><text mediaType="application/pdf" representation="B64">not base64!'
            "</text></nonXMLBody>",
            "unstructured bodies that are not valid base64",
        ),
        (
            '<nonXMLBody><text><reference value="report.pdf"/></text></nonXMLBody>',
            "unstructured bodies that are a file outside the document (its name is kept)",
        ),
    ],
)
def test_an_unstructured_body_that_cannot_be_kept_is_said(
    body: str, note: str, tmp_path: Path
) -> None:
    notes: list[str] = []
    found = _read(_write(tmp_path, _unstructured(body)), notes)
    assert len(found["Patient"]) == 1
    assert any(note in n for n in notes), notes


def test_the_text_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_document, "MAX_TEXT", 60)
    paragraphs = "".join(f"<paragraph>line {i} of the note</paragraph>" for i in range(20))
    notes: list[str] = []
    found = _read(_write(tmp_path, document(section("10", "18776-5", text=paragraphs))), notes)
    text = _text(found["DocumentReference"][0])
    assert text.startswith("## t\nline 0 of the note\nline 1 of the note")
    assert text.endswith(
        "[The rest of this document's text was left out: it is over the import's limit.]"
    )
    assert "line 19" not in text
    assert any("document text past the cap" in n for n in notes)


def test_headings_alone_are_no_document(tmp_path: Path) -> None:
    notes: list[str] = []
    found = _read(_write(tmp_path, document(section("10", "18776-5"))), notes)
    assert set(found) == {"Patient"}
    assert any("a document with no text" in n for n in notes)


def test_the_same_document_again_changes_nothing(tmp_path: Path) -> None:
    source = VENDORS / "hl7-examples-Operative_Note-Operative_Note.xml"
    copy = _write(tmp_path, source.read_text(encoding="utf-8") + "\n<!-- again -->\n")
    with Vault.ephemeral() as vault:
        first = import_paths(vault, [source], source="notes").files[0].result
        again = import_paths(vault, [copy], source="notes").files[0].result
    assert first is not None and again is not None
    assert (again.added, again.updated, again.unchanged) == (0, 0, first.added)
