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

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# CryptoError is this module's error too (a value no key decrypts): its users import it here
from infra_mind.config.keys import CryptoError as CryptoError
from infra_mind.config.keys import configured_keys, parse_keys
from infra_mind.kit.errors import DomainError
from infra_mind.kit.slots import Slot

if TYPE_CHECKING:
    from infra_mind.config import Settings
    from infra_mind.kit.platform import Platform

#: Where development and test keep their generated key when ENCRYPTION_KEY is unset.
DEV_KEY_FILE = Path("data") / "encryption.key"


class EncryptionUnavailable(DomainError):
    """No ``ENCRYPTION_KEY`` outside development: nothing can be stored encrypted."""

    status_code = 503


def fingerprint(key: bytes) -> str:
    """Names a key without revealing it: 16 hex digits of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:16]


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


#: The process's keyring on its platform (built on first use, ``keyring_of``).
KEYRING_KEY: Slot[Keyring] = Slot("keyring")


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
    found = platform.get(KEYRING_KEY)
    if found is None:
        found = keyring_from_settings(platform.settings)
        if found is None:
            raise EncryptionUnavailable("encryption at rest is not configured: the operator "
                                        "must set ENCRYPTION_KEY")
        platform[KEYRING_KEY] = found
    return found
