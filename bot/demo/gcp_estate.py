"""A deliberately misconfigured Google Cloud estate for ``skywarden demo``, served by the loopback stand-in.

Organization ``organizations/4242`` ("acme.example", one Essential Contact) with three projects: a production
web project that makes the classic mistakes (default network with its world-open firewall rules, a public bucket, a VM
on the default service account with full API access, a Cloud SQL instance open to 0.0.0.0/0), a data
project that is mostly right, and a sandbox nobody tidied. Some resources are configured correctly, so
the demo shows passes as well as failures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from skywarden.bot.demo.gcp_standin import CloudAssetStandIn

DEMO_ORGANIZATION = "organizations/4242"
WEB, DATA, SANDBOX = "acme-web-prod", "acme-data-prod", "acme-sandbox"
_NUMBERS = {WEB: "310000000001", DATA: "310000000002", SANDBOX: "310000000003"}
FULL_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


@contextmanager
def serve_demo_estate() -> Iterator[CloudAssetStandIn]:
    """Serve the demo estate on 127.0.0.1 for the duration of the block."""
    with CloudAssetStandIn() as standin:
        seed_demo_estate(standin)
        yield standin


def seed_demo_estate(s: CloudAssetStandIn) -> None:
    sa = lambda name, project: f"serviceAccount:{name}@{project}.iam.gserviceaccount.com"  # noqa: E731
    s.add_project(
        WEB,
        _NUMBERS[WEB],
        "Acme Web (prod)",
        ("folders/5001", DEMO_ORGANIZATION),
        {
            "bindings": [
                {"role": "roles/owner", "members": ["user:cto@acme.example", "group:platform-admins@acme.example"]},
                {"role": "roles/editor", "members": [sa("ci-deployer", WEB), "user:contractor@gmail.com"]},
                {"role": "roles/iam.serviceAccountTokenCreator", "members": ["user:dev1@acme.example"]},
            ],
        },
    )
    s.add_project(
        DATA,
        _NUMBERS[DATA],
        "Acme Data (prod)",
        ("folders/5001", DEMO_ORGANIZATION),
        {
            "bindings": [
                {"role": "roles/owner", "members": ["group:data-admins@acme.example"]},
                {"role": "roles/bigquery.dataViewer", "members": ["group:analysts@acme.example"]},
            ],
            "auditConfigs": [
                {
                    "service": "allServices",
                    "auditLogConfigs": [{"logType": "ADMIN_READ"}, {"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}],
                }
            ],
        },
    )
    s.add_project(
        SANDBOX,
        _NUMBERS[SANDBOX],
        "Acme Sandbox",
        ("folders/5002", DEMO_ORGANIZATION),
        {
            "bindings": [
                {"role": "roles/owner", "members": ["user:intern@acme.example"]},
                {"role": "roles/storage.admin", "members": [sa("scratch", SANDBOX)]},
            ],
            "auditConfigs": [{"service": "allServices", "auditLogConfigs": [{"logType": "DATA_WRITE"}]}],
        },
    )
    _web(s)
    _data(s)
    _sandbox(s)
    _more(s)


def _compute_name(project: str, where: str, kind: str, name: str) -> str:
    return f"//compute.googleapis.com/projects/{project}/{where}/{kind}/{name}"


def _firewall(s: CloudAssetStandIn, project: str, name: str, ranges: list[str], allowed: list[dict[str, Any]]) -> None:
    s.add_asset(
        project,
        "compute.googleapis.com/Firewall",
        _compute_name(project, "global", "firewalls", name),
        {
            "name": name,
            "network": f"projects/{project}/global/networks/default",
            "direction": "INGRESS",
            "priority": 65534,
            "sourceRanges": ranges,
            "allowed": allowed,
            "disabled": False,
        },
    )


def _vm(s: CloudAssetStandIn, project: str, zone: str, name: str, data: dict[str, Any]) -> None:
    s.add_asset(
        project,
        "compute.googleapis.com/Instance",
        _compute_name(project, f"zones/{zone}", "instances", name),
        {"name": name, "status": "RUNNING", **data},
        location=zone,
    )


def _bucket(s: CloudAssetStandIn, project: str, name: str, uniform: bool, members: list[str], location: str) -> None:
    s.add_asset(
        project,
        "storage.googleapis.com/Bucket",
        f"//storage.googleapis.com/{name}",
        {
            "name": name,
            "location": location,
            "storageClass": "STANDARD",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": uniform}},
        },
        location=location,
        iam_policy={"bindings": [{"role": "roles/storage.objectViewer", "members": members}]},
    )


def _sql(s: CloudAssetStandIn, project: str, name: str, version: str, settings: dict[str, Any], region: str) -> None:
    s.add_asset(
        project,
        "sqladmin.googleapis.com/Instance",
        f"//cloudsql.googleapis.com/projects/{project}/instances/{name}",
        {
            "name": name,
            "databaseVersion": version,
            "instanceType": "CLOUD_SQL_INSTANCE",
            "region": region,
            "settings": settings,
        },
        location=region,
    )


def _key(s: CloudAssetStandIn, project: str, name: str, data: dict[str, Any], public: bool = False) -> None:
    policy = {"bindings": [{"role": "roles/cloudkms.cryptoKeyDecrypter", "members": ["allUsers"]}]} if public else None
    s.add_asset(
        project,
        "cloudkms.googleapis.com/CryptoKey",
        f"//cloudkms.googleapis.com/projects/{project}/locations/europe-west1/keyRings/main/cryptoKeys/{name}",
        {"name": name, **data},
        location="europe-west1",
        iam_policy=policy,
    )


def _sa_key(s: CloudAssetStandIn, project: str, account: str, key: str, key_type: str, valid_after: str) -> None:
    email = f"{account}@{project}.iam.gserviceaccount.com"
    s.add_asset(
        project,
        "iam.googleapis.com/ServiceAccountKey",
        f"//iam.googleapis.com/projects/{project}/serviceAccounts/{email}/keys/{key}",
        {
            "name": f"projects/{project}/serviceAccounts/{email}/keys/{key}",
            "keyType": key_type,
            "validAfterTime": valid_after,
            "keyAlgorithm": "KEY_ALG_RSA_2048",
        },
    )


def _sinks(s: CloudAssetStandIn, project: str, extra: dict[str, Any] | None = None) -> None:
    number = _NUMBERS[project]
    s.add_asset(
        project,
        "logging.googleapis.com/LogSink",
        f"//logging.googleapis.com/projects/{number}/sinks/_Default",
        {
            "name": "_Default",
            "destination": f"logging.googleapis.com/projects/{project}/locations/global/buckets/_Default",
            "filter": 'NOT LOG_ID("cloudaudit.googleapis.com/activity")'
            ' AND NOT LOG_ID("externalaudit.googleapis.com/activity")',
        },
    )
    if extra:
        s.add_asset(
            project,
            "logging.googleapis.com/LogSink",
            f"//logging.googleapis.com/projects/{number}/sinks/{extra['name']}",
            extra,
        )


def _project_metadata(s: CloudAssetStandIn, project: str, oslogin: str | None) -> None:
    items = [{"key": "enable-oslogin", "value": oslogin}] if oslogin else []
    s.add_asset(
        project,
        "compute.googleapis.com/Project",
        f"//compute.googleapis.com/projects/{project}",
        {"name": project, "commonInstanceMetadata": {"items": items}},
    )


def _web(s: CloudAssetStandIn) -> None:
    p = WEB
    s.add_asset(
        p,
        "compute.googleapis.com/Network",
        _compute_name(p, "global", "networks", "default"),
        {"name": "default", "autoCreateSubnetworks": True},
    )
    s.add_asset(
        p,
        "compute.googleapis.com/Subnetwork",
        _compute_name(p, "regions/us-central1", "subnetworks", "default"),
        {"name": "default", "purpose": "PRIVATE", "ipCidrRange": "10.128.0.0/20"},
        location="us-central1",
    )
    _firewall(s, p, "default-allow-ssh", ["0.0.0.0/0"], [{"IPProtocol": "tcp", "ports": ["22"]}])
    _firewall(s, p, "default-allow-rdp", ["0.0.0.0/0"], [{"IPProtocol": "tcp", "ports": ["3389"]}])
    _firewall(s, p, "default-allow-internal", ["10.128.0.0/9"], [{"IPProtocol": "all"}])
    _firewall(s, p, "allow-https", ["0.0.0.0/0"], [{"IPProtocol": "tcp", "ports": ["443"]}])
    default_sa = f"{_NUMBERS[p]}-compute@developer.gserviceaccount.com"
    for name in ("web-frontend-1", "web-frontend-2"):
        _vm(
            s,
            p,
            "us-central1-a",
            name,
            {
                "labels": {"app": "storefront", "env": "prod"},
                "canIpForward": False,
                "serviceAccounts": [{"email": default_sa, "scopes": [FULL_SCOPE]}],
                "metadata": {"items": [{"key": "startup-script", "value": "#!/bin/sh\napt-get -y upgrade"}]},
                "networkInterfaces": [
                    {"network": "default", "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "name": "External NAT"}]}
                ],
                "shieldedInstanceConfig": {"enableVtpm": True, "enableIntegrityMonitoring": True},
            },
        )
    _vm(
        s,
        p,
        "us-central1-b",
        "nat-gateway",
        {
            "labels": {"role": "nat"},
            "canIpForward": True,
            "serviceAccounts": [{"email": f"nat@{p}.iam.gserviceaccount.com", "scopes": [FULL_SCOPE]}],
            "metadata": {"items": [{"key": "serial-port-enable", "value": "true"}]},
            "networkInterfaces": [{"network": "default", "accessConfigs": [{"type": "ONE_TO_ONE_NAT"}]}],
        },
    )
    _project_metadata(s, p, None)
    _bucket(s, p, "acme-storefront-assets", False, ["allUsers"], "US")
    _bucket(s, p, "acme-storefront-uploads", False, ["projectViewer:acme-web-prod"], "US")
    _sql(
        s,
        p,
        "orders-db",
        "MYSQL_8_0",
        {
            "ipConfiguration": {
                "ipv4Enabled": True,
                "requireSsl": False,
                "authorizedNetworks": [{"name": "temp-debug", "value": "0.0.0.0/0"}],
            },
            "backupConfiguration": {"enabled": False},
            "databaseFlags": [{"name": "local_infile", "value": "on"}],
            "userLabels": {"app": "storefront"},
        },
        "us-central1",
    )
    _key(s, p, "storefront-secrets", {"purpose": "ENCRYPT_DECRYPT"})
    _sa_key(s, p, "ci-deployer", "5f2c0a", "USER_MANAGED", "2021-03-02T10:00:00Z")
    _sa_key(s, p, "ci-deployer", "system1", "SYSTEM_MANAGED", "2024-04-20T10:00:00Z")
    _sinks(s, p)


def _data(s: CloudAssetStandIn) -> None:
    p = DATA
    s.add_asset(
        p,
        "compute.googleapis.com/Network",
        _compute_name(p, "global", "networks", "data-vpc"),
        {"name": "data-vpc", "autoCreateSubnetworks": False},
    )
    s.add_asset(
        p,
        "compute.googleapis.com/Subnetwork",
        _compute_name(p, "regions/europe-west1", "subnetworks", "data-euw1"),
        {"name": "data-euw1", "ipCidrRange": "10.20.0.0/20", "logConfig": {"enable": True, "flowSampling": 1}},
        location="europe-west1",
    )
    _firewall(s, p, "allow-iap-ssh", ["35.235.240.0/20"], [{"IPProtocol": "tcp", "ports": ["22"]}])
    _vm(
        s,
        p,
        "europe-west1-b",
        "etl-worker-1",
        {
            "labels": {"app": "etl"},
            "canIpForward": False,
            "serviceAccounts": [{"email": f"etl@{p}.iam.gserviceaccount.com", "scopes": [FULL_SCOPE]}],
            "metadata": {"items": [{"key": "block-project-ssh-keys", "value": "TRUE"}]},
            "networkInterfaces": [{"network": "data-vpc"}],
            "shieldedInstanceConfig": {"enableSecureBoot": True, "enableVtpm": True, "enableIntegrityMonitoring": True},
        },
    )
    _project_metadata(s, p, "TRUE")
    _bucket(s, p, "acme-data-lake", True, ["group:analysts@acme.example"], "EU")
    _sql(
        s,
        p,
        "analytics-pg",
        "POSTGRES_15",
        {
            "ipConfiguration": {
                "ipv4Enabled": False,
                "sslMode": "ENCRYPTED_ONLY",
                "privateNetwork": f"projects/{p}/global/networks/data-vpc",
            },
            "backupConfiguration": {"enabled": True, "pointInTimeRecoveryEnabled": True},
            "databaseFlags": [
                {"name": "log_connections", "value": "on"},
                {"name": "log_disconnections", "value": "on"},
            ],
        },
        "europe-west1",
    )
    _key(s, p, "lake-cmek", {"purpose": "ENCRYPT_DECRYPT", "rotationPeriod": "7776000s"})
    _key(s, p, "export-signing", {"purpose": "ASYMMETRIC_SIGN"})
    _sinks(
        s, p, {"name": "org-siem", "destination": "pubsub.googleapis.com/projects/acme-sec/topics/siem", "filter": ""}
    )


def _sandbox(s: CloudAssetStandIn) -> None:
    p = SANDBOX
    s.add_asset(
        p,
        "compute.googleapis.com/Network",
        _compute_name(p, "global", "networks", "old-net"),
        {"name": "old-net", "IPv4Range": "10.240.0.0/16", "gatewayIPv4": "10.240.0.1"},
    )
    _firewall(s, p, "allow-everything", ["0.0.0.0/0"], [{"IPProtocol": "all"}])
    _vm(
        s,
        p,
        "us-east1-b",
        "test-vm",
        {
            "serviceAccounts": [
                {
                    "email": f"{_NUMBERS[p]}-compute@developer.gserviceaccount.com",
                    "scopes": ["https://www.googleapis.com/auth/devstorage.read_only"],
                }
            ],
            "networkInterfaces": [{"network": "old-net", "accessConfigs": [{"type": "ONE_TO_ONE_NAT"}]}],
        },
    )
    _project_metadata(s, p, "FALSE")
    _bucket(s, p, "acme-sandbox-share", False, ["allAuthenticatedUsers"], "US-EAST1")
    _sql(
        s,
        p,
        "scratch-pg",
        "POSTGRES_14",
        {
            "ipConfiguration": {"ipv4Enabled": True, "sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED"},
            "backupConfiguration": {"enabled": False},
        },
        "us-east1",
    )
    _key(s, p, "scratch-key", {"purpose": "ENCRYPT_DECRYPT", "rotationPeriod": "31536000s"}, public=True)
    _sa_key(s, p, "scratch", "9a8b7c", "USER_MANAGED", "2022-11-15T08:00:00Z")
    _sinks(s, p)


def _more(s: CloudAssetStandIn) -> None:
    """Cloud DNS, load balancing, BigQuery, API keys, log-based alerting, enabled services and the
    organization's Essential Contacts: the rest of the CIS controls, a few right and most not."""
    web_zone = f"//dns.googleapis.com/projects/{WEB}/managedZones/acme-shop"
    s.add_asset(
        WEB,
        "dns.googleapis.com/ManagedZone",
        web_zone,
        {
            "name": "acme-shop",
            "dnsName": "shop.acme.example.",
            "visibility": "public",
            "dnssecConfig": {"state": "off"},
        },
    )
    s.add_asset(
        WEB,
        "compute.googleapis.com/BackendService",
        _compute_name(WEB, "global", "backendServices", "storefront-backend"),
        {
            "name": "storefront-backend",
            "protocol": "HTTP",
            "loadBalancingScheme": "EXTERNAL_MANAGED",
            "logConfig": {"enable": False},
        },
    )
    key_name = f"projects/{_NUMBERS[WEB]}/locations/global/keys/3f1c"
    s.add_asset(
        WEB,
        "apikeys.googleapis.com/Key",
        f"//apikeys.googleapis.com/{key_name}",
        {"name": key_name, "uid": "3f1c", "displayName": "storefront maps", "createTime": "2022-05-04T09:00:00Z"},
    )
    s.add_asset(
        DATA,
        "dns.googleapis.com/Policy",
        f"//dns.googleapis.com/projects/{DATA}/policies/dns-logging",
        {
            "name": "dns-logging",
            "enableLogging": True,
            "networks": [
                {"networkUrl": f"https://www.googleapis.com/compute/v1/projects/{DATA}/global/networks/data-vpc"}
            ],
        },
    )
    cmek = f"projects/{DATA}/locations/europe-west1/keyRings/main/cryptoKeys/lake-cmek"
    for project, dataset, access, extra in [
        (
            DATA,
            "analytics",
            [{"role": "READER", "groupByEmail": "analysts@acme.example"}],
            {"defaultEncryptionConfiguration": {"kmsKeyName": cmek}},
        ),
        (SANDBOX, "sandbox_share", [{"role": "READER", "specialGroup": "allAuthenticatedUsers"}], {}),
    ]:
        s.add_asset(
            project,
            "bigquery.googleapis.com/Dataset",
            f"//bigquery.googleapis.com/projects/{project}/datasets/{dataset}",
            {"datasetReference": {"projectId": project, "datasetId": dataset}, "access": access, **extra},
            location="EU",
        )
    s.add_asset(
        DATA,
        "bigquery.googleapis.com/Table",
        f"//bigquery.googleapis.com/projects/{DATA}/datasets/analytics/tables/orders",
        {
            "tableReference": {"projectId": DATA, "datasetId": "analytics", "tableId": "orders"},
            "type": "TABLE",
            "encryptionConfiguration": {"kmsKeyName": cmek},
        },
        location="EU",
    )
    metric = "audit-config-changes"
    s.add_asset(
        DATA,
        "logging.googleapis.com/LogMetric",
        f"//logging.googleapis.com/projects/{_NUMBERS[DATA]}/metrics/{metric}",
        {
            "name": metric,
            "filter": 'protoPayload.methodName="SetIamPolicy" AND '
            "protoPayload.serviceData.policyDelta.auditConfigDeltas:*",
            "metricDescriptor": {"type": f"logging.googleapis.com/user/{metric}"},
        },
    )
    s.add_asset(
        DATA,
        "monitoring.googleapis.com/AlertPolicy",
        f"//monitoring.googleapis.com/projects/{DATA}/alertPolicies/1",
        {
            "name": f"projects/{DATA}/alertPolicies/1",
            "displayName": "Audit config changed",
            "enabled": True,
            "notificationChannels": [f"projects/{DATA}/notificationChannels/1"],
            "conditions": [{"conditionThreshold": {"filter": f'metric.type="logging.googleapis.com/user/{metric}"'}}],
        },
    )
    name = f"projects/{_NUMBERS[DATA]}/services/cloudasset.googleapis.com"
    s.add_asset(
        DATA,
        "serviceusage.googleapis.com/Service",
        f"//serviceusage.googleapis.com/{name}",
        {"name": name, "config": {"name": "cloudasset.googleapis.com"}, "state": "ENABLED"},
    )
    s.add_scope_asset(
        (DEMO_ORGANIZATION,),
        "essentialcontacts.googleapis.com/Contact",
        f"//essentialcontacts.googleapis.com/{DEMO_ORGANIZATION}/contacts/1",
        {
            "name": f"{DEMO_ORGANIZATION}/contacts/1",
            "email": "secops@acme.example",
            "notificationCategorySubscriptions": ["SECURITY"],
            "validationState": "VALID",
        },
    )
