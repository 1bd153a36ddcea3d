"""`skywarden demo` writes and deletes only databases it created: never the ledger --db / SKYWARDEN_DB names."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from skywarden.bot.cli import main
from skywarden.bot.demo.runner import claim_demo_database
from skywarden.scanners.errors import SkywardenError
from skywarden.storage import schema
from tests.storage.test_open_db import ledger, refused

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("how", ["--db", "SKYWARDEN_DB"])
def test_demo_refuses_a_production_ledger_and_leaves_it_intact(tmp_path, how):
    prod = ledger(tmp_path / "prod.db")
    before = prod.read_bytes()
    args, env = (["--db", str(prod), "demo"], None) if how == "--db" else (["demo"], {"SKYWARDEN_DB": str(prod)})
    for extra in ([], ["--keep-db"]):
        result = CliRunner().invoke(main, args + extra, env=env)
        line = refused(result, str(prod), "is not a demo database", "never writes to or deletes")
        assert "skywarden-demo.db" in line
        assert prod.read_bytes() == before


def test_demo_refuses_a_directory_or_a_file_it_cannot_read(tmp_path):
    folder = tmp_path / "folder.db"
    folder.mkdir()
    refused(CliRunner().invoke(main, ["--db", str(folder), "demo"]), "is a directory")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 50)
    refused(CliRunner().invoke(main, ["--db", str(junk), "demo"]), str(junk))
    assert junk.read_bytes() == b"not a database at all" * 50


def test_claim_deletes_only_a_marked_demo_database(tmp_path):
    from skywarden.storage.db import open_db

    demo = tmp_path / "demo.db"
    claim_demo_database(demo, fresh=True)  # nothing there: nothing to do
    db = open_db(demo)
    schema.set_meta(db, schema.PURPOSE, "demo")
    db.close()
    claim_demo_database(demo, fresh=False)
    assert demo.exists()
    claim_demo_database(demo, fresh=True)
    assert not demo.exists()
    other = ledger(tmp_path / "other.db")
    with pytest.raises(SkywardenError, match="not a demo database"):
        claim_demo_database(other, fresh=True)
    assert other.exists()


def test_the_demo_marks_its_own_database_so_the_next_run_may_start_it_afresh(tmp_path):
    target = tmp_path / "nested" / "demo.db"
    first = subprocess.run([sys.executable, "-m", "skywarden.bot.cli", "--db", str(target), "demo"], cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=300)
    assert first.returncode == 0, first.stderr
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT value FROM skywarden_meta WHERE key = 'purpose'").fetchone() == ("demo",)
    assert conn.execute("SELECT COUNT(*) FROM scans WHERE status != 'running'").fetchone()[0] == 3
    conn.close()
    claim_demo_database(target, fresh=True)  # what the next `skywarden demo` does first
    assert not target.exists()
