"""Azure and GCP remediation actions against the loopback stand-ins, through the real SDK/HTTP clients.

For each action: the plan (calls, before/after, read live), a real change read back from the stand-in,
verification by re-collecting (Resource Graph / Cloud Asset) and re-evaluating the rules, a no-op second
plan, an undo that restores the previous state exactly, and a 403 on the write recorded as AccessDenied with
nothing changed. Then one full RemediationService flow per cloud: request, approval by someone else,
verified, finding remediated.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from skywarden.bot.core.remediation import ApprovalPolicy, RemediationService
from skywarden.bot.core.scanning_azure import AzureScope, scan_azure
from skywarden.bot.core.scanning_gcp import scan_gcp
from skywarden.bot.demo.azure_standin import ArmStandIn, StaticToken
from skywarden.bot.demo.gcp_standin import CloudAssetStandIn
from skywarden.rules.model import Outcome
from skywarden.rules.remediation.azure.environment import AzureRemediationEnvironment
from skywarden.rules.remediation.base import ACTIONS, load_actions
from skywarden.rules.remediation.gcp.environment import GcpRemediationEnvironment, GcpWriteEndpoints
from skywarden.scanners.azure.credentials import AzureSettings
from skywarden.scanners.gcp.credentials import GcpSettings
from skywarden.scanners.gcp.scan import GcpScope
from skywarden.scanners.model import Resource
from skywarden.storage import audit
from skywarden.storage.db import open_db
from skywarden.storage.findings import query_findings
from tests.scanners.gcp.support import client_for, fast_retry
from tests.support.aws import outcomes, pack_rules

SUB = "7d2c0a3e-0000-4000-8000-0000000000b1"
PROJECT = "acme-rem"
STORAGE = "Microsoft.Storage/storageAccounts"


# ------------------------------------------------------------------ stand-ins and environments
@pytest.fixture(scope="module")
def azure():
    with ArmStandIn() as arm:
        arm.add_subscription(SUB, "acme-remediation")
        settings = AzureSettings(arm_url=arm.base_url, ca_bundle=str(arm.cert_path), retry_total=0)
        yield arm, AzureRemediationEnvironment(settings, StaticToken())


@pytest.fixture(scope="module")
def gcp():
    from google.auth.credentials import AnonymousCredentials

    with CloudAssetStandIn() as standin:
        standin.add_project(PROJECT, "4001", "Acme remediation")
        endpoints = GcpWriteEndpoints(storage=standin.endpoint, compute=standin.endpoint)
        # Explicit anonymous credentials: tests never build Application Default Credentials.
        env = GcpRemediationEnvironment(GcpSettings(asset_endpoint=standin.endpoint), endpoints,
                                        credentials=AnonymousCredentials(), asset=client_for(standin),
                                        retry=fast_retry())
        yield standin, env


@pytest.fixture(scope="module")
def rules():
    return pack_rules("azure/storage.yaml", "gcp/storage.yaml", "gcp/compute.yaml")


def storage_account(arm: ArmStandIn, name: str) -> str:
    """A storage account failing both secure transfer and anonymous blob access."""
    resource = arm.add_resource({
        "id": f"/subscriptions/{SUB}/resourceGroups/rem/providers/{STORAGE}/{name}", "name": name,
        "type": STORAGE, "location": "westeurope", "kind": "StorageV2", "tags": {},
        "properties": {"supportsHttpsTrafficOnly": False, "allowBlobPublicAccess": True,
                       "minimumTlsVersion": "TLS1_2", "networkAcls": {"defaultAction": "Deny", "bypass": "None"}},
    })
    return str(resource["id"])


def public_bucket(standin: CloudAssetStandIn, name: str) -> str:
    resource_id = f"//storage.googleapis.com/{name}"
    standin.add_asset(PROJECT, "storage.googleapis.com/Bucket", resource_id,
                      {"name": name, "location": "US",
                       "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}}},
                      location="US", iam_policy={"version": 1, "bindings": [
                          {"role": "roles/storage.objectViewer", "members": ["allUsers", "group:web@acme.example"]},
                          {"role": "roles/storage.legacyBucketReader", "members": ["allAuthenticatedUsers"]},
                          {"role": "roles/storage.admin", "members": ["group:ops@acme.example"]}]})
    return resource_id


def open_firewall(standin: CloudAssetStandIn, name: str) -> str:
    resource_id = f"//compute.googleapis.com/projects/{PROJECT}/global/firewalls/{name}"
    standin.add_asset(PROJECT, "compute.googleapis.com/Firewall", resource_id, {
        "name": name, "network": f"projects/{PROJECT}/global/networks/default", "direction": "INGRESS",
        "priority": 1000, "sourceRanges": ["0.0.0.0/0", "10.0.0.0/8"],
        "allowed": [{"IPProtocol": "tcp", "ports": ["22", "3389"]}], "disabled": False})
    return resource_id


# ------------------------------------------------------------------ the four actions
@dataclass
class Case:
    action: str
    cloud: str
    resource_type: str
    seed: Callable[[Any, str], str]  # (stand-in, name) -> resource id of a failing resource
    read: Callable[[Any, str], Any]  # (stand-in, resource id) -> the settings the action touches
    fixed: Any  # what read() returns once fixed
    write: tuple[str, str]  # (method, path pattern) of the write, for the 403 case


def azure_properties(arm: ArmStandIn, resource_id: str) -> dict[str, Any]:
    return copy.deepcopy(arm.resources[resource_id.lower()]["properties"])


def bucket_bindings(standin: CloudAssetStandIn, resource_id: str) -> list[tuple[str, tuple[str, ...]]]:
    policy = standin.bucket_policy(resource_id.rsplit("/", 1)[1]) or {}
    return sorted((b["role"], tuple(sorted(b["members"]))) for b in policy.get("bindings") or [])


def firewall_data(standin: CloudAssetStandIn, resource_id: str) -> dict[str, Any]:
    return copy.deepcopy(standin.firewall(PROJECT, resource_id.rsplit("/", 1)[1]))


def _with(props: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**props, **changes}


FIXED_PROPS = {"minimumTlsVersion": "TLS1_2", "networkAcls": {"defaultAction": "Deny", "bypass": "None"}}
CASES = [
    Case("azure.storage.disable_blob_public_access", "azure", "azure.storage.account", storage_account,
         azure_properties, _with(FIXED_PROPS, supportsHttpsTrafficOnly=False, allowBlobPublicAccess=False),
         ("PATCH", "{name}")),
    Case("azure.storage.require_secure_transfer", "azure", "azure.storage.account", storage_account,
         azure_properties, _with(FIXED_PROPS, supportsHttpsTrafficOnly=True, allowBlobPublicAccess=True),
         ("PATCH", "{name}")),
    Case("gcp.storage.remove_public_members", "gcp", "gcp.storage.bucket", public_bucket, bucket_bindings,
         [("roles/storage.admin", ("group:ops@acme.example",)),
          ("roles/storage.objectViewer", ("group:web@acme.example",))],
         ("PUT", "/b/{name}/iam")),
    Case("gcp.compute.disable_world_open_firewall", "gcp", "gcp.compute.firewall", open_firewall, firewall_data,
         None, ("PATCH", "/firewalls/{name}$")),
]


def finding_for(case: Case, resource_id: str) -> dict[str, Any]:
    account = SUB if case.cloud == "azure" else PROJECT
    return {"account_id": account, "resource_type": case.resource_type, "resource_id": resource_id}


def rule_outcomes(rules, action_name: str, resource) -> set[Outcome]:
    fixing = [r for r in rules if r.remediation_action == action_name and r.resource_type == resource.type]
    assert fixing, f"no rule names {action_name}"
    return set(outcomes(fixing, [resource]).values())


@pytest.mark.parametrize("case", CASES, ids=[c.action for c in CASES])
def test_plan_apply_verify_undo(azure, gcp, rules, case):
    load_actions()
    standin, env = azure if case.cloud == "azure" else gcp
    action = ACTIONS.get(case.action)
    name = "rem" + case.action.rsplit(".", 1)[1].replace("_", "")[:16]
    resource_id = case.seed(standin, name)
    finding = finding_for(case, resource_id)
    client = env.clients(finding["account_id"])
    before = case.read(standin, resource_id)

    resource = env.collect(finding)
    assert resource is not None and Outcome.FAIL in rule_outcomes(rules, case.action, resource)

    plan = action.plan(resource, client)
    assert plan.calls and plan.summary and plan.before != plan.after
    assert plan.to_dict()["calls"][0]["operation"] == plan.calls[0].operation
    assert plan.calls[0].describe().startswith(f"{plan.calls[0].service}.{plan.calls[0].operation}(")

    result = action.apply(plan, client)
    assert result.ok, result.error
    assert all(record.ok for record in result.records)
    after = case.read(standin, resource_id)
    assert after != before
    if case.fixed is not None:
        assert after == case.fixed
    else:
        assert after == {**before, "disabled": True}

    fixed = env.collect(finding)  # through Resource Graph / Cloud Asset: the stand-in's later reads show it
    assert rule_outcomes(rules, case.action, fixed) <= {Outcome.PASS, Outcome.NOT_APPLICABLE}
    assert action.plan(fixed, client).noop

    undone = action.undo(plan, result.undo, client)
    assert undone.ok, undone.error
    assert case.read(standin, resource_id) == before
    assert Outcome.FAIL in rule_outcomes(rules, case.action, env.collect(finding))


@pytest.mark.parametrize("case", CASES, ids=[c.action for c in CASES])
def test_access_denied_on_apply_changes_nothing(azure, gcp, case):
    load_actions()
    standin, env = azure if case.cloud == "azure" else gcp
    action = ACTIONS.get(case.action)
    name = "denied" + case.action.rsplit(".", 1)[1].replace("_", "")[:16]
    resource_id = case.seed(standin, name)
    finding = finding_for(case, resource_id)
    client = env.clients(finding["account_id"])
    before = case.read(standin, resource_id)
    plan = action.plan(env.collect(finding), client)
    method, pattern = case.write
    if case.cloud == "azure":
        standin.fail(method, pattern.format(name=name), 403, "AuthorizationFailed", times=1)
    else:
        standin.fail_path(method, pattern.format(name=name), 403, times=1)

    result = action.apply(plan, client)
    assert not result.ok and result.error_class == "AccessDenied", (result.error_class, result.error)
    assert len(result.records) == 1 and not result.records[0].ok and result.records[0].error
    assert case.read(standin, resource_id) == before


def test_bucket_plan_removes_only_public_members_and_writes_conditionally(gcp):
    load_actions()
    standin, env = gcp
    resource_id = public_bucket(standin, "rem-etag")
    plan = ACTIONS.get("gcp.storage.remove_public_members").plan(env.collect(
        {"account_id": PROJECT, "resource_type": "gcp.storage.bucket", "resource_id": resource_id}),
        env.clients(PROJECT))
    assert plan.context["removed"] == ["roles/storage.legacyBucketReader allAuthenticatedUsers",
                                       "roles/storage.objectViewer allUsers"]
    # Someone else changes the policy after the plan: the planned write carries the old etag and is refused.
    policy = standin.bucket_policy("rem-etag")
    standin._bucket_iam("PUT", "rem-etag", {"bindings": policy["bindings"]})
    result = ACTIONS.get("gcp.storage.remove_public_members").apply(plan, env.clients(PROJECT))
    assert not result.ok and "412" in str(result.error)
    assert ("roles/storage.objectViewer", ("allUsers", "group:web@acme.example")) in bucket_bindings(standin,
                                                                                                      resource_id)


def test_firewall_plan_is_a_noop_when_nothing_is_open_to_the_world(gcp):
    load_actions()
    standin, env = gcp
    resource_id = open_firewall(standin, "rem-internal")
    standin.firewall(PROJECT, "rem-internal")["sourceRanges"] = ["10.0.0.0/8"]
    resource = env.collect({"account_id": PROJECT, "resource_type": "gcp.compute.firewall",
                            "resource_id": resource_id})
    assert ACTIONS.get("gcp.compute.disable_world_open_firewall").plan(resource, env.clients(PROJECT)).noop


def test_unknown_resource_plans_fail_with_the_cloud_error_class(azure, gcp):
    load_actions()
    arm, azure_env = azure
    _, gcp_env = gcp
    missing_account = Resource("azure", SUB, "westeurope", "azure.storage.account",
                               f"/subscriptions/{SUB}/resourceGroups/rem/providers/{STORAGE}/gone", "gone", {}, {})
    with pytest.raises(azure_env.errors) as azure_error:
        ACTIONS.get("azure.storage.require_secure_transfer").plan(missing_account, azure_env.clients(SUB))
    assert azure_env.classify(azure_error.value)[0] == "NotFound"
    missing_bucket = Resource("gcp", PROJECT, "US", "gcp.storage.bucket", "//storage.googleapis.com/gone", "gone", {},
                              {})
    with pytest.raises(gcp_env.errors) as gcp_error:
        ACTIONS.get("gcp.storage.remove_public_members").plan(missing_bucket, gcp_env.clients(PROJECT))
    assert gcp_env.classify(gcp_error.value)[0] == "NotFound"


# ------------------------------------------------------------------ the service flow, once per cloud
def _flow(db, rules, env, rule_id: str, resource_id: str, freeze: Callable[[bool], None]) -> dict[str, Any]:
    finding = next(f for f in query_findings(db) if f["rule_id"] == rule_id and f["resource_id"] == resource_id)
    svc = RemediationService(db, rules, env, ApprovalPolicy())
    request_id, plan = svc.request(str(finding["number"]), "alice")
    assert plan.calls
    assert svc.approve(request_id, "alice").refused  # four-eyes
    # The inventory index lags behind writes (Resource Graph, Cloud Asset): verification must read live.
    freeze(True)
    try:
        decision = svc.approve(request_id, "bob")
    finally:
        freeze(False)
    assert decision.ok and decision.state == "verified", decision.message
    assert decision.details["verification"]["outcome"] == "pass"
    assert query_findings(db, states=None, ids=[finding["id"]])[0]["state"] == "remediated"
    actions = [e["action"] for e in audit.events(db, finding_id=finding["id"])]
    for expected in ("remediation_requested", "remediation_refused", "remediation_approved", "remediation_applied",
                     "remediation_verified"):
        assert expected in actions
    applied = next(e for e in audit.events(db, finding_id=finding["id"]) if e["action"] == "remediation_applied")
    assert applied["actor"] == "bob" and applied["details"]["result"]["records"][0]["ok"] is True
    return finding


def test_azure_service_flow(azure, rules, tmp_path):
    arm, env = azure
    resource_id = storage_account(arm, "remflow")
    db = open_db(tmp_path / "azure.db")
    scan_azure(db, rules, AzureScope([SUB]), settings=env.settings, credential=StaticToken(), max_workers=2)
    stale: list[Any] = []

    def freeze(frozen: bool) -> None:
        if not frozen:  # what Resource Graph answered while frozen, i.e. during the verification
            row = next(r for r in arm._graph({"subscriptions": [SUB], "query": ""})["data"] if r["name"] == "remflow")
            stale.append(row["properties"]["allowBlobPublicAccess"])
        arm.freeze_graph(frozen)

    _flow(db, rules, env, "azure-storage-blob-anonymous-access-disabled", resource_id, freeze)
    assert stale == [True]  # the index still said public: the pass came from the live read
    assert arm.resources[resource_id.lower()]["properties"]["allowBlobPublicAccess"] is False
    patches = arm.calls("PATCH", "remflow")
    assert len(patches) == 1 and patches[0].body == {"properties": {"allowBlobPublicAccess": False}}


def test_gcp_service_flow(gcp, rules, tmp_path):
    standin, env = gcp
    resource_id = open_firewall(standin, "rem-flow")
    db = open_db(tmp_path / "gcp.db")
    scan_gcp(db, rules, GcpScope(projects=[PROJECT]), settings=env.settings, client=client_for(standin),
             max_workers=2, retry=fast_retry())
    stale: list[Any] = []

    def freeze(frozen: bool) -> None:
        if not frozen:
            indexed = next(a for a in standin._frozen[PROJECT] if a["name"] == resource_id)
            stale.append(indexed["data"]["disabled"])
        standin.freeze_assets(frozen)

    _flow(db, rules, env, "gcp-compute-firewall-no-ssh-from-internet", resource_id, freeze)
    assert stale == [False]
    assert standin.firewall(PROJECT, "rem-flow")["disabled"] is True
    assert [(m, b) for m, p, b in standin.api_requests if m == "PATCH" and p.endswith("/rem-flow")] == [
        ("PATCH", {"disabled": True})]
