"""Benchmark decontamination: an index of evaluation items that training records are checked against.

Items: every LawBench item (``../shared/benchmarks/lawbench``: question and answer of each of the
20 tasks, plus the demonstration inside each one-shot instruction) and every record of the sources
the recipe holds out (``held_out: test`` or ``exclude``: LexEval, DISC-Law-Eval, JuDGE, ...).

The rule, tuned for Chinese: a record is contaminated by an item when it holds at least
``min_coverage`` (default half) of the item's distinct 20-character shingles. Thirteen characters,
the usual English-word rule scaled down, match exam boilerplate such as 下列哪一选项是正确的
everywhere; twenty rarely do. Before counting, two kinds of shingles are taken out of every item:

- statute text: every 20-character shingle of every article in the statute index. A benchmark
  question that quotes an article (LawBench 1-1 is nothing but articles; 3-2 quotes them) must not
  make a recitation query of that article "contaminated"; what is left of such an item is its own
  wording, and only that counts;
- boilerplate: shingles found in more than ``max_item_share`` items (instructions, answer frames).

Items left with fewer than ``min_shingles`` shingles cannot be checked by coverage and are
reported as such. A MinHash check (5-grams, 128 permutations, Jaccard >= ``paraphrase_jaccard``)
catches paraphrases that share few long shingles.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .dedup import (
    NearDedupConfig,
    band_keys,
    batch_shingles,
    batch_shingles_at,
    in_sorted,
    signatures,
    sorted_unique,
)
from .normalize import normalize_text, strings_of

if TYPE_CHECKING:
    from .recipe import Recipe

LAWBENCH = Path("benchmarks") / "lawbench"
_NOT_CONTENT = re.compile(r"[^0-9A-Za-z\u3400-\u9fff]+")


def canonical(text: str) -> str:
    """What contamination is judged on: NFKC-folded text with only Han characters, letters and
    digits kept. Option layout (``A:x;B:y`` or ``A. x\nB. y``), punctuation and spacing differ
    between a benchmark and the source it was taken from; the words do not."""
    return _NOT_CONTENT.sub("", normalize_text(text, True))


@dataclass
class EvalIndex:
    item_ids: list[str]
    item_total: np.ndarray  # int32: distinct kept shingles per item
    keys: np.ndarray  # uint64, sorted unique shingle hashes
    offsets: np.ndarray  # int64, CSR offsets into items for each key
    items: np.ndarray  # int32 item indices
    sig_keys: np.ndarray  # uint64 (n_items, bands) band keys of the items' signatures
    sigs: np.ndarray  # uint32 (n_items, num_perm)
    paraphrase_ok: np.ndarray  # bool: item long enough for the MinHash check
    shingle_chars: int = 20
    min_coverage: float = 0.5
    min_shingles: int = 5
    paraphrase_jaccard: float = 0.8
    stats: dict[str, Any] = field(default_factory=dict)
    _band_index: Any = None

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        meta = {
            "item_ids": self.item_ids,
            "shingle_chars": self.shingle_chars,
            "min_coverage": self.min_coverage,
            "min_shingles": self.min_shingles,
            "paraphrase_jaccard": self.paraphrase_jaccard,
            "stats": self.stats,
        }
        with open(path, "wb") as f:
            np.savez(
                f,
                meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8),
                item_total=self.item_total,
                keys=self.keys,
                offsets=self.offsets,
                items=self.items,
                sig_keys=self.sig_keys,
                sigs=self.sigs,
                paraphrase_ok=self.paraphrase_ok,
            )

    @staticmethod
    def load(path: Path) -> EvalIndex:
        z = np.load(path)
        meta = json.loads(z["meta"].tobytes().decode())
        return EvalIndex(
            item_ids=meta["item_ids"],
            item_total=z["item_total"],
            keys=z["keys"],
            offsets=z["offsets"],
            items=z["items"],
            sig_keys=z["sig_keys"],
            sigs=z["sigs"],
            paraphrase_ok=z["paraphrase_ok"],
            shingle_chars=meta["shingle_chars"],
            min_coverage=meta["min_coverage"],
            min_shingles=meta["min_shingles"],
            paraphrase_jaccard=meta["paraphrase_jaccard"],
            stats=meta["stats"],
        )

    # -- checking -----------------------------------------------------------------------------
    def hits(self, text: str, skip_prefixes: tuple[str, ...] = ()) -> list[tuple[str, float]]:
        """Items ``text`` is contaminated by: (item id, coverage or MinHash Jaccard)."""
        return self.hits_batch([text], skip_prefixes)[0]

    def hits_batch(
        self, texts: list[str], skip_prefixes: tuple[str, ...] = ()
    ) -> list[list[tuple[str, float]]]:
        out: list[dict[int, float]] = [{} for _ in texts]
        texts = [canonical(t) for t in texts]
        h, owners = batch_shingles(texts, self.shingle_chars)
        if len(h) and len(self.keys):
            pos = np.searchsorted(self.keys, h)
            pos = np.minimum(pos, len(self.keys) - 1)
            found = self.keys[pos] == h
            h, owners, pos = h[found], owners[found], pos[found]
        if len(h) and len(self.keys):
            # distinct (text, shingle) pairs
            order = np.lexsort((h, owners))
            h, owners, pos = h[order], owners[order], pos[order]
            first = np.concatenate(([True], (h[1:] != h[:-1]) | (owners[1:] != owners[:-1])))
            owners, pos = owners[first], pos[first]
            starts, stops = self.offsets[pos], self.offsets[pos + 1]
            counts = stops - starts
            rep_owner = np.repeat(owners, counts)
            idx = np.repeat(starts - np.cumsum(np.concatenate(([0], counts[:-1]))), counts)
            items = self.items[np.arange(len(idx)) + idx]
            pair = rep_owner.astype(np.int64) * len(self.item_ids) + items
            uniq, n = np.unique(pair, return_counts=True)
            t_of, item_of = np.divmod(uniq, len(self.item_ids))
            total = self.item_total[item_of]
            cov = n / np.maximum(total, 1)
            ok = (total >= self.min_shingles) & (cov >= self.min_coverage)
            for t, it, c in zip(t_of[ok], item_of[ok], cov[ok], strict=True):
                out[int(t)][int(it)] = round(float(c), 3)
        self._paraphrases(texts, out)
        return [
            sorted(
                (
                    (self.item_ids[i], c)
                    for i, c in hit.items()
                    if not self.item_ids[i].startswith(skip_prefixes)
                ),
                key=lambda x: (-x[1], x[0]),
            )
            for hit in out
        ]

    def _paraphrases(self, texts: list[str], out: list[dict[int, float]]) -> None:
        if not self.paraphrase_ok.any():
            return
        cfg = NearDedupConfig(threshold=self.paraphrase_jaccard)
        bands, rows = cfg.params()
        if self._band_index is None:
            # one sorted key array per band (with the item of each key): a batch of texts is
            # then looked up band by band in a few vectorized searches
            ok = np.flatnonzero(self.paraphrase_ok)
            keys = self.sig_keys[ok]
            index = []
            for b in range(keys.shape[1]):
                order = np.argsort(keys[:, b], kind="stable")
                index.append((keys[order, b], ok[order]))
            self._band_index = index
        sig = signatures(texts, cfg)
        keys = band_keys(sig, bands, rows)
        cands: list[set[int]] = [set() for _ in texts]
        for b, (bkey, bwho) in enumerate(self._band_index):
            lo = np.searchsorted(bkey, keys[:, b], side="left")
            hi = np.searchsorted(bkey, keys[:, b], side="right")
            for t in np.flatnonzero(hi > lo):
                cands[t].update(bwho[lo[t] : hi[t]].tolist())
        for t in range(len(texts)):
            for it in cands[t]:
                est = float((self.sigs[it] == sig[t]).mean())
                if est >= self.paraphrase_jaccard and est > out[t].get(it, 0):
                    out[t][it] = round(est, 3)


def lawbench_items(root: Path) -> list[tuple[str, str]]:
    """(item id, text) for every LawBench question, answer and one-shot demonstration."""
    items = []
    for task_file in sorted((root / "data" / "zero_shot").glob("*.json")):
        task = task_file.stem
        for k, it in enumerate(json.loads(task_file.read_text("utf-8"))):
            # Question and answer are separate items: an answer frame (正确答案：B。) must not
            # dilute a question's shingles, and a long answer (a consultation, a summary) is
            # evaluation material of its own.
            items.append((f"lawbench/{task}#{k}/q", it.get("question", "")))
            items.append((f"lawbench/{task}#{k}/a", it.get("answer", "")))
        one = root / "data" / "one_shot" / task_file.name
        if one.exists():
            demos = {it.get("instruction", "") for it in json.loads(one.read_text("utf-8"))}
            zero = {it.get("instruction", "") for it in json.loads(task_file.read_text("utf-8"))}
            for d, demo in enumerate(sorted(demos - zero)):
                items.append((f"lawbench/{task}#demo{d}", demo))
    return items


def held_out_items(recipe: Recipe, sources_root: Path) -> list[tuple[str, str]]:
    """(item id, normalized text) for every record of the sources the recipe holds out."""
    from .pipeline.base import Context
    from .sources import ADAPTERS
    from .sources.common import held_out_policy

    items = []
    ctx = Context(-1)
    for name, cfg in sorted(recipe.sources.items()):
        if cfg.held_out == "none":
            continue
        adapter = ADAPTERS[cfg.adapter]()
        root = sources_root / cfg.path
        plan = adapter.plan(name, cfg, root, None)
        simplified = cfg.script == "simplified"
        for unit in plan.units:
            for rec in adapter.read(name, cfg, root, unit, ctx):
                if rec.get("_held_out", held_out_policy(cfg, unit.get("key", ""))) == "none":
                    continue
                # One item per distinct text field value: the six questions CAIL2019 asks about
                # one judgment share the judgment, which is then one item, not six.
                for key in rec.get("_text_fields", ()):
                    for k, part in enumerate(strings_of(rec.get(key))):
                        text = normalize_text(part, simplified).strip()
                        if text:
                            items.append((f"heldout/{name}#{rec['source_id']}/{key}{k}", text))
    return items


def statute_shingles(recipe: Recipe, sources_root: Path, n: int) -> np.ndarray:
    """Distinct n-character shingles of every article of the recipe's statute sources."""
    from .sources import statute_articles

    parts: list[np.ndarray] = []
    batch: list[str] = []
    for rec, _ in statute_articles(recipe, sources_root):
        batch.append(canonical(rec["text"]))
        if len(batch) > 5000:
            parts.append(sorted_unique(batch_shingles(batch, n)[0]))
            batch = []
    if batch:
        parts.append(sorted_unique(batch_shingles(batch, n)[0]))
    return sorted_unique(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)


def build_eval_index(
    items: list[tuple[str, str]],
    statute: np.ndarray,
    shingle_chars: int = 20,
    min_coverage: float = 0.5,
    min_shingles: int = 5,
    min_shingles_held_out: int = 20,
    max_item_share: int = 20,
    paraphrase_jaccard: float = 0.8,
    paraphrase_min_chars: int = 50,
) -> EvalIndex:
    """The index of ``items`` with statute and boilerplate shingles taken out."""
    # One entry per distinct text: CAIL2019's 6 questions per document share the document.
    seen: dict[str, int] = {}
    ids, texts = [], []
    for item_id, raw in items:
        text = canonical(raw)
        if not text or text in seen:
            continue
        seen[text] = len(ids)
        ids.append(item_id)
        texts.append(text)
    hs, owners = [], []
    n_statute = 0
    windows = np.zeros(len(texts), dtype=np.int64)
    own_windows = np.zeros(len(texts), dtype=np.int64)
    for lo in range(0, len(texts), 2000):
        h, o, ends = batch_shingles_at(texts[lo : lo + 2000], shingle_chars)
        # Statute text inside an item: every window that touches a character covered by a
        # statute shingle goes, so what is left is the item's own wording only.
        quoted = in_sorted(h, statute)
        n_statute += int(quoted.sum())
        total_chars = int(ends.max()) + 2 if len(ends) else 1
        mark = np.zeros(total_chars + 1, dtype=np.int64)
        starts = ends - shingle_chars + 1
        np.add.at(mark, np.maximum(starts[quoted], 0), 1)
        np.add.at(mark, ends[quoted] + 1, -1)
        covered = np.cumsum(mark)[:-1] > 0
        cum = np.concatenate(([0], np.cumsum(covered)))
        touched = (cum[ends + 1] - cum[np.maximum(starts, 0)]) > 0
        hs.append(h[~touched])
        owners.append(o[~touched] + lo)
        windows[lo : lo + 2000] += np.bincount(o, minlength=min(2000, len(texts) - lo))
        own_windows[lo : lo + 2000] += np.bincount(
            o[~touched], minlength=min(2000, len(texts) - lo)
        )
    h = np.concatenate(hs) if hs else np.zeros(0, np.uint64)
    o = np.concatenate(owners) if owners else np.zeros(0, np.int64)
    order = np.lexsort((o, h))
    h, o = h[order], o[order]
    first = np.concatenate(([True], (h[1:] != h[:-1]) | (o[1:] != o[:-1])))
    h, o = h[first], o[first]
    n_before = len(h)
    in_statute = np.zeros(len(h), dtype=bool)
    # h is sorted: runs of equal values are the items holding one shingle
    new = np.concatenate(([True], h[1:] != h[:-1]))
    run = np.cumsum(new) - 1
    count = np.bincount(run)
    boiler = count[run] > max_item_share
    keep = ~(in_statute | boiler)
    h, o = h[keep], o[keep]
    new = np.concatenate(([True], h[1:] != h[:-1]))
    keys = h[new]
    count = np.bincount(np.cumsum(new) - 1) if len(h) else np.zeros(0, np.int64)
    offsets = np.concatenate(([0], np.cumsum(count))).astype(np.int64)
    total = np.bincount(o, minlength=len(ids)).astype(np.int32)
    # Held-out records and benchmark answers are often short sentences, labels or spans from
    # judgments (罪名:非法收购...植物制品; 有责任提供证据加以证明): a few shingles of legal formula
    # are found in many other texts, so they need more to count. Items too short to judge get a
    # total of 0 (never contaminating). Benchmark questions keep the lower bound.
    strict = np.array([i.startswith("heldout/") or i.endswith("/a") for i in ids])
    short_held = strict & (total < min_shingles_held_out)
    total[short_held] = 0
    cfg = NearDedupConfig(threshold=paraphrase_jaccard)
    bands, rows = cfg.params()
    lengths = np.array([len(t) for t in texts])
    # The MinHash check compares whole texts, so an item that is mostly statute text (a LawBench
    # 1-1 answer) would match the article's recitation: only items mostly in their own words.
    long_enough = (lengths >= paraphrase_min_chars) & (own_windows * 2 >= windows)
    sigs = np.full((len(texts), cfg.num_perm), np.uint32(0xFFFFFFFF), dtype=np.uint32)
    sigs[long_enough] = signatures([t for t, ok in zip(texts, long_enough, strict=True) if ok], cfg)
    stats = {
        "items": len(ids),
        "shingles": int(n_before),
        "statute_shingles_removed": n_statute,
        "boilerplate_shingles_removed": int(boiler.sum()),
        "items_too_short_for_coverage": int((total < min_shingles).sum()),
        "items_by_benchmark": _by_benchmark(ids),
        "unindexable_by_benchmark": _by_benchmark(
            [i for i, t in zip(ids, total, strict=True) if t < min_shingles]
        ),
    }
    return EvalIndex(
        item_ids=ids,
        item_total=total,
        keys=keys,
        offsets=offsets,
        items=o.astype(np.int32),
        sig_keys=band_keys(sigs, bands, rows),
        sigs=sigs,
        paraphrase_ok=long_enough,
        shingle_chars=shingle_chars,
        min_coverage=min_coverage,
        min_shingles=min_shingles,
        paraphrase_jaccard=paraphrase_jaccard,
        stats=stats,
    )


def benchmark_of(item_id: str) -> str:
    """``lawbench/1-2#17`` -> ``lawbench/1-2``; ``heldout/lexeval#x`` -> ``heldout/lexeval``."""
    return item_id.split("#", 1)[0]


def _by_benchmark(ids: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in ids:
        b = benchmark_of(i)
        out[b] = out.get(b, 0) + 1
    return dict(sorted(out.items()))
