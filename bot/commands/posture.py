"""`posture [framework]`: each framework's controls as passing, failing or not evaluated over the accounts the
asker may read (a control fails while one of its rules has an open finding)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from skywarden.bot.commands.base import Reply, UsageError, Who, _refuse
from skywarden.bot.slack import blocks
from skywarden.rules.frameworks import FAILING, NOT_EVALUATED, PASSING, posture, posture_summary
from skywarden.storage import finding_views

if TYPE_CHECKING:
    from skywarden.bot.services import Services

def failing_rules(services: Services, readable: set[str] | None = None) -> Counter[str]:
    """Rules with an open (or acknowledged) finding in the readable accounts (None: all); suppressed ones are
    accepted risk."""
    return finding_views.failing_rule_counts(services.db, readable)


_STATUS_ICON = {PASSING: ":white_check_mark:", FAILING: ":x:", NOT_EVALUATED: ":grey_question:"}


def collected_types(services: Services, readable: set[str] | None = None) -> set[str]:
    """Resource types in the stored inventory of the readable accounts: a control none of whose rules' types
    was ever collected is 'not evaluated', not passing."""
    return finding_views.collected_types(services.db, readable)


def postures(services: Services, readable: set[str] | None = None) -> list[dict[str, Any]]:
    failing = failing_rules(services, readable)
    collected = collected_types(services, readable)
    out = []
    for framework in services.catalogues.values():
        view = posture(framework, services.rules.values(), failing, collected)
        if view["controls_checked"]:
            out.append(view)
    return out


def _posture(services: Services, args: list[str], who: Who) -> Reply:
    if len(args) > 1:
        raise UsageError("posture [framework]")
    readable = services.access.read_accounts(who.user)
    if readable == set():  # every control would look passing: say why there is nothing instead
        key = "permissions.read" if services.config.read is not None else "permissions.scan"
        return _refuse(services, who, "posture", f"you may not see any account ({key})")
    views = postures(services, readable)
    if args:
        views = [v for v in views if v["framework"] == args[0]]
        if not views:
            known = ", ".join(sorted(services.catalogues)) or "none loaded"
            raise UsageError(f"unknown framework {args[0]!r}; known: {known}")
    if not views:
        return Reply(blocks.notice("No framework controls are checked by the loaded rules."))
    lines = []
    for view in views:
        lines.append(f"*{blocks.escape(view['name'])}* ({blocks.code(view['framework'])}): "
                     + blocks.escape(posture_summary(view)))
        if args:  # one framework: every checked control, in id order, with its title
            lines += [f"{_STATUS_ICON[e['status']]} {blocks.code(c)} {blocks.escape(e['title'])}"
                      + (f" ({e['failing']} open finding(s))" if e["failing"] else "")
                      for c, e in view["controls"].items()]

    return Reply(blocks.Message("posture", blocks.text_sections(lines)[: blocks.MAX_BLOCKS]))

