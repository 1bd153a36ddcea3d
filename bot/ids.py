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
ACTIONS = (ACKNOWLEDGE, SUPPRESS, REMEDIATE, REVOKE)

# Modals (callback_id).
SUPPRESS_MODAL = "suppress_modal"
REMEDIATE_MODAL = "remediate_modal"  # informational: no submit button, so no submission listener
VIEWS = (SUPPRESS_MODAL,)

# Inputs of the suppress modal: (block_id, action_id).
REASON = ("reason_block", "reason")
UNTIL = ("until_block", "until")
SCOPE = ("scope_block", "scope")
SCOPE_RESOURCE = "resource"
SCOPE_RULE = "rule"
