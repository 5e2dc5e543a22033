"""HTTP details shared by every client of an outside API (price lists, LLM providers)."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date
    (RFC 9110 §10.2.3). None when absent or unreadable; never negative."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # HTTP dates are GMT by definition
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


# --- calls to outside APIs, for `infra-mind check-api-rates` ---------------------------------

ApiOutcome = Literal["ok", "rate_limited", "error"]
#: Minutes of per-minute counts each process keeps.
CALL_LOG_MINUTES = 60


class ApiCallLog:
    """This process's calls to outside APIs (price lists, LLM providers), per API: calls,
    rate-limit answers (429) and other failures per minute for the last hour, and the last
    ``Retry-After``. ``infra_mind.kit.presence`` publishes it to the shared cache.

    One entry per HTTP attempt, so a call retried twice counts three times.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()  # the price adapters call from threads
        self._apis: dict[str, dict[str, Any]] = {}

    def record(self, api: str, outcome: ApiOutcome, retry_after_s: float | None = None
               ) -> None:
        now = self._clock()
        minute = str(int(now // 60))
        with self._lock:
            entry = self._apis.setdefault(api, {"minutes": {}, "last_call_at": None,
                                                "last_rate_limited_at": None,
                                                "last_retry_after_s": None})
            counts = entry["minutes"].setdefault(minute, [0, 0, 0])
            counts[0] += 1
            if outcome == "rate_limited":
                counts[1] += 1
                entry["last_rate_limited_at"] = now
                entry["last_retry_after_s"] = retry_after_s
            elif outcome == "error":
                counts[2] += 1
            entry["last_call_at"] = now
            oldest = int(now // 60) - CALL_LOG_MINUTES
            for key in [m for m in entry["minutes"] if int(m) <= oldest]:
                del entry["minutes"][key]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """A JSON-ready copy: ``{api: {"minutes": {epoch_minute: [calls, rate_limited,
        errors]}, "last_call_at", "last_rate_limited_at", "last_retry_after_s"}}``."""
        with self._lock:
            return {api: {**entry, "minutes": {m: list(c) for m, c in entry["minutes"].items()}}
                    for api, entry in self._apis.items()}


#: This process's log.
API_CALLS = ApiCallLog()


def record_api_call(api: str, outcome: ApiOutcome, retry_after_s: float | None = None) -> None:
    """Count one attempt at an outside API in this process's :data:`API_CALLS`."""
    API_CALLS.record(api, outcome, retry_after_s)
