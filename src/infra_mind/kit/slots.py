"""``Slot``: the typed key of one thing a process keeps on its ``Platform`` (its own module,
light: the code that declares a slot need not import the platform's database stack)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Slot(Generic[T]):
    """The typed key of one thing a process builds once and keeps on its platform, declared
    beside the code that owns it (``kit.crypto.KEYRING``, ``services.chat.COMPLETER``):
    ``platform[slot]`` has the slot's type, and the platform, below them, need not know
    the types of the layers above."""

    name: str
