"""ENCRYPTION_KEY and ``infra-mind rotate-encryption-key``: keys refused in one line, and a
rotation (on SQLite and PostgreSQL) that keeps every value readable while it runs and
after, and that the old key can then be dropped from."""

from __future__ import annotations

import asyncio
import os
import stat

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from infra_mind.cli.main import main
from infra_mind.config import SettingsError, load_settings
from infra_mind.config.keys import parse_keys
from infra_mind.kit.crypto import (
    DEV_KEY_FILE,
    KEYRING_KEY,
    CryptoError,
    Keyring,
    keyring_from_settings,
)
from infra_mind.kit.db import session_scope
from infra_mind.kit.platform import Platform
from infra_mind.models import Organization, OrganizationSecret
from infra_mind.ops.rotation import RotationFailed, rotate
from infra_mind.services.organizations import secret_value
from tests.api.helpers import create_member

JWT = "j" * 48


def key() -> str:
    return Fernet.generate_key().decode()


# -- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "message"), [
    ("changeme", "ENCRYPTION_KEY must hold random Fernet keys when ENVIRONMENT=production "
                 "(a placeholder is refused)"),
    ("not-a-key", "ENCRYPTION_KEY: the key is not a Fernet key (32 url-safe base64-encoded "
                  "bytes, 44 characters)"),
    ("{k},short", "ENCRYPTION_KEY: key 2 of 2 is not a Fernet key"),
    ("{k},{k}", "ENCRYPTION_KEY: key 2 of 2 repeats an earlier key"),
    ("{k},", "ENCRYPTION_KEY: an empty key in the list (a stray comma?)"),
    ("A" * 43 + "=", "ENCRYPTION_KEY: the key is not random (one repeated byte)"),
])
def test_unusable_keys_are_refused_in_one_line(value, message):
    good = key()
    with pytest.raises(SettingsError) as refused:
        load_settings(environment="production", jwt_secret_key=JWT,
                      encryption_key=value.format(k=good))
    text = str(refused.value)
    assert text.startswith(message) and "\n" not in text
    assert good not in text


def test_keys_parse_in_order_and_print_as_fingerprints():
    first, second = key(), key()
    cfg = load_settings(environment="production", jwt_secret_key=JWT,
                        encryption_key=f" {first} , {second} ")
    assert first not in repr(cfg) and first not in str(cfg.model_dump())
    keyring = keyring_from_settings(cfg)
    assert keyring is not None and parse_keys(f"{first},{second}") == [first.encode(),
                                                                      second.encode()]
    assert keyring.fingerprints == [Keyring([first.encode()]).primary,
                                    Keyring([second.encode()]).primary]
    assert first not in repr(keyring) and second not in repr(keyring)
    ciphertext, fingerprint = keyring.encrypt("value")
    assert fingerprint == keyring.primary
    assert Keyring([first.encode()]).decrypt(ciphertext) == "value"


def test_a_wrong_key_is_one_line_naming_no_key():
    ciphertext, _ = Keyring([key().encode()]).encrypt("value")
    other = key()
    with pytest.raises(CryptoError) as refused:
        Keyring([other.encode()]).decrypt(ciphertext)
    text = str(refused.value)
    assert text.startswith("no key of ENCRYPTION_KEY decrypts this value")
    assert "\n" not in text and other not in text


def test_development_and_test_generate_a_key_file_others_have_none():
    cfg = load_settings(environment="development", encryption_key="changeme")
    first = keyring_from_settings(cfg)
    assert first is not None and first.source == str(DEV_KEY_FILE)
    assert stat.S_IMODE(os.stat(DEV_KEY_FILE).st_mode) == 0o600
    again = keyring_from_settings(load_settings(environment="test", jwt_secret_key=JWT))
    assert again is not None and again.fingerprints == first.fingerprints  # the same file
    for environment in ("staging", "production"):
        assert keyring_from_settings(load_settings(environment=environment,
                                                   jwt_secret_key=JWT)) is None


# -- rotation ---------------------------------------------------------------------------------


async def _plant(app, client, count: int) -> dict[str, str]:
    """``count`` organizations, each with both secrets set through the API."""
    values: dict[str, str] = {}
    for i in range(count):
        owner = await create_member(app)
        for name in ("openai_api_key", "anthropic_api_key"):
            value = f"sk-{name[:4]}-{i}-{os.urandom(12).hex()}"
            response = await client.put(
                f"/api/v1/organizations/{owner.organization_id}/secrets/{name}",
                headers=owner.headers, json={"value": value})
            assert response.status_code == 200, response.text
            values[f"{owner.organization_id}/{name}"] = value
    return values


async def _stored(platform: Platform) -> dict[str, OrganizationSecret]:
    async with platform.sessions() as session:
        found = (await session.execute(select(OrganizationSecret))).scalars().all()
    return {f"{r.organization_id}/{r.name}": r for r in found}


async def _read_all(platform: Platform, keyring: Keyring, values: dict[str, str]) -> None:
    async with platform.sessions() as session:
        for where, value in values.items():
            organization_id, name = where.split("/")
            assert await secret_value(session, keyring, organization_id, name) == value


async def test_rotation_keeps_values_readable_throughout(app, client):
    platform = app.state.platform
    old, new = Fernet.generate_key(), Fernet.generate_key()
    platform[KEYRING_KEY] = Keyring([old])
    values = await _plant(app, client, 3)
    before = await _stored(platform)
    # the new key is deployed first, the old one after it: every process reads both
    rotating = Keyring([new, old])
    platform[KEYRING_KEY] = rotating
    seen_batches: list[int] = []

    async def mid_rotation(progress) -> None:
        seen_batches.append(progress.reencrypted)
        await _read_all(platform, rotating, values)  # old and new ciphertexts both read
        owner = await create_member(app)  # writes go on, under the new key
        added = await client.put(
            f"/api/v1/organizations/{owner.organization_id}/secrets/openai_api_key",
            headers=owner.headers, json={"value": "sk-written-mid-rotation-0001"})
        assert added.status_code == 200
        values[f"{owner.organization_id}/openai_api_key"] = "sk-written-mid-rotation-0001"

    dry = await rotate(platform, rotating, dry_run=True)
    assert (dry[0].rows, dry[0].reencrypted) == (6, 6)
    assert {k: r.ciphertext for k, r in (await _stored(platform)).items()} == {
        k: r.ciphertext for k, r in before.items()}  # a dry run changes nothing
    (done,) = await rotate(platform, rotating, batch_size=2, after_batch=mid_rotation)
    assert seen_batches == [2, 4, 6] and done.reencrypted == 6 and done.batches == 3
    after = await _stored(platform)
    for where, row in before.items():
        assert after[where].ciphertext != row.ciphertext
        assert after[where].key_fingerprint == rotating.primary
        assert after[where].updated_at == row.updated_at  # re-encrypting changes no value
    # the old key dropped: everything still reads
    await _read_all(platform, Keyring([new]), values)
    (again,) = await rotate(platform, rotating)  # idempotent
    assert (again.reencrypted, again.already_current, again.rows) == (0, 9, 9)


async def test_a_value_no_key_reads_fails_the_rotation_in_one_line(app, client):
    platform = app.state.platform
    platform[KEYRING_KEY] = Keyring([Fernet.generate_key()])
    await _plant(app, client, 1)
    stranger = key()
    for dry_run in (True, False):
        with pytest.raises(RotationFailed) as failed:
            await rotate(platform, Keyring([stranger.encode()]), dry_run=dry_run)
        text = str(failed.value)
        assert text.startswith("organization_secrets.ciphertext row ")
        assert "no key of ENCRYPTION_KEY" in text and stranger not in text
        assert "\n" not in text


# -- the command ---------------------------------------------------------------------------


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_rotate_command(database_url, monkeypatch, capsys):
    old, new = key(), key()
    base = dict(environment="production", jwt_secret_key=JWT, database_url=database_url)

    async def plant() -> list[str]:
        platform = Platform.build(load_settings(**base, encryption_key=old))
        keyring = Keyring([old.encode()])
        try:
            async with session_scope(platform.sessions) as session:
                organization = Organization(name="rotate")
                session.add(organization)
                await session.flush()
                for name in ("openai_api_key", "anthropic_api_key"):
                    ciphertext, fp = keyring.encrypt(f"sk-{name}-value-123456")
                    session.add(OrganizationSecret(organization_id=organization.id,
                                                   name=name, ciphertext=ciphertext,
                                                   key_fingerprint=fp, hint="…3456"))
            return [keyring.primary]
        finally:
            await platform.close()

    (old_fp,) = asyncio.run(plant())
    for name, value in (("ENVIRONMENT", "production"), ("JWT_SECRET_KEY", JWT),
                        ("DATABASE_URL", database_url), ("ENCRYPTION_KEY", f"{new},{old}")):
        monkeypatch.setenv(name, value)
    new_fp = Keyring([new.encode()]).primary
    code, out, _ = _cli(capsys, "rotate-encryption-key", "--dry-run")
    assert code == 0
    assert out.splitlines()[0] == f"keys (ENCRYPTION_KEY): {new_fp} encrypts, {old_fp} decrypts"
    assert "organization_secrets.ciphertext: 2 values; would re-encrypt 2, 0 already" in out
    code, out, _ = _cli(capsys, "rotate-encryption-key", "--batch-size", "1")
    assert code == 0 and "re-encrypted 2, 0 already under" in out and "(2 batches)" in out
    code, out, _ = _cli(capsys, "rotate-encryption-key", "--dry-run")
    assert code == 0 and "would re-encrypt 0, 2 already under" in out
    assert "the other keys can be dropped" in out
    assert old not in out and new not in out
    monkeypatch.setenv("ENCRYPTION_KEY", key())  # neither key: nothing decrypts
    code, out, err = _cli(capsys, "rotate-encryption-key")
    assert code == 1 and err.startswith("error: organization_secrets.ciphertext row ")
    assert len(err.strip().splitlines()) == 1
    monkeypatch.setenv("ENCRYPTION_KEY", "changeme")
    code, _, err = _cli(capsys, "rotate-encryption-key")
    assert code == 2 and err.startswith("error: ENCRYPTION_KEY must hold random Fernet keys")
