"""EFS: file systems and encryption at rest (CIS 2.4.1)."""

from __future__ import annotations

from collections.abc import Iterator

from skywarden.scanners.aws.context import AwsContext
from skywarden.scanners.model import Resource
from skywarden.scanners.registry import collector


@collector("aws.efs.file_system", service="efs")
def file_systems(ctx: AwsContext) -> Iterator[Resource]:
    efs = ctx.client("efs")
    for file_system in ctx.paginate(efs, "describe_file_systems", "FileSystems"):
        properties = dict(file_system)
        properties.pop("Tags", None)  # kept as the resource's tags
        file_system_id = file_system["FileSystemId"]
        arn = file_system.get("FileSystemArn") or ctx.arn(
            "elasticfilesystem", f"file-system/{file_system_id}", ctx.region
        )
        yield ctx.resource(
            "aws.efs.file_system",
            arn,
            file_system.get("Name") or file_system_id,
            properties,
            tags=file_system.get("Tags"),
        )
