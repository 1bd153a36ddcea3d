"""Load a user's YAML file with limits, so a hostile or broken file is one clear error, not a crash.

PyYAML's safe loader keeps aliases as shared references, so a "billion laughs" file loads in microseconds and then
explodes in whatever walks it (validation, JSON, str()); its composer recurses once per nesting level, so 10,000
nested lists end in RecursionError. This loader composes with PyYAML's own composer, counting as it goes:

- the size of the document *with every alias expanded* (what a consumer will walk),
- the nesting depth, again through aliases (merge keys and walkers recurse through them),
- the file's size, before anything is parsed.

It lives in ``scanners/`` (the lowest layer) so every layer can use it. The parser is libyaml's when PyYAML was
built with it (catalogues parse several times faster); composing stays in Python so it can be counted.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import Node
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner


@dataclass(frozen=True)
class YamlLimits:
    """Far above any real configuration, rule pack or catalogue (the largest catalogue is under 100 KB)."""

    max_bytes: int = 4 * 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 500_000


DEFAULT_LIMITS = YamlLimits()


class YamlLimitError(yaml.YAMLError):
    """A YAML file over a limit. A ``yaml.YAMLError``, so callers that wrap YAML errors with the file name do so."""

    def __init__(self, message: str, mark: yaml.Mark | None = None) -> None:
        self.message = message
        self.mark = mark
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.mark is None:
            return self.message
        return f"{self.message} (line {self.mark.line + 1}, column {self.mark.column + 1})"


class _CountingComposer(Composer):
    """PyYAML's composer, refusing documents whose expanded size or depth is over the limits."""

    limits: YamlLimits = DEFAULT_LIMITS

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0  # nesting of the node being composed
        self._peak = 0  # deepest level (through aliases) reached inside the node being composed
        self._size = 0  # nodes composed so far, each alias counted as the whole subtree it stands for
        self._anchored: dict[str, tuple[int, int]] = {}  # anchor -> (expanded size, height) once complete

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if self.check_event(AliasEvent):
            node = super().compose_node(parent, index)  # PyYAML's own error for an undefined alias
            if event.anchor not in self._anchored:
                # Defined but not finished: the alias is inside its own anchor, a structure with no end.
                raise YamlLimitError(f"alias *{event.anchor} refers to a node that contains it", event.start_mark)
            size, height = self._anchored[event.anchor]
            self._count(size, event)
            self._reach(self._depth + height, event)
            return node
        self._depth += 1
        self._reach(self._depth, event)
        start = self._size
        self._count(1, event)
        outer_peak, self._peak = self._peak, self._depth
        node = super().compose_node(parent, index)
        height = self._peak - self._depth + 1
        self._peak = max(outer_peak, self._peak)
        self._depth -= 1
        if event.anchor is not None:
            self._anchored[event.anchor] = (self._size - start, height)
        return node

    def _count(self, nodes: int, event: Any) -> None:
        self._size += nodes
        if self._size > self.limits.max_nodes:
            what = f"alias *{event.anchor} expands" if isinstance(event, AliasEvent) else "the document grows"
            raise YamlLimitError(
                f"refused: {what} to more than {self.limits.max_nodes:,} values (an alias bomb?)", event.start_mark)

    def _reach(self, depth: int, event: Any) -> None:
        if depth > self.limits.max_depth:
            via = f" through alias *{event.anchor}" if isinstance(event, AliasEvent) else ""
            raise YamlLimitError(
                f"refused: nesting deeper than {self.limits.max_depth} levels{via}", event.start_mark)
        self._peak = max(self._peak, depth)


class _PythonParser(Reader, Scanner, Parser):
    """PyYAML's pure-Python reader, scanner and parser: the fallback when PyYAML was built without libyaml."""

    def __init__(self, stream: Any) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


def _loader(parser: type) -> type:
    # SafeLoader semantics (same tags, same types); the composer comes first in the MRO so it replaces libyaml's.
    def init(self: Any, stream: Any) -> None:
        parser.__init__(self, stream)
        _CountingComposer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    return type(f"LimitedLoader_{parser.__name__}", (_CountingComposer, parser, SafeConstructor, Resolver),
                {"__init__": init})


LOADERS: dict[str, type] = {"python": _loader(_PythonParser)}
if hasattr(yaml, "CParser"):
    LOADERS["libyaml"] = _loader(yaml.CParser)
# Which parser loads: libyaml when available; tests switch to "python" to check the fallback keeps the limits.
PARSER = "libyaml" if "libyaml" in LOADERS else "python"


def _loader_for(limits: YamlLimits) -> type:
    base = LOADERS[PARSER]
    if limits == DEFAULT_LIMITS:
        return base
    return type(base.__name__, (base,), {"limits": limits})


def safe_load(data: str | bytes, name: str = "<string>", limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """Like ``yaml.safe_load`` for one document, with limits; ``name`` appears in PyYAML's error positions."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > limits.max_bytes:
        raise YamlLimitError(f"refused: {len(raw):,} bytes is over the {limits.max_bytes:,}-byte limit for YAML")
    stream = io.BytesIO(raw)
    stream.name = name  # type: ignore[attr-defined]  # both parsers take the stream's name for their marks
    loader = _loader_for(limits)(stream)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def load_file(path: str | os.PathLike[str], limits: YamlLimits = DEFAULT_LIMITS) -> Any:
    """Read and parse a YAML file; OSError if unreadable, YAMLError (YamlLimitError over a limit) if refused.

    Only ``max_bytes + 1`` bytes are ever read, so a huge or endless file (a FIFO, /dev/zero) costs nothing.
    """
    target = Path(path)
    with target.open("rb") as handle:
        raw = handle.read(limits.max_bytes + 1)
    if len(raw) > limits.max_bytes:
        raise YamlLimitError(f"refused: the file is over the {limits.max_bytes:,}-byte limit for YAML")
    return safe_load(raw, str(target), limits)
