"""Errors of the storage layer: each names the database file and what is wrong with it, in one line."""

from __future__ import annotations

from skywarden.scanners.errors import SkywardenError


class StorageError(SkywardenError):
    """The database cannot be used as asked (missing, damaged, read-only, locked, written by a newer version)."""
