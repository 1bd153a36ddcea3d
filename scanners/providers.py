"""What the layers above need to know about each cloud without branching on its name.

One entry per cloud; code that used to keep its own copy of these facts (account-id patterns, the word for a
scope, whether scans are regional) reads them here."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class CloudProvider:
    name: str
    scope_word: str  # what one account is called in this cloud: account, subscription, project
    account_id: re.Pattern[str]
    account_id_description: str
    regional: bool  # False: the inventory APIs answer for every location at once


PROVIDERS: dict[str, CloudProvider] = {
    p.name: p
    for p in (
        CloudProvider("aws", "account", re.compile(r"\d{12}"), "a 12-digit AWS account id", regional=True),
        CloudProvider("azure", "subscription", re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"),
                      "an Azure subscription id (GUID)", regional=False),
        CloudProvider("gcp", "project", re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]"), "a GCP project id",
                      regional=False),
    )
}

# What an account id looks like per cloud, as (pattern, description) for the configuration checks.
ACCOUNT_ID_PATTERNS = {name: (p.account_id, p.account_id_description) for name, p in PROVIDERS.items()}
