"""The Celery app and its one task: collect one unit (an account, or part of one; role assumed here, on the
worker), evaluate the scan's rules on it and send the compact result back compressed. Configuration comes
from the environment so `skywarden worker` and the scanning process agree: SKYWARDEN_BROKER_URL (also the
result backend), SKYWARDEN_TASK_TIME_LIMIT (seconds), SKYWARDEN_RULES (the worker's rule paths)."""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from celery import Celery

from skywarden.bot.worker import units
from skywarden.bot.worker.evaluate import RuleSetMismatch, evaluated_body, select_rules, worker_rules
from skywarden.bot.worker.payload import ResultMismatch, UnitRequest, encode_result

TASK_NAME = "skywarden.collect_unit"
DEFAULT_TIME_LIMIT_S = 3600

log = logging.getLogger(__name__)


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
    app.task(name=TASK_NAME)(run_unit)
    return app


def run_unit(payload: dict[str, Any]) -> str:
    worker = f"{socket.gethostname()}:{os.getpid()}"
    request = UnitRequest.from_dict(payload)
    try:
        rules = select_rules(worker_rules(), request.rule_ids, request.rules_digest)
    except (RuleSetMismatch, ResultMismatch) as exc:
        # Evaluating other rules than the scan's would store other verdicts: refuse the unit, say why.
        log.warning("unit %s refused: %s", request.unit, exc)
        return encode_result(request, {"refused": str(exc), "error_class": type(exc).__name__}, worker)
    inventory = units.collect_unit(request)
    return encode_result(request, evaluated_body(rules, inventory), worker)


def app_from_env() -> Celery:
    url = os.environ.get("SKYWARDEN_BROKER_URL")
    if not url:
        raise RuntimeError("SKYWARDEN_BROKER_URL is not set")
    return make_app(url, int(os.environ.get("SKYWARDEN_TASK_TIME_LIMIT", DEFAULT_TIME_LIMIT_S)))

