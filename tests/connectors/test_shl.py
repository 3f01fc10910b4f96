"""SMART Health Links, imported: the IG's own examples, and links served on loopback."""

from __future__ import annotations

import contextlib
import json
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.shl_helpers import (
    CARD,
    FHIR,
    IMMUNIZATIONS,
    KEY,
    VISIT,
    LinkServer,
    card,
    card_file,
    issuer_key,
    link_server,
    public_jwks,
)
from healthlocker.connectors import detect_format, import_paths
from healthlocker.connectors._read import LinkAccess
from healthlocker.connectors.shl._jose import card_claims, decrypt_file
from healthlocker.connectors.shl._link import b64, parse, unb64
from healthlocker.errors import ShlError
from healthlocker.store import Vault
from helpers import run_cli

DATA = Path(__file__).parent / "data" / "shl"
IG_KEY = unb64("rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q")
IG_ISSUER = "https://spec.smarthealth.cards/examples/issuer"


def _ig_jwks() -> dict[str, object]:
    return dict(json.loads((DATA / "ig-issuer-jwks.json").read_text()))


# --- the IG's examples -------------------------------------------------------------------


def test_the_igs_example_link_reads_as_the_ig_describes_it() -> None:
    payload = parse((DATA / "ig-example-link.txt").read_text())
    assert payload.url == "https://ehr.example.org/qr/Y9xwkUdtmN9wwoJoN3ffJIhX2UGvCL1JnlPVNL3kDWM/m"
    assert payload.key == IG_KEY
    assert payload.flag == "LP"
    assert payload.needs_passcode and not payload.direct
    assert payload.label == "Back-to-school immunizations for Oliver Brown"
    assert detect_format(DATA / "ig-example-link.txt") == "shlink"


def test_the_igs_encrypted_example_opens_with_its_key_and_its_card_verifies() -> None:
    cty, plain = decrypt_file((DATA / "ig-example-file.jwe").read_text(), IG_KEY, "ig")
    assert cty == CARD
    (token,) = json.loads(plain)["verifiableCredential"]
    claims = card_claims(token, _ig_jwks(), "ig")
    assert claims["iss"] == IG_ISSUER
    entries = claims["vc"]["credentialSubject"]["fhirBundle"]["entry"]
    assert [e["resource"]["resourceType"] for e in entries] == ["Patient"] + ["Immunization"] * 3


def test_the_igs_example_card_verifies_and_one_changed_byte_does_not() -> None:
    (token,) = json.loads((DATA / "ig-example-00-e-file.smart-health-card").read_text())[
        "verifiableCredential"
    ]
    assert card_claims(token, _ig_jwks(), "ig")["iss"] == IG_ISSUER
    head, body, signature = token.split(".")
    changed = body[:40] + ("A" if body[40] != "A" else "B") + body[41:]
    with pytest.raises(ShlError, match="signature does not match its issuer's key"):
        card_claims(f"{head}.{changed}.{signature}", _ig_jwks(), "ig")


def test_the_igs_example_file_under_another_key_is_refused() -> None:
    with pytest.raises(ShlError, match="does not decrypt with the link's key"):
        decrypt_file((DATA / "ig-example-file.jwe").read_text(), KEY, "ig")


# --- links served on loopback --------------------------------------------------------------


def _import(vault: Vault, link: str, **access: object) -> tuple[str | None, list[str]]:
    report = import_paths(vault, [link], shl=LinkAccess(**access))  # type: ignore[arg-type]
    (outcome,) = report.files
    return outcome.error, outcome.notes


def _types(vault: Vault) -> dict[str, int]:
    return {t: len(vault.resources(t)) for t in ("Patient", "Immunization", "Condition")}


def test_a_link_with_a_fhir_bundle_and_a_signed_card_imports_both(vault: Vault) -> None:
    key = issuer_key()
    with link_server() as server:
        server.jwks = public_jwks(key)
        server.add(FHIR, json.dumps(VISIT).encode())
        server.add(CARD, card_file(card(IMMUNIZATIONS, key, server.issuer)))
        error, notes = _import(vault, server.link())
    assert error is None
    assert _types(vault) == {"Patient": 2, "Immunization": 1, "Condition": 1}
    assert any("signature verified" in n for n in notes)
    (condition,) = vault.resources("Condition")
    assert condition.resource["subject"]["reference"] == (
        "Patient/4d5a6f0e-8f4e-4c36-9a57-8b1f0c3e2d11"
    )
    (shot,) = vault.resources("Immunization")
    assert shot.resource["patient"]["reference"].startswith("Patient/hl-")


def test_the_same_link_imported_again_changes_nothing(vault: Vault) -> None:
    with link_server() as server:
        server.add(FHIR, json.dumps(VISIT).encode())
        assert _import(vault, server.link())[0] is None
        report = import_paths(vault, [server.link()])
    assert report.files[0].result is not None and report.files[0].result.skipped_file


def test_a_passcode_comes_from_the_environment_or_the_prompt(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    with link_server() as server:
        server.passcode = "tulip-42"
        server.add(FHIR, json.dumps(VISIT).encode())
        error, _ = _import(vault, server.link(flag="P"))
        assert error is not None and "needs a passcode" in error
        asked: list[str] = []
        error, _ = _import(
            vault, server.link(flag="P"), ask_passcode=lambda label: asked.append(label) or "no"
        )
        assert asked == ["Visit summary"]
        assert error == "the link: wrong passcode; 3 attempts left before the link is disabled"
        assert _types(vault)["Condition"] == 0
        monkeypatch.setenv("HEALTHLOCKER_SHL_PASSCODE", "tulip-42")
        assert _import(vault, server.link(flag="P"))[0] is None
    assert _types(vault)["Condition"] == 1


def test_an_expired_link_is_refused_before_anything_is_sent(vault: Vault) -> None:
    with link_server() as server:
        server.add(FHIR, json.dumps(VISIT).encode())
        error, _ = _import(vault, server.link(exp=time.time() - 60))
        assert server.requests == []
    assert error is not None and "the link has expired" in error
    assert vault.sources() == []


def test_a_tampered_file_is_refused_and_nothing_is_stored(vault: Vault) -> None:
    with link_server() as server:
        server.add(FHIR, json.dumps(VISIT).encode())
        server.add(FHIR, json.dumps(VISIT).encode())
        kind, token = server.files[1]
        head, key, iv, ciphertext, tag = token.split(".")
        flipped = ciphertext[:10] + ("A" if ciphertext[10] != "A" else "B") + ciphertext[11:]
        server.files[1] = (kind, ".".join((head, key, iv, flipped, tag)))
        error, _ = _import(vault, server.link())
    assert error is not None and "file 2: the file does not decrypt with the link's key" in error
    assert vault.sources() == []


def test_a_bad_signature_is_refused_even_with_unverified(vault: Vault) -> None:
    signer, published = issuer_key(), issuer_key()
    published_jwks = public_jwks(published)
    published_jwks["keys"][0]["kid"] = signer.kid  # the issuer's key, under the card's kid
    with link_server() as server:
        server.jwks = published_jwks
        server.add(CARD, card_file(card(IMMUNIZATIONS, signer, server.issuer)))
        error, _ = _import(vault, server.link(), unverified=True)
    assert error is not None and "card 1: the card's signature does not match" in error
    assert vault.sources() == []


def test_an_unknown_issuer_is_refused_unless_unverified(vault: Vault) -> None:
    key = issuer_key()
    with link_server() as server:  # publishes no keys
        server.add(CARD, card_file(card(IMMUNIZATIONS, key, server.issuer)))
        error, _ = _import(vault, server.link())
        assert error is not None and "issuer (http://127.0.0.1:" in error
        assert "is unknown" in error and "--unverified" in error
        assert vault.sources() == []
        error, notes = _import(vault, server.link(), unverified=True)
    assert error is None
    assert any("NOT verified" in n for n in notes)
    assert _types(vault)["Immunization"] == 1


def test_a_direct_link_is_one_get_without_a_manifest(vault: Vault) -> None:
    with link_server() as server:
        server.add(FHIR, json.dumps(VISIT).encode())
        assert _import(vault, server.link(flag="U"))[0] is None
        assert server.requests == ["GET /u?recipient=healthlocker"]
    assert _types(vault)["Condition"] == 1


def test_a_link_the_server_no_longer_serves_says_so(vault: Vault) -> None:
    with link_server() as server:
        link = server.link().replace("/m", "/gone")  # same length: the payload re-encoded below
    payload = parse(link)
    with link_server() as server:
        from healthlocker.connectors.shl._link import LinkPayload

        gone = LinkPayload(server.base + "/gone", payload.key).link()
        error, _ = _import(vault, gone)
    assert error is not None and "no longer active" in error


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://10.1.2.3/m", "private or local address"),
        ("http://shl.example.org/m", "uses plain http"),
    ],
)
def test_links_to_private_addresses_or_plain_http_are_refused(
    vault: Vault, url: str, why: str
) -> None:
    from healthlocker.connectors.shl._link import LinkPayload

    error, _ = _import(vault, LinkPayload(url, KEY).link())
    assert error is not None and why in error


def test_a_file_holding_a_link_imports_and_the_cli_never_prints_the_link(
    tmp_path: Path, home: Path
) -> None:
    assert run_cli("init", home=home).returncode == 0
    with link_server() as server:
        server.add(FHIR, json.dumps(VISIT).encode())
        link = server.link()
        holder = tmp_path / "from-the-clinic.txt"
        holder.write_text(link + "\n")
        assert detect_format(holder) == "shlink"
        by_file = run_cli("import", str(holder), "--json", home=home)
        inline = run_cli("import", f"https://viewer.example.org/#{link}", home=home)
    assert by_file.returncode == 0, by_file.stderr
    assert json.loads(by_file.stdout)["files"][0]["format"] == "shlink"
    assert inline.returncode == 0, inline.stderr
    for done in (by_file, inline):
        assert link.split("/")[-1] not in done.stdout + done.stderr


def test_malformed_links_say_what_is_wrong_without_repeating_the_key() -> None:
    with pytest.raises(ShlError, match="not base64url-encoded JSON"):
        parse("shlink:/eyJub3Q")
    good = LinkServer(port=1).link()
    body = json.loads(unb64(good.split("/", 1)[1]))
    for change, why in (
        ({"key": "c2hvcnQ"}, "not 32 bytes"),
        ({"v": 2}, "version 2"),
        ({"flag": "PU"}, "both flags P and U"),
        ({"url": "ftp://x"}, "no manifest URL"),
    ):
        bad = "shlink:/" + b64(json.dumps({**body, **change}).encode())
        with pytest.raises(ShlError, match=why) as caught:
            parse(bad)
        assert body["key"] not in str(caught.value)


# --- hostile input -------------------------------------------------------------------------


@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(b64)))
def test_any_text_is_a_link_or_a_clear_refusal(text: str) -> None:
    with contextlib.suppress(ShlError):
        assert len(parse("shlink:/" + text).key) == 32


@given(st.text(alphabet="abcdefghAB0123456789-_.=", max_size=400))
def test_any_token_decrypts_or_is_refused_clearly(token: str) -> None:
    for attempt in (lambda: decrypt_file(token, KEY, "x"), lambda: card_claims(token, None, "x")):
        with pytest.raises(ShlError):
            attempt()


def test_a_card_that_inflates_past_its_cap_is_refused() -> None:
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    bomb = deflate.compress(b"[" * (16 * 1024 * 1024)) + deflate.flush()
    header = b64(json.dumps({"alg": "ES256", "zip": "DEF", "kid": "k"}).encode())
    with pytest.raises(ShlError, match="inflates past its cap"):
        card_claims(f"{header}.{b64(bomb)}.c2ln", None, "bomb")


def test_a_manifest_that_is_not_one_is_refused(vault: Vault) -> None:
    with link_server() as server:
        error, _ = _import(vault, server.link())  # the server lists no files
    assert error is not None and "the link's manifest lists no files" in error
    assert vault.sources() == []
