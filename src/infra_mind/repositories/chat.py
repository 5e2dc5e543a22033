"""Every query on chat conversations and their messages.

``ChatRepository`` is built for one user and every statement it runs carries that
owner filter: another user's conversation, or its messages, is simply not there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from infra_mind.models import ChatMessage, Conversation


class ChatRepository:
    """Conversations of ``user_id`` only (the owner filter is in every query)."""

    def __init__(self, session: AsyncSession, user_id: str) -> None:
        self.session = session
        self.user_id = user_id

    def add(self, conversation: Conversation) -> Conversation:
        if conversation.user_id != self.user_id:
            raise ValueError("conversation of another user")
        self.session.add(conversation)
        return conversation

    async def get(self, conversation_id: str) -> Conversation | None:
        row = await self.session.execute(
            select(Conversation).where(Conversation.id == conversation_id,
                                       Conversation.user_id == self.user_id))
        return row.scalar_one_or_none()

    async def page(self, *, limit: int, offset: int) -> tuple[Sequence[Conversation], int]:
        """Most recently active first (the ``user_id, updated_at`` index), and the total."""
        mine = Conversation.user_id == self.user_id
        total = await self.session.scalar(select(func.count()).select_from(Conversation)
                                          .where(mine))
        rows = await self.session.execute(
            select(Conversation).where(mine)
            .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
            .limit(limit).offset(offset))
        return rows.scalars().all(), int(total or 0)

    async def delete(self, conversation_id: str) -> bool:
        """The conversation and, by the foreign key's cascade, its messages."""
        result = await self.session.execute(
            delete(Conversation).where(Conversation.id == conversation_id,
                                       Conversation.user_id == self.user_id)
            .execution_options(synchronize_session=False))
        return result.rowcount == 1

    async def touch(self, conversation_id: str, now: datetime) -> bool:
        """Mark the conversation active at ``now``. On PostgreSQL the UPDATE also locks
        its row to the end of the transaction, so two posts to one conversation count
        its messages one after the other."""
        result = await self.session.execute(
            update(Conversation).where(Conversation.id == conversation_id,
                                       Conversation.user_id == self.user_id)
            .values(updated_at=now).execution_options(synchronize_session=False))
        return result.rowcount == 1

    async def messages(self, conversation_id: str, *, last: int | None = None
                       ) -> list[ChatMessage]:
        """The conversation's messages, oldest first (only the ``last`` ones if given)."""
        query = (select(ChatMessage)
                 .join(Conversation, Conversation.id == ChatMessage.conversation_id)
                 .where(ChatMessage.conversation_id == conversation_id,
                        Conversation.user_id == self.user_id))
        if last is None:
            rows = await self.session.execute(
                query.order_by(ChatMessage.created_at, ChatMessage.id))
            return list(rows.scalars().all())
        rows = await self.session.execute(
            query.order_by(ChatMessage.created_at.desc(), ChatMessage.id.desc()).limit(last))
        return list(reversed(rows.scalars().all()))

    async def count_messages(self, conversation_id: str) -> int:
        total = await self.session.scalar(
            select(func.count()).select_from(ChatMessage)
            .join(Conversation, Conversation.id == ChatMessage.conversation_id)
            .where(ChatMessage.conversation_id == conversation_id,
                   Conversation.user_id == self.user_id))
        return int(total or 0)

    async def add_message(self, message: ChatMessage) -> ChatMessage:
        """Store a message of one of this user's conversations (checked by the caller)."""
        self.session.add(message)
        await self.session.flush()
        return message
