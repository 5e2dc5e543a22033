"""How each priced line grows over the projection.

Every line item of an option has a ``Part`` whose ``cost(month, traffic)`` gives
its monthly cost in a later month at a traffic multiple (1.0 = the stated load).
At month 1 and traffic 1.0 the parts add up to the option's line items exactly.
Compute follows traffic in whole machines; storage accumulates its stated growth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, assert_never

from infra_mind.catalog.model import PriceRow
from infra_mind.engine.pricing import (
    Candidate,
    autoscaled_counts,
    scaled_instance_hours,
    tiered_cost,
    worker_processes,
)
from infra_mind.engine.sizing import HOURS_PER_MONTH

#: Which instances of an autoscaled fleet a part prices (see ``AutoscaledMachines``).
Portion = Literal["all", "floor", "peak"]


def portion_hours(portion: Portion, floor: int, peak: int, peak_hours_per_month: float
                  ) -> float:
    """Instance-hours a month of a fleet's ``portion``: the floor all month, the instances
    above it for the peak hours, or both."""
    match portion:
        case "floor":
            return floor * HOURS_PER_MONTH
        case "peak":
            return (peak - floor) * peak_hours_per_month
        case "all":
            return scaled_instance_hours(floor, peak, peak_hours_per_month)
        case _:
            assert_never(portion)


class Part:
    #: Whether the cost depends on traffic (the projection simulates only those).
    follows_traffic = False

    def cost(self, month: int, traffic: float) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def repriced(self, price_per_hour: float) -> Part:
        return self


@dataclass(frozen=True)
class Fixed(Part):
    monthly_usd: float

    def cost(self, month: int, traffic: float) -> float:
        return self.monthly_usd


@dataclass(frozen=True)
class ScaledLinear(Part):
    """A usage-priced line proportional to traffic (load-balancer capacity, data)."""

    follows_traffic = True

    monthly_usd: float

    def cost(self, month: int, traffic: float) -> float:
        return round(self.monthly_usd * traffic, 2)


@dataclass(frozen=True)
class HourlyPart(Part):
    """A part priced per hour: a commitment reprices it and keeps everything else."""

    price_per_hour: float

    def repriced(self, price_per_hour: float) -> Part:
        return replace(self, price_per_hour=price_per_hour)


@dataclass(frozen=True)
class ScaledMachines(HourlyPart):
    """Always-on machines re-counted for the traffic: whole machines, never below the floor."""

    follows_traffic = True

    vcpu_each: float
    memory_each_gib: float
    vcpu_need: float
    memory_need_gib: float
    min_count: int
    #: A worker's whole processes one machine holds (``pricing.choose_machines``'s
    #: ``processes``): the processes, one per whole vCPU of the work, then count too.
    processes_each: int = 0

    def count(self, traffic: float) -> int:
        processes = (math.ceil(worker_processes(self.vcpu_need * traffic)
                               / self.processes_each) if self.processes_each else 0)
        return max(self.min_count, 1, processes,
                   math.ceil(self.vcpu_need * traffic / self.vcpu_each - 1e-9),
                   math.ceil(self.memory_need_gib * traffic / self.memory_each_gib - 1e-9))

    def cost(self, month: int, traffic: float) -> float:
        return round(self.count(traffic) * self.price_per_hour * HOURS_PER_MONTH, 2)


@dataclass(frozen=True)
class AutoscaledMachines(HourlyPart):
    """A stateless service's autoscaled fleet, re-counted for the traffic.

    ``portion`` prices all of it, only the floor held all month (the part a commitment
    covers) or only the instances above the floor for the peak hours.
    """

    follows_traffic = True

    machine: Candidate
    vcpu_peak_need: float
    vcpu_avg_need: float
    min_count: int
    peak_hours_per_month: float
    portion: Portion = "all"
    #: The peak count held all month (``pricing.ScalingChoice.held``), at any traffic.
    hold_peak: bool = False

    def counts(self, traffic: float) -> tuple[int, int]:
        floor, peak = autoscaled_counts(self.machine,
                                        vcpu_peak=self.vcpu_peak_need * traffic,
                                        vcpu_avg=self.vcpu_avg_need * traffic,
                                        min_count=self.min_count)
        return (peak, peak) if self.hold_peak else (floor, peak)

    def hours(self, traffic: float) -> float:
        return portion_hours(self.portion, *self.counts(traffic), self.peak_hours_per_month)

    def cost(self, month: int, traffic: float) -> float:
        return round(self.hours(traffic) * self.price_per_hour, 2)


@dataclass(frozen=True)
class GpuMachines(HourlyPart):
    """GPU machines for a worker: enough for its GPUs, vCPUs and memory, for its hours.

    Fixed over the projection unless the worker follows traffic.
    """

    hours_per_month: float
    gpus_each: int
    vcpu_each: float
    memory_each_gib: float
    gpus_need: int
    vcpu_need: float
    memory_need_gib: float
    follows_traffic: bool = False

    def count(self, traffic: float) -> int:
        t = traffic if self.follows_traffic else 1.0
        return max(1, math.ceil(self.gpus_need * t / self.gpus_each - 1e-9),
                   math.ceil(self.vcpu_need * t / self.vcpu_each - 1e-9),
                   math.ceil(self.memory_need_gib * t / self.memory_each_gib - 1e-9))

    def cost(self, month: int, traffic: float) -> float:
        return round(self.count(traffic) * self.hours_per_month * self.price_per_hour, 2)


@dataclass(frozen=True)
class ScaledReplicas(HourlyPart):
    """GPU serving instances re-counted for the traffic: a floor for the average all month
    (never below the availability minimum), the instances the peak adds for the peak hours.
    ``portion`` prices them all, the floor alone or the peak's alone (as
    ``AutoscaledMachines``); without an average the peak's instances are the floor."""

    follows_traffic = True

    tokens_per_sec_per_replica: float
    replicas_per_instance: int
    peak_tokens_per_sec: float
    min_instances: int
    avg_tokens_per_sec: float | None = None
    peak_hours_per_month: float = HOURS_PER_MONTH
    portion: Portion = "all"

    def _instances(self, tokens_per_sec: float) -> int:
        replicas = math.ceil(tokens_per_sec / self.tokens_per_sec_per_replica - 1e-9)
        return max(self.min_instances, math.ceil(replicas / self.replicas_per_instance - 1e-9))

    def count(self, traffic: float) -> int:
        """Instances at the peak."""
        return self._instances(self.peak_tokens_per_sec * traffic)

    def counts(self, traffic: float) -> tuple[int, int]:
        """(floor, peak) instances."""
        peak = self.count(traffic)
        if self.avg_tokens_per_sec is None:
            return peak, peak
        return min(peak, self._instances(self.avg_tokens_per_sec * traffic)), peak

    def hours(self, traffic: float) -> float:
        return portion_hours(self.portion, *self.counts(traffic), self.peak_hours_per_month)

    def cost(self, month: int, traffic: float) -> float:
        return round(self.hours(traffic) * self.price_per_hour, 2)


@dataclass(frozen=True)
class FixedHours(HourlyPart):
    """A fixed number of instance-hours a month (training runs), at an hourly price."""

    hours: float

    def cost(self, month: int, traffic: float) -> float:
        return round(self.price_per_hour * self.hours, 2)


@dataclass(frozen=True)
class GrowingStorage(Part):
    """Stored data that accumulates: base + growth x (month - 1), in ``copies`` copies,
    never billed below ``min_gb`` a copy (a managed database's smallest allocation)."""

    rows: list[PriceRow]
    base_gb: float
    growth_gb_per_month: float
    copies: int
    min_gb: float = 0.0

    def billed(self, month: int, traffic: float) -> float:
        """GB-months billed in ``month``: every copy."""
        gb = max(self.min_gb, self.base_gb + self.growth_gb_per_month * (month - 1))
        return gb * self.copies

    def cost(self, month: int, traffic: float) -> float:
        return tiered_cost(self.rows, self.billed(month, traffic))


@dataclass(frozen=True)
class ScaledTiers(Part):
    """Tiered usage that follows traffic (internet egress), plus a part that does not
    (the egress of a fixed-size worker)."""

    follows_traffic = True

    rows: list[PriceRow]
    quantity: float
    fixed_quantity: float = 0.0

    def billed(self, month: int, traffic: float) -> float:
        """Units billed at ``traffic``."""
        return self.quantity * traffic + self.fixed_quantity

    def cost(self, month: int, traffic: float) -> float:
        return tiered_cost(self.rows, self.billed(month, traffic))
