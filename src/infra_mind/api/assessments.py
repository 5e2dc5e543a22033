"""``/api/v1/assessments``: parse, authorise, call one service method, return a schema.

Transactions. ``SessionDep`` commits as soon as the endpoint returns, before the
response starts (see ``api.deps``), so a BackgroundTasks callback, which runs after the
response, always finds the change committed: that is where ``assessment.run`` is
enqueued, so a worker never looks for a ``queued`` row that is not there yet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, get_args

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Depends,
    Header,
    Query,
    Request,
    Response,
    status,
)
from fastapi.responses import StreamingResponse

from infra_mind.api.deps import (
    PlatformDep,
    Principal,
    SessionDep,
    error_responses,
    service_dependencies,
    service_with,
)
from infra_mind.api.direct import DirectRoute, direct
from infra_mind.api.openapi import RETRY_AFTER
from infra_mind.api.schemas.assessments import (
    AssessmentCreate,
    AssessmentPage,
    AssessmentRead,
    AssessmentUpdate,
    ErrorBody,
    ResultRead,
    RunAccepted,
    Status,
    WhatIf,
    WhatIfRead,
    json_type_problems,
)
from infra_mind.api.sse import event, event_stream, event_stream_responses
from infra_mind.kit.errors import Invalid
from infra_mind.reports.formats import HTML_CSP, MEDIA_TYPES, ReportFormat, ReportKind
from infra_mind.services.assessments import AssessmentService, page_keys, result_keys
from infra_mind.worker.tasks import enqueue_run

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from infra_mind.kit.platform import Platform
    from infra_mind.kit.security import TokenClaims

HEARTBEAT_S = 15.0
#: Far past any real list, and inside the 64-bit integers both databases take.
MAX_OFFSET = 1_000_000_000
#: A page's length when the request names none, and the longest it may ask for.
PAGE_LIMIT = 20
PAGE_LIMIT_MAX = 100

#: A result is per user (authenticated): a browser may keep it, a shared cache may not, and
#: either asks again each time (a 304 when it has not changed).
RESULT_CACHE_CONTROL = "private, no-cache"

router = APIRouter(prefix="/api/v1/assessments", tags=["assessments"], route_class=DirectRoute)

_errors = error_responses({401: "Not authenticated", 403: "Not allowed (viewers cannot change)",
                          404: "No such assessment in your organizations", 409: "Conflicting state",
                          422: "Invalid request or requirements", 429: "Too many changes; see "
                          "Retry-After"})


reader, writer = service_dependencies(AssessmentService)
Reader = Annotated[AssessmentService, Depends(reader)]
Writer = Annotated[AssessmentService, Depends(writer)]


# The two hot reads first: FastAPI tries routes in order, and each one tried costs. Both
# are answered directly (``api.direct``): FastAPI's resolving of their parameters cost
# more than their own work.

#: The list's query parameters a direct answer takes as they are; anything else goes to
#: FastAPI, whose validation answers it.
_STATUSES = frozenset(get_args(Status))


def _page_query(request: Request) -> tuple[str | None, int, int] | None:
    """The list's (status, limit, offset), defaults filled in, when each parameter is
    plainly valid (ASCII digits in range, a known status, none twice, nothing else);
    None: let FastAPI read (and judge) them."""
    if not request.scope.get("query_string"):
        return None, PAGE_LIMIT, 0
    pairs = request.query_params.multi_items()
    query = dict(pairs)
    if len(query) != len(pairs) or not query.keys() <= {"status", "limit", "offset"}:
        return None
    status_filter = query.get("status")
    if status_filter is not None and status_filter not in _STATUSES:
        return None
    numbers = []
    for name, default, low, high in (("limit", PAGE_LIMIT, 1, PAGE_LIMIT_MAX),
                                     ("offset", 0, 0, MAX_OFFSET)):
        text = query.get(name)
        if text is None:
            numbers.append(default)
        elif text.isascii() and text.isdigit() and len(text) <= 10 \
                and low <= int(text) <= high:
            numbers.append(int(text))
        else:
            return None
    return status_filter, numbers[0], numbers[1]


def _reading(db: AsyncSession, principal: Principal, platform: Platform
             ) -> AssessmentService:
    """The reader's service, with what the request's first cache read took along."""
    return AssessmentService(db, principal, platform, read_ahead=principal.read_ahead)


async def _list_directly(request: Request) -> Response | None:
    query = _page_query(request)
    if query is None:
        return None

    def ahead(claims: TokenClaims, roles: Mapping[str, str] | None) -> Sequence[str]:
        # the keys of this page for the roles last seen: taken only if they are still
        # the user's (``assessment_cache.cached_list``)
        return page_keys(roles, query) if roles else ()

    return await list_assessments(await service_with(_reading, request, ahead), *query)


async def _result_directly(request: Request) -> Response:
    assessment_id = request.path_params["assessment_id"]

    def ahead(claims: TokenClaims, roles: Mapping[str, str] | None) -> Sequence[str]:
        return result_keys(assessment_id)

    service = await service_with(_reading, request, ahead)
    return await latest_result(assessment_id, service, request)


@router.get("", response_model=AssessmentPage, responses=_errors(401, 422))
@direct(_list_directly)
async def list_assessments(service: Reader,
                           status_filter: Annotated[Status | None, Query(alias="status")] = None,
                           limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT,
                           offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                           ) -> Response:
    """Assessments of your organizations, newest first."""

    def render(items: list[dict[str, Any]], total: int) -> bytes:
        # validated once here and written once: returned as a model, FastAPI would
        # validate it again against ``response_model`` before serialising it
        return AssessmentPage.model_validate({"items": items, "total": total, "limit": limit,
                                              "offset": offset}).model_dump_json().encode()

    body = await service.page_json(status=status_filter, limit=limit, offset=offset,
                                   render=render)
    return Response(body, media_type="application/json")


@router.get("/{assessment_id}/result", response_model=ResultRead,
            responses=_errors(401, 404))
@direct(_result_directly)
async def latest_result(assessment_id: str, service: Reader, request: Request) -> Response:
    """The latest result (404 "no result yet" before the first run completes)."""
    # Served as written when first read (the bytes of ``ResultRead``), with a strong ETag;
    # an If-None-Match that names it is answered 304. Neither header is in the OpenAPI
    # document yet: the web app's API types are generated from it (web/openapi.json).
    document = await service.latest_result_json(assessment_id)
    headers = {"ETag": document.etag, "Cache-Control": RESULT_CACHE_CONTROL}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and etag_matches(if_none_match, document.etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(document.body, media_type="application/json", headers=headers)


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag``: ``*``, or a list of entity tags
    compared weakly, as RFC 9110 13.1.2 has it (``W/"x"`` matches ``"x"``)."""
    if if_none_match.strip() == "*":
        return True
    return any(candidate.strip().removeprefix("W/") == etag
               for candidate in if_none_match.split(","))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AssessmentRead,
             responses=_errors(401, 403, 404, 422, 429))
async def create_assessment(body: AssessmentCreate, service: Writer) -> Any:
    """Create a draft assessment; the requirements are validated now (422 names paths)."""
    _refuse_json_types(body.requirements)
    return await service.create(title=body.title, requirements=body.requirements,
                                organization_id=body.organization_id)


@router.get("/{assessment_id}", response_model=AssessmentRead, responses=_errors(401, 404))
async def get_assessment(assessment_id: str, service: Reader) -> Any:
    return await service.get(assessment_id)


@router.patch("/{assessment_id}", response_model=AssessmentRead,
              responses=_errors(401, 403, 404, 409, 422, 429))
async def update_assessment(assessment_id: str, body: AssessmentUpdate,
                            service: Writer) -> Any:
    """Change the title or requirements (not while a run is queued or running: 409)."""
    if body.requirements is not None:
        _refuse_json_types(body.requirements)
    return await service.update(assessment_id, title=body.title,
                                requirements=body.requirements)


def _refuse_json_types(requirements: dict[str, Any]) -> None:
    """422 "invalid requirements", as the service says it, for a value of the wrong JSON
    type (``json_type_problems``)."""
    if problems := json_type_problems(requirements):
        raise Invalid("invalid requirements", problems)


@router.delete("/{assessment_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=_errors(401, 403, 404, 429))
async def delete_assessment(assessment_id: str, service: Writer) -> Response:
    """Delete (organization owners and admins, or the assessment's owner)."""
    await service.delete(assessment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{assessment_id}/run", status_code=status.HTTP_202_ACCEPTED,
             response_model=RunAccepted, responses=_errors(401, 403, 404, 409, 429))
async def request_run(assessment_id: str, service: Writer, background: BackgroundTasks,
                         response: Response,
                         # printable ASCII, as the IETF draft has it; an empty key names
                         # no request and would be stored and matched like any other
                         idempotency_key: Annotated[str | None, Header(
                             min_length=1, max_length=200, pattern=r"^[ -~]+$",
                             description="Printable ASCII, 1 to 200 characters")] = None,
                         ) -> RunAccepted:
    """Queue a run. The same ``Idempotency-Key`` answers with the same run; the same
    requirements already queued or running answer with that run."""
    requested = await service.request_run(assessment_id, idempotency_key)
    if requested.enqueue:
        # runs after the response, hence after SessionDep committed (module docstring)
        background.add_task(enqueue_run, requested.assessment.id)
    if requested.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return RunAccepted(assessment=AssessmentRead.model_validate(requested.assessment))


@router.post("/{assessment_id}/cancel", response_model=AssessmentRead,
             responses=_errors(401, 403, 404, 409, 429))
async def cancel_assessment(assessment_id: str, service: Writer) -> Any:
    """Cancel a queued or running run; the worker notices and writes nothing more."""
    return await service.cancel(assessment_id)


@router.get("/{assessment_id}/reports/{kind}", response_class=Response,
            responses={200: {"content": {media: {} for media in MEDIA_TYPES.values()},
                             "description": "The report of the latest result: Markdown "
                                            "(default), one self-contained HTML document, "
                                            "or JSON sections with tables of numbers"},
                       **_errors(401, 404, 422)})
async def assessment_report(
        assessment_id: str, kind: ReportKind, service: Reader, platform: PlatformDep,
        report_format: Annotated[ReportFormat, Query(alias="format")] = ReportFormat.MD,
) -> Response:
    """The executive, technical or compliance report of the latest result (404 "no result
    yet" before the first run completes). Every figure is the result's."""
    # here, not at module level: the renderers (markdown-it) load with the first report
    from infra_mind.reports.render import render_report, report_filename

    latest = await service.latest_result(assessment_id)
    counter = platform.metrics.reports
    try:
        text = await asyncio.to_thread(render_report, latest["result"], kind, report_format)
    except Exception:
        counter.labels(kind=kind.value, format=report_format.value, status="error").inc()
        raise
    counter.labels(kind=kind.value, format=report_format.value, status="ok").inc()
    filename = report_filename(latest["result"], kind, report_format)
    headers = {"Content-Disposition": f'inline; filename="{filename}"'}
    if report_format is ReportFormat.HTML:
        headers["Content-Security-Policy"] = HTML_CSP  # a served report loads nothing
    return Response(text, media_type=MEDIA_TYPES[report_format], headers=headers)


@router.get("/{assessment_id}/events", response_class=StreamingResponse,
            responses=event_stream_responses(
                "`event: status` with JSON {status, progress, current_step, error}: now, "
                "then on each change while a run is queued or running; ends with the run "
                "(at once if there is none)",
                {**_errors(401, 404),
                 429: {"model": ErrorBody, "description": "Too many open event streams for "
                       "this user; see Retry-After"}}))
async def assessment_events(assessment_id: str, service: Reader,
                            db: SessionDep) -> StreamingResponse:
    """Server-sent events of the assessment's status. A user has at most
    ``EVENT_STREAMS_PER_USER`` streams open at once (429 with Retry-After past that)."""
    changes = await service.watch(assessment_id)
    # changes are pushed to the stream (its safety re-reads use their own sessions): give
    # the request's connection back now rather than hold it (and, on SQLite, a read
    # snapshot) for the stream's life
    await db.close()
    return event_stream(_sse(changes))


async def _sse(changes: AsyncIterator[dict[str, Any] | None]) -> AsyncIterator[str]:
    last_sent = time.monotonic()
    async for change in changes:
        now = time.monotonic()
        if change is not None:
            last_sent = now
            yield event("status", change)
        elif now - last_sent >= HEARTBEAT_S:
            last_sent = now
            yield ": heartbeat\n\n"


@router.post("/{assessment_id}/what-if", response_model=WhatIfRead,
             responses={**_errors(401, 404, 422, 429),
                        503: {"model": ErrorBody, "description": "The engine is busy with "
                              "other requests; see Retry-After", "headers": RETRY_AFTER}})
async def what_if(assessment_id: str, body: WhatIf, service: Writer) -> WhatIfRead:
    """Assess the stored requirements with some changes, now; nothing is saved.
    Viewers may ask (it changes nothing); it counts against the rate limit (it costs).
    One at a time per user (429); past the engine's capacity, 503 (both: Retry-After)."""
    result, differences = await service.what_if(
        assessment_id, body.model_dump(mode="json", exclude_none=True))
    return WhatIfRead(result=result, differences=differences)  # type: ignore[arg-type]
