"""Opening the database through the real CLI: a damaged, foreign, read-only, locked or newer database is one
clear line naming the path and the cause, exit status 1, no traceback; read-only commands never create one."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skywarden.bot.cli import main
from skywarden.storage import audit, scans, schema
from skywarden.storage.db import open_db
from skywarden.storage.migrations import MIGRATIONS

ACCOUNT = "111111111111"
READ_COMMANDS = (["findings"], ["status"], ["audit"])


def ledger(path: Path, events: int = 3) -> Path:
    """A small production-like database: a finished scan and some audit events."""
    db = open_db(path)
    scan_id = scans.start_scan(db, "aws", {"accounts": [ACCOUNT]})
    scans.finish_scan(db, scan_id, "succeeded", {"resources": 0})
    for number in range(events):
        audit.record(db, "suppressed", "alice", details={"n": number, "pad": "x" * 200})
    db.close()
    return path


def cli(db: Path | str, *args: str, env: dict[str, str] | None = None, config: Path | None = None) -> Result:
    extra = ["--config", str(config)] if config else []
    return CliRunner().invoke(main, ["--db", str(db), *args, *extra], env=env)


def refused(result: Result, *fragments: str) -> str:
    """Exit 1 through click (not an exception escaping), one line, naming what the test expects."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), f"traceback: {result.exception!r}"
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "skywarden.yml"
    path.write_text(json.dumps({"accounts": [{"id": ACCOUNT, "name": "prod"}]}))
    return path


def add_schedule(db: Path, config: Path, env: dict[str, str] | None = None) -> Result:
    """A command that writes."""
    return cli(db, "schedule", "add", "aws", "prod", "0 6 * * *", "--user", "ops", env=env, config=config)


# ---------------------------------------------------------------- item 3: read-only commands create nothing
@pytest.mark.parametrize("command", READ_COMMANDS)
def test_read_only_commands_do_not_create_a_mistyped_database(tmp_path, command):
    target = tmp_path / "typo" / "nested" / "skywarden.db"
    refused(cli(target, *command), str(target), "no such database")
    assert not (tmp_path / "typo").exists()


def test_read_only_commands_read_an_existing_database_without_changing_it(tmp_path):
    db = ledger(tmp_path / "prod.db")
    listed = cli(db, "audit")
    assert listed.exit_code == 0, listed.output
    assert len([e for e in json.loads(listed.output) if e["action"] == "suppressed"]) == 3
    assert cli(db, "status").exit_code == 0 and cli(db, "findings").exit_code == 0


# ---------------------------------------------------------------- item 3: damaged files
@pytest.mark.parametrize("command", [["findings"], ["status"], ["audit"], ["schedule", "list"]])
def test_corrupt_file(tmp_path, command):
    target = tmp_path / "corrupt.db"
    target.write_bytes(os.urandom(8192))
    refused(cli(target, *command), str(target), "is not a SQLite database")


def test_a_file_of_another_kind(tmp_path, config):
    target = tmp_path / "notes.db"
    target.write_text("these are my notes, not a database\n" * 200)
    refused(add_schedule(target, config), str(target), "is not a SQLite database")
    assert target.read_text().startswith("these are my notes")


@pytest.mark.parametrize("command", [["findings"], ["schedule", "list"]])
def test_truncated_file(tmp_path, command):
    target = ledger(tmp_path / "truncated.db", events=300)
    size = target.stat().st_size
    with target.open("r+b") as handle:
        handle.truncate(size // 2)
    refused(cli(target, *command), str(target), "is truncated", f"{size // 2} bytes")


def test_file_cut_inside_its_header(tmp_path):
    target = ledger(tmp_path / "cut.db")
    target.write_bytes(target.read_bytes()[:40])
    refused(cli(target, "findings"), str(target), "is truncated")


@pytest.mark.parametrize("command", [["findings"], ["schedule", "list"]])
def test_directory_instead_of_a_file(tmp_path, command):
    target = tmp_path / "a-directory.db"
    target.mkdir()
    refused(cli(target, *command), str(target), "is a directory")


def test_database_of_another_program(tmp_path, config):
    target = tmp_path / "other.db"
    conn = sqlite3.connect(target)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    refused(cli(target, "findings"), str(target), "is not a Skywarden database")
    refused(add_schedule(target, config), str(target), "is not a Skywarden database")
    conn = sqlite3.connect(target)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["invoices"]
    conn.close()


# ---------------------------------------------------------------- item 3: read-only file
@pytest.fixture
def read_only_file(tmp_path):
    """A database on which writes really fail, root included: chmod, plus the immutable attribute as root."""
    target = ledger(tmp_path / "readonly.db")
    target.chmod(0o444)
    immutable = False
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(target)], capture_output=True).returncode != 0:
            pytest.skip("running as root without chattr +i: no way to make a file read-only for this process")
        immutable = True
    try:
        with pytest.raises(OSError):
            target.open("r+b").close()  # the premise: this process cannot write it
        yield target
    finally:
        if immutable:
            subprocess.run([shutil.which("chattr") or "chattr", "-i", str(target)], check=True)
        target.chmod(0o644)


def test_read_only_file_refuses_writes_at_open_and_still_reads(read_only_file, config):
    line = refused(add_schedule(read_only_file, config), str(read_only_file), "is read-only")
    assert "write access" in line
    listed = cli(read_only_file, "audit")
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.output)) >= 3


# ---------------------------------------------------------------- item 3: locked database
def test_locked_database_fails_after_the_busy_timeout_with_one_line(tmp_path, config):
    db = ledger(tmp_path / "locked.db")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        result = add_schedule(db, config, env={"SKYWARDEN_DB_BUSY_TIMEOUT": "0.3"})
        elapsed = time.monotonic() - started
        refused(result, str(db), "is locked by another process", "SKYWARDEN_DB_BUSY_TIMEOUT")
        assert elapsed < 10
        # Readers are not blocked by a writer in WAL mode.
        assert cli(db, "status", env={"SKYWARDEN_DB_BUSY_TIMEOUT": "0.3"}).exit_code == 0
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert add_schedule(db, config).exit_code == 0


def test_busy_timeout_setting_is_validated(tmp_path):
    db = ledger(tmp_path / "prod.db")
    refused(cli(db, "status", env={"SKYWARDEN_DB_BUSY_TIMEOUT": "soon"}), "SKYWARDEN_DB_BUSY_TIMEOUT", "'soon'")


# ---------------------------------------------------------------- item 2: schema guard
def test_database_from_a_newer_skywarden_is_refused_with_both_versions(tmp_path, config):
    db = ledger(tmp_path / "newer.db")
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES "
                 "('skywarden', 'm042_future_feature', '2030-01-01')")
    conn.execute("UPDATE skywarden_meta SET value = '9.3.0' WHERE key = 'written_by'")
    conn.execute(f"PRAGMA user_version = {schema.schema_version() + 1}")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    for command in (["findings"], ["status"], ["audit"]):
        line = refused(cli(db, *command), str(db), "written by a newer Skywarden (Skywarden 9.3.0",
                       "m042_future_feature", f"this is Skywarden {schema.this_version()}, schema "
                       f"{schema.schema_version()}")
        assert "upgrade Skywarden" in line
    refused(add_schedule(db, config), "newer Skywarden")
    assert db.read_bytes() == before, "a refused database is left exactly as it was"


def test_schema_number_alone_marks_a_newer_database(tmp_path):
    db = ledger(tmp_path / "newer.db")
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {schema.schema_version() + 3}")
    conn.commit()
    conn.close()
    refused(cli(db, "status"), "newer Skywarden", f"schema {schema.schema_version() + 3}")


def test_renamed_column_is_refused_at_open_not_mid_command(tmp_path, config):
    db = ledger(tmp_path / "renamed.db")
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE findings RENAME COLUMN state TO status")
    conn.commit()
    conn.close()
    for result in (cli(db, "findings"), cli(db, "status"), add_schedule(db, config)):
        refused(result, str(db), "table findings has no column state", "this is Skywarden")


def test_older_database_is_migrated_and_stamped(tmp_path):
    path = tmp_path / "older.db"
    db = open_db(path, migrate=False)
    MIGRATIONS.apply(db, stop_before="m005_integrity")
    db.execute("INSERT INTO scans (provider, scope, started_at, status) VALUES ('aws', '{}', '2026-01-01', "
               "'succeeded')")
    db.close()
    # A read-only command on an older schema upgrades it (that creates nothing) and then reads.
    shown = cli(path, "status")
    assert shown.exit_code == 0 and "scan 1 aws succeeded" in shown.output
    db = open_db(path, readonly=True)
    try:
        state = schema.inspect(db)
        assert state.user_version == schema.schema_version() and not state.pending
        assert state.written_by == schema.this_version()
    finally:
        db.close()


def test_damaged_page_found_mid_command_is_one_line(tmp_path):
    """The header is fine, so the damage shows only when the command reads the audit log's pages."""
    db = ledger(tmp_path / "damaged.db", events=300)
    data = bytearray(db.read_bytes())
    page = 4096
    for start in range(len(data) // 2 // page * page, len(data) - page, page):
        data[start:start + page] = os.urandom(page)
    db.write_bytes(bytes(data))
    refused(cli(db, "audit"), str(db), "is damaged", "restore it from a backup")
