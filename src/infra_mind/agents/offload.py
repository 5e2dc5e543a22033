"""Where a run's pure steps are computed, and how its progress is reported: the types
``agents.graph`` and ``agents.runtime`` share, without LangGraph.

A runtime that only answers chat questions (an API process) imports this, not the
graph: LangGraph with LangChain and LangSmith (some 36 MiB and 700 modules) loads with
the first run a process executes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

#: Called with (agent, "started" | "finished") as agents start and finish.
Progress = Callable[[str, str], Awaitable[None]]
#: ``offload(fn, *args)``: ``fn(*args)`` computed away from the event loop (a pure
#: function; arguments and result pickle). ``kit.compute.EngineBudget.run`` is one.
Offload = Callable[..., Awaitable[Any]]


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """The default offload: a thread of this process (the CLI and library callers; it
    shares the GIL, so a process serving requests uses engine processes instead)."""
    return await asyncio.to_thread(fn, *args)
