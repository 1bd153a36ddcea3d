"""Azure network security group checks: NSG rules are evaluated by priority and the first match decides,
which a per-rule YAML condition cannot see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from skywarden.rules.checks import CHECKS

# Source prefixes that mean "any internet address" in an NSG rule.
_INTERNET = {"*", "0.0.0.0", "0.0.0.0/0", "internet", "any", "::/0"}
# The platform's own rules, which an API answer may leave out; DenyAllInBound closes everything not allowed.
_DEFAULT_INBOUND = (
    {"name": "AllowVnetInBound", "priority": 65000, "access": "Allow", "protocol": "*",
     "sourceAddressPrefix": "VirtualNetwork", "destinationPortRange": "*", "direction": "Inbound"},
    {"name": "AllowAzureLoadBalancerInBound", "priority": 65001, "access": "Allow", "protocol": "*",
     "sourceAddressPrefix": "AzureLoadBalancer", "destinationPortRange": "*", "direction": "Inbound"},
    {"name": "DenyAllInBound", "priority": 65500, "access": "Deny", "protocol": "*",
     "sourceAddressPrefix": "*", "destinationPortRange": "*", "direction": "Inbound"},
)


def _props(rule: Mapping[str, Any]) -> Mapping[str, Any]:
    # Rules arrive either flattened or as {name, properties: {...}} depending on the source.
    return rule.get("properties") if isinstance(rule.get("properties"), Mapping) else rule  # type: ignore[return-value]


def _ranges(props: Mapping[str, Any]) -> list[str]:
    ranges = list(props.get("destinationPortRanges") or [])
    if props.get("destinationPortRange"):
        ranges.append(props["destinationPortRange"])
    return [str(r) for r in ranges]


def _covers_port(props: Mapping[str, Any], port: int) -> bool:
    for item in _ranges(props):
        if item == "*":
            return True
        low, _, high = item.partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


def _from_internet(props: Mapping[str, Any]) -> bool:
    prefixes = list(props.get("sourceAddressPrefixes") or [])
    if props.get("sourceAddressPrefix"):
        prefixes.append(props["sourceAddressPrefix"])
    return any(str(p).strip().lower() in _INTERNET or str(p).endswith("/0") for p in prefixes)


def first_internet_allow(
    rules: Sequence[Mapping[str, Any]], ports: Sequence[int], protocols: Sequence[str]
) -> str | None:
    """Describe the first rule letting any internet address reach one of ``ports``, or None.

    Inbound rules are walked by priority (lowest first); the first rule matching the port, the protocol and
    an internet-wide source decides. A rule for a narrower source only decides for that source.
    """
    inbound = sorted(
        (_props(r) | {"name": r.get("name", _props(r).get("name"))} for r in rules),
        key=lambda p: int(p.get("priority", 65535)),
    )
    inbound = [p for p in inbound if str(p.get("direction", "")).lower() == "inbound"]
    for protocol in protocols:
        for port in ports:
            for props in inbound:
                if str(props.get("protocol", "")).lower() not in ("*", protocol.lower()):
                    continue
                if not _covers_port(props, port) or not _from_internet(props):
                    continue
                if str(props.get("access", "")).lower() == "allow":
                    where = f"rule {props.get('name')} (priority {props.get('priority')})"
                    return f"{where} allows {protocol}/{port} from the internet"
                break
    return None


@CHECKS.register("nsg_ports_closed_to_internet")
def nsg_ports_closed_to_internet(resource: Any, params: Mapping[str, Any]) -> tuple[bool, str]:
    """Compliant when no port of ``ports`` is reachable with ``protocols`` (default tcp) from the internet.

    Reads ``securityRules`` and ``defaultSecurityRules`` of azure.network.nsg (the platform defaults are
    assumed when the latter is absent).
    """
    custom = resource.properties.get("securityRules")
    if not isinstance(custom, list):
        raise TypeError("network security group has no securityRules list")
    defaults = resource.properties.get("defaultSecurityRules") or list(_DEFAULT_INBOUND)
    found = first_internet_allow(
        list(custom) + list(defaults), list(params.get("ports", (22,))), list(params.get("protocols", ("Tcp",)))
    )
    return (found is None, found or "no inbound rule opens the ports to the internet")
