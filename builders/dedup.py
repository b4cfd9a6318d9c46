"""Exact and near-duplicate detection over character n-grams, vectorized with numpy.

Shingles are hashed with a polynomial rolling hash over the text's code points (64-bit, wrapping
arithmetic), so a whole batch of texts is hashed in a few numpy passes. MinHash signatures use
datasketch's ``affine32`` scheme exactly: the same permutations (``datasketch.MinHash(num_perm,
seed).permutations``), the MurmurHash3 finalizer as pre-mix, ``a * h + b`` in uint32, and the bands
and rows of ``datasketch.lsh._optimal_param`` — a test checks our signatures equal datasketch's
``MinHash`` fed the same shingle hashes. What is ours is doing it for a batch at once: all shingles
of a batch times all permutations in one array, reduced per text with ``minimum.reduceat``.

LSH: each band of a signature is hashed to one 64-bit key; equal keys in a band are candidates
(sorting, not a Python dict), each candidate linked to the first member of its bucket. Candidates
are kept when the signatures agree on at least ``threshold - slack`` of their values, then
confirmed with the true Jaccard of the two texts' shingle sets (texts are read again for the
candidates only: the index holds signatures, never texts), and clustered by union-find.

Short texts: a text shorter than ``ngram`` characters is one shingle (the whole text); an empty
text has none and is never a duplicate of anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

_B = np.uint64(0x100000001B3)  # odd: invertible mod 2^64
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
_MAX32 = np.uint32(0xFFFFFFFF)


@dataclass(frozen=True)
class NearDedupConfig:
    ngram: int = 5
    num_perm: int = 128
    threshold: float = 0.8
    bands: int = 0  # 0: datasketch's optimal (bands, rows) for threshold and num_perm
    rows: int = 0
    seed: int = 1
    #: signature agreement below threshold - slack is not worth reading the texts for
    slack: float = 0.15
    #: texts longer than this are cut for dedup (a 1 MB record costs what 20,000 characters do)
    max_chars: int = 20_000

    def params(self) -> tuple[int, int]:
        if self.bands and self.rows:
            return self.bands, self.rows
        from datasketch.lsh import _optimal_param

        return _optimal_param(self.threshold, self.num_perm, 0.5, 0.5)


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> _S33)
    h = h * _M1
    h = h ^ (h >> _S33)
    h = h * _M2
    return h ^ (h >> _S33)


def _fmix32(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


@lru_cache(maxsize=8)
def _powers(n: int) -> np.ndarray:
    p = np.full(n, _B, dtype=np.uint64)
    p[0] = 1
    return np.cumprod(p, dtype=np.uint64)


@lru_cache(maxsize=8)
def _inv_powers(n: int) -> np.ndarray:
    inv = np.uint64(pow(int(_B), -1, 1 << 64))
    p = np.full(n, inv, dtype=np.uint64)
    p[0] = 1
    return np.cumprod(p, dtype=np.uint64)


def _codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def batch_shingles(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    h, owners, _ = batch_shingles_at(texts, n)
    return h, owners


def batch_shingles_at(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """64-bit hashes of every character n-gram of every text, the text index of each, and the
    position (in the concatenated texts) of its last character.

    Texts shorter than ``n`` give one shingle (the whole text); empty texts give none. The hash of
    a window depends only on its characters: P[e] - P[e-k] * B^k over the prefix hashes of the
    concatenated texts, with wrapping uint64 arithmetic.
    """
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    if not len(texts) or not lengths.sum():
        return np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    c = _codes("".join(texts))
    total = len(c)
    size = 1 << max(1, int(total).bit_length())
    prefix = _powers(size)[:total] * np.cumsum(c * _inv_powers(size)[:total], dtype=np.uint64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    k = np.minimum(lengths, n)  # a short text is one window of its own length
    owner = np.repeat(np.arange(len(texts)), lengths)
    end = np.arange(total)
    valid = end >= (starts + k - 1)[owner]
    ends, owners = end[valid], owner[valid]
    kk = k[owners]
    before = ends - kk
    base = np.where(before >= 0, prefix[np.maximum(before, 0)], np.uint64(0))
    window = prefix[ends] - base * _powers(size)[kk]
    return _fmix64(window ^ kk.astype(np.uint64)), owners, ends


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy's hash-based unique is many times slower on uint64)."""
    x = np.sort(x)
    if len(x) < 2:
        return x
    return x[np.concatenate(([True], x[1:] != x[:-1]))]


def in_sorted(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Boolean mask: which values of ``x`` are in the sorted array ``ref``."""
    if not len(ref):
        return np.zeros(len(x), dtype=bool)
    pos = np.minimum(np.searchsorted(ref, x), len(ref) - 1)
    return ref[pos] == x


def shingle_set(text: str, n: int, max_chars: int = 0) -> np.ndarray:
    """Distinct shingle hashes of one text (sorted)."""
    if max_chars:
        text = text[:max_chars]
    h, _ = batch_shingles([text], n)
    return sorted_unique(h)


@lru_cache(maxsize=4)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def signatures(
    texts: list[str], cfg: NearDedupConfig, max_batch_chars: int = 1_000_000
) -> np.ndarray:
    """MinHash signatures (uint32, one row per text; an empty text's row is all 0xFFFFFFFF).

    Texts are hashed in batches of about ``max_batch_chars`` characters (a few arrays of that
    many 64-bit values), so memory stays bounded whatever the input.
    """
    texts = [t[: cfg.max_chars] for t in texts]
    a, b = _permutations(cfg.num_perm, cfg.seed)
    sig = np.full((len(texts), cfg.num_perm), _MAX32, dtype=np.uint32)
    lo = 0
    while lo < len(texts):
        hi, chars = lo, 0
        while hi < len(texts) and (hi == lo or chars + len(texts[hi]) <= max_batch_chars):
            chars += len(texts[hi])
            hi += 1
        h64, owners = batch_shingles(texts[lo:hi], cfg.ngram)
        if len(h64):
            h = _fmix32((h64 >> np.uint64(32)).astype(np.uint32))
            cuts = np.flatnonzero(np.concatenate(([True], owners[1:] != owners[:-1])))
            rows = lo + owners[cuts]
            # One permutation at a time over a reused buffer: the working set stays in cache,
            # which is ~40x faster than one (shingles x permutations) array.
            tmp = np.empty(len(h), dtype=np.uint32)
            for k in range(cfg.num_perm):
                np.multiply(h, a[k], out=tmp)
                tmp += b[k]
                sig[rows, k] = np.minimum.reduceat(tmp, cuts)
        lo = hi
    return sig


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band of each signature (uint64, shape (n, bands))."""
    n = sig.shape[0]
    out = np.empty((n, bands), dtype=np.uint64)
    for i in range(bands):
        part = sig[:, i * rows : (i + 1) * rows].astype(np.uint64)
        key = np.full(n, np.uint64(i + 1), dtype=np.uint64)
        for j in range(part.shape[1]):
            key = _fmix64(key * _B + part[:, j])
        out[:, i] = key
    return out


def candidate_pairs(
    keys: np.ndarray, empty: np.ndarray | None = None, reach: int = 16
) -> np.ndarray:
    """Pairs (i, j), i < j, of rows that share a band key.

    Within a band, rows are sorted by key and every row is paired with the next ``reach - 1``
    rows of its bucket: all pairs of buckets up to ``reach`` rows, a band of links (so every
    member stays connected) in larger ones. ``empty`` marks rows that take part in no pair.
    """
    pairs = []
    rows = np.arange(keys.shape[0])
    if empty is not None:
        rows = rows[~empty]
    for band in range(keys.shape[1]):
        k = keys[rows, band]
        order = np.argsort(k, kind="stable")
        ks, rs = k[order], rows[order]
        for d in range(1, reach):
            if d >= len(ks):
                break
            same = ks[:-d] == ks[d:]
            if not same.any():
                break  # no bucket is longer than d
            pairs.append(np.stack([rs[:-d][same], rs[d:][same]], axis=1))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    p = np.sort(np.concatenate(pairs), axis=1)
    return np.unique(p, axis=0)


def estimated_jaccard(sig: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    if not len(pairs):
        return np.zeros(0)
    return (sig[pairs[:, 0]] == sig[pairs[:, 1]]).mean(axis=1)


def true_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if not len(a) and not len(b):
        return 0.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


class UnionFind:
    """Union-find over ints; the smallest member is each set's root."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[int]]:
        """Sets of two or more members, each sorted, in order of their smallest member."""
        out: dict[int, list[int]] = {}
        for x in list(self.parent):
            out.setdefault(self.find(x), []).append(x)
        return [sorted(v) for _, v in sorted(out.items()) if len(v) > 1]


def _sign_chunk(args: tuple[list[str], NearDedupConfig]) -> np.ndarray:
    texts, cfg = args
    return signatures(texts, cfg)


def _chunks(items: Iterable[tuple[str, str]], size: int) -> Iterator[tuple[list[str], list[str]]]:
    ids: list[str] = []
    texts: list[str] = []
    for i, t in items:
        ids.append(i)
        texts.append(t)
        if len(ids) >= size:
            yield ids, texts
            ids, texts = [], []
    if ids:
        yield ids, texts


def near_duplicate_pairs(
    sig: np.ndarray, cfg: NearDedupConfig, empty: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs whose signatures agree enough, with their estimated Jaccard."""
    bands, rows = cfg.params()
    keys = band_keys(sig, bands, rows)
    pairs = candidate_pairs(keys, empty)
    est = estimated_jaccard(sig, pairs)
    keep = est >= cfg.threshold - cfg.slack
    return pairs[keep], est[keep]


def near_duplicate_clusters(
    items: Callable[[], Iterable[tuple[str, str]]],
    cfg: NearDedupConfig | None = None,
    workers: int = 1,
    chunk: int = 20_000,
) -> list[list[str]]:
    """Clusters (lists of >= 2 ids) of near-duplicate texts.

    ``items`` returns a fresh iterator of (id, text) each call; it is read twice: once for the
    signatures, once for the texts of candidate pairs only.
    """
    cfg = cfg or NearDedupConfig()
    ids: list[str] = []
    sigs: list[np.ndarray] = []
    empties: list[np.ndarray] = []
    chunks = _chunks(items(), chunk)
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            batch: list[tuple[list[str], list[str]]] = []
            for part in chunks:
                batch.append(part)
                if len(batch) >= workers * 2:
                    _collect(pool, batch, cfg, ids, sigs, empties)
                    batch = []
            if batch:
                _collect(pool, batch, cfg, ids, sigs, empties)
    else:
        for part_ids, texts in chunks:
            ids += part_ids
            sigs.append(signatures(texts, cfg))
            empties.append(np.array([not t.strip() for t in texts], dtype=bool))
    if not ids:
        return []
    sig = np.concatenate(sigs)
    empty = np.concatenate(empties)
    pairs, _est = near_duplicate_pairs(sig, cfg, empty)
    confirmed = confirm_pairs(pairs, ids, items, cfg)
    uf = UnionFind()
    for i, j in confirmed:
        uf.union(int(i), int(j))
    return [[ids[k] for k in group] for group in uf.groups()]


def _collect(pool, batch, cfg, ids, sigs, empties) -> None:  # noqa: ANN001
    for (part_ids, texts), sig in zip(
        batch, pool.map(_sign_chunk, [(t, cfg) for _, t in batch]), strict=True
    ):
        ids += part_ids
        sigs.append(sig)
        empties.append(np.array([not t.strip() for t in texts], dtype=bool))


def confirm_pairs(
    pairs: np.ndarray,
    ids: list[str],
    items: Callable[[], Iterable[tuple[str, str]]],
    cfg: NearDedupConfig,
) -> list[tuple[int, int]]:
    """Keep the candidate pairs whose true shingle-set Jaccard reaches the threshold."""
    if not len(pairs):
        return []
    need = set(np.unique(pairs).tolist())
    index = {i: k for k, i in enumerate(ids)}
    sets: dict[int, np.ndarray] = {}
    for i, text in items():
        k = index.get(i)
        if k is not None and k in need and k not in sets:
            sets[k] = shingle_set(text, cfg.ngram, cfg.max_chars)
    return [
        (int(a), int(b))
        for a, b in pairs
        if true_jaccard(sets[int(a)], sets[int(b)]) >= cfg.threshold
    ]


def text_key(text: str) -> str:
    """Exact-duplicate key of a text: whitespace removed, then hashed."""
    return hashlib.blake2b("".join(text.split()).encode("utf-8"), digest_size=8).hexdigest()


def quoting_tasks() -> frozenset[str]:
    """Tasks whose answers quote statute text (``TaskGenerator.quotes_statute``)."""
    from . import steps as _steps  # noqa: F401  (registers every step)
    from .pipeline.base import STEPS

    return frozenset(n for n, cls in STEPS.items() if getattr(cls, "quotes_statute", False))


def check_leakage(
    release: Path,
    sample: int | None = None,
    cfg: NearDedupConfig | None = None,
    configs: tuple[str, ...] = ("stage1", "stage2"),
    near_min_chars: int = 100,
) -> dict[str, Any]:
    """Exact and near duplicates across the splits of every query config of a release.

    Exact: the same user turn (whitespace ignored) or the same conversation in two splits. Near:
    conversations whose 5-gram Jaccard reaches the dedup threshold, in two splits. With
    ``sample``, only that many rows of validation+test (deterministic) are checked against all of
    train. A build checks stage1 only: stage 2 rows are stage 1 rows with the same splits.

    Near duplicates are what the build's dedup removes: conversations of at least
    ``near_min_chars`` characters, not both quoting statute text of different groups (two
    provisions that read alike, or two scenarios answered with one article, are distinct). A
    group found in two splits is a leak of its own (``groups_across_splits``).
    """
    quoting = quoting_tasks()
    import pyarrow.parquet as pq

    cfg = cfg or NearDedupConfig()
    report: dict[str, Any] = {
        "passed": True,
        "rows_checked": 0,
        "cross_split_exact": 0,
        "cross_split_near": 0,
        "groups_across_splits": 0,
        "examples": [],
    }
    for config in configs:
        folder = release / "data" / config
        if not folder.is_dir():
            continue
        ids: list[str] = []
        splits: list[str] = []
        texts: list[str] = []
        users: list[str] = []
        groups: list[str] = []
        quoted: list[bool] = []
        for f in sorted(folder.glob("*.parquet")):
            split = f.name.split("-")[0]
            table = pq.read_table(f, columns=["id", "messages", "group", "task"])
            for row_id, msgs, group, task in zip(
                table.column("id").to_pylist(),
                table.column("messages").to_pylist(),
                table.column("group").to_pylist(),
                table.column("task").to_pylist(),
                strict=True,
            ):
                ids.append(row_id)
                splits.append(split)
                groups.append(group)
                quoted.append(task in quoting)
                users.append("\n".join(m["content"] for m in msgs if m["role"] == "user"))
                texts.append("\n".join(m["content"] for m in msgs))
        if sample is not None:
            keep = _sample_rows(ids, splits, sample)
            ids = [ids[i] for i in keep]
            splits = [splits[i] for i in keep]
            groups = [groups[i] for i in keep]
            quoted = [quoted[i] for i in keep]
            texts = [texts[i] for i in keep]
            users = [users[i] for i in keep]
        report["rows_checked"] += len(ids)
        group_split: dict[str, str] = {}
        straddling: set[str] = set()
        for g, sp in zip(groups, splits, strict=True):
            if group_split.setdefault(g, sp) != sp:
                straddling.add(g)
        report["groups_across_splits"] += len(straddling)
        first: dict[str, int] = {}
        for k, (u, t) in enumerate(zip(users, texts, strict=True)):
            for key in {"u:" + text_key(u), "c:" + text_key(t)}:
                j = first.setdefault(key, k)
                if j != k and splits[j] != splits[k]:
                    report["cross_split_exact"] += 1
                    _example(report, config, ids, splits, j, k, "exact", 1.0)
                    break
        sig = signatures(texts, cfg)
        empty = np.array(
            [len(t) < max(1, near_min_chars) or not t.strip() for t in texts], dtype=bool
        )
        pairs, _ = near_duplicate_pairs(sig, cfg, empty)
        split_arr = np.array(splits)
        cross = pairs[split_arr[pairs[:, 0]] != split_arr[pairs[:, 1]]] if len(pairs) else pairs
        for a, b in cross:
            if groups[a] != groups[b] and quoted[a] and quoted[b]:
                continue  # two provisions that read alike (a group in two splits is a leak)
            jac = true_jaccard(
                shingle_set(texts[a], cfg.ngram, cfg.max_chars),
                shingle_set(texts[b], cfg.ngram, cfg.max_chars),
            )
            if jac >= cfg.threshold:
                report["cross_split_near"] += 1
                _example(report, config, ids, splits, int(a), int(b), "near", round(jac, 3))
    report["passed"] = (
        report["cross_split_exact"] == 0
        and report["cross_split_near"] == 0
        and report["groups_across_splits"] == 0
    )
    return report


def _sample_rows(ids: list[str], splits: list[str], n: int) -> list[int]:
    from .schema import stable_hash

    train = [i for i, s in enumerate(splits) if s == "train"]
    other = sorted(
        (i for i, s in enumerate(splits) if s != "train"), key=lambda i: stable_hash(ids[i])
    )[:n]
    return sorted(train + other)


def _example(report, config, ids, splits, a, b, kind, jac) -> None:  # noqa: ANN001
    if len(report["examples"]) < 20:
        report["examples"].append(
            {
                "config": config,
                "a": ids[a],
                "a_split": splits[a],
                "b": ids[b],
                "b_split": splits[b],
                "kind": kind,
                "jaccard": jac,
            }
        )
