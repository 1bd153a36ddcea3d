"""Every GCP rule against the real collectors, over the real Cloud Asset client, against the stand-in."""

from __future__ import annotations

import pytest

from rules.engine import Engine
from rules.loader import BUILTIN_PACKS, load_rules
from rules.model import Outcome
from scanners.gcp.scan import GcpScope
from scanners.gcp.standin import CloudAssetStandIn
from tests.scanners.gcp import estate
from tests.scanners.gcp.support import collect
from tests.support.aws import outcomes

RULES = load_rules([BUILTIN_PACKS / "gcp"])


@pytest.fixture(scope="module")
def scanned():
    with CloudAssetStandIn(page_limit=3) as standin:
        estate.seed(standin)
        inventory = collect(standin, GcpScope(projects=[estate.BAD, estate.GOOD]), Engine(RULES).resource_types)
    assert not inventory.gaps, inventory.gaps
    return inventory, outcomes(RULES, inventory.resources)


@pytest.mark.parametrize(("rule_id", "resource_id", "expected"), estate.EXPECTED, ids=lambda v: str(v)[-40:])
def test_rule_outcome(scanned, rule_id, resource_id, expected):
    _, results = scanned
    assert results[(rule_id, resource_id)] == Outcome[expected]


def test_every_rule_has_a_fail_and_a_pass_case():
    cases = {(rule, outcome) for rule, _, outcome in estate.EXPECTED}
    for rule in RULES:
        assert (rule.id, "FAIL") in cases, rule.id
        assert (rule.id, "PASS") in cases, rule.id


def test_at_least_twenty_rules_mapped_to_cis_nist_and_pci():
    assert len(RULES) >= 20
    assert sum(1 for r in RULES if "cis-gcp-2.0" in r.frameworks) >= 20
    for rule in RULES:
        assert rule.id.startswith("gcp-") and rule.resource_type.startswith("gcp.")
        assert {"nist-800-53-r5", "pci-dss-4.0"} <= set(rule.frameworks), rule.id


def test_resources_are_normalised(scanned):
    inventory, _ = scanned
    by_id = {r.id: r for r in inventory.resources}
    bucket = by_id[estate.bucket_id("bad-public")]
    assert (bucket.provider, bucket.account_id, bucket.region, bucket.name) == ("gcp", estate.BAD, "US", "bad-public")
    assert bucket.tags == {"team": "web"}
    assert bucket.properties["public_members"] == ["roles/storage.objectViewer allUsers"]
    vm = by_id[estate.compute_id(estate.BAD, "instances", "web-1", "zones/us-central1-a")]
    assert vm.region == "us-central1-a" and vm.tags == {"env": "prod"}
    assert vm.properties["metadata_items"] == {"serial-port-enable": "TRUE"}
    firewall = by_id[estate.compute_id(estate.BAD, "firewalls", "allow-ssh-world")]
    assert firewall.properties["priority"] == 1000 and isinstance(firewall.properties["priority"], int)
    policy = by_id[estate.policy_id(estate.GOOD)]
    assert policy.account_id == estate.GOOD and policy.name == estate.GOOD
    assert policy.properties["auditConfigs"][0]["auditLogConfigs"][1] == {"logType": "DATA_READ", "exemptedMembers": []}
    key = by_id[estate.key_id(estate.GOOD, "k-ok")]
    assert key.properties["rotation_period_days"] == 90
    assert {r.account_id for r in inventory.resources} == {estate.BAD, estate.GOOD}


def test_only_the_asset_types_the_rules_need_are_listed():
    with CloudAssetStandIn() as standin:
        estate.seed(standin)
        inventory = collect(standin, GcpScope(projects=[estate.GOOD]), {"gcp.compute.firewall"})
        asked = [q.get("assetTypes") for q in standin.requests_for(f"projects/{estate.GOOD}")]
    assert asked == [["compute.googleapis.com/Firewall"]]
    assert {r.type for r in inventory.resources} == {"gcp.compute.firewall"}
    assert [(u.service, u.status) for u in inventory.coverage] == [("compute", "ok")]
