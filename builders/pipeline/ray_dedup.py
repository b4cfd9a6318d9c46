"""The dedup phase on Ray: the same drops as :func:`.dedup_phase.find_duplicates`, computed with
Ray tasks so that no single process reads every signature or hashes every text.

Stages (each a set of Ray tasks unless marked *driver*):

1. **Read** every shard's features file in parallel: the small columns come back to the driver,
   the MinHash signatures stay in the object store (512 bytes a row at 128 permutations).
2. *Driver*: the local phase's bookkeeping, unchanged: one row per id (its first occurrence, in
   shard order), the keep rank (held-out first, quality, source priority, id), the exact
   user-turn drops, and which rows take part in near dedup (not dropped, not short, not empty).
3. **Map**: per features file, the band keys of its rows, hash-partitioned by key into
   ``partitions`` parts (``num_returns``): the shuffle.
4. **Reduce**: per partition, rows sorted by (band, key, row); each row paired with the next
   ``reach - 1`` rows of its bucket — exactly the local ``candidate_pairs`` (whose stable sort
   orders a bucket by row too) — then kept when the signatures agree on at least
   ``threshold - slack`` of their values (``estimated_jaccard``), the signatures of the pair's
   rows gathered from the object store.
5. **Shingles**: per stage-1 run file, the shingle sets of the rows in candidate pairs.
6. *Driver*: the candidate pairs, sorted and unique as the local code has them, confirmed by
   true Jaccard (same group and two statute-quoting rows skipped, as locally), union-find for the
   connected components, and the keep rule. Union-find runs on the driver over confirmed pairs
   only: a few ints per pair, small next to the signatures and texts the tasks handle.

The order of pairs, the rank and the union-find are those of the local function, so the drops
(kept id and Jaccard included) are equal; ``tests/test_ray.py`` checks it on real features.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..dedup import band_keys, shingle_set
from .dedup_phase import confirm_and_cluster, near_config, rank_and_exact_drops

if TYPE_CHECKING:
    from ..dedup import NearDedupConfig
    from ..recipe import Recipe

#: bucket members each row is linked to (``dedup.candidate_pairs``' default ``reach``)
REACH = 16
META = ["id", "held", "source", "group", "statute", "chars", "score", "user_key"]


def _read_features(path: str, num_perm: int) -> tuple[pa.Table, np.ndarray]:
    """Task: one features file -> (small columns, signatures as an (n, num_perm) uint32 array)."""
    t = pq.read_table(path)
    sig = np.frombuffer(b"".join(t.column("sig").to_pylist()), dtype=np.uint32)
    return t.select(META), sig.reshape(t.num_rows, num_perm)


def _band_map(
    sig: np.ndarray, local: np.ndarray, rows: np.ndarray, bands: int, per_band: int, parts: int
) -> list[np.ndarray]:
    """Task: (band, key, row) triples of the rows ``local`` of one file (global numbers ``rows``),
    split into ``parts`` by key hash. Each part is a (k, 3) uint64 array."""
    if not len(local):
        return [np.zeros((0, 3), dtype=np.uint64) for _ in range(parts)]
    keys = band_keys(sig[local], bands, per_band)  # (n, bands)
    n = len(local)
    band = np.tile(np.arange(bands, dtype=np.uint64), n)
    key = keys.reshape(-1)
    row = np.repeat(rows.astype(np.uint64), bands)
    triples = np.stack([band, key, row], axis=1)
    part = key % np.uint64(parts)
    return [triples[part == np.uint64(p)] for p in range(parts)]


def _band_reduce(
    file_of: np.ndarray,
    local_of: np.ndarray,
    min_agree: float,
    n_files: int,
    *parts_and_sigs: np.ndarray,
) -> np.ndarray:
    """Task: candidate pairs (i < j) of one partition whose signatures agree enough."""
    parts, sigs = parts_and_sigs[:-n_files], parts_and_sigs[-n_files:]
    t = np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.uint64)
    if len(t) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    t = t[np.lexsort((t[:, 2], t[:, 1], t[:, 0]))]
    band, key, row = t[:, 0], t[:, 1], t[:, 2].astype(np.int64)
    found = []
    for d in range(1, REACH):
        if d >= len(t):
            break
        same = (band[:-d] == band[d:]) & (key[:-d] == key[d:])
        if not same.any():
            break  # no bucket is longer than d
        found.append(np.stack([row[:-d][same], row[d:][same]], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.unique(np.sort(np.concatenate(found), axis=1), axis=0)
    # The signatures of the rows involved, gathered file by file from the object store.
    need = np.unique(pairs)
    sub = np.empty((len(need), sigs[0].shape[1] if sigs else 0), dtype=np.uint32)
    for f in np.unique(file_of[need]):
        mask = file_of[need] == f
        sub[mask] = sigs[int(f)][local_of[need[mask]]]
    ia, ib = np.searchsorted(need, pairs[:, 0]), np.searchsorted(need, pairs[:, 1])
    est = (sub[ia] == sub[ib]).mean(axis=1)
    return pairs[est >= min_agree]


def _shingles(
    path: str, need: set[str], cfg: NearDedupConfig
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Task: shingle sets of the rows of one run file whose id is in ``need`` (first occurrence
    in the file), as (ids, concatenated sets, offsets)."""
    ids: list[str] = []
    sets: list[np.ndarray] = []
    seen: set[str] = set()
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=5000, columns=["id", "messages"]):
        for row_id, msgs in zip(
            batch.column(0).to_pylist(), batch.column(1).to_pylist(), strict=True
        ):
            if row_id in need and row_id not in seen:
                seen.add(row_id)
                ids.append(row_id)
                text = "\n".join(m["content"] for m in msgs)
                sets.append(shingle_set(text, cfg.ngram, cfg.max_chars))
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    if sets:
        offsets[1:] = np.cumsum([len(s) for s in sets])
    flat = np.concatenate(sets) if sets else np.zeros(0, dtype=np.uint64)
    return ids, flat, offsets


def find_duplicates_ray(
    feature_files: list[Path], run_files: list[Path], recipe: Recipe, parallelism: int = 2
) -> dict[str, dict[str, Any]]:
    """id -> {"reason", "kept", "jaccard"} for every query that a duplicate replaces; equal to
    :func:`.dedup_phase.find_duplicates` on the same files. Needs an initialized Ray."""
    from .ray_executor import import_ray

    ray = import_ray()
    cfg = near_config(recipe)
    files = [str(p) for p in feature_files if p.exists()]
    if not files:
        return {}
    read = ray.remote(num_cpus=1, num_returns=2)(_read_features)
    refs = [read.remote(f, cfg.num_perm) for f in files]
    metas = ray.get([m for m, _ in refs])
    sig_refs = [s for _, s in refs]
    sizes = np.array([m.num_rows for m in metas], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    t = pa.concat_tables(metas)
    del metas

    # --- driver: the local phase's bookkeeping, the same function -------------------------
    t, keep_rows, ids, rank, drops = rank_and_exact_drops(t, recipe)

    if not recipe.dedup.near:
        return drops

    # Where each kept row lives: (features file, row in that file).
    file_of = (np.searchsorted(starts, keep_rows, side="right") - 1).astype(np.int64)
    local_of = keep_rows - starts[file_of]
    gone = np.array([i in drops for i in ids], dtype=bool)
    chars = np.array(t.column("chars").to_pylist(), dtype=np.int64)
    short = chars < recipe.dedup.near_min_chars
    allff = ray.remote(num_cpus=0)(_all_ff)
    empty_parts = ray.get(
        [allff.remote(sig_refs[f], local_of[file_of == f]) for f in range(len(files))]
    )
    empty = gone | short
    for f, e in enumerate(empty_parts):
        empty[file_of == f] |= e
    statute = np.array(t.column("statute").to_pylist(), dtype=bool)

    # --- shuffle: band keys hash-partitioned, candidate pairs per partition -----------------
    bands, per_band = cfg.params()
    parts = max(2, 2 * parallelism)  # num_returns=1 would hand back the list itself
    band_map = ray.remote(num_cpus=1, num_returns=parts)(_band_map)
    mapped = []
    for f in range(len(files)):
        mine = np.flatnonzero((file_of == f) & ~empty)
        out = band_map.remote(sig_refs[f], local_of[mine], mine, bands, per_band, parts)
        mapped.append(out)
    file_ref, local_ref = ray.put(file_of), ray.put(local_of)
    reduce = ray.remote(num_cpus=1)(_band_reduce)
    min_agree = cfg.threshold - cfg.slack
    reduced = [
        reduce.remote(
            file_ref,
            local_ref,
            min_agree,
            len(files),
            *[m[p] for m in mapped],
            *sig_refs,
        )
        for p in range(parts)
    ]
    found = [p for p in ray.get(reduced) if len(p)]
    del mapped, reduced, sig_refs, refs
    if not found:
        return drops
    pairs = np.unique(np.concatenate(found), axis=0)  # the local order: sorted, unique

    # --- confirmation: true Jaccard of the texts (read again, for candidates only) ----------
    need = {ids[int(k)] for k in np.unique(pairs)}
    need_ref = ray.put(need)
    shingles = ray.remote(num_cpus=1)(_shingles)
    sets: dict[str, np.ndarray] = {}
    for got_ids, flat, offsets in ray.get(
        [shingles.remote(str(p), need_ref, cfg) for p in run_files]
    ):
        for k, row_id in enumerate(got_ids):
            if row_id not in sets:  # the first run file that holds it, as locally
                sets[row_id] = flat[offsets[k] : offsets[k + 1]]
    groups = t.column("group").to_pylist()
    confirm_and_cluster(pairs, ids, groups, statute, sets, rank, cfg, drops)
    return drops


def _all_ff(sig: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Task: which of the rows ``local`` have an empty signature (every value 0xFFFFFFFF)."""
    return (sig[local] == np.uint32(0xFFFFFFFF)).all(axis=1)
