"""Direct handlers for the hottest reads: FastAPI declares the route, we answer it.

A cached read does little work of its own (a token check, one or two cache lookups, the
stored bytes), and FastAPI's resolving of a route's parameters and dependencies cost about
a fifth of its CPU: more than authenticating it. A route of ``DirectRoute`` whose endpoint
was marked with ``@direct(handler)`` is answered by ``handler(request)`` instead; every
other route of the router is FastAPI's as usual.

What stays FastAPI's: the route, its matching, its OpenAPI entry (from the endpoint as
declared, so the document does not change), the exit stacks ``api.deps.session`` uses and
the exception handlers (``request_response`` wraps the handler as it wraps its own).
What the handler must do the same way: it calls the same dependency functions and the
same endpoint, and it hands a request it does not fully understand (``handler`` returns
None: say, a query parameter it would have to validate) to FastAPI's own handler, so a
422 is FastAPI's, word for word. tests/api/test_direct_routes.py holds both paths to the
same answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import Request, Response
from fastapi.routing import APIRoute

#: ``handler(request)``: the response, or None to let FastAPI's handler answer.
DirectHandler = Callable[[Request], Awaitable[Response | None]]

_DIRECT = "__infra_mind_direct__"
#: ``app.state.<this> = True``: every route answered by FastAPI (the tests compare both).
FASTAPI_ONLY = "fastapi_only"
_F = TypeVar("_F", bound=Callable[..., Any])


def direct(handler: DirectHandler) -> Callable[[_F], _F]:
    """Mark an endpoint to be answered by ``handler`` on a ``DirectRoute`` router."""
    def mark(endpoint: _F) -> _F:
        setattr(endpoint, _DIRECT, handler)
        return endpoint

    return mark


class DirectRoute(APIRoute):
    """An ``APIRoute`` whose marked endpoints are answered by their direct handler."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        fastapi_handler = super().get_route_handler()
        handler: DirectHandler | None = getattr(self.endpoint, _DIRECT, None)
        if handler is None:
            return fastapi_handler

        async def answer(request: Request) -> Response:
            if not getattr(request.app.state, FASTAPI_ONLY, False):
                response = await handler(request)
                if response is not None:
                    return response
            return await fastapi_handler(request)

        return answer
