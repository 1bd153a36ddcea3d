"""Every Slack identifier the bot registers or puts in blocks: shared by listeners, builders, tests, manifest."""

from __future__ import annotations

COMMAND = "/warden"

# Events the bot subscribes to.
EVENT_APP_MENTION = "app_mention"
EVENT_APP_HOME_OPENED = "app_home_opened"
EVENTS = (EVENT_APP_MENTION, EVENT_APP_HOME_OPENED)

# Buttons (action_id); their value carries the finding id or exception id.
ACKNOWLEDGE = "finding_acknowledge"
SUPPRESS = "finding_suppress"
REMEDIATE = "finding_remediate"
REVOKE = "suppression_revoke"
UNDO = "finding_undo"  # on a remediated finding: ask for the recorded previous state back
# On an approval request; their value carries the remediation request id.
APPROVE = "remediation_approve"
REJECT = "remediation_reject"
# On a suppression-expiry reminder (bot/housekeeping.py); their value is "<exception id>|<expiry announced>".
EXTEND_SUPPRESSION = "suppression_extend"
LET_EXPIRE = "suppression_let_expire"
ACTIONS = (ACKNOWLEDGE, SUPPRESS, REMEDIATE, REVOKE, UNDO, APPROVE, REJECT, EXTEND_SUPPRESSION, LET_EXPIRE)

# Modals (callback_id).
SUPPRESS_MODAL = "suppress_modal"
REMEDIATE_MODAL = "remediate_modal"  # the plan, submitted as "Request approval"
VIEWS = (SUPPRESS_MODAL, REMEDIATE_MODAL)

# Inputs of the suppress modal: (block_id, action_id).
REASON = ("reason_block", "reason")
UNTIL = ("until_block", "until")
SCOPE = ("scope_block", "scope")
SCOPE_RESOURCE = "resource"
SCOPE_RULE = "rule"
