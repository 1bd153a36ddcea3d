"""Cloud Storage remediation: remove allUsers/allAuthenticatedUsers from a bucket's IAM policy.

``client("storage", None)`` is a small Cloud Storage JSON API client (see rules/remediation/gcp/environment.py) whose
methods the calls name: ``get_bucket_iam_policy(bucket)`` and ``set_bucket_iam_policy(bucket, policy)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from skywarden.rules.remediation.base import ApiCall, ClientFactory, Plan, RemediationAction, action

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
BUCKET_PREFIX = "//storage.googleapis.com/"


def bucket_name(resource_id: str) -> str:
    return resource_id.removeprefix(BUCKET_PREFIX)


def _bindings(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{**b, "members": list(b.get("members") or [])} for b in policy.get("bindings") or []]


@action
class RemovePublicBucketMembers(RemediationAction):
    name = "gcp.storage.remove_public_members"
    resource_type = "gcp.storage.bucket"
    title = "Remove allUsers and allAuthenticatedUsers from the bucket's IAM policy"
    permissions = ("storage.buckets.getIamPolicy", "storage.buckets.setIamPolicy")

    def plan(self, resource: Any, client: ClientFactory) -> Plan:
        bucket = bucket_name(resource.id)
        policy = client("storage", None).get_bucket_iam_policy(bucket=bucket)
        before = _bindings(policy)
        after = []
        for binding in before:
            members = [m for m in binding["members"] if m not in PUBLIC_MEMBERS]
            if members:  # a binding left without members is dropped, as the API itself does
                after.append({**binding, "members": members})
        removed = sorted(f"{b.get('role')} {m}" for b in before for m in b["members"] if m in PUBLIC_MEMBERS)
        calls: tuple[ApiCall, ...] = ()
        if removed:
            # The etag makes the write conditional: a policy changed after this read is refused (HTTP 412),
            # never overwritten with a stale copy.
            new_policy = {"version": policy.get("version", 1), "etag": policy.get("etag"), "bindings": after}
            calls = (ApiCall("storage", "set_bucket_iam_policy", {"bucket": bucket, "policy": new_policy}),)
        summary = f"Remove public access to bucket {bucket}: " + (", ".join(removed) or "nothing to remove")
        return Plan(self.name, resource.id, resource.type, resource.account_id, resource.region, summary, calls,
                    {"bindings": before}, {"bindings": after}, {"removed": removed,
                                                               "version": policy.get("version", 1)})

    def undo_calls(self, plan: Plan, undo: Mapping[str, Any]) -> tuple[ApiCall, ...]:
        # No etag: undo restores the recorded policy as it was, whatever was written since.
        policy = {"version": undo["context"].get("version", 1), "bindings": undo["before"]["bindings"]}
        return (ApiCall("storage", "set_bucket_iam_policy",
                        {"bucket": bucket_name(plan.resource_id), "policy": policy}),)
