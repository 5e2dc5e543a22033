"""Server-sent event streams, as every streaming route sends and documents them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi.responses import StreamingResponse

MEDIA_TYPE = "text/event-stream"


def event(name: str, data: Any) -> str:
    """One event: its name and its data as JSON."""
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    """The response that sends ``events``: never cached, never buffered by a proxy
    (nginx's ``X-Accel-Buffering``), so each event reaches the client when sent."""
    return StreamingResponse(events, media_type=MEDIA_TYPE,
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def event_stream_responses(description: str,
                           others: Mapping[int | str, Any]) -> dict[int | str, Any]:
    """A streaming route's ``responses``: 200 is the event stream ``description`` tells
    of, then ``others`` (its errors)."""
    return {200: {"content": {MEDIA_TYPE: {}}, "description": description}, **others}
