"""A two-project test estate: ``acme-bad`` breaks every GCP rule, ``acme-good`` satisfies every one.

test_gcp_rules.py lists the (rule id, resource id, outcome) expected of it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from skywarden.bot.demo.gcp_standin import CloudAssetStandIn
from tests.scanners.gcp.estate_more import seed_more

BAD, GOOD = "acme-bad", "acme-good"
NUMBERS = {BAD: "1001", GOOD: "1002"}
FULL_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def bucket_id(name: str) -> str:
    return f"//storage.googleapis.com/{name}"


def compute_id(project: str, kind: str, name: str, where: str = "global") -> str:
    return f"//compute.googleapis.com/projects/{project}/{where}/{kind}/{name}"


def sql_id(project: str, name: str) -> str:
    return f"//cloudsql.googleapis.com/projects/{project}/instances/{name}"


def key_id(project: str, name: str) -> str:
    return f"//cloudkms.googleapis.com/projects/{project}/locations/global/keyRings/ring/cryptoKeys/{name}"


def policy_id(project: str) -> str:
    return f"//cloudresourcemanager.googleapis.com/projects/{NUMBERS[project]}"


def sa_key_id(project: str, key: str) -> str:
    return f"//iam.googleapis.com/projects/{project}/serviceAccounts/1234/keys/{key}"


def sinks_id(project: str) -> str:
    return f"//logging.googleapis.com/projects/{project}/sinks"


def seed(standin: CloudAssetStandIn) -> None:
    standin.add_project(
        BAD,
        NUMBERS[BAD],
        "Acme (bad)",
        ancestors=("folders/200", "organizations/100"),
        iam_policy={
            "bindings": [
                {"role": "roles/owner", "members": ["user:alice@acme.example"]},
                {"role": "roles/editor", "members": [f"serviceAccount:deployer@{BAD}.iam.gserviceaccount.com"]},
                {"role": "roles/iam.serviceAccountUser", "members": ["user:bob@acme.example"]},
                # Separation of duties (CIS 1.8, 1.11): bob and kim each hold both halves.
                {"role": "roles/iam.serviceAccountAdmin", "members": ["user:bob@acme.example"]},
                {"role": "roles/cloudkms.admin", "members": ["user:kim@acme.example"]},
                {"role": "roles/cloudkms.cryptoKeyDecrypter", "members": ["user:kim@acme.example"]},
            ],
            "auditConfigs": [{"service": "allServices", "auditLogConfigs": [{"logType": "DATA_WRITE"}]}],
        },
    )
    standin.add_project(
        GOOD,
        NUMBERS[GOOD],
        "Acme (good)",
        ancestors=("organizations/100",),
        iam_policy={
            "bindings": [
                {"role": "roles/owner", "members": ["group:admins@acme.example"]},
                # Google's default compute account is not user-managed: CIS 1.5 leaves it out.
                {
                    "role": "roles/editor",
                    "members": [f"serviceAccount:{NUMBERS[GOOD]}-compute@developer.gserviceaccount.com"],
                },
                {"role": "roles/viewer", "members": ["user:carol@acme.example"]},
                # Key administration and key use held by different members.
                {"role": "roles/cloudkms.admin", "members": ["group:kms-admins@acme.example"]},
                {"role": "roles/iam.serviceAccountAdmin", "members": ["group:kms-admins@acme.example"]},
                {
                    "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                    "members": ["serviceAccount:app@acme-good.iam.gserviceaccount.com"],
                },
                {
                    "role": "roles/storage.admin",
                    "members": ["serviceAccount:app@acme-good.iam.gserviceaccount.com"],
                    "condition": {"title": "only logs", "expression": "resource.name.startsWith('logs')"},
                },
            ],
            "auditConfigs": [
                {
                    "service": "allServices",
                    "auditLogConfigs": [{"logType": "ADMIN_READ"}, {"logType": "DATA_READ"}, {"logType": "DATA_WRITE"}],
                }
            ],
        },
    )
    _storage(standin)
    _compute(standin)
    _sql(standin)
    _kms(standin)
    _iam_and_logging(standin)
    seed_more(standin)


def _storage(s: CloudAssetStandIn) -> None:
    public = {"bindings": [{"role": "roles/storage.objectViewer", "members": ["allUsers", "projectViewer:acme-bad"]}]}
    s.add_asset(
        BAD,
        "storage.googleapis.com/Bucket",
        bucket_id("bad-public"),
        {
            "name": "bad-public",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": False}},
            "labels": {"team": "web"},
        },
        location="US",
        iam_policy=public,
    )
    s.add_asset(
        GOOD,
        "storage.googleapis.com/Bucket",
        bucket_id("good-private"),
        {"name": "good-private", "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}}},
        location="EUROPE-WEST1",
        iam_policy={"bindings": [{"role": "roles/storage.objectViewer", "members": ["projectViewer:acme-good"]}]},
    )
    # A public grant that public access prevention overrides is not public.
    s.add_asset(
        GOOD,
        "storage.googleapis.com/Bucket",
        bucket_id("good-pap"),
        {
            "name": "good-pap",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}, "publicAccessPrevention": "enforced"},
        },
        location="US",
        iam_policy=public,
    )


def _firewall(project: str, name: str, ranges: list[str], allowed: list[dict], disabled: bool = False) -> dict:
    return {
        "name": name,
        "network": f"projects/{project}/global/networks/prod-vpc",
        "direction": "INGRESS",
        "priority": 1000,
        "sourceRanges": ranges,
        "allowed": allowed,
        "disabled": disabled,
    }


def _compute(s: CloudAssetStandIn) -> None:
    fw = "compute.googleapis.com/Firewall"
    for project, name, ranges, allowed, disabled in [
        (BAD, "allow-ssh-world", ["0.0.0.0/0"], [{"IPProtocol": "tcp", "ports": ["22", "80"]}], False),
        (BAD, "allow-all-world", ["10.0.0.0/8", "0.0.0.0/0"], [{"IPProtocol": "all"}], False),
        (BAD, "allow-rdp-range", ["0.0.0.0/0"], [{"IPProtocol": "tcp", "ports": ["3000-4000"]}], False),
        (GOOD, "allow-ssh-office", ["203.0.113.0/24"], [{"IPProtocol": "tcp", "ports": ["22", "3389"]}], False),
        (GOOD, "ssh-world-disabled", ["0.0.0.0/0"], [{"IPProtocol": "tcp", "ports": ["22"]}], True),
    ]:
        s.add_asset(
            project, fw, compute_id(project, "firewalls", name), _firewall(project, name, ranges, allowed, disabled)
        )
    net = "compute.googleapis.com/Network"
    s.add_asset(BAD, net, compute_id(BAD, "networks", "default"), {"name": "default", "autoCreateSubnetworks": True})
    s.add_asset(
        BAD, net, compute_id(BAD, "networks", "legacy-net"), {"name": "legacy-net", "IPv4Range": "10.240.0.0/16"}
    )
    s.add_asset(
        GOOD, net, compute_id(GOOD, "networks", "prod-vpc"), {"name": "prod-vpc", "autoCreateSubnetworks": False}
    )
    sub = "compute.googleapis.com/Subnetwork"
    s.add_asset(
        BAD,
        sub,
        compute_id(BAD, "subnetworks", "sub-nologs", "regions/us-central1"),
        {"name": "sub-nologs", "purpose": "PRIVATE", "ipCidrRange": "10.0.0.0/24"},
        location="us-central1",
    )
    s.add_asset(
        GOOD,
        sub,
        compute_id(GOOD, "subnetworks", "sub-logs", "regions/europe-west1"),
        {
            "name": "sub-logs",
            "ipCidrRange": "10.1.0.0/24",
            # aggregationInterval and metadata unset: the API's defaults (5 s, all metadata) are what CIS asks.
            "logConfig": {"enable": True, "flowSampling": 1.0},
        },
        location="europe-west1",
    )
    s.add_asset(
        GOOD,
        sub,
        compute_id(GOOD, "subnetworks", "proxy-only", "regions/europe-west1"),
        {"name": "proxy-only", "purpose": "REGIONAL_MANAGED_PROXY"},
        location="europe-west1",
    )
    vm = "compute.googleapis.com/Instance"
    s.add_asset(
        BAD,
        vm,
        compute_id(BAD, "instances", "web-1", "zones/us-central1-a"),
        {
            "name": "web-1",
            "status": "RUNNING",
            "canIpForward": True,
            "labels": {"env": "prod"},
            "serviceAccounts": [
                {"email": f"{NUMBERS[BAD]}-compute@developer.gserviceaccount.com", "scopes": [FULL_SCOPE]}
            ],
            "metadata": {"items": [{"key": "serial-port-enable", "value": "TRUE"}]},
            "networkInterfaces": [
                {"network": "default", "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "natIP": "203.0.113.7"}]}
            ],
            "disks": [{"deviceName": "web-1", "boot": True, "source": "zones/us-central1-a/disks/web-1"}],
        },
        location="us-central1-a",
    )
    s.add_asset(
        BAD,
        vm,
        compute_id(BAD, "instances", "batch-1", "zones/us-central1-a"),
        {
            "name": "batch-1",
            "status": "RUNNING",
            "serviceAccounts": [
                {
                    "email": f"{NUMBERS[BAD]}-compute@developer.gserviceaccount.com",
                    "scopes": ["https://www.googleapis.com/auth/devstorage.read_only"],
                }
            ],
            "metadata": {
                "items": [
                    {"key": "block-project-ssh-keys", "value": "false"},
                    {"key": "enable-oslogin", "value": "FALSE"},  # overrides the project's OS Login
                ]
            },
            "shieldedInstanceConfig": {"enableVtpm": True, "enableIntegrityMonitoring": False},
            "networkInterfaces": [{"network": "default"}],
            # A Cloud KMS (CMEK) disk is not a customer-supplied key: kmsKeyName, no sha256.
            "disks": [
                {
                    "deviceName": "batch-1",
                    "boot": True,
                    "diskEncryptionKey": {"kmsKeyName": "projects/acme-bad/locations/us/keyRings/r/cryptoKeys/k"},
                }
            ],
            # The original Confidential VM field (SEV only).
            "confidentialInstanceConfig": {"enableConfidentialCompute": True},
        },
        location="us-central1-a",
    )
    s.add_asset(
        GOOD,
        vm,
        compute_id(GOOD, "instances", "app-1", "zones/europe-west1-b"),
        {
            "name": "app-1",
            "status": "RUNNING",
            "canIpForward": False,
            "serviceAccounts": [{"email": "app@acme-good.iam.gserviceaccount.com", "scopes": [FULL_SCOPE]}],
            "metadata": {
                "items": [
                    {"key": "block-project-ssh-keys", "value": "TRUE"},
                    {"key": "serial-port-enable", "value": "0"},
                ]
            },
            "shieldedInstanceConfig": {
                "enableSecureBoot": False,
                "enableVtpm": True,
                "enableIntegrityMonitoring": True,
            },
            "networkInterfaces": [{"network": "prod-vpc"}],
            "disks": [
                {"deviceName": "app-1", "boot": True, "diskEncryptionKey": {"sha256": "mD1C5QU1xH1ZzXk2cZ4Z3g0lq8w="}},
                {"deviceName": "data", "diskEncryptionKey": {"rsaEncryptedKey": "x", "sha256": "aGVsbG8="}},
            ],
            # The newer field: confidentialInstanceType instead of enableConfidentialCompute.
            "confidentialInstanceConfig": {"confidentialInstanceType": "SEV_SNP"},
        },
        location="europe-west1-b",
    )
    # GKE manages its nodes: CIS excludes them from the service-account, SSH-key and IP rules.
    s.add_asset(
        GOOD,
        vm,
        compute_id(GOOD, "instances", "gke-pool-1", "zones/europe-west1-b"),
        {
            "name": "gke-pool-1",
            "canIpForward": True,
            "labels": {"goog-gke-node": ""},
            "serviceAccounts": [
                {"email": f"{NUMBERS[GOOD]}-compute@developer.gserviceaccount.com", "scopes": [FULL_SCOPE]}
            ],
            "shieldedInstanceConfig": {"enableVtpm": True, "enableIntegrityMonitoring": True},
            "networkInterfaces": [{"network": "prod-vpc", "accessConfigs": [{"type": "ONE_TO_ONE_NAT"}]}],
        },
        location="europe-west1-b",
    )
    proj = "compute.googleapis.com/Project"
    s.add_asset(
        BAD,
        proj,
        f"//compute.googleapis.com/projects/{BAD}",
        {"name": BAD, "commonInstanceMetadata": {"items": [{"key": "enable-oslogin", "value": "FALSE"}]}},
    )
    s.add_asset(
        GOOD,
        proj,
        f"//compute.googleapis.com/projects/{GOOD}",
        {"name": GOOD, "commonInstanceMetadata": {"items": [{"key": "enable-oslogin", "value": "TRUE"}]}},
    )


def _sql(s: CloudAssetStandIn) -> None:
    t = "sqladmin.googleapis.com/Instance"
    s.add_asset(
        BAD,
        t,
        sql_id(BAD, "pg-public"),
        {
            "name": "pg-public",
            "databaseVersion": "POSTGRES_15",
            "instanceType": "CLOUD_SQL_INSTANCE",
            "ipAddresses": [{"type": "PRIMARY", "ipAddress": "198.51.100.4"}],
            "settings": {
                "ipConfiguration": {
                    "ipv4Enabled": True,
                    "requireSsl": False,
                    "sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
                    "authorizedNetworks": [{"name": "anywhere", "value": "0.0.0.0/0"}],
                },
                "backupConfiguration": {"enabled": False},
                "userLabels": {"team": "data"},
                "databaseFlags": [
                    {"name": "log_error_verbosity", "value": "verbose"},
                    {"name": "log_min_messages", "value": "notice"},
                    {"name": "log_min_error_statement", "value": "warning"},
                    {"name": "log_min_duration_statement", "value": "500"},
                ],
            },
        },
        location="us-central1",
    )
    s.add_asset(
        BAD,
        t,
        sql_id(BAD, "mysql-1"),
        {
            "name": "mysql-1",
            "databaseVersion": "MYSQL_8_0",
            "instanceType": "CLOUD_SQL_INSTANCE",
            "settings": {
                "ipConfiguration": {"ipv4Enabled": False, "requireSsl": True},
                "backupConfiguration": {"enabled": True},
                "databaseFlags": [{"name": "local_infile", "value": "on"}],
            },
        },
        location="us-central1",
    )
    s.add_asset(
        GOOD,
        t,
        sql_id(GOOD, "pg-private"),
        {
            "name": "pg-private",
            "databaseVersion": "POSTGRES_15",
            "instanceType": "CLOUD_SQL_INSTANCE",
            "ipAddresses": [{"type": "PRIVATE", "ipAddress": "10.3.0.5"}],
            "settings": {
                "ipConfiguration": {
                    "ipv4Enabled": False,
                    "sslMode": "ENCRYPTED_ONLY",
                    "authorizedNetworks": [{"value": "203.0.113.0/24"}],
                },
                "backupConfiguration": {"enabled": True},
                "databaseFlags": [
                    {"name": "log_connections", "value": "on"},
                    {"name": "log_disconnections", "value": "on"},
                    {"name": "cloudsql.enable_pgaudit", "value": "on"},
                    # Case as the user set it; the verbosity and min_* flags are unset (PostgreSQL defaults).
                    {"name": "log_statement", "value": "DDL"},
                ],
            },
        },
        location="europe-west1",
    )
    s.add_asset(
        GOOD,
        t,
        sql_id(GOOD, "mysql-2"),
        {
            "name": "mysql-2",
            "databaseVersion": "MYSQL_8_0",
            "instanceType": "CLOUD_SQL_INSTANCE",
            "settings": {
                "ipConfiguration": {"ipv4Enabled": False, "requireSsl": True},
                "backupConfiguration": {"enabled": True},
                "databaseFlags": [
                    {"name": "local_infile", "value": "off"},
                    {"name": "skip_show_database", "value": "on"},
                ],
            },
        },
        location="europe-west1",
    )


    # SQL Server flags carry spaces in their names; unset ones have SQL Server's defaults.
    s.add_asset(
        BAD,
        t,
        sql_id(BAD, "mssql-1"),
        {
            "name": "mssql-1",
            "databaseVersion": "SQLSERVER_2019_STANDARD",
            "instanceType": "CLOUD_SQL_INSTANCE",
            "settings": {
                "ipConfiguration": {"ipv4Enabled": False, "sslMode": "ENCRYPTED_ONLY"},
                "backupConfiguration": {"enabled": True},
                "databaseFlags": [
                    {"name": "external scripts enabled", "value": "on"},
                    {"name": "cross db ownership chaining", "value": "on"},
                    {"name": "user connections", "value": "100"},
                    {"name": "user options", "value": "512"},
                    {"name": "contained database authentication", "value": "on"},
                ],
            },
        },
        location="us-central1",
    )
    s.add_asset(
        GOOD,
        t,
        sql_id(GOOD, "mssql-2"),
        {
            "name": "mssql-2",
            "databaseVersion": "SQLSERVER_2022_ENTERPRISE",
            "instanceType": "CLOUD_SQL_INSTANCE",
            "settings": {
                "ipConfiguration": {"ipv4Enabled": False, "sslMode": "ENCRYPTED_ONLY"},
                "backupConfiguration": {"enabled": True},
                "databaseFlags": [
                    {"name": "remote access", "value": "off"},
                    {"name": "3625", "value": "ON"},
                    {"name": "user connections", "value": "0"},
                    {"name": "external scripts enabled", "value": "off"},
                ],
            },
        },
        location="europe-west1",
    )


def _kms(s: CloudAssetStandIn) -> None:
    t = "cloudkms.googleapis.com/CryptoKey"
    s.add_asset(
        BAD,
        t,
        key_id(BAD, "k-norotate"),
        {"name": "k-norotate", "purpose": "ENCRYPT_DECRYPT"},
        iam_policy={"bindings": [{"role": "roles/cloudkms.cryptoKeyDecrypter", "members": ["allAuthenticatedUsers"]}]},
    )
    s.add_asset(
        BAD,
        t,
        key_id(BAD, "k-yearly"),
        {"name": "k-yearly", "purpose": "ENCRYPT_DECRYPT", "rotationPeriod": "31536000s"},
    )
    s.add_asset(
        GOOD,
        t,
        key_id(GOOD, "k-ok"),
        {
            "name": "k-ok",
            "purpose": "ENCRYPT_DECRYPT",
            "rotationPeriod": "7776000s",
            "nextRotationTime": "2024-06-01T00:00:00Z",
        },
        iam_policy={
            "bindings": [
                {
                    "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                    "members": ["serviceAccount:app@acme-good.iam.gserviceaccount.com"],
                }
            ]
        },
    )
    s.add_asset(GOOD, t, key_id(GOOD, "k-sign"), {"name": "k-sign", "purpose": "ASYMMETRIC_SIGN"})


def _iam_and_logging(s: CloudAssetStandIn) -> None:
    t = "iam.googleapis.com/ServiceAccountKey"
    recent = (datetime.now(UTC) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for project, key, key_type, valid_after in [
        (BAD, "old-user-key", "USER_MANAGED", "2020-01-01T00:00:00Z"),
        (BAD, "new-user-key", "USER_MANAGED", recent),
        (GOOD, "system-key", "SYSTEM_MANAGED", "2020-01-01T00:00:00Z"),
    ]:
        email = f"deployer@{project}.iam.gserviceaccount.com"
        s.add_asset(
            project,
            t,
            sa_key_id(project, key),
            {
                "name": f"projects/{project}/serviceAccounts/{email}/keys/{key}",
                "keyType": key_type,
                "validAfterTime": valid_after,
                "validBeforeTime": "9999-12-31T23:59:59Z",
                "keyAlgorithm": "KEY_ALG_RSA_2048",
            },
        )
    sink = "logging.googleapis.com/LogSink"
    default = {
        "name": "_Default",
        "destination": "logging.googleapis.com/projects/x/locations/global/buckets/_Default",
        "filter": 'NOT LOG_ID("cloudaudit.googleapis.com/activity")',
    }
    for project in (BAD, GOOD):
        s.add_asset(project, sink, f"//logging.googleapis.com/projects/{NUMBERS[project]}/sinks/_Default", default)
    s.add_asset(
        BAD,
        sink,
        f"//logging.googleapis.com/projects/{NUMBERS[BAD]}/sinks/disabled-all",
        {"name": "disabled-all", "destination": "storage.googleapis.com/bad-logs", "disabled": True},
    )
    s.add_asset(
        GOOD,
        sink,
        f"//logging.googleapis.com/projects/{NUMBERS[GOOD]}/sinks/all-logs",
        {"name": "all-logs", "destination": "storage.googleapis.com/good-logs", "filter": ""},
    )
