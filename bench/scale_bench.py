"""Distributed scans against embedded ones: N member accounts x regions in moto (roles assumed into each member),
a fixed per-call latency in front of moto, a real redis-server and `skywarden worker` processes.

    .venv/bin/python bench/scale_bench.py                       # 200 accounts x 2 regions, 250 ms per call
    .venv/bin/python bench/scale_bench.py --accounts 50 100 200 --workers 4 --repeat 2
    .venv/bin/python bench/scale_bench.py --latency-ms 0 --workers 4 --findings 0   # moto's CPU ceiling
    .venv/bin/python bench/scale_bench.py --reconcile-only --findings 1000000 --out reconcile-1m.json

Reports, per run: wall time, AWS calls/s, the CPU seconds of moto, of the gathering process and of the worker
processes (so a run that moto's CPU decided can be told from one the latency decided), and the gathering
process's peak RSS (VmHWM). Every host gets the same thread count (--threads): the in-process scan runs a pool of
that size; each worker process runs --worker-concurrency accounts at once, each on --threads/--worker-concurrency
threads. Also the time to reconcile --findings stored findings. Results go to bench/results/scale.json."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
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
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int) -> None:
    for _ in range(400):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing on port {port}")


def moto_stats(endpoint: str) -> dict:
    with urllib.request.urlopen(f"{endpoint}/__bench/stats") as response:
        return json.loads(response.read())


def vm_hwm_mb() -> float:
    """This process's resident-set high-water mark. Not ru_maxrss: Linux carries that across exec, so a spawned
    child would report its parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status")


def session_cpu_s(sid: int) -> float:
    """CPU seconds of every live process in session ``sid`` (a worker and its pool children)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[3]) == sid:
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def seed(endpoint: str, accounts: list[str], regions: list[str]) -> None:
    """A KMS key per account and region. Also touches each account's EC2 and STS backends (DescribeRegions is
    what a scan asks first), so moto's one-off backend creation is not charged to whichever run comes first."""
    base = boto3.Session(region_name="us-east-1")

    def one(account: str) -> None:
        creds = base.client("sts", endpoint_url=endpoint).assume_role(
            RoleArn=ROLE.format(account), RoleSessionName="seed")["Credentials"]
        member = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                               aws_session_token=creds["SessionToken"], region_name="us-east-1")
        member.client("ec2", endpoint_url=endpoint).describe_regions(AllRegions=True)
        for region in regions:
            member.client("kms", region_name=region, endpoint_url=endpoint).create_key()

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, accounts))


def accounts_file(accounts: list[str], path: Path) -> Path:
    path.write_text("accounts:\n" + "".join(
        f"  - {{id: '{a}', name: m{a[-4:]}, role_arn: '{ROLE.format(a)}'}}\n" for a in accounts))
    return path


def run(label: str, endpoint: str, scope: AwsScope, threads: int, broker: str | None, tmp: Path) -> dict:
    """One scan in a fresh (spawned) process, so its peak RSS is the scanning process's own."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_run, (label, endpoint, scope, threads, broker, tmp))


def _run(label: str, endpoint: str, scope: AwsScope, threads: int, broker: str | None, tmp: Path) -> dict:
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    rules = load_rules([BUILTIN_PACKS / "aws/kms.yaml"])
    db = open_db(tmp / f"{label}.db")
    baseline_mb = vm_hwm_mb()
    before, cpu_before = moto_stats(endpoint), os.times()
    planned: list[float] = []
    started = time.perf_counter()
    # In-process, on_plan fires once every role is assumed and every account's regions are read: the end of
    # the (sequential) setup. Distributed, it fires as soon as the units are sent.
    outcome = scan_aws(db, rules, scope, max_workers=threads, broker=broker,
                       on_plan=lambda _units: planned.append(time.perf_counter()))
    wall = time.perf_counter() - started
    after, cpu_after = moto_stats(endpoint), os.times()
    db.close()
    made = after["calls"] - before["calls"]
    moto_cpu = after["cpu_s"] - before["cpu_s"]
    return {"run": label, "wall_s": round(wall, 2), "aws_calls": made, "calls_per_s": round(made / wall, 1),
            "setup_s": round(planned[0] - started, 2) if planned else None,
            "status": outcome.status, "resources": outcome.summary["resources"],
            "moto_cpu_s": round(moto_cpu, 2), "moto_busy": round(moto_cpu / wall, 2),
            "moto_cpu_ms_per_call": round(1000 * moto_cpu / made, 2) if made else None,
            "gatherer_cpu_s": round(cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system, 2),
            "peak_rss_mb": vm_hwm_mb(), "rss_baseline_mb": baseline_mb}


def start_workers(count: int, concurrency: int, env: dict[str, str], broker: str) -> list[subprocess.Popen]:
    workers = [subprocess.Popen([sys.executable, "-m", "skywarden.bot.cli", "worker", "--concurrency", str(concurrency),
                                 "--hostname", f"bench{i}@%h"], env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for i in range(count)]
    from skywarden.bot.worker.app import make_app

    app = make_app(broker)
    deadline = time.monotonic() + 120
    # Wait until every worker answers a ping, so start-up is not timed as scan time.
    while len(app.control.ping(timeout=1.0) or []) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} workers did not answer a ping within 120 s")
    time.sleep(1)
    return workers


def reconcile_time(findings: int, tmp: Path) -> dict:
    """Reconcile one scan's worth of ``findings`` synthetic KMS keys into an empty database, then again (the
    second scan sees every finding already open), in a fresh process: seconds and that process's peak RSS."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_reconcile_time, (findings, tmp))


def _reconcile_time(findings: int, tmp: Path) -> dict:
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
                 {"KeyManager": "CUSTOMER", "KeyState": "Enabled", "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS",
                  "customer_managed": True, "rotation_enabled": False})
        for i in range(findings)
    ]
    inventory.coverage = [CollectionResult("aws", "210000000001", "kms", "us-east-1", ("aws.kms.key",), "ok")]
    report = Engine(rules).evaluate(inventory.resources)
    # Every key must fail the rotation rule, or the timing would be of an inventory save with no findings.
    if len(report.failures) != findings:
        raise RuntimeError(f"{len(report.failures)} of {findings} synthetic keys fail: the rule's 'where' changed?")
    before_mb = vm_hwm_mb()
    timings, summaries = [], []
    for _ in range(2):
        scan_id = scans.start_scan(db, "aws", {})
        started = time.perf_counter()
        with db.atomic():
            summaries.append(reconcile(db, scan_id, inventory, report, now()).summary())
        timings.append(round(time.perf_counter() - started, 1))
    return {"findings": findings, "first_s": timings[0], "again_s": timings[1], "first": summaries[0],
            "again": summaries[1],
            "rss_before_reconcile_mb": before_mb, "peak_rss_mb": vm_hwm_mb()}


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, nargs="+", default=[200], help="estate sizes to scan (accounts)")
    parser.add_argument("--regions", nargs="+", default=["us-east-1", "eu-west-1"])
    # 250 ms and 4 threads per host keep a 2-core machine latency-bound at 4 workers (bench/README.md: why).
    parser.add_argument("--latency-ms", type=float, default=250)
    parser.add_argument("--threads", type=int, default=4, help="threads per host (in-process pool = per worker)")
    parser.add_argument("--worker-concurrency", type=int, default=None,
                        help="accounts at once per worker process (default: threads / regions)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--no-in-process", action="store_true", help="skip the in-process scan")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration (medians reported)")
    parser.add_argument("--findings", type=int, default=1_000_000, help="for the reconcile timing (0: skip)")
    parser.add_argument("--reconcile-only", action="store_true", help="only the reconcile timing (no scans)")
    parser.add_argument("--out", default="scale.json", help="file name under bench/results/")
    args = parser.parse_args()
    if args.reconcile_only:
        tmp = Path(tempfile.mkdtemp(prefix="scale-bench-"))
        try:
            outcome = {"load1_before": load(), "reconcile": reconcile_time(args.findings, tmp), "load1_after": load()}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(json.dumps(outcome, indent=2))
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / args.out).write_text(json.dumps(outcome, indent=2))
        return
    concurrency = args.worker_concurrency or max(1, args.threads // len(args.regions))
    unit_threads = max(1, args.threads // concurrency)
    redis = shutil.which("redis-server")
    if redis is None:
        sys.exit("redis-server not found: apt-get install -y redis-server")
    tmp = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    procs: list[subprocess.Popen] = []
    rows: list[dict] = []
    result: dict = {"regions": args.regions, "latency_ms": args.latency_ms, "threads_per_host": args.threads,
                    "worker_concurrency": concurrency, "threads_per_account_on_worker": unit_threads,
                    "cores": os.cpu_count(), "runs": rows}
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
        accounts = [f"3100{i:08d}" for i in range(1, max(args.accounts) + 1)]
        seed(endpoint, accounts, args.regions)
        scopes = {n: AwsScope(accounts_file=accounts_file(accounts[:n], tmp / f"accounts-{n}.yml"),
                              regions=args.regions) for n in args.accounts}

        def record(row: dict, n: int, workers: int, attempt: int, workers_cpu: float | None = None) -> None:
            row.update({"accounts": n, "workers": workers, "attempt": attempt, "load1": load(),
                        "workers_cpu_s": workers_cpu})
            rows.append(row)
            print(f"{n:>4} acc {row['run']:<12} {row['wall_s']:>7.2f} s {row['aws_calls']:>6} calls "
                  f"{row['calls_per_s']:>6.1f}/s moto cpu {row['moto_cpu_s']:>6.1f} s ({row['moto_busy']:.2f} busy) "
                  f"gatherer cpu {row['gatherer_cpu_s']:.1f} s workers cpu {workers_cpu or 0:.1f} s "
                  f"RSS {row['peak_rss_mb']} MB setup {row['setup_s']} load {row['load1']} {row['status']}",
                  flush=True)

        for attempt in range(1, args.repeat + 1):
            for n in args.accounts:
                if not args.no_in_process:
                    record(run(f"in-process-{n}", endpoint, scopes[n], args.threads, None, tmp), n, 0, attempt)
            for count in args.workers:
                env = {**os.environ, "SKYWARDEN_BROKER_URL": broker}
                workers = start_workers(count, concurrency, env, broker)
                try:
                    for n in args.accounts:
                        cpu_before = sum(session_cpu_s(w.pid) for w in workers)
                        row = run(f"{count}w-{n}", endpoint, scopes[n], unit_threads, broker, tmp)
                        spent = sum(session_cpu_s(w.pid) for w in workers) - cpu_before
                        record(row, n, count, attempt, round(spent, 2))
                finally:
                    for proc in workers:
                        os.killpg(proc.pid, signal.SIGTERM)
                    for proc in workers:
                        proc.wait(60)
        result["summary"] = summarise(rows)
        for line in result["summary"]:
            print(line)
        if args.findings:
            result["reconcile"] = reconcile_time(args.findings, tmp)
            print(f"reconcile: {result['reconcile']}")
    finally:
        out = HERE / "results"
        out.mkdir(exist_ok=True)
        (out / args.out).write_text(json.dumps(result, indent=2))
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def summarise(rows: list[dict]) -> list[str]:
    """Median wall time per (accounts, workers), and the ratio to the in-process median of the same size."""
    groups: dict[tuple[int, int], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["accounts"], row["workers"]), []).append(row)
    lines = []
    for (n, workers), group in sorted(groups.items()):
        wall = statistics.median(r["wall_s"] for r in group)
        base = groups.get((n, 0))
        ratio = statistics.median(r["wall_s"] for r in base) / wall if base else None
        lines.append(f"{n} accounts, {'in-process' if workers == 0 else f'{workers} worker(s)'}: median "
                     f"{wall:.1f} s over {len(group)} run(s), {statistics.median(r['calls_per_s'] for r in group):.1f} "
                     f"calls/s, peak RSS {max(r['peak_rss_mb'] for r in group)} MB"
                     + (f", {ratio:.2f}x in-process" if ratio else ""))
    return lines


if __name__ == "__main__":
    main()
