"""Chat use cases: start, list, read and delete conversations; ask a question.

Rules live here. A conversation belongs to the user who started it: only they see it,
post to it or delete it; anyone else gets "conversation not found", never "forbidden".
A conversation about an assessment needs the caller to be able to read it (the
assessments' own rule: a member of its organization, any role), checked when it starts
and again at every question, so a user removed from the organization stops getting
its figures. Answers use the assessment's latest stored result.

A question about an organization's assessment goes to the models in the order its runs
use: the organization's own key for a provider first (``organization_secrets``, decrypted
here for the one question and never logged), the server's next, then the next provider;
offline last. Only a caller who can still read the assessment spends the organization's
keys.

No FastAPI, no commits: the caller owns the transaction. A question's reads and the
answer (which may call a model) come first; its writes come last, so the database's
write lock is held for milliseconds, not for the model's answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.agents.provider_keys import OrganizationKeys, organization_keys
from infra_mind.chat.answer import Answer, Completer, answer
from infra_mind.chat.grounding import FactDoc
from infra_mind.chat.whatif import asked_what_if, what_if_fact
from infra_mind.kit.crypto import EncryptionUnavailable, keyring_of
from infra_mind.kit.errors import Conflict, DomainError, NotFound
from infra_mind.kit.platform import Platform
from infra_mind.kit.slots import Slot
from infra_mind.knowledge import KnowledgeBase, default_knowledge_base
from infra_mind.models import ChatMessage, Conversation, utcnow
from infra_mind.repositories.chat import ChatRepository
from infra_mind.repositories.organizations import OrganizationSecretRepository
from infra_mind.services import audit
from infra_mind.services.assessments import Actor, AssessmentService

#: Messages (questions and answers together) one conversation holds.
MAX_MESSAGES = 200
MAX_CONTENT_CHARS = 4_000
MAX_TITLE_CHARS = 200
#: Earlier messages given to a model with a question.
HISTORY_MESSAGES = 6
#: The platform's model hook (a ``chat.answer.Completer``; None: offline). Absent, the
#: first question builds it with the callable under ``COMPLETER_FACTORY_KEY`` (the API
#: sets one at start-up when a provider is configured: the agents' runtime it comes from
#: loads LangGraph, which a process answering offline never needs); with neither, the
#: answers are offline.
COMPLETER_KEY: Slot[Completer | None] = Slot("chat_completer")
COMPLETER_FACTORY_KEY: Slot[Callable[[], Completer | None]] = Slot("chat_completer_factory")
#: The model hook for a question about an organization's assessment (set by the API at
#: start-up).
KEYED_COMPLETER_FACTORY_KEY: Slot[Callable[[OrganizationKeys], Completer | None]] = Slot(
    "chat_completer_for_organization")

NO_RESULT = ("This assessment has no result yet (run it first), so this answer uses the "
             "knowledge base only.")
NOT_READABLE = ("You can no longer read this conversation's assessment, so this answer "
                "uses the knowledge base only.")


@dataclass(frozen=True)
class Exchange:
    user_message: ChatMessage
    assistant_message: ChatMessage


class ChatService:
    """Use cases for one actor, in the caller's session (transaction)."""

    def __init__(self, session: AsyncSession, actor: Actor, platform: Platform,
                 kb: KnowledgeBase | None = None) -> None:
        self.session = session
        self.actor = actor
        self.platform = platform
        self.repo = ChatRepository(session, actor.id)
        self.assessments = AssessmentService(session, actor, platform)
        self._kb = kb

    # -- rules -------------------------------------------------------------------------

    async def count_write(self) -> None:
        """One change by this user, against the same limit as every other write (429)."""
        await self.assessments.count_write()

    @property
    def kb(self) -> KnowledgeBase:
        return self._kb if self._kb is not None else default_knowledge_base()

    @property
    def completer(self) -> Completer | None:
        platform = self.platform
        if COMPLETER_KEY not in platform:
            factory = platform.get(COMPLETER_FACTORY_KEY)
            if factory is None:
                return None
            platform[COMPLETER_KEY] = factory()  # no await before this: built once
        return platform[COMPLETER_KEY]

    async def _completer_for(self, conversation: Conversation, readable: bool
                             ) -> Completer | None:
        """The model hook for a question in ``conversation``: through the organization's
        own keys first when it is about an assessment the caller can read, else the
        server's (``completer``)."""
        factory = self.platform.get(KEYED_COMPLETER_FACTORY_KEY)
        organization_id = conversation.organization_id
        if factory is None or organization_id is None or not readable:
            return self.completer
        ciphertexts = await OrganizationSecretRepository(self.session,
                                                         organization_id).ciphertexts()
        keys = OrganizationKeys(organization_id, {})
        # without ENCRYPTION_KEY nothing stored can be read: the server's keys answer
        with contextlib.suppress(EncryptionUnavailable):
            if ciphertexts:
                keys = organization_keys(organization_id, ciphertexts,
                                         keyring_of(self.platform))
        return factory(keys) if keys else self.completer

    async def _own(self, conversation_id: str) -> Conversation:
        conversation = await self.repo.get(conversation_id)
        if conversation is None:
            raise NotFound("conversation not found")
        return conversation

    def _audit(self, action: str, conversation: Conversation, **detail: Any) -> None:
        audit.record(self.session, action=action, actor_id=self.actor.id,
                     organization_id=conversation.organization_id,
                     object_type="conversation", object_id=conversation.id,
                     client_address=self.actor.client_address, detail=detail or None)

    async def _grounding(self, conversation: Conversation) -> tuple[dict[str, Any] | None, str]:
        """The result to answer from, or None with a notice saying why there is none."""
        if conversation.assessment_id is None:
            return None, ""
        try:
            await self.assessments.get(conversation.assessment_id)
        except NotFound:
            return None, NOT_READABLE
        try:
            doc = await self.assessments.latest_result(conversation.assessment_id)
        except NotFound:
            return None, NO_RESULT
        return doc["result"], ""

    # -- conversations -------------------------------------------------------------------

    async def create(self, *, assessment_id: str | None, title: str | None) -> Conversation:
        """Start a conversation, about ``assessment_id`` when given (404 when the caller
        cannot read it). The default title names the assessment."""
        organization_id = None
        default_title = "New conversation"
        if assessment_id is not None:
            assessment = await self.assessments.get(assessment_id)
            organization_id = assessment.organization_id
            default_title = f"About {assessment.title}"[:MAX_TITLE_CHARS]
        now = utcnow()
        conversation = self.repo.add(Conversation(
            user_id=self.actor.id, organization_id=organization_id,
            assessment_id=assessment_id, title=title or default_title, created_at=now,
            updated_at=now))
        await self.session.flush()
        self._audit("conversation.created", conversation, assessment_id=assessment_id)
        return conversation

    async def page(self, *, limit: int, offset: int) -> tuple[list[Conversation], int]:
        items, total = await self.repo.page(limit=limit, offset=offset)
        return list(items), total

    async def get(self, conversation_id: str) -> tuple[Conversation, list[ChatMessage]]:
        """The conversation and its messages, oldest first."""
        conversation = await self._own(conversation_id)
        return conversation, await self.repo.messages(conversation_id)

    async def delete(self, conversation_id: str) -> None:
        conversation = await self._own(conversation_id)
        self._audit("conversation.deleted", conversation,
                    assessment_id=conversation.assessment_id)
        await self.repo.delete(conversation_id)

    # -- questions -----------------------------------------------------------------------

    async def ask(self, conversation_id: str, content: str) -> Exchange:
        """Answer ``content`` and store both messages (409 once the conversation holds
        ``MAX_MESSAGES``)."""
        conversation = await self._own(conversation_id)
        self._require_room(await self.repo.count_messages(conversation_id))
        asked_at = utcnow()
        history = [(m.role, m.content)
                   for m in await self.repo.messages(conversation_id, last=HISTORY_MESSAGES)]
        result, notice = await self._grounding(conversation)
        completer = await self._completer_for(conversation, readable=notice != NOT_READABLE)
        lead, not_run = await self._what_if(conversation.assessment_id, content, result)
        reply = await answer(content, result=result, kb=self.kb, history=history,
                             completer=completer, notice=notice or not_run, lead=lead)
        # the writes, last: the UPDATE locks the conversation (PostgreSQL), so a
        # concurrent question to it is counted after this one commits
        if not await self.repo.touch(conversation_id, utcnow()):
            raise NotFound("conversation not found")
        self._require_room(await self.repo.count_messages(conversation_id))
        question = await self.repo.add_message(ChatMessage(
            conversation_id=conversation_id, role="user", content=content, citations=[],
            author="user", note="", created_at=asked_at))
        return Exchange(question, await self._store_answer(conversation_id, reply, asked_at))

    async def _what_if(self, assessment_id: str | None, question: str,
                       result: dict[str, Any] | None) -> tuple[FactDoc | None, str]:
        """The what-if ``question`` asks ("what if traffic doubles?", "what if we need
        HIPAA?"), run by the engine on the assessment's requirements as
        ``POST /assessments/{id}/what-if`` runs it (one at a time per user; nothing saved),
        as the fact the answer leads with; or None and why it was not run. The engine's
        figures, not the stored result's, answer it."""
        if result is None or assessment_id is None:
            return None, ""
        asked = asked_what_if(question, result.get("requirements") or {})
        if asked is None:
            return None, ""
        try:
            # against the engine's own "before": the stored result where the requirements
            # are still the ones it was computed from, else a fresh assessment of them
            before, after = await self.assessments.what_if_results(assessment_id,
                                                                   asked.changes)
        except DomainError as exc:  # another what-if of the user's, a busy engine
            return None, (f"The what-if ({asked.label}) was not run ({exc.message}); this "
                          "answer uses the stored result.")
        return what_if_fact(asked, before, after), ""

    def _require_room(self, count: int) -> None:
        if count + 2 > MAX_MESSAGES:
            raise Conflict(f"this conversation holds its limit of {MAX_MESSAGES} messages; "
                           f"start a new one")

    async def _store_answer(self, conversation_id: str, reply: Answer,
                            asked_at: datetime) -> ChatMessage:
        # strictly after the question, so "oldest first" never swaps the two
        answered_at = max(utcnow(), asked_at + timedelta(microseconds=1))
        return await self.repo.add_message(ChatMessage(
            conversation_id=conversation_id, role="assistant", content=reply.markdown,
            citations=[c.as_json() for c in reply.citations], author=reply.author,
            note=reply.note, created_at=answered_at))
