"""Network checks that depend on evaluation order, which a per-entry YAML condition cannot see."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from skywarden.rules.checks import CHECKS

_WORLD = {"ipv4": ipaddress.ip_network("0.0.0.0/0"), "ipv6": ipaddress.ip_network("::/0")}
_CIDR_FIELD = {"ipv4": "cidrs", "ipv6": "ipv6_cidrs"}


def _covers(entry: Mapping[str, Any], protocol: str, port: int) -> bool:
    if entry.get("protocol") == "-1":
        return True
    if entry.get("protocol") != protocol:
        return False
    low, high = entry.get("from_port"), entry.get("to_port")
    if not isinstance(low, int) or not isinstance(high, int):
        raise TypeError(f"network ACL entry {entry.get('rule_number')} has no port range for {protocol}")
    return low <= port <= high


def _from_world(entry: Mapping[str, Any], family: str) -> bool:
    return any(ipaddress.ip_network(c, strict=False) == _WORLD[family] for c in entry.get(_CIDR_FIELD[family]) or [])


def first_world_allow(
    entries: Sequence[Mapping[str, Any]], ports: Sequence[int], protocols: Sequence[str], families: Sequence[str]
) -> str | None:
    """Describe the first entry letting any internet address reach one of ``ports``, or None.

    Network ACL entries are evaluated lowest rule number first and the first match decides, so an allow
    from 0.0.0.0/0 is harmless behind a deny from 0.0.0.0/0 for the same port. An entry for a narrower
    source range only decides for that range; the rest of the internet falls through to later entries.
    """
    ordered = sorted(entries, key=lambda e: e.get("rule_number", 0))
    for family in families:
        for protocol in protocols:
            for port in ports:
                for entry in ordered:
                    if _covers(entry, protocol, port) and _from_world(entry, family):
                        if entry.get("action") == "allow":
                            return f"rule {entry.get('rule_number')} allows {protocol}/{port} from {_WORLD[family]}"
                        break
    return None


@CHECKS.register("nacl_admin_ports_closed_to_world")
def nacl_admin_ports_closed_to_world(resource: Any, params: Mapping[str, Any]) -> tuple[bool, str]:
    """Compliant when no port of ``ports`` (default 22, 3389) is reachable from the whole internet.

    Reads the collector's normalised ``ingress`` list (aws.ec2.network_acl). ``protocols`` defaults to tcp
    and udp (RDP also listens on udp); ``families`` to ipv4 and ipv6.
    """
    entries = resource.properties.get("ingress")
    if not isinstance(entries, list):
        raise TypeError("network ACL has no ingress entry list")
    found = first_world_allow(
        entries,
        ports=list(params.get("ports", (22, 3389))),
        protocols=list(params.get("protocols", ("tcp", "udp"))),
        families=list(params.get("families", ("ipv4", "ipv6"))),
    )
    return (found is None, found or "no ingress entry opens the ports to the internet")
