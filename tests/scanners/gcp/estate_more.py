"""The rest of the test estate: the services behind CIS GCP 1.12-1.17, 2.3-2.16, 3.3-3.5 and 7.x.

``acme-bad`` breaks and ``acme-good`` satisfies each rule, as in estate.py; a third project, ``acme-other`` in
organization 300, is there for what depends on the organization (Essential Contacts). Each resource is in
the shape its own API returns (Cloud DNS's lower-case enums, Service Usage's ``config.name``, ...) and,
where an API has two shapes for the same fact, both appear.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from skywarden.bot.demo.gcp_standin import CloudAssetStandIn

BAD, GOOD, OTHER = "acme-bad", "acme-good", "acme-other"
NUMBERS = {BAD: "1001", GOOD: "1002", OTHER: "1004"}
RECENT = (datetime.now(UTC) - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def zone_id(project: str, name: str) -> str:
    return f"//dns.googleapis.com/projects/{project}/managedZones/{name}"


def backend_id(project: str, name: str, region: str | None = None) -> str:
    where = f"regions/{region}" if region else "global"
    return f"//compute.googleapis.com/projects/{project}/{where}/backendServices/{name}"


def cluster_id(project: str, name: str) -> str:
    return f"//dataproc.googleapis.com/projects/{project}/regions/europe-west1/clusters/{name}"


def dataset_id(project: str, dataset: str) -> str:
    return f"//bigquery.googleapis.com/projects/{project}/datasets/{dataset}"


def table_id(project: str, dataset: str, table: str) -> str:
    return f"{dataset_id(project, dataset)}/tables/{table}"


def api_key_id(project: str, uid: str) -> str:
    return f"//apikeys.googleapis.com/projects/{NUMBERS[project]}/locations/global/keys/{uid}"


def project_keys_id(project: str) -> str:
    return f"//apikeys.googleapis.com/projects/{project}/keys"


def log_alerting_id(project: str) -> str:
    return f"//monitoring.googleapis.com/projects/{project}/logAlerting"


def services_id(project: str) -> str:
    return f"//serviceusage.googleapis.com/projects/{project}/services"


def access_approval_id(project: str) -> str:
    return f"//accessapproval.googleapis.com/projects/{project}/accessApprovalSettings"


def contacts_id(project: str) -> str:
    return f"//essentialcontacts.googleapis.com/projects/{project}/organizationContacts"


def seed_more(s: CloudAssetStandIn) -> None:
    s.add_project(OTHER, NUMBERS[OTHER], "Acme (other org)", ancestors=("organizations/300",))
    _dns(s)
    _backend_services(s)
    _dataproc(s)
    _bigquery(s)
    _log_buckets(s)
    _log_alerting(s)
    _api_keys(s)
    _project_settings(s)
    _contacts(s)


def _dns(s: CloudAssetStandIn) -> None:
    zone = "dns.googleapis.com/ManagedZone"

    def spec(key_type: str, algorithm: str, length: int) -> dict[str, Any]:
        return {"keyType": key_type, "algorithm": algorithm, "keyLength": length, "kind": "dns#dnsKeySpec"}

    for project, name, data in [
        (
            BAD,
            "shop",
            {"visibility": "public", "dnssecConfig": {"state": "off", "kind": "dns#managedZoneDnsSecConfig"}},
        ),
        # No visibility: the API's default is public. DNSSEC on, but both keys sign with SHA-1.
        (
            BAD,
            "legacy",
            {
                "dnssecConfig": {
                    "state": "on",
                    "defaultKeySpecs": [spec("keySigning", "rsasha1", 2048), spec("zoneSigning", "rsasha1", 1024)],
                }
            },
        ),
        (
            GOOD,
            "www",
            {
                "visibility": "public",
                "dnssecConfig": {
                    "state": "on",
                    "nonExistence": "nsec3",
                    "defaultKeySpecs": [
                        spec("keySigning", "rsasha256", 2048),
                        spec("zoneSigning", "ECDSAP256SHA256", 256),
                    ],
                },
            },
        ),
        # Private zones cannot use DNSSEC: not applicable.
        (GOOD, "internal", {"visibility": "private", "privateVisibilityConfig": {"networks": []}}),
    ]:
        body = {"name": name, "dnsName": f"{name}.acme.example.", "kind": "dns#managedZone", **data}
        s.add_asset(project, zone, zone_id(project, name), body)
    policy = "dns.googleapis.com/Policy"
    for project, name, logging, url in [
        (BAD, "no-logging", False, "https://www.googleapis.com/compute/v1/projects/acme-bad/global/networks/default"),
        # Logs a network of another project that happens to be called "default": not acme-bad's.
        (BAD, "other-project", True, "projects/acme-good/global/networks/default"),
        (
            GOOD,
            "dns-logging",
            True,
            "https://compute.googleapis.com/compute/v1/projects/acme-good/global/networks/prod-vpc",
        ),
    ]:
        body = {
            "name": name,
            "kind": "dns#policy",
            "enableLogging": logging,
            "enableInboundForwarding": False,
            "networks": [{"kind": "dns#policyNetwork", "networkUrl": url}],
        }
        s.add_asset(project, policy, f"//dns.googleapis.com/projects/{project}/policies/{name}", body)


def _backend_services(s: CloudAssetStandIn) -> None:
    for project, name, region, data in [
        (
            BAD,
            "web-backend",
            None,
            {"protocol": "HTTP", "loadBalancingScheme": "EXTERNAL", "logConfig": {"enable": False}},
        ),
        # A passthrough (TCP) backend is not an HTTP(S) load balancer: not applicable.
        (BAD, "tcp-backend", "us-central1", {"protocol": "TCP", "loadBalancingScheme": "INTERNAL"}),
        # No protocol: the API's default is HTTP.
        (
            GOOD,
            "api-backend",
            None,
            {"loadBalancingScheme": "EXTERNAL_MANAGED", "logConfig": {"enable": True, "sampleRate": 1}},
        ),
        (
            GOOD,
            "internal-app",
            "europe-west1",
            {
                "protocol": "HTTPS",
                "loadBalancingScheme": "INTERNAL_MANAGED",
                "logConfig": {"enable": True, "sampleRate": 0.5},
            },
        ),
    ]:
        asset_type = (
            "compute.googleapis.com/RegionBackendService" if region else "compute.googleapis.com/BackendService"
        )
        s.add_asset(
            project, asset_type, backend_id(project, name, region), {"name": name, **data}, location=region or "global"
        )


def _dataproc(s: CloudAssetStandIn) -> None:
    key = "projects/acme-good/locations/europe-west1/keyRings/data/cryptoKeys/dataproc"
    for project, name, encryption in [
        (BAD, "etl", None),
        (GOOD, "spark-pd", {"gcePdKmsKeyName": key}),
        (GOOD, "spark-kms", {"kmsKey": key}),  # the newer field
    ]:
        config: dict[str, Any] = {"configBucket": f"{name}-staging", "gceClusterConfig": {"zoneUri": "europe-west1-b"}}
        if encryption:
            config["encryptionConfig"] = encryption
        body = {"projectId": project, "clusterName": name, "config": config, "labels": {"team": "data"}}
        s.add_asset(
            project, "dataproc.googleapis.com/Cluster", cluster_id(project, name), body, location="europe-west1"
        )


def _bigquery(s: CloudAssetStandIn) -> None:
    dataset, table = "bigquery.googleapis.com/Dataset", "bigquery.googleapis.com/Table"
    key = "projects/acme-good/locations/eu/keyRings/bq/cryptoKeys/warehouse"

    def ds(project: str, name: str, access: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {
            "kind": "bigquery#dataset",
            "datasetReference": {"projectId": project, "datasetId": name},
            "access": access,
            **extra,
        }

    # Shared with every Google account through the access list's older specialGroup form.
    s.add_asset(
        BAD,
        dataset,
        dataset_id(BAD, "exports"),
        ds(BAD, "exports", [{"role": "READER", "specialGroup": "allAuthenticatedUsers"}]),
        location="US",
    )
    # Public through the IAM policy only (the access list shows no public entry).
    s.add_asset(
        BAD,
        dataset,
        dataset_id(BAD, "shared"),
        ds(BAD, "shared", [{"role": "OWNER", "userByEmail": "alice@acme.example"}]),
        location="US",
        iam_policy={"bindings": [{"role": "roles/bigquery.dataViewer", "members": ["allUsers"]}]},
    )
    s.add_asset(
        GOOD,
        dataset,
        dataset_id(GOOD, "warehouse"),
        ds(
            GOOD,
            "warehouse",
            [
                {"role": "OWNER", "groupByEmail": "data-admins@acme.example"},
                {"role": "READER", "iamMember": "group:analysts@acme.example"},
            ],
            defaultEncryptionConfiguration={"kmsKeyName": key},
        ),
        location="EU",
        iam_policy={"bindings": [{"role": "roles/bigquery.dataOwner", "members": ["group:data-admins@acme.example"]}]},
    )
    for project, ds_name, name, data in [
        (BAD, "exports", "raw", {"type": "TABLE"}),
        (GOOD, "warehouse", "facts", {"type": "TABLE", "encryptionConfiguration": {"kmsKeyName": key}}),
        (GOOD, "warehouse", "summary", {"type": "VIEW", "view": {"query": "SELECT 1"}}),
        (GOOD, "warehouse", "lake", {"type": "EXTERNAL", "externalDataConfiguration": {"sourceFormat": "PARQUET"}}),
    ]:
        body = {
            "kind": "bigquery#table",
            "tableReference": {"projectId": project, "datasetId": ds_name, "tableId": name},
            **data,
        }
        s.add_asset(project, table, table_id(project, ds_name, name), body, location="EU")


def _log_buckets(s: CloudAssetStandIn) -> None:
    # estate.py's sinks write to gs://bad-logs (acme-bad) and gs://good-logs (acme-good).
    bucket = "storage.googleapis.com/Bucket"
    uniform = {"uniformBucketLevelAccess": {"enabled": True}, "publicAccessPrevention": "enforced"}
    s.add_asset(
        BAD,
        bucket,
        "//storage.googleapis.com/bad-logs",
        {
            "name": "bad-logs",
            "iamConfiguration": uniform,
            "retentionPolicy": {"retentionPeriod": "2592000", "effectiveTime": "2024-01-01T00:00:00Z"},
        },
        location="US",
    )
    s.add_asset(
        GOOD,
        bucket,
        "//storage.googleapis.com/good-logs",
        {
            "name": "good-logs",
            "iamConfiguration": uniform,
            "retentionPolicy": {
                "retentionPeriod": "31536000",
                "effectiveTime": "2024-01-01T00:00:00Z",
                "isLocked": True,
            },
        },
        location="EU",
    )


# The filters CIS prescribes (2.4-2.11), written as people write them: quoted or not, ':' or '=',
# versioned method names.
_DELTA = "protoPayload.serviceData.policyDelta.bindingDeltas"
_IAM = "protoPayload.methodName=google.iam.admin.v1"
GOOD_FILTERS = {
    "owner-changes": '(protoPayload.serviceName="cloudresourcemanager.googleapis.com")'
    " AND (ProjectOwnership OR projectOwnerInvitee)"
    f' OR ({_DELTA}.action="REMOVE" AND {_DELTA}.role="roles/owner")'
    f' OR ({_DELTA}.action="ADD" AND {_DELTA}.role="roles/owner")',
    "audit-config": 'protoPayload.methodName="SetIamPolicy" AND\n'
    "  protoPayload.serviceData.policyDelta.auditConfigDeltas:*",
    "custom-roles": f'resource.type="iam_role" AND ({_IAM}.CreateRole OR {_IAM}.DeleteRole'
    f" OR {_IAM}.UpdateRole OR {_IAM}.UndeleteRole)",
    "firewall": 'resource.type="gce_firewall_rule" AND (protoPayload.methodName:"compute.firewalls.patch"'
    ' OR protoPayload.methodName:"compute.firewalls.insert"'
    ' OR protoPayload.methodName:"compute.firewalls.delete")',
    "routes": "resource.type=gce_route AND (protoPayload.methodName:compute.routes.delete"
    " OR protoPayload.methodName:compute.routes.insert)",
    "networks": "resource.type=gce_network AND protoPayload.methodName=beta.compute.networks.insert"
    " OR protoPayload.methodName=beta.compute.networks.patch"
    " OR protoPayload.methodName=v1.compute.networks.delete"
    " OR protoPayload.methodName=v1.compute.networks.removePeering"
    " OR protoPayload.methodName=v1.compute.networks.addPeering",
    "bucket-iam": 'resource.type="gcs_bucket" AND protoPayload.methodName="storage.setIamPermissions"',
    "sql-changes": 'protoPayload.methodName="cloudsql.instances.update"',
}


def _metric(project: str, name: str, filter_text: str, **extra: Any) -> tuple[str, str, dict[str, Any]]:
    body = {
        "name": name,
        "filter": filter_text,
        "metricDescriptor": {
            "type": f"logging.googleapis.com/user/{name}",
            "metricKind": "DELTA",
            "valueType": "INT64",
        },
        **extra,
    }
    return project, f"//logging.googleapis.com/projects/{NUMBERS[project]}/metrics/{name}", body


def _policy(
    project: str, number: int, conditions: list[dict[str, Any]], channels: bool = True, **extra: Any
) -> tuple[str, str, dict[str, Any]]:
    name = f"projects/{project}/alertPolicies/{number}"
    body = {
        "name": name,
        "displayName": f"policy {number}",
        "combiner": "OR",
        "conditions": conditions,
        "notificationChannels": [f"projects/{project}/notificationChannels/77"] if channels else [],
        **extra,
    }
    return project, f"//monitoring.googleapis.com/{name}", body


def _threshold(metric: str) -> dict[str, Any]:
    return {
        "displayName": metric,
        "conditionThreshold": {
            "filter": f'metric.type = "logging.googleapis.com/user/{metric}" AND resource.type="global"',
            "comparison": "COMPARISON_GT",
            "thresholdValue": 0,
            "duration": "0s",
        },
    }


def _log_alerting(s: CloudAssetStandIn) -> None:
    metrics = [_metric(GOOD, name, text) for name, text in GOOD_FILTERS.items()]
    policies = [
        # ``enabled`` unset: the API treats the policy as enabled.
        _policy(GOOD, 1, [_threshold(m) for m in ("owner-changes", "audit-config", "custom-roles")]),
        _policy(GOOD, 2, [_threshold(m) for m in ("firewall", "routes", "networks")], enabled=True),
        _policy(
            GOOD,
            3,
            [
                {
                    "displayName": "mql",
                    "conditionMonitoringQueryLanguage": {
                        "query": "fetch global | metric 'logging.googleapis.com/user/bucket-iam' | every 1m",
                        "duration": "0s",
                    },
                },
                {
                    "displayName": "promql",
                    "conditionPrometheusQueryLanguage": {
                        "query": "sum(rate(logging_googleapis_com:user_sql_changes[1m])) > 0"
                    },
                },
            ],
            enabled=True,
        ),
    ]
    # The metric for sql-changes is named with an underscore in PromQL only when its name has one.
    metrics[-1] = _metric(GOOD, "sql_changes", GOOD_FILTERS["sql-changes"])
    metrics += [
        # acme-bad: a matching metric whose only policy is disabled (owner changes); one whose policy notifies
        # nobody (firewall); one whose filter lacks a clause (routes: no insert); a disabled metric (SQL).
        _metric(BAD, "owners", GOOD_FILTERS["owner-changes"]),
        _metric(BAD, "fw", GOOD_FILTERS["firewall"]),
        _metric(BAD, "routes", 'resource.type="gce_route" AND protoPayload.methodName:"compute.routes.delete"'),
        _metric(BAD, "sql", GOOD_FILTERS["sql-changes"], disabled=True),
        # custom-roles without the resource type; bucket IAM on another method.
        _metric(
            BAD,
            "roles",
            f"{_IAM}.CreateRole OR {_IAM}.DeleteRole",
        ),
        _metric(BAD, "bucket", 'resource.type="gcs_bucket" AND protoPayload.methodName="storage.setIamPermissionsX"'),
    ]
    policies += [
        _policy(BAD, 11, [_threshold("owners")], enabled=False),
        _policy(BAD, 12, [_threshold("fw")], channels=False),
        _policy(BAD, 13, [_threshold(m) for m in ("routes", "sql", "roles", "bucket")]),
    ]
    for project, name, body in metrics:
        s.add_asset(project, "logging.googleapis.com/LogMetric", name, body)
    for project, name, body in policies:
        s.add_asset(project, "monitoring.googleapis.com/AlertPolicy", name, body)


def _api_keys(s: CloudAssetStandIn) -> None:
    t = "apikeys.googleapis.com/Key"

    def key(
        project: str, uid: str, display: str, created: str, restrictions: dict[str, Any] | None, **extra: Any
    ) -> None:
        number = NUMBERS[project]
        body = {
            "name": f"projects/{number}/locations/global/keys/{uid}",
            "uid": uid,
            "displayName": display,
            "createTime": created,
            "updateTime": created,
            "etag": 'W/"abc"',
            **({"restrictions": restrictions} if restrictions is not None else {}),
            **extra,
        }
        s.add_asset(project, t, api_key_id(project, uid), body)

    key(BAD, "k-old", "browser key", "2021-06-01T10:00:00.000000Z", None)
    key(BAD, "k-all", "all apis", RECENT, {"apiTargets": [{"service": "cloudapis.googleapis.com"}]})
    key(
        BAD,
        "k-maps",
        "maps",
        RECENT,
        {
            "apiTargets": [{"service": "maps-backend.googleapis.com"}],
            "browserKeyRestrictions": {"allowedReferrers": ["https://shop.acme.example/*"]},
        },
    )
    # Deleted keys stay listed for 30 days with deleteTime set; they cannot be used.
    key(GOOD, "k-gone", "retired", "2021-06-01T10:00:00.000000Z", None, deleteTime=RECENT)


def _project_settings(s: CloudAssetStandIn) -> None:
    t = "serviceusage.googleapis.com/Service"
    for project, service, state, with_config in [
        (BAD, "compute.googleapis.com", "ENABLED", True),
        (BAD, "cloudasset.googleapis.com", "DISABLED", True),
        (GOOD, "cloudasset.googleapis.com", "ENABLED", False),  # no config block: the name says which service
    ]:
        number = NUMBERS[project]
        body: dict[str, Any] = {
            "name": f"projects/{number}/services/{service}",
            "parent": f"projects/{number}",
            "state": state,
        }
        if with_config:
            body["config"] = {"name": service, "title": service.split(".")[0]}
        s.add_asset(project, t, f"//serviceusage.googleapis.com/projects/{number}/services/{service}", body)
    t = "accessapproval.googleapis.com/AccessApprovalSettings"
    for project, body in [
        (BAD, {"enrolledServices": [], "enrolledAncestor": False}),  # settings exist, nothing enrolled
        (
            GOOD,
            {"enrolledAncestor": True, "notificationEmails": ["approvers@acme.example"]},
        ),  # enrolled by its folder/org
        (OTHER, {"enrolledServices": [{"cloudProduct": "all", "enrollmentLevel": "BLOCK_ALL"}]}),
    ]:
        number = NUMBERS[project]
        name = f"projects/{number}/accessApprovalSettings"
        s.add_asset(project, t, f"//accessapproval.googleapis.com/{name}", {"name": name, **body})


def _contacts(s: CloudAssetStandIn) -> None:
    t = "essentialcontacts.googleapis.com/Contact"

    def contact(owner: str, cid: str, email: str, categories: list[str], state: str = "VALID") -> dict[str, Any]:
        return {
            "name": f"{owner}/contacts/{cid}",
            "email": email,
            "notificationCategorySubscriptions": categories,
            "languageTag": "en",
            "validationState": state,
        }

    org = "organizations/100"  # acme-bad and acme-good: every CIS category has a contact
    for cid, email, categories in [
        ("1", "security@acme.example", ["SECURITY", "TECHNICAL"]),
        ("2", "legal@acme.example", ["LEGAL"]),
        ("3", "billing@acme.example", ["SUSPENSION", "BILLING"]),
    ]:
        s.add_scope_asset(
            (org,), t, f"//essentialcontacts.googleapis.com/{org}/contacts/{cid}", contact(org, cid, email, categories)
        )
    org = "organizations/300"  # acme-other: ALL, but on an address that failed validation
    s.add_scope_asset(
        (org,),
        t,
        f"//essentialcontacts.googleapis.com/{org}/contacts/9",
        contact(org, "9", "old@acme.example", ["ALL"], "INVALID"),
    )
    s.add_scope_asset(
        (org,),
        t,
        f"//essentialcontacts.googleapis.com/{org}/contacts/8",
        contact(org, "8", "sec@acme.example", ["SECURITY"]),
    )
    # A project's own contact is listed under the organization too, but is not the organization's.
    project = f"projects/{NUMBERS[OTHER]}"
    s.add_asset(
        OTHER,
        t,
        f"//essentialcontacts.googleapis.com/{project}/contacts/5",
        contact(project, "5", "team@acme.example", ["ALL"]),
    )
