"""Which Slack workspace (team) or Enterprise Grid org this Skywarden serves: ``workspace:`` in skywarden.yml, else
the team the bot token belongs to (auth.test at ``serve``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skywarden.scanners.errors import ConfigError


@dataclass(frozen=True)
class WorkspacePolicy:
    """``workspace:`` in skywarden.yml: the Slack workspaces (team ids, T…) and Enterprise Grid organisations
    (enterprise ids, E…) whose requests the bot serves. Empty: the workspace of the bot token, at ``serve``."""

    team_ids: tuple[str, ...] = ()
    enterprise_ids: tuple[str, ...] = ()

    @property
    def configured(self) -> bool:
        return bool(self.team_ids or self.enterprise_ids)

    def allows(self, team_id: str | None, enterprise_id: str | None) -> bool:
        return (team_id is not None and team_id in self.team_ids) or (
            enterprise_id is not None and enterprise_id in self.enterprise_ids)

    @classmethod
    def from_auth_test(cls, identity: dict[str, Any]) -> WorkspacePolicy:
        """The token's own workspace; an organisation-wide install serves its whole organisation."""
        team = identity.get("team_id")
        enterprise = identity.get("enterprise_id") if identity.get("is_enterprise_install") else None
        return cls(tuple([team] if team else []), tuple([enterprise] if enterprise else []))


def parse_workspace(data: Any, source: str) -> WorkspacePolicy:
    if data is None:
        return WorkspacePolicy()
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: workspace: must be a mapping with team_ids and/or enterprise_ids")
    for extra in sorted(set(data) - {"team_ids", "enterprise_ids"}):
        raise ConfigError(f"{source}: workspace.{extra}: unknown key; known: enterprise_ids, team_ids")

    def ids(key: str, prefix: str, what: str) -> tuple[str, ...]:
        value = data.get(key) or []
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list):
            raise ConfigError(f"{source}: workspace.{key}: must be a list of {what} ids")
        for item in value:
            if not isinstance(item, str) or not item.startswith(prefix) or not item[1:].isalnum() or \
                    not item.isascii():
                raise ConfigError(f"{source}: workspace.{key}: {item!r} is not a Slack {what} id ({prefix}…)")
        return tuple(value)

    return WorkspacePolicy(ids("team_ids", "T", "team"), ids("enterprise_ids", "E", "enterprise"))
