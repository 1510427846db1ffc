"""Files written whole or not at all, and the one cache directory (used by every module that writes).

    atomic_write_text(path, "...")          # temporary file beside path, fsync, os.replace
    atomic_write_json(path, {"a": 1})       # the same, as indented JSON with a final newline
    atomic_write_bytes(path, b"...")
    default_cache_dir("code_corpus")        # $CODEGEN_CACHE_DIR/code_corpus or ~/.cache/codegen_lib/...

A reader (or a crash) never sees half a file: the text goes to a temporary file in the same folder,
is flushed to disk, and then replaces ``path`` in one ``os.replace``. A finished file is readable by
everyone (0644), like one written with ``open``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "fsync_file",
    "default_cache_dir",
    "cached_json",
]


def fsync_file(path: str | os.PathLike) -> None:
    """Flush one file's contents to disk (after a library wrote it by name)."""
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (parents are created); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any, *, indent: int | None = 2, **dumps: Any) -> Path:
    """Write ``json.dumps(obj, indent=indent, **dumps)`` plus a newline to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, **dumps) + "\n")


def default_cache_dir(*parts: str) -> Path:
    """``$CODEGEN_CACHE_DIR`` (``~`` expanded) or ``~/.cache/codegen_lib``, joined with ``parts``.

    The folder is not created: callers create it when they first write there.
    """
    env = os.environ.get("CODEGEN_CACHE_DIR")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "codegen_lib"
    return root.joinpath(*parts)


def cached_json(path: str | os.PathLike, build, *, keys: tuple[str, ...] = (), enabled: bool = True,
                what: str = "cache") -> tuple[Any, bool]:
    """``(value, from_cache)``: the JSON object at ``path`` when it is there, readable and has ``keys``;
    otherwise ``build()``, written to ``path`` atomically. A cache that cannot be read or written is logged
    (naming ``what``) and never fatal; ``enabled=False`` neither reads nor writes it."""
    import logging

    log = logging.getLogger(__name__)
    path = Path(path)
    if enabled and path.is_file():
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
            if all(k in value for k in keys):
                return value, True
            log.warning("ignoring %s %s: it lacks %s", what, path, [k for k in keys if k not in value])
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring unreadable %s %s: %s", what, path, exc)
    value = build()
    if enabled:
        try:
            atomic_write_json(path, value, indent=None)
        except OSError as exc:
            log.warning("could not write the %s %s: %s", what, path, exc)
    return value, False
