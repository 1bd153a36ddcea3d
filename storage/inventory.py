"""The latest inventory: one row per resource, replaced where a unit was collected successfully."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlite_utils

from skywarden.scanners.model import CollectionResult, Resource
from skywarden.storage.bulk import insert_rows
from skywarden.storage.db import dumps, loads


def save_inventory(
    db: sqlite_utils.Database,
    scan_id: int,
    resources: Iterable[Resource],
    coverage: Iterable[CollectionResult],
    at: str,
    keep_scans: Iterable[int] = (),
) -> int:
    """Upsert what was seen; forget resources that a successful unit no longer reports (they are gone).

    Call inside the reconcile transaction so inventory and findings never disagree. Rows last written by
    ``keep_scans`` (scans with a newer snapshot that committed first) are newer knowledge: left as they are.
    """
    keep = dumps(sorted(int(scan) for scan in keep_scans))
    # A generator: a distributed scan's resources stream from its spool, never all in memory at once.
    rows = (
        {
            "id": resource.id,
            "provider": resource.provider,
            "account_id": resource.account_id,
            "region": resource.region,
            "type": resource.type,
            "name": resource.name,
            "tags": dumps(dict(resource.tags)),
            "properties": dumps(dict(resource.properties)),
            "first_seen": at,
            "last_seen": at,
            "last_scan_id": scan_id,
        }
        for resource in resources
    )
    # first_seen must survive: insert new rows, update the rest without touching it.
    db.execute("CREATE TEMP TABLE IF NOT EXISTS incoming AS SELECT * FROM resources WHERE 0")
    db.execute("DELETE FROM incoming")
    insert_rows(db, "incoming", rows)
    db.execute(
        """
        INSERT INTO resources SELECT * FROM incoming WHERE true
        ON CONFLICT(id) DO UPDATE SET provider=excluded.provider, account_id=excluded.account_id,
            region=excluded.region, type=excluded.type, name=excluded.name, tags=excluded.tags,
            properties=excluded.properties, last_seen=excluded.last_seen, last_scan_id=excluded.last_scan_id
        WHERE COALESCE(resources.last_scan_id, 0) NOT IN (SELECT value FROM json_each(?))
        """,
        [keep],
    )
    db.execute("DELETE FROM incoming")
    removed = 0
    for unit in coverage:
        if not unit.ok:
            continue
        for resource_type in unit.resource_types:
            params: list[Any] = [unit.provider, unit.account_id, resource_type, scan_id, keep]
            sql = ("DELETE FROM resources WHERE provider = ? AND account_id = ? AND type = ? AND last_scan_id != ?"
                   " AND COALESCE(last_scan_id, 0) NOT IN (SELECT value FROM json_each(?))")
            if unit.region != "global":
                sql += " AND region = ?"
                params.append(unit.region)
            removed += db.execute(sql, params).rowcount
    return removed


def get_resource(db: sqlite_utils.Database, resource_id: str) -> Resource | None:
    rows = list(db.query("SELECT * FROM resources WHERE id = ?", [resource_id]))
    if not rows:
        return None
    row = rows[0]
    return Resource(
        provider=row["provider"],
        account_id=row["account_id"],
        region=row["region"],
        type=row["type"],
        id=row["id"],
        name=row["name"] or "",
        tags=loads(row["tags"]) or {},
        properties=loads(row["properties"]) or {},
    )
