"""``infra-mind backup`` (and ``backup list``, ``backup verify``), ``restore``,
``drill backup-restore`` and ``validate-data``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from infra_mind.cli.errors import CliError, ExitCode, settings_or_exit

if TYPE_CHECKING:
    from infra_mind.config import Settings
    from infra_mind.ops.backup import Backup, Keys
    from infra_mind.ops.offsite import OffsiteStore

backup_app = typer.Typer()
drill_app = typer.Typer(help="Disaster recovery drills.", no_args_is_help=True)

DirOpt = Annotated[Path | None, typer.Option(
    "--dir", help="Backup directory (default: BACKUP_DIR, ./data/backups)", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON document")]


def _keys(cfg: Settings) -> Keys:
    from infra_mind.config.keys import configured_keys
    from infra_mind.ops.backup import Keys

    return Keys(tuple(configured_keys(cfg.encryption_key, cfg.environment) or ()))


def _directory(cfg: Settings, directory: Path | None) -> Path:
    return directory if directory is not None else Path(cfg.backup_dir)


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    raise AssertionError


def _when(iso: str) -> str:
    """``2026-12-01T02:00:00.123456+00:00`` -> ``2026-12-01 02:00:00``: manifests keep UTC."""
    return iso[:19].replace("T", " ")


def _store(cfg: Settings, *, needed_by: str | None = None) -> OffsiteStore | None:
    """The off-site store of ``BACKUP_S3_URL``; None when unset, or a usage error naming
    ``needed_by`` when that option cannot work without it."""
    if cfg.backup_s3_url is None:
        if needed_by is not None:
            raise CliError(f"{needed_by} needs BACKUP_S3_URL (s3://BUCKET[/PREFIX])",
                           ExitCode.USAGE)
        return None
    from infra_mind.ops.offsite import store_from

    return store_from(cfg.backup_s3_url, cfg.backup_s3_endpoint_url)


def _copy_off_site(store: OffsiteStore, made: Backup, directory: Path, keys: Keys
                   ) -> tuple[bool, list[str]]:
    """Verify and upload the new backup, then every other local backup the bucket lacks
    (an upload that failed before); print what was copied. Whether the new one was
    copied, and a line for each backup that was not."""
    from infra_mind.ops.backup import Backup, BackupError, list_backups, verify_backup

    others = [b for b in list_backups(directory) if isinstance(b, Backup) and b.id != made.id]
    failures: list[str] = []
    made_copied = False
    for backup in [made, *reversed(others)]:
        try:
            if backup is not made and store.has_backup(backup.id):
                continue
            verification = verify_backup(directory, backup.id, keys)
            if not verification.ok:
                failures.append(f"backup {backup.id} is damaged, not copied: "
                                f"{verification.problems[0]}")
                continue
            copied = store.upload(verification.backup)
        except BackupError as exc:
            failures.append(str(exc))
            if backup is made:
                break  # the store failed: the earlier ones would fail the same way
            continue
        made_copied = made_copied or backup is made
        typer.echo(f"copied {'' if backup is made else 'earlier backup '}{backup.id} "
                   f"(verified) to {copied.where}: {copied.files} files, "
                   f"{_size(copied.bytes)}")
    return made_copied, failures


def _fail(exc: Exception) -> CliError:
    from infra_mind.ops.backup import BackupNotFound

    return CliError(str(exc), ExitCode.NOT_FOUND if isinstance(exc, BackupNotFound)
                    else ExitCode.FAILURE)


@backup_app.callback(invoke_without_command=True)
def backup(
    ctx: typer.Context,
    directory: DirOpt = None,
    encrypt: Annotated[bool | None, typer.Option(
        "--encrypt/--no-encrypt", help="Encrypt with ENCRYPTION_KEY (default: when it is set)",
        show_default=False)] = None,
) -> None:
    """Back up the database (DATABASE_URL) as a portable, verifiable logical dump, then keep
    the newest BACKUP_KEEP backups; with BACKUP_S3_URL, verify it and copy it off-site
    (with any earlier backup the bucket lacks). The backup id is the last word printed.
    `backup list [--remote]` and `backup verify [ID]` read the backups."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = directory  # `backup --dir D verify ID` means D too
        return
    from infra_mind.ops.backup import BackupError, create_backup, prune_backups
    from infra_mind.ops.tables import redact

    cfg = settings_or_exit()
    target = _directory(cfg, directory)
    store = _store(cfg)
    try:
        made = create_backup(cfg.database_url, target, _keys(cfg), encrypt=encrypt)
    except BackupError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        raise CliError(f"cannot write the backup in {target}: {exc}") from None
    manifest = made.manifest
    typer.echo(f"backup of {redact(cfg.database_url)} at revision "
               f"{manifest['alembic_revision']} (one consistent snapshot)")
    for table in manifest["tables"]:
        typer.echo(f"  {table['name']:<24} {table['rows']:>9} rows")
    encryption = manifest["encryption"]
    typer.echo(f"{len(manifest['tables'])} tables, {manifest['rows']} rows, "
               f"{_size(made.size_bytes)}, "
               + (f"encrypted with key {encryption['key_fingerprint']}" if encryption
                  else "not encrypted") + f", in {made.path}")
    for removed in prune_backups(target, cfg.backup_keep):
        typer.echo(f"removed {removed} (BACKUP_KEEP={cfg.backup_keep})")
    copied, failures = _copy_off_site(store, made, target, _keys(cfg)) \
        if store is not None else (False, [])
    typer.echo(f"backup id {made.id}")
    if failures:
        # exit 1, the local backup kept: a backup that is not off-site is not the whole job
        if not copied:
            raise CliError(f"backup {made.id} is kept in {target} but not copied off-site: "
                           f"{failures[0]}")
        raise CliError(f"backup {made.id} is copied off-site, {len(failures)} earlier "
                       f"backup(s) are not: {failures[0]}")


@backup_app.command("list")
def show_backups(ctx: typer.Context, directory: DirOpt = None, as_json: JsonOpt = False,
                 remote: Annotated[bool, typer.Option(
                     "--remote", help="List the off-site copies in BACKUP_S3_URL instead")
                 ] = False) -> None:
    """List the backups, oldest first (reads manifests only; `verify` reads every byte)."""
    from infra_mind.ops.backup import BackupError, list_backups, partial_dirs

    cfg = settings_or_exit()
    target = _directory(cfg, directory or ctx.obj)
    if remote:
        store = _store(cfg, needed_by="--remote")
        assert store is not None
        try:
            found: list = store.list()
        except BackupError as exc:
            raise _fail(exc) from None
        where = store.where
    else:
        found, where = list_backups(target), str(target)
    rows = []
    for item in found:
        if isinstance(item, BackupError):
            rows.append({"id": None, "problem": str(item)})
            continue
        m = item.manifest
        rows.append({"id": item.id, "created_at": m["created_at"],
                     "dialect": m.get("source", {}).get("dialect"),
                     "revision": m["alembic_revision"], "tables": len(m["tables"]),
                     "rows": m.get("rows"), "bytes": item.size_bytes,
                     "encrypted": bool(m.get("encryption")),
                     "problem": None if item.manifest_intact()
                     else "manifest does not match its digest"})
    if as_json:
        typer.echo(json.dumps({("location" if remote else "directory"): where,
                               "backups": rows}, indent=2))
        return
    if not rows:
        typer.echo(f"no backups in {where}")
    else:
        if remote:
            typer.echo(f"off-site backups in {where}")
        typer.echo(f"{'id':<24} {'created (UTC)':<20} {'dialect':<10} {'revision':<8} "
                   f"{'rows':>8} {'size':>10}  encrypted")
    for row in rows:
        if row["id"] is None:
            typer.echo(f"({'incomplete or unreadable' if remote else 'unreadable'}) "
                       f"{row['problem']}")
            continue
        typer.echo(f"{row['id']:<24} {_when(row['created_at']):<20} "
                   f"{row['dialect']:<10} {row['revision']:<8} {row['rows']:>8} "
                   f"{_size(row['bytes']):>10}  {'yes' if row['encrypted'] else 'no'}"
                   + (f"  ({row['problem']})" if row["problem"] else ""))
    stale = [] if remote else partial_dirs(target)
    if stale:
        typer.echo(f"{len(stale)} interrupted backup(s) ({', '.join(p.name for p in stale)}): "
                   "not backups; removed by a later backup after a day")


@backup_app.command("verify")
def verify(
    ctx: typer.Context,
    backup_id: Annotated[str | None, typer.Argument(
        help="Backup id (default: the newest backup)", show_default=False)] = None,
    directory: DirOpt = None,
) -> None:
    """Verify a backup: the manifest's integrity, every file's size and SHA-256, and (with
    the key, when encrypted) every table's rows; exit 1 naming each damaged file."""
    from infra_mind.ops.backup import Backup, BackupError, list_backups, verify_backup

    cfg = settings_or_exit()
    target = _directory(cfg, directory or ctx.obj)
    if backup_id is None:
        readable = [b for b in list_backups(target) if isinstance(b, Backup)]
        if not readable:
            raise CliError(f"no backups in {target}", ExitCode.NOT_FOUND)
        backup_id = readable[-1].id
    try:
        report = verify_backup(target, backup_id, _keys(cfg))
    except BackupError as exc:
        raise _fail(exc) from None
    for problem in report.problems:
        typer.echo(problem)
    if not report.ok:
        raise CliError(f"backup {backup_id} is damaged: {len(report.problems)} problem(s), "
                       f"first: {report.problems[0]}")
    created = _when(report.backup.manifest["created_at"])
    typer.echo(f"backup {backup_id} ok: {report.files} files, {report.rows} rows in "
               f"{len(report.backup.manifest['tables'])} tables match the manifest "
               f"(taken {created} UTC)")


def restore(
    backup_id: Annotated[str, typer.Argument(help="Backup id (see `infra-mind backup list`)",
                                             show_default=False)],
    directory: DirOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Replace every row of the database")
                   ] = False,
    from_s3: Annotated[bool, typer.Option(
        "--from-s3", help="Restore the off-site copy in BACKUP_S3_URL (downloaded to a "
                          "scratch folder under the backup directory, then verified)")
    ] = False,
) -> None:
    """Restore a backup into the database (DATABASE_URL): verify it, migrate the database to
    the backup's revision, replace all its rows in one transaction, check row counts. A row
    the database refuses (PostgreSQL takes no NaN in JSON, no NUL in text) is left out with
    the rows that refer to it, each named; then the rest is restored and the exit is 1."""
    import contextlib

    from infra_mind.ops.backup import BackupError
    from infra_mind.ops.restore import restore_backup
    from infra_mind.ops.tables import redact

    cfg = settings_or_exit()
    store = _store(cfg, needed_by="--from-s3") if from_s3 else None
    if not yes:
        raise CliError(f"restore replaces every row of {redact(cfg.database_url)} with backup "
                       f"{backup_id}: add --yes to do it (stop the application first)",
                       ExitCode.USAGE)
    try:
        with contextlib.ExitStack() as stack:
            folder = _directory(cfg, directory)
            if store is not None:
                from infra_mind.ops.offsite import downloaded

                folder = stack.enter_context(downloaded(store, backup_id, folder))
                typer.echo(f"downloaded backup {backup_id} from {store.where}")
            report = restore_backup(cfg.database_url, folder, backup_id, _keys(cfg))
    except BackupError as exc:
        raise _fail(exc) from None
    except OSError as exc:
        raise CliError(f"cannot read backup {backup_id}: {exc}") from None
    typer.echo(f"verified backup {backup_id} ({_when(report.backup.manifest['created_at'])} UTC, "
               f"{report.backup.manifest['source']['dialect']})")
    if report.before != report.revision:
        typer.echo(f"migrated {report.database} from {report.before or 'empty'} to "
                   f"{report.revision}, the backup's revision")
    typer.echo(f"restored {report.rows} rows into {len(report.restored)} tables of "
               f"{report.database} in {report.seconds:.1f} s (removed {report.cleared_rows} "
               "rows first); every table's row count matches the manifest"
               + ("" if report.complete else f" less the {len(report.uncarried)} rows "
                  "not carried"))
    for row in report.uncarried:
        typer.echo(f"not carried: {row}")
    if report.sequences:
        typer.echo(f"sequences set past the restored rows: {', '.join(report.sequences)}")
    if report.revision != report.head:
        typer.echo(f"the database is at {report.revision}; this version's head is "
                   f"{report.head}: run `infra-mind migrate`")
    if not report.complete:
        # exit 1: the rows restored are committed (in a recovery, most of the data beats
        # none), but a script or an operator must not take a lossy restore for a whole one
        raise CliError(f"restore incomplete: {len(report.uncarried)} of "
                       f"{report.backup.manifest['rows']} rows of backup {backup_id} could "
                       f"not be carried into {report.database} (listed above as \"not "
                       "carried\"); the other rows are restored")


@drill_app.command("backup-restore")
def backup_restore(
    directory: DirOpt = None,
    backup_id: Annotated[str | None, typer.Option(
        "--backup", help="Drill on this existing backup instead of taking a new one",
        show_default=False)] = None,
) -> None:
    """Back up the database, restore it into a scratch database, compare every table with
    the source and validate the data; exit 0 only when identical and valid."""
    from infra_mind.ops.backup import BackupError
    from infra_mind.ops.restore import drill_backup_restore

    cfg = settings_or_exit()
    try:
        report = drill_backup_restore(cfg.database_url, _directory(cfg, directory), _keys(cfg),
                                      backup_id=backup_id)
    except BackupError as exc:
        raise _fail(exc) from None
    backup = report.restore.backup
    typer.echo(f"drill backup-restore: {report.source}")
    typer.echo(f"{'took' if report.made_backup else 'used'} backup {backup.id} "
               f"({backup.manifest['rows']} rows, revision {report.restore.revision}); "
               "verified")
    typer.echo(f"restored into a {report.scratch} in {report.restore.seconds:.1f} s; "
               "row counts match the manifest"
               + ("" if report.restore.complete else
                  f" less the {len(report.restore.uncarried)} rows not carried"))
    for row in report.restore.uncarried:
        typer.echo(f"  not carried: {row}")
    typer.echo(f"  {'table':<24} {'source rows':>11} {'restored':>9}  {'content digest':<16}")
    for table in report.tables:
        mark = "identical" if table.identical else "DIFFERENT"
        typer.echo(f"  {table.name:<24} {table.source_rows!s:>11} {table.restored_rows!s:>9}"
                   f"  {(table.restored_digest or '-')[:16]:<16} {mark}")
    typer.echo(f"validate-data on the restored copy: {report.validation.summary()}")
    for problem in report.validation.problems:
        typer.echo(f"  {problem}")
    typer.echo("scratch database removed")
    if not report.passed:
        different = [t.name for t in report.tables if not t.identical]
        raise CliError("drill failed: " + (f"tables differ from the source: "
                                           f"{', '.join(different)}" if different
                                           else report.validation.summary()))
    typer.echo(f"drill passed in {report.seconds:.1f} s: {len(report.tables)} of "
               f"{len(report.tables)} tables identical, data valid")


def validate_data(as_json: JsonOpt = False) -> None:
    """Check the stored data (DATABASE_URL): migrations at head, foreign keys, enumerated
    values, JSON columns, run states and result versions; one line per problem, exit 1."""
    from infra_mind.ops.validate_data import validate_data as check

    cfg = settings_or_exit()
    try:
        report = check(cfg.database_url)
    except Exception as exc:  # the database is unreachable or not a database
        from infra_mind.ops.tables import redact

        raise CliError(f"cannot read {redact(cfg.database_url)}: {type(exc).__name__}: "
                       f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                       ) from None
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
    else:
        for problem in report.problems:
            typer.echo(str(problem))
    if not report.valid:
        raise CliError(report.summary())
    if not as_json:
        typer.echo(report.summary())
