"""Sealing small secrets kept in the store (TOTP secrets): Fernet (AES-128-CBC with
HMAC-SHA256, from ``cryptography``) under a key derived from the deployment's secret
with HKDF, so a copy of the database alone does not give away anyone's authenticator."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class FernetSealer:
    def __init__(self, secret: bytes, *, purpose: bytes = b"momentic totp secret") -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError("not sealed with this key") from None

    def __repr__(self) -> str:  # never the key
        return "FernetSealer()"
