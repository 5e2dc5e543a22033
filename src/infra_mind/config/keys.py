"""What ``ENCRYPTION_KEY`` holds: one or more Fernet keys, comma-separated, the first the one
that encrypts (``kit.crypto`` keeps the keyring made of them).

Here, beside the settings, because ``Settings`` refuses at start a key that cannot be
used: a malformed one, a repeated one, or (outside development) a placeholder. No side
effects, and never a key's value in a message: a key is named by its position.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.fernet import Fernet
from pydantic import SecretStr

#: Values that look like a key but are not one (refused outside development).
PLACEHOLDER_KEYS = {"", "changeme", "change-me", "secret", "your-encryption-key",
                    "encryption-key", "please-change-me", "insecure", "development", "test",
                    "${encryption_key}"}
NEW_KEY_HINT = ("make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'")


class CryptoError(Exception):
    """A key that cannot be used, or a value no key decrypts; the message is one line."""


def _is_placeholder(raw: str) -> bool:
    return raw.strip().lower() in PLACEHOLDER_KEYS


def parse_keys(value: str, *, environment: str = "production") -> list[bytes]:
    """The keys of an ``ENCRYPTION_KEY`` value, first (the encrypting one) first.

    Raises ``CryptoError`` (one line naming the key's position, never its value) for a
    malformed key, a repeated key, or, outside development, a placeholder or a key of
    one repeated byte.
    """
    parts = [part.strip() for part in value.split(",")]
    if len(parts) > 1 and not all(parts):
        raise CryptoError("ENCRYPTION_KEY: an empty key in the list (a stray comma?)")
    if environment != "development" and any(_is_placeholder(p) for p in parts):
        raise CryptoError(f"ENCRYPTION_KEY must hold random Fernet keys when "
                          f"ENVIRONMENT={environment} (a placeholder is refused); "
                          f"{NEW_KEY_HINT}")
    keys: list[bytes] = []
    for position, part in enumerate(parts, start=1):
        where = f"key {position} of {len(parts)}" if len(parts) > 1 else "the key"
        try:
            raw = base64.urlsafe_b64decode(part.encode("ascii"))
            Fernet(part.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != 32:
            raise CryptoError(f"ENCRYPTION_KEY: {where} is not a Fernet key (32 url-safe "
                              f"base64-encoded bytes, 44 characters); {NEW_KEY_HINT}")
        if environment != "development" and len(set(raw)) == 1:
            raise CryptoError(f"ENCRYPTION_KEY: {where} is not random (one repeated byte); "
                              f"{NEW_KEY_HINT}")
        key = part.encode("ascii")
        if key in keys:
            raise CryptoError(f"ENCRYPTION_KEY: {where} repeats an earlier key")
        keys.append(key)
    return keys


def configured_keys(value: SecretStr | None, environment: str) -> list[bytes] | None:
    """The keys of ``ENCRYPTION_KEY``, or None when it is unset (or, in development, a
    placeholder); ``CryptoError`` when it cannot be used. No side effects."""
    raw = value.get_secret_value() if value is not None else ""
    if not raw.strip() or (environment == "development" and _is_placeholder(raw)):
        return None
    return parse_keys(raw, environment=environment)
