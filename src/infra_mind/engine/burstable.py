"""Which loads burstable and shared-core machines serve (their baselines, read from the
price rows, are in ``catalog.burstable``).

Why the daily average is the test: AWS launches T3/T3a/T4g in *unlimited* mode, which
charges extra only when the average CPU over 24 hours exceeds the baseline; Azure's
B-series bank at least 24 hours of earned credits. So a machine whose average stays at or
under its baseline pays for its peaks from credits earned the same day, and costs its list
price. The engine sizes the average with the same 60% target utilisation as everything
else, which leaves credits to spare.

Burstable machines are for *small* loads only: a sustained need of at most
``BURSTABLE_MAX_SUSTAINED_VCPU``. Above it, an autoscaled fleet of ordinary machines costs
about as much, performs predictably, and needs no watch on CPU credits (an AWS fleet whose
24-hour average drifts over its baseline pays surplus credits; an Azure one is throttled).
"""

from __future__ import annotations

#: The largest sustained vCPU need (sized at the 60% target) burstable machines serve: one
#: ordinary 2-vCPU machine's worth. Below it the smallest ordinary machine would mostly idle.
BURSTABLE_MAX_SUSTAINED_VCPU = 2.0


def small_load(sustained_vcpu: float) -> bool:
    """Whether a sustained need is small enough for burstable machines."""
    return sustained_vcpu <= BURSTABLE_MAX_SUSTAINED_VCPU + 1e-9
