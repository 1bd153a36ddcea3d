"""Scan benchmark: a whole AWS scan against a local moto server at several estate sizes.

For each size the server is reset, ``seed_scaled_estate`` creates about that many resources, and a fresh
process runs ``scan_aws`` with every shipped rule into a new SQLite file. The server counts every request
it receives by (service, region, operation), so the scan's API calls are counted apart from the seeding.

Reported per size: wall time of the scan, the scan process's peak RSS (VmHWM, the resident set high-water
mark of a process that did nothing but import Skywarden and scan), API calls, calls per resource,
and calls per service and region. Across sizes, a least-squares line ``calls = constant + slope * resources``
per (service, region) separates the per-resource cost from the fixed cost of listing a service in a region.

Run: ``.venv/bin/python bench/scan_bench.py`` (sizes 100, 1000, 5000), ``--quick`` (100, 1000) or
``--sizes 100 300``. Results go to bench/results/scan.json.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import multiprocessing
import os
import re
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Before boto3 or moto is imported: never real credentials, never the instance metadata service, and moto's
# one-AMI list when the EC2 collector ships one (moto reads MOTO_AMIS_PATH at import time). Without it moto
# loads ~1,300 AMIs whose backing snapshots describe_snapshots(OwnerIds=["self"]) reports as the account's.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_CONFIG_FILE="/dev/null",
    AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    AWS_EC2_METADATA_DISABLED="true",
)
os.environ.pop("AWS_PROFILE", None)
_AMIS = ROOT / "scanners" / "aws" / "demo_amis.json"
if _AMIS.exists():
    os.environ.setdefault("MOTO_AMIS_PATH", str(_AMIS))
else:
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

DEFAULT_SIZES = (100, 1000, 5000)
QUICK_SIZES = (100, 1000)
DEFAULT_REGIONS = ("us-east-1", "eu-west-1")
RESULTS = ROOT / "bench" / "results" / "scan.json"
TARGET_CALLS_PER_RESOURCE = 1.5
# Issue 13: at 5,000 resources the whole scan (fixed listing costs included) stays at or under this.
TARGET_CALLS_PER_RESOURCE_AT_5000 = 1.2
TARGET_PEAK_RSS_MB = 300
# Services moto's server does not implement: it answers 500, which botocore retries with backoff for the
# whole retry budget, so their rules are left out by default (--include-unsupported keeps them).
MOTO_UNSUPPORTED = {"accessanalyzer"}

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_ID_SEGMENT = re.compile(r"^(?:[a-z]+-[0-9a-f]{8,}|fs-\w+|fsap-\w+|arn:.*|\d{12}|[0-9a-f-]{20,})$")


# --- the counting server ------------------------------------------------------------------------------


def request_key(environ: dict[str, Any]) -> tuple[str, str, str]:
    """(service, region, operation) of one request, from its SigV4 scope and protocol-specific fields."""
    match = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    region, service = (match.group(1), match.group(2)) if match else ("?", "?")
    path = environ.get("PATH_INFO", "")
    if service == "s3" and path.startswith("/v20180820/"):
        service = "s3control"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return service, region, target.rsplit(".", 1)[-1]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        # Query protocol (EC2, IAM, RDS, SNS, CloudWatch): the action is in the body; read it and put it back.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
        return service, region, action
    method = environ.get("REQUEST_METHOD", "GET")
    if service == "s3":  # REST: bucket-level sub-resources are query keys (?acl, ?policy, ?versioning ...)
        subresources = sorted(parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        scope = "bucket" if path.strip("/") else "service"
        return service, region, f"{method} {scope}{'?' + '&'.join(subresources) if subresources else ''}"
    segments = ["{id}" if _ID_SEGMENT.match(s) else s for s in path.strip("/").split("/") if s]
    return service, region, f"{method} /{'/'.join(segments[:3])}"


class CountingApp:
    """Wraps moto's WSGI app and counts each request before moto handles it."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, str]] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not environ.get("PATH_INFO", "").startswith("/moto-api"):
            key = request_key(environ)
            with self._lock:
                self._counts[key] += 1
        return self.app(environ, start_response)

    def snapshot(self) -> Counter[tuple[str, str, str]]:
        with self._lock:
            return Counter(self._counts)


def start_server() -> tuple[Any, CountingApp, str]:
    """moto's ThreadedMotoServer on 127.0.0.1:0, with its WSGI app wrapped by a CountingApp."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    counting = CountingApp(DomainDispatcherApplication(create_backend_app))

    class CountingMotoServer(ThreadedMotoServer):
        # Same as ThreadedMotoServer._server_entry, with the app wrapped.
        def _server_entry(self) -> None:
            self._server = make_server(self._ip_address, self._port, counting, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = CountingMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, counting, f"http://{host}:{port}"


def reset_server(endpoint: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=60).read()


# --- S3 Control against a local server ----------------------------------------------------------------


def route_s3control_locally(session: Any) -> None:
    """Send S3 Control calls to the local server itself.

    botocore puts the account id in front of the host for S3 Control (``123456789012.127.0.0.1``), which
    resolves in real AWS DNS but not locally. The bench strips that label on the way out; production code
    is unchanged and the call is still counted (as s3control).
    """

    def strip_account_label(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        host, _, rest = parts.netloc.partition(".")
        if host.isdigit() and rest.split(":")[0] in ("127.0.0.1", "localhost"):
            request.url = urlunsplit(parts._replace(netloc=rest))

    session.events.register("before-send.s3-control", strip_account_label)


# --- one scan, in a fresh process ---------------------------------------------------------------------


def _rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB.

    Not ``ru_maxrss``: Linux carries that high-water mark across exec, so a spawned child would report the
    parent's peak (the moto server's, here). VmHWM belongs to the new address space.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux; see above


def scan_worker(regions: Sequence[str], db_path: str, s3control: str, skip_unsupported: bool, queue: Any) -> None:
    """Runs in a spawned process, so its RSS high-water mark is the scan's alone (not moto's or the seeder's)."""
    try:
        import boto3

        from skywarden.bot.core.scanning import AwsScope, scan_aws
        from skywarden.rules.loader import load_rules
        from skywarden.storage.db import open_db

        started = time.perf_counter()
        rules = load_rules()
        load_s = time.perf_counter() - started
        skipped = sorted(r.id for r in rules if r.resource_type.split(".")[1] in MOTO_UNSUPPORTED)
        if skip_unsupported:
            rules = [r for r in rules if r.id not in skipped]
        baseline = _rss_mb()
        session = boto3.Session(region_name=regions[0])
        if s3control == "local":
            route_s3control_locally(session)
        db = open_db(Path(db_path))
        started = time.perf_counter()
        outcome = scan_aws(db, rules, AwsScope(regions=list(regions)), session=session)
        wall = time.perf_counter() - started
        db.close()
        sub_errors: Counter[str] = Counter()
        for resource in outcome.inventory.resources:
            for key, error in (resource.properties.get("_errors") or {}).items():
                sub_errors[f"{resource.type} {key}: {error}"] += 1
        slowest = sorted(outcome.inventory.coverage, key=lambda unit: unit.duration_s, reverse=True)[:8]
        queue.put(
            {
                "status": outcome.status,
                "rules": len(rules),
                "rules_skipped": skipped if skip_unsupported else [],
                "rules_load_s": round(load_s, 3),
                "wall_s": round(wall, 3),
                "rss_baseline_mb": round(baseline, 1),
                "rss_peak_mb": round(_rss_mb(), 1),
                "resources": len(outcome.inventory.resources),
                "resources_by_type": dict(sorted(Counter(r.type for r in outcome.inventory.resources).items())),
                "units": len(outcome.inventory.coverage),
                "gaps": [
                    {"service": g.service, "region": g.region, "error_class": g.error_class, "message": g.message}
                    for g in outcome.gaps
                ],
                "sub_call_errors": dict(sub_errors),
                "slowest_units": [
                    {
                        "service": u.service,
                        "region": u.region,
                        "resources": u.resource_count,
                        "s": round(u.duration_s, 2),
                    }
                    for u in slowest
                ],
                "outcomes": outcome.summary.get("outcomes", {}),
            }
        )
    except BaseException as exc:  # report to the parent instead of dying silently in a child
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        raise


def seed_worker(regions: Sequence[str], size: int, queue: Any) -> None:
    """Seeds from its own process, so the client side does not share the moto server's interpreter lock."""
    try:
        import boto3

        from skywarden.bot.demo.aws_estate import seed_scaled_estate

        started = time.perf_counter()
        seeded = seed_scaled_estate(boto3.Session(region_name=regions[0]), regions, size)
        queue.put({**seeded, "seed_s": round(time.perf_counter() - started, 2)})
    except BaseException as exc:
        queue.put({"error": f"{type(exc).__name__}: {exc}"})
        raise


def in_child(target: Callable[..., None], args: Sequence[Any], timeout_s: float) -> dict[str, Any]:
    """Run ``target(*args, queue)`` in a spawned process and return what it put on the queue."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    try:
        result: dict[str, Any] = queue.get(timeout=timeout_s)
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    if "error" in result:
        raise RuntimeError(f"{target.__name__} failed: {result['error']}")
    return result


# --- the benchmark ------------------------------------------------------------------------------------


def _by_service_region(counts: Counter[tuple[str, str, str]]) -> dict[str, int]:
    grouped: Counter[str] = Counter()
    for (service, region, _), n in counts.items():
        grouped[f"{service} {region}"] += n
    return dict(sorted(grouped.items()))


def _by_operation(counts: Counter[tuple[str, str, str]]) -> dict[str, int]:
    grouped: Counter[str] = Counter()
    for (service, _, operation), n in counts.items():
        grouped[f"{service} {operation}"] += n
    return dict(grouped.most_common())


def measure(
    size: int,
    regions: Sequence[str],
    endpoint: str,
    counting: CountingApp,
    s3control: str,
    skip_unsupported: bool,
    timeout_s: float,
) -> dict[str, Any]:
    reset_server(endpoint)
    before_seed = counting.snapshot()
    seeded = in_child(seed_worker, (list(regions), size), timeout_s)
    before_scan = counting.snapshot()
    with tempfile.TemporaryDirectory(prefix="skywarden-bench-") as tmp:
        scan = in_child(scan_worker, (list(regions), f"{tmp}/scan.db", s3control, skip_unsupported), timeout_s)
    scan_calls = counting.snapshot() - before_scan
    total = sum(scan_calls.values())
    return {
        "size": size,
        "seeded": seeded["total"],
        "seeded_by_type": seeded["counts"],
        "seed_s": seeded["seed_s"],
        "seed_calls": sum((before_scan - before_seed).values()),
        **scan,
        "api_calls": total,
        "calls_per_resource": round(total / max(scan["resources"], 1), 3),
        "calls_by_service_region": _by_service_region(scan_calls),
        "calls_by_operation": _by_operation(scan_calls),
    }


def fit(points: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares (intercept, slope); with one point, all of it is slope."""
    xs, ys = zip(*points, strict=True)
    if len(xs) < 2:
        return 0.0, ys[0] / xs[0] if xs[0] else 0.0
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return mean_y - slope * mean_x, slope


def scaling(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Fixed vs per-resource cost: overall, and per (service, region) against the total resource count."""
    overall = fit((run["resources"], run["api_calls"]) for run in runs)
    keys = sorted({key for run in runs for key in run["calls_by_service_region"]})
    per_key = {}
    for key in keys:
        intercept, slope = fit((run["resources"], run["calls_by_service_region"].get(key, 0)) for run in runs)
        per_key[key] = {"constant": round(intercept, 1), "per_resource": round(slope, 4)}
    return {
        "calls_constant": round(overall[0], 1),
        "calls_per_resource_marginal": round(overall[1], 3),
        "service_region_units": len(keys),
        "constant_per_service_region": round(overall[0] / max(len(keys), 1), 2),
        "by_service_region": per_key,
    }


def calls_per_resource_at_5000(runs: Sequence[dict[str, Any]]) -> float | None:
    """API calls over resources scanned for the run of 5,000 or more resources, if there is one."""
    large = [run for run in runs if run["size"] >= 5000]
    return round(large[0]["api_calls"] / max(large[0]["resources"], 1), 3) if large else None


def print_report(runs: Sequence[dict[str, Any]], scale: dict[str, Any]) -> None:
    header = (
        f"{'size':>6} {'seeded':>7} {'scanned':>8} {'wall s':>7} {'peak RSS MB':>12} {'API calls':>10} "
        f"{'calls/res':>10} {'gaps':>5} {'status':>9}"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        print(
            f"{run['size']:>6} {run['seeded']:>7} {run['resources']:>8} {run['wall_s']:>7.2f} "
            f"{run['rss_peak_mb']:>12.1f} {run['api_calls']:>10} {run['calls_per_resource']:>10.2f} "
            f"{len(run['gaps']):>5} {run['status']:>9}"
        )
    print()
    print(
        f"fit over sizes: calls = {scale['calls_constant']} + {scale['calls_per_resource_marginal']} x resources "
        f"({scale['service_region_units']} service/region pairs, ~{scale['constant_per_service_region']} "
        f"fixed calls each); target <= {TARGET_CALLS_PER_RESOURCE}/resource"
    )
    at_5000 = calls_per_resource_at_5000(runs)
    if at_5000 is not None:
        print(
            f"calls per resource at 5,000: {at_5000} (API calls / resources scanned); "
            f"target <= {TARGET_CALLS_PER_RESOURCE_AT_5000}"
        )
    print(
        f"peak RSS at {runs[-1]['size']}: {runs[-1]['rss_peak_mb']} MB "
        f"(baseline after imports {runs[-1]['rss_baseline_mb']} MB); target < {TARGET_PEAK_RSS_MB} MB at 5,000"
    )
    largest = runs[-1]
    print(f"\ncalls by service/region at size {largest['size']} (constant + per-resource slope from the fit):")
    for key, calls in sorted(largest["calls_by_service_region"].items(), key=lambda item: -item[1]):
        line = scale["by_service_region"].get(key, {})
        print(
            f"  {key:<32} {calls:>7}   constant {line.get('constant', 0):>8}   per resource "
            f"{line.get('per_resource', 0):>7}"
        )
    print(f"\ntop operations at size {largest['size']}:")
    for key, calls in list(largest["calls_by_operation"].items())[:15]:
        print(f"  {key:<48} {calls:>7}")
    for run in runs:
        for gap in run["gaps"]:
            print(f"gap at {run['size']}: {gap['service']} {gap['region']} {gap['error_class']}: {gap['message']}")
        for error, count in run["sub_call_errors"].items():
            print(f"sub-call error at {run['size']}: {error} x{count}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", help=f"estate sizes (default {DEFAULT_SIZES})")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    parser.add_argument("--regions", nargs="+", default=list(DEFAULT_REGIONS))
    parser.add_argument(
        "--s3control",
        choices=("local", "unresolved"),
        default="local",
        help="local: strip the account-id host label so S3 Control reaches the local server (default); "
        "unresolved: leave botocore's <account>.127.0.0.1 host, so the call fails as it would without DNS",
    )
    parser.add_argument(
        "--include-unsupported",
        action="store_true",
        help=f"keep rules for services moto does not implement ({', '.join(sorted(MOTO_UNSUPPORTED))})",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per scan")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)

    server, counting, endpoint = start_server()
    os.environ["AWS_ENDPOINT_URL"] = endpoint  # the seeder here and the spawned scan both use it
    runs = []
    try:
        for size in sizes:
            print(f"size {size}: seeding and scanning ...", file=sys.stderr, flush=True)
            runs.append(
                measure(
                    size, args.regions, endpoint, counting, args.s3control, not args.include_unsupported, args.timeout
                )
            )
    finally:
        server.stop()
    scale = scaling(runs)
    print_report(runs, scale)
    largest = runs[-1]
    at_5000 = calls_per_resource_at_5000(runs)
    result = {
        "benchmark": "scan",
        "regions": args.regions,
        "s3control": args.s3control,
        "rules_skipped": runs[0]["rules_skipped"],
        "memory_measure": "VmHWM (peak resident set, /proc/self/status) of the spawned scan process: includes "
        "the interpreter and imports; rss_baseline_mb is the same mark after imports and load_rules",
        "targets": {
            "calls_per_resource_marginal": TARGET_CALLS_PER_RESOURCE,
            "calls_per_resource_at_5000": TARGET_CALLS_PER_RESOURCE_AT_5000,
            "peak_rss_mb_at_5000": TARGET_PEAK_RSS_MB,
        },
        "calls_per_resource_at_5000": at_5000,
        "met": {
            "calls_per_resource": scale["calls_per_resource_marginal"] <= TARGET_CALLS_PER_RESOURCE,
            "calls_per_resource_at_5000": None if at_5000 is None else at_5000 <= TARGET_CALLS_PER_RESOURCE_AT_5000,
            "memory": largest["rss_peak_mb"] < TARGET_PEAK_RSS_MB if largest["size"] >= 5000 else None,
        },
        "scaling": scale,
        "runs": runs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
