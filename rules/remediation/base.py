"""The remediation contract: every action plans (a dry run), applies, and can undo; verification is a rescan.

An action reads the resource's live settings itself when planning, with the remediation credentials, so the
plan shows the exact API calls and the before/after of what it touches at the time it is approved. Applying
re-plans first: if the settings changed since the approved plan, the apply is refused; if there is nothing
left to change, it is a no-op.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from skywarden.scanners.errors import RemediationError
from skywarden.scanners.model import GLOBAL_REGION, Resource
from skywarden.scanners.named_registry import Registry

# client(service, region) -> a boto3 (or other SDK) client made with the remediation credentials.
ClientFactory = Callable[[str, str | None], Any]


@dataclass(frozen=True)
class ApiCall:
    service: str
    operation: str
    params: Mapping[str, Any]
    region: str | None = None

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.service}.{self.operation}({args})"


@dataclass(frozen=True)
class Plan:
    action: str
    resource_id: str
    resource_type: str
    account_id: str
    region: str
    summary: str
    calls: tuple[ApiCall, ...]
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    # Data the apply step needs that is not an API parameter (e.g. the exact permissions to revoke).
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def noop(self) -> bool:
        return not self.calls

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["calls"] = [asdict(call) for call in self.calls]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        calls = tuple(ApiCall(**call) for call in data["calls"])
        return cls(**{**data, "calls": calls})


@dataclass
class CallRecord:
    call: str
    ok: bool
    response: Any = None
    error: str | None = None


@dataclass
class ApplyResult:
    ok: bool
    records: list[CallRecord] = field(default_factory=list)
    undo: dict[str, Any] = field(default_factory=dict)
    error_class: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RemediationAction(ABC):
    """One automated fix. Subclasses declare what they touch and the IAM permissions they need."""

    name: str
    resource_type: str
    title: str
    permissions: tuple[str, ...]

    @abstractmethod
    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        """Read the live settings and describe the change; a plan with no calls means nothing to do."""

    def apply(self, plan: Plan, client: ClientFactory) -> ApplyResult:
        """Make the planned calls in order, stopping at the first error; the plan's `before` is the undo state."""
        result = ApplyResult(ok=True, undo=self.undo_state(plan))
        for call in plan.calls:
            if not run_call(call, client, result):
                break
        return result

    def undo_state(self, plan: Plan) -> dict[str, Any]:
        return {"before": dict(plan.before), "context": dict(plan.context)}

    @abstractmethod
    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        """The calls that restore the recorded previous state."""

    def undo(self, plan: Plan, undo: Mapping[str, Any], client: ClientFactory) -> ApplyResult:
        result = ApplyResult(ok=True)
        for call in self.undo_calls(plan, undo):
            if not run_call(call, client, result):
                break
        return result


def run_call(call: ApiCall, client: ClientFactory, result: ApplyResult) -> bool:
    """Make one call, recording its response (without HTTP metadata) or its error into ``result``."""
    try:
        response = getattr(client(call.service, call.region), call.operation)(**call.params)
    except sdk_errors() as exc:
        error_class, _ = classify_call_error(exc)
        result.ok = False
        result.error_class = error_class
        result.error = str(exc)
        result.records.append(CallRecord(call.describe(), False, error=str(exc)))
        return False
    if isinstance(response, dict):
        response = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    result.records.append(CallRecord(call.describe(), True, response=_plain(response)))
    return True


@functools.cache
def sdk_errors() -> tuple[type[BaseException], ...]:
    """The failures of a cloud call that are the cloud's answer (recorded), not a bug in an action (raised).

    Each cloud's SDK is optional: an installation without the Azure or Google libraries runs AWS actions only.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    errors: list[type[BaseException]] = [ClientError, BotoCoreError]
    try:
        from azure.core.exceptions import AzureError

        errors.append(AzureError)
    except ImportError:
        pass
    try:
        import requests
        from google.api_core.exceptions import GoogleAPIError
        from google.auth.exceptions import GoogleAuthError

        errors.extend([GoogleAPIError, GoogleAuthError, requests.RequestException])
    except ImportError:
        pass
    return tuple(errors)


def classify_call_error(exc: BaseException) -> tuple[str, str]:
    """(error class, message) of a failed cloud call: AccessDenied, NotFound, Throttling, ... for every cloud."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return _error_class(str(exc.response.get("Error", {}).get("Code"))), str(exc)
    module = type(exc).__module__
    if module.startswith("azure."):
        from skywarden.scanners.azure.errors import classify

        return classify(exc)
    if module.startswith(("google.", "requests.")):
        from skywarden.scanners.gcp.errors import classify as classify_gcp

        return classify_gcp(exc)
    return _error_class(type(exc).__name__), str(exc)


def _error_class(code: str) -> str:
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"):
        return "AccessDenied"
    return code


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class RemediationEnvironment:
    """How to reach a finding's account: remediation clients, and a read-only re-collect of one resource.

    ``errors`` are the SDK failures a planning read may raise (the cloud's answer, reported to the user) and
    ``classify`` names them. There is no default cloud: each environment declares its own SDK's errors (an
    environment that declares none reports every SDK failure as an internal error rather than misnaming it).
    """

    errors: tuple[type[BaseException], ...] = ()

    def classify(self, exc: BaseException) -> tuple[str, str]:
        raise NotImplementedError(f"{type(self).__name__} declares errors but not how to classify them")

    def for_provider(self, provider: str) -> RemediationEnvironment:
        """The environment that reaches ``provider``'s accounts (a multi-cloud environment picks one)."""
        return self

    def clients(self, account_id: str) -> ClientFactory:
        raise NotImplementedError

    def collect(self, finding: Mapping[str, Any]) -> Resource | None:
        raise NotImplementedError


class MultiCloudEnvironment(RemediationEnvironment):
    """One environment per cloud; the service asks for the one matching each finding's provider."""

    def __init__(self, environments: Mapping[str, RemediationEnvironment]) -> None:
        self.environments = dict(environments)

    def for_provider(self, provider: str) -> RemediationEnvironment:
        try:
            return self.environments[provider]
        except KeyError:
            raise RemediationError(f"remediation is not configured for {provider} in this deployment") from None


def collect_region(finding: Mapping[str, Any], default_region: str) -> str:
    return default_region if finding["region"] == GLOBAL_REGION else finding["region"]


ACTIONS: Registry[RemediationAction] = Registry("remediation action")


def action(cls: type[RemediationAction]) -> type[RemediationAction]:
    """Register one instance of an action class under its ``name``."""
    ACTIONS.add(cls.name, cls())
    return cls


def load_actions() -> Registry[RemediationAction]:
    import importlib
    import pkgutil

    import skywarden.rules.remediation as package

    for module in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        # Environments are not actions, and import their cloud's SDK (which may not be installed).
        if module.name.rsplit(".", 1)[-1] not in ("base", "environment", "environments"):
            importlib.import_module(module.name)
    return ACTIONS
