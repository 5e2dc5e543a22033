"""The workload kinds, each with the facts the engine, the agents and the reports need.

One registry, so adding a kind is one entry here (next to its requirements model, its
sizing and its design) and a place that forgets it fails: ``sizing.size_all`` and
``design.design_option`` match every kind with ``assert_never`` (mypy names the missing
case), and tests/engine/test_workload_kinds.py runs every kind through sizing, design,
the agents' sections and the reports. Everything else asks a fact of ``KINDS`` (which
kinds are user-facing, which pass NAT, ...) instead of listing kinds by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from pydantic import BaseModel

from infra_mind.engine.requirements import (
    Cache,
    Database,
    MlInference,
    MlTraining,
    ObjectStorage,
    StaticSite,
    WebService,
    Worker,
)


class WorkloadKind(StrEnum):
    """A workload's ``type`` in the requirements file."""

    WEB_SERVICE = "web_service"
    WORKER = "worker"
    DATABASE = "database"
    OBJECT_STORAGE = "object_storage"
    CACHE = "cache"
    STATIC_SITE = "static_site"
    ML_TRAINING = "ml_training"
    ML_INFERENCE = "ml_inference"


class KindGroup(StrEnum):
    """What a kind is to the business, in the order a migration brings kinds up."""

    DATA = "data"  # holds the data the rest reads: stood up first
    APPLICATION = "application"  # serves or processes: deployed once the data is there
    ML = "ml"  # trains or serves models on GPUs: brought up once the services are stable


@dataclass(frozen=True)
class KindFacts:
    """What the code outside sizing and design needs to know of one kind."""

    #: The requirements model whose ``type`` is this kind.
    model: type[BaseModel]
    #: The kind in a sentence's words ("(training)", "(inference)").
    label: str
    group: KindGroup
    #: A person waits on it, so latency from the users to its region matters.
    user_facing: bool
    #: A long-running service of the business's own: counts towards the services that
    #: make Kubernetes worth its control plane (``network.KUBERNETES_AUTO_MIN_SERVICES``).
    runs_service: bool
    #: Its responses leave through the load balancer, which bills the data it processes.
    load_balanced: bool
    #: Its stated egress is traffic its private machines start (webhooks, third-party
    #: APIs, uploads), so it passes the NAT gateway.
    egress_through_nat: bool
    #: It keeps the business's data, which disaster recovery copies to a second region.
    holds_data: bool
    #: Its files live in the provider's object storage.
    in_object_storage: bool
    #: It runs inside the customer's virtual network (machines, managed databases and
    #: caches), which a compliance framework puts in private subnets; object storage and
    #: the CDN are the provider's own endpoints, outside it.
    in_private_network: bool


KINDS: Final = MappingProxyType(
    {
        WorkloadKind.WEB_SERVICE: KindFacts(
            model=WebService,
            label="web service",
            group=KindGroup.APPLICATION,
            user_facing=True,
            runs_service=True,
            load_balanced=True,
            egress_through_nat=False,
            holds_data=False,
            in_object_storage=False,
            in_private_network=True,
        ),
        WorkloadKind.WORKER: KindFacts(
            model=Worker,
            label="worker",
            group=KindGroup.APPLICATION,
            user_facing=False,
            runs_service=True,
            load_balanced=False,
            egress_through_nat=True,
            holds_data=False,
            in_object_storage=False,
            in_private_network=True,
        ),
        WorkloadKind.DATABASE: KindFacts(
            model=Database,
            label="database",
            group=KindGroup.DATA,
            user_facing=False,
            runs_service=False,
            load_balanced=False,
            egress_through_nat=False,
            holds_data=True,
            in_object_storage=False,
            in_private_network=True,
        ),
        WorkloadKind.OBJECT_STORAGE: KindFacts(
            model=ObjectStorage,
            label="object storage",
            group=KindGroup.DATA,
            user_facing=False,
            runs_service=False,
            load_balanced=False,
            egress_through_nat=False,
            holds_data=True,
            in_object_storage=True,
            in_private_network=False,
        ),
        WorkloadKind.CACHE: KindFacts(
            model=Cache,
            label="cache",
            group=KindGroup.DATA,
            user_facing=False,
            runs_service=False,
            load_balanced=False,
            egress_through_nat=False,
            holds_data=False,
            in_object_storage=False,
            in_private_network=True,
        ),
        # the site's files are built from source, so there is no data to recover
        WorkloadKind.STATIC_SITE: KindFacts(
            model=StaticSite,
            label="static site",
            group=KindGroup.APPLICATION,
            user_facing=True,
            runs_service=False,
            load_balanced=False,
            egress_through_nat=False,
            holds_data=False,
            in_object_storage=True,
            in_private_network=False,
        ),
        WorkloadKind.ML_TRAINING: KindFacts(
            model=MlTraining,
            label="training",
            group=KindGroup.ML,
            user_facing=False,
            runs_service=False,
            load_balanced=False,
            egress_through_nat=True,
            holds_data=False,
            in_object_storage=False,
            in_private_network=True,
        ),
        WorkloadKind.ML_INFERENCE: KindFacts(
            model=MlInference,
            label="inference",
            group=KindGroup.ML,
            user_facing=True,
            runs_service=True,
            load_balanced=True,
            egress_through_nat=False,
            holds_data=False,
            in_object_storage=False,
            in_private_network=True,
        ),
    }
)


def kinds_where(fact: Callable[[KindFacts], bool]) -> frozenset[WorkloadKind]:
    """The kinds with ``fact``; a ``WorkloadKind`` equals its ``type`` string, so the set
    answers ``w.type in ...`` for a requirements workload or a demand alike."""
    return frozenset(kind for kind, facts in KINDS.items() if fact(facts))


def facts_of(kind: str) -> KindFacts:
    """The facts of a workload's ``type`` (a ``WorkloadKind`` or its string)."""
    return KINDS[WorkloadKind(kind)]


#: Kinds a person waits on: only these make latency to users matter.
USER_FACING: Final = kinds_where(lambda f: f.user_facing)
#: Kinds that train or serve models.
ML_KINDS: Final = kinds_where(lambda f: f.group is KindGroup.ML)


#: Kinds whose responses leave through the load balancer.
LOAD_BALANCED: Final = kinds_where(lambda f: f.load_balanced)


def is_internal(w: Any) -> bool:
    """A web service only the business's own services call (``WebService.internal``),
    from a requirements workload or a demand (its ``resources``)."""
    resources = getattr(w, "resources", None)
    if isinstance(resources, dict):
        return bool(resources.get("internal"))
    return bool(getattr(w, "internal", False))


def is_user_facing(w: Any) -> bool:
    """A person waits on it: a user-facing kind that is not an internal service."""
    return w.type in USER_FACING and not is_internal(w)


def behind_public_load_balancer(w: Any) -> bool:
    """Its requests and responses pass the public load balancer (and a WAF on it)."""
    return w.type in LOAD_BALANCED and not is_internal(w)
