"""JSON logs, one object per line, ready for a log stack; every line carries the request id
or the run it belongs to.

Every process logs this way: the API (``api.main``, ``infra-mind serve``), the worker's
processes (``python -m infra_mind.worker``), and the engine processes of ``kit.compute``.
What a line belongs to comes from context variables: ``request_id`` (set per request by
``api.app``) and ``log_context`` (``assessment_id`` while a run goes on, ``run`` for an
agent graph's thread), so an operator greps one id and gets every line of a run, across
its agents and processes.

Nothing here logs request bodies, headers or query strings, so tokens and passwords never
reach the logs; the access log names the route template, not the raw path.

Database errors are logged by class, SQLSTATE, constraint and SQL text, never by their
message: a driver's or server's message can quote the data of the failed statement
(asyncpg's "invalid input for query argument $1: 'a@b.example'", PostgreSQL's "invalid
input syntax for type uuid: ..."), and the engines hide their parameters
(``kit.db.make_engine``). This applies to tracebacks and to exceptions given as
arguments of a message, whichever logger writes them.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import threading
import traceback
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from types import TracebackType

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                       default=None)
#: Fields every line logged in this context carries (``log_context``).
_fields: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "log_fields", default=None)


@contextlib.contextmanager
def log_context(**fields: str) -> Iterator[None]:
    """Within the block (and the tasks and threads started from it, which copy the
    context), every log line carries ``fields`` as well as those of enclosing blocks."""
    token = _fields.set({**(_fields.get() or {}), **fields})
    try:
        yield
    finally:
        _fields.reset(token)


def current_log_context() -> dict[str, str]:
    """This context's fields, with the request id: what another process (an engine
    process computing for this run) needs to log as part of it."""
    fields = dict(_fields.get() or {})
    rid = request_id.get()
    if rid:
        fields.setdefault("request_id", rid)
    return fields


def event(logger: logging.Logger, name: str, level: int = logging.INFO,
          **fields: object) -> None:
    """One structured line: ``{"event": name, **fields}`` (merged into the JSON line)."""
    if logger.isEnabledFor(level):
        logger.log(level, json.dumps({"event": name, **fields}, default=str))


#: Exceptions raised by these packages are database errors (their messages may quote data).
_DATABASE_PACKAGES = ("asyncpg", "psycopg", "psycopg_pool", "sqlite3", "aiosqlite")
#: Longest SQL text kept in a log line.
MAX_SQL_CHARS = 1_000


def is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a database driver or is SQLAlchemy's wrapper of a failed
    statement (``StatementError``, whose message embeds the driver's)."""
    for cls in type(exc).__mro__:
        module = cls.__module__ or ""
        root = module.split(".", 1)[0]
        if root in _DATABASE_PACKAGES or module.startswith("sqlalchemy.dialects"):
            return True
        if module == "sqlalchemy.exc" and cls.__name__ == "StatementError":
            return True
    return False


def describe_database_error(exc: BaseException) -> str:
    """What may be logged of a database error: its SQLSTATE, constraint and SQL text
    (placeholders, never values), not its message."""
    parts = []
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    diag = getattr(exc, "diag", None)  # psycopg
    if isinstance(sqlstate, str) and sqlstate:
        parts.append(f"sqlstate {sqlstate}")
    constraint = (getattr(exc, "constraint_name", None)
                  or getattr(diag, "constraint_name", None))
    if isinstance(constraint, str) and constraint:
        parts.append(f"constraint {constraint}")
    statement = getattr(exc, "statement", None)
    if isinstance(statement, str) and statement:
        parts.append("SQL: " + " ".join(statement.split())[:MAX_SQL_CHARS])
    detail = "; ".join(parts) or "details withheld"
    return f"[message withheld: it may quote data] {detail}"


def format_exception_safely(exc: BaseException) -> str:
    """The traceback of ``exc`` and of the exceptions that caused it, as Python prints it,
    with the message of each database error, and of each error that caused one (asyncpg
    raises a plain ``ValueError`` quoting a value it could not encode), replaced by
    ``describe_database_error``."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    withheld = _withheld(chain)
    lines: list[str] = []
    for index in range(len(chain) - 1, -1, -1):  # the root cause first, as Python prints
        error = chain[index]
        if index < len(chain) - 1:
            lines.append("\nThe above exception was the direct cause of the following "
                         "exception:\n\n" if error.__cause__ is chain[index + 1] else
                         "\nDuring handling of the above exception, another exception "
                         "occurred:\n\n")
        if error.__traceback__ is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_tb(error.__traceback__))
        if withheld[index]:
            kind = type(error)
            lines.append(f"{kind.__module__}.{kind.__qualname__}: "
                         f"{describe_database_error(error)}\n")
        else:
            lines.extend(traceback.format_exception_only(type(error), error))
    return "".join(lines).rstrip("\n")


def _withheld(chain: list[BaseException]) -> list[bool]:
    """For each error of a chain (outermost first): a database error, or a cause of one."""
    below_database = False
    flags = []
    for error in chain:
        below_database = below_database or is_database_error(error)
        flags.append(below_database)
    return flags


def _safe_args(args: object) -> object:
    """``args`` itself, or a copy with each database error described safely."""
    if isinstance(args, tuple) and any(isinstance(a, BaseException) and is_database_error(a)
                                       for a in args):
        return tuple(f"{type(a).__name__} {describe_database_error(a)}"
                     if isinstance(a, BaseException) and is_database_error(a) else a
                     for a in args)
    return args


def _without_database_text(message: str, exc: BaseException) -> str:
    """``message`` with the text of each database error of ``exc``'s chain replaced: a
    library may put ``{exc}`` in its message (LangGraph's "Retrying task ... after ...")."""
    chain: list[BaseException] = []
    error: BaseException | None = exc
    while error is not None and len(chain) < 10 and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    for error, withheld in zip(chain, _withheld(chain), strict=True):
        text = str(error)
        if withheld and text and text in message:
            message = message.replace(text, describe_database_error(error))
    return message


class JsonFormatter(logging.Formatter):
    def formatException(self, ei) -> str:  # logging calls it by this name
        if ei and ei[1] is not None:
            return format_exception_safely(ei[1])
        return super().formatException(ei)

    def format(self, record: logging.LogRecord) -> str:
        safe = _safe_args(record.args) if record.args else record.args
        message = (str(record.msg) % safe if safe is not record.args and safe
                   else record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            message = _without_database_text(message, record.exc_info[1])
        doc: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        try:  # the access log already writes a JSON object: merge it
            parsed = json.loads(message)
            if isinstance(parsed, dict):
                doc.update(parsed)
            else:
                doc["message"] = message
        except ValueError:
            doc["message"] = message
        doc.setdefault("pid", record.process)
        for key, value in current_log_context().items():
            doc.setdefault(key, value)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def configure_logging(level: str | int = "INFO") -> None:
    """Send every logger's records to stderr as JSON lines (idempotent); so do Python's
    warnings and an exception nobody caught (in the main thread or another), which would
    otherwise print plain text between the JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "taskiq", "py.warnings"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # ours is richer
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(kind: type[BaseException], exc: BaseException,
                  tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    logging.getLogger("infra_mind").critical("uncaught %s", kind.__name__,
                                             exc_info=(kind, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("infra_mind").error(
        "uncaught %s in thread %s", args.exc_type.__name__, name,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


#: uvicorn's log configuration that defers to ``configure_logging``.
UVICORN_LOG_CONFIG: dict[str, object] = {"version": 1, "disable_existing_loggers": False}
