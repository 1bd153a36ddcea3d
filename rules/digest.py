"""A short fingerprint of a rule set, so a worker can tell that it would evaluate the same rules as the scan
that sent it a unit (same ids, same definitions) before it evaluates anything."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from skywarden.rules.model import Rule


def rule_set_digest(rules: Iterable[Rule]) -> str:
    """sha256 over each rule's id and YAML definition, in id order: equal digests, equal verdicts. A Python
    check is named in its rule's YAML, so its code is covered by the Skywarden version, not by the digest."""
    digest = hashlib.sha256()
    for rule in sorted(rules, key=lambda r: r.id):
        digest.update(json.dumps([rule.id, rule.raw], sort_keys=True, default=str).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]
