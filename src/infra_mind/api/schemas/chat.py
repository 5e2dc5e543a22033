"""Request and response bodies of ``/api/v1/chat``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from infra_mind.api.schemas.assessments import UTCDateTime
from infra_mind.api.schemas.text import NOT_BLANK, PublishedPattern
from infra_mind.services.chat import MAX_CONTENT_CHARS, MAX_TITLE_CHARS

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                         max_length=MAX_TITLE_CHARS),
                  PublishedPattern(NOT_BLANK)]
Content = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=MAX_CONTENT_CHARS),
                    PublishedPattern(NOT_BLANK)]


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assessment_id: str | None = Field(
        None, max_length=36, description="An assessment you can read; answers use its "
                                         "latest result. None: the knowledge base only")
    title: Title | None = Field(None, description='Default: "About <assessment title>"')


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Content


class CitationRead(BaseModel):
    kind: Literal["fact", "article"]
    id: str = Field(description='A fact of the result (e.g. "option:azure:eastus") or a '
                                "knowledge-base article")
    title: str
    url: str | None = Field(None, description="The article's first source")


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    conversation_id: str
    role: Literal["user", "assistant"]
    content: str = Field(description="Markdown")
    citations: list[CitationRead] = Field(description="What the answer was built from")
    author: str = Field(description='"user", "offline" or "<provider>/<model>"')
    note: str = Field(description="Why the offline writer answered although a model is "
                                  "configured; empty otherwise")
    created_at: UTCDateTime


class ConversationSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    assessment_id: str | None
    organization_id: str | None
    created_at: UTCDateTime
    updated_at: UTCDateTime


class ConversationRead(ConversationSummary):
    messages: list[MessageRead] = Field(description="Oldest first")


class ConversationPage(BaseModel):
    items: list[ConversationSummary]
    total: int
    limit: int
    offset: int


class ExchangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_message: MessageRead
    assistant_message: MessageRead
