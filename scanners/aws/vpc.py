"""VPC networking: security groups, network ACLs and VPCs with their flow logs (CIS 3.7, 5.1-5.4).

Security group and network ACL entries are normalised into one shape, so rules can say
``any_item: ingress`` with ``open_to_world`` and ``port_in_range`` instead of parsing the API's
three ways of writing a source (IpRanges, Ipv6Ranges, CidrBlock) and "-1" for all traffic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from skywarden.scanners.aws.context import AwsContext, try_call, with_errors
from skywarden.scanners.aws.ec2 import name_tag
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

# IANA numbers the API may use instead of names; rules compare names.
_PROTOCOL_NAMES = {"-1": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}
# Only these carry port numbers; for icmp the API's FromPort/ToPort are ICMP type and code.
_PORT_PROTOCOLS = {"tcp", "udp"}
ALL_PORTS = (0, 65535)


def protocol_name(value: Any) -> str:
    text = str(value).lower()
    return _PROTOCOL_NAMES.get(text, text)


def _ports(protocol: str, low: Any, high: Any) -> tuple[int | None, int | None, bool]:
    if protocol == "-1":
        return ALL_PORTS[0], ALL_PORTS[1], True
    if protocol in _PORT_PROTOCOLS:
        low = ALL_PORTS[0] if low is None or low == -1 else int(low)
        high = ALL_PORTS[1] if high is None or high == -1 else int(high)
        return low, high, (low, high) == ALL_PORTS
    # Other IP protocols (GRE, ESP, ...) have no ports: a rule must filter on protocol to reason about them.
    return None, None, False


def normalise_permissions(permissions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Security group IpPermissions(Egress) -> [{protocol, from_port, to_port, cidrs, ipv6_cidrs, all_ports, ...}]."""
    result = []
    for perm in permissions:
        protocol = protocol_name(perm.get("IpProtocol", "-1"))
        low, high, all_ports = _ports(protocol, perm.get("FromPort"), perm.get("ToPort"))
        result.append(
            {
                "protocol": protocol,
                "from_port": low,
                "to_port": high,
                "all_ports": all_ports,
                "cidrs": [r["CidrIp"] for r in perm.get("IpRanges", []) if "CidrIp" in r],
                "ipv6_cidrs": [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", []) if "CidrIpv6" in r],
                "prefix_list_ids": [p["PrefixListId"] for p in perm.get("PrefixListIds", []) if "PrefixListId" in p],
                "source_groups": [g["GroupId"] for g in perm.get("UserIdGroupPairs", []) if "GroupId" in g],
            }
        )
    return result


def normalise_acl_entries(entries: Iterable[Mapping[str, Any]], egress: bool) -> list[dict[str, Any]]:
    """Network ACL entries of one direction, in evaluation order (lowest rule number first)."""
    result = []
    for entry in sorted((e for e in entries if bool(e.get("Egress")) == egress), key=lambda e: e["RuleNumber"]):
        protocol = protocol_name(entry.get("Protocol", "-1"))
        port_range = entry.get("PortRange") or {}
        low, high, all_ports = _ports(protocol, port_range.get("From"), port_range.get("To"))
        result.append(
            {
                "rule_number": entry["RuleNumber"],
                "action": entry.get("RuleAction"),
                "protocol": protocol,
                "from_port": low,
                "to_port": high,
                "all_ports": all_ports,
                "cidrs": [entry["CidrBlock"]] if entry.get("CidrBlock") else [],
                "ipv6_cidrs": [entry["Ipv6CidrBlock"]] if entry.get("Ipv6CidrBlock") else [],
            }
        )
    return result


@collector("aws.ec2.security_group", service="ec2")
def security_groups(ctx: AwsContext) -> Iterator[Resource]:
    ec2 = ctx.client("ec2")
    groups = ctx.paginate(ec2, "describe_security_groups", "SecurityGroups")
    # One listing per region gives every group's attachment count; a failure there only blinds the rules
    # that read the count, not the ones about the group's own rules.
    eni_errors: dict[str, str] = {}
    interfaces = try_call(
        eni_errors, "attached_eni_count", lambda: ctx.paginate(ec2, "describe_network_interfaces", "NetworkInterfaces")
    )
    attached: Counter[str] | None = None
    if interfaces is not None:
        attached = Counter(g["GroupId"] for eni in interfaces for g in eni.get("Groups", []))
    for group in groups:
        properties = dict(group)
        properties["is_default"] = group.get("GroupName") == "default"
        properties["ingress"] = normalise_permissions(group.get("IpPermissions", []))
        properties["egress"] = normalise_permissions(group.get("IpPermissionsEgress", []))
        properties["attached_eni_count"] = None if attached is None else attached.get(group["GroupId"], 0)
        yield ctx.resource(
            "aws.ec2.security_group",
            ctx.arn("ec2", f"security-group/{group['GroupId']}", ctx.region),
            group.get("GroupName") or group["GroupId"],
            with_errors(properties, dict(eni_errors)),
            tags=group.get("Tags"),
        )


@collector("aws.ec2.network_acl", service="ec2")
def network_acls(ctx: AwsContext) -> Iterator[Resource]:
    ec2 = ctx.client("ec2")
    for acl in ctx.paginate(ec2, "describe_network_acls", "NetworkAcls"):
        properties = dict(acl)
        properties["ingress"] = normalise_acl_entries(acl.get("Entries", []), egress=False)
        properties["egress"] = normalise_acl_entries(acl.get("Entries", []), egress=True)
        properties["subnet_ids"] = [a["SubnetId"] for a in acl.get("Associations", []) if "SubnetId" in a]
        yield ctx.resource(
            "aws.ec2.network_acl",
            ctx.arn("ec2", f"network-acl/{acl['NetworkAclId']}", ctx.region),
            name_tag(acl.get("Tags")) or acl["NetworkAclId"],
            properties,
            tags=acl.get("Tags"),
        )


# CIS 3.7 asks for at least rejected traffic to be logged.
_LOGGED_TRAFFIC = {"ALL", "REJECT"}


@collector("aws.ec2.vpc", service="ec2")
def vpcs(ctx: AwsContext) -> Iterator[Resource]:
    ec2 = ctx.client("ec2")
    vpc_list = ctx.paginate(ec2, "describe_vpcs", "Vpcs")
    errors: dict[str, str] = {}
    flow_logs = try_call(errors, "flow_logs", lambda: ctx.paginate(ec2, "describe_flow_logs", "FlowLogs"))
    if "flow_logs" in errors:
        errors["flow_logs_enabled"] = errors["flow_logs"]
    by_vpc: dict[str, list[dict[str, Any]]] = {}
    for flow_log in flow_logs or []:
        by_vpc.setdefault(flow_log.get("ResourceId", ""), []).append(flow_log)
    for vpc in vpc_list:
        properties = dict(vpc)
        if flow_logs is None:
            properties["flow_logs"] = None
            properties["flow_logs_enabled"] = None
        else:
            own = by_vpc.get(vpc["VpcId"], [])
            properties["flow_logs"] = own
            properties["flow_logs_enabled"] = any(
                f.get("FlowLogStatus") == "ACTIVE" and f.get("TrafficType") in _LOGGED_TRAFFIC for f in own
            )
        yield ctx.resource(
            "aws.ec2.vpc",
            ctx.arn("ec2", f"vpc/{vpc['VpcId']}", ctx.region),
            name_tag(vpc.get("Tags")) or vpc["VpcId"],
            with_errors(properties, dict(errors)),
            tags=vpc.get("Tags"),
        )
