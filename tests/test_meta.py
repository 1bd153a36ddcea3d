"""Meta-lint: the shipped packs, catalogues, collectors and CLI agree with each other."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from skywarden.bot.cli import main
from skywarden.rules.frameworks import framework_coverage, load_catalogues
from skywarden.rules.loader import load_rules
from skywarden.scanners.aws.scan import load_collectors as load_aws_collectors
from skywarden.scanners.azure.scan import load_collectors as load_azure_collectors
from skywarden.scanners.gcp.scan import load_collectors as load_gcp_collectors
from skywarden.scanners.registry import COLLECTORS

TESTS = Path(__file__).parent


@pytest.mark.parametrize(("key", "automated"), [("cis-aws-3.0", 54), ("cis-aws-5.0", 35)])
def test_shipped_packs_validate_and_cover_every_automated_cis_aws_control(key, automated):
    rules = load_rules()
    catalogue = load_catalogues()[key]
    coverage = framework_coverage(catalogue, rules)
    assert coverage["automated"] == automated
    assert coverage["automated_uncovered"] == []
    assert len(coverage["covered"]) >= automated


def test_every_aws_rule_mapped_to_cis_3_0_is_mapped_to_cis_5_0():
    # 5.0 renumbers most of 3.0 (and makes some controls Manual); a rule that implements a 3.0 control
    # still implements its 5.0 counterpart, so no mapping may be dropped when a pack is edited.
    missing = [r.id for r in load_rules() if r.frameworks.get("cis-aws-3.0") and not r.frameworks.get("cis-aws-5.0")]
    assert missing == []


@pytest.mark.parametrize("key", ["cis-gcp-2.0", "cis-gcp-5.0"])
def test_shipped_packs_cover_every_automated_cis_gcp_control(key):
    coverage = framework_coverage(load_catalogues()[key], load_rules())
    assert coverage["automated_uncovered"] == []
    assert len(coverage["covered"]) >= 71


# Automated CIS Azure controls no rule can check from Azure Resource Manager (see each catalogue's header).
AZURE_UNCHECKABLE = {"cis-azure-2.1": ["7.8"], "cis-azure-6.0": ["5.1.1", "5.1.3", "8.3.11"]}


@pytest.mark.parametrize(("key", "automated"), [("cis-azure-2.1", 86), ("cis-azure-6.0", 89)])
def test_shipped_packs_cover_every_automated_cis_azure_control_they_can_reach(key, automated):
    coverage = framework_coverage(load_catalogues()[key], load_rules())
    assert coverage["automated"] == automated
    assert coverage["automated_uncovered"] == AZURE_UNCHECKABLE[key]


@pytest.mark.parametrize(("provider", "key"), [("azure", "cis-azure-2.1"), ("gcp", "cis-gcp-2.0")])
def test_azure_and_gcp_packs_have_at_least_twenty_cis_rules(provider, key):
    rules = [rule for rule in load_rules() if rule.provider == provider and rule.frameworks.get(key)]
    assert len(rules) >= 20


def test_every_rule_maps_to_nist_and_pci_and_has_guidance():
    for rule in load_rules():
        assert rule.frameworks.get("nist-800-53-r5"), rule.id
        assert rule.frameworks.get("pci-dss-4.0"), rule.id
        assert rule.remediation_guidance.strip(), rule.id
        assert rule.description.strip(), rule.id


def test_every_rule_is_exercised_by_a_test():
    text = "\n".join(p.read_text() for p in TESTS.rglob("test_*.py") if p.name != "test_meta.py")
    missing = [rule.id for rule in load_rules() if rule.id not in text]
    assert missing == []


@pytest.mark.parametrize("provider", ["aws", "azure", "gcp"])
def test_rules_and_collectors_match(provider):
    load_aws_collectors()
    load_azure_collectors()
    load_gcp_collectors()
    produced = {t for _, c in COLLECTORS.items() if c.provider == provider for t in c.resource_types}
    wanted = {rule.resource_type for rule in load_rules() if rule.provider == provider}
    assert produced and wanted
    assert wanted - produced == set(), "rules for resource types no collector produces"
    assert produced - wanted == set(), "collectors whose resources no rule reads (collect only what rules need)"


def test_every_cli_command_has_help():
    def walk(command: click.Command, path: str) -> list[str]:
        missing = [] if (command.help or "").strip() else [path]
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                missing += walk(sub, f"{path} {name}")
        return missing

    assert walk(main, "skywarden") == []
