"""Distributed scans against embedded ones: N member accounts x regions in moto (roles assumed into each member),
a fixed per-call latency in front of moto, a real redis-server and `skywarden worker` processes.

    .venv/bin/python bench/scale_bench.py                       # 200 accounts x 2 regions, 50 ms per call
    .venv/bin/python bench/scale_bench.py --accounts 20 --workers 1 2 4 --threads 8

Reports wall time and AWS calls/s for the in-process scan and for 1, 2 and 4 worker processes (each with the
same thread count as the in-process scan, i.e. the same threads per host), the gathering process's peak RSS,
and the time to reconcile --findings stored findings. Results go to bench/results/scale.json."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _var in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(_var, None)

import boto3  # noqa: E402

from skywarden.bot.core.scanning import AwsScope, scan_aws  # noqa: E402
from skywarden.rules.loader import BUILTIN_PACKS, load_rules  # noqa: E402
from skywarden.storage.db import open_db  # noqa: E402

HERE = Path(__file__).parent
ROLE = "arn:aws:iam::{}:role/SkywardenReadOnly"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int) -> None:
    for _ in range(200):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing on port {port}")


def calls(endpoint: str) -> int:
    with urllib.request.urlopen(f"{endpoint}/__bench/calls") as response:
        return int(response.read())


def seed(endpoint: str, accounts: list[str], regions: list[str], path: Path) -> None:
    base = boto3.Session(region_name="us-east-1")
    for account in accounts:
        creds = base.client("sts", endpoint_url=endpoint).assume_role(
            RoleArn=ROLE.format(account), RoleSessionName="seed")["Credentials"]
        member = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                               aws_session_token=creds["SessionToken"])
        for region in regions:
            member.client("kms", region_name=region, endpoint_url=endpoint).create_key()
    path.write_text("accounts:\n" + "".join(
        f"  - {{id: '{a}', name: m{a[-4:]}, role_arn: '{ROLE.format(a)}'}}\n" for a in accounts))


def run(label: str, endpoint: str, scope: AwsScope, threads: int, broker: str | None, tmp: Path) -> dict:
    """One scan in a fresh (spawned) process, so its peak RSS is the scanning process's own."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_run, (label, endpoint, scope, threads, broker, tmp))


def _run(label: str, endpoint: str, scope: AwsScope, threads: int, broker: str | None, tmp: Path) -> dict:
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    rules = load_rules([BUILTIN_PACKS / "aws/kms.yaml"])
    db = open_db(tmp / f"{label}.db")
    before = calls(endpoint)
    started = time.perf_counter()
    outcome = scan_aws(db, rules, scope, max_workers=threads, broker=broker)
    wall = time.perf_counter() - started
    made = calls(endpoint) - before
    db.close()
    return {"run": label, "wall_s": round(wall, 2), "aws_calls": made, "calls_per_s": round(made / wall, 1),
            "status": outcome.status, "resources": outcome.summary["resources"],
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def reconcile_time(findings: int, tmp: Path) -> float:
    """Reconcile one scan's worth of ``findings`` synthetic KMS keys into an empty database."""
    from skywarden.rules.engine import Engine
    from skywarden.scanners.model import CollectionResult, Inventory, Resource
    from skywarden.storage import scans
    from skywarden.storage.db import now
    from skywarden.storage.findings import reconcile

    rules = load_rules([BUILTIN_PACKS / "aws/kms.yaml"])
    db = open_db(tmp / "reconcile.db")
    inventory = Inventory(provider="aws", accounts={"210000000001": "m"}, regions=["us-east-1"])
    inventory.resources = [
        Resource("aws", "210000000001", "us-east-1", "aws.kms.key", f"key-{i}", f"key-{i}", {},
                 {"customer_managed": True, "KeyState": "Enabled", "rotation_enabled": False})
        for i in range(findings)
    ]
    inventory.coverage = [CollectionResult("aws", "210000000001", "kms", "us-east-1", ("aws.kms.key",), "ok")]
    report = Engine(rules).evaluate(inventory.resources)
    scan_id = scans.start_scan(db, "aws", {})
    started = time.perf_counter()
    with db.atomic():
        reconcile(db, scan_id, inventory, report, now())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--regions", nargs="+", default=["us-east-1", "eu-west-1"])
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--threads", type=int, default=8, help="threads per host (in-process pool = per worker)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--findings", type=int, default=1_000_000, help="for the reconcile timing (0: skip)")
    args = parser.parse_args()
    redis = shutil.which("redis-server")
    if redis is None:
        sys.exit("redis-server not found: apt-get install -y redis-server")
    tmp = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        moto_port, redis_port = free_port(), free_port()
        procs.append(subprocess.Popen([sys.executable, str(HERE / "latency_moto.py"), str(moto_port),
                                       str(args.latency_ms)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen([redis, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                       "--dir", str(tmp)], stdout=subprocess.DEVNULL))
        wait_port(moto_port)
        wait_port(redis_port)
        endpoint, broker = f"http://127.0.0.1:{moto_port}", f"redis://127.0.0.1:{redis_port}/0"
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        accounts = [f"3100{i:08d}" for i in range(1, args.accounts + 1)]
        seed(endpoint, accounts, args.regions, tmp / "accounts.yml")
        scope = AwsScope(accounts_file=tmp / "accounts.yml", regions=args.regions)
        rows = [run("in-process", endpoint, scope, args.threads, None, tmp)]
        for count in args.workers:
            env = {**os.environ, "SKYWARDEN_BROKER_URL": broker}
            # One account at a time per worker process, its collectors on --threads threads: the same
            # threads per host as the in-process scan.
            workers = [subprocess.Popen([sys.executable, "-m", "skywarden.bot.cli", "worker", "--concurrency", "1",
                                         "--hostname", f"bench{i}@%h"], env=env, start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                       for i in range(count)]
            time.sleep(3)
            try:
                rows.append(run(f"{count} worker(s)", endpoint, scope, args.threads, broker, tmp))
            finally:
                for proc in workers:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(30)
        result = {"accounts": args.accounts, "regions": args.regions, "latency_ms": args.latency_ms,
                  "threads": args.threads, "runs": rows}
        if args.findings:
            result["reconcile_s"] = {str(args.findings): round(reconcile_time(args.findings, tmp), 1)}
        for row in rows:
            print(f"{row['run']:<14} {row['wall_s']:>8.2f} s {row['aws_calls']:>7} calls {row['calls_per_s']:>8.1f}/s"
                  f"  {row['status']} {row['resources']} resources, scanning process peak RSS {row['peak_rss_mb']} MB")
        if "reconcile_s" in result:
            print(f"reconcile of {args.findings} findings: {result['reconcile_s'][str(args.findings)]} s")
        out = HERE / "results"
        out.mkdir(exist_ok=True)
        (out / "scale.json").write_text(json.dumps(result, indent=2))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
