"""AWS Config: the configuration recorders of each region and their status (CIS 3.3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from skywarden.scanners.aws.context import AwsContext
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector

RESOURCE_TYPE = "aws.config.recorder"


@collector(RESOURCE_TYPE, service="config")
def recorders(ctx: AwsContext) -> Iterator[Resource]:
    """One resource per region (even with no recorder, which is the finding), id
    ``arn:<partition>:config:<region>:<account>:recorders``.

    Properties:
      recorders: describe_configuration_recorders entries (name, roleARN, recordingGroup, recordingMode...),
                 each with ``status``: its describe_configuration_recorder_status entry (recording, lastStatus...)
      records_everything: some recorder records all supported resource types including global ones
                 (recordingGroup.allSupported and includeGlobalResourceTypes)
      recording: some such recorder is on and its last delivery attempt did not fail
    """
    client = ctx.client("config")
    found = client.describe_configuration_recorders().get("ConfigurationRecorders", [])
    statuses = {
        s.get("name"): s
        for s in client.describe_configuration_recorder_status().get("ConfigurationRecordersStatus", [])
    }
    entries: list[dict[str, Any]] = []
    for recorder in found:
        entry = dict(recorder)
        entry["status"] = statuses.get(recorder.get("name"))
        entry["records_everything"] = _records_everything(recorder)
        entry["recording"] = _recording(entry["status"])
        entries.append(entry)
    properties = {
        "recorders": entries,
        "records_everything": any(e["records_everything"] for e in entries),
        "recording": any(e["records_everything"] and e["recording"] for e in entries),
    }
    yield ctx.resource(
        RESOURCE_TYPE, ctx.arn("config", "recorders", region=ctx.region), f"config-{ctx.region}", properties
    )


def _records_everything(recorder: dict[str, Any]) -> bool:
    group = recorder.get("recordingGroup") or {}
    return bool(group.get("allSupported")) and bool(group.get("includeGlobalResourceTypes"))


def _recording(status: dict[str, Any] | None) -> bool:
    # lastStatus FAILURE means the recorder is on but cannot deliver, so nothing is being kept.
    return bool(status and status.get("recording") and str(status.get("lastStatus", "")).upper() != "FAILURE")
