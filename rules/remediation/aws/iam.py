"""IAM remediations: deactivate long-unused access keys, set the CIS password policy."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from skywarden.rules.remediation.base import ApiCall, ClientFactory, Plan, RemediationAction, action

# CIS AWS 3.0 1.12: credentials unused for 45 days or more are disabled. Keys unused for longer (90+) are
# covered too; a higher threshold would leave the rule that names this action failing after the fix.
UNUSED_DAYS = 45

# CIS AWS 3.0 1.8 and 1.9; stricter current values are kept, never weakened.
CIS_PASSWORD_POLICY = {
    "MinimumPasswordLength": 14,
    "PasswordReusePrevention": 24,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "AllowUsersToChangePassword": True,
}
_POLICY_PARAMS = (
    "MinimumPasswordLength", "RequireSymbols", "RequireNumbers", "RequireUppercaseCharacters",
    "RequireLowercaseCharacters", "AllowUsersToChangePassword", "MaxPasswordAge", "PasswordReusePrevention",
    "HardExpiry",
)  # fmt: skip


@action
class DeactivateUnusedAccessKeys(RemediationAction):
    name = "aws.iam.deactivate_unused_access_keys"
    resource_type = "aws.iam.user"
    title = f"Deactivate the user's access keys unused for more than {UNUSED_DAYS} days"
    permissions = ("iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:UpdateAccessKey")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        iam = client("iam", None)
        user = resource.name
        cutoff = datetime.now(UTC) - timedelta(days=UNUSED_DAYS)
        stale = []
        for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            if key["Status"] != "Active":
                continue
            last_used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
            reference = last_used.get("LastUsedDate") or key["CreateDate"]
            if reference < cutoff:
                stale.append(key["AccessKeyId"])
        calls = tuple(
            ApiCall("iam", "update_access_key", {"UserName": user, "AccessKeyId": key_id, "Status": "Inactive"})
            for key_id in stale
        )
        return Plan(self.name, resource.id, resource.type, resource.account_id, resource.region,
                    f"Deactivate {len(stale)} access key(s) of {user} unused for {UNUSED_DAYS}+ days", calls,
                    {"active_unused_keys": stale}, {"active_unused_keys": []}, {"user": user})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        user = undo["context"]["user"]
        return tuple(
            ApiCall("iam", "update_access_key", {"UserName": user, "AccessKeyId": key_id, "Status": "Active"})
            for key_id in undo["before"]["active_unused_keys"]
        )


@action
class SetCisPasswordPolicy(RemediationAction):
    name = "aws.iam.set_cis_password_policy"
    resource_type = "aws.iam.password_policy"
    title = "Set the account password policy to at least the CIS values (length 14, reuse 24)"
    permissions = ("iam:GetAccountPasswordPolicy", "iam:UpdateAccountPasswordPolicy", "iam:DeleteAccountPasswordPolicy")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        try:
            current = client("iam", None).get_account_password_policy()["PasswordPolicy"]
            # AWS reports unset ages as 0 (or omits them); 0 is not a valid value to send back.
            current = {k: v for k, v in current.items() if k in _POLICY_PARAMS and v not in (0, None)}
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
                raise
            current = None
        target = dict(current or {})
        for key, value in CIS_PASSWORD_POLICY.items():
            if isinstance(value, bool):
                target[key] = target.get(key) or value
            else:
                target[key] = max(int(target.get(key) or 0), value)
        calls: tuple[ApiCall, ...] = ()
        if target != (current or {}):
            calls = (ApiCall("iam", "update_account_password_policy", target),)
        return Plan(self.name, resource.id, resource.type, resource.account_id, resource.region,
                    "Raise the account password policy to the CIS AWS 3.0 values", calls,
                    {"PasswordPolicy": current}, {"PasswordPolicy": target})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        previous = undo["before"]["PasswordPolicy"]
        if previous is None:
            return (ApiCall("iam", "delete_account_password_policy", {}),)
        return (ApiCall("iam", "update_account_password_policy", previous),)
