"""EC2 and VPC collectors and rule packs against moto in-process: one moto session, seeded once, scanned once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import skywarden.scanners.aws as aws_package

# moto's ~1,300 default AMIs come with backing snapshots that describe_snapshots(OwnerIds=["self"]) returns as
# ours; one AMI keeps the snapshot listing (and its per-snapshot attribute calls) small. It must be set before
# moto's EC2 backend first initialises in this process.
os.environ.setdefault("MOTO_AMIS_PATH", str(Path(aws_package.__file__).parent / "demo_amis.json"))

import boto3  # noqa: E402
import pytest  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402
from moto import mock_aws  # noqa: E402

from skywarden.rules.checks.network import first_world_allow  # noqa: E402
from skywarden.rules.model import Outcome, Rule  # noqa: E402
from skywarden.scanners.aws.scan import collect_aws  # noqa: E402
from skywarden.scanners.aws.session import AccountSpec, resolve_targets  # noqa: E402
from skywarden.scanners.aws.vpc import normalise_acl_entries, normalise_permissions  # noqa: E402
from skywarden.scanners.model import Inventory, Resource  # noqa: E402
from tests.support.aws import ACCOUNT, outcomes, pack_rules  # noqa: E402

PASS, FAIL, ERROR, NA = Outcome.PASS, Outcome.FAIL, Outcome.ERROR, Outcome.NOT_APPLICABLE
REGION, OTHER_REGION = "us-east-1", "eu-west-1"
WORLD4, WORLD6 = [{"CidrIp": "0.0.0.0/0"}], [{"CidrIpv6": "::/0"}]
EC2_TYPES = [
    "aws.ec2.security_group",
    "aws.ec2.network_acl",
    "aws.ec2.vpc",
    "aws.ec2.instance",
    "aws.ec2.volume",
    "aws.ec2.snapshot",
    "aws.ec2.regional_settings",
]


def _arn(kind: str, resource_id: str, region: str = REGION) -> str:
    account = "" if kind == "snapshot" else ACCOUNT
    return f"arn:aws:ec2:{region}:{account}:{kind}/{resource_id}"


def _tags(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def _perm(protocol: str, low: int | None, high: int | None, v4: Any = (), v6: Any = ()) -> dict[str, Any]:
    perm: dict[str, Any] = {"IpProtocol": protocol, "IpRanges": list(v4), "Ipv6Ranges": list(v6)}
    if low is not None:
        perm.update(FromPort=low, ToPort=high)
    return perm


def _seed_network(ec2: Any, ids: dict[str, str]) -> tuple[str, str]:
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    ids["default-vpc"] = _arn("vpc", default_vpc)
    good_vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=_tags("vpc", "good-vpc"))["Vpc"]["VpcId"]
    accept_vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16", TagSpecifications=_tags("vpc", "accept-only-vpc"))["Vpc"][
        "VpcId"
    ]
    ids["good-vpc"], ids["accept-only-vpc"] = _arn("vpc", good_vpc), _arn("vpc", accept_vpc)
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="flow-logs")
    for vpc, traffic in ((good_vpc, "REJECT"), (accept_vpc, "ACCEPT")):
        ec2.create_flow_logs(
            ResourceIds=[vpc],
            ResourceType="VPC",
            TrafficType=traffic,
            LogDestinationType="s3",
            LogDestination="arn:aws:s3:::flow-logs",
        )

    # Default security groups: the default VPC's keeps moto's allow-all egress (CIS 5.4 FAIL); good-vpc's is
    # emptied (PASS).
    def default_sg(vpc: str) -> dict[str, Any]:
        filters = [{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
        return ec2.describe_security_groups(Filters=filters)["SecurityGroups"][0]

    ids["default-sg"] = _arn("security-group", default_sg(default_vpc)["GroupId"])
    good_default = default_sg(good_vpc)
    ids["good-default-sg"] = _arn("security-group", good_default["GroupId"])
    if good_default["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(
            GroupId=good_default["GroupId"], IpPermissions=good_default["IpPermissionsEgress"]
        )
    if good_default["IpPermissions"]:
        ec2.revoke_security_group_ingress(GroupId=good_default["GroupId"], IpPermissions=good_default["IpPermissions"])

    groups = {
        "web-sg": [_perm("tcp", 80, 80, WORLD4)],
        "ssh-world-sg": [_perm("tcp", 22, 22, WORLD4)],
        "all-traffic-sg": [_perm("-1", None, None, WORLD4)],
        "range-sg": [_perm("tcp", 20, 25, WORLD4)],
        "udp-rdp-sg": [_perm("udp", 3389, 3389, WORLD4)],
        "rdp-v6-sg": [_perm("tcp", 3389, 3389, v6=WORLD6)],
        "ssh-private-sg": [_perm("tcp", 22, 22, [{"CidrIp": "10.0.0.0/8"}]), _perm("tcp", 443, 443, WORLD4, WORLD6)],
        "icmp-sg": [_perm("icmp", -1, -1, WORLD4, WORLD6)],
        "cifs-world-sg": [_perm("tcp", 445, 445, WORLD4)],
        "cifs-v6-range-sg": [_perm("tcp", 135, 445, v6=WORLD6)],
        "cifs-private-sg": [_perm("tcp", 445, 445, [{"CidrIp": "10.0.0.0/8"}])],
    }
    for name, permissions in groups.items():
        group_id = ec2.create_security_group(GroupName=name, Description=name, VpcId=good_vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
        ids[name] = _arn("security-group", group_id)

    # Network ACLs: the default ACLs allow everything (CIS 5.1 FAIL). ordered-nacl also allows everything, but
    # only after denying the admin ports to the world (PASS); range-nacl opens 20-25 (FAIL); ipv6-nacl opens
    # 3389 to ::/0 only (FAIL).
    def acl(name: str, entries: list[tuple[int, str, str, tuple[int, int] | None, str]]) -> None:
        acl_id = ec2.create_network_acl(VpcId=good_vpc, TagSpecifications=_tags("network-acl", name))["NetworkAcl"][
            "NetworkAclId"
        ]
        for number, protocol, action, ports, cidr in entries:
            entry: dict[str, Any] = {"RuleNumber": number, "Protocol": protocol, "RuleAction": action, "Egress": False}
            entry["Ipv6CidrBlock" if ":" in cidr else "CidrBlock"] = cidr
            if ports:
                entry["PortRange"] = {"From": ports[0], "To": ports[1]}
            ec2.create_network_acl_entry(NetworkAclId=acl_id, **entry)
        ids[name] = _arn("network-acl", acl_id)

    acl(
        "ordered-nacl",
        [
            (5, "6", "allow", (22, 22), "10.0.0.0/8"),
            (10, "6", "deny", (22, 22), "0.0.0.0/0"),
            (11, "6", "deny", (3389, 3389), "0.0.0.0/0"),
            (12, "17", "deny", (22, 22), "0.0.0.0/0"),
            (13, "17", "deny", (3389, 3389), "0.0.0.0/0"),
            (100, "-1", "allow", None, "0.0.0.0/0"),
        ],
    )
    acl("range-nacl", [(100, "6", "allow", (20, 25), "0.0.0.0/0")])
    acl("ipv6-nacl", [(100, "6", "allow", (443, 443), "0.0.0.0/0"), (101, "6", "allow", (3389, 3389), "::/0")])
    default_acl = ec2.describe_network_acls(
        Filters=[{"Name": "vpc-id", "Values": [default_vpc]}, {"Name": "default", "Values": ["true"]}]
    )["NetworkAcls"][0]["NetworkAclId"]
    ids["default-nacl"] = _arn("network-acl", default_acl)
    private_subnet = ec2.create_subnet(VpcId=good_vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    return default_vpc, private_subnet


def _seed_compute(ec2: Any, ids: dict[str, str], private_subnet: str) -> None:
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def run(name: str, **kwargs: Any) -> None:
        instance = ec2.run_instances(
            ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=_tags("instance", name), **kwargs
        )["Instances"][0]
        ids[name] = _arn("instance", instance["InstanceId"])

    run("imdsv1-instance")  # default subnet of the default VPC: gets a public IP
    iam = boto3.client("iam", region_name=REGION)
    iam.create_role(RoleName="app-role", AssumeRolePolicyDocument="{}")
    iam.create_instance_profile(InstanceProfileName="app-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app-role")
    run(
        "imdsv2-instance",
        SubnetId=private_subnet,
        MetadataOptions={"HttpTokens": "required"},
        IamInstanceProfile={"Name": "app-profile"},
    )
    run("imds-off-instance", SubnetId=private_subnet, MetadataOptions={"HttpEndpoint": "disabled"})
    gone = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[gone])
    ids["terminated-instance"] = _arn("instance", gone)

    zone = f"{REGION}a"
    plain = ec2.create_volume(AvailabilityZone=zone, Size=1, TagSpecifications=_tags("volume", "plain-volume"))
    encrypted = ec2.create_volume(
        AvailabilityZone=zone, Size=1, Encrypted=True, TagSpecifications=_tags("volume", "encrypted-volume")
    )
    ids["plain-volume"], ids["encrypted-volume"] = (
        _arn("volume", plain["VolumeId"]),
        _arn("volume", encrypted["VolumeId"]),
    )
    for name in ("public-snap", "private-snap", "shared-snap", "denied-snap"):
        snapshot = ec2.create_snapshot(VolumeId=plain["VolumeId"], TagSpecifications=_tags("snapshot", name))
        ids[name] = _arn("snapshot", snapshot["SnapshotId"])
        if name == "public-snap":
            ec2.modify_snapshot_attribute(
                SnapshotId=snapshot["SnapshotId"],
                Attribute="createVolumePermission",
                OperationType="add",
                GroupNames=["all"],
            )
        if name == "shared-snap":
            ec2.modify_snapshot_attribute(
                SnapshotId=snapshot["SnapshotId"],
                Attribute="createVolumePermission",
                OperationType="add",
                UserIds=["111122223333"],
            )
    # EBS encryption by default: on in us-east-1 (PASS), left off in eu-west-1 (FAIL).
    ec2.enable_ebs_encryption_by_default()
    ids["settings-on"] = f"arn:aws:ec2:{REGION}:{ACCOUNT}:regional-settings"
    ids["settings-off"] = f"arn:aws:ec2:{OTHER_REGION}:{ACCOUNT}:regional-settings"


def _deny(code: str) -> tuple[AWSResponse, dict[str, Any]]:
    http = AWSResponse(f"https://ec2.{REGION}.amazonaws.com", 403, {}, None)
    return http, {"Error": {"Code": code, "Message": f"{code} (injected by the test)"}, "ResponseMetadata": {}}


def _scan(
    denied_snapshot: str | None = None,
    deny_flow_logs: bool = False,
    types: list[str] = EC2_TYPES,
    regions: tuple[str, ...] = (REGION, OTHER_REGION),
) -> Inventory:
    session = boto3.Session(region_name=REGION)
    if denied_snapshot:
        # moto enforces no IAM: answer one snapshot's attribute call as a real AccessDenied would.
        def deny_one(params: dict[str, Any], **_: Any) -> Any:
            body = params["body"]  # the query protocol's serialised parameters, as a dict
            return _deny("UnauthorizedOperation") if body.get("SnapshotId") == denied_snapshot else None

        session.events.register("before-call.ec2.DescribeSnapshotAttribute", deny_one)
    if deny_flow_logs:
        session.events.register("before-call.ec2.DescribeFlowLogs", lambda **_: _deny("UnauthorizedOperation"))
    targets = resolve_targets(session, [AccountSpec(id=None, name="test")])
    return collect_aws(targets, regions=list(regions), resource_types=types, max_workers=4)


class World:
    def __init__(self, inventory: Inventory, no_flow_logs: Inventory, ids: dict[str, str]) -> None:
        self.inventory, self.no_flow_logs, self.ids = inventory, no_flow_logs, ids
        self.by_id = {r.id: r for r in inventory.resources}

    def get(self, label: str) -> Resource:
        return self.by_id[self.ids[label]]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        ids: dict[str, str] = {}
        _, private_subnet = _seed_network(ec2, ids)
        _seed_compute(ec2, ids, private_subnet)
        denied = ids["denied-snap"].rsplit("/", 1)[1]
        inventory = _scan(denied_snapshot=denied)
        no_flow_logs = _scan(deny_flow_logs=True, types=["aws.ec2.vpc"], regions=(REGION,))
        yield World(inventory, no_flow_logs, ids)


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    return pack_rules("aws/ec2.yaml", "aws/vpc.yaml")


@pytest.fixture(scope="module")
def results(world: World, rules: list[Rule]) -> dict[tuple[str, str], Outcome]:
    return outcomes(rules, world.inventory.resources)


EXPECTED = [
    # (rule, resource label, outcome)
    ("aws-ec2-ebs-default-encryption", "settings-on", PASS),
    ("aws-ec2-ebs-default-encryption", "settings-off", FAIL),
    ("aws-ec2-instance-imdsv2-required", "imdsv1-instance", FAIL),
    ("aws-ec2-instance-imdsv2-required", "imdsv2-instance", PASS),
    ("aws-ec2-instance-imdsv2-required", "imds-off-instance", PASS),
    ("aws-ec2-instance-profile-attached", "imdsv1-instance", FAIL),
    ("aws-ec2-instance-profile-attached", "imdsv2-instance", PASS),
    ("aws-ec2-instance-no-public-ip", "imdsv1-instance", FAIL),
    ("aws-ec2-instance-no-public-ip", "imdsv2-instance", PASS),
    ("aws-ec2-volume-encrypted", "plain-volume", FAIL),
    ("aws-ec2-volume-encrypted", "encrypted-volume", PASS),
    ("aws-ec2-snapshot-not-public", "public-snap", FAIL),
    ("aws-ec2-snapshot-not-public", "private-snap", PASS),
    ("aws-ec2-snapshot-not-public", "shared-snap", PASS),
    ("aws-ec2-snapshot-not-public", "denied-snap", ERROR),
    ("aws-ec2-vpc-flow-logs-enabled", "good-vpc", PASS),
    ("aws-ec2-vpc-flow-logs-enabled", "default-vpc", FAIL),
    ("aws-ec2-vpc-flow-logs-enabled", "accept-only-vpc", FAIL),
    ("aws-ec2-nacl-no-admin-ports-from-world", "default-nacl", FAIL),
    ("aws-ec2-nacl-no-admin-ports-from-world", "range-nacl", FAIL),
    ("aws-ec2-nacl-no-admin-ports-from-world", "ipv6-nacl", FAIL),
    ("aws-ec2-nacl-no-admin-ports-from-world", "ordered-nacl", PASS),
    ("aws-ec2-sg-no-admin-ports-from-ipv4-world", "web-sg", PASS),
    ("aws-ec2-sg-no-admin-ports-from-ipv4-world", "ssh-world-sg", FAIL),
    ("aws-ec2-sg-no-admin-ports-from-ipv4-world", "all-traffic-sg", FAIL),
    ("aws-ec2-sg-no-admin-ports-from-ipv4-world", "range-sg", FAIL),
    ("aws-ec2-sg-no-admin-ports-from-ipv4-world", "udp-rdp-sg", FAIL),
    ("aws-ec2-sg-no-admin-ports-from-ipv4-world", "rdp-v6-sg", PASS),
    ("aws-ec2-sg-no-admin-ports-from-ipv4-world", "ssh-private-sg", PASS),
    ("aws-ec2-sg-no-admin-ports-from-ipv4-world", "icmp-sg", PASS),
    ("aws-ec2-sg-no-admin-ports-from-ipv6-world", "rdp-v6-sg", FAIL),
    ("aws-ec2-sg-no-admin-ports-from-ipv6-world", "ssh-world-sg", PASS),
    ("aws-ec2-sg-no-admin-ports-from-ipv6-world", "ssh-private-sg", PASS),
    ("aws-ec2-sg-no-cifs-from-world", "cifs-world-sg", FAIL),
    ("aws-ec2-sg-no-cifs-from-world", "cifs-v6-range-sg", FAIL),
    ("aws-ec2-sg-no-cifs-from-world", "all-traffic-sg", FAIL),
    ("aws-ec2-sg-no-cifs-from-world", "cifs-private-sg", PASS),
    ("aws-ec2-sg-no-cifs-from-world", "ssh-world-sg", PASS),
    ("aws-ec2-sg-no-cifs-from-world", "udp-rdp-sg", PASS),
    ("aws-ec2-default-sg-restricts-all-traffic", "default-sg", FAIL),
    ("aws-ec2-default-sg-restricts-all-traffic", "good-default-sg", PASS),
    ("aws-ec2-default-sg-restricts-all-traffic", "web-sg", NA),
]


@pytest.mark.parametrize(("rule_id", "label", "expected"), EXPECTED, ids=[f"{r}-{n}" for r, n, _ in EXPECTED])
def test_rule_outcome(
    world: World, results: dict[tuple[str, str], Outcome], rule_id: str, label: str, expected: Outcome
):
    assert results[(rule_id, world.ids[label])] is expected


def test_every_rule_has_a_pass_and_a_fail_case(rules: list[Rule]):
    for outcome in (PASS, FAIL):
        assert {r.id for r in rules} == {rule for rule, _, expected in EXPECTED if expected is outcome}


def test_collection_covered_both_regions(world: World):
    assert world.inventory.gaps == []
    regions = {(r.type, r.region) for r in world.inventory.resources}
    assert ("aws.ec2.security_group", OTHER_REGION) in regions
    assert ("aws.ec2.regional_settings", OTHER_REGION) in regions


def test_security_group_normalised(world: World):
    ssh = world.get("ssh-world-sg").properties
    assert ssh["is_default"] is False
    assert ssh["ingress"] == [
        {
            "protocol": "tcp",
            "from_port": 22,
            "to_port": 22,
            "all_ports": False,
            "cidrs": ["0.0.0.0/0"],
            "ipv6_cidrs": [],
            "prefix_list_ids": [],
            "source_groups": [],
        }
    ]
    everything = world.get("all-traffic-sg").properties["ingress"][0]
    assert (everything["protocol"], everything["from_port"], everything["to_port"], everything["all_ports"]) == (
        "-1",
        0,
        65535,
        True,
    )
    default = world.get("default-sg").properties
    assert default["is_default"] is True
    assert default["egress"][0]["cidrs"] == ["0.0.0.0/0"]
    assert world.get("web-sg").properties["attached_eni_count"] == 0


def test_instance_properties(world: World):
    v1 = world.get("imdsv1-instance").properties
    assert v1["MetadataOptions"]["HttpTokens"] == "optional"
    assert v1["PublicIpAddress"]
    assert world.get("imdsv1-instance").name == "imdsv1-instance"
    assert "PublicIpAddress" not in world.get("imdsv2-instance").properties
    assert world.ids["terminated-instance"] not in world.by_id


def test_snapshot_permissions(world: World):
    # moto ignores RestorableByUserIds, so this scan took the per-snapshot fallback.
    shared = world.get("shared-snap").properties
    assert shared["is_public"] is False  # shared with one account is not public
    assert world.get("public-snap").properties["is_public"] is True
    # The access-denied attribute call leaves the snapshot collected, with the gap recorded.
    denied = world.get("denied-snap").properties
    assert denied["_errors"] == {"is_public": "AccessDenied"}
    assert denied["is_public"] is None
    # Only our own snapshots: besides ours, at most the one demo AMI's backing snapshot that moto files as ours.
    ours = {world.ids[n] for n in ("public-snap", "private-snap", "shared-snap", "denied-snap")}
    snapshots = {r.id for r in world.inventory.resources if r.type == "aws.ec2.snapshot" and r.region == REGION}
    assert ours <= snapshots and len(snapshots - ours) <= 1


def _snapshot_scan(world: World, filtered: bool) -> tuple[Inventory, list[str]]:
    """A snapshot scan whose filtered listing answers as the real API does (public snapshots only) or fails."""
    public_id = world.ids["public-snap"].rsplit("/", 1)[1]
    attribute_calls: list[str] = []
    session = boto3.Session(region_name=REGION)

    def mark(params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
        context["public_only"] = any(k.startswith("RestorableBy") for k in params["body"])
        if context["public_only"] and not filtered:
            return _deny("UnauthorizedOperation")
        return None

    def keep_public(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if context.get("public_only") and "Snapshots" in parsed:
            parsed["Snapshots"] = [s for s in parsed["Snapshots"] if s["SnapshotId"] == public_id]

    session.events.register("before-call.ec2.DescribeSnapshots", mark)
    session.events.register("after-call.ec2.DescribeSnapshots", keep_public)
    session.events.register(
        "before-call.ec2.DescribeSnapshotAttribute", lambda params, **_: attribute_calls.append(params["body"])
    )
    targets = resolve_targets(session, [AccountSpec(id=None, name="test")])
    inventory = collect_aws(targets, regions=[REGION], resource_types=["aws.ec2.snapshot"], max_workers=2)
    return inventory, attribute_calls


def test_public_snapshots_come_from_one_filtered_listing(world: World):
    inventory, attribute_calls = _snapshot_scan(world, filtered=True)
    by_id = {r.id: r for r in inventory.resources}
    assert by_id[world.ids["public-snap"]].properties["is_public"] is True
    for name in ("private-snap", "shared-snap", "denied-snap"):
        assert by_id[world.ids[name]].properties["is_public"] is False
    assert attribute_calls == []  # no per-snapshot call


def test_snapshot_listing_denied_falls_back_to_each_snapshot(world: World):
    inventory, attribute_calls = _snapshot_scan(world, filtered=False)
    by_id = {r.id: r for r in inventory.resources}
    assert by_id[world.ids["public-snap"]].properties["is_public"] is True
    assert by_id[world.ids["shared-snap"]].properties["is_public"] is False
    assert len(attribute_calls) == len(by_id)


def test_flow_log_listing_denied_makes_the_flow_log_rule_error(world: World, rules: list[Rule]):
    vpcs = [r for r in world.no_flow_logs.resources if r.type == "aws.ec2.vpc"]
    assert len(vpcs) >= 3  # the VPCs are still collected
    results = outcomes(rules, vpcs)
    assert {results[("aws-ec2-vpc-flow-logs-enabled", v.id)] for v in vpcs} == {ERROR}


def test_flow_logs_are_listed_once_per_region(world: World):
    good = world.get("good-vpc").properties
    assert good["flow_logs_enabled"] is True
    assert [f["TrafficType"] for f in good["flow_logs"]] == ["REJECT"]
    assert world.get("default-vpc").properties["flow_logs"] == []


# Pure tests of the normalisation and the order-aware ACL evaluation, on hand-written API answers.


def test_normalise_permissions_protocol_numbers_and_icmp():
    perms = normalise_permissions(
        [
            {"IpProtocol": "6", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
            {"IpProtocol": "udp", "FromPort": 0, "ToPort": 65535, "UserIdGroupPairs": [{"GroupId": "sg-1"}]},
        ]
    )
    assert [(p["protocol"], p["from_port"], p["to_port"], p["all_ports"]) for p in perms] == [
        ("tcp", 3389, 3389, False),
        ("icmp", None, None, False),
        ("udp", 0, 65535, True),
    ]
    assert perms[2]["source_groups"] == ["sg-1"]


def _acl(*entries: tuple[int, str, str, tuple[int, int] | None, str]) -> list[dict[str, Any]]:
    raw = []
    for number, protocol, action, ports, cidr in entries:
        entry: dict[str, Any] = {"RuleNumber": number, "Protocol": protocol, "RuleAction": action, "Egress": False}
        entry["Ipv6CidrBlock" if ":" in cidr else "CidrBlock"] = cidr
        if ports:
            entry["PortRange"] = {"From": ports[0], "To": ports[1]}
        raw.append(entry)
    raw.append({"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": True, "CidrBlock": "0.0.0.0/0"})
    return normalise_acl_entries(raw, egress=False)


@pytest.mark.parametrize(
    ("entries", "opens"),
    [
        ([(100, "-1", "allow", None, "0.0.0.0/0")], True),
        ([(200, "-1", "allow", None, "0.0.0.0/0"), (100, "-1", "deny", None, "0.0.0.0/0")], False),
        ([(100, "6", "deny", (22, 22), "0.0.0.0/0"), (200, "6", "allow", (0, 1024), "0.0.0.0/0")], False),
        ([(100, "6", "deny", (22, 22), "0.0.0.0/0"), (200, "6", "allow", (0, 4000), "0.0.0.0/0")], True),
        ([(100, "6", "deny", (1, 1000), "10.0.0.0/8"), (200, "6", "allow", (22, 22), "0.0.0.0/0")], True),
        ([(100, "6", "allow", (22, 22), "192.0.2.0/24")], False),
        ([(100, "6", "allow", (80, 443), "0.0.0.0/0")], False),
        ([(100, "17", "allow", (3389, 3389), "::/0")], True),
        ([(32767, "-1", "deny", None, "0.0.0.0/0")], False),
    ],
)
def test_first_world_allow_respects_rule_order(entries: list[Any], opens: bool):
    found = first_world_allow(_acl(*entries), ports=[22, 3389], protocols=["tcp", "udp"], families=["ipv4", "ipv6"])
    assert (found is not None) is opens
