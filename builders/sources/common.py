"""What most adapters share: one work unit per file, lenient readers, per-record errors.

A :class:`FileAdapter` subclass names its files (glob ``patterns``) and turns one raw record into
typed source records in :meth:`FileAdapter.parse`. Everything else is done here: the plan (file
hashes for resuming, one unit per file, ``--limit``), the common fields of every record (``source``,
``source_id``, ``source_file``, ``license``, the held-out policy, which fields to normalize) and the
error handling: a record that cannot be used raises :class:`RecordError`; it is rejected with its
reason and the raw record is kept in ``reports/rejects/read.jsonl``, and the build goes on.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from . import Problem, SourceAdapter, SourcePlan

if TYPE_CHECKING:
    from ..pipeline.base import Context, Record
    from ..recipe import SourceConfig

#: Fields starting with ``_`` travel with a record through the pipeline but are never written.
PRIVATE = "_"


class RecordError(Exception):
    """One raw record that cannot be used: ``reason`` is a short tag counted in the stats."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class FileError(Exception):
    """A whole file that cannot be read."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def require(obj: Any, *keys: str) -> None:
    """Raise ``missing_field`` unless ``obj`` is a mapping with a non-empty value for every key."""
    if not isinstance(obj, dict):
        raise RecordError("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    for key in keys:
        value = obj.get(key)
        if value is None or (isinstance(value, (str, list, dict)) and not value):
            raise RecordError("missing_field", f"field {key!r} is missing or empty")


def text_of(obj: dict[str, Any], key: str) -> str:
    """A required string field, stripped."""
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RecordError("missing_field", f"field {key!r} is missing or empty")
    return value.strip()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileError(
            "not_utf8", f"not UTF-8 ({exc.reason} at byte {exc.start}); re-encode it as UTF-8"
        ) from None


def iter_jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    """(``line N``, object) per non-blank line; a bad line yields a :class:`RecordError`.

    Lines are split on ``\\n`` only: U+2028 inside strings (COIG-CQIA xhs) is not a line break.
    """
    for n, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            yield f"line {n}", json.loads(line)
        except json.JSONDecodeError as exc:
            yield f"line {n}", RecordError("bad_json", f"line {n}: not valid JSON ({exc.msg})")


_TRAILING_COMMA = re.compile(r",(\s*[\]}])")


def load_json(path: Path) -> tuple[Any, bool]:
    """A whole JSON document, and whether a trailing comma (``},\\n]``) had to be repaired."""
    text = read_text(path)
    try:
        return json.loads(text), False
    except json.JSONDecodeError as first:
        try:
            return json.loads(_TRAILING_COMMA.sub(r"\1", text)), True
        except json.JSONDecodeError:
            raise FileError(
                "bad_json",
                f"not valid JSON (line {first.lineno} column {first.colno}: {first.msg}); fix "
                "the file or exclude it from the source's patterns",
            ) from None


def iter_csv(path: Path) -> Iterator[tuple[str, Any]]:
    """(``row N``, dict) per data row; a row with the wrong number of columns is an error."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FileError("empty_file", "empty CSV file (no header)") from None
    for n, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            yield (
                f"row {n}",
                RecordError(
                    "bad_csv_row", f"row {n}: {len(row)} columns, the header has {len(header)}"
                ),
            )
            continue
        yield f"row {n}", dict(zip(header, row, strict=True))


def held_out_policy(cfg: SourceConfig, rel: str) -> str:
    """``none``, ``test`` or ``exclude`` for one file of a source (the recipe's held-out setting)."""
    if cfg.held_out == "none":
        return "none"
    if not cfg.held_out_files or any(fnmatch.fnmatch(rel, g) for g in cfg.held_out_files):
        return cfg.held_out
    return "none"


class FileAdapter(SourceAdapter):
    """One unit per matching file. Subclasses set ``patterns`` and implement :meth:`records` and
    :meth:`parse`."""

    #: globs relative to the source folder, e.g. ``("data/*.json",)``
    patterns: ClassVar[tuple[str, ...]] = ()
    #: files matched by ``patterns`` that are known to be unusable: glob -> (reason, message)
    skip: ClassVar[dict[str, tuple[str, str]]] = {}
    kind: ClassVar[str] = ""
    #: the string (or list of strings) fields that normalization and PII masking work on
    text_fields: ClassVar[tuple[str, ...]] = ()

    def files(self, root: Path) -> list[str]:
        found: set[str] = set()
        for pattern in self.patterns:
            found.update(p.relative_to(root).as_posix() for p in root.glob(pattern) if p.is_file())
        return sorted(found)

    def plan(self, source: str, cfg: SourceConfig, root: Path, limit: int | None) -> SourcePlan:
        plan = SourcePlan(units=[])
        if not root.is_dir():
            plan.problems.append(
                Problem(
                    source,
                    cfg.path,
                    "missing_source_folder",
                    f"{cfg.path}: source folder not found under --sources; check the --sources "
                    f"folder or the recipe key sources.{source}.path",
                )
            )
            return plan
        files = []
        for rel in self.files(root):
            skipped = next((v for g, v in self.skip.items() if fnmatch.fnmatch(rel, g)), None)
            if skipped is not None:
                reason, message = skipped
                plan.problems.append(Problem(source, rel, reason, f"{rel}: {message}"))
                continue
            files.append(rel)
        if not files:
            plan.problems.append(
                Problem(
                    source,
                    cfg.path,
                    "no_input_files",
                    f"{cfg.path}: no file matches {', '.join(self.patterns)}; is this the "
                    f"{self.name} source?",
                )
            )
        take = None if limit is None else max(1, limit // max(1, len(files)))
        for rel in files:
            plan.fingerprint.append(f"{rel}:{sha256_of(root / rel)}")
            plan.units.append({"key": rel, "file": rel, "take": take})
        plan.counters = {"files": len(files)}
        return plan

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        """(locator, raw record or RecordError) for one file; may raise :class:`FileError`."""
        raise NotImplementedError

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        """Typed records (each with at least ``source_id`` and the ``text_fields``) from one raw
        record; raise :class:`RecordError` for a record that cannot be used."""
        raise NotImplementedError

    def read(
        self, source: str, cfg: SourceConfig, root: Path, unit: dict[str, Any], ctx: Context
    ) -> Iterator[Record]:
        rel = unit["file"]
        held_out = held_out_policy(cfg, rel)
        common = {
            "source": source,
            "source_file": rel,
            "license": cfg.license,
            "_simplified": cfg.script == "simplified",
            "_held_out": held_out,
            "_real_names": cfg.real_names,
        }
        take = unit.get("take")
        n = 0
        try:
            for where, raw in self.records(root / rel):
                if take is not None and n >= take:
                    break
                n += 1
                if isinstance(raw, RecordError):
                    ctx.reject(
                        "read",
                        raw.reason,
                        None,
                        source=source,
                        file=rel,
                        where=where,
                        message=f"{rel}: {raw}",
                    )
                    continue
                try:
                    made = list(self.parse(raw, rel, where))
                except RecordError as exc:
                    ctx.reject(
                        "read",
                        exc.reason,
                        None,
                        source=source,
                        file=rel,
                        where=where,
                        message=f"{rel} ({where}): {exc}",
                        raw=raw,
                    )
                    continue
                for rec in made:
                    rec.setdefault("kind", self.kind)
                    rec.setdefault("_text_fields", self.text_fields)
                    rec["source_id"] = str(rec.get("source_id") or f"{rel}#{where}")
                    yield {**common, **rec}
        except FileError as exc:
            ctx.problem(source, rel, exc.reason, f"{rel}: {exc}")
