"""The Celery app and its one task: collect one AWS account (role assumed here, on the worker) and send the
inventory back compressed. Configuration comes from the environment so `skywarden worker` and the scanning
process agree: SKYWARDEN_BROKER_URL (also the result backend), SKYWARDEN_TASK_TIME_LIMIT (seconds)."""

from __future__ import annotations

import os
import socket
from typing import Any

from celery import Celery

from skywarden.bot.worker.payload import UnitRequest, encode_result
from skywarden.scanners.aws.scan import collect_aws
from skywarden.scanners.aws.session import base_session, resolve_targets

TASK_NAME = "skywarden.collect_aws_account"
DEFAULT_TIME_LIMIT_S = 3600


def make_app(broker_url: str, time_limit_s: int = DEFAULT_TIME_LIMIT_S) -> Celery:
    app = Celery("skywarden", broker=broker_url, backend=broker_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # A worker takes one unit at a time and acknowledges it only when done: a unit a killed worker held
        # is not lost silently (the scanning process sees the failure or the timeout).
        task_acks_late=True,
        worker_prefetch_multiplier=1,
        task_time_limit=time_limit_s,
        result_expires=max(time_limit_s * 2, 3600),
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": time_limit_s + 60},
        result_backend_transport_options={"visibility_timeout": time_limit_s + 60},
        worker_hijack_root_logger=False,
    )
    app.task(name=TASK_NAME)(collect_unit)
    return app


def collect_unit(payload: dict[str, Any]) -> str:
    request = UnitRequest.from_dict(payload)
    session = base_session()  # the worker's own credential chain: the payload carries no secret
    targets = resolve_targets(session, [request.spec])
    inventory = collect_aws(targets, regions=list(request.regions) or None,
                            resource_types=request.resource_types, max_workers=request.max_workers)
    return encode_result(request, inventory, f"{socket.gethostname()}:{os.getpid()}")


def app_from_env() -> Celery:
    url = os.environ.get("SKYWARDEN_BROKER_URL")
    if not url:
        raise RuntimeError("SKYWARDEN_BROKER_URL is not set")
    return make_app(url, int(os.environ.get("SKYWARDEN_TASK_TIME_LIMIT", DEFAULT_TIME_LIMIT_S)))
