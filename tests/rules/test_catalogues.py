"""The framework catalogues load, have the expected shape, and hold the ids rules cite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from skywarden.rules.frameworks import CATALOGUE_DIR, load_catalogues
from skywarden.rules.model import Framework


@pytest.fixture(scope="module")
def catalogues() -> dict[str, Framework]:
    return load_catalogues()


def test_all_three_catalogues_load(catalogues: dict[str, Framework]) -> None:
    assert set(catalogues) >= {"cis-aws-3.0", "nist-800-53-r5", "pci-dss-4.0"}


@pytest.mark.parametrize("path", sorted(CATALOGUE_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_no_duplicate_ids_in_file(path: Path) -> None:
    # The loader also rejects duplicates; checking the raw file keeps this test meaningful if that changes.
    ids = [str(entry["id"]) for entry in yaml.safe_load(path.read_text())["controls"]]
    assert len(ids) == len(set(ids))


def test_every_control_has_title_and_section(catalogues: dict[str, Framework]) -> None:
    for framework in catalogues.values():
        for control in framework.controls.values():
            assert control.title.strip(), (framework.key, control.id)
            assert control.section.strip(), (framework.key, control.id)


def test_cis_counts(catalogues: dict[str, Framework]) -> None:
    cis = catalogues["cis-aws-3.0"]
    assert cis.version == "3.0.0"
    assert len(cis.controls) == 62
    assert sum(c.automated for c in cis.controls.values()) == 54
    manual = sorted(c.id for c in cis.controls.values() if not c.automated)
    assert manual == ["1.1", "1.18", "1.2", "1.21", "1.22", "1.3", "2.1.3", "5.5"]


@pytest.mark.parametrize(
    ("control_id", "title", "section"),
    [
        ("1.4", "Ensure no 'root' user account access key exists", "1 Identity and Access Management"),
        ("1.20", "Ensure that IAM Access analyzer is enabled for all regions", "1 Identity and Access Management"),
        ("2.1.4", "Ensure that S3 Buckets are configured with 'Block public access (bucket settings)'", "2 Storage"),
        ("3.3", "Ensure AWS Config is enabled in all regions", "3 Logging"),
        ("4.3", "Ensure a log metric filter and alarm exist for usage of 'root' account", "4 Monitoring"),
        ("4.16", "Ensure AWS Security Hub is enabled", "4 Monitoring"),
        ("5.6", "Ensure that EC2 Metadata Service only allows IMDSv2", "5 Networking"),
    ],
)
def test_cis_spot_checks(catalogues: dict[str, Framework], control_id: str, title: str, section: str) -> None:
    control = catalogues["cis-aws-3.0"].controls[control_id]
    assert (control.title, control.section, control.automated) == (title, section, True)


def test_cis_sections_are_complete(catalogues: dict[str, Framework]) -> None:
    ids = set(catalogues["cis-aws-3.0"].controls)
    assert {f"4.{n}" for n in range(1, 17)} <= ids
    assert {f"1.{n}" for n in range(1, 23)} <= ids
    assert {f"3.{n}" for n in range(1, 10)} <= ids


def test_nist_base_controls(catalogues: dict[str, Framework]) -> None:
    nist = catalogues["nist-800-53-r5"].controls
    base = [cid for cid in nist if "(" not in cid]
    per_family = {}
    for cid in base:
        family, number = cid.split("-")
        per_family[family] = max(per_family.get(family, 0), int(number))
    # Highest control number per family in Rev. 5; every number up to it is present.
    expected = {"AC": 25, "AT": 6, "AU": 16, "CA": 9, "CM": 14, "CP": 13, "IA": 12, "IR": 10, "MA": 7, "MP": 8,
                "PE": 23, "PL": 11, "PM": 32, "PS": 9, "PT": 8, "RA": 10, "SA": 23, "SC": 51, "SI": 23, "SR": 12}
    assert per_family == expected
    assert len(base) == sum(expected.values())
    assert nist["AC-2"].title == "Account Management"
    assert nist["SC-13"].title == "Cryptographic Protection"
    assert nist["AC-2"].section == "AC Access Control"
    assert not nist["SC-9"].automated and nist["SC-9"].title.startswith("Withdrawn")


@pytest.mark.parametrize(
    "control_id",
    ["AC-2(1)", "AC-2(4)", "AC-6(9)", "AU-6(1)", "AU-9(4)", "CM-6(1)", "IA-2(1)", "IA-2(2)", "IA-5(1)",
     "SC-7(4)", "SC-7(5)", "SC-8(1)", "SC-28(1)", "SI-4(2)", "SI-4(4)", "AU-9(3)"],
)
def test_nist_common_enhancements(catalogues: dict[str, Framework], control_id: str) -> None:
    control = catalogues["nist-800-53-r5"].controls[control_id]
    assert control.automated
    assert re.fullmatch(r"[A-Z]{2}-\d+\(\d+\)", control.id)


def test_nist_ids_are_well_formed(catalogues: dict[str, Framework]) -> None:
    for cid in catalogues["nist-800-53-r5"].controls:
        assert re.fullmatch(r"[A-Z]{2}-\d+(\(\d+\))?", cid), cid


def test_pci(catalogues: dict[str, Framework]) -> None:
    pci = catalogues["pci-dss-4.0"].controls
    for cid in ["1.2.1", "1.3.1", "3.5.1", "8.3.6", "10.2.1", "10.5.1", "11.5.1", "10.4.1.1", "A3.5.1"]:
        assert cid in pci, cid
    assert {str(n) for n in range(1, 13)} <= set(pci)
    assert pci["8.3.6"].section == "Requirement 8: Identify Users and Authenticate Access to System Components"
    for cid, control in pci.items():
        top = cid.split(".")[0]
        assert control.section.split(":")[0] in (f"Requirement {top}", f"Appendix {top}"), cid
