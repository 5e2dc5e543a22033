"""JSON log lines carry the request id and never the secrets a request carries."""

import json
import logging

from infra_mind.observability.logging import JsonFormatter


async def test_access_log_is_json_with_request_id_and_no_secrets(client, caplog):
    caplog.set_level(logging.INFO, logger="infra_mind.access")
    secret = "Bearer super-secret-token-value"
    await client.get("/health?token=leaky-query-value", headers={"Authorization": secret,
                                                                  "X-Request-ID": "rid-1"})
    records = [r for r in caplog.records if r.name == "infra_mind.access"]
    line = JsonFormatter().format(records[-1])
    doc = json.loads(line)
    assert doc["request_id"] == "rid-1" and doc["route"] == "/health" and doc["status"] == 200
    assert "super-secret" not in line and "leaky-query" not in line


def test_plain_messages_and_exceptions_become_json():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom %s", ("now",), None)
    doc = json.loads(JsonFormatter().format(record))
    assert doc["message"] == "boom now" and doc["level"] == "error"
