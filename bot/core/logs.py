"""Logging for the CLI and the bot: one stderr handler, and no secret in any record at any verbosity."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from skywarden.scanners.redact import redact, secrets_from_env

NOISY = ("botocore", "boto3", "urllib3", "werkzeug")


class SecretFilter(logging.Filter):
    """Rewrites each record with its secrets masked: message, arguments, traceback and stack all at once.

    On handlers rather than loggers, so records from every library (botocore at DEBUG logs whole signed
    requests and STS responses) pass through it, whichever logger they were sent to.
    """

    def __init__(self, secrets: set[str] | None = None) -> None:
        super().__init__()
        self.secrets = secrets_from_env() if secrets is None else secrets

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_skywarden_redacted", False):
            return True  # already done by the filter on another handler
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not become an exception in the caller
            message = f"{record.msg} {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        record._skywarden_redacted = True
        return True


def install_secret_filter(secrets: set[str] | None = None, logger: logging.Logger | None = None) -> SecretFilter:
    """Put one SecretFilter on every handler of ``logger`` (the root by default); calling again only refreshes it."""
    target = logger or logging.getLogger()
    secret_filter = SecretFilter(secrets)
    for handler in target.handlers:
        for old in [f for f in handler.filters if isinstance(f, SecretFilter)]:
            handler.removeFilter(old)
        handler.addFilter(secret_filter)
    return secret_filter


def configure_logging(verbose: int, environ: Mapping[str, str] | None = None) -> SecretFilter:
    """stderr logging at WARNING, INFO (-v) or DEBUG (-vv), redacted at every level."""
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Set at every verbosity (NOTSET: the root's level, at -vv) so no level is left over from an earlier run.
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 2 else logging.NOTSET)
    logging.getLogger("skywarden.scanners.fanout").setLevel(
        [logging.ERROR, logging.INFO, logging.NOTSET][min(verbose, 2)])
    _redact_crashes()
    return install_secret_filter(secrets_from_env(environ))


def _redact_crashes() -> None:
    """A crash's traceback goes to stderr without logging: redact it too (it can quote URLs and request headers).

    Only over Python's default hooks: a debugger's or a test runner's own hook is left in charge.
    """

    def print_redacted(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb)), secrets_from_env()))

    def thread_hook(args: Any) -> None:
        if args.exc_type is not SystemExit:
            sys.stderr.write(f"Exception in thread {args.thread.name if args.thread else '?'}:\n")
            print_redacted(args.exc_type, args.exc_value, args.exc_traceback)

    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = print_redacted
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = thread_hook
