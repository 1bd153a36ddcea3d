"""Google Cloud checks over IAM bindings and firewall rules: relations a per-field YAML condition cannot say."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from skywarden.rules.checks import CHECKS

_WORLD = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
PRIMITIVE_ROLES = ("roles/owner", "roles/editor")
SA_USER_ROLES = ("roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator")
# User-managed service accounts are NAME@PROJECT.iam.gserviceaccount.com; Google-managed ones live elsewhere.
_USER_MANAGED_SA = re.compile(r"^serviceAccount:[^@]+@[^.]+\.iam\.gserviceaccount\.com$")
# CIS 1.5: roles "containing *Admin or *admin", which is not only a suffix: roles/compute.instanceAdmin.v1.
_ADMIN_ROLE = re.compile(r"(?i)admin")


def _bindings(resource: Any) -> list[Mapping[str, Any]]:
    bindings = resource.properties.get("bindings")
    if not isinstance(bindings, list):
        raise TypeError("the resource has no IAM bindings list")
    return bindings


def _grants(bindings: Iterable[Mapping[str, Any]]) -> Iterable[tuple[str, str]]:
    for binding in bindings:
        if binding.get("condition"):
            continue  # a conditional grant is scoped by its condition; CIS audits unconditional ones
        for member in binding.get("members") or []:
            yield str(binding.get("role", "")), str(member)


@CHECKS.register("gcp_no_primitive_roles_for_users")
def no_primitive_roles_for_users(resource: Any, params: Mapping[str, Any]) -> tuple[bool, str]:
    """Compliant when no ``user:`` member holds roles/owner or roles/editor on the project (gcp.iam.project_policy)."""
    roles = tuple(params.get("roles", PRIMITIVE_ROLES))
    found = sorted(f"{m} has {r}" for r, m in _grants(_bindings(resource)) if r in roles and m.startswith("user:"))
    return (not found, "; ".join(found) or "no user holds a primitive role")


@CHECKS.register("gcp_service_accounts_not_admin")
def service_accounts_not_admin(resource: Any, params: Mapping[str, Any]) -> tuple[bool, str]:
    """Compliant when no user-managed service account holds owner, editor or any *Admin role (CIS 1.5)."""
    found = sorted(
        f"{m} has {r}"
        for r, m in _grants(_bindings(resource))
        if _USER_MANAGED_SA.match(m) and (r in PRIMITIVE_ROLES or _ADMIN_ROLE.search(r.rsplit("/", 1)[-1]))
    )
    return (not found, "; ".join(found) or "no user-managed service account holds an admin role")


@CHECKS.register("gcp_no_project_level_service_account_user")
def no_project_level_service_account_user(resource: Any, params: Mapping[str, Any]) -> tuple[bool, str]:
    """Compliant when nobody holds Service Account User / Token Creator at project level (CIS 1.6)."""
    found = sorted(f"{m} has {r}" for r, m in _grants(_bindings(resource)) if r in SA_USER_ROLES)
    return (not found, "; ".join(found) or "no project-level service account user grants")


@CHECKS.register("gcp_audit_logging_all_services")
def audit_logging_all_services(resource: Any, params: Mapping[str, Any]) -> tuple[bool, str]:
    """Compliant when the effective audit config logs DATA_READ and DATA_WRITE for allServices and exempts
    nobody (CIS 2.1).

    Reads ``auditConfigs`` of gcp.iam.project_policy together with ``inherited_audit_configs`` (those of the
    project's folders and organization, which the project inherits). Exemptions anywhere fail, as CIS says:
    an exempted member in a per-service config still goes unaudited for that service. When the project's
    own config falls short and its ancestors could not be read, the answer is unknown: the check raises,
    which the engine reports as ERROR.
    """
    configs = resource.properties.get("auditConfigs")
    inherited = resource.properties.get("inherited_audit_configs") or []
    if not isinstance(configs, list) or not isinstance(inherited, list):
        raise TypeError("the resource has no auditConfigs list")
    wanted = set(params.get("log_types", ("DATA_READ", "DATA_WRITE")))
    logged: set[str] = set()
    exempted: list[str] = []
    for config in [*configs, *inherited]:
        where = f" (set on {config['source']})" if config.get("source") else ""
        for log_config in config.get("auditLogConfigs") or []:
            if config.get("service") == "allServices":
                logged.add(str(log_config.get("logType")))
            for member in log_config.get("exemptedMembers") or []:
                exempted.append(f"{member} exempted from {config.get('service')} {log_config.get('logType')}{where}")
    missing = sorted(wanted - logged)
    problems = ([f"allServices does not log {', '.join(missing)}"] if missing else []) + sorted(exempted)
    error = resource.properties.get("inherited_audit_configs_error")
    if missing and error:
        raise RuntimeError(f"the project does not log {', '.join(missing)} itself, and {error}")
    return (not problems, "; ".join(problems) or "data access is audited for all services and all members")


def _covers(allowed: Mapping[str, Any], port: int) -> bool:
    protocol = str(allowed.get("IPProtocol", "")).lower()
    if protocol not in ("tcp", "all"):
        return False
    ports = allowed.get("ports") or []
    if not ports:
        return True  # no ports = every port of the protocol
    for spec in ports:
        low, _, high = str(spec).partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


@CHECKS.register("gcp_firewall_port_closed_to_world")
def firewall_port_closed_to_world(resource: Any, params: Mapping[str, Any]) -> tuple[bool, str]:
    """Compliant unless this enabled INGRESS allow rule lets 0.0.0.0/0 (or ::/0) reach ``port`` over TCP.

    Reads gcp.compute.firewall as the Compute API returns it: ``allowed[].IPProtocol`` (tcp, udp, all, ...)
    with ``ports`` strings ("22", "20-30"; none = every port), ``sourceRanges``, ``direction``,
    ``disabled``. Like CIS 3.6/3.7, each rule is judged on its own.
    """
    port = int(params["port"])
    props = resource.properties
    if props.get("direction", "INGRESS") != "INGRESS" or props.get("disabled"):
        return True, "not an enabled ingress rule"
    world = [r for r in props.get("sourceRanges") or [] if ipaddress.ip_network(str(r), strict=False) in _WORLD]
    if not world:
        return True, "no source range is the whole internet"
    for allowed in props.get("allowed") or []:
        if _covers(allowed, port):
            return False, f"allows {allowed.get('IPProtocol')}/{port} from {', '.join(world)}"
    return True, f"port {port} is not allowed from the internet"


@CHECKS.register("gcp_separation_of_duties")
def separation_of_duties(resource: Any, params: Mapping[str, Any]) -> tuple[bool, str]:
    """Compliant when no member holds one of ``admin_roles`` and one of ``user_roles`` together (CIS 1.8, 1.11).

    Reads the project's unconditional bindings (gcp.iam.project_policy). CIS's audit groups every member of
    the two role sets and reports the ones that appear in both, whatever the member type (user, group or
    service account), so all member types count here too.
    """
    admin_roles = set(params.get("admin_roles") or ())
    user_roles = set(params.get("user_roles") or ())
    if not admin_roles or not user_roles:
        raise ValueError("gcp_separation_of_duties needs admin_roles and user_roles")
    admins: dict[str, set[str]] = {}
    users: dict[str, set[str]] = {}
    for role, member in _grants(_bindings(resource)):
        if role in admin_roles:
            admins.setdefault(member, set()).add(role)
        if role in user_roles:
            users.setdefault(member, set()).add(role)
    found = sorted(
        f"{member} has {', '.join(sorted(admins[member] | users[member]))}" for member in admins.keys() & users.keys()
    )
    return (not found, "; ".join(found) or "no member holds both an administrator and a user role")
