"""Safe YAML reading for user files: size-capped, duplicate keys refused, alias bombs defused.

Parsing uses PyYAML's ``SafeLoader`` (``safe_load`` semantics: plain data only, never objects).
On top of it this module refuses what ``safe_load`` lets through but a config file should never
contain: duplicate keys (the later silently wins in plain YAML), alias expansions that blow up
("billion laughs"), non-string keys, and documents that are not a mapping. It also remembers the
line of every key path so that validation errors can point at it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from outcome_gym.errors import Problem, ScenarioFileError

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 50_000
MAX_DEPTH = 64

KeyPath = tuple[str | int, ...]


def nearest_line(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path``, or of its closest ancestor, in a :func:`load_yaml_mapping` line map."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in lines:
            return lines[path[:cut]]
    return None


def format_path(path: KeyPath) -> str:
    """Render a key path as ``a.b[0].c``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Loader(yaml.SafeLoader):
    """SafeLoader that stops composing as soon as the document is too deep or too large.

    PyYAML is pure Python here: without these early stops a 2 MB file of small values, or one
    nested thousands deep, takes seconds before any check could run.
    """

    def __init__(self, stream: str, file: str) -> None:
        super().__init__(stream)
        self.file = file
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """Compose one node, counting depth and nodes (aliases count once here)."""
        self.depth += 1
        self.nodes += 1
        try:
            if self.depth > MAX_DEPTH + 1:
                raise _fail(
                    self.file,
                    f"expected nesting at most {MAX_DEPTH} deep, got deeper",
                    self.peek_event().start_mark.line + 1,
                )
            if self.nodes > MAX_NODES:
                raise _fail(
                    self.file,
                    f"expected at most {MAX_NODES} values, got more",
                    self.peek_event().start_mark.line + 1,
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _fail(file: str, message: str, line: int | None = None, path: str = "") -> ScenarioFileError:
    return ScenarioFileError([Problem(file=file, path=path, message=message, line=line)])


def _walk(
    node: yaml.Node,
    path: KeyPath,
    lines: dict[KeyPath, int],
    file: str,
    budget: list[int],
    depth: int,
    active: set[int],
) -> None:
    """Check the composed node graph and record lines; counts nodes through aliases."""
    budget[0] += 1
    if budget[0] > MAX_NODES:
        raise _fail(
            file,
            f"expected at most {MAX_NODES} values (after expanding aliases); "
            "the document is larger (an alias bomb?)",
        )
    if depth > MAX_DEPTH:
        raise _fail(
            file,
            f"expected nesting at most {MAX_DEPTH} deep, got deeper",
            node.start_mark.line + 1,
            format_path(path),
        )
    if id(node) in active:
        raise _fail(
            file,
            "expected a tree, got a recursive alias (a value that contains itself)",
            lines.get(path, node.start_mark.line + 1),
            format_path(path),
        )
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        active.add(id(node))
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _fail(
                    file,
                    "expected plain keys, got a YAML merge key '<<' (write the keys out instead)",
                    key_node.start_mark.line + 1,
                    format_path(path),
                )
            if not isinstance(key_node, yaml.ScalarNode):
                raise _fail(
                    file,
                    f"expected text keys, got {_node_kind(key_node)} as a key",
                    key_node.start_mark.line + 1,
                    format_path(path),
                )
            if key_node.tag != "tag:yaml.org,2002:str":
                raise _fail(
                    file,
                    f"expected text keys, got {key_node.tag.rsplit(':', 1)[-1]} key "
                    f"{key_node.value!r} (quote it to make it text)",
                    key_node.start_mark.line + 1,
                    format_path(path),
                )
            key = key_node.value
            if key in seen:
                raise _fail(
                    file,
                    f"expected each key once, got duplicate key '{key}' "
                    f"(first on line {seen[key]})",
                    key_node.start_mark.line + 1,
                    format_path(path),
                )
            seen[key] = key_node.start_mark.line + 1
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, file, budget, depth + 1, active)
        active.discard(id(node))
    elif isinstance(node, yaml.SequenceNode):
        active.add(id(node))
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, file, budget, depth + 1, active)
        active.discard(id(node))


def read_text(path: Path) -> str:
    """Read a user file as UTF-8 text, refusing what is too large or not text."""
    file = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _fail(file, "file not found") from None
    except OSError as exc:
        raise _fail(file, f"cannot read: {exc.strerror}") from None
    if path.is_dir():
        raise _fail(file, "expected a file, got a directory")
    if size > MAX_FILE_BYTES:
        raise _fail(
            file,
            f"expected a file of at most {MAX_FILE_BYTES // 1024} KiB, got {size / 1024:.0f} KiB",
        )
    data = path.read_bytes()
    if (nul := data.find(b"\x00")) >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise _fail(file, "expected UTF-8 text, got binary data (NUL bytes)", line)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _fail(
            file,
            f"expected UTF-8 text, got an invalid byte 0x{data[exc.start]:02x} at offset {exc.start}",
            line,
        ) from None


def load_yaml_mapping(
    text: str, file: str = "<string>"
) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    """Parse YAML text into a mapping plus a key-path -> line map.

    Args:
        text: The document.
        file: Name used in error messages.

    Returns:
        The parsed mapping and the line of every key path in it.

    Raises:
        ScenarioFileError: Empty, not YAML, not a mapping, duplicate keys, alias bombs, too deep.
    """
    if len(text) > MAX_FILE_BYTES:
        raise _fail(file, f"expected at most {MAX_FILE_BYTES // 1024} KiB of text, got more")
    if not text.strip():
        raise _fail(file, "expected a YAML mapping, got an empty file")
    try:
        loader = _Loader(text, file)
        try:
            node = loader.get_single_node()
            if node is None:
                raise _fail(file, "expected a YAML mapping, got an empty document")
            lines: dict[KeyPath, int] = {}
            _walk(node, (), lines, file, [0], 0, set())
            if not isinstance(node, yaml.MappingNode):
                raise _fail(
                    file,
                    f"expected a YAML mapping at the top, got {_node_kind(node)}",
                    node.start_mark.line + 1,
                )
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "invalid YAML"
        raise _fail(file, f"expected valid YAML, got a syntax error: {what}", line) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        char = (
            exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        )
        raise _fail(
            file, f"expected printable text, got the control character #x{char:04x}", line
        ) from None
    except yaml.YAMLError as exc:
        raise _fail(file, f"expected valid YAML, got: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise _fail(file, f"expected nesting at most {MAX_DEPTH} deep, got deeper") from None
    return data, lines


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        return "nothing (an empty or null document)"
    if isinstance(node, yaml.ScalarNode):
        return f"a scalar {node.value[:40]!r}"
    return "something else"


def dump_yaml(data: Any) -> str:
    """Dump plain data as block-style YAML (keys in the given order)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


__all__ = ["KeyPath", "dump_yaml", "format_path", "load_yaml_mapping", "read_text"]

_ = Problem  # re-exported type used in signatures of callers
