"""IAM collectors and the CIS 1.4-1.19 rules against moto in-process.

moto cannot produce some facts, so the scans below add them to moto's real answers with botocore
``after-call`` hooks (the answer AWS would give, built by the test) and say so where they do:

- the credential report has no ``<root_account>`` row, the account summary always reports no root MFA and
  no root keys, and ListVirtualMFADevices cannot hold a device assigned to the root: root facts (CIS
  1.4-1.7) are therefore written into those three answers;
- every server certificate expires in 2012 (hard-coded), so a valid one gets a future Expiration;
- AWS managed policies are not loaded (MOTO_IAM_LOAD_MANAGED_POLICIES is slow and process-wide), so
  AWSSupportAccess is registered in moto's IAM backend as the one AWS managed policy the test needs.

Ageing uses freezegun around creation (users, passwords, keys) and around a request signed with a key
(moto then records it as that key's last use); moto documents ``User.password_last_used`` as settable.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from freezegun import freeze_time
from moto import mock_aws
from moto.iam.models import AWSManagedPolicy, iam_backends

from skywarden.rules.checks.iam import full_admin_statements, iam_policy_no_full_admin
from skywarden.rules.model import Outcome, Rule
from skywarden.rules.operators import EvalError
from skywarden.scanners.aws import iam as iam_scanner
from skywarden.scanners.aws.context import AwsContext
from skywarden.scanners.aws.scan import collect_aws
from skywarden.scanners.aws.session import AccountSpec, resolve_targets
from skywarden.scanners.model import Inventory, Resource
from tests.support.aws import ACCOUNT, outcomes, pack_rules

NOW = datetime.now(UTC)
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/"
ROOT_ID = f"arn:aws:iam::{ACCOUNT}:root"
PASSWORD_POLICY_ID = f"arn:aws:iam::{ACCOUNT}:password-policy"
ACCOUNT_ID = f"arn:aws:iam::{ACCOUNT}:account"
IAM_TYPES = [
    "aws.iam.user",
    "aws.iam.root",
    "aws.iam.password_policy",
    "aws.iam.policy",
    "aws.iam.account",
    "aws.iam.server_certificate",
]
Hook = tuple[str, Callable[..., Any]]


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


READ_S3 = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}
ALL_ON_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}
TRUST_EC2 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


@dataclass
class World:
    rules: list[Rule] = field(default_factory=list)
    main: Inventory = field(default_factory=lambda: Inventory(provider="aws"))
    # (scenario, resource id) -> outcome, for the rules of aws/iam.yaml
    results: dict[tuple[str, str, str], Outcome] = field(default_factory=dict)
    resources: dict[tuple[str, str], Resource] = field(default_factory=dict)


def _scan(label: str, world: World, types: list[str], hooks: tuple[Hook, ...] = ()) -> Inventory:
    session = boto3.Session(region_name="us-east-1")
    for event, handler in hooks:
        session.events.register(event, handler)
    targets = resolve_targets(session, [AccountSpec(id=None, name="test")])
    inventory = collect_aws(targets, regions=["us-east-1"], resource_types=types, max_workers=4)
    assert inventory.gaps == [], inventory.gaps
    for (rule_id, resource_id), outcome in outcomes(world.rules, inventory.resources).items():
        world.results[(label, rule_id, resource_id)] = outcome
    for resource in inventory.resources:
        world.resources[(label, resource.id)] = resource
    return inventory


def _use_key(key: dict[str, str], when: datetime) -> None:
    """A request signed with the key; moto records it as the key's last use, at the frozen time."""
    with freeze_time(when):
        boto3.client(
            "sts",
            region_name="us-east-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        ).get_caller_identity()


def _root_hooks(mfa: bool, keys: bool, virtual_root_device: bool, root_row: str) -> tuple[Hook, ...]:
    """Root facts moto cannot represent, written into moto's own answers as AWS would give them."""

    def summary(parsed: dict[str, Any], **_: Any) -> None:
        parsed["SummaryMap"]["AccountMFAEnabled"] = int(mfa)
        parsed["SummaryMap"]["AccountAccessKeysPresent"] = int(keys)

    def devices(parsed: dict[str, Any], **_: Any) -> None:
        if virtual_root_device:
            parsed["VirtualMFADevices"].append(
                {
                    "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device",
                    "User": {"Arn": ROOT_ID, "UserId": ACCOUNT},
                    "EnableDate": NOW - timedelta(days=300),
                }
            )

    def report(parsed: dict[str, Any], **_: Any) -> None:
        header, _, rest = parsed["Content"].decode().partition("\n")
        parsed["Content"] = f"{header}\n{root_row}\n{rest}".encode()

    return (
        ("after-call.iam.GetAccountSummary", summary),
        ("after-call.iam.ListVirtualMFADevices", devices),
        ("after-call.iam.GetCredentialReport", report),
    )


def _root_row(password_last_used: str, key_1_last_used: str) -> str:
    # The 22 credential report columns, for the root user as AWS writes them.
    key_1_rotated = "N/A" if key_1_last_used == "N/A" else "2020-01-01T00:00:00+00:00"
    key_1_active = "false" if key_1_last_used == "N/A" else "true"
    return (
        f"<root_account>,{ROOT_ID},2015-01-01T00:00:00+00:00,not_supported,{password_last_used},not_supported,"
        f"not_supported,true,{key_1_active},{key_1_rotated},{key_1_last_used},N/A,N/A,false,N/A,N/A,N/A,N/A,"
        "false,N/A,false,N/A"
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _valid_certificate(parsed: dict[str, Any], **_: Any) -> None:
    # moto answers Expiration 2012-05-08 for every certificate.
    for cert in parsed["ServerCertificateMetadataList"]:
        if cert["ServerCertificateName"] == "valid-cert":
            cert["Expiration"] = NOW + timedelta(days=200)


def _register_support_policy() -> str:
    # The one AWS managed policy the test needs, registered the way moto loads its managed policies.
    backend = iam_backends[ACCOUNT]["aws"]
    policy = AWSManagedPolicy.from_data(
        "AWSSupportAccess",
        ACCOUNT,
        "us-east-1",
        {
            "DefaultVersionId": "v1",
            "Path": "/",
            "Document": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "support:*", "Resource": "*"}],
            },
            "CreateDate": "2015-01-01T00:00:00+00:00",
            "UpdateDate": "2015-01-01T00:00:00+00:00",
        },
    )
    backend.managed_policies[policy.arn] = policy
    return policy.arn


def _seed(iam: Any) -> None:
    backend = iam_backends[ACCOUNT]["aws"]
    policy_arns = {
        name: iam.create_policy(PolicyName=name, PolicyDocument=_doc(*statements))["Policy"]["Arn"]
        for name, statements in {
            "s3-read": [READ_S3],
            "admin-star": [ALL_ON_ALL],  # attached to a group
            "admin-list": [READ_S3, {"Effect": "Allow", "Action": ["s3:*", "*"], "Resource": ["*"]}],  # a role
            "deny-star": [{"Effect": "Deny", "Action": "*", "Resource": "*"}],  # attached to a role
            "admin-unattached": [ALL_ON_ALL],
        }.items()
    }
    iam.create_group(GroupName="readers")
    iam.attach_group_policy(GroupName="readers", PolicyArn=policy_arns["s3-read"])
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=policy_arns["admin-star"])
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST_EC2)
    iam.attach_role_policy(RoleName="app", PolicyArn=policy_arns["admin-list"])
    iam.attach_role_policy(RoleName="app", PolicyArn=policy_arns["deny-star"])

    with freeze_time(NOW - timedelta(days=120)):
        for name in ("alice", "bob", "carol"):  # console users set up four months ago
            iam.create_user(UserName=name)
            iam.create_login_profile(UserName=name, Password="Correct-Horse-42")
        bob_key = iam.create_access_key(UserName="bob")["AccessKey"]  # created at setup, never used
        iam.create_user(UserName="svc-stale")
        stale_key = iam.create_access_key(UserName="svc-stale")["AccessKey"]
        iam.update_access_key(
            UserName="svc-stale",
            AccessKeyId=iam.create_access_key(UserName="svc-stale")["AccessKey"]["AccessKeyId"],
            Status="Inactive",
        )
        iam.create_user(UserName="svc-rotated")
        old_key = iam.create_access_key(UserName="svc-rotated")["AccessKey"]
        iam.update_access_key(UserName="svc-rotated", AccessKeyId=old_key["AccessKeyId"], Status="Inactive")
    with freeze_time(NOW - timedelta(days=10)):
        alice_key = iam.create_access_key(UserName="alice")["AccessKey"]
        iam.create_user(UserName="dave")  # a console user who has not signed in yet
        iam.create_login_profile(UserName="dave", Password="Correct-Horse-42")
    assert bob_key["Status"] == "Active"

    _use_key(alice_key, NOW - timedelta(days=1))
    _use_key(stale_key, NOW - timedelta(days=60))
    _use_key(iam.create_access_key(UserName="svc-rotated")["AccessKey"], NOW - timedelta(hours=1))
    iam.create_user(UserName="svc-two-keys")
    iam.create_access_key(UserName="svc-two-keys")
    iam.create_access_key(UserName="svc-two-keys")

    for name in ("alice", "carol"):
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(
            UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
        )
    backend.users["alice"].password_last_used = NOW - timedelta(days=1)
    backend.users["carol"].password_last_used = NOW - timedelta(days=60)
    iam.add_user_to_group(GroupName="readers", UserName="alice")
    iam.attach_user_policy(UserName="bob", PolicyArn=policy_arns["s3-read"])
    iam.put_user_policy(UserName="carol", PolicyName="inline", PolicyDocument=_doc(READ_S3))

    iam.update_account_password_policy(MinimumPasswordLength=8, PasswordReusePrevention=5)
    for name in ("expired-cert", "valid-cert"):
        iam.upload_server_certificate(ServerCertificateName=name, CertificateBody="body", PrivateKey="key")


@pytest.fixture(scope="module")
def iam_rules() -> list[Rule]:
    return pack_rules("aws/iam.yaml")  # loading the catalogues costs about a second: once per module


@pytest.fixture(scope="module")
def world(iam_rules: list[Rule]) -> World:
    # Everything is scanned inside one moto session that ends here, so later tests start from a clean moto.
    result = World(rules=iam_rules)
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        _scan("no-policy", result, ["aws.iam.password_policy"])
        _seed(iam)
        result.main = _scan("main", result, IAM_TYPES, (("after-call.iam.ListServerCertificates", _valid_certificate),))

        iam.update_account_password_policy(MinimumPasswordLength=14, PasswordReusePrevention=24)
        _scan("strong-policy", result, ["aws.iam.password_policy"])
        iam.create_role(RoleName="support", AssumeRolePolicyDocument=TRUST_EC2)
        iam.attach_role_policy(RoleName="support", PolicyArn=_register_support_policy())
        _scan("support-role", result, ["aws.iam.account"])

        # Root scenarios (see the module docstring): keys + virtual MFA + used an hour ago, then hardware
        # MFA and last used long ago.
        recent = _root_row(_iso(NOW - timedelta(hours=1)), "N/A")
        _scan("root-virtual", result, ["aws.iam.root"], _root_hooks(True, True, True, recent))
        old = _root_row(_iso(NOW - timedelta(days=100)), _iso(NOW - timedelta(days=200)))
        _scan("root-hardware", result, ["aws.iam.root"], _root_hooks(True, False, False, old))
        used_key = _root_row(_iso(NOW - timedelta(days=100)), _iso(NOW - timedelta(days=2)))
        _scan("root-key-used", result, ["aws.iam.root"], _root_hooks(True, True, False, used_key))
    return result


CASES = [
    # CIS 1.4, 1.5, 1.6, 1.7: the root user ("main" is moto's own answer: no keys, no MFA)
    ("main", "aws-iam-root-no-access-keys", ROOT_ID, Outcome.PASS),
    ("root-virtual", "aws-iam-root-no-access-keys", ROOT_ID, Outcome.FAIL),
    ("main", "aws-iam-root-mfa-enabled", ROOT_ID, Outcome.FAIL),
    ("root-virtual", "aws-iam-root-mfa-enabled", ROOT_ID, Outcome.PASS),
    ("main", "aws-iam-root-hardware-mfa", ROOT_ID, Outcome.FAIL),
    ("root-virtual", "aws-iam-root-hardware-mfa", ROOT_ID, Outcome.FAIL),
    ("root-hardware", "aws-iam-root-hardware-mfa", ROOT_ID, Outcome.PASS),
    ("root-virtual", "aws-iam-root-not-used-recently", ROOT_ID, Outcome.FAIL),
    ("root-key-used", "aws-iam-root-not-used-recently", ROOT_ID, Outcome.FAIL),
    ("root-hardware", "aws-iam-root-not-used-recently", ROOT_ID, Outcome.PASS),
    # moto's report has no root row: unknown, so ERROR rather than a pass
    ("main", "aws-iam-root-not-used-recently", ROOT_ID, Outcome.ERROR),
    # CIS 1.8, 1.9: no policy, a weak one, a CIS one
    ("no-policy", "aws-iam-password-policy-min-length-14", PASSWORD_POLICY_ID, Outcome.FAIL),
    ("main", "aws-iam-password-policy-min-length-14", PASSWORD_POLICY_ID, Outcome.FAIL),
    ("strong-policy", "aws-iam-password-policy-min-length-14", PASSWORD_POLICY_ID, Outcome.PASS),
    ("no-policy", "aws-iam-password-policy-reuse-24", PASSWORD_POLICY_ID, Outcome.FAIL),
    ("main", "aws-iam-password-policy-reuse-24", PASSWORD_POLICY_ID, Outcome.FAIL),
    ("strong-policy", "aws-iam-password-policy-reuse-24", PASSWORD_POLICY_ID, Outcome.PASS),
    # CIS 1.10
    ("main", "aws-iam-user-console-mfa", USER_ARN + "alice", Outcome.PASS),
    ("main", "aws-iam-user-console-mfa", USER_ARN + "bob", Outcome.FAIL),
    ("main", "aws-iam-user-console-mfa", USER_ARN + "svc-stale", Outcome.NOT_APPLICABLE),
    # CIS 1.11
    ("main", "aws-iam-user-no-unused-initial-access-key", USER_ARN + "alice", Outcome.PASS),
    ("main", "aws-iam-user-no-unused-initial-access-key", USER_ARN + "dave", Outcome.PASS),
    ("main", "aws-iam-user-no-unused-initial-access-key", USER_ARN + "bob", Outcome.FAIL),
    ("main", "aws-iam-user-no-unused-initial-access-key", USER_ARN + "svc-two-keys", Outcome.NOT_APPLICABLE),
    # CIS 1.12: passwords (used yesterday / never used, set 10 days ago / used 60 days ago / never, 120 days)
    ("main", "aws-iam-user-console-password-unused-45-days", USER_ARN + "alice", Outcome.PASS),
    ("main", "aws-iam-user-console-password-unused-45-days", USER_ARN + "dave", Outcome.PASS),
    ("main", "aws-iam-user-console-password-unused-45-days", USER_ARN + "carol", Outcome.FAIL),
    ("main", "aws-iam-user-console-password-unused-45-days", USER_ARN + "bob", Outcome.FAIL),
    # CIS 1.12: keys (used yesterday / new, unused / old but inactive / used 60 days ago / never, 120 days)
    ("main", "aws-iam-user-access-key-unused-45-days", USER_ARN + "alice", Outcome.PASS),
    ("main", "aws-iam-user-access-key-unused-45-days", USER_ARN + "svc-two-keys", Outcome.PASS),
    ("main", "aws-iam-user-access-key-unused-45-days", USER_ARN + "svc-rotated", Outcome.PASS),
    ("main", "aws-iam-user-access-key-unused-45-days", USER_ARN + "svc-stale", Outcome.FAIL),
    ("main", "aws-iam-user-access-key-unused-45-days", USER_ARN + "bob", Outcome.FAIL),
    # CIS 1.13
    ("main", "aws-iam-user-single-active-access-key", USER_ARN + "alice", Outcome.PASS),
    ("main", "aws-iam-user-single-active-access-key", USER_ARN + "svc-stale", Outcome.PASS),  # 1 of 2 active
    ("main", "aws-iam-user-single-active-access-key", USER_ARN + "carol", Outcome.PASS),  # no keys
    ("main", "aws-iam-user-single-active-access-key", USER_ARN + "svc-two-keys", Outcome.FAIL),
    # CIS 1.14
    ("main", "aws-iam-user-access-key-rotated-90-days", USER_ARN + "alice", Outcome.PASS),
    ("main", "aws-iam-user-access-key-rotated-90-days", USER_ARN + "svc-rotated", Outcome.PASS),  # old is inactive
    ("main", "aws-iam-user-access-key-rotated-90-days", USER_ARN + "svc-stale", Outcome.FAIL),
    ("main", "aws-iam-user-access-key-rotated-90-days", USER_ARN + "bob", Outcome.FAIL),
    # CIS 1.15
    ("main", "aws-iam-user-permissions-through-groups", USER_ARN + "alice", Outcome.PASS),
    ("main", "aws-iam-user-permissions-through-groups", USER_ARN + "bob", Outcome.FAIL),  # attached
    ("main", "aws-iam-user-permissions-through-groups", USER_ARN + "carol", Outcome.FAIL),  # inline
    # CIS 1.16
    ("main", "aws-iam-policy-no-full-admin", POLICY_ARN + "s3-read", Outcome.PASS),
    ("main", "aws-iam-policy-no-full-admin", POLICY_ARN + "deny-star", Outcome.PASS),
    ("main", "aws-iam-policy-no-full-admin", POLICY_ARN + "admin-star", Outcome.FAIL),
    ("main", "aws-iam-policy-no-full-admin", POLICY_ARN + "admin-list", Outcome.FAIL),
    ("main", "aws-iam-policy-no-full-admin", POLICY_ARN + "admin-unattached", Outcome.NOT_APPLICABLE),
    # CIS 1.17
    ("main", "aws-iam-support-role-exists", ACCOUNT_ID, Outcome.FAIL),
    ("support-role", "aws-iam-support-role-exists", ACCOUNT_ID, Outcome.PASS),
    # CIS 1.19
    (
        "main",
        "aws-iam-server-certificate-not-expired",
        f"arn:aws:iam::{ACCOUNT}:server-certificate/expired-cert",
        Outcome.FAIL,
    ),
    (
        "main",
        "aws-iam-server-certificate-not-expired",
        f"arn:aws:iam::{ACCOUNT}:server-certificate/valid-cert",
        Outcome.PASS,
    ),
]


@pytest.mark.parametrize(("scenario", "rule_id", "resource_id", "expected"), CASES)
def test_rule_outcome(world: World, scenario: str, rule_id: str, resource_id: str, expected: Outcome) -> None:
    assert world.results[(scenario, rule_id, resource_id)] is expected


def test_every_rule_has_a_pass_and_a_fail_case(world: World) -> None:
    seen: dict[str, set[Outcome]] = {}
    for _, rule_id, _, expected in CASES:
        seen.setdefault(rule_id, set()).add(expected)
    rule_ids = {rule.id for rule in world.rules}
    assert set(seen) == rule_ids
    assert [r for r in sorted(rule_ids) if not {Outcome.PASS, Outcome.FAIL} <= seen[r]] == []


def test_collected_properties(world: World) -> None:
    assert {r.type for r in world.main.resources} == set(IAM_TYPES)
    alice = world.resources[("main", USER_ARN + "alice")].properties
    assert alice["password_enabled"] is True and alice["mfa_active"] is True
    assert alice["groups"] == ["readers"]
    [key] = alice["access_keys"]
    assert key["active"] is True and key["slot"] == 1 and key["last_used_date"] is not None
    stale = world.resources[("main", USER_ARN + "svc-stale")].properties
    assert [k["active"] for k in stale["access_keys"]] == [True, False]
    assert stale["password_enabled"] is False
    bob = world.resources[("main", USER_ARN + "bob")].properties
    assert bob["attached_policy_arns"] == [POLICY_ARN + "s3-read"]
    assert world.resources[("main", USER_ARN + "carol")].properties["inline_policy_names"] == ["inline"]
    policy = world.resources[("main", POLICY_ARN + "admin-star")]
    assert policy.name == "admin-star" and policy.properties["AttachmentCount"] == 1
    assert policy.properties["document"]["Statement"] == [ALL_ON_ALL]
    assert world.resources[("no-policy", PASSWORD_POLICY_ID)].properties == {"exists": False}
    assert world.resources[("support-role", ACCOUNT_ID)].properties["support_roles"] == [
        f"arn:aws:iam::{ACCOUNT}:role/support"
    ]
    root = world.resources[("root-virtual", ROOT_ID)].properties
    assert root["virtual_mfa"] is True and root["hardware_mfa_enabled"] is False
    assert world.resources[("main", ROOT_ID)].properties["_errors"]["password_last_used"] == "NotInCredentialReport"
    assert all(r.region == "global" for r in world.main.resources)


# -- failures of single sub-calls -----------------------------------------------------------------------


def _deny(parsed_error: str = "AccessDenied") -> Callable[..., tuple[AWSResponse, dict[str, Any]]]:
    def handler(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Code": parsed_error, "Message": "denied by the test"}
        return AWSResponse("https://iam", 403, {}, None), {"Error": error, "ResponseMetadata": {}}

    return handler


def test_unreadable_credential_report_makes_credential_rules_error(iam_rules: list[Rule]) -> None:
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="erin")
        iam.attach_user_policy(
            UserName="erin", PolicyArn=iam.create_policy(PolicyName="p", PolicyDocument=_doc(READ_S3))["Policy"]["Arn"]
        )
        denied = World(rules=iam_rules)
        _scan(
            "denied",
            denied,
            ["aws.iam.user", "aws.iam.root"],
            (("before-call.iam.GenerateCredentialReport", _deny()), ("before-call.iam.ListVirtualMFADevices", _deny())),
        )
    erin = USER_ARN + "erin"
    assert denied.resources[("denied", erin)].properties["_errors"]["access_keys"] == "AccessDenied"
    assert denied.results[("denied", "aws-iam-user-access-key-rotated-90-days", erin)] is Outcome.ERROR
    assert denied.results[("denied", "aws-iam-user-console-mfa", erin)] is Outcome.ERROR
    # What the authorization details tell is still judged.
    assert denied.results[("denied", "aws-iam-user-permissions-through-groups", erin)] is Outcome.FAIL
    assert denied.results[("denied", "aws-iam-root-hardware-mfa", ROOT_ID)] is Outcome.ERROR
    assert denied.results[("denied", "aws-iam-root-no-access-keys", ROOT_ID)] is Outcome.PASS


def test_credential_report_wait_is_bounded() -> None:
    waits: list[float] = []

    def started(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://iam", 200, {}, None), {"State": "STARTED", "ResponseMetadata": {}}

    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.events.register("before-call.iam.GenerateCredentialReport", started)
        [target] = resolve_targets(session, [AccountSpec(id=None, name="test")])
        assert target.clients is not None
        report = iam_scanner.credential_report(AwsContext(target.clients, "global"), waits.append, max_wait_s=5)
    assert report.error == "CredentialReportTimeout" and report.rows == {}
    assert sum(waits) >= 5 and sum(waits[:-1]) < 5 and max(waits) <= 4


def test_password_policy_error_other_than_missing_is_a_coverage_gap() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.events.register("before-call.iam.GetAccountPasswordPolicy", _deny())
        targets = resolve_targets(session, [AccountSpec(id=None, name="test")])
        inventory = collect_aws(targets, regions=["us-east-1"], resource_types=["aws.iam.password_policy"])
    assert inventory.resources == []
    gaps = [(gap.resource_types, gap.error_class) for gap in inventory.gaps]
    assert gaps == [(("aws.iam.password_policy",), "AccessDenied")]


# -- the policy document check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "admin"),
    [
        ({"Statement": ALL_ON_ALL}, [0]),  # a single statement object
        ({"Statement": [READ_S3, {"Effect": "Allow", "Action": ["*"], "Resource": ["arn:x", "*"]}]}, [1]),
        ({"Statement": [{"Effect": "Allow", "Action": "*:*", "Resource": "*"}]}, [0]),
        (_doc(ALL_ON_ALL), [0]),  # a JSON string
        (
            "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%7D",
            [0],
        ),  # URL-encoded, as the raw API returns it
        ({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}, []),
        ({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}, []),
        ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::bucket/*"}]}, []),
        # NotAction is as broad as it gets but is not the "*:*" grant CIS 1.16 names: documented, not matched
        ({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}, []),
        ({"Statement": []}, []),
    ],
)
def test_full_admin_statements(document: Any, admin: list[int]) -> None:
    assert full_admin_statements(document) == admin


@pytest.mark.parametrize(
    "document", [{"Statement": "nonsense"}, {"Statement": [{"Effect": "Allow", "Action": 3}]}, "not json", ["a list"]]
)
def test_malformed_documents_raise(document: Any) -> None:
    with pytest.raises(EvalError):
        full_admin_statements(document)


def test_check_without_a_document_raises() -> None:
    resource = Resource("aws", ACCOUNT, "global", "aws.iam.policy", POLICY_ARN + "x", "x", {}, {"document": None})
    with pytest.raises(EvalError):
        iam_policy_no_full_admin(resource, {})


def test_parse_credential_report() -> None:
    text = (
        "user,password_enabled,password_last_used,access_key_1_last_rotated\n"
        "<root_account>,not_supported,2024-01-02T03:04:05+00:00,N/A\nu,true,no_information,2024-01-01T00:00:00+00:00\n"
    )
    rows = iam_scanner.parse_credential_report(text)
    assert rows["<root_account>"] == {
        "user": "<root_account>",
        "password_enabled": None,
        "password_last_used": "2024-01-02T03:04:05+00:00",
        "access_key_1_last_rotated": None,
    }
    assert rows["u"]["password_enabled"] is True and rows["u"]["password_last_used"] is None
    assert iam_scanner.report_access_keys(rows["u"])[0]["last_rotated"] == "2024-01-01T00:00:00+00:00"


def test_service_linked_roles_never_count_as_the_support_role() -> None:
    # RoleDetailList entries as GetAccountAuthorizationDetails returns them.
    slr = {
        "Path": "/aws-service-role/support.amazonaws.com/",
        "RoleName": "AWSServiceRoleForSupport",
        "Arn": "arn:aws:iam::123456789012:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport",
        "AttachedManagedPolicies": [
            {"PolicyName": "AWSSupportServiceRolePolicy",
             "PolicyArn": "arn:aws:iam::aws:policy/aws-service-role/AWSSupportServiceRolePolicy"},
            {"PolicyName": "AWSSupportAccess", "PolicyArn": "arn:aws:iam::aws:policy/AWSSupportAccess"},
        ],
    }
    people = {
        "Path": "/",
        "RoleName": "support",
        "Arn": "arn:aws:iam::123456789012:role/support",
        "AttachedManagedPolicies": [
            {"PolicyName": "AWSSupportAccess", "PolicyArn": "arn:aws:iam::aws:policy/AWSSupportAccess"}
        ],
    }
    copy = {**people, "Arn": "arn:aws:iam::123456789012:role/copy", "AttachedManagedPolicies": [
        {"PolicyName": "AWSSupportAccess", "PolicyArn": "arn:aws:iam::123456789012:policy/AWSSupportAccess"}]}
    support_roles = iam_scanner.support_roles
    assert support_roles([slr], "aws") == []
    assert support_roles([slr, people, copy], "aws") == ["arn:aws:iam::123456789012:role/support"]
    assert support_roles([people], "aws-us-gov") == []  # the policy ARN carries the partition
