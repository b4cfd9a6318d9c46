"""Global dedup: exact (user turn) and near (MinHash LSH) duplicates across every shard and source.

Shards write, beside their runs, one features file per shard: id, split, held-out flag, source,
quality score, the user turn's exact key and the conversation's MinHash signature (512 bytes at
128 permutations) — never the text. This phase reads the features of all shards, finds the
duplicates and decides which member of each cluster stays; the release writer then skips the
others and keeps them in ``reports/rejects/dedup.jsonl`` with the id that was kept.

Near duplicates within one group are not duplicates: the six questions CAIL2019 asks about one
judgment, the 48 LeDQA asks about one case or the five tasks made from one article share most of
their text and differ in what they ask. Such a group always stays in one split, so keeping them
leaks nothing; copies across groups (one exam question in two sources) are what near dedup removes.

Which member stays (the recipe's ``dedup`` rule, stated in the card): held-out evaluation material
first (so an evaluation item is never dropped in favour of a train copy), then the higher quality
score (CJK ratio of the answer), then the source listed earlier in ``dedup.source_priority`` (by
default the recipe's source order), then the smaller id.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..dedup import (
    NearDedupConfig,
    UnionFind,
    near_duplicate_pairs,
    shingle_set,
    signatures,
    text_key,
    true_jaccard,
)

if TYPE_CHECKING:
    from ..recipe import Recipe
    from .base import Record

FEATURES = "dedup_features.parquet"


def near_config(recipe: Recipe) -> NearDedupConfig:
    d = recipe.dedup
    return NearDedupConfig(ngram=d.ngram, num_perm=d.num_perm, threshold=d.threshold, seed=d.seed)


def conversation_text(record: Record) -> str:
    return "\n".join(m["content"] for m in record["messages"])


def user_text(record: Record) -> str:
    return "\n".join(m["content"] for m in record["messages"] if m["role"] == "user")


class FeatureWriter:
    """Per-shard dedup features, written batch by batch."""

    def __init__(self, path: Path, recipe: Recipe) -> None:
        self.path, self.recipe = path, recipe
        self.cfg = near_config(recipe)
        self.schema = pa.schema(
            [
                ("id", pa.string()),
                ("split", pa.string()),
                ("held", pa.bool_()),
                ("source", pa.string()),
                ("group", pa.string()),
                ("statute", pa.bool_()),
                ("chars", pa.int32()),
                ("score", pa.float32()),
                ("user_key", pa.string()),
                ("sig", pa.binary(4 * self.cfg.num_perm)),
            ]
        )
        self.writer: pq.ParquetWriter | None = None
        self.rows: list[Record] = []

    def add(self, record: Record, split: str) -> None:
        self.rows.append(
            {
                "id": record["id"],
                "split": split,
                "held": record.get("_held_out") == "test",
                "source": record["source"],
                "group": record["group"],
                "statute": bool(record.get("_quoted_statute")),
                "chars": len(conversation_text(record)),
                "score": float((record.get("quality") or {}).get("cjk_ratio") or 0.0),
                "user_key": text_key(user_text(record)),
                "_text": conversation_text(record),
            }
        )
        if len(self.rows) >= 2000:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if not self.recipe.dedup.near:
            sigs = np.zeros((len(self.rows), self.cfg.num_perm), dtype=np.uint32)
        else:
            sigs = signatures([r.pop("_text") for r in self.rows], self.cfg)
        for r, s in zip(self.rows, sigs, strict=True):
            r.pop("_text", None)
            r["sig"] = s.tobytes()
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self.writer.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
        self.rows = []

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()


def find_duplicates(
    feature_files: list[Path], run_files: list[Path], recipe: Recipe
) -> dict[str, dict[str, Any]]:
    """id -> {"reason", "kept", "jaccard"} for every query that a duplicate replaces."""
    cfg = near_config(recipe)
    tables = [pq.read_table(p) for p in feature_files if p.exists()]
    if not tables:
        return {}
    t, _, ids, rank, drops = rank_and_exact_drops(pa.concat_tables(tables), recipe)

    if recipe.dedup.near:
        sig = np.frombuffer(b"".join(t.column("sig").to_pylist()), dtype=np.uint32).reshape(
            len(ids), cfg.num_perm
        )
        gone = np.array([i in drops for i in ids], dtype=bool)
        chars = np.array(t.column("chars").to_pylist(), dtype=np.int64)
        # Short conversations (a chapter question: 第十条 vs 第十一条) differ in a few characters
        # that carry the whole meaning: they take part in exact dedup only.
        short = chars < recipe.dedup.near_min_chars
        empty = gone | short | (sig == np.uint32(0xFFFFFFFF)).all(axis=1)
        statute = np.array(t.column("statute").to_pylist(), dtype=bool)
        pairs, _ = near_duplicate_pairs(sig, cfg, empty)
        if len(pairs):
            need = {ids[int(k)] for k in np.unique(pairs)}
            sets = _shingle_sets(run_files, need, cfg)
            groups = t.column("group").to_pylist()
            confirm_and_cluster(pairs, ids, groups, statute, sets, rank, cfg, drops)
    return drops


def rank_and_exact_drops(
    t: pa.Table, recipe: Recipe
) -> tuple[pa.Table, np.ndarray, list[str], np.ndarray, dict[str, dict[str, Any]]]:
    """The feature rows, one per id (stage 1 can hold an id twice before the release's exact-id
    drop), with the rows kept, their ids, their rank (smaller is better: held-out, quality,
    source priority, id) and the exact duplicates of the user turn. Shared by the local executor
    and the Ray one."""
    ids_all = t.column("id").to_pylist()
    first: dict[str, int] = {}
    for k, i in enumerate(ids_all):
        first.setdefault(i, k)
    keep_rows = np.array(sorted(first.values()), dtype=np.int64)
    t = t.take(pa.array(keep_rows))
    ids = t.column("id").to_pylist()
    held = np.array(t.column("held").to_pylist(), dtype=bool)
    score = np.round(np.array(t.column("score").to_pylist(), dtype=np.float64), 2)
    priority = {s: k for k, s in enumerate(recipe.dedup.source_priority or list(recipe.sources))}
    prio = np.array([priority.get(s, len(priority)) for s in t.column("source").to_pylist()])
    order_key = sorted(range(len(ids)), key=lambda k: (not held[k], -score[k], prio[k], ids[k]))
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.array(order_key, dtype=np.int64)] = np.arange(len(ids))
    drops: dict[str, dict[str, Any]] = {}
    if recipe.dedup.exact_user_turn:
        keys = t.column("user_key").to_pylist()
        best: dict[str, int] = {}
        for k in order_key:  # best first: the first of each key stays
            j = best.setdefault(keys[k], k)
            if j != k:
                drops[ids[k]] = {"reason": "duplicate_user_turn", "kept": ids[j], "jaccard": 1.0}
    return t, keep_rows, ids, rank, drops


def confirm_and_cluster(
    pairs: np.ndarray,
    ids: list[str],
    groups: list[str],
    statute: np.ndarray,
    sets: dict[str, np.ndarray],
    rank: np.ndarray,
    cfg: NearDedupConfig,
    drops: dict[str, dict[str, Any]],
) -> None:
    """Confirm candidate pairs by the true Jaccard of their shingle sets, cluster the confirmed
    ones (connected components) and add every member but the best-ranked to ``drops``. Shared by
    the local executor and the Ray one, so both keep exactly the same rows."""
    uf = UnionFind()
    jac: dict[tuple[int, int], float] = {}
    for a, b in pairs:
        a, b = int(a), int(b)
        if groups[a] == groups[b]:
            continue  # different questions about one thing (one judgment, one article)
        if statute[a] and statute[b]:
            continue  # two provisions that read alike are still two provisions
        sa, sb = sets.get(ids[a]), sets.get(ids[b])
        if sa is None or sb is None:
            continue
        j = true_jaccard(sa, sb)
        if j >= cfg.threshold:
            uf.union(a, b)
            jac[(a, b)] = j
    for group in uf.groups():
        winner = min(group, key=lambda k: rank[k])
        for k in group:
            if k != winner:
                j = jac.get((min(k, winner), max(k, winner)))
                drops[ids[k]] = {
                    "reason": "near_duplicate",
                    "kept": ids[winner],
                    "jaccard": round(j, 3) if j is not None else None,
                }


def _shingle_sets(run_files: list[Path], need: set[str], cfg: NearDedupConfig) -> dict:
    """Shingle sets of the conversations with the ``need`` ids, streamed from the runs."""
    out: dict[str, np.ndarray] = {}
    for path in run_files:
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=5000, columns=["id", "messages"]):
            for row_id, msgs in zip(
                batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True
            ):
                if row_id in need and row_id not in out:
                    text = "\n".join(m["content"] for m in msgs)
                    out[row_id] = shingle_set(text, cfg.ngram, cfg.max_chars)
    return out
