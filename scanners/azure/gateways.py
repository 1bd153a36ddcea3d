"""Virtual networks (subnet NSGs, DDoS protection), Application Gateways with their WAF policy, and VPN gateways'
point-to-site authentication: properties from the inventory, plus one GET per gateway's WAF policy."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from skywarden.scanners.azure.context import AzureContext, base_properties
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

WAF_POLICY_API = "2023-09-01"
# Subnets that Azure manages and that reject (or do not need) an NSG of their own.
PLATFORM_SUBNETS = {"gatewaysubnet", "azurefirewallsubnet", "azurefirewallmanagementsubnet", "routeserversubnet"}
# Minimum protocol of each predefined Application Gateway SSL policy.
PREDEFINED_SSL_POLICIES = {
    "appgwsslpolicy20150501": "TLSv1_0",
    "appgwsslpolicy20170401": "TLSv1_1",
    "appgwsslpolicy20170401s": "TLSv1_2",
    "appgwsslpolicy20220101": "TLSv1_2",
    "appgwsslpolicy20220101s": "TLSv1_2",
}


def subnets_without_nsg(vnet: Mapping[str, Any]) -> list[str]:
    """Subnets (platform-managed ones excepted) with no network security group."""
    missing = []
    for subnet in vnet.get("subnets") or []:
        name = str(subnet.get("name", ""))
        props = subnet.get("properties") if isinstance(subnet.get("properties"), Mapping) else subnet
        if name.lower() in PLATFORM_SUBNETS:
            continue
        if not (props.get("networkSecurityGroup") or {}).get("id"):
            missing.append(name)
    return sorted(missing)


def ssl_min_protocol(ssl_policy: Mapping[str, Any] | None) -> str | None:
    """The effective minimum TLS version of an SSL policy; None when the gateway sets no policy, whose platform
    default depends on the api-version the gateway was created with (TLS 1.0 before 2023-02-01)."""
    if not ssl_policy:
        return None
    if str(ssl_policy.get("policyType", "")).lower() in ("custom", "customv2"):
        return ssl_policy.get("minProtocolVersion")
    return PREDEFINED_SSL_POLICIES.get(str(ssl_policy.get("policyName", "")).lower())


def waf_policy_summary(policy: Mapping[str, Any]) -> dict[str, Any]:
    props = policy.get("properties") or {}
    settings = props.get("policySettings") or {}
    bots = False
    for rule_set in (props.get("managedRules") or {}).get("managedRuleSets") or []:
        if str(rule_set.get("ruleSetType", "")).lower() != "microsoft_botmanagerruleset":
            continue
        disabled = any(str(rule.get("state", "")).lower() == "disabled"
                       for group in rule_set.get("ruleGroupOverrides") or []
                       if str(group.get("ruleGroupName", "")).lower() == "knownbadbots"
                       for rule in group.get("rules") or [])
        bots = bots or not disabled
    return {"state": settings.get("state"), "mode": settings.get("mode"),
            # requestBodyCheck absent means on: the API's default for WAF policies.
            "request_body_check": settings.get("requestBodyCheck") is not False, "bot_protection": bots}


def p2s_auth_types(config: Mapping[str, Any]) -> list[str]:
    """Point-to-site authentication types; gateways configured before vpnAuthenticationTypes existed are read from
    which settings they carry (an AAD tenant, root certificates, a RADIUS server)."""
    types = config.get("vpnAuthenticationTypes")
    if types:
        return sorted(str(t) for t in types)
    inferred = set()
    if config.get("aadTenant"):
        inferred.add("AAD")
    if config.get("vpnClientRootCertificates"):
        inferred.add("Certificate")
    if config.get("radiusServerAddress") or config.get("radiusServers"):
        inferred.add("Radius")
    return sorted(inferred)


@collector("azure.network.vnet", service="network-vnet", regional=False)
def virtual_networks(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.network/virtualnetworks"):
        properties = base_properties(row)
        properties["subnets_without_nsg"] = subnets_without_nsg(properties)
        properties["ddos_protection"] = properties.get("enableDdosProtection") is True  # absent means off
        yield ctx.resource("azure.network.vnet", row, properties)


@collector("azure.network.appgateway", service="network-appgateway", regional=False)
def application_gateways(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.network/applicationgateways"):
        errors: dict[str, str] = {}
        properties = base_properties(row)
        properties["min_tls_version"] = ssl_min_protocol(properties.get("sslPolicy"))
        properties["http2"] = properties.get("enableHttp2") is True
        policy_id = (properties.get("firewallPolicy") or {}).get("id")
        legacy_waf = (properties.get("webApplicationFirewallConfiguration") or {}).get("enabled") is True
        tier = str((properties.get("sku") or {}).get("tier", ""))
        properties["waf_enabled"] = tier.lower().startswith("waf") and (bool(policy_id) or legacy_waf)
        properties["waf_policy"] = None
        if policy_id:
            policy = ctx.try_get(errors, "waf_policy", policy_id, WAF_POLICY_API)
            properties["waf_policy"] = None if policy is None else waf_policy_summary(policy)
        yield ctx.resource("azure.network.appgateway", row, properties, errors)


@collector("azure.network.vpngateway", service="network-vpngateway", regional=False)
def vpn_gateways(ctx: AzureContext) -> Iterator[Resource]:
    for row in ctx.rows("microsoft.network/virtualnetworkgateways"):
        properties = base_properties(row)
        config = properties.get("vpnClientConfiguration")
        properties["point_to_site"] = bool(config)
        properties["p2s_auth_types"] = p2s_auth_types(config) if config else []
        yield ctx.resource("azure.network.vpngateway", row, properties)
