"""The collector registry: each collector turns one service's API answers into Resources."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from skywarden.scanners.model import Resource
from skywarden.scanners.named_registry import Registry

CollectorFn = Callable[[Any], Iterable[Resource]]


@dataclass(frozen=True, slots=True)
class Collector:
    name: str
    provider: str
    service: str
    resource_types: tuple[str, ...]
    regional: bool
    fn: CollectorFn


COLLECTORS: Registry[Collector] = Registry("collector")


def collector(*resource_types: str, service: str, regional: bool = True) -> Callable[[CollectorFn], CollectorFn]:
    """Register a collector producing ``resource_types``.

    A regional collector runs once per (account, region); a global one once per account and is taken to
    cover every region of the resources it yields.
    """

    def decorator(fn: CollectorFn) -> CollectorFn:
        provider = resource_types[0].split(".", 1)[0]
        COLLECTORS.add(resource_types[0], Collector(resource_types[0], provider, service, resource_types, regional, fn))
        return fn

    return decorator


def collectors_for(provider: str, resource_types: Iterable[str] | None) -> list[Collector]:
    """The collectors needed for ``resource_types`` (all of the provider's when None): collect only what rules read."""
    wanted = None if resource_types is None else set(resource_types)
    chosen = []
    for _, item in COLLECTORS.items():
        if item.provider != provider:
            continue
        if wanted is None or wanted.intersection(item.resource_types):
            chosen.append(item)
    return chosen
