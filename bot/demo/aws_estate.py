"""A realistic, deliberately misconfigured AWS estate for the demo, the end-to-end test and the benchmarks.

Only for moto: the caller has started moto (``mock_aws`` or a moto server behind ``AWS_ENDPOINT_URL``), and
these functions just make boto3 calls. ``seed_demo_estate`` builds one small company ("Acme") over two
regions with good and bad resources side by side, so a scan shows failures of every severity next to
resources that pass. ``seed_scaled_estate`` creates about N resources of the common types for benchmarks.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import boto3

DEMO_REGIONS = ("us-east-1", "eu-west-1")
ACCOUNT = "123456789012"  # moto's default account; only used to build ARNs moto expects to exist

# CIS AWS Foundations v3.0.0 section 4 metric filter patterns, as the benchmark prints them. The demo sets up
# four with alarms and one without, so section 4 shows both passing and failing controls.
CIS_FILTERS = {
    "unauthorized-api-calls": (
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && '
        '($.sourceIPAddress != "delivery.logs.amazonaws.com") && ($.eventName != "HeadBucket") }'
    ),
    "console-signin-without-mfa": (
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
        '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }'
    ),
    "root-account-usage": (
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }'
    ),
    "iam-policy-changes": (
        "{($.eventSource=iam.amazonaws.com) && (($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)"
        "||($.eventName=DeleteUserPolicy)||($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)"
        "||($.eventName=PutUserPolicy)||($.eventName=CreatePolicy)||($.eventName=DeletePolicy)"
        "||($.eventName=CreatePolicyVersion)||($.eventName=DeletePolicyVersion)||($.eventName=SetDefaultPolicyVersion)"
        "||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||($.eventName=AttachUserPolicy)"
        "||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||($.eventName=DetachGroupPolicy))}"
    ),
    "cloudtrail-config-changes": (
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) || ($.eventName = StopLogging) }"
    ),
}
ALARMED_FILTERS = ("unauthorized-api-calls", "root-account-usage", "iam-policy-changes", "cloudtrail-config-changes")


class _Seeder:
    """Clients per (service, region) and a tally of what was created."""

    def __init__(self, session: boto3.Session) -> None:
        self.session = session
        self.counts: Counter[str] = Counter()
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=region)
        return self._clients[key]

    def add(self, kind: str, count: int = 1) -> None:
        self.counts[kind] += count


def _tags(**tags: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def seed_demo_estate(session: boto3.Session, regions: Sequence[str] = DEMO_REGIONS) -> dict[str, Any]:
    """Create the Acme estate in moto (regions[0] is the well-kept one); return what was created, per type."""
    if not regions:
        raise ValueError("seed_demo_estate needs at least one region")
    primary = regions[0]
    secondary = regions[1] if len(regions) > 1 else regions[0]
    seeder = _Seeder(session)
    _seed_s3(seeder, primary, secondary)
    _seed_iam(seeder)
    keys = _seed_kms(seeder, primary, secondary)
    _seed_network(seeder, primary, keys["acme-prod-data"], prod=True)
    if secondary != primary:
        _seed_network(seeder, secondary, keys["acme-prod-data-eu"], prod=False)
    _seed_cloudtrail_and_monitoring(seeder, primary)
    _seed_rds(seeder, primary, secondary, keys)
    _seed_efs(seeder, primary, secondary)
    _seed_config_and_security_hub(seeder, primary)
    return {
        "regions": list(dict.fromkeys([primary, secondary])),
        "total": sum(seeder.counts.values()),
        "counts": dict(sorted(seeder.counts.items())),
    }


# --- S3 -----------------------------------------------------------------------------------------------


def _create_bucket(seeder: _Seeder, name: str, region: str, **tags: str) -> Any:
    s3 = seeder.client("s3", region)
    if region == "us-east-1":  # us-east-1 rejects an explicit LocationConstraint
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if tags:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags(**tags)})
    seeder.add("s3.bucket")
    return s3


def _tls_only_statement(name: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _put_tls_only_policy(s3: Any, name: str, extra: Sequence[dict[str, Any]] = ()) -> None:
    policy = {"Version": "2012-10-17", "Statement": [_tls_only_statement(name), *extra]}
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))


def _harden_bucket(
    s3: Any, name: str, log_bucket: str | None, extra: Sequence[dict[str, Any]] = (), policy: bool = True
) -> None:
    """The well-run bucket: TLS-only policy, default encryption, versioning, access logging, no public access."""
    if policy:
        _put_tls_only_policy(s3, name, extra)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]
        },
    )
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if log_bucket:
        s3.put_bucket_logging(
            Bucket=name,
            BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": log_bucket, "TargetPrefix": f"{name}/"}},
        )
    s3.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )


def _seed_s3(seeder: _Seeder, primary: str, secondary: str) -> None:
    # Access-log targets first: S3 refuses logging into a bucket the log-delivery group cannot write.
    log_buckets = {}
    for region, name in ((primary, "acme-s3-access-logs"), (secondary, "acme-s3-access-logs-eu")):
        if region in log_buckets:
            continue
        s3 = _create_bucket(seeder, name, region, env="prod", team="platform")
        s3.put_bucket_acl(Bucket=name, ACL="log-delivery-write")
        # Its TLS-only policy comes last: moto 5.2 crashes checking log-delivery rights on a policy whose
        # Principal is the string "*", which real S3 accepts.
        _harden_bucket(s3, name, None, policy=False)
        log_buckets[region] = name

    # Fine: hardened everywhere.
    for name, region, team in (
        ("acme-prod-logs", primary, "platform"),
        ("payments-invoices-archive", secondary, "payments"),
        ("acme-config-history", primary, "security"),
        ("acme-vpc-flow-logs", primary, "platform"),
    ):
        s3 = _create_bucket(seeder, name, region, env="prod", team=team)
        extra = []
        if name == "acme-config-history":
            extra = [_service_write_statement(name, "config.amazonaws.com")]
        _harden_bucket(s3, name, log_buckets[region], extra)

    # The CloudTrail bucket: private and encrypted, but no server access logging (CIS 3.4).
    trail_bucket = "acme-cloudtrail-logs"
    s3 = _create_bucket(seeder, trail_bucket, primary, env="prod", team="security")
    _harden_bucket(s3, trail_bucket, None, [_service_write_statement(trail_bucket, "cloudtrail.amazonaws.com")])

    for region, name in log_buckets.items():
        _put_tls_only_policy(seeder.client("s3", region), name)

    # Public through its ACL.
    s3 = _create_bucket(seeder, "acme-marketing-assets", secondary, env="prod", team="marketing")
    s3.put_bucket_acl(Bucket="acme-marketing-assets", ACL="public-read")
    # Public through its policy (a static website someone served straight from S3).
    s3 = _create_bucket(seeder, "acme-public-website", secondary, env="prod", team="web")
    website_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::acme-public-website/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket="acme-public-website", Policy=json.dumps(website_policy))
    # No encryption, no versioning, no policy: created by hand for a one-off export and forgotten.
    _create_bucket(seeder, "acme-data-exports", primary, env="prod", team="data")
    # Encrypted and versioned but without the TLS-only policy or a public access block.
    s3 = _create_bucket(seeder, "acme-staging-artifacts", secondary, env="staging", team="platform")
    s3.put_bucket_versioning(Bucket="acme-staging-artifacts", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket="acme-staging-artifacts",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    # The account-level S3 Block Public Access is deliberately left off (never configured).


def _service_write_statement(bucket: str, service: str) -> dict[str, Any]:
    return {
        "Sid": f"{service.split('.')[0]}Write",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": ["s3:GetBucketAcl", "s3:PutObject"],
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT}/*"],
    }


# --- IAM ----------------------------------------------------------------------------------------------


def _policy_document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _assume_role_document(service: str) -> str:
    return _policy_document({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def _seed_iam(seeder: _Seeder) -> None:
    iam = seeder.client("iam", "us-east-1")
    # Weak: 8 characters, no symbols, no reuse prevention (CIS 1.8 and 1.9 fail).
    iam.update_account_password_policy(
        MinimumPasswordLength=8,
        RequireSymbols=False,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True,
    )
    seeder.add("iam.password_policy")

    policies = {}
    for name, statement in (
        ("acme-full-admin", {"Effect": "Allow", "Action": "*", "Resource": "*"}),
        (
            "acme-developer-access",
            {"Effect": "Allow", "Action": ["ec2:Describe*", "logs:Get*", "logs:Describe*"], "Resource": "*"},
        ),
        (
            "acme-etl-s3-access",
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": "arn:aws:s3:::acme-data-exports/*",
            },
        ),
        (
            "acme-audit-readonly",
            {"Effect": "Allow", "Action": ["cloudtrail:LookupEvents", "config:Get*"], "Resource": "*"},
        ),
    ):
        arn = iam.create_policy(PolicyName=name, PolicyDocument=_policy_document(statement))["Policy"]["Arn"]
        policies[name] = arn
        seeder.add("iam.policy")

    for group, policy in (
        ("break-glass-admins", "acme-full-admin"),  # a *:* policy attached: CIS 1.16 fails on the policy
        ("developers", "acme-developer-access"),
        ("auditors", "acme-audit-readonly"),
    ):
        iam.create_group(GroupName=group)
        iam.attach_group_policy(GroupName=group, PolicyArn=policies[policy])
        seeder.add("iam.group")

    def user(name: str, team: str, groups: Sequence[str] = (), console: bool = False, keys: int = 0) -> None:
        iam.create_user(UserName=name, Tags=_tags(team=team))
        for group in groups:
            iam.add_user_to_group(GroupName=group, UserName=name)
        if console:
            iam.create_login_profile(UserName=name, Password="Correct-Horse-Battery-9")
        for _ in range(keys):
            iam.create_access_key(UserName=name)
        seeder.add("iam.user")

    user("alice.nguyen", "platform", ["break-glass-admins"], console=True)
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice.nguyen")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="alice.nguyen", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    user("bob.contractor", "marketing", ["developers"], console=True)  # console password, no MFA (CIS 1.10)
    user("ci-deploy", "platform", ["developers"], keys=2)  # two active keys (CIS 1.13)
    user("legacy-etl", "data", keys=1)
    iam.attach_user_policy(UserName="legacy-etl", PolicyArn=policies["acme-etl-s3-access"])  # direct (CIS 1.15)
    iam.put_user_policy(
        UserName="legacy-etl",
        PolicyName="inline-exports",
        PolicyDocument=_policy_document(
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::acme-data-exports"}
        ),
    )
    user("carol.smith", "payments", ["developers"])
    user("dave.okafor", "security", ["auditors"])
    user("svc-backup", "platform", ["auditors"], keys=1)

    for role, service in (
        ("acme-flow-logs-delivery", "vpc-flow-logs.amazonaws.com"),
        ("acme-config-recorder", "config.amazonaws.com"),
        ("acme-cloudtrail-to-cloudwatch", "cloudtrail.amazonaws.com"),
    ):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=_assume_role_document(service))
        seeder.add("iam.role")


# --- KMS ----------------------------------------------------------------------------------------------


def _seed_kms(seeder: _Seeder, primary: str, secondary: str) -> dict[str, str]:
    """Per region one key with rotation and one without; returns alias -> key ARN."""
    keys = {}
    for region, suffix in dict.fromkeys(((primary, ""), (secondary, "-eu"))):
        kms = seeder.client("kms", region)
        for alias, rotate in ((f"acme-prod-data{suffix}", True), (f"acme-legacy-app{suffix}", False)):
            meta = kms.create_key(Description=f"Acme {alias}", Tags=[{"TagKey": "team", "TagValue": "platform"}])[
                "KeyMetadata"
            ]
            kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=meta["KeyId"])
            if rotate:
                kms.enable_key_rotation(KeyId=meta["KeyId"])
            keys[alias] = meta["Arn"]
            seeder.add("kms.key")
    return keys


# --- EC2 / VPC ----------------------------------------------------------------------------------------


def _ami(ec2: Any) -> str:
    images = ec2.describe_images(Owners=["amazon"]).get("Images", [])
    if images:
        return str(images[0]["ImageId"])
    # moto started without its default AMIs: register a base image of our own.
    return str(
        ec2.register_image(Name="acme-base-al2023", RootDeviceName="/dev/xvda", Architecture="x86_64")["ImageId"]
    )


def _ingress(
    ec2: Any,
    group_id: str,
    port: int,
    cidr: str | None = None,
    cidr6: str | None = None,
    source_group: str | None = None,
) -> None:
    permission: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if cidr:
        permission["IpRanges"] = [{"CidrIp": cidr}]
    if cidr6:
        permission["Ipv6Ranges"] = [{"CidrIpv6": cidr6}]
    if source_group:
        permission["UserIdGroupPairs"] = [{"GroupId": source_group}]
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[permission])


def _vpc(seeder: _Seeder, ec2: Any, name: str, cidr: str, flow_logs: bool) -> tuple[str, str]:
    vpc_id = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": _tags(Name=name)}])[
        "Vpc"
    ]["VpcId"]
    seeder.add("ec2.vpc")
    subnet_id = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock=cidr.replace("0.0/16", "1.0/24"),
        TagSpecifications=[{"ResourceType": "subnet", "Tags": _tags(Name=f"{name}-private-a")}],
    )["Subnet"]["SubnetId"]
    seeder.add("ec2.subnet")
    if flow_logs:
        ec2.create_flow_logs(
            ResourceIds=[vpc_id],
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="s3",
            LogDestination="arn:aws:s3:::acme-vpc-flow-logs",
        )
        seeder.add("ec2.flow_log")
    return vpc_id, subnet_id


def _security_group(seeder: _Seeder, ec2: Any, vpc_id: str, name: str, description: str) -> str:
    group_id = ec2.create_security_group(
        GroupName=name,
        Description=description,
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": _tags(Name=name)}],
    )["GroupId"]
    seeder.add("ec2.security_group")
    return str(group_id)


def _seed_network(seeder: _Seeder, region: str, data_key: str, prod: bool) -> None:
    """The primary region is the well-kept production one; the secondary holds staging and the legacy mess."""
    ec2 = seeder.client("ec2", region)
    ami = _ami(ec2)
    seeder.add("ec2.default_vpc")  # moto creates a default VPC (no flow logs), default SG and NACL per region
    prefix = "acme-prod" if prod else "acme-eu"
    main_vpc, subnet = _vpc(seeder, ec2, f"{prefix}-vpc", "10.10.0.0/16" if prod else "10.30.0.0/16", flow_logs=True)
    other_vpc, other_subnet = _vpc(
        seeder,
        ec2,
        "acme-staging-vpc" if prod else "acme-eu-staging-vpc",
        "10.20.0.0/16" if prod else "10.40.0.0/16",
        flow_logs=False,
    )

    # CIS 5.4: the main VPC's default SG is emptied (pass); the other VPCs keep moto's default rules (fail).
    default_sg = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [main_vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )
    for group in default_sg["SecurityGroups"]:
        if group["IpPermissions"]:
            ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
        if group["IpPermissionsEgress"]:
            ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])

    web = _security_group(seeder, ec2, main_vpc, f"{prefix}-web-sg", "HTTPS from the internet")
    _ingress(ec2, web, 443, cidr="0.0.0.0/0", cidr6="::/0")
    app = _security_group(seeder, ec2, main_vpc, f"{prefix}-app-sg", "App tier, from the web tier only")
    _ingress(ec2, app, 8080, source_group=web)
    db = _security_group(seeder, ec2, main_vpc, "payments-db-sg" if prod else "orders-db-sg", "Postgres from app")
    _ingress(ec2, db, 5432, source_group=app)
    if prod:
        bastion = _security_group(seeder, ec2, main_vpc, "bastion-sg", "SSH bastion")
        _ingress(ec2, bastion, 22, cidr="0.0.0.0/0")  # CIS 5.2
        admin = _security_group(seeder, ec2, other_vpc, "vpn-admin-sg", "SSH from the office VPN only")
        _ingress(ec2, admin, 22, cidr="203.0.113.0/24")
    else:
        jump = _security_group(seeder, ec2, other_vpc, "windows-jump-sg", "RDP jump host")
        _ingress(ec2, jump, 3389, cidr6="::/0")  # CIS 5.3
        legacy = _security_group(seeder, ec2, other_vpc, "legacy-batch-sg", "Legacy batch workers")
        _ingress(ec2, legacy, 22, cidr="0.0.0.0/0")
        _ingress(ec2, legacy, 3389, cidr="0.0.0.0/0")

    # NACLs: the prod one allows only HTTPS from inside; the staging one allows SSH from anywhere (CIS 5.1).
    nacl_vpc, nacl_name = (main_vpc, f"{prefix}-private-nacl") if prod else (other_vpc, "acme-eu-staging-public-nacl")
    nacl = ec2.create_network_acl(
        VpcId=nacl_vpc, TagSpecifications=[{"ResourceType": "network-acl", "Tags": _tags(Name=nacl_name)}]
    )["NetworkAcl"]["NetworkAclId"]
    seeder.add("ec2.network_acl")
    ec2.create_network_acl_entry(
        NetworkAclId=nacl,
        RuleNumber=100,
        Protocol="6",
        RuleAction="allow",
        Egress=False,
        CidrBlock="10.10.0.0/16" if prod else "0.0.0.0/0",
        PortRange={"From": 443, "To": 443} if prod else {"From": 22, "To": 22},
    )

    # EBS: default encryption on in the primary region only (CIS 2.2.1).
    if prod:
        ec2.enable_ebs_encryption_by_default()
    seeder.add("ec2.regional_settings")

    # Instances: IMDSv2 required on the new ones, IMDSv1 still allowed on the legacy ones (CIS 5.6).
    instances = (
        [
            ("api-server-01", "required", subnet),
            ("api-server-02", "required", subnet),
            ("legacy-reporting-01", "optional", other_subnet),
        ]
        if prod
        else [("eu-web-01", "required", subnet), ("eu-batch-worker-01", "optional", other_subnet)]
    )
    for name, tokens, subnet_id in instances:
        ec2.run_instances(
            ImageId=ami,
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            SubnetId=subnet_id,
            MetadataOptions={"HttpTokens": tokens, "HttpEndpoint": "enabled"},
            TagSpecifications=[{"ResourceType": "instance", "Tags": _tags(Name=name)}],
        )
        seeder.add("ec2.instance")

    zone = f"{region}a"
    volumes = (
        [("api-data-01", True), ("api-data-02", True), ("legacy-reporting-scratch", False)]
        if prod
        else [("eu-batch-scratch", False), ("eu-web-data", True)]
    )
    volume_ids = {}
    for name, encrypted in volumes:
        volume_ids[name] = ec2.create_volume(
            AvailabilityZone=zone,
            Size=50,
            VolumeType="gp3",
            Encrypted=encrypted,
            # Acme's own key: without one moto invents alias/aws/ebs as a *customer* managed key (AWS manages
            # it), which the rotation rule would then flag.
            **({"KmsKeyId": data_key} if encrypted else {}),
            TagSpecifications=[{"ResourceType": "volume", "Tags": _tags(Name=name)}],
        )["VolumeId"]
        seeder.add("ec2.volume")

    # Snapshots: a private encrypted nightly backup, and (in the legacy region) one shared with everyone.
    source, public = ("api-data-01", False) if prod else ("eu-batch-scratch", True)
    snapshot = ec2.create_snapshot(
        VolumeId=volume_ids[source],
        Description=f"nightly backup of {source}",
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": _tags(Name=f"{source}-nightly")}],
    )["SnapshotId"]
    seeder.add("ec2.snapshot")
    if public:
        ec2.modify_snapshot_attribute(
            SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
        )


# --- CloudTrail, CloudWatch ---------------------------------------------------------------------------


def _seed_cloudtrail_and_monitoring(seeder: _Seeder, region: str) -> None:
    logs = seeder.client("logs", region)
    group = "acme-cloudtrail-events"
    logs.create_log_group(logGroupName=group, tags={"team": "security"})
    logs.put_retention_policy(logGroupName=group, retentionInDays=365)
    seeder.add("logs.log_group")

    # The organisation trail: multi-region, validated and delivering to CloudWatch Logs (so section 4 can
    # pass where a filter has an alarm), but not KMS-encrypted (CIS 3.5) and its bucket has no access logging.
    cloudtrail = seeder.client("cloudtrail", region)
    cloudtrail.create_trail(
        Name="acme-org-trail",
        S3BucketName="acme-cloudtrail-logs",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        IncludeGlobalServiceEvents=True,
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{group}:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/acme-cloudtrail-to-cloudwatch",
        TagsList=[{"Key": "team", "Value": "security"}],
    )
    # Set explicitly: moto answers a new trail with no selectors where AWS reports the default (all management
    # events). S3 object-level logging for writes only: CIS 3.8 passes, 3.9 (reads) fails.
    cloudtrail.put_event_selectors(
        TrailName="acme-org-trail",
        EventSelectors=[
            {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []},
            {
                "ReadWriteType": "WriteOnly",
                "IncludeManagementEvents": False,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
            },
        ],
    )
    cloudtrail.start_logging(Name="acme-org-trail")
    seeder.add("cloudtrail.trail")
    # A team's own trail from before the organisation trail: single-region, no log file validation, no KMS.
    # Same home region: a single-region trail homed elsewhere is only visible to describe_trails there.
    legacy = cloudtrail
    legacy.create_trail(
        Name="acme-legacy-audit-trail",
        S3BucketName="acme-cloudtrail-logs",
        IsMultiRegionTrail=False,
        EnableLogFileValidation=False,
        IncludeGlobalServiceEvents=False,
    )
    legacy.start_logging(Name="acme-legacy-audit-trail")
    seeder.add("cloudtrail.trail")

    sns = seeder.client("sns", region)
    topic = sns.create_topic(Name="acme-security-alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="security-oncall@acme.example")
    seeder.add("sns.topic")

    cloudwatch = seeder.client("cloudwatch", region)
    for name, pattern in CIS_FILTERS.items():
        metric = f"acme-{name}"
        logs.put_metric_filter(
            logGroupName=group,
            filterName=f"cis-{name}",
            filterPattern=pattern,
            metricTransformations=[{"metricName": metric, "metricNamespace": "CISBenchmark", "metricValue": "1"}],
        )
        seeder.add("logs.metric_filter")
        if name in ALARMED_FILTERS:
            cloudwatch.put_metric_alarm(
                AlarmName=f"cis-{name}",
                MetricName=metric,
                Namespace="CISBenchmark",
                Statistic="Sum",
                Period=300,
                EvaluationPeriods=1,
                Threshold=1,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                AlarmActions=[topic],
            )
            seeder.add("cloudwatch.alarm")


# --- RDS, EFS -----------------------------------------------------------------------------------------


def _seed_rds(seeder: _Seeder, primary: str, secondary: str, keys: dict[str, str]) -> None:
    instances = (
        # Public, unencrypted, no automated backups, no minor version upgrades: fails CIS 2.3.1-2.3.3.
        (
            primary,
            "payments-db",
            dict(
                PubliclyAccessible=True, StorageEncrypted=False, BackupRetentionPeriod=0, AutoMinorVersionUpgrade=False
            ),
            "payments",
        ),
        (
            primary,
            "analytics-db",
            dict(
                PubliclyAccessible=False,
                StorageEncrypted=True,
                BackupRetentionPeriod=14,
                AutoMinorVersionUpgrade=True,
                KmsKeyId=keys.get("acme-prod-data"),
            ),
            "data",
        ),
        (
            secondary,
            "orders-db",
            dict(
                PubliclyAccessible=False,
                StorageEncrypted=True,
                BackupRetentionPeriod=7,
                AutoMinorVersionUpgrade=True,
                KmsKeyId=keys.get("acme-prod-data-eu"),
            ),
            "orders",
        ),
    )
    for region, name, options, team in instances:
        rds = seeder.client("rds", region)
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass="db.t3.medium",
            Engine="postgres",
            EngineVersion="15.4",
            AllocatedStorage=100,
            MasterUsername="acme_admin",
            MasterUserPassword="not-a-real-password-1",
            Tags=_tags(team=team),
            **{k: v for k, v in options.items() if v is not None},
        )
        seeder.add("rds.db_instance")
    rds = seeder.client("rds", primary)
    rds.create_db_snapshot(DBSnapshotIdentifier="payments-db-pre-migration", DBInstanceIdentifier="payments-db")
    # Shared with everyone "for the vendor", years ago.
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier="payments-db-pre-migration", AttributeName="restore", ValuesToAdd=["all"]
    )
    seeder.add("rds.db_snapshot")
    rds = seeder.client("rds", secondary)
    rds.create_db_snapshot(DBSnapshotIdentifier="orders-db-weekly", DBInstanceIdentifier="orders-db")
    seeder.add("rds.db_snapshot")


def _seed_efs(seeder: _Seeder, primary: str, secondary: str) -> None:
    for region, name, encrypted in ((primary, "shared-media-efs", False), (secondary, "ml-datasets-efs", True)):
        seeder.client("efs", region).create_file_system(
            CreationToken=name, Encrypted=encrypted, PerformanceMode="generalPurpose", Tags=_tags(Name=name)
        )
        seeder.add("efs.file_system")


# --- Config, Security Hub -----------------------------------------------------------------------------


def _seed_config_and_security_hub(seeder: _Seeder, region: str) -> None:
    """Recording and Security Hub in the primary region only: every other region fails CIS 3.3 and 4.16."""
    config = seeder.client("config", region)
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/acme-config-recorder",
            "recordingGroup": {"allSupported": True, "includeGlobalResourceTypes": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "acme-config-history"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    seeder.add("config.recorder")
    seeder.client("securityhub", region).enable_security_hub(EnableDefaultStandards=True)
    seeder.add("securityhub.hub")


# --- Benchmark estate ---------------------------------------------------------------------------------

# Share of each type in a scaled estate, roughly what a mid-sized account holds.
# Each instance also brings its root volume (counted as a volume).
SCALED_MIX = (
    ("ec2.security_group", 0.23),
    ("ec2.volume", 0.15),
    ("ec2.snapshot", 0.10),
    ("ec2.instance", 0.05),
    ("iam.user", 0.14),
    ("iam.policy", 0.06),
    ("s3.bucket", 0.10),
    ("kms.key", 0.08),
    ("rds.db_instance", 0.02),
    ("rds.db_snapshot", 0.02),
)
INSTANCE_BATCH = 20


def scaled_plan(resources: int) -> dict[str, int]:
    """How many of each type ``seed_scaled_estate`` creates (instances add as many root volumes again)."""
    plan = {kind: int(resources * share) for kind, share in SCALED_MIX}
    root_volumes = plan["ec2.instance"]
    plan[SCALED_MIX[0][0]] += resources - sum(plan.values()) - root_volumes
    return plan


def seed_scaled_estate(session: boto3.Session, regions: Sequence[str], resources: int) -> dict[str, Any]:
    """Create about ``resources`` resources spread over ``regions``, every few of them misconfigured."""
    if not regions:
        raise ValueError("seed_scaled_estate needs at least one region")
    seeder = _Seeder(session)
    plan = scaled_plan(resources)

    def region_of(index: int) -> str:
        return regions[index % len(regions)]

    iam = seeder.client("iam", regions[0])
    for i in range(plan["iam.user"]):
        name = f"user-{i:05d}"
        iam.create_user(UserName=name)
        if i % 3 == 0:
            iam.create_access_key(UserName=name)
        seeder.add("iam.user")
    for i in range(plan["iam.policy"]):
        action = "*" if i % 10 == 0 else ["s3:GetObject", "s3:ListBucket"]
        iam.create_policy(
            PolicyName=f"policy-{i:05d}",
            PolicyDocument=_policy_document({"Effect": "Allow", "Action": action, "Resource": "*"}),
        )
        seeder.add("iam.policy")

    for i in range(plan["s3.bucket"]):
        region = region_of(i)
        name = f"bench-bucket-{i:05d}-{region}"
        s3 = seeder.client("s3", region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        if i % 2 == 0:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        seeder.add("s3.bucket")

    for i in range(plan["kms.key"]):
        kms = seeder.client("kms", region_of(i))
        key_id = kms.create_key(Description=f"bench key {i}")["KeyMetadata"]["KeyId"]
        if i % 2 == 0:
            kms.enable_key_rotation(KeyId=key_id)
        seeder.add("kms.key")

    for index, region in enumerate(regions):
        count = len(range(index, plan["ec2.instance"], len(regions)))
        ec2 = seeder.client("ec2", region)
        ami = _ami(ec2) if count else ""
        for batch, start in enumerate(range(0, count, INSTANCE_BATCH)):
            size = min(INSTANCE_BATCH, count - start)
            tokens = "optional" if batch % 3 == 0 else "required"
            ec2.run_instances(
                ImageId=ami,
                MinCount=size,
                MaxCount=size,
                InstanceType="t3.micro",
                MetadataOptions={"HttpTokens": tokens, "HttpEndpoint": "enabled"},
            )
            seeder.add("ec2.instance", size)
            seeder.add("ec2.volume", size)  # the root volume

    databases: dict[str, list[str]] = {region: [] for region in regions}
    for i in range(plan["rds.db_instance"]):
        region, name = region_of(i), f"bench-db-{i:05d}"
        seeder.client("rds", region).create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            AllocatedStorage=20,
            MasterUsername="bench",
            MasterUserPassword="bench-password-1",
            PubliclyAccessible=i % 5 == 0,
            StorageEncrypted=i % 4 != 0,
            BackupRetentionPeriod=0 if i % 6 == 0 else 7,
        )
        databases[region].append(name)
        seeder.add("rds.db_instance")
    for i in range(plan["rds.db_snapshot"]):
        region = region_of(i)
        if not databases[region]:
            continue
        rds = seeder.client("rds", region)
        snapshot = f"bench-db-snapshot-{i:05d}"
        source = databases[region][i // len(regions) % len(databases[region])]
        rds.create_db_snapshot(DBSnapshotIdentifier=snapshot, DBInstanceIdentifier=source)
        if i % 10 == 0:
            rds.modify_db_snapshot_attribute(
                DBSnapshotIdentifier=snapshot, AttributeName="restore", ValuesToAdd=["all"]
            )
        seeder.add("rds.db_snapshot")

    volumes: dict[str, list[str]] = {region: [] for region in regions}
    for i in range(plan["ec2.volume"]):
        region = region_of(i)
        volume = seeder.client("ec2", region).create_volume(AvailabilityZone=f"{region}a", Size=8, Encrypted=i % 3 != 0)
        volumes[region].append(volume["VolumeId"])
        seeder.add("ec2.volume")
    for i in range(plan["ec2.snapshot"]):
        region = region_of(i)
        source = volumes[region][i // len(regions) % len(volumes[region])] if volumes[region] else None
        if source is None:
            continue
        ec2 = seeder.client("ec2", region)
        snapshot = ec2.create_snapshot(VolumeId=source)["SnapshotId"]
        if i % 25 == 0:
            ec2.modify_snapshot_attribute(
                SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
            )
        seeder.add("ec2.snapshot")

    for i in range(plan["ec2.security_group"]):
        region = region_of(i)
        ec2 = seeder.client("ec2", region)
        # Security groups go into the default VPC, as most hand-made ones do.
        group_id = ec2.create_security_group(GroupName=f"bench-sg-{i:05d}", Description="bench")["GroupId"]
        _ingress(ec2, group_id, 22 if i % 10 == 0 else 443, cidr="0.0.0.0/0")
        seeder.add("ec2.security_group")

    return {
        "regions": list(regions),
        "total": sum(seeder.counts.values()),
        "counts": dict(sorted(seeder.counts.items())),
    }
