"""Named Python checks: the relational logic YAML cannot say. Importing this package registers them all."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from skywarden.scanners.named_registry import Registry

# fn(resource, params) -> True when compliant, or (compliant, detail).
Check = Callable[[Any, Mapping[str, Any]], "bool | tuple[bool, str]"]

CHECKS: Registry[Check] = Registry("python check")


def load_all() -> None:
    """Import every check module so its ``CHECKS.register`` calls run."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
