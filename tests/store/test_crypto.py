"""Sealing: round trips, context binding, tampering, key rotation."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healthlocker.errors import IntegrityError
from healthlocker.store._crypto import (
    KeySet,
    blind,
    keyed_digest,
    random_id,
    random_key,
    seal,
    unseal,
)

KEYS = KeySet.single(random_id(), random_key())
contexts = st.dictionaries(
    st.sampled_from(["t", "row", "src", "k"]), st.text(max_size=20) | st.integers(), max_size=4
)


@given(data=st.binary(max_size=4096), context=contexts)
def test_seal_round_trip(data: bytes, context: dict[str, str | int]) -> None:
    token = seal(KEYS, data, context=context)
    assert unseal(KEYS, token, context=context) == data
    assert len(data) < 8 or data not in token


@given(data=st.binary(min_size=1, max_size=512), position=st.integers(min_value=0))
def test_any_flipped_byte_is_detected(data: bytes, position: int) -> None:
    token = bytearray(seal(KEYS, data, context={"t": "x", "row": "1"}))
    token[position % len(token)] ^= 0x01
    with pytest.raises(IntegrityError):
        unseal(KEYS, bytes(token), context={"t": "x", "row": "1"})


@given(data=st.binary(max_size=64), a=contexts, b=contexts)
def test_other_context_fails(data: bytes, a: dict[str, str | int], b: dict[str, str | int]) -> None:
    token = seal(KEYS, data, context=a)
    if {k: str(v) for k, v in a.items()} != {k: str(v) for k, v in b.items()}:
        with pytest.raises(IntegrityError):
            unseal(KEYS, token, context=b)


def test_same_data_seals_differently_each_time() -> None:
    assert seal(KEYS, b"same", context={}) != seal(KEYS, b"same", context={})


def test_rotation_opens_old_tokens_and_seals_with_new_key() -> None:
    old = KeySet.single(random_id(), random_key())
    token = seal(old, b"before", context={"t": "r"})
    rotated = old.with_key(random_id(), random_key(), primary=True)
    assert unseal(rotated, token, context={"t": "r"}) == b"before"
    fresh = seal(rotated, b"after", context={"t": "r"})
    with pytest.raises(IntegrityError):
        unseal(old, fresh, context={"t": "r"})


def test_wrong_key_and_truncation_fail_opaquely() -> None:
    token = seal(KEYS, b"secret value", context={"t": "r"})
    other = KeySet({KEYS.primary: random_key()}, KEYS.primary)
    for bad_keys, bad_token in ((other, token), (KEYS, token[:20]), (KEYS, b"")):
        with pytest.raises(IntegrityError) as info:
            unseal(bad_keys, bad_token, context={"t": "r"})
        assert "secret" not in str(info.value)


def test_blind_index_is_keyed_and_stable() -> None:
    k1, k2 = random_key(), random_key()
    assert blind(k1, "code||2345-7") == blind(k1, "code||2345-7")
    assert blind(k1, "code||2345-7") != blind(k2, "code||2345-7")
    assert blind(k1, "code||2345-7") != blind(k1, "code||2345-8")


def test_blind_index_and_digest_are_hmac_sha256() -> None:
    # Tags on disk must keep their value across versions, or stored rows are not found again.
    key = random_key()
    assert (
        blind(key, "type|Observation")
        == (hmac.new(key, b"type|Observation", hashlib.sha256).digest()[:16])
    )
    assert keyed_digest(key, b"{}") == hmac.new(key, b"{}", hashlib.sha256).digest()
