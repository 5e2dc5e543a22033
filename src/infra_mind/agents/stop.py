"""``StopRun``, kept apart from ``agents.graph`` so code that only names it (the worker's
tasks, imported by every API process) does not import LangGraph with it."""


class StopRun(Exception):
    """Raised (by a progress callback, say) to stop the run at once: never retried."""
