"""Encryption at rest: Fernet keys from ``ENCRYPTION_KEY``, the first encrypts, all decrypt.

``ENCRYPTION_KEY`` holds one or more Fernet keys (32 url-safe base64-encoded bytes each),
separated by commas. The first encrypts every new value; every key listed decrypts, so a
key can be rotated with no downtime: list the new key first and the old one after it,
restart, run ``infra-mind rotate-encryption-key`` (re-encrypts what the old key wrote),
then drop the old key. Each ciphertext is stored with the fingerprint of the key that
wrote it, which is how the rotation finds what is left to do.

Without ``ENCRYPTION_KEY``, development and test use a key generated once into
``./data/encryption.key`` (like the SQLite file under ``./data/``); staging and
production have no key, and features that need one answer 503 until it is set.

Keys are never logged or shown: a ``Keyring`` prints as its fingerprints only, and every
error names a key by its position in the list, never by its value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from infra_mind.kit.errors import DomainError

if TYPE_CHECKING:
    from infra_mind.config import Settings
    from infra_mind.kit.platform import Platform

#: Values that look like a key but are not one (refused outside development).
PLACEHOLDER_KEYS = {"", "changeme", "change-me", "secret", "your-encryption-key",
                    "encryption-key", "please-change-me", "insecure", "development", "test",
                    "${encryption_key}"}
#: Where development and test keep their generated key when ENCRYPTION_KEY is unset.
DEV_KEY_FILE = Path("data") / "encryption.key"
#: ``Platform.extras`` key of the process's keyring (built on first use).
KEYRING_KEY = "keyring"
NEW_KEY_HINT = ("make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'")


class CryptoError(Exception):
    """A key that cannot be used, or a value no key decrypts; the message is one line."""


class EncryptionUnavailable(DomainError):
    """No ``ENCRYPTION_KEY`` outside development: nothing can be stored encrypted."""

    status_code = 503


def fingerprint(key: bytes) -> str:
    """Names a key without revealing it: 16 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:16]


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


class Keyring:
    """The keys in force: ``encrypt`` with the first, ``decrypt`` with any."""

    def __init__(self, keys: Sequence[bytes], source: str = "ENCRYPTION_KEY") -> None:
        if not keys:
            raise CryptoError("a keyring needs at least one key")
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self.fingerprints = [fingerprint(k) for k in keys]
        self.source = source

    @property
    def primary(self) -> str:
        """The fingerprint of the key that encrypts."""
        return self.fingerprints[0]

    def __repr__(self) -> str:  # never the keys themselves
        return f"Keyring(source={self.source!r}, fingerprints={self.fingerprints!r})"

    def encrypt(self, plaintext: str) -> tuple[str, str]:
        """(ciphertext, fingerprint of the key that wrote it)."""
        return self._fernet.encrypt(plaintext.encode()).decode("ascii"), self.primary

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode()
        except (InvalidToken, UnicodeError, ValueError):
            raise CryptoError(f"no key of {self.source} decrypts this value (keys "
                              f"{', '.join(self.fingerprints)}); was the key that wrote "
                              "it removed too early?") from None

    def rotate(self, ciphertext: str) -> str:
        """The same value encrypted under the first key (raises ``CryptoError`` when no
        key decrypts it)."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError, ValueError):
            raise CryptoError(f"no key of {self.source} decrypts this value") from None


def configured_keys(value: SecretStr | None, environment: str) -> list[bytes] | None:
    """The keys of ``ENCRYPTION_KEY``, or None when it is unset (or, in development, a
    placeholder); ``CryptoError`` when it cannot be used. No side effects."""
    raw = value.get_secret_value() if value is not None else ""
    if not raw.strip() or (environment == "development" and _is_placeholder(raw)):
        return None
    return parse_keys(raw, environment=environment)


def keyring_from_settings(settings: Settings) -> Keyring | None:
    """The keyring of ``ENCRYPTION_KEY``; in development and test without one, the key in
    ``./data/encryption.key`` (generated on first use); otherwise None."""
    keys = configured_keys(settings.encryption_key, settings.environment)
    if keys is not None:
        return Keyring(keys)
    if settings.environment in ("development", "test"):
        return Keyring([_development_key(DEV_KEY_FILE)], source=str(DEV_KEY_FILE))
    return None


def _development_key(path: Path) -> bytes:
    """The key in ``path``, generated (mode 0600) by whichever process gets there first:
    written aside, then linked into place, so no process ever reads a half-written key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        aside = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(Fernet.generate_key() + b"\n")
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process won: use its key
        finally:
            aside.unlink()
    return parse_keys(path.read_text().strip(), environment="development")[0]


def keyring_of(platform: Platform) -> Keyring:
    """This process's keyring (built once); ``EncryptionUnavailable`` (503) without one."""
    found = platform.extras.get(KEYRING_KEY)
    if found is None:
        found = keyring_from_settings(platform.settings)
        if found is None:
            raise EncryptionUnavailable("encryption at rest is not configured: the operator "
                                        "must set ENCRYPTION_KEY")
        platform.extras[KEYRING_KEY] = found
    return found  # type: ignore[return-value]
