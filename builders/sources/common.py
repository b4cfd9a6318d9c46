"""What most adapters share: one work unit per file, lenient readers, per-record errors.

A :class:`FileAdapter` subclass names its files (glob ``patterns``) and turns one raw record into
typed source records in :meth:`FileAdapter.parse`, each made by its kind's ``make``
(``builders/records.py``). Everything else is done here: the plan (file hashes for resuming, one
unit per file, ``--limit``), the common fields of every record (``source``, ``source_file``,
``license``, the held-out policy), the check of every record against its kind's declaration, and
the error handling: a record that cannot be used (or does not match its declaration) raises
:class:`RecordError`; it is rejected with its reason and the raw record is kept in
``reports/rejects/read.jsonl``, and the build goes on.

Files are read leniently too: in line-based files (JSONL, CSV) a line that is not UTF-8 (a bad
byte, a file cut inside a character) is one rejected record naming its line and byte offset, and
the file's other records are kept; an empty or unreadable file is reported (``empty_file``,
``unreadable``) instead of stopping the build or vanishing.
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

from ..records import invalid
from . import Problem, SourceAdapter, SourcePlan

if TYPE_CHECKING:
    from ..pipeline.base import Context, Record
    from ..recipe import SourceConfig

#: Fields starting with ``_`` travel with a record through the pipeline but are never written.
PRIVATE = "_"


class RecordError(Exception):
    """One raw record that cannot be used: ``reason`` is a short tag counted in the stats;
    ``offset``, where known, the byte offset in the file of what is wrong (kept in the reject)."""

    def __init__(self, reason: str, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.offset = offset


class FileError(Exception):
    """A whole file that cannot be read."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def require(obj: Any, *keys: str) -> None:
    """Raise ``missing_field`` unless ``obj`` is a mapping with a non-empty value for every key
    (``not_an_object`` unless it is a mapping)."""
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


def article_numbers(value: Any, field: str) -> list[int]:
    """A case source's list of 刑法 article numbers, each once, in order; ``bad_field`` unless it
    is a list of positive whole numbers."""
    if not isinstance(value, list) or not all(
        isinstance(a, int) and not isinstance(a, bool) and a > 0 for a in value
    ):
        raise RecordError("bad_field", f"{field}: {value!r}")
    return list(dict.fromkeys(value))


BOM = b"\xef\xbb\xbf"
#: what surrogateescape decodes an undecodable byte to
_ESCAPED = re.compile("[\udc80-\udcff]")


def is_blank(data: bytes) -> bool:
    """True for a file of 0 bytes or only whitespace (a BOM aside): nothing to read in it."""
    data = data.removeprefix(BOM)
    return not data[:4096].strip() and not data.strip()


def unreadable(rel: str, exc: OSError) -> FileError:
    """The :class:`FileError` (``unreadable``) of a source file the OS would not let us read."""
    what = exc.strerror or type(exc).__name__
    other = Path(exc.filename).name if exc.filename is not None else ""
    about = "" if not other or other == Path(rel).name else f" ({other} beside it)"
    return FileError(
        "unreadable",
        f"cannot be read{about}: {what}; check that it exists and is readable (chmod a+r), or "
        "remove it from the source folder",
    )


def _not_utf8(exc: UnicodeDecodeError) -> str:
    if exc.reason == "unexpected end of data":
        return (
            "cut inside a UTF-8 character (a truncated download or copy?); re-fetch the file "
            "from the source"
        )
    return (
        f"not UTF-8 ({exc.reason}); re-encode the file as UTF-8 (e.g. iconv -f GBK -t UTF-8, "
        "after checking its encoding) or fix the byte"
    )


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def read_text(path: Path) -> str:
    """A whole file as text (a BOM removed); :class:`FileError` ``not_utf8`` names the first bad
    byte's offset and line. For whole-file formats (JSON documents, one-record text files)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileError(
            "not_utf8", f"line {_line_at(data, exc.start)}, byte {exc.start}: {_not_utf8(exc)}"
        ) from None


def iter_lines(path: Path) -> Iterator[tuple[int, str | RecordError]]:
    """(line number, text) per line of a file, split on ``\\n`` only (U+2028 inside a JSON string,
    as in COIG-CQIA xhs, is not a line break), a leading BOM removed.

    Lines are decoded one by one: a line that is not UTF-8 comes as a :class:`RecordError`
    (``not_utf8``) naming its line and byte offset, and every other line is kept.
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        yield from enumerate(text.split("\n"), start=1)
        return
    offset = len(BOM) if data.startswith(BOM) else 0
    for n, raw in enumerate(data[offset:].split(b"\n"), start=1):
        try:
            yield n, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            at = offset + exc.start
            yield n, RecordError("not_utf8", f"line {n}, byte {at}: {_not_utf8(exc)}", at)
        offset += len(raw) + 1


def iter_jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    """(``line N``, object) per non-blank line; a bad line (not JSON, not UTF-8) yields a
    :class:`RecordError` and the other lines are kept (see :func:`iter_lines`)."""
    for n, line in iter_lines(path):
        if isinstance(line, RecordError):
            yield f"line {n}", line
            continue
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
    """(``row N``, dict) per data row; a row with the wrong number of columns is an error, and so
    is a row holding bytes that are not UTF-8 (named by line and byte offset; the other rows are
    kept). A header that is not UTF-8 makes the whole file unusable."""
    data = path.read_bytes()
    start = len(BOM) if data.startswith(BOM) else 0
    bad: list[int] = []  # file offsets of the undecodable bytes, in order
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data[start:].decode("utf-8", "surrogateescape")
        at = start
        prev = 0
        for m in _ESCAPED.finditer(text):
            at += len(text[prev : m.start()].encode("utf-8", "surrogateescape"))
            prev = m.start()
            bad.append(at)
    used = 0  # undecodable bytes met so far (each is one escaped character of the text)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise FileError("empty_file", "empty CSV file (no header)") from None
    if bad and any(_ESCAPED.search(h) for h in header):
        at = bad[0]
        raise FileError(
            "not_utf8",
            f"header row, line {_line_at(data, at)}, byte {at}: not UTF-8; re-encode the file "
            "as UTF-8 (e.g. iconv -f GBK -t UTF-8, after checking its encoding)",
        )
    for n, row in enumerate(reader, start=2):
        if not row:
            continue
        escaped = sum(len(_ESCAPED.findall(cell)) for cell in row) if bad else 0
        if escaped:
            at = bad[min(used, len(bad) - 1)]
            used += escaped
            yield (
                f"row {n}",
                RecordError(
                    "not_utf8",
                    f"row {n}, line {_line_at(data, at)}, byte {at}: not UTF-8; re-encode the "
                    "file as UTF-8 (or fix the byte); the other rows are kept",
                    at,
                ),
            )
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


def rejected_as_undeclared(
    ctx: Context, record: Record, *, source: str, file: str, where: str, shown: str, start: str
) -> bool:
    """Reject (step ``read``) a record an adapter made that does not match its kind's
    declaration, naming ``shown`` (file and article) in the message; True when rejected."""
    problem = invalid(record)
    if problem is None:
        return False
    reason, message = problem
    ctx.reject(
        "read",
        reason,
        None,
        source=source,
        file=file,
        where=where,
        message=f"{shown}: {message}",
        start=start,
    )
    return True


def missing_folder(source: str, cfg: SourceConfig) -> Problem:
    """The problem of a source whose folder is not under ``--sources``."""
    return Problem(
        source,
        cfg.path,
        "missing_source_folder",
        f"{cfg.path}: source folder not found under --sources; check the --sources "
        f"folder or the recipe key sources.{source}.path",
    )


class FileAdapter(SourceAdapter):
    """One unit per matching file. Subclasses set ``patterns`` and implement :meth:`parse`, and
    :meth:`records` unless the files are JSONL."""

    #: globs relative to the source folder, e.g. ``("data/*.json",)``
    patterns: ClassVar[tuple[str, ...]] = ()
    #: files matched by ``patterns`` that are known to be unusable: glob -> (reason, message)
    skip: ClassVar[dict[str, tuple[str, str]]] = {}

    def files(self, root: Path) -> list[str]:
        """Files matching ``patterns``, as sorted relative paths; a symbolic link counts even
        when its target is gone (it is then reported as unreadable, not silently passed over)."""
        found: set[str] = set()
        for pattern in self.patterns:
            found.update(
                p.relative_to(root).as_posix()
                for p in root.glob(pattern)
                if p.is_file() or p.is_symlink()
            )
        return sorted(found)

    def plan(self, source: str, cfg: SourceConfig, root: Path, limit: int | None) -> SourcePlan:
        plan = SourcePlan(units=[])
        if not root.is_dir():
            plan.problems.append(missing_folder(source, cfg))
            return plan
        files = []
        for rel in self.files(root):
            skipped = next((v for g, v in self.skip.items() if fnmatch.fnmatch(rel, g)), None)
            if skipped is not None:
                reason, message = skipped
                plan.problems.append(Problem(source, rel, reason, f"{rel}: {message}"))
                continue
            try:
                data = (root / rel).read_bytes()
            except OSError as exc:
                err = unreadable(rel, exc)
                plan.problems.append(Problem(source, rel, err.reason, f"{rel}: {err}"))
                plan.fingerprint.append(f"{rel}:unusable:{err.reason}")
                continue
            if is_blank(data):
                plan.problems.append(
                    Problem(
                        source,
                        rel,
                        "empty_file",
                        f"{rel}: file is empty ({len(data)} bytes, no text); re-fetch it from "
                        "the source or remove it",
                    )
                )
                plan.fingerprint.append(f"{rel}:unusable:empty_file")
                continue
            plan.fingerprint.append(f"{rel}:{hashlib.sha256(data).hexdigest()}")
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
            plan.units.append({"key": rel, "file": rel, "take": take})
        plan.counters = {"files": len(files)}
        return plan

    def records(self, path: Path) -> Iterator[tuple[str, Any]]:
        """(locator, raw record or RecordError) for one file; may raise :class:`FileError`.
        Most sources are JSONL: one object per line (:func:`iter_jsonl`)."""
        yield from iter_jsonl(path)

    def parse(self, raw: Any, rel: str, where: str) -> Iterable[dict[str, Any]]:
        """Records from one raw record, each made by its kind's ``make`` (``builders/records.py``);
        raise :class:`RecordError` for a record that cannot be used."""
        raise NotImplementedError

    @staticmethod
    def _complete(rec: dict[str, Any], common: dict[str, Any], rel: str, where: str) -> Record:
        """A parsed record with the fields every record of the file shares, checked against its
        kind's declaration (:class:`RecordError` when it does not match)."""
        rec["source_id"] = str(rec.get("source_id") or f"{rel}#{where}")
        record = {**common, **rec}
        problem = invalid(record)
        if problem is not None:
            raise RecordError(*problem)
        return record

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
                        **({} if raw.offset is None else {"byte": raw.offset}),
                    )
                    continue
                try:
                    made = [
                        self._complete(r, common, rel, where) for r in self.parse(raw, rel, where)
                    ]
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
                yield from made
        except FileError as exc:
            ctx.problem(source, rel, exc.reason, f"{rel}: {exc}")
        except OSError as exc:  # unreadable since the plan was made, or a file read beside it
            err = unreadable(rel, exc)
            ctx.problem(source, rel, err.reason, f"{rel}: {err}")
