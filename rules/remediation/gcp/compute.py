"""Compute remediation: disable a firewall rule that lets the whole internet in.

Disabling (rather than deleting or narrowing) keeps the rule's definition, so undo is one PATCH back.
``client("compute", None)`` is a small Compute API client (see rules/remediation/gcp/environment.py):
``get_firewall(project, firewall)`` and ``patch_firewall(project, firewall, body)``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from skywarden.rules.remediation.base import ApiCall, ClientFactory, Plan, RemediationAction, action

_WORLD = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def firewall_ref(resource_id: str) -> tuple[str, str]:
    """(project, rule name) of ``//compute.googleapis.com/projects/{p}/global/firewalls/{name}``."""
    parts = resource_id.removeprefix("//compute.googleapis.com/").split("/")
    if len(parts) != 5 or parts[0] != "projects" or parts[3] != "firewalls":
        raise ValueError(f"not a firewall rule's resource name: {resource_id}")
    return parts[1], parts[4]


def world_ranges(firewall: Mapping[str, Any]) -> list[str]:
    return [r for r in firewall.get("sourceRanges") or [] if ipaddress.ip_network(str(r), strict=False) in _WORLD]


@action
class DisableWorldOpenFirewall(RemediationAction):
    name = "gcp.compute.disable_world_open_firewall"
    resource_type = "gcp.compute.firewall"
    title = "Disable the ingress firewall rule that is open to the whole internet"
    permissions = ("compute.firewalls.get", "compute.firewalls.update", "compute.networks.updatePolicy")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        project, name = firewall_ref(resource.id)
        live = client("compute", None).get_firewall(project=project, firewall=name)
        disabled = bool(live.get("disabled", False))
        world = world_ranges(live)
        open_ingress = live.get("direction", "INGRESS") == "INGRESS" and bool(live.get("allowed")) and bool(world)
        calls: tuple[ApiCall, ...] = ()
        if open_ingress and not disabled:
            calls = (ApiCall("compute", "patch_firewall",
                             {"project": project, "firewall": name, "body": {"disabled": True}}),)
        allowed = ", ".join(
            f"{a.get('IPProtocol')}:{','.join(a.get('ports') or ['all'])}" for a in live.get("allowed") or []
        )
        summary = f"Disable firewall rule {name} in {project} (allows {allowed or 'nothing'} from {', '.join(world)})"
        return Plan(self.name, resource.id, resource.type, resource.account_id, resource.region, summary, calls,
                    {"disabled": disabled}, {"disabled": disabled or bool(calls)},
                    {"sourceRanges": list(live.get("sourceRanges") or []), "allowed": list(live.get("allowed") or [])})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        if undo["before"]["disabled"]:
            return ()
        project, name = firewall_ref(plan.resource_id)
        return (ApiCall("compute", "patch_firewall", {"project": project, "firewall": name,
                                                      "body": {"disabled": False}}),)
