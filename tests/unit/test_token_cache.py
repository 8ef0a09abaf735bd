"""Verified access tokens are remembered (the signature is checked once per token), and
a remembered token is refused once it expires, as a fresh one is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from adapters.crypto import tokens
from adapters.crypto.tokens import JoseTokenSigner
from momentic_core.errors import Unauthenticated
from momentic_core.model.accounts import User

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _signer() -> JoseTokenSigner:
    return JoseTokenSigner(ECKey.generate_key("P-256", private=True),
                           access_ttl=timedelta(minutes=15))


def _user() -> User:
    return User(id=7, email="a@bsu.by", nickname="a", created_at=T0)


def test_the_signature_is_checked_once_per_token(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = _signer()
    token = signer.issue_access(_user(), 3, T0)
    decodes = []
    real = jwt.decode
    monkeypatch.setattr(tokens.jwt, "decode", lambda *a, **k: decodes.append(1) or real(*a, **k))
    first = signer.verify_access(token, T0)
    again = signer.verify_access(token, T0 + timedelta(minutes=14))
    assert first == again and (first.user_id, first.session_id) == (7, 3)
    assert len(decodes) == 1
    other = signer.issue_access(_user(), 4, T0)
    assert signer.verify_access(other, T0).session_id == 4
    assert len(decodes) == 2


def test_a_remembered_token_expires_like_any_other() -> None:
    signer = _signer()
    token = signer.issue_access(_user(), 3, T0)
    signer.verify_access(token, T0)
    with pytest.raises(Unauthenticated) as refused:
        signer.verify_access(token, T0 + timedelta(minutes=15))
    assert refused.value.code == "token_expired"


def test_a_refused_token_is_not_remembered() -> None:
    signer = _signer()
    token = signer.issue_access(_user(), 3, T0)
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            signer.verify_access(tampered, T0)


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = _signer()
    monkeypatch.setattr(JoseTokenSigner, "VERIFIED_CACHE_SIZE", 3)
    issued = [signer.issue_access(_user(), n, T0) for n in range(5)]
    for token in issued:
        signer.verify_access(token, T0)
    assert len(signer._verified) == 3
    assert list(signer._verified) == issued[2:]  # the oldest went first
