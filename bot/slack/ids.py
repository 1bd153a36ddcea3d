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
# On the App Home (bot/slack/home.py); their value says which button, nothing the listener relies on.
HOME_SCAN = "home_scan"  # opens SCAN_MODAL
HOME_FINDINGS = "home_open_findings"  # opens the read-only findings modal
HOME_REFRESH = "home_refresh"  # publishes the view again
ACTIONS = (ACKNOWLEDGE, SUPPRESS, REMEDIATE, REVOKE, UNDO, APPROVE, REJECT, EXTEND_SUPPRESSION, LET_EXPIRE,
           HOME_SCAN, HOME_FINDINGS, HOME_REFRESH)

# Modals (callback_id).
SUPPRESS_MODAL = "suppress_modal"
REMEDIATE_MODAL = "remediate_modal"  # the plan, submitted as "Request approval"
SCAN_MODAL = "scan_modal"  # App Home's Scan: one account (or a whole cloud) to scan, submitted as "Scan"
VIEWS = (SUPPRESS_MODAL, REMEDIATE_MODAL, SCAN_MODAL)

# Inputs of the suppress modal: (block_id, action_id).
REASON = ("reason_block", "reason")
UNTIL = ("until_block", "until")
SCOPE = ("scope_block", "scope")
SCOPE_RESOURCE = "resource"
SCOPE_RULE = "rule"

# Input of the scan modal: (block_id, action_id); the option value is "<provider>|<account id>" ("*": every one).
SCAN_TARGET = ("scan_target_block", "scan_target")
