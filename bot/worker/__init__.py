"""Celery workers for distributed scans (docs/scale-out.md)."""
