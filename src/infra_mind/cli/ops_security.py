"""``infra-mind rotate-encryption-key`` and ``infra-mind admin grant|revoke|list``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from infra_mind.cli.errors import CliError, ExitCode, settings_or_exit
from infra_mind.cli.ops_maintenance import DryRunOpt, on_platform

if TYPE_CHECKING:
    from infra_mind.kit.platform import Platform

admin_app = typer.Typer(help="Platform admins: who sees the /api/v1/admin routes.",
                        no_args_is_help=True)


def rotate_encryption_key(
    dry_run: DryRunOpt = False,
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Values per "
                                                                    "transaction")] = 200,
) -> None:
    """Re-encrypt every encrypted value under the first key of ENCRYPTION_KEY (the keys
    after it still decrypt). Put the new key first, restart the API and workers, run this,
    then drop the old key once --dry-run finds nothing left."""
    from infra_mind.kit.crypto import keyring_from_settings
    from infra_mind.ops.rotation import RotationFailed, rotate

    cfg = settings_or_exit()
    keyring = keyring_from_settings(cfg)
    if keyring is None:
        raise CliError("ENCRYPTION_KEY is not set: nothing to rotate to", ExitCode.USAGE)
    typer.echo(f"keys ({keyring.source}): {keyring.primary} encrypts"
               + "".join(f", {fp} decrypts" for fp in keyring.fingerprints[1:]))
    try:
        columns = on_platform(lambda p: rotate(p, keyring, dry_run=dry_run,
                                               batch_size=batch_size), cfg)
    except RotationFailed as exc:
        raise CliError(str(exc)) from None
    verb = "would re-encrypt" if dry_run else "re-encrypted"
    left = 0
    for c in columns:
        left += c.reencrypted + c.changed_meanwhile
        meanwhile = f", {c.changed_meanwhile} changed meanwhile (left as written)" \
            if c.changed_meanwhile else ""
        typer.echo(f"  {c.column}: {c.rows} values; {verb} {c.reencrypted}, "
                   f"{c.already_current} already under {keyring.primary}{meanwhile} "
                   f"({c.batches} batch{'' if c.batches == 1 else 'es'})")
    if dry_run:
        typer.echo("dry run: nothing changed" if left else
                   "every value is under the first key: the other keys can be dropped from "
                   "ENCRYPTION_KEY once every process runs with it")
    else:
        typer.echo("done; run again with --dry-run to check that nothing is left")


def _set_admin(email: str, value: bool) -> None:
    from infra_mind.kit.db import session_scope
    from infra_mind.repositories.admin import set_platform_admin
    from infra_mind.services import audit

    async def work(platform: Platform) -> bool:
        async with session_scope(platform.sessions) as session:
            user = await set_platform_admin(session, email, value)
            if user is None:
                return False
            audit.record(session, actor_id=None, object_type="user", object_id=user.id,
                         action="user.platform_admin_" + ("granted" if value else "revoked"))
            return True

    if not on_platform(work):
        raise CliError(f"no account with the email {email.lower()}", ExitCode.NOT_FOUND)
    typer.echo(f"{email.lower()} is {'now' if value else 'no longer'} a platform admin")


@admin_app.command("grant")
def grant(email: Annotated[str, typer.Argument(help="The account's email")]) -> None:
    """Make an account a platform admin (it sees /api/v1/admin)."""
    _set_admin(email, True)


@admin_app.command("revoke")
def revoke(email: Annotated[str, typer.Argument(help="The account's email")]) -> None:
    """Take platform admin away from an account."""
    _set_admin(email, False)


@admin_app.command("list")
def list_admins() -> None:
    """The platform admins' emails."""
    from infra_mind.repositories.admin import platform_admins

    async def work(platform: Platform) -> list[str]:
        async with platform.sessions() as session:
            return [u.email for u in await platform_admins(session)]

    emails = on_platform(work)
    typer.echo("\n".join(emails) if emails else "no platform admins "
               "(grant one with `infra-mind admin grant EMAIL`)")
