"""``/api/v1/chat``: parse, authorise, call one service method, return a schema.

Conversations are the caller's own: anyone else's answer 404. Both message routes store
the question and the answer in the request's transaction, which ``SessionDep`` commits
before the response starts (see ``api.deps``), so a stream replays stored messages.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import StreamingResponse

from infra_mind.api.assessments import MAX_OFFSET
from infra_mind.api.deps import error_responses, service_dependencies
from infra_mind.api.schemas.chat import (
    ConversationCreate,
    ConversationPage,
    ConversationRead,
    ConversationSummary,
    ExchangeRead,
    MessageCreate,
    MessageRead,
)
from infra_mind.api.sse import event, event_stream, event_stream_responses
from infra_mind.services.chat import ChatService, Exchange

#: Words per ``delta`` event of a streamed answer.
WORDS_PER_DELTA = 8

router = APIRouter(prefix="/api/v1/chat", tags=["chat"])


_errors = error_responses({401: "Not authenticated",
                          404: "No such conversation of yours (or, on create, no such "
                               "assessment in your organizations)",
                          409: "The conversation holds its limit of messages",
                          422: "Invalid request", 429: "Too many changes; see Retry-After"})


reader, writer = service_dependencies(ChatService)
Reader = Annotated[ChatService, Depends(reader)]
Writer = Annotated[ChatService, Depends(writer)]


@router.post("/conversations", status_code=status.HTTP_201_CREATED,
             response_model=ConversationSummary, responses=_errors(401, 404, 422, 429))
async def create_conversation(body: ConversationCreate, service: Writer) -> Any:
    """Start a conversation, about an assessment you can read (any role) or none."""
    return await service.create(assessment_id=body.assessment_id, title=body.title)


@router.get("/conversations", response_model=ConversationPage, responses=_errors(401, 422))
async def list_conversations(service: Reader,
                             limit: Annotated[int, Query(ge=1, le=100)] = 20,
                             offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
                             ) -> ConversationPage:
    """Your conversations, most recently active first."""
    items, total = await service.page(limit=limit, offset=offset)
    return ConversationPage(items=[ConversationSummary.model_validate(c) for c in items],
                            total=total, limit=limit, offset=offset)


@router.get("/conversations/{conversation_id}", response_model=ConversationRead,
            responses=_errors(401, 404))
async def get_conversation(conversation_id: str, service: Reader) -> ConversationRead:
    """One of your conversations with its messages, oldest first."""
    conversation, messages = await service.get(conversation_id)
    return ConversationRead(**ConversationSummary.model_validate(conversation).model_dump(),
                            messages=[MessageRead.model_validate(m) for m in messages])


@router.delete("/conversations/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=_errors(401, 404, 429))
async def delete_conversation(conversation_id: str, service: Writer) -> Response:
    await service.delete(conversation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/conversations/{conversation_id}/messages", status_code=status.HTTP_201_CREATED,
             response_model=ExchangeRead, responses=_errors(401, 404, 409, 422, 429))
async def post_message(conversation_id: str, body: MessageCreate,
                       service: Writer) -> ExchangeRead:
    """Ask a question; answers with the stored question and answer. The answer stands on
    your assessment's latest result and the knowledge base, and cites what it used."""
    return _exchange(await service.ask(conversation_id, body.content))


@router.post("/conversations/{conversation_id}/messages/stream", response_class=StreamingResponse,
             responses=event_stream_responses(
                 "`event: message` (the stored question), `event: delta` {text} chunks of "
                 "the answer, `event: done` (the stored answer, citations included); "
                 "`event: error` {detail} on failure",
                 _errors(401, 404, 409, 422, 429)))
async def stream_message(conversation_id: str, body: MessageCreate,
                         service: Writer) -> StreamingResponse:
    """Ask a question; the answer comes as server-sent events.

    The answer is complete, number-checked and stored before the first event: a model's
    text is checked as a whole (and replaced by the offline answer if it fails), so
    nothing unchecked is ever sent. The stream then sends the checked text in groups of
    words. Errors found before the stream starts (404, 409, 422, 429) are plain HTTP
    errors.
    """
    exchange = _exchange(await service.ask(conversation_id, body.content))
    return event_stream(_sse(exchange))


def _exchange(exchange: Exchange) -> ExchangeRead:
    return ExchangeRead(user_message=MessageRead.model_validate(exchange.user_message),
                        assistant_message=MessageRead.model_validate(exchange.assistant_message))


def word_groups(text: str, size: int = WORDS_PER_DELTA) -> list[str]:
    """``text`` in chunks of ``size`` words, whitespace kept: the chunks join to ``text``."""
    words = re.findall(r"\s*\S+\s*", text) or ([text] if text else [])
    return ["".join(words[i:i + size]) for i in range(0, len(words), size)]


async def _sse(exchange: ExchangeRead) -> AsyncIterator[str]:
    try:
        yield event("message", exchange.user_message.model_dump(mode="json"))
        for chunk in word_groups(exchange.assistant_message.content):
            yield event("delta", {"text": chunk})
        yield event("done", exchange.assistant_message.model_dump(mode="json"))
    except Exception:  # the stream has started: the status can no longer say it
        yield event("error", {"detail": "the answer could not be sent; it is stored in "
                                        "the conversation"})
