"""A real redis-server on loopback, moto's server, and real `skywarden worker` processes.

Without redis-server the tests skip visibly, unless SKYWARDEN_REQUIRE_REDIS=1 (set by .ci/run) makes that a
failure, so CI always runs them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent


ROLE = "arn:aws:iam::{}:role/SkywardenReadOnly"
REGION = "us-east-1"


def seed_members(moto_endpoint: str, directory: Path, members: list[str], name: str, buckets: bool = False) -> Path:
    """Member accounts reached by role assumption, each with a KMS key (rotation off) and, with ``buckets``, a
    bucket; returns the accounts file that names them ``<name>0``, ``<name>1``, ..."""
    import boto3

    base = boto3.Session(region_name=REGION)
    for index, account in enumerate(members):
        creds = base.client("sts", endpoint_url=moto_endpoint).assume_role(
            RoleArn=ROLE.format(account), RoleSessionName="seed")["Credentials"]
        member = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                               aws_session_token=creds["SessionToken"], region_name=REGION)
        member.client("kms", endpoint_url=moto_endpoint).create_key(Description=f"{name} key {index}")
        if buckets:
            member.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=f"estate-bucket-{index}")
    path = directory / "accounts.yml"
    path.write_text("accounts:\n" + "".join(
        f"  - {{id: '{a}', name: {name}{i}, role_arn: '{ROLE.format(a)}', regions: [{REGION}]}}\n"
        for i, a in enumerate(members)))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server not found (apt-get install -y redis-server)"
        if os.environ.get("SKYWARDEN_REQUIRE_REDIS") == "1":
            pytest.fail(message + " and SKYWARDEN_REQUIRE_REDIS=1")
        pytest.skip(message)
    port = free_port()
    data = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no", "--dir", str(data)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def worker_env(broker: str, endpoint: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"AWS_ENDPOINT_URL": endpoint, "SKYWARDEN_BROKER_URL": broker})
    return env


def start_worker(broker: str, endpoint: str, name: str, concurrency: int = 1,
                 marker: Path | None = None, stall_unit: str = "") -> subprocess.Popen:
    """A `skywarden worker` process; with ``marker``, one whose collection stalls after touching that file (only
    for units whose key contains ``stall_unit``)."""
    slow = marker is not None
    entry = [sys.executable, str(HERE / "slow_worker.py")] if slow else [sys.executable, "-m", "skywarden.bot.cli"]
    return subprocess.Popen([*entry, "worker", "--broker", broker, "--concurrency", str(concurrency),
                             "--hostname", f"{name}@%h", "--time-limit", "60"],
                            env={**worker_env(broker, endpoint), "SLOW_WORKER_MARKER": str(marker or ""),
                                 "SLOW_WORKER_UNIT": stall_unit},
                            start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_worker(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@pytest.fixture(scope="session")
def workers(redis_url, moto_endpoint):
    """Two workers, one process each, on database 0."""
    procs = [start_worker(redis_url, moto_endpoint, f"w{i}") for i in range(2)]
    try:
        yield procs
    finally:
        for proc in procs:
            stop_worker(proc)
