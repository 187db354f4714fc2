"""The reporter identity (a value) and the vault that seals it: AES-GCM under rotating keys, bound
to its row, with keyed lookup hashes that match a returning reporter without decrypting."""

from __future__ import annotations

import base64
import os

import pytest

from adapters.crypto import Sealer
from adapters.vault import SealedVault, VaultError
from domain.errors import DomainError, ErrorCode
from domain.reporter import ReporterIdentity, TipSource, to_keep

K1, K2 = os.urandom(32), os.urandom(32)
FULL = ReporterIdentity(TipSource.ZALO, "8123456789012345678", "+84912345678", "Trần Văn Báo")


def vault(*ids: str) -> SealedVault:
    keys = {"k1": K1, "k2": K2}
    return SealedVault(Sealer({i: keys[i] for i in ids}, ids[0]))


# The value


def test_identity_is_normalised() -> None:
    identity = ReporterIdentity.of(
        platform=TipSource.MESSENGER,
        channel_user_id="  psid-1 ",
        phone="0912 345 678",
        name="  Tran   Van\u0301 ",
    )
    assert identity == ReporterIdentity(TipSource.MESSENGER, "psid-1", "+84912345678", "Tran Vań")


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({}, ErrorCode.REQUIRED, ("reporter",)),
        ({"platform": TipSource.APP}, ErrorCode.REQUIRED, ("reporter",)),
        ({"phone": "   ", "name": ""}, ErrorCode.REQUIRED, ("reporter",)),
        ({"phone": "123"}, ErrorCode.INVALID_PHONE, ("reporter", "phone")),
        ({"name": "x" * 121}, ErrorCode.TOO_LONG, ("reporter", "name")),
        ({"channel_user_id": "u1"}, ErrorCode.REQUIRED, ("reporter", "platform")),
        (
            {"platform": TipSource.ZALO, "channel_user_id": "9" * 129},
            ErrorCode.TOO_LONG,
            ("reporter", "channelUserId"),
        ),
    ],
)
def test_identity_refuses(fields: dict, code: ErrorCode, field: tuple) -> None:
    with pytest.raises(DomainError) as err:
        ReporterIdentity.of(**fields)
    assert (err.value.code, err.value.problems[0].field) == (code, field)


def test_an_anonymous_reporter_keeps_only_the_way_back() -> None:
    assert to_keep(FULL, anonymous=False) == FULL
    assert to_keep(FULL, anonymous=True) == ReporterIdentity(TipSource.ZALO, FULL.channel_user_id)
    phone_only = ReporterIdentity(TipSource.PORTAL, None, "+84912345678", "Ai đó")
    assert to_keep(phone_only, anonymous=True) is None
    assert to_keep(None, anonymous=False) is None
    assert FULL.reachable and not phone_only.reachable


# The vault


def test_seal_and_open() -> None:
    v = vault("k1")
    key_id, sealed = v.seal(FULL, bound_to="row-1")
    assert key_id == "k1"
    for secret in (FULL.channel_user_id, FULL.phone, FULL.name, "912345678", "Báo"):
        assert secret.encode() not in sealed
    assert v.open(key_id, sealed, bound_to="row-1") == FULL
    assert v.seal(FULL, bound_to="row-1")[1] != sealed  # a fresh nonce every time


def test_sealed_bytes_open_only_where_they_were_sealed() -> None:
    v = vault("k1")
    key_id, sealed = v.seal(FULL, bound_to="row-1")
    with pytest.raises(VaultError):
        v.open(key_id, sealed, bound_to="row-2")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(VaultError):
        v.open(key_id, tampered, bound_to="row-1")
    with pytest.raises(VaultError):
        v.open("k9", sealed, bound_to="row-1")


def test_rotation_seals_with_the_new_key_and_opens_with_every_key() -> None:
    old = vault("k1")
    old_id, old_sealed = old.seal(FULL, bound_to="r")
    rotated = vault("k2", "k1")
    new_id, new_sealed = rotated.seal(FULL, bound_to="r")
    assert (old_id, new_id) == ("k1", "k2")
    assert rotated.open(old_id, old_sealed, bound_to="r") == FULL
    assert rotated.open(new_id, new_sealed, bound_to="r") == FULL
    with pytest.raises(VaultError):
        vault("k2").open(old_id, old_sealed, bound_to="r")


def test_rotation_from_the_setting() -> None:
    setting = f"k2:{base64.b64encode(K2).decode()},k1:{base64.b64encode(K1).decode()}"
    rotated = SealedVault(Sealer.from_setting(setting))
    key_id, sealed = vault("k1").seal(FULL)
    assert rotated.open(key_id, sealed) == FULL


def test_lookup_hashes() -> None:
    v = vault("k1")
    h = v.lookup_hash(TipSource.ZALO, "8123456789012345678")
    assert len(h) == 64 and "8123456789012345678" not in h
    assert h == v.lookup_hash(TipSource.ZALO, " 8123456789012345678 ")
    assert h != v.lookup_hash(TipSource.MESSENGER, "8123456789012345678")
    assert h != v.lookup_hash(TipSource.ZALO, "8123456789012345679")
    assert h != vault("k2").lookup_hash(TipSource.ZALO, "8123456789012345678")
    # After rotation new identities carry the new key's hash; old ones are still matched.
    rotated = vault("k2", "k1")
    hashes = rotated.lookup_hashes(TipSource.ZALO, "8123456789012345678")
    assert hashes == [rotated.lookup_hash(TipSource.ZALO, "8123456789012345678"), h]


def test_the_lookup_key_is_not_the_sealing_key() -> None:
    sealer = Sealer({"k1": K1}, "k1")
    derived = sealer.derive(b"reporter-lookup")
    assert set(derived) == {"k1"} and derived["k1"] != K1 and len(derived["k1"]) == 32
    assert sealer.derive(b"other-purpose")["k1"] != derived["k1"]
