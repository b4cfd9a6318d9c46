"""Reading a release for validation: one pandas frame per parquet file, never the whole release.

Each file of a query config becomes a frame of the record's columns plus the derived columns the
suites check (``role_seq``, ``answer_tail``, citation counts, ...). Everything a row check needs
is computed here in one pass over the file, so Great Expectations only compares columns. Checks
that need every row of a config (``id`` unique, duplicates across splits) get their inputs from a
cheap first pass over the ``id`` column (:func:`id_counts`) or from :class:`~.metrics.Collector`.

``--sample N`` keeps about N rows per config and split: the rows whose ``stable_hash(id)`` falls
below ``N / rows`` of the hash range. The choice depends on the id only, so it is the same on
every machine and every run, and a row's membership does not depend on which file it is in.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from lawset.builders.errors import CheckFailed
from lawset.builders.schema import QUERY_SCHEMA, STATUTE_SCHEMA, stable_hash

from .config import ValidateError
from .formats import answer_tail, quoted_statute_tasks
from .integrity import first_line

QUERY_CONFIGS = ("stage1", "stage2")
STATUTE_CONFIG = "statutes"
SPLITS = ("train", "validation", "test")
OK_STATUSES = frozenset({"current", "mapped"})
FLAGGED_STATUSES = frozenset({"repealed", "superseded"})
KNOWN_ROLES = frozenset({"system", "user", "assistant"})


@dataclass
class DataFile:
    config: str
    split: str
    path: Path
    rows: int


@dataclass
class Release:
    root: Path
    manifest: dict[str, Any]
    stats: dict[str, Any]
    files: list[DataFile] = field(default_factory=list)

    def configs(self) -> list[str]:
        return sorted({f.config for f in self.files})

    def files_of(self, config: str) -> list[DataFile]:
        return [f for f in self.files if f.config == config]

    def rows(self, config: str, split: str | None = None) -> int:
        return sum(f.rows for f in self.files_of(config) if split is None or f.split == split)


def read_manifest(root: Path) -> dict[str, Any]:
    """The ``manifest.json`` of the release in ``root``, or ValidateError when ``root`` is not
    one. Reads nothing but the manifest and the names in ``data/`` (no parquet file)."""
    if not root.is_dir():
        raise ValidateError(f"{root}: no such directory")
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file() or not (root / "data").is_dir():
        raise ValidateError(f"{root}: not a lawset release (no manifest.json or data/)")
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidateError(f"{manifest_path}: not valid JSON: {exc}") from None
    if not isinstance(manifest, dict):
        raise ValidateError(f"{manifest_path}: not a lawset manifest (not a JSON object)")
    if not any(any((root / "data" / c).glob("*.parquet")) for c in QUERY_CONFIGS):
        raise ValidateError(f"{root}: not a lawset release (no data/stage1 or data/stage2 files)")
    return manifest


def open_release(root: Path) -> Release:
    """The files of a release, or ValidateError when ``root`` is not one (CheckFailed, naming
    the file, when a data file's footer does not read)."""
    manifest = read_manifest(root)
    stats_path = root / "reports" / "stats.json"
    try:
        stats = json.loads(stats_path.read_text("utf-8")) if stats_path.is_file() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        stats = {}
    release = Release(root=root, manifest=manifest, stats=stats)
    for config_dir in sorted(p for p in (root / "data").iterdir() if p.is_dir()):
        for path in sorted(config_dir.glob("*.parquet")):
            split = path.name.split("-", 1)[0]
            try:
                rows = pq.ParquetFile(path).metadata.num_rows
            except (pa.ArrowException, OSError) as exc:
                rel = path.relative_to(root).as_posix()
                raise CheckFailed(
                    f"{rel}: not a readable parquet file ({first_line(exc)}); rebuild, or restore "
                    "it"
                ) from None
            release.files.append(DataFile(config_dir.name, split, path, rows))
    return release


def schema_mismatch(schema: pa.Schema, expected: pa.Schema) -> str:
    """What differs between a file's Arrow schema and the config's ("" when they agree)."""
    problems = []
    got = {f.name: f.type for f in schema}
    for f in expected:
        if f.name not in got:
            problems.append(f"{f.name}: missing")
        elif not got[f.name].equals(f.type):
            problems.append(f"{f.name}: {got[f.name]} (expected {f.type})")
    problems += [f"{name}: unexpected column" for name in got if name not in expected.names]
    return "; ".join(problems)


def sample_rate(rows: int, sample: int | None) -> float:
    return 1.0 if sample is None or rows <= sample else sample / rows


def keep_mask(ids: list[Any], rate: float) -> list[bool]:
    if rate >= 1.0:
        return [True] * len(ids)
    cut = rate * 2**64
    return [stable_hash(str(i)) < cut for i in ids]


def id_counts(files: list[DataFile]) -> Counter[str]:
    """How often each id occurs in a config (all splits): only ids seen more than once kept."""
    seen: Counter[str] = Counter()
    for f in files:
        ids = pq.read_table(f.path, columns=["id"]).column("id")
        vc = pc.value_counts(ids)
        for item in vc.to_pylist():
            if item["values"] is not None:
                seen[item["values"]] += item["counts"]
    return Counter({k: n for k, n in seen.items() if n > 1})


def _column(table: pa.Table, name: str, mask: list[bool] | None) -> list[Any]:
    if name not in table.column_names:
        values: list[Any] = [None] * table.num_rows
    else:
        values = table.column(name).to_pylist()
    if mask is not None:
        values = [v for v, k in zip(values, mask, strict=True) if k]
    return values


def _size(value: Any) -> int | None:
    return None if value is None else len(value) if isinstance(value, list | dict) else 1


def _content(m: Any) -> str:
    c = m.get("content") if isinstance(m, dict) else None
    return c if isinstance(c, str) else ""


@dataclass
class QueryRows:
    """The frame of one file plus the texts the release-level collector needs."""

    frame: pd.DataFrame
    users: list[str]
    texts: list[str]


@dataclass(frozen=True)
class FrameSpec:
    """What the derived columns of a config's frames depend on (from recipe and thresholds).

    ``per_task`` names, per derived column (``answer_tail``, ``answer_chars``), the tasks that
    get a column of their own (``answer_tail[prison_term]``: the value on that task's rows,
    null elsewhere); ``answer_checked_cjk`` is the answer on rows of ``cjk_domains`` and
    ``text_checked_html`` the conversation on rows of ``html_domains`` that hold a ``<`` or
    ``&`` (no other text can match the HTML pattern), null elsewhere.
    ``tasks`` and ``sources`` are the recipe's: a pair column (``task_level``,
    ``source_license``) is null when its first value is unknown or null, so an unknown task or
    source fails the task or source check and nothing else.
    """

    tasks: frozenset[str]
    sources: frozenset[str]
    per_task: dict[str, list[str]]
    cjk_domains: tuple[str, ...] = ("legal",)
    html_domains: tuple[str, ...] = ("legal",)


def _pair(a: Any, b: Any, known: frozenset[str] | None = None) -> str | None:
    if a is None or b is None or (known is not None and a not in known):
        return None
    return f"{a} | {b}"


def query_frame(
    f: DataFile,
    duplicated: Counter[str],
    statute_keys: set[tuple[str, int, int]] | None,
    rate: float,
    spec: FrameSpec,
) -> QueryRows:
    """One query file as a frame of its columns and the derived columns the suites check.

    Every problem shows in one check: a row whose ``messages`` is null gets null message
    columns (reported by ``schema.not_null[messages]`` alone, not again by every length and
    format check); roles outside user/assistant/system are left out of the alternation check
    (``schema.roles`` reports them).
    """
    table = pq.read_table(f.path)
    mismatch = schema_mismatch(table.schema, QUERY_SCHEMA)
    ids = table.column("id").to_pylist() if "id" in table.column_names else [None] * len(table)
    mask = None if rate >= 1.0 else keep_mask(ids, rate)
    if mask is not None:
        ids = [v for v, k in zip(ids, mask, strict=True) if k]
    cols = {
        name: _column(table, name, mask)
        for name in ("task", "level", "domain", "source", "source_id", "license", "group")
    }
    messages = _column(table, "messages", mask)
    citations = _column(table, "citations", mask)
    quality = _column(table, "quality", mask)
    del table
    n = len(ids)
    role_seq: list[str | None] = []
    turn_seq: list[str | None] = []
    min_content: list[float] = []
    user_chars: list[float] = []
    answer_chars: list[float] = []
    answers: list[str | None] = []
    tails: list[str | None] = []
    texts: list[str] = []
    users: list[str] = []
    for msgs in messages:
        if not isinstance(msgs, list):
            role_seq.append(None)
            turn_seq.append(None)
            min_content.append(math.nan)
            user_chars.append(math.nan)
            answer_chars.append(math.nan)
            answers.append(None)
            tails.append(None)
            users.append("")
            texts.append("")
            continue
        roles = [str(m.get("role")) if isinstance(m, dict) else "None" for m in msgs]
        contents = [_content(m) for m in msgs]
        user = [c for r, c in zip(roles, contents, strict=True) if r == "user"]
        said = [c for r, c in zip(roles, contents, strict=True) if r == "assistant"]
        role_seq.append("|".join(roles))
        turn_seq.append("|".join(r for r in roles if r in KNOWN_ROLES))
        min_content.append(min((len(c.strip()) for c in contents), default=0))
        user_chars.append(sum(map(len, user)))
        answer_chars.append(sum(map(len, said)))
        # the CJK ratio is measured over every assistant turn, as the quality_scores step does;
        # the answer format is the end of the last one
        answers.append("".join(said))
        tails.append(answer_tail(said[-1] if said else ""))
        users.append("\n".join(user))
        texts.append("\n".join(contents))
    unverified, flagged_as_current, not_in_index = [], [], []
    quoting = quoted_statute_tasks()
    for task, cites in zip(cols["task"], citations, strict=True):
        cites = cites if isinstance(cites, list) else []
        unverified.append(
            sum(1 for c in cites if not c.get("verified") or c.get("status") not in OK_STATUSES)
        )
        quoted = task in quoting
        flagged_as_current.append(
            0 if quoted else sum(1 for c in cites if c.get("status") in FLAGGED_STATUSES)
        )
        if statute_keys is None:
            not_in_index.append(0)
        else:
            not_in_index.append(
                sum(
                    1
                    for c in cites
                    if (c.get("law"), c.get("article"), c.get("sub") or 0) not in statute_keys
                )
            )
    # object columns throughout: pandas' Arrow-backed strings would run the regex expectations
    # on RE2 (no \\Z, no lookbehind) and the map expectations element by element through Arrow
    obj = {"dtype": object}
    zipped = list(
        zip(
            cols["task"],
            cols["level"],
            cols["domain"],
            cols["source"],
            cols["license"],
            strict=True,
        )
    )
    frame = pd.DataFrame(
        {
            "id": pd.Series(ids, **obj),
            **{k: pd.Series(v, **obj) for k, v in cols.items()},
            # nested columns as their size (null stays null): a frame of lists and dicts makes
            # Great Expectations fingerprint each batch by pickling it
            "messages": pd.Series([_size(v) for v in messages], **obj),
            "citations": pd.Series([_size(v) for v in citations], **obj),
            "quality": pd.Series([_size(v) for v in quality], **obj),
            "split": pd.Series([f.split] * n, **obj),
            "file": pd.Series([f.path.name] * n, **obj),
            "schema_mismatch": pd.Series([mismatch] * n, **obj),
            "id_count": [duplicated.get(i, 1) if i is not None else 1 for i in ids],
            "task_level": pd.Series([_pair(t, lv, spec.tasks) for t, lv, *_ in zipped], **obj),
            "level_domain": pd.Series([_pair(lv, d) for _, lv, d, *_ in zipped], **obj),
            "source_license": pd.Series(
                [_pair(s, lic, spec.sources) for *_, s, lic in zipped], **obj
            ),
            "role_seq": pd.Series(role_seq, **obj),
            "turn_seq": pd.Series(turn_seq, **obj),
            "min_content_chars": pd.Series(min_content, dtype=float),
            "user_chars": pd.Series(user_chars, dtype=float),
            "answer_chars": pd.Series(answer_chars, dtype=float),
            "answer": pd.Series(answers, **obj),
            "answer_tail": pd.Series(tails, **obj),
            "text": pd.Series(texts, **obj),
            "unverified_citations": unverified,
            "repealed_cited_as_current": flagged_as_current,
            "citations_not_in_index": not_in_index,
        },
        index=pd.RangeIndex(n),
    )
    tasks = frame["task"]
    extra: dict[str, pd.Series] = {}
    for column, wanted in spec.per_task.items():
        for task in wanted:
            values = frame[column]
            if pd.api.types.is_numeric_dtype(values):
                extra[f"{column}[{task}]"] = values.where(tasks == task)  # float, NaN elsewhere
            else:
                extra[f"{column}[{task}]"] = values.where(tasks == task, None)
    domains = frame["domain"]
    extra["answer_checked_cjk"] = frame["answer"].where(domains.isin(spec.cjk_domains), None)
    # only texts with a "<" or "&" can hold a tag or an entity: the others are left out of the
    # regex (null), which is most of them
    markup = frame["text"].map(lambda t: "<" in t or "&" in t).astype(bool)
    extra["text_checked_html"] = frame["text"].where(domains.isin(spec.html_domains) & markup, None)
    frame = pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)
    return QueryRows(frame=frame, users=users, texts=texts)


def statute_frame(f: DataFile, duplicated: Counter[str], sources: frozenset[str]) -> pd.DataFrame:
    """One statutes file as a frame (the index the stage-2 citations are checked against)."""
    table = pq.read_table(f.path)
    mismatch = schema_mismatch(table.schema, STATUTE_SCHEMA)
    cols = {
        name: _column(table, name, None)
        for name in ("id", "law", "version", "article", "sub", "text", "source", "license")
    }
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in cols.items()})
    n = len(frame)
    frame["split"] = pd.Series([f.split] * n, dtype=object)
    frame["file"] = pd.Series([f.path.name] * n, dtype=object)
    frame["schema_mismatch"] = pd.Series([mismatch] * n, dtype=object)
    frame["id_count"] = [duplicated.get(i, 1) if i is not None else 1 for i in cols["id"]]
    frame["text_chars"] = [len(t) if isinstance(t, str) else math.nan for t in cols["text"]]
    frame["source_license"] = pd.Series(
        [_pair(a, b, sources) for a, b in zip(cols["source"], cols["license"], strict=True)],
        dtype=object,
    )
    return frame


def statute_keys(release: Release) -> set[tuple[str, int, int]] | None:
    """(law, article, sub) of every article in the release's statute index (None: no index)."""
    files = release.files_of(STATUTE_CONFIG)
    if not files:
        return None
    keys: set[tuple[str, int, int]] = set()
    for f in files:
        t = pq.read_table(f.path, columns=["law", "article", "sub"])
        keys.update(
            zip(
                t.column("law").to_pylist(),
                t.column("article").to_pylist(),
                t.column("sub").to_pylist(),
                strict=True,
            )
        )
    return keys
