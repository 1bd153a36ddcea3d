"""CIS 4.1-4.15: the CloudWatch monitoring collector against moto, and the metric-filter check on edge cases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from skywarden.rules.model import Outcome, Rule
from skywarden.scanners.aws.context import AwsAccountClients, AwsContext
from skywarden.scanners.aws.monitoring import RESOURCE_TYPE, cis_monitoring
from skywarden.scanners.model import Inventory, Resource
from tests.support.aws import ACCOUNT, outcomes, pack_rules, scan_inventory

RESOURCE_ID = f"arn:aws:cloudwatch::{ACCOUNT}:cis-monitoring"

# CIS v3.0.0's own filter patterns, written as the benchmark prints them (spacing and quoting vary).
CIS_PATTERNS = {
    "4.1": '{($.errorCode ="*UnauthorizedOperation") || ($.errorCode ="AccessDenied*") && '
    '($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket") }',
    "4.2": '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && '
    '($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
    "4.3": '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
    '$.eventType != "AwsServiceEvent" }',
    "4.4": "{($.eventName=DeleteGroupPolicy)||($.eventName=DeleteRolePolicy)||($.eventName=DeleteUserPolicy)||"
    "($.eventName=PutGroupPolicy)||($.eventName=PutRolePolicy)||($.eventName=PutUserPolicy)||"
    "($.eventName=CreatePolicy)||($.eventName=DeletePolicy)||($.eventName=CreatePolicyVersion)||"
    "($.eventName=DeletePolicyVersion)||($.eventName=AttachRolePolicy)||($.eventName=DetachRolePolicy)||"
    "($.eventName=AttachUserPolicy)||($.eventName=DetachUserPolicy)||($.eventName=AttachGroupPolicy)||"
    "($.eventName=DetachGroupPolicy)}",
    "4.5": "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
    "($.eventName = StartLogging) || ($.eventName = StopLogging) }",
    "4.6": '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
    "4.7": "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }",
    "4.8": "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) "
    "|| ($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) "
    "|| ($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || "
    "($.eventName = DeleteBucketLifecycle) || ($.eventName = DeleteBucketReplication)) }",
    "4.9": "{ ($.eventSource = config.amazonaws.com) && (($.eventName=StopConfigurationRecorder)||"
    "($.eventName=DeleteDeliveryChannel) ||($.eventName=PutDeliveryChannel)||($.eventName=PutConfigurationRecorder)) }",
    "4.10": "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || "
    "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || "
    "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) || "
    "($.eventName = ModifySecurityGroupRules) }",
    "4.11": "{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || "
    "($.eventName = DeleteNetworkAcl) || ($.eventName = DeleteNetworkAclEntry) || "
    "($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }",
    "4.12": "{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || "
    "($.eventName = AttachInternetGateway) || ($.eventName = CreateInternetGateway) || "
    "($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }",
    "4.13": "{($.eventSource = ec2.amazonaws.com) && ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) "
    "|| ($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || "
    "($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable) }",
    "4.14": "{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || "
    "($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || "
    "($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) || "
    "($.eventName = AttachClassicLinkVpc) || ($.eventName = DetachClassicLinkVpc) || "
    "($.eventName = DisableVpcClassicLink) || ($.eventName = EnableVpcClassicLink) }",
    "4.15": '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || '
    '($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || '
    '($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || '
    '($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || '
    '($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") '
    '|| ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || '
    '($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || '
    '($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || '
    '($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }',
}


RULE_IDS = {
    "4.1": "aws-cloudwatch-alarm-unauthorized-api-calls",
    "4.2": "aws-cloudwatch-alarm-console-signin-without-mfa",
    "4.3": "aws-cloudwatch-alarm-root-usage",
    "4.4": "aws-cloudwatch-alarm-iam-policy-changes",
    "4.5": "aws-cloudwatch-alarm-cloudtrail-config-changes",
    "4.6": "aws-cloudwatch-alarm-console-auth-failures",
    "4.7": "aws-cloudwatch-alarm-kms-key-disable-or-deletion",
    "4.8": "aws-cloudwatch-alarm-s3-bucket-policy-changes",
    "4.9": "aws-cloudwatch-alarm-config-changes",
    "4.10": "aws-cloudwatch-alarm-security-group-changes",
    "4.11": "aws-cloudwatch-alarm-nacl-changes",
    "4.12": "aws-cloudwatch-alarm-network-gateway-changes",
    "4.13": "aws-cloudwatch-alarm-route-table-changes",
    "4.14": "aws-cloudwatch-alarm-vpc-changes",
    "4.15": "aws-cloudwatch-alarm-organizations-changes",
}


def _rules() -> dict[str, Rule]:
    return {rule.frameworks["cis-aws-3.0"][0]: rule for rule in pack_rules("aws/monitoring.yaml")}


RULES = _rules()


class Scans:
    """The same account scanned at three stages of setting the chain up."""

    def __init__(self) -> None:
        self.bare = Inventory(provider="aws")  # a single-region trail only
        self.unsubscribed = Inventory(provider="aws")  # full chain, but the alarm topic has no subscriber
        self.complete = Inventory(provider="aws")


@pytest.fixture(scope="module")
def scans() -> Iterator[Scans]:
    result = Scans()
    kinds = [RESOURCE_TYPE]
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="acme-trail-bucket")
        logs = boto3.client("logs", region_name="us-east-1")
        logs.create_log_group(logGroupName="cloudtrail")
        group_arn = logs.describe_log_groups(logGroupNamePrefix="cloudtrail")["logGroups"][0]["arn"]
        trail = boto3.client("cloudtrail", region_name="us-east-1")
        trail.create_trail(
            Name="regional-trail",
            S3BucketName="acme-trail-bucket",
            CloudWatchLogsLogGroupArn=group_arn,
            CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/cloudtrail-to-logs",
        )
        trail.start_logging(Name="regional-trail")
        _all_management_events(trail, "regional-trail")
        for cis, pattern in CIS_PATTERNS.items():
            logs.put_metric_filter(
                logGroupName="cloudtrail",
                filterName=f"cis-{cis}",
                filterPattern=pattern,
                metricTransformations=[{"metricName": f"cis-{cis}", "metricNamespace": "CIS", "metricValue": "1"}],
            )
        sns = boto3.client("sns", region_name="us-east-1")
        topic = sns.create_topic(Name="security-alerts")["TopicArn"]
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        for cis in CIS_PATTERNS:
            cloudwatch.put_metric_alarm(
                AlarmName=f"cis-{cis}",
                MetricName=f"cis-{cis}",
                Namespace="CIS",
                Statistic="Sum",
                Period=300,
                Threshold=1,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                EvaluationPeriods=1,
                AlarmActions=[topic],
            )
        result.bare = scan_inventory(resource_types=kinds)

        trail.update_trail(Name="regional-trail", IsMultiRegionTrail=True)
        result.unsubscribed = scan_inventory(resource_types=kinds)

        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName="security-alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        result.complete = scan_inventory(resource_types=kinds)
        yield result


def _all_management_events(client: Any, name: str) -> None:
    client.put_event_selectors(
        TrailName=name, EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}]
    )


def _outcome(inventory: Inventory, cis: str) -> Outcome:
    return outcomes([RULES[cis]], inventory.resources)[(RULES[cis].id, RESOURCE_ID)]


@pytest.mark.parametrize("cis", sorted(CIS_PATTERNS, key=lambda c: int(c.split(".")[1])))
def test_each_control_fails_then_passes(scans: Scans, cis: str) -> None:
    assert _outcome(scans.bare, cis) is Outcome.FAIL
    assert _outcome(scans.unsubscribed, cis) is Outcome.FAIL
    assert _outcome(scans.complete, cis) is Outcome.PASS


def test_collected_chain(scans: Scans) -> None:
    assert [unit.status for unit in scans.complete.coverage] == ["ok"]
    (resource,) = scans.complete.resources
    assert resource.id == RESOURCE_ID and resource.region == "global"
    props = resource.properties
    (trail,) = props["trails"]
    assert trail["qualifies"] and trail["IsLogging"] and trail["logs_all_management_events"]
    (group,) = props["log_groups"]
    assert group["name"] == "cloudtrail" and len(group["metric_filters"]) == 15
    assert len(props["alarms"]) == 15
    assert props["topics"][0]["confirmed_subscriptions"] == 1
    assert props["unknown"] == []
    bare = scans.bare.resources[0].properties
    assert not bare["trails"][0]["qualifies"] and bare["log_groups"] == [] and bare["alarms"] == []
    assert scans.unsubscribed.resources[0].properties["topics"][0]["confirmed_subscriptions"] == 0


def test_every_cis_monitoring_control_has_a_rule() -> None:
    assert {cis: rule.id for cis, rule in RULES.items()} == RULE_IDS
    assert sorted(RULES) == sorted(CIS_PATTERNS)


# The check on hand-built resources: the ways a chain breaks that are slow or impossible to stage in moto.


def _resource(**changes: Any) -> Resource:
    topic = "arn:aws:sns:us-east-1:123456789012:alerts"
    props: dict[str, Any] = {
        "trails": [
            {"Name": "main", "qualifies": True, "log_group_name": "ct", "log_group_region": "us-east-1"},
        ],
        "log_groups": [
            {
                "name": "ct",
                "region": "us-east-1",
                "metric_filters": [
                    {
                        "filterName": "kms",
                        "filterPattern": CIS_PATTERNS["4.7"],
                        "metricTransformations": [{"metricName": "kms", "metricNamespace": "CIS"}],
                    }
                ],
            }
        ],
        "alarms": [
            {
                "AlarmName": "kms",
                "region": "us-east-1",
                "ActionsEnabled": True,
                "AlarmActions": [topic],
                "watched_metrics": [["CIS", "kms"]],
            }
        ],
        "topics": [{"TopicArn": topic, "subscriptions": 1, "confirmed_subscriptions": 1}],
        "unknown": [],
    }
    props.update(changes)
    return Resource(
        "aws", ACCOUNT, "global", RESOURCE_TYPE, RESOURCE_ID, "cis-monitoring", {}, json.loads(json.dumps(props))
    )


def _evaluate(resource: Resource, cis: str = "4.7") -> Outcome:
    return outcomes([RULES[cis]], [resource])[(RULES[cis].id, RESOURCE_ID)]


def _filter(pattern: str) -> list[dict[str, Any]]:
    base = _resource().properties["log_groups"][0]
    return [{**base, "metric_filters": [{**base["metric_filters"][0], "filterPattern": pattern}]}]


def test_baseline_passes() -> None:
    assert _evaluate(_resource()) is Outcome.PASS


@pytest.mark.parametrize(
    ("label", "changes"),
    [
        ("no qualifying trail", {"trails": [{"Name": "main", "qualifies": False}]}),
        ("another control's filter", {"log_groups": _filter(CIS_PATTERNS["4.4"])}),
        ("one event missing", {"log_groups": _filter(CIS_PATTERNS["4.7"].replace("($.eventName=DisableKey)||", ""))}),
        (
            "event names joined with && (can never fire)",
            {"log_groups": _filter(CIS_PATTERNS["4.7"].replace(")||(", ")&&("))},
        ),
        (
            "not a JSON pattern",
            {"log_groups": _filter("DisableKey ScheduleKeyDeletion")},
        ),
        (
            "negated clause",
            {"log_groups": _filter(CIS_PATTERNS["4.7"].replace("eventName=DisableKey", "eventName!=DisableKey"))},
        ),
        (
            "alarm on another metric",
            {"alarms": [{**_resource().properties["alarms"][0], "watched_metrics": [["CIS", "x"]]}]},
        ),
        ("alarm in another region", {"alarms": [{**_resource().properties["alarms"][0], "region": "eu-west-1"}]}),
        ("alarm actions disabled", {"alarms": [{**_resource().properties["alarms"][0], "ActionsEnabled": False}]}),
        (
            "subscription pending",
            {
                "topics": [
                    {
                        "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts",
                        "subscriptions": 1,
                        "confirmed_subscriptions": 0,
                    }
                ]
            },
        ),
    ],
)
def test_broken_chain_fails(label: str, changes: dict[str, Any]) -> None:
    assert _evaluate(_resource(**changes)) is Outcome.FAIL, label


def test_event_names_match_whole_words() -> None:
    # CreateRouteTable alone must not stand in for CreateRoute (4.13).
    pattern = CIS_PATTERNS["4.13"].replace("($.eventName = CreateRoute) ||", "")
    group = _filter(pattern)
    group[0]["metric_filters"][0]["filterName"] = "routes"
    assert _evaluate(_resource(log_groups=group), "4.13") is Outcome.FAIL
    assert _evaluate(_resource(log_groups=_filter(CIS_PATTERNS["4.13"])), "4.13") is Outcome.PASS


def test_unreadable_part_errors_unless_the_chain_is_proven() -> None:
    unknown = ["alarms in eu-west-1: AccessDenied"]
    assert _evaluate(_resource(unknown=unknown)) is Outcome.PASS
    broken = _resource(unknown=unknown, alarms=[])
    assert _evaluate(broken) is Outcome.ERROR


def test_denied_trail_status_errors_instead_of_failing(scans: Scans) -> None:
    # Runs inside the module's moto session, after the chain is complete: with get_trail_status denied the
    # scanner cannot tell whether the trail logs, so no control may FAIL (or PASS).
    def deny(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Code": "AccessDeniedException", "Message": "denied by the test"}
        return AWSResponse("https://cloudtrail", 400, {}, None), {"Error": error, "ResponseMetadata": {}}

    session = boto3.Session(region_name="us-east-1")
    session.events.register("before-call.cloudtrail.GetTrailStatus", deny)
    (resource,) = cis_monitoring(AwsContext(AwsAccountClients(session, ACCOUNT, "test"), "global"))
    assert resource.properties["unknown"] == ["trail regional-trail status: AccessDenied"]
    assert {_evaluate(resource, cis) for cis in CIS_PATTERNS} == {Outcome.ERROR}


def test_security_group_changes_need_modify_security_group_rules() -> None:
    # CIS 5.0 4.10 adds ModifySecurityGroupRules: a 3.0-era filter misses rules edited through that API.
    old = CIS_PATTERNS["4.10"].replace(" || ($.eventName = ModifySecurityGroupRules)", "")
    assert "ModifySecurityGroupRules" not in old
    assert _evaluate(_resource(log_groups=_filter(old)), "4.10") is Outcome.FAIL
    assert _evaluate(_resource(log_groups=_filter(CIS_PATTERNS["4.10"])), "4.10") is Outcome.PASS


def test_filter_patterns_match_whatever_the_spacing_quoting_and_order() -> None:
    # The benchmark's text, respaced, with quoted values and the clauses in another order, is the same filter.
    respaced = (
        '{($.eventName="ModifySecurityGroupRules")||($.eventName=DeleteSecurityGroup)||'
        "($.eventName = CreateSecurityGroup)   ||  ($.eventName= RevokeSecurityGroupEgress)||"
        '($.eventName ="RevokeSecurityGroupIngress")||($.eventName=AuthorizeSecurityGroupEgress)||'
        "\n ($.eventName=AuthorizeSecurityGroupIngress)}"
    )
    assert _evaluate(_resource(log_groups=_filter(respaced)), "4.10") is Outcome.PASS


@pytest.mark.parametrize(
    ("cis", "pattern", "expected"),
    [
        # Semantics, not text: the filter is run on sample CloudTrail records.
        ("4.1", CIS_PATTERNS["4.1"].replace('"AccessDenied*"', '"AccessDenied"'), Outcome.FAIL),  # misses
        # AccessDeniedException
        ("4.3", CIS_PATTERNS["4.3"].replace(' && $.eventType != "AwsServiceEvent"', ""), Outcome.FAIL),  # fires on
        # AWS service events the benchmark leaves out
        ("4.3", CIS_PATTERNS["4.3"].replace("NOT EXISTS", "EXISTS"), Outcome.FAIL),
        ("4.2", '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed = "Yes") }', Outcome.FAIL),
        # Equivalent forms pass: grouping, an IN-like list of ||, a broader filter without the eventSource,
        # the benchmark's own precedence-free 4.13 text.
        ("4.7", "{ (($.eventName = DisableKey) && ($.eventSource = kms.amazonaws.com)) || "
                "(($.eventSource = kms.amazonaws.com) && ($.eventName = ScheduleKeyDeletion)) }", Outcome.PASS),
        ("4.7", "{($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)}", Outcome.PASS),
        ("4.1", '{ $.errorCode = "*UnauthorizedOperation" || $.errorCode = "AccessDenied*" }', Outcome.PASS),
        ("4.2", '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }', Outcome.PASS),
        ("4.13", "{($.eventSource = ec2.amazonaws.com) && ($.eventName = CreateRoute) || "
                 "($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || "
                 "($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || "
                 "($.eventName = DeleteRoute) || ($.eventName = DisassociateRouteTable) }", Outcome.PASS),
    ],
)
def test_filter_semantics(cis: str, pattern: str, expected: Outcome) -> None:
    assert _evaluate(_resource(log_groups=_filter(pattern)), cis) is expected
