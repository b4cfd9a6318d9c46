"""Release-level metrics computed in lawset and asserted with expectations.

A :class:`Collector` sees every validated row of a query config once (file by file) and keeps
only what the release-level checks need, bounded in memory whatever the release size:

- counts per split of tasks, levels and domains (the mix), over every row of the release even
  with ``--sample``;
- the ``distinct_sample`` rows with the smallest ``stable_hash(id)`` per split, for distinct-2:
  a fixed-size sample makes the value independent of the release size (distinct n-gram ratios of
  a whole corpus fall as it grows);
- two 64-bit keys per row (the user turns and the whole conversation, whitespace removed) for
  exact duplicates across splits, as numpy arrays;
- per split, the ``near_sample`` smallest-hash conversations for the near-duplicate
  recomputation, and the ``contamination`` sample of train and validation conversations.

Metrics:

- task entropy: Shannon entropy (bits) of the task distribution, ``-sum p log2 p``;
- distinct-2: distinct character bigrams / all character bigrams over the sampled user turns
  (Li et al. 2016, on characters: Chinese has no spaces, and a tokenizer would make the value
  depend on its dictionary).
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
from lawset.builders.schema import stable_hash

SPLIT_CODE = {"train": 0, "validation": 1, "test": 2}
_EVEN = (1 << 64) - 2


def task_entropy(counts: Counter[str]) -> float:
    total = sum(counts.values())
    if not total:
        return 0.0
    return -sum(n / total * math.log2(n / total) for n in counts.values() if n)


def distinct_n(texts: list[str], n: int = 2) -> float:
    """Distinct character n-grams / all character n-grams (whitespace removed)."""
    seen: set[str] = set()
    total = 0
    for t in texts:
        t = "".join(t.split())
        grams = [t[i : i + n] for i in range(len(t) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def text_key(text: str) -> int:
    """64-bit key of a text with whitespace removed (``lawset.builders.dedup.text_key``'s rule);
    a digest, not ``hash()``, so keys made in different worker processes compare."""
    digest = hashlib.blake2b("".join(text.split()).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class _Smallest:
    """The ``k`` items with the smallest keys seen so far (deterministic, order-independent)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.heap: list[tuple[int, str, str]] = []  # (-key, id, payload)

    def add(self, key: int, row_id: str, payload: str) -> None:
        if self.k <= 0:
            return
        item = (-key, row_id, payload)
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, item)
        elif item > self.heap[0]:
            heapq.heapreplace(self.heap, item)

    def items(self) -> list[tuple[str, str]]:
        return [(i, p) for _, i, p in sorted(self.heap, reverse=True)]


@dataclass
class Collector:
    config: str
    distinct_sample: int
    near_sample: int
    contamination_sample: int
    rows: Counter[str] = field(default_factory=Counter)
    tasks: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    levels: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    domains: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    _users: dict[str, _Smallest] = field(default_factory=dict)
    _near: dict[str, _Smallest] = field(default_factory=dict)
    _contam: dict[str, _Smallest] = field(default_factory=dict)
    _keys: list[np.ndarray] = field(default_factory=list)
    _key_split: list[np.ndarray] = field(default_factory=list)
    _key_ids: list[str] = field(default_factory=list)

    def add(
        self, split: str, frame_rows: dict[str, list], users: list[str], texts: list[str]
    ) -> None:
        """One file's validated rows: ``frame_rows`` holds the id, task, level, domain lists."""
        ids = [str(i) for i in frame_rows["id"]]
        hashes = [stable_hash(rid) for rid in ids]
        # only a file's own k smallest hashes can be among the release's k smallest
        order = sorted(range(len(ids)), key=hashes.__getitem__)
        for heaps, k, payloads in (
            (self._users, self.distinct_sample, users),
            (
                self._near,
                self.near_sample,
                [f"{t}\x1f{x}" for t, x in zip(frame_rows["task"], texts, strict=True)],
            ),
            (self._contam, self.contamination_sample, texts),
        ):
            heap = heaps.setdefault(split, _Smallest(k))
            for j in order[:k]:
                heap.add(hashes[j], ids[j], payloads[j])
        keys = np.empty(2 * len(ids), dtype=np.uint64)
        for k, (h, user, text) in enumerate(zip(hashes, users, texts, strict=True)):
            # odd keys for user turns, even keys for conversations: the two never collide
            # (an empty text is keyed by its id: empty texts are not duplicates of each other)
            keys[2 * k] = (text_key(user) if user.strip() else h) | 1
            keys[2 * k + 1] = (text_key(text) if text.strip() else h) & _EVEN
        self._key_ids += ids
        self._keys.append(keys)
        self._key_split.append(np.full(len(keys), SPLIT_CODE.get(split, 3), dtype=np.uint8))

    def count_mix(self, split: str, tasks: list, levels: list, domains: list) -> None:
        """Count one file's mix. Called with every row of the release (three short columns,
        read cheaply), not the ``--sample``d rows: a sample of a few hundred rows would miss
        small tasks and make the shares noisy."""
        self.rows[split] += len(tasks)
        self.tasks[split].update(map(str, tasks))
        self.levels[split].update(map(str, levels))
        self.domains[split].update(map(str, domains))

    def merge(self, other: Collector) -> None:
        """Take in the samples and keys another collector (another file or process) kept."""
        for mine, theirs, k in (
            (self._users, other._users, self.distinct_sample),
            (self._near, other._near, self.near_sample),
            (self._contam, other._contam, self.contamination_sample),
        ):
            for split, part in theirs.items():
                target = mine.setdefault(split, _Smallest(k))
                for key, row_id, payload in part.heap:
                    target.add(-key, row_id, payload)
        self._key_ids += other._key_ids  # aligned with the keys: two keys per id, in order
        self._keys += other._keys
        self._key_split += other._key_split

    # -- metrics --------------------------------------------------------------------------------
    def share(self, split: str, kind: str, value: str) -> float:
        counts = {"task": self.tasks, "level": self.levels, "domain": self.domains}[kind][split]
        total = sum(counts.values())
        return counts.get(value, 0) / total if total else 0.0

    def entropy(self, split: str) -> float:
        return round(task_entropy(self.tasks[split]), 4)

    def distinct_2(self, split: str) -> float:
        sample = self._users.get(split)
        return round(distinct_n([u for _, u in sample.items()], 2), 4) if sample else 0.0

    def cross_split_exact(self) -> list[tuple[str, str]]:
        """Pairs of ids (first seen, later) whose user turns or conversations are equal across
        splits (whitespace ignored)."""
        if not self._keys:
            return []
        keys = np.concatenate(self._keys)
        splits = np.concatenate(self._key_split)
        order = np.argsort(keys, kind="stable")
        ks, ss = keys[order], splits[order]
        same = np.flatnonzero((ks[1:] == ks[:-1]) & (ss[1:] != ss[:-1]))
        out = []
        seen: set[tuple[str, str]] = set()
        for j in same:
            a = self._key_ids[order[j] // 2]
            b = self._key_ids[order[j + 1] // 2]
            if (a, b) not in seen:
                seen.add((a, b))
                out.append((a, b))
        return out

    def near_items(self) -> list[tuple[str, str, str, str]]:
        """(id, split, task, conversation) of the near-duplicate sample."""
        return [
            (i, s, *t.split("\x1f", 1)) for s, k in sorted(self._near.items()) for i, t in k.items()
        ]

    def contamination_items(self) -> list[tuple[str, str, str]]:
        return [(i, s, t) for s, k in sorted(self._contam.items()) for i, t in k.items()]
