"""The versioned schema. Never edit an applied migration: add a new one."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

MIGRATIONS = Migrations("skywarden")


@MIGRATIONS()
def m001_core(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE scans (
            id INTEGER PRIMARY KEY,
            provider TEXT NOT NULL,
            scope TEXT NOT NULL,           -- JSON: accounts, regions
            trigger TEXT NOT NULL DEFAULT 'cli',
            requested_by TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,          -- running, succeeded, partial, failed, interrupted
            summary TEXT,                  -- JSON: counts, new/reopened/resolved
            error TEXT
        )
        """
    )
    db.execute(
        """
        CREATE TABLE coverage (
            scan_id INTEGER NOT NULL REFERENCES scans(id),
            provider TEXT NOT NULL,
            account_id TEXT NOT NULL,
            service TEXT NOT NULL,
            region TEXT NOT NULL,
            resource_types TEXT NOT NULL,  -- JSON list
            status TEXT NOT NULL,          -- ok, failed
            error_class TEXT,
            message TEXT,
            resource_count INTEGER NOT NULL DEFAULT 0,
            duration_s REAL
        )
        """
    )
    db.execute("CREATE INDEX coverage_scan ON coverage(scan_id)")
    db.execute(
        """
        CREATE TABLE resources (
            id TEXT PRIMARY KEY,
            provider TEXT NOT NULL,
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            type TEXT NOT NULL,
            name TEXT,
            tags TEXT,
            properties TEXT,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            last_scan_id INTEGER
        )
        """
    )
    db.execute("CREATE INDEX resources_scope ON resources(provider, account_id, type)")
    db.execute(
        """
        CREATE TABLE findings (
            id TEXT PRIMARY KEY,            -- hash of (rule id, resource id): stable across scans
            number INTEGER NOT NULL UNIQUE, -- short handle for people: 'ack 3'
            rule_id TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            resource_type TEXT NOT NULL,
            resource_name TEXT,
            provider TEXT NOT NULL,
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            severity TEXT NOT NULL,
            title TEXT NOT NULL,
            frameworks TEXT NOT NULL,       -- JSON: key -> [control ids]
            state TEXT NOT NULL,            -- open, acknowledged, suppressed, resolved, remediated
            state_changed_at TEXT NOT NULL,
            state_changed_by TEXT,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            resolved_at TEXT,
            reopened_count INTEGER NOT NULL DEFAULT 0,
            first_scan_id INTEGER,
            last_scan_id INTEGER,
            detail TEXT
        )
        """
    )
    db.execute("CREATE INDEX findings_state ON findings(state, severity)")
    db.execute("CREATE INDEX findings_scope ON findings(provider, account_id, rule_id)")
    db.execute("CREATE INDEX findings_resource ON findings(resource_id)")
    db.execute(
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,            -- 'system' for scans, else a user id or name
            action TEXT NOT NULL,           -- opened, reopened, resolved, scan_started, ...
            finding_id TEXT,
            scan_id INTEGER,
            details TEXT                    -- JSON
        )
        """
    )
    db.execute("CREATE INDEX events_finding ON events(finding_id)")
    # The audit trail is append-only: nothing may rewrite or erase a decision.
    db.execute(
        "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    )


@MIGRATIONS()
def m002_bot(db: sqlite_utils.Database) -> None:
    """Decisions (exceptions), what was posted where, and the outbox of unsent Slack messages."""
    db.execute(
        """
        CREATE TABLE exceptions (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL,            -- 'resource' (rule on one resource) or 'rule' (rule in one account)
            rule_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            account_id TEXT NOT NULL,
            resource_id TEXT,               -- NULL for scope 'rule'
            finding_id TEXT,                -- the finding the decision was taken on, if any
            reason TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT,                -- ISO timestamp; the exception ends at this instant
            source TEXT NOT NULL,           -- 'slack', 'console' or 'code' (suppressions.yml)
            code_key TEXT UNIQUE,           -- identity of a suppressions.yml entry
            ended_at TEXT,                  -- set once: revoked or expired
            ended_by TEXT,
            end_reason TEXT                 -- 'revoked', 'expired', 'removed from suppressions.yml'
        )
        """
    )
    db.execute("CREATE INDEX exceptions_match ON exceptions(rule_id, account_id) WHERE ended_at IS NULL")
    db.execute(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            method TEXT NOT NULL,           -- chat.postMessage or chat.update
            channel TEXT NOT NULL,
            payload TEXT NOT NULL,          -- JSON arguments of the Web API call
            parent_id INTEGER REFERENCES outbox(id),  -- post in the thread of this message once it is sent
            status TEXT NOT NULL,           -- pending, sent, failed (a permanent error such as channel_not_found)
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            sent_at TEXT,
            ts TEXT                         -- the message ts Slack answered
        )
        """
    )
    db.execute("CREATE INDEX outbox_pending ON outbox(status, id)")
    db.execute(
        """
        CREATE TABLE slack_messages (
            id INTEGER PRIMARY KEY,
            finding_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            outbox_id INTEGER REFERENCES outbox(id),
            ts TEXT,                        -- known once the outbox row is sent
            posted_at TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1  -- 0 once the finding resolved or its suppression ended
        )
        """
    )
    # "Never post twice": at most one live message per finding and channel, enforced by the database.
    db.execute("CREATE UNIQUE INDEX slack_messages_live ON slack_messages(finding_id, channel) WHERE active = 1")
    db.execute("CREATE INDEX slack_messages_outbox ON slack_messages(outbox_id)")


@MIGRATIONS()
def m003_remediations(db: sqlite_utils.Database) -> None:
    """Remediation requests: the approved plan, who asked and who approved, results, undo state."""
    db.execute(
        """
        CREATE TABLE remediations (
            id INTEGER PRIMARY KEY,
            finding_id TEXT NOT NULL,
            kind TEXT NOT NULL,             -- 'fix' or 'undo'
            undo_of INTEGER REFERENCES remediations(id),
            action TEXT NOT NULL,
            plan TEXT NOT NULL,             -- JSON: the exact calls and before/after shown to the approver
            state TEXT NOT NULL,            -- requested, approved, rejected, expired, applied, verified,
                                            -- failed, noop, undone
            requested_by TEXT NOT NULL,
            requested_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            decided_by TEXT,
            decided_at TEXT,
            result TEXT,                    -- JSON: API calls with responses or errors
            undo_state TEXT,                -- JSON: what undo needs (e.g. the exact permissions revoked)
            verification TEXT,              -- JSON: outcome of the re-collect and re-evaluate
            message TEXT,                   -- the sentence shown to people
            approval_channel TEXT,
            approval_ts TEXT
        )
        """
    )
    db.execute("CREATE INDEX remediations_finding ON remediations(finding_id)")


@MIGRATIONS()
def m004_scheduling(db: sqlite_utils.Database) -> None:
    """Scan schedules and suppression-expiry reminders.

    Schedules are plain rows here, not APScheduler's SQLAlchemy job store: that store pickles each job with a
    "module:function" reference, silently deletes the row when the function moves, and is opaque to
    migrations and backups (design/TESTING.md section 5). The scheduler loads these rows at start instead.
    """
    db.execute(
        """
        CREATE TABLE schedules (
            id INTEGER PRIMARY KEY,
            provider TEXT NOT NULL,
            accounts TEXT NOT NULL,         -- JSON list of account ids; empty = every account
            regions TEXT NOT NULL,          -- JSON list; empty = the accounts' regions
            cron TEXT NOT NULL,             -- 5 fields (crontab) or 6 (seconds first)
            timezone TEXT NOT NULL,
            channel TEXT,                   -- where results go when no route matches (like the command's channel)
            source TEXT NOT NULL,           -- 'slack', 'cli' or 'config' (skywarden.yml)
            config_key TEXT UNIQUE,         -- identity of a skywarden.yml entry
            paused INTEGER NOT NULL DEFAULT 0,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,       -- the scheduler reloads a job when this changes
            removed_at TEXT,
            removed_by TEXT,
            last_run_at TEXT,               -- the last fire time handled (run, joined or skipped)
            last_outcome TEXT,
            last_scan_id INTEGER
        )
        """
    )
    db.execute(
        """
        CREATE TABLE suppression_reminders (
            id INTEGER PRIMARY KEY,
            exception_id INTEGER NOT NULL REFERENCES exceptions(id),
            expires_at TEXT NOT NULL,       -- the expiry announced: an extended suppression is announced again
            channel TEXT NOT NULL,
            outbox_id INTEGER REFERENCES outbox(id),
            announced_at TEXT NOT NULL,
            decision TEXT,                  -- 'extended' or 'let_expire'; set once
            decided_by TEXT,
            decided_at TEXT
        )
        """
    )
    db.execute("CREATE UNIQUE INDEX suppression_reminders_once ON suppression_reminders(exception_id, expires_at,"
               " channel)")


@MIGRATIONS()
def m005_integrity(db: sqlite_utils.Database) -> None:
    """Who wrote the database, when each finding's state was observed, and whose process runs each scan.

    - skywarden_meta: the release that last wrote the database (the schema guard names it), and 'purpose'
      ('demo' marks the databases `skywarden demo` may delete).
    - scans.snapshot_at: when collection started (microseconds). Reconcile orders verdicts by it, not by commit.
    - scans.pid/host/heartbeat_at: the process running the scan and its last sign of life, so another process
      marks a scan interrupted only when that process is gone.
    - findings.observed_at: the snapshot (or remediation) time that last decided the finding's state.
    """
    db.execute("CREATE TABLE skywarden_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    for column in ("snapshot_at TEXT", "pid INTEGER", "host TEXT", "heartbeat_at TEXT"):
        db.execute(f"ALTER TABLE scans ADD COLUMN {column}")
    db.execute("ALTER TABLE findings ADD COLUMN observed_at TEXT")
    # A remediation already recorded is the newest knowledge of its finding: an older scan must not undo it.
    db.execute("UPDATE findings SET observed_at = state_changed_at WHERE state = 'remediated'")


@MIGRATIONS()
def m006_request_replays(db: sqlite_utils.Database) -> None:
    # Slack requests already handled, for the 5 minutes a signed request stays valid (storage/replays.py).
    db.execute(
        """
        CREATE TABLE seen_requests (
            key TEXT PRIMARY KEY,           -- what identifies one delivery (see bot/slack/guards.py)
            seen_at REAL NOT NULL           -- unix time
        )
        """
    )
    db.execute("CREATE INDEX seen_requests_by_time ON seen_requests(seen_at)")


@MIGRATIONS()
def m007_remediation_button_token(db: sqlite_utils.Database) -> None:
    """A random token per remediation request, carried by its Approve/Reject buttons: a click counts only for
    the request whose message it came from, never for another request id put in its place. Requests made
    before this migration have none; they are decided by typing `approve N` where approvals are accepted."""
    db.execute("ALTER TABLE remediations ADD COLUMN token TEXT")


@MIGRATIONS()
def m008_finding_failure(db: sqlite_utils.Database) -> None:
    """findings.failure: the rule's headline of what is wrong on this resource ("S3 bucket acme-logs is publicly
    readable"), rewritten on every scan with ``detail`` (the evidence). Findings from before have none: the
    display falls back to the rule title until the next scan fills it."""
    db.execute("ALTER TABLE findings ADD COLUMN failure TEXT")


@MIGRATIONS()
def m009_check_results(db: sqlite_utils.Database) -> None:
    """The latest verdict of every rule on every resource, passes included: the evidence behind a compliance
    report (a finding exists only for a failure). One row per (rule, resource), replaced by each scan that
    evaluated the pair; rows of resources that left the inventory are deleted with them."""
    db.execute(
        """
        CREATE TABLE check_results (
            rule_id TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            provider TEXT NOT NULL,
            account_id TEXT NOT NULL,
            region TEXT NOT NULL,
            resource_type TEXT NOT NULL,
            resource_name TEXT,
            status TEXT NOT NULL,          -- pass, fail, error, not_applicable (rules.model.Outcome)
            detail TEXT,
            scan_id INTEGER NOT NULL REFERENCES scans(id),
            evaluated_at TEXT NOT NULL,
            PRIMARY KEY (rule_id, resource_id)
        )
        """
    )
    db.execute("CREATE INDEX check_results_by_account ON check_results(provider, account_id)")


@MIGRATIONS()
def m010_scan_progress(db: sqlite_utils.Database) -> None:
    """scans.units_total / units_done: a distributed scan's collection units sent and come back, written by the
    process gathering them, so `skywarden status` shows progress while workers collect. NULL for other scans."""
    db.execute("ALTER TABLE scans ADD COLUMN units_total INTEGER")
    db.execute("ALTER TABLE scans ADD COLUMN units_done INTEGER")
