"""Password hashing, bearer tokens and encryption of secrets at rest."""

from __future__ import annotations

import base64
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

from backend.core.config import get_settings

_hasher = PasswordHasher()
TOKEN_PREFIX = "dst_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: list[str] = []


def verify_password_of_nobody(password: str) -> bool:
    """The cost of verify_password for an email with no account (always False): a login for an unknown
    email takes as long as one with a wrong password, so timing tells nothing about accounts."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(_hasher.hash(new_token()))
    verify_password(password, _DUMMY_HASH[0])
    return False


def new_token() -> str:
    """A fresh bearer token; the caller shows it once and stores only hash_token(token)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough (no salt, no stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def _fernet() -> Fernet:
    digest = hashlib.sha256(("distillery-secrets:" + get_settings().secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_secret(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt_secret(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("stored secret cannot be decrypted: DISTILLERY_SECRET_KEY changed") from exc
