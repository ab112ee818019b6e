"""API key tokens: `cx360_<id>_<secret>`, of which only a SHA-256 of the secret is stored.

The secret is 32 random bytes (`secrets.token_urlsafe(32)`, 256 bits), so a fast hash is
enough: a slow KDF (bcrypt, scrypt, argon2) protects low-entropy passwords against guessing
from a stolen hash, and nobody guesses 2^256. The id is public (it names the key in `cx360
keys list` and in logs) and lets a request find its key without scanning them all.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

PREFIX = "cx360"
ID_BYTES = 6  # 12 hex digits
SECRET_BYTES = 32
MAX_TOKEN_LENGTH = 200  # a token is 62 characters; longer input is refused before hashing
TOKEN = re.compile(r"cx360_(?P<id>[0-9a-f]{12})_(?P<secret>[A-Za-z0-9_-]{43})")


def new_token() -> tuple[str, str, bytes]:
    """A fresh key: its id, the token to hand out once, and the digest to store."""
    key_id, secret = secrets.token_hex(ID_BYTES), secrets.token_urlsafe(SECRET_BYTES)
    return key_id, f"{PREFIX}_{key_id}_{secret}", digest(secret)


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def split(token: str) -> tuple[str, str] | None:
    """The id and the secret of a well-formed token, else None."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    match = TOKEN.fullmatch(token)
    return (match["id"], match["secret"]) if match else None


def matches(secret: str, stored: bytes) -> bool:
    """Whether the secret is the one whose digest is stored, in constant time."""
    return hmac.compare_digest(digest(secret), stored)
