"""Fixtures for the provider tests: fake vendors (``tests/fake_llm.py``) and a clock, sleep
and retry policy that never really wait."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from infra_mind.kit.retry import RetryPolicy
from tests.fake_llm import serve_fake


@pytest.fixture
def openai_server():
    with serve_fake() as fake:
        yield fake


@pytest.fixture
def anthropic_server():
    with serve_fake() as fake:
        yield fake


class FakeClock:
    """Monotonic and wall time that only moves when told to (or when fake sleep runs)."""

    def __init__(self, start: float = 1_764_331_200.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass
class SleepRecorder:
    clock: FakeClock
    calls: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds)


@pytest.fixture
def sleeps(clock: FakeClock) -> SleepRecorder:
    return SleepRecorder(clock)


@pytest.fixture
def retry(sleeps: SleepRecorder, clock: FakeClock) -> RetryPolicy:
    """Three attempts, backoff 0.5 s doubling; jitter pinned to its cap; no real waiting."""
    return RetryPolicy(
        max_attempts=3,
        base_delay_s=0.5,
        max_delay_s=20.0,
        sleep=sleeps,
        jitter=lambda: 1.0,
        now=lambda: datetime.fromtimestamp(clock(), UTC),
    )
