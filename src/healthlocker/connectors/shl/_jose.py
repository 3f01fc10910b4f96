"""The JOSE parts of SMART Health Links and Cards, over ``joserfc``.

* Files: JWE compact serialisation, ``alg`` ``dir``, ``enc`` ``A256GCM``, a ``cty`` header
  naming the content type, and (when used) ``zip`` ``DEF``: raw DEFLATE before encryption.
  Nothing else is accepted.
* SMART Health Cards: JWS compact serialisation, ``alg`` ``ES256``, ``zip`` ``DEF`` (a raw
  DEFLATE payload), ``kid`` naming a key of the issuer's ``/.well-known/jwks.json``.

Sizes are capped before anything is inflated, and inflating stops at a cap (a DEFLATE bomb
fails fast). Every failure is a :class:`~healthlocker.errors.ShlError` that says which check
failed and never repeats content.
"""

from __future__ import annotations

import json
import zlib
from typing import Any, cast

from joserfc import jwe, jws
from joserfc.errors import BadSignatureError, ExceededSizeError, JoseError
from joserfc.jwa import DeflateZipModel, JWEZipModel
from joserfc.jwk import KeySet, KeySetSerialization, OctKey
from joserfc.registry import HeaderParameter

from healthlocker.connectors.shl._link import unb64
from healthlocker.errors import ShlError

MAX_FILE = 16 * 1024 * 1024  # one encrypted file
MAX_PLAIN = 64 * 1024 * 1024  # one file once inflated
MAX_CARD = 1024 * 1024  # one SMART Health Card's JWS
_FILE_ALGORITHMS = ("dir", "A256GCM", "DEF")


class _Deflate(DeflateZipModel):
    MAX_SIZE = MAX_PLAIN


class _FileRegistry(jwe.JWERegistry):
    """``dir`` + ``A256GCM`` (+ ``DEF``) only, with caps sized for health records rather than
    joserfc's defaults (64 KB of ciphertext, 250 KB inflated)."""

    max_ciphertext_length = MAX_FILE
    _zip = _Deflate()

    def get_zip(self, name: str) -> JWEZipModel:
        super().get_zip(name)  # refuses what is not allowed
        return self._zip


class _CardRegistry(jws.JWSRegistry):
    max_payload_length = MAX_CARD


_FILES = _FileRegistry(algorithms=_FILE_ALGORITHMS)
_CARDS = _CardRegistry(
    algorithms=["ES256"], header_registry={"zip": HeaderParameter("Compression", "str")}
)


def encrypt_file(plain: bytes, key: bytes, content_type: str) -> str:
    """*plain* as a link's file: compact JWE, ``dir`` + ``A256GCM``, ``zip`` ``DEF``. A fresh
    random nonce each time (joserfc makes it), as the IG requires of every encryption."""
    header = {"alg": "dir", "enc": "A256GCM", "cty": content_type, "zip": "DEF"}
    return jwe.encrypt_compact(header, plain, OctKey.import_key(key), registry=_FILES)


def decrypt_file(token: str, key: bytes, where: str) -> tuple[str | None, bytes]:
    """A link's file, decrypted: its ``cty`` and its bytes."""
    token = token.strip()
    if len(token) > MAX_FILE * 4 // 3 + 4096:
        raise ShlError(f"an encrypted file over {MAX_FILE // 2**20} MiB", where=where)
    header, _ = _compact(token, 5, "an encrypted file (a compact JWE)", where)
    if (header.get("alg"), header.get("enc")) != ("dir", "A256GCM") or header.get(
        "zip", "DEF"
    ) != "DEF":
        raise ShlError("a file not encrypted as the IG says (dir, A256GCM, zip DEF)", where=where)
    try:
        found = jwe.decrypt_compact(token, OctKey.import_key(key), registry=_FILES)
    except ExceededSizeError:
        raise ShlError("a file over the size this version reads", where=where) from None
    except (JoseError, ValueError, TypeError, zlib.error):
        raise ShlError(
            "the file does not decrypt with the link's key: it was altered, or the link is "
            "not the one it was made for",
            where=where,
        ) from None
    cty = found.protected.get("cty")
    return (cty if isinstance(cty, str) else None), bytes(found.plaintext or b"")


def _compact(token: str, parts: int, what: str, where: str) -> tuple[dict[str, Any], bytes]:
    """The (unverified) protected header and the second part of a compact JOSE token of
    *parts* parts; ShlError saying it is not *what* otherwise."""
    found = token.split(".")
    try:
        if len(found) != parts:
            raise ValueError
        header = json.loads(unb64(found[0]))
        if not isinstance(header, dict):
            raise ValueError
        return header, unb64(found[1])
    except ValueError:
        raise ShlError(f"not {what}", where=where) from None


def card_claims(token: str, keys: dict[str, Any] | None, where: str) -> dict[str, Any]:
    """The claims of a SMART Health Card (``iss``, ``nbf``, ``vc``…). With *keys* (the
    issuer's JWKS), the ES256 signature must verify with the key its ``kid`` names; None reads
    them unverified (the caller said so). ShlError when the card is malformed or forged."""
    token = token.strip()
    if len(token) > MAX_CARD:
        raise ShlError(f"a SMART Health Card over {MAX_CARD // 1024} KiB", where=where)
    header, payload = _card(token, where)
    if keys is not None:
        try:
            keyset = KeySet.import_key_set(cast(KeySetSerialization, keys))
            found = jws.deserialize_compact(token, keyset, registry=_CARDS)
        except BadSignatureError:
            raise ShlError(
                "the card's signature does not match its issuer's key: it was altered or "
                "forged; not imported",
                where=where,
            ) from None
        except (JoseError, ValueError, TypeError, KeyError):
            raise ShlError(
                "the card cannot be checked against its issuer's published keys "
                "(no ES256 key with its kid)",
                where=where,
            ) from None
        payload = found.payload
    return _claims(payload, header, where)


def card_header(token: str, where: str) -> dict[str, Any]:
    """The protected header of a card's JWS (unverified: it names the key to check with)."""
    return _card(token, where)[0]


def _card(token: str, where: str) -> tuple[dict[str, Any], bytes]:
    header, payload = _compact(token.strip(), 3, "a SMART Health Card (a compact JWS)", where)
    if header.get("alg") != "ES256" or not isinstance(header.get("kid"), str):
        raise ShlError("a SMART Health Card not signed with ES256 and a kid", where=where)
    return header, payload


def _claims(payload: bytes, header: dict[str, Any], where: str) -> dict[str, Any]:
    try:
        if header.get("zip") == "DEF":
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            payload = inflater.decompress(payload, MAX_CARD * 8)
            if inflater.unconsumed_tail:
                raise ShlError("a SMART Health Card that inflates past its cap", where=where)
        claims = json.loads(payload)
    except (zlib.error, ValueError):
        raise ShlError("a SMART Health Card whose payload is not JSON", where=where) from None
    if not isinstance(claims, dict) or not isinstance(claims.get("iss"), str):
        raise ShlError("a SMART Health Card with no issuer (iss)", where=where)
    return claims
