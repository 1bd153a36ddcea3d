"""Cloud Asset listing for one project: paged ``ListAssets`` calls, and the Resource shape built from them.

A collector asks for the asset types its rules need and gets plain dicts in the REST API's own field
names (camelCase, enums as names), whatever the transport decoded them into.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from skywarden.scanners.gcp.errors import RetryPolicy
from skywarden.scanners.model import GLOBAL_REGION, Resource

RESOURCE = "RESOURCE"
PROJECT_ASSET = "cloudresourcemanager.googleapis.com/Project"
IAM_POLICY = "IAM_POLICY"
PAGE_SIZE = 1000  # the API's maximum; fewer round trips per project
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


class SharedListings:
    """Organization-level listings fetched once per scan and shared by the collectors of every project.

    Each project of an organization needs the same listing of what the organization and its folders own;
    fetching it per project would cost O(projects²) assets. The first caller of a key fetches it (others
    asking for the same key meanwhile wait for it); a failure is shared the same way.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[Any, ...], tuple[threading.Lock, list[Any]]] = {}

    def get(self, key: tuple[Any, ...], fetch: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        with self._lock:
            lock, slot = self._entries.setdefault(key, (threading.Lock(), []))
        with lock:
            if not slot:
                try:
                    slot.append(("ok", fetch()))
                except Exception as exc:  # every project asking for this listing gets the same failure
                    slot.append(("error", exc))
        kind, value = slot[0]
        if kind == "error":
            raise value
        return value


@dataclass
class GcpContext:
    """What a collector needs for one project: the client, the project, and which resource types to build."""

    client: Any
    project_id: str
    wanted: frozenset[str] | None = None  # resource types the rules read; None = all
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float = 60.0
    shared: SharedListings = field(default_factory=SharedListings)

    @property
    def parent(self) -> str:
        return f"projects/{self.project_id}"

    def wants(self, resource_type: str) -> bool:
        return self.wanted is None or resource_type in self.wanted

    def list_assets(self, asset_types: Iterable[str], content_type: str = RESOURCE) -> Iterator[dict[str, Any]]:
        """Every asset of ``asset_types`` in the project, following ``nextPageToken`` page by page."""
        yield from list_assets(self.client, self.parent, asset_types, content_type, self.retry, self.timeout)

    def iam_policies(self, asset_types: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Asset name -> IAM policy for the assets of ``asset_types`` that have one set."""
        return {a["name"]: a.get("iamPolicy") or {} for a in self.list_assets(asset_types, IAM_POLICY)}

    def resource(
        self,
        resource_type: str,
        asset: Mapping[str, Any],
        properties: dict[str, Any],
        name: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Resource:
        """A Resource whose id is the asset's full resource name and whose region is its location."""
        location = (asset.get("resource") or {}).get("location") or GLOBAL_REGION
        return Resource(
            provider="gcp",
            account_id=self.project_id,
            region=str(location),
            type=resource_type,
            id=asset["name"],
            name=name or asset["name"].rsplit("/", 1)[-1],
            tags={str(k): str(v) for k, v in (tags or {}).items()},
            properties=properties,
        )


def list_assets(
    client: Any,
    parent: str,
    asset_types: Iterable[str],
    content_type: str = RESOURCE,
    retry: RetryPolicy | None = None,
    timeout: float = 60.0,
) -> Iterator[dict[str, Any]]:
    """Page through ListAssets under ``parent`` (a project, folder or organization), retrying each page."""
    from google.cloud import asset_v1

    retry = retry or RetryPolicy()
    request = {
        "parent": parent,
        "content_type": getattr(asset_v1.ContentType, content_type),
        "asset_types": sorted(set(asset_types)),
        "page_size": PAGE_SIZE,
    }
    token = ""
    while True:
        page_request = {**request, "page_token": token} if token else request
        # retry=None: the SDK's default retries a 503 for about a minute per call; RetryPolicy owns retries.
        pager = retry.call(lambda r=page_request: client.list_assets(request=r, retry=None, timeout=timeout))
        for asset in pager.assets:  # the first page only: each page goes through retry.call
            yield to_plain(
                asset_v1.Asset.to_dict(asset, preserving_proto_field_name=False, use_integers_for_enums=False)
            )
        token = pager.next_page_token
        if not token:
            return


def project_ancestors(ctx: GcpContext) -> list[str]:
    """The folders and organization above the project, nearest first, from its asset's ``ancestors``."""
    for asset in ctx.list_assets([PROJECT_ASSET]):
        return [str(a) for a in asset.get("ancestors") or [] if not str(a).startswith("projects/")]
    return []


def ancestor_assets(
    ctx: GcpContext, ancestors: Iterable[str], asset_types: Iterable[str], content_type: str = RESOURCE
) -> list[dict[str, Any]]:
    """Assets owned by ``ancestors`` themselves (the project's folders and organization).

    They are listed with the organization as the ListAssets parent, which needs the Cloud Asset permissions
    on the organization and also returns what every other folder and project of the organization owns;
    only assets whose full name is, or is under, one of ``ancestors`` are kept. No organization among the
    ancestors: nothing to list.
    """
    owners = [str(a) for a in ancestors]
    organization = next((a for a in owners if a.startswith("organizations/")), None)
    if organization is None:
        return []
    types = sorted(set(asset_types))
    listing = ctx.shared.get(
        (organization, tuple(types), content_type),
        lambda: list(list_assets(ctx.client, organization, types, content_type, ctx.retry, ctx.timeout)),
    )
    found = []
    for asset in listing:
        path = str(asset.get("name", "")).split("/", 3)[-1]  # //service.googleapis.com/PATH
        if any(path == owner or path.startswith(owner + "/") for owner in owners):
            found.append(asset)
    return found


def to_plain(value: Any) -> Any:
    """JSON numbers travel as protobuf Struct doubles; give integral ones back their int type."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def data_of(asset: Mapping[str, Any]) -> dict[str, Any]:
    """The resource's own API representation (``resource.data``)."""
    return dict((asset.get("resource") or {}).get("data") or {})


def public_members(policy: Mapping[str, Any] | None) -> list[str]:
    """'role member' for each binding that grants something to everyone (allUsers/allAuthenticatedUsers)."""
    found = []
    for binding in (policy or {}).get("bindings") or []:
        for member in binding.get("members") or []:
            if member in PUBLIC_MEMBERS:
                found.append(f"{binding.get('role')} {member}")
    return sorted(found)


def metadata_items(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """Compute metadata ``items: [{key, value}]`` as a dict, so rules read ``metadata_items.<key>``."""
    return {str(i.get("key")): str(i.get("value", "")) for i in (metadata or {}).get("items") or [] if "key" in i}


def is_true(value: Any) -> bool:
    """Compute metadata booleans are strings, spelled TRUE/true/1 in the wild."""
    return str(value).strip().lower() in ("true", "1", "yes", "y")
