"""Bearer tokens: development HS256 tokens, and RS256 tokens checked against a live (fake) JWKS."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import stat
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from joserfc.jwk import RSAKey

from adapters.auth.tokens import DevTokens, JwksTokenVerifier
from domain.ports import InvalidToken
from tests.fakes.identity_provider import DEFAULT_AUDIENCE as AUDIENCE
from tests.fakes.identity_provider import DEFAULT_ISSUER as ISSUER
from tests.fakes.identity_provider import FakeIdentityProvider
from tests.fakes.servers import free_port


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(claims: dict, **header: object) -> str:
    """A token with `alg: none` and an empty signature."""
    head = {"alg": "none", "typ": "JWT", **header}
    return f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}."


def _hs256(claims: dict, secret: bytes, **header: object) -> str:
    head = {"alg": "HS256", "typ": "JWT", **header}
    signing_input = f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _claims(clock, *, sub: str = "member-1") -> dict:
    now = int(clock.now().timestamp())
    return {"sub": sub, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}


# --- development tokens -------------------------------------------------------------------------


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "var" / "jwt-dev.key"


@pytest.fixture
def dev(key_file: Path, clock) -> DevTokens:
    return DevTokens(key_file, issuer="gandan-dev", audience="gandan", clock=clock)


async def test_dev_token_round_trip(dev: DevTokens, clock) -> None:
    token = dev.issue("member-1", ttl=timedelta(hours=2), name="Trần Văn Bảo")
    claims = await dev.verify(token)
    assert claims.subject == "member-1"
    assert claims.issuer == "gandan-dev"
    assert claims.audience == ("gandan",)
    assert claims.expires_at == clock.now() + timedelta(hours=2)
    assert claims.extra["name"] == "Trần Văn Bảo"
    assert claims.extra["iat"] == int(clock.now().timestamp())


def test_dev_key_file_is_created_once_and_private(key_file: Path, clock) -> None:
    assert not key_file.exists()
    DevTokens(key_file, issuer="gandan-dev", audience="gandan", clock=clock)
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    assert len(key.strip()) >= 32

    DevTokens(key_file, issuer="gandan-dev", audience="gandan", clock=clock)
    assert key_file.read_bytes() == key, "a second instance must reuse the key, not replace it"


async def test_dev_tokens_verify_across_instances_sharing_the_key(
    dev: DevTokens, key_file: Path, clock
) -> None:
    other = DevTokens(key_file, issuer="gandan-dev", audience="gandan", clock=clock)
    assert (await other.verify(dev.issue("member-1"))).subject == "member-1"
    assert (await dev.verify(other.issue("member-2"))).subject == "member-2"


async def test_dev_token_expires_after_its_ttl_and_the_leeway(dev: DevTokens, clock) -> None:
    token = dev.issue("member-1", ttl=timedelta(hours=1))
    clock.advance(hours=1, seconds=25)  # past exp but within the 30 s leeway
    assert (await dev.verify(token)).subject == "member-1"
    clock.advance(seconds=10)
    with pytest.raises(InvalidToken):
        await dev.verify(token)


@pytest.mark.parametrize(
    ("issuer", "audience"), [("someone-else", "gandan"), ("gandan-dev", "another-app")]
)
async def test_dev_token_for_another_issuer_or_audience_is_refused(
    dev: DevTokens, key_file: Path, clock, issuer: str, audience: str
) -> None:
    # Same key, different claims: only the claim checks can refuse it.
    foreign = DevTokens(key_file, issuer=issuer, audience=audience, clock=clock)
    with pytest.raises(InvalidToken):
        await dev.verify(foreign.issue("member-1"))


async def test_dev_token_signed_with_another_key_is_refused(
    dev: DevTokens, tmp_path: Path, clock
) -> None:
    stranger = DevTokens(
        tmp_path / "other.key", issuer="gandan-dev", audience="gandan", clock=clock
    )
    with pytest.raises(InvalidToken):
        await dev.verify(stranger.issue("member-1"))


async def test_dev_tokens_refuse_unsigned_and_malformed_tokens(dev: DevTokens, clock) -> None:
    claims = {**_claims(clock), "iss": "gandan-dev", "aud": "gandan"}
    for token in (_unsigned(claims), "not-a-jwt", "a.b.c", ""):
        with pytest.raises(InvalidToken):
            await dev.verify(token)


@pytest.fixture
def dev_secret(dev: DevTokens, key_file: Path) -> bytes:
    return key_file.read_text().strip().encode()


async def test_dev_token_without_subject_or_expiry_is_refused(
    dev: DevTokens, dev_secret: bytes, clock
) -> None:
    secret = dev_secret
    claims = {**_claims(clock), "iss": "gandan-dev", "aud": "gandan"}
    assert (await dev.verify(_hs256(claims, secret))).subject == "member-1"
    for missing in ("sub", "exp"):
        incomplete = {k: v for k, v in claims.items() if k != missing}
        with pytest.raises(InvalidToken):
            await dev.verify(_hs256(incomplete, secret))


# --- RS256 against the identity provider's JWKS -------------------------------------------------


@pytest.fixture
def verifier(jwks_url: str, http: httpx.AsyncClient, clock) -> JwksTokenVerifier:
    return JwksTokenVerifier(
        jwks_url, issuer=ISSUER, audience=AUDIENCE, clock=clock, http=http, min_refetch_seconds=0
    )


async def test_rs256_token_from_the_identity_provider_verifies(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider, clock
) -> None:
    claims = await verifier.verify(idp.mint("member-1", ttl=timedelta(minutes=5)))
    assert claims.subject == "member-1"
    assert claims.issuer == ISSUER
    assert claims.audience == (AUDIENCE,)
    assert claims.expires_at == clock.now() + timedelta(minutes=5)
    assert idp.jwks_fetches == 1


async def test_audience_list_containing_ours_is_accepted(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider
) -> None:
    claims = await verifier.verify(idp.mint("member-1", audience=["portal", AUDIENCE]))
    assert AUDIENCE in claims.audience


@pytest.mark.parametrize(
    "override",
    [
        {"audience": "another-app"},
        {"audience": ["another-app", "portal"]},
        {"issuer": "https://evil.example.test"},
    ],
    ids=["audience", "audience-list", "issuer"],
)
async def test_rs256_token_for_someone_else_is_refused(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider, override: dict
) -> None:
    with pytest.raises(InvalidToken):
        await verifier.verify(idp.mint("member-1", **override))


async def test_expired_rs256_token_is_refused(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider, clock
) -> None:
    token = idp.mint("member-1", ttl=timedelta(minutes=5))
    clock.advance(minutes=5, seconds=31)
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


async def test_token_signed_by_a_key_the_idp_never_published_is_refused(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider
) -> None:
    impostor = RSAKey.generate_key(2048, parameters={"kid": idp.kid})  # same kid, other key
    with pytest.raises(InvalidToken):
        await verifier.verify(idp.mint("member-1", key=impostor))


async def test_algorithm_confusion_is_refused(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider, dev: DevTokens, clock
) -> None:
    claims = _claims(clock)
    public_pem = idp.signing_key.get_op_key("verify").public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_jwk = json.dumps(idp.jwks()["keys"][0]).encode()
    attempts = {
        "alg none": _unsigned(claims, kid=idp.kid),
        "HS256 keyed with the RSA public key (PEM)": _hs256(claims, public_pem, kid=idp.kid),
        "HS256 keyed with the published JWK": _hs256(claims, public_jwk, kid=idp.kid),
        "development HS256 token": dev.issue("member-1"),
    }
    for name, token in attempts.items():
        with pytest.raises(InvalidToken):
            await verifier.verify(token)
            pytest.fail(f"{name} was accepted")
    # The genuine article still passes, so the refusals above were about the algorithm.
    assert (await verifier.verify(idp.mint("member-1"))).subject == "member-1"


async def test_jwks_is_fetched_once_and_cached(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider
) -> None:
    for n in range(10):
        assert (await verifier.verify(idp.mint(f"member-{n}"))).subject == f"member-{n}"
    assert idp.jwks_fetches == 1


async def test_concurrent_first_verifications_share_one_fetch(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider
) -> None:
    tokens = [idp.mint(f"member-{n}") for n in range(10)]
    results = await asyncio.gather(*(verifier.verify(t) for t in tokens))
    assert [c.subject for c in results] == [f"member-{n}" for n in range(10)]
    assert idp.jwks_fetches == 1


async def test_tokens_invalid_for_other_reasons_do_not_refetch_the_jwks(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider, clock
) -> None:
    await verifier.verify(idp.mint("member-1"))
    expired = idp.mint("member-1", ttl=timedelta(minutes=1))
    clock.advance(minutes=2)
    for token in (
        expired,
        idp.mint("member-1", audience="another-app"),
        _hs256(_claims(clock), b"secret", kid=idp.kid),
    ):
        with pytest.raises(InvalidToken):
            await verifier.verify(token)
    assert idp.jwks_fetches == 1, "only an unknown key id justifies asking the IdP again"


async def test_rotated_key_is_picked_up_with_one_refetch(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider
) -> None:
    old_token = idp.mint("member-1")
    await verifier.verify(old_token)
    old_kid = idp.kid
    new_kid = idp.rotate()
    assert new_kid != old_kid

    new_token = idp.mint("member-2")
    assert (await verifier.verify(new_token)).subject == "member-2"
    assert idp.jwks_fetches == 2
    # Both keys are now known: neither token costs another fetch.
    await verifier.verify(new_token)
    await verifier.verify(old_token)
    assert idp.jwks_fetches == 2


async def test_retired_key_is_refused_after_rotation(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider
) -> None:
    old_key = idp.signing_key
    idp.rotate(keep_old=False)
    assert (await verifier.verify(idp.mint("member-1"))).subject == "member-1"
    with pytest.raises(InvalidToken):
        await verifier.verify(idp.mint("member-1", key=old_key))


async def test_unknown_key_id_is_refused_after_one_refetch(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider
) -> None:
    await verifier.verify(idp.mint("member-1"))
    stranger = RSAKey.generate_key(2048, parameters={"kid": "never-published"})
    with pytest.raises(InvalidToken):
        await verifier.verify(idp.mint("member-1", key=stranger))
    assert idp.jwks_fetches == 2


async def test_idp_answering_500_at_first_use_refuses_the_token(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider
) -> None:
    idp.fail = True
    with pytest.raises(InvalidToken, match="signing keys unavailable"):
        await verifier.verify(idp.mint("member-1"))
    assert idp.jwks_fetches == 1
    # Once it recovers, the next request fetches the keys and succeeds.
    idp.fail = False
    assert (await verifier.verify(idp.mint("member-1"))).subject == "member-1"


async def test_idp_unreachable_at_first_use_refuses_the_token(
    idp: FakeIdentityProvider, http: httpx.AsyncClient, clock
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"
    verifier = JwksTokenVerifier(nobody, issuer=ISSUER, audience=AUDIENCE, clock=clock, http=http)
    with pytest.raises(InvalidToken, match="signing keys unavailable"):
        await verifier.verify(idp.mint("member-1"))


async def test_idp_down_after_keys_are_cached_still_verifies(
    verifier: JwksTokenVerifier, idp: FakeIdentityProvider
) -> None:
    await verifier.verify(idp.mint("member-1"))
    idp.fail = True
    assert (await verifier.verify(idp.mint("member-2"))).subject == "member-2"
    assert idp.jwks_fetches == 1


async def test_idp_down_when_the_cache_is_stale_falls_back_to_cached_keys(
    jwks_url: str, idp: FakeIdentityProvider, http: httpx.AsyncClient, clock
) -> None:
    verifier = JwksTokenVerifier(
        jwks_url,
        issuer=ISSUER,
        audience=AUDIENCE,
        clock=clock,
        http=http,
        cache_seconds=0,
        min_refetch_seconds=0,
    )
    await verifier.verify(idp.mint("member-1"))
    idp.fail = True
    assert (await verifier.verify(idp.mint("member-2"))).subject == "member-2"
    assert idp.jwks_fetches == 2, "the stale cache was refreshed (and the refresh failed)"
    # A key it has never seen cannot be trusted while the IdP is down.
    idp.rotate()
    with pytest.raises(InvalidToken):
        await verifier.verify(idp.mint("member-3"))


async def test_made_up_key_ids_cost_at_most_one_fetch_per_interval(
    jwks_url: str, idp: FakeIdentityProvider, clock, http
) -> None:
    verifier = JwksTokenVerifier(
        jwks_url, issuer=ISSUER, audience=AUDIENCE, clock=clock, http=http, min_refetch_seconds=60
    )
    await verifier.verify(idp.mint("member-1"))
    for n in range(5):
        with pytest.raises(InvalidToken):
            await verifier.verify(idp.mint(f"forger-{n}", kid=f"made-up-{n}"))
    assert idp.jwks_fetches == 1, "unknown kids within the interval must not refetch"
