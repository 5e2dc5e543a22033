"""Database errors reach the logs by class, SQLSTATE and SQL, never with the data they
quote (issue #10, item 13).

A real PostgreSQL error whose message quotes the value sent: ``invalid input syntax for
type uuid: "<value>"`` (the server's), and asyncpg's own ``invalid input for query
argument $1: '<value>'``. It is logged the three ways code does: a traceback
(``log.exception``), the exception as an argument, and its text inside an f-string
message with ``exc_info`` (LangGraph's "Retrying task ... after ..."). The engine comes
from ``kit.db.make_engine``, which hides statement parameters.
"""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from infra_mind.kit.db import make_engine
from infra_mind.observability.logging import JsonFormatter


def _lines(records: list[logging.LogRecord]) -> list[dict]:
    return [json.loads(JsonFormatter().format(record)) for record in records]


@pytest.fixture()
def captured():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("infra_mind.test_redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize("statement", [
    "SELECT CAST(CAST(:value AS text) AS uuid)",  # the server's message quotes it
    "SELECT CAST(:value AS integer) + 1",  # the driver's (asyncpg's) message quotes it
])
async def test_a_database_error_is_logged_without_the_data_it_quotes(pg_database, captured,
                                                                     statement):
    logger, stream = captured
    secret = f"secret-{uuid.uuid4().hex}"
    engine = make_engine(pg_database)
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as caught:
                await conn.execute(text(statement), {"value": secret})
    finally:
        await engine.dispose()
    error = caught.value
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(error)
    # the message itself quotes the value: that is what the formatter must keep out
    assert secret in str(error.orig) or secret in str(error.__cause__)

    try:
        raise RuntimeError("while saving") from error
    except RuntimeError:
        logger.exception("saving failed")
    logger.warning("query failed: %s", error)
    logger.info(f"Retrying task research after 0.5 seconds after {type(error).__name__} "
                f"{error}", exc_info=error)

    logged = stream.getvalue()
    assert secret not in logged
    lines = [json.loads(line) for line in logged.splitlines()]
    assert [line["message"].split(":")[0].split(" after")[0] for line in lines] == [
        "saving failed", "query failed", "Retrying task research"]
    trace = lines[0]["exception"]
    assert "RuntimeError: while saving" in trace  # other errors keep their message
    assert "sqlalchemy.exc.DBAPIError" in trace or "sqlalchemy.exc.DataError" in trace
    assert "SQL: SELECT CAST(" in trace
    assert "[message withheld: it may quote data]" in lines[1]["message"]
    assert "sqlstate" in trace
