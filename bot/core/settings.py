"""Bot settings: tokens from the environment (as ``Secret``), and the optional ``skywarden.yml``.

With no configuration file every account the credentials reach may be scanned by anyone in the workspace,
results go to the channel the command came from, and remediation approvals are off. A permission key left
out of the file means "anyone"; a listed one restricts. Principals are Slack user ids (U…/W…), user-group
ids (S…, resolved with usergroups.users.list) or "*".

    accounts:                      # optional names and tags for routing and permissions
      - {id: "111111111111", name: prod, tags: [production]}
      - {id: "333333333333", name: sandbox}
      - {id: 5f1c0a3e-0000-4000-8000-00000000a001, name: azure-prod, provider: azure}
      - {id: acme-web-prod, name: web, provider: gcp}
    routing:                       # every matching route gets the finding; all given criteria must match
      - {channel: C0PROD, accounts: [prod]}
      - {channel: C0SECOPS, severities: [critical, high]}
      - {channel: C0PLATFORM, tags: [production]}
    default_channel: C0SECURITY    # when no route matches (else: the channel the command came from)
    permissions:
      scan: {U0ALICE: [prod], S0SECTEAM: "*"}
  read: {U0ALICE: [prod], S0SECTEAM: "*", S0AUDITORS: "*"}  # who sees which accounts; omitted: as scan
      acknowledge: ["*"]
      suppress: [S0SECTEAM]
      remediation_approvers: [U0ALICE, S0SECLEADS]   # none: remediation from Slack is off
  schedule: [S0SECTEAM]        # who may add/remove/pause/resume schedules (and must be allowed to scan them)
    remediation:
      approval_channel: C0APPROVALS  # channel id; approvals go and are accepted only there; omitted: DMs
      self_approval_accounts: [sandbox]  # accounts where the requester may approve their own fix
      request_expiry_hours: 24       # an approval request older than this cannot be approved
  cli_operators: {alice: U0ALICE}  # OS logins allowed to use `skywarden remediate`, and who they are in Slack
    max_suppression_days: 90
    suppressions_file: suppressions.yml
    accounts_file: accounts.yml    # handed to the AWS scan (roles per account)
    broker_url: "rediss://:password@redis.internal:6380/0"  # AWS scans through Celery workers (docs/scale-out.md)
    schedules:                     # declared scan schedules (shown as from configuration; bot/schedules.py)
      - {accounts: [prod], cron: "0 6 * * 1-5", timezone: Europe/Paris, channel: C0PROD, regions: [eu-west-1]}
    scans:                         # how scans share the bot process (all optional)
      max_concurrent: 2            # scans at once; more wait in line
      timeout_minutes: 60          # a longer scan stops and stores nothing
      misfire_grace_minutes: 10    # a run missed by less runs once (coalesced); older runs are skipped
      quiet: silent                # a scheduled scan with nothing new/reopened/resolved: silent, or line
      housekeeping: "0 9 * * *"    # the daily expiry reminders (cron, in scans.timezone)
      weekly_digest: "0 9 * * 1"   # posture and trend charts to each routed channel (cron, or off)
      timezone: UTC                # default time zone of schedules
      reminder_days: 7             # announce suppressions expiring within this many days
  min_interval_minutes: 15     # refuse schedules firing more often than this (0: no limit)
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from skywarden.bot.core.schedules import ScanPolicy, ScheduleSpec, parse_scan_policy, parse_schedules
from skywarden.bot.core.workspace import WorkspacePolicy, parse_workspace
from skywarden.rules.model import SEVERITIES
from skywarden.scanners import safe_yaml
from skywarden.scanners.errors import ConfigError
from skywarden.scanners.providers import ACCOUNT_ID_PATTERNS, PROVIDERS
from skywarden.scanners.redact import redact_url
from skywarden.storage.suppressions import CodeSuppression

DEFAULT_CONFIG = "skywarden.yml"
DEFAULT_SUPPRESSIONS = "suppressions.yml"
BROKER_ENV = "SKYWARDEN_BROKER_URL"  # the same name bot.core.distributed reads (kept apart: it imports Celery)
ANYONE = "*"
_PRINCIPAL = re.compile(r"^(\*|[UWS][A-Z0-9]{2,})$")
_CHANNEL = re.compile(r"^([CGD][A-Z0-9]{2,}|#[a-z0-9_-]+)$")
_TOP_KEYS = {"accounts", "routing", "default_channel", "permissions", "max_suppression_days",
             "default_suppression_days", "suppressions_file", "accounts_file", "remediation"}
_PERMISSION_KEYS = {"scan", "read", "acknowledge", "suppress", "remediation_approvers", "schedule"}
_REMEDIATION_KEYS = {"approval_channel", "self_approval_accounts", "request_expiry_hours", "cli_operators"}
_OS_USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class Secret:
    """A token whose repr never shows it (logs, tracebacks, settings dumps)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return f"{type(self).__name__}('**********')"

    def __str__(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class AccountConfig:
    id: str
    name: str
    tags: tuple[str, ...] = ()
    provider: str = "aws"


@dataclass(frozen=True)
class Route:
    channel: str
    accounts: tuple[str, ...] = ()  # account ids
    tags: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()


@dataclass(frozen=True)
class BotConfig:
    accounts: tuple[AccountConfig, ...] = ()
    routes: tuple[Route, ...] = ()
    default_channel: str | None = None
    scan: Mapping[str, tuple[str, ...]] | None = None  # principal -> account ids, or ("*",)
    read: Mapping[str, tuple[str, ...]] | None = None  # the same shape; None: reads follow ``scan``
    schedule: tuple[str, ...] | None = None  # who may add/remove/pause/resume schedules; None: anyone
    cli_operators: Mapping[str, str] = field(default_factory=dict)  # OS login -> Slack user id (CLI four-eyes)
    acknowledge: tuple[str, ...] | None = None
    suppress: tuple[str, ...] | None = None
    remediation_approvers: tuple[str, ...] = ()
    approval_channel: str | None = None  # None: approval requests go to each approver by direct message
    self_approval_accounts: tuple[str, ...] = ()  # account ids
    request_expiry_hours: int = 24
    max_suppression_days: int = 90
    default_suppression_days: int = 30
    suppressions_file: Path | None = None
    accounts_file: Path | None = None
    # redis:// or rediss:// URL of the Celery broker (docs/scale-out.md); None: scans run in this process. Out of
    # the repr: the URL usually carries the broker's password.
    broker_url: str | None = field(default=None, repr=False)
    source: str | None = None  # the file it came from
    schedules: tuple[ScheduleSpec, ...] = ()  # declared scan schedules (bot/schedules.py)
    scans: ScanPolicy = field(default_factory=ScanPolicy)  # concurrency, timeout, misfires, quiet digests
    workspace: WorkspacePolicy = field(default_factory=WorkspacePolicy)  # who is served (bot/slack/guards.py)

    def account(self, ref: str) -> AccountConfig | None:
        for account in self.accounts:
            if ref in (account.id, account.name):
                return account
        return None

    def account_id(self, ref: str) -> str:
        account = self.account(ref)
        return account.id if account else ref

    def account_name(self, account_id: str) -> str:
        account = self.account(account_id)
        return account.name if account else account_id

    @property
    def approvals_enabled(self) -> bool:
        return bool(self.remediation_approvers)


def _err(source: str, key: str, message: str) -> ConfigError:
    return ConfigError(f"{source}: {key}: {message}")


def _strings(value: Any, source: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise _err(source, key, "must be a list of strings")
    return tuple(str(v) for v in value)


def _principals(value: Any, source: str, key: str) -> tuple[str, ...]:
    items = _strings(value, source, key)
    for item in items:
        if not _PRINCIPAL.match(item):
            raise _err(source, key, f"{item!r} is not a Slack user id (U…/W…), user-group id (S…) or '*'")
    return items


_TOP_KEYS = _TOP_KEYS | {"schedules", "scans", "workspace", "broker_url"}
_BROKER_SCHEMES = ("redis", "rediss")


def parse_config(data: Any, source: str = DEFAULT_CONFIG, base: Path | None = None) -> BotConfig:
    """Validate a configuration mapping; every error names the key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the configuration must be a mapping")
    for key in sorted(set(data) - _TOP_KEYS):
        raise _err(source, key, f"unknown key; known: {', '.join(sorted(_TOP_KEYS))}")
    accounts: list[AccountConfig] = []
    for index, entry in enumerate(data.get("accounts") or []):
        key = f"accounts[{index}]"
        if not isinstance(entry, dict) or "id" not in entry:
            raise _err(source, key, "needs an id")
        for extra in sorted(set(entry) - {"id", "name", "tags", "provider"}):
            raise _err(source, f"{key}.{extra}", "unknown key")
        account_id = str(entry["id"])
        provider = str(entry.get("provider") or "aws")
        if provider not in PROVIDERS:
            raise _err(source, f"{key}.provider", f"{provider!r} is not one of {', '.join(PROVIDERS)}")
        cloud = PROVIDERS[provider]
        if not cloud.account_id.fullmatch(account_id):
            raise _err(source, f"{key}.id", f"{account_id!r} is not {cloud.account_id_description}")
        accounts.append(AccountConfig(account_id, str(entry.get("name") or account_id),
                                      _strings(entry.get("tags") or [], source, f"{key}.tags"), provider))
    config = BotConfig(accounts=tuple(accounts))
    names = {a.name: a.id for a in accounts}

    def account_ids(value: Any, key: str) -> tuple[str, ...]:
        refs = _strings(value, source, key)
        if refs == (ANYONE,):
            return refs
        out = []
        for ref in refs:
            if ref in names:
                out.append(names[ref])
            elif ACCOUNT_ID_PATTERNS["aws"][0].fullmatch(ref) or ACCOUNT_ID_PATTERNS["azure"][0].fullmatch(ref):
                out.append(ref)
            elif ref in {a.id for a in accounts}:
                out.append(ref)  # a GCP project listed under accounts
            else:
                raise _err(source, key, f"unknown account {ref!r} (not an id, nor a name under accounts)")
        return tuple(out)

    routes: list[Route] = []
    for index, entry in enumerate(data.get("routing") or []):
        key = f"routing[{index}]"
        if not isinstance(entry, dict) or "channel" not in entry:
            raise _err(source, key, "needs a channel")
        for extra in sorted(set(entry) - {"channel", "accounts", "tags", "severities"}):
            raise _err(source, f"{key}.{extra}", "unknown key")
        channel = str(entry["channel"])
        if not _CHANNEL.match(channel):
            raise _err(source, f"{key}.channel", f"{channel!r} is not a channel id (C…) or #name")
        severities = _strings(entry.get("severities") or [], source, f"{key}.severities")
        for severity in severities:
            if severity not in SEVERITIES:
                raise _err(source, f"{key}.severities", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
        routes.append(Route(channel, account_ids(entry.get("accounts") or [], f"{key}.accounts"),
                            _strings(entry.get("tags") or [], source, f"{key}.tags"), severities))
    default_channel = data.get("default_channel")
    if default_channel is not None and not _CHANNEL.match(str(default_channel)):
        raise _err(source, "default_channel", f"{default_channel!r} is not a channel id (C…) or #name")

    permissions = data.get("permissions") or {}
    if not isinstance(permissions, dict):
        raise _err(source, "permissions", "must be a mapping")
    for extra in sorted(set(permissions) - _PERMISSION_KEYS):
        raise _err(source, f"permissions.{extra}", f"unknown key; known: {', '.join(sorted(_PERMISSION_KEYS))}")
    def account_map(name: str) -> dict[str, tuple[str, ...]] | None:
        if name not in permissions:
            return None
        if not isinstance(permissions[name], dict):
            raise _err(source, f"permissions.{name}", "must map user or group ids to accounts (or '*')")
        out: dict[str, tuple[str, ...]] = {}
        for principal, value in permissions[name].items():
            key = f"permissions.{name}.{principal}"
            _principals([principal], source, key)
            out[str(principal)] = account_ids(value, key)
        return out

    scan = account_map("scan")
    read = account_map("read")

    def optional(key: str) -> tuple[str, ...] | None:
        return _principals(permissions[key], source, f"permissions.{key}") if key in permissions else None

    ints = {}
    for key, default in (("max_suppression_days", 90), ("default_suppression_days", 30)):
        value = data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise _err(source, key, "must be a positive number of days")
        ints[key] = value
    ints["default_suppression_days"] = min(ints["default_suppression_days"], ints["max_suppression_days"])
    scans = parse_scan_policy(data.get("scans"), source)

    remediation = data.get("remediation") or {}
    if not isinstance(remediation, dict):
        raise _err(source, "remediation", "must be a mapping")
    for extra in sorted(set(remediation) - _REMEDIATION_KEYS):
        raise _err(source, f"remediation.{extra}", f"unknown key; known: {', '.join(sorted(_REMEDIATION_KEYS))}")
    approval_channel = remediation.get("approval_channel")
    if approval_channel is not None and not _CHANNEL.match(str(approval_channel)):
        raise _err(source, "remediation.approval_channel", f"{approval_channel!r} is not a channel id (C…) or #name")
    expiry_hours = remediation.get("request_expiry_hours", 24)
    if not isinstance(expiry_hours, int) or isinstance(expiry_hours, bool) or expiry_hours < 1:
        raise _err(source, "remediation.request_expiry_hours", "must be a positive number of hours")
    approvers = optional("remediation_approvers") or ()
    sandboxes = account_ids(remediation.get("self_approval_accounts") or [], "remediation.self_approval_accounts")
    if ANYONE in sandboxes:
        raise _err(source, "remediation.self_approval_accounts", "name the sandbox accounts; '*' would end four-eyes")
    if approval_channel is not None and not re.match(r"^[CG][A-Z0-9]{2,}$", str(approval_channel)):
        # Decisions are accepted only where they are asked for, and Slack tells us the channel's id, not its name.
        raise _err(source, "remediation.approval_channel",
                   f"{approval_channel!r}: give the channel id (C…), approvals are checked against it")
    operators = remediation.get("cli_operators") or {}
    if not isinstance(operators, dict):
        raise _err(source, "remediation.cli_operators", "must map OS login names to Slack user ids (U…)")
    for login, user_id in operators.items():
        if not _OS_USER.match(str(login)):
            raise _err(source, f"remediation.cli_operators.{login}", "is not an OS login name")
        if not isinstance(user_id, str) or not _USER_ID.match(user_id):
            raise _err(source, f"remediation.cli_operators.{login}", f"{user_id!r} is not a Slack user id (U…/W…)")
    if ANYONE in approvers and approval_channel is None:
        # Direct messages need people to send them to; "anyone" can only be asked in a channel.
        raise _err(source, "permissions.remediation_approvers", "'*' needs remediation.approval_channel")

    def path(key: str) -> Path | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise _err(source, key, "must be a path")
        return (base / value) if base and not Path(value).is_absolute() else Path(value)

    return BotConfig(
        accounts=config.accounts,
        routes=tuple(routes),
        default_channel=str(default_channel) if default_channel else None,
        scan=scan,
        read=read,
        schedule=optional("schedule"),
        cli_operators={str(k): str(v) for k, v in operators.items()},
        acknowledge=optional("acknowledge"),
        suppress=optional("suppress"),
        remediation_approvers=approvers,
        approval_channel=str(approval_channel) if approval_channel else None,
        self_approval_accounts=sandboxes,
        request_expiry_hours=expiry_hours,
        max_suppression_days=ints["max_suppression_days"],
        default_suppression_days=ints["default_suppression_days"],
        suppressions_file=path("suppressions_file"),
        accounts_file=path("accounts_file"),
        broker_url=check_broker_url(data.get("broker_url"), f"{source}: broker_url"),
        source=source,
        schedules=parse_schedules(data.get("schedules"), source, account_ids, scans.timezone, scans.min_interval),
        scans=scans,
        workspace=parse_workspace(data.get("workspace"), source),
    )



def check_broker_url(value: Any, where: str) -> str | None:
    """A broker URL as configured, or None when absent; anything but redis:// or rediss:// with a host is an
    error naming where it came from. The URL in the error has its password masked."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: must be a redis:// or rediss:// URL (a string)")
    url = value.strip()
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in _BROKER_SCHEMES and bool(parts.hostname) and (parts.port or 0) >= 0
    except ValueError:  # an unbalanced [ in the host, a port that is not a number
        ok = False
    if not ok:
        raise ConfigError(f"{where}: {redact_url(url)!r} is not a redis:// or rediss:// URL with a host "
                          "(e.g. rediss://:password@redis.internal:6380/0)")
    return url


def scan_broker(config: BotConfig, environ: Mapping[str, str] | None = None) -> str | None:
    """The broker scans go through: SKYWARDEN_BROKER_URL wins over ``broker_url:``; None: in this process.
    Both are checked the same way, so a mistyped variable is one clear line, not a Celery traceback."""
    env = os.environ if environ is None else environ
    from_env = check_broker_url(env.get(BROKER_ENV, "").strip(), BROKER_ENV)
    return from_env or config.broker_url


def load_config(path: str | os.PathLike[str] | None = None) -> BotConfig:
    """The file named (it must exist), else ./skywarden.yml if present, else the no-configuration defaults."""
    explicit = path is not None
    target = Path(path) if explicit else Path(DEFAULT_CONFIG)
    if not target.exists():
        if explicit:
            raise ConfigError(f"{target}: configuration file not found")
        return BotConfig()
    try:
        data = safe_yaml.load_file(target)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{target}: cannot read configuration: {exc}") from exc
    return parse_config(data, str(target), target.parent)


def _expiry(value: Any, source: str, key: str) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, date):
        moment = datetime.combine(value, dtime.min, tzinfo=UTC)
    else:
        try:
            moment = datetime.combine(date.fromisoformat(str(value)), dtime.min, tzinfo=UTC)
        except ValueError as exc:
            raise _err(source, key, f"{value!r} is not a date (YYYY-MM-DD)") from exc
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def load_suppressions(path: str | os.PathLike[str]) -> list[CodeSuppression]:
    """suppressions.yml: exceptions as code, reviewed in git.

        suppressions:
          - rule: aws-s3-bucket-versioning
            resource: arn:aws:s3:::logs-archive   # or account: "111111111111" for the rule in a whole account
            reason: archive bucket, replicated elsewhere
            until: 2026-12-31
            by: alice@example.com
    """
    target = Path(path)
    source = str(target)
    try:
        data = safe_yaml.load_file(target) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{source}: cannot read suppressions: {exc}") from exc
    if not isinstance(data, dict) or set(data) - {"suppressions"}:
        raise ConfigError(f"{source}: the file holds one key, 'suppressions', a list")
    entries = data.get("suppressions") or []
    if not isinstance(entries, list):
        raise _err(source, "suppressions", "must be a list")
    out: list[CodeSuppression] = []
    for index, entry in enumerate(entries):
        key = f"suppressions[{index}]"
        if not isinstance(entry, dict):
            raise _err(source, key, "must be a mapping")
        for extra in sorted(set(entry) - {"rule", "resource", "account", "provider", "reason", "until", "by"}):
            raise _err(source, f"{key}.{extra}", "unknown key")
        for required in ("rule", "reason", "until", "by"):
            if not entry.get(required):
                raise _err(source, f"{key}.{required}", "is required")
        if bool(entry.get("resource")) == bool(entry.get("account")):
            raise _err(source, key, "name exactly one of resource (this resource) or account (the rule in it)")
        out.append(CodeSuppression(
            rule_id=str(entry["rule"]), reason=str(entry["reason"]), created_by=str(entry["by"]),
            expires_at=_expiry(entry["until"], source, f"{key}.until"), provider=str(entry.get("provider", "aws")),
            account_id=str(entry["account"]) if entry.get("account") else None,
            resource_id=str(entry["resource"]) if entry.get("resource") else None,
        ))
    return out


@dataclass(frozen=True)
class Settings:
    bot_token: Secret | None = None
    app_token: Secret | None = None
    signing_secret: Secret | None = None
    api_url: str | None = None
    config: BotConfig = field(default_factory=BotConfig)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, config: BotConfig | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def secret(name: str) -> Secret | None:
            value = env.get(name, "").strip()
            return Secret(value) if value else None

        api_url = env.get("SLACK_API_URL", "").strip() or None
        if api_url and not api_url.endswith("/"):
            api_url += "/"  # WebClient joins method names onto it
        return cls(secret("SLACK_BOT_TOKEN"), secret("SLACK_APP_TOKEN"), secret("SLACK_SIGNING_SECRET"), api_url,
                   config or BotConfig())

    def check(self, http: bool) -> None:
        """Fail fast, naming the variable, before anything connects."""
        if not self.bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is not set: give the bot user OAuth token (xoxb-...)")
        if not str(self.bot_token).startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
        if http:
            if not self.signing_secret:
                raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with it")
        else:
            if not self.app_token:
                raise ConfigError(
                    "SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...) with "
                    "connections:write; or run `skywarden serve --http --port N` with SLACK_SIGNING_SECRET"
                )
            if not str(self.app_token).startswith("xapp-"):
                raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")


class Access:
    """Who may do what, from the configuration; user groups resolved through an injected lookup (cached)."""

    def __init__(self, config: BotConfig, group_members: Callable[[str], set[str]] | None = None,
                 ttl_s: float = 300.0) -> None:
        self.config = config
        self._lookup = group_members
        self._cache: dict[str, tuple[float, set[str]]] = {}
        self._ttl = ttl_s

    def _members(self, group: str) -> set[str]:
        hit = self._cache.get(group)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        members = self._lookup(group) if self._lookup else set()
        self._cache[group] = (time.monotonic(), members)
        return members

    def _is(self, user: str, principals: tuple[str, ...] | None) -> bool:
        if principals is None:
            return True
        for principal in principals:
            if principal in (ANYONE, user):
                return True
            if principal.startswith("S") and user in self._members(principal):
                return True
        return False

    def _accounts(self, user: str, grants: Mapping[str, tuple[str, ...]] | None) -> set[str] | None:
        if grants is None:
            return None
        allowed: set[str] = set()
        for principal, accounts in grants.items():
            if self._is(user, (principal,)):
                if ANYONE in accounts:
                    return None
                allowed.update(accounts)
        return allowed

    def scan_accounts(self, user: str) -> set[str] | None:
        """The account ids a user may scan; None means all."""
        return self._accounts(user, self.config.scan)

    def read_accounts(self, user: str) -> set[str] | None:
        """The account ids whose findings, scans and posture a user may see; None means all. ``permissions.read``
        when given, else ``permissions.scan`` (who may scan an account may see it), else everyone sees all."""
        return self._accounts(user, self.config.read if self.config.read is not None else self.config.scan)

    def can_read(self, user: str, account_id: str) -> tuple[bool, str]:
        allowed = self.read_accounts(user)
        if allowed is None or account_id in allowed:
            return True, ""
        key = "permissions.read" if self.config.read is not None else "permissions.scan"
        return False, f"you are not allowed to see {self.config.account_name(account_id)} ({key})"

    def can_change_schedules(self, user: str) -> tuple[bool, str]:
        ok = self._is(user, self.config.schedule)
        return ok, "" if ok else "you are not allowed to change scan schedules (permissions.schedule)"

    def can_scan(self, user: str, accounts: list[str]) -> tuple[bool, str]:
        allowed = self.scan_accounts(user)
        if allowed is None:
            return True, ""
        wanted = accounts or [a.id for a in self.config.accounts]
        if not wanted:
            return False, "you may scan only named accounts: give one (scan aws <account>)"
        denied = [a for a in wanted if a not in allowed]
        if denied:
            return False, f"you are not allowed to scan {self.config.account_name(denied[0])} (permissions.scan)"
        return True, ""

    def can_acknowledge(self, user: str) -> tuple[bool, str]:
        ok = self._is(user, self.config.acknowledge)
        return ok, "" if ok else "you are not allowed to acknowledge findings (permissions.acknowledge)"

    def can_suppress(self, user: str) -> tuple[bool, str]:
        ok = self._is(user, self.config.suppress)
        return ok, "" if ok else "you are not allowed to suppress findings (permissions.suppress)"

    def remediation_approvers(self) -> set[str] | None:
        """The user ids who may approve a remediation now (groups expanded); None means anyone."""
        if ANYONE in self.config.remediation_approvers:
            return None
        users: set[str] = set()
        for principal in self.config.remediation_approvers:
            users.update(self._members(principal) if principal.startswith("S") else {principal})
        return users

    def can_request_remediation(self, user: str, account_id: str) -> tuple[bool, str]:
        # Asking for a fix is as strong as asking for a scan of that account; approving is the approvers' job.
        ok, _ = self.can_scan(user, [account_id])
        return ok, "" if ok else "you may request remediation only in accounts you may scan (permissions.scan)"
