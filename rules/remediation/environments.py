"""How remediation reaches a cloud, per provider: the registry of environments (the contract is in base.py).

Each cloud's environment lives in ``rules/remediation/<cloud>/environment.py`` and is registered on
``ENVIRONMENTS`` under its provider name (the name in ``scanners.providers.PROVIDERS``) as a factory taking
``RemediationOptions``. ``cloud_remediation_environment`` builds one environment per provider that has a
factory, so adding a cloud needs no bot change; a provider without one simply cannot be remediated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from skywarden.rules.remediation.base import MultiCloudEnvironment, RemediationEnvironment
from skywarden.scanners.named_registry import Registry
from skywarden.scanners.providers import PROVIDERS

__all__ = ["ENVIRONMENTS", "MultiCloudEnvironment", "RemediationEnvironment", "RemediationOptions",
           "cloud_remediation_environment"]


@dataclass(frozen=True)
class RemediationOptions:
    """What a deployment tells the environments: the accounts file (AWS remediation roles) and a profile."""

    accounts_file: Path | None = None
    profile: str | None = None


EnvironmentFactory = Callable[[RemediationOptions], RemediationEnvironment]
ENVIRONMENTS: Registry[EnvironmentFactory] = Registry("remediation environment")


@ENVIRONMENTS.register("aws")
def _aws(options: RemediationOptions) -> RemediationEnvironment:
    from skywarden.rules.remediation.aws.environment import AwsRemediationEnvironment  # SDKs load when used
    from skywarden.scanners.aws.session import base_session, load_accounts_file

    specs = load_accounts_file(Path(options.accounts_file)).accounts if options.accounts_file else []
    return AwsRemediationEnvironment(base_session(options.profile), specs)


@ENVIRONMENTS.register("azure")
def _azure(options: RemediationOptions) -> RemediationEnvironment:
    # The scans' connection settings from the environment; no credential is built until a remediation needs it.
    from skywarden.rules.remediation.azure.environment import AzureRemediationEnvironment

    return AzureRemediationEnvironment()


@ENVIRONMENTS.register("gcp")
def _gcp(options: RemediationOptions) -> RemediationEnvironment:
    from skywarden.rules.remediation.gcp.environment import GcpRemediationEnvironment

    return GcpRemediationEnvironment()


def cloud_remediation_environment(options: RemediationOptions | None = None) -> MultiCloudEnvironment:
    """Remediation for every provider in PROVIDERS that registered an environment, chosen per finding."""
    options = options or RemediationOptions()
    return MultiCloudEnvironment({name: ENVIRONMENTS.get(name)(options) for name in PROVIDERS
                                  if name in ENVIRONMENTS})
