"""CloudTrail trails of an account, read once per scan and shared by every collector that needs them.

The CloudTrail collector (CIS 3.x) and the CloudWatch monitoring collector (CIS 4.1-4.15) both need the
account's trails with their status and event selectors. Both go through ``trails(ctx)`` so each API is
called once per account per scan (the answers live in ``ctx.memo`` under the keys below).

Memo keys (public, so other modules may read the same answers):
  ("cloudtrail", "describe_trails", region)      -> list of trail dicts as describe_trails returns them
  ("cloudtrail", "get_trail_status", trail_arn)    -> (answer minus ResponseMetadata, or None; error class or None)
  ("cloudtrail", "get_event_selectors", trail_arn) -> (answer minus ResponseMetadata, or None; error class or None)
  ("cloudtrail", "trails")                        -> trails(ctx)
"""

from __future__ import annotations

from typing import Any

from skywarden.scanners.aws.context import AwsContext, try_call

# Organisation trails seen from a member account, or trails deleted between calls: that trail's detail
# is simply not available, which is not an error of the scan.
_GONE = ("TrailNotFoundException", "CloudTrailARNInvalidException")


def describe_trails(ctx: AwsContext, region: str) -> list[dict[str, Any]]:
    """describe_trails in ``region``; raises on failure (the caller's coverage records it)."""

    def call() -> list[dict[str, Any]]:
        # Shadow trails are how a multi-region trail homed in another region shows up here; without them a
        # trail created in eu-west-1 would be invisible from the account's home region.
        answer = ctx.client("cloudtrail", region).describe_trails(includeShadowTrails=True)
        return list(answer.get("trailList", []))

    return ctx.memo(("cloudtrail", "describe_trails", region), call)


def trails(ctx: AwsContext) -> list[dict[str, Any]]:
    """Every trail of the scanned regions, one entry per trail ARN.

    Each entry is the describe_trails dict plus:
      'status':          get_trail_status answer (IsLogging, LatestDeliveryTime, ...) or None
      'event_selectors': get_event_selectors answer (EventSelectors / AdvancedEventSelectors) or None
      'errors':          {'status' | 'event_selectors': error class} for sub-calls that failed
    Both sub-calls are made in the trail's HomeRegion, which is where CloudTrail answers for it.
    """
    return ctx.memo(("cloudtrail", "trails"), lambda: _enriched(ctx))


def _enriched(ctx: AwsContext) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    # A single-region trail is only listed in its own region: ask every scanned region (one call each) and
    # keep each trail once, by ARN (multi-region trails show up everywhere as shadow trails).
    regions = dict.fromkeys([ctx.account.default_region, *ctx.account.regions])
    all_trails = [trail for region in regions for trail in describe_trails(ctx, region)]
    for trail in all_trails:
        arn = trail.get("TrailARN") or trail.get("Name", "")
        if arn in seen:
            continue
        entry = dict(trail)
        errors: dict[str, str] = {}
        entry["status"] = trail_status(ctx, entry, errors)
        entry["event_selectors"] = event_selectors(ctx, entry, errors)
        entry["errors"] = errors
        seen[arn] = entry
    return list(seen.values())


def trail_status(ctx: AwsContext, trail: dict[str, Any], errors: dict[str, str]) -> dict[str, Any] | None:
    """get_trail_status for ``trail`` (memoised); a failure is recorded in ``errors['status']``."""
    return _detail(ctx, trail, errors, "status", "get_trail_status", "Name")


def event_selectors(ctx: AwsContext, trail: dict[str, Any], errors: dict[str, str]) -> dict[str, Any] | None:
    """get_event_selectors for ``trail`` (memoised); a failure is recorded in ``errors['event_selectors']``."""
    return _detail(ctx, trail, errors, "event_selectors", "get_event_selectors", "TrailName")


def _detail(
    ctx: AwsContext, trail: dict[str, Any], errors: dict[str, str], key: str, operation: str, name_param: str
) -> dict[str, Any] | None:
    arn = trail.get("TrailARN") or trail["Name"]
    client = ctx.client("cloudtrail", trail.get("HomeRegion") or ctx.account.default_region)

    def call() -> tuple[dict[str, Any] | None, str | None]:
        # The memo keeps the error too, so a second reader learns about the failure as well.
        own: dict[str, str] = {}
        answer = try_call(own, key, lambda: getattr(client, operation)(**{name_param: arn}), missing=_GONE)
        return (None if answer is None else _strip(answer)), own.get(key)

    answer, error = ctx.memo(("cloudtrail", operation, arn), call)
    if error is not None:
        errors[key] = error
    return answer


def logs_all_management_events(selectors: dict[str, Any] | None) -> bool:
    """True when the trail records every read and write management event (CIS 3.1's requirement)."""
    if not selectors:
        return False
    for selector in selectors.get("EventSelectors") or []:
        if selector.get("IncludeManagementEvents") and selector.get("ReadWriteType", "All") == "All":
            return True
    for advanced in selectors.get("AdvancedEventSelectors") or []:
        fields = {f.get("Field"): f for f in advanced.get("FieldSelectors") or []}
        category = fields.get("eventCategory") or {}
        # A readOnly field selector limits the selector to reads or to writes: not all management events.
        if "Management" in (category.get("Equals") or []) and "readOnly" not in fields:
            return True
    return False


def _strip(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}
