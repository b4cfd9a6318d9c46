"""Benchmark: near dedup of 1M queries, lawset against datatrove's MinHash dedup, in one run.

Input, made from real data and deterministic (``--seed``):

- every stage-1 query of a lawset build (user and assistant turns joined by a newline; about
  360k rows), read from ``--stage1`` (a release folder) or from a build this script runs itself;
- filled up to ``--total`` documents (1M) with perturbed copies of those queries, each recorded as a
  planted pair (copy, original). Perturbations: character edits (substitute / insert / delete
  0.3-2% of the characters), sentence reordering, punctuation changes, all three combined, and a
  "heavy" share with 4-12% edits that mostly falls below the threshold (near-miss negatives).

The ground truth is the true Jaccard of the two texts' character 5-gram sets (the text exactly as
written, a text shorter than 5 characters being one shingle). Recall is measured on the planted
pairs whose true Jaccard reaches the threshold: the share of them whose two documents a tool puts in
one cluster. Real data has near duplicates of its own, so precision is not "planted or not":
precision is the share of the documents a tool flags (puts in a cluster of two or more) that have a
true near duplicate (Jaccard >= threshold) among the other members of their cluster, checked on a
seeded sample of flagged documents (their planted relatives in the cluster first, then up to 40
other members).

Tools, each run in its own process on the same JSONL shards; wall time and peak memory (the largest
sum of RSS over the process tree, polled every 50 ms) are measured the same way for both:

- lawset: ``lawset.builders.dedup.near_duplicate_clusters`` (5-grams, 128 permutations, 9 bands x 13
  rows, threshold 0.8, candidates confirmed by true Jaccard);
- datatrove: its four MinHash stages (signatures, buckets, clusters, filter) with
  ``LocalPipelineExecutor``, installed in a separate venv that this script creates. Same n-gram size
  and bands x rows. datatrove's shingles are word n-grams; it accepts a custom word tokenizer, so we
  give it one that returns characters, and turn its text normalization off, so both tools shingle
  exactly the same character 5-grams. datatrove has no true-Jaccard confirmation: every band
  collision is a duplicate. It computes only bands x rows hashes (117), lawset all 128 (the
  bands use the first 117; all 128 estimate the Jaccard that picks the pairs worth confirming).

The throughput ratio is taken against datatrove's stages 1-3, which end with the clusters
(``.remove`` and cluster-id files), the result lawset's function returns; stage 4 (reading the
input again and writing kept and removed documents) is shown on a row of its own. Both tools run
while whatever else is on the machine runs: the load average before each run is printed.

    .venv/bin/python benchmarks/bench_dedup.py [--stage1 RELEASE] [--workers 2] [--small 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NGRAM = 5
NUM_PERM = 128
THRESHOLD = 0.8
SHARDS = 8
GENERATOR_VERSION = 2  # bump when the perturbations change: a --keep corpus is then remade
# orjson: datatrove's JsonlReader needs it and its extras do not pull it in
DATATROVE = ["datatrove[processing]==0.10.1", "orjson"]

# --------------------------------------------------------------------------------------------
# measuring


def measure(cmd: list[str], log: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB, summed over the process tree) of a command.

    Output goes to ``log`` (a pipe that nobody reads could fill up and block the tool). The load
    average is printed first: other work on the machine makes both tools slower.
    """
    import os

    import psutil

    print(f"  load average before the run: {os.getloadavg()[0]:.2f}", flush=True)

    t0 = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        ps = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            try:
                tree = [ps, *ps.children(recursive=True)]
                total = 0
                for p in tree:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                peak = max(peak, total)
            except psutil.Error:
                pass
            time.sleep(0.05)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = log.read_text("utf-8", errors="replace")[-4000:]
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}")
    return wall, peak / 2**30


# --------------------------------------------------------------------------------------------
# ground truth


def shingles(text: str, n: int = NGRAM) -> set[str]:
    """Character n-gram set; a text shorter than n is one shingle, an empty text has none."""
    if not text:
        return set()
    if len(text) < n:
        return {text}
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    if not sa or not sb:
        return 0.0
    inter = len(sa & sb)
    return inter / (len(sa) + len(sb) - inter)


# --------------------------------------------------------------------------------------------
# input


def stage1_texts(stage1: Path) -> list[str]:
    """User and assistant turns of every stage-1 row, joined by newlines, in file order."""
    import pyarrow.parquet as pq

    folder = stage1 / "data" / "stage1" if (stage1 / "data" / "stage1").is_dir() else stage1
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise SystemExit(f"no stage1 parquet files under {folder}")
    texts: list[str] = []
    for f in files:
        for msgs in pq.read_table(f, columns=["messages"]).column("messages").to_pylist():
            texts.append(
                "\n".join(m["content"] for m in msgs if m["role"] in ("user", "assistant"))
            )
    return texts


PUNCT_ALT = {
    "，": ",、；",
    "。": ".；！",
    "：": ":，",
    "；": ";，。",
    "、": "，,",
    "？": "?。",
    "！": "!。",
    "（": "(",
    "）": ")",
    "“": '"「',
    "”": '"」',
    ",": "，",
    ".": "。",
    ":": "：",
    ";": "；",
    "?": "？",
    "(": "（",
    ")": "）",
}
SENTENCE_END = re.compile(r"(?<=[。！？；\n])")
CLAUSE_END = re.compile(r"(?<=[，,、])")

# kind: weight. "heavy" is meant to land mostly below the threshold.
KINDS = {"edit": 0.40, "reorder": 0.15, "punct": 0.15, "combo": 0.20, "heavy": 0.10}

_ORIGS: list[str] = []  # set before the generator pool forks
_POOL_CHARS: str = ""


def char_edits(text: str, rate: float, rng: random.Random) -> str:
    """Substitute (50%), insert (25%) or delete (25%) about ``rate`` of the characters (at least one)."""
    chars = list(text)
    for _ in range(max(1, round(rate * len(text)))):
        op = rng.random()
        pos = rng.randrange(len(chars) + 1)
        if op < 0.25 or not chars:
            chars.insert(pos, rng.choice(_POOL_CHARS))
        elif op < 0.5:
            del chars[min(pos, len(chars) - 1)]
        else:
            chars[min(pos, len(chars) - 1)] = rng.choice(_POOL_CHARS)
    return "".join(chars)


def reorder(text: str, rng: random.Random) -> str:
    """Swap adjacent sentences (one swap per 10 sentences, at least one); clauses if one sentence."""
    for pattern in (SENTENCE_END, CLAUSE_END):
        parts = [p for p in pattern.split(text) if p]
        if len(parts) >= 2:
            for _ in range(1 + len(parts) // 10):
                i = rng.randrange(len(parts) - 1)
                parts[i], parts[i + 1] = parts[i + 1], parts[i]
            return "".join(parts)
    return char_edits(text, 0.01, rng)


def punctuation(text: str, share: float, rng: random.Random) -> str:
    """Swap ``share`` of the punctuation marks for another mark or width (15% of them dropped
    instead), and add one comma half the time."""
    out = []
    for c in text:
        alt = PUNCT_ALT.get(c)
        if alt and rng.random() < share:
            if rng.random() < 0.15:
                continue
            out.append(rng.choice(alt))
        else:
            out.append(c)
    if rng.random() < 0.5 and out:
        out.insert(rng.randrange(len(out)), "，")
    return "".join(out)


def perturb(text: str, kind: str, rng: random.Random) -> str:
    if kind == "edit":
        out = char_edits(text, rng.uniform(0.003, 0.02), rng)
    elif kind == "reorder":
        out = reorder(text, rng)
    elif kind == "punct":
        out = punctuation(text, rng.uniform(0.03, 0.25), rng)
    elif kind == "combo":
        out = punctuation(reorder(text, rng), rng.uniform(0.02, 0.12), rng)
        out = char_edits(out, rng.uniform(0.001, 0.006), rng)
    else:
        out = char_edits(text, rng.uniform(0.04, 0.12), rng)
    for _ in range(5):  # a copy is never an exact copy
        if out != text and out.strip():
            break
        out = char_edits(text, 0.0, rng)
    return out


def _make_copies(specs: list[tuple[int, str, int]]) -> list[tuple[str, float]]:
    out = []
    for orig, kind, seed in specs:
        src = _ORIGS[orig]
        copy = perturb(src, kind, random.Random(seed))
        out.append((copy, jaccard(src, copy)))
    return out


def build_corpus(texts: list[str], total: int, full_total: int, seed: int, out: Path, workers: int):
    """Write ``SHARDS`` JSONL shards of {"id", "text"} and planted.tsv; returns the planted pairs.

    The share of originals is the same as in the full-size run (rows / full_total), so a ``--small``
    corpus has the full run's duplicate rate. Originals are a seeded sample of the stage-1 rows;
    each copy picks its original uniformly (with replacement, so some originals get several
    copies), a perturbation kind by ``KINDS`` weights and its own seed. Originals and copies are
    interleaved in a seeded random order; copies are generated in a process pool while writing.
    """
    import multiprocessing as mp

    global _ORIGS, _POOL_CHARS
    rng = random.Random(seed)
    n_orig = min(len(texts), round(total * len(texts) / full_total))
    picked = sorted(rng.sample(range(len(texts)), n_orig))
    orig_ids = [f"o{k:06d}" for k in picked]
    _ORIGS = [texts[k] for k in picked]
    sample = "".join(rng.sample(_ORIGS, min(2000, len(_ORIGS))))
    _POOL_CHARS = "".join(c for c in sample if not c.isspace())
    n_copy = total - n_orig
    kinds, weights = list(KINDS), list(KINDS.values())
    specs = [
        (rng.randrange(n_orig), rng.choices(kinds, weights)[0], rng.getrandbits(63))
        for _ in range(n_copy)
    ]
    order = [True] * n_orig + [False] * n_copy  # True: next original, False: next copy
    rng.shuffle(order)
    out.mkdir(parents=True, exist_ok=True)
    handles = [(out / f"shard_{s:05d}.jsonl").open("w", encoding="utf-8") for s in range(SHARDS)]
    planted: list[tuple[str, str, str, float]] = []
    chunk = 2000
    batches = [specs[i : i + chunk] for i in range(0, n_copy, chunk)]
    with mp.get_context("fork").Pool(workers) as pool:
        copies = (c for batch in pool.imap(_make_copies, batches) for c in batch)
        oi = ci = 0
        for pos, is_orig in enumerate(order):
            fh = handles[pos * SHARDS // total]
            if is_orig:
                doc_id, text = orig_ids[oi], _ORIGS[oi]
                oi += 1
            else:
                text, jac = next(copies)
                orig, kind, _ = specs[ci]
                doc_id = f"c{ci:07d}"
                planted.append((doc_id, orig_ids[orig], kind, jac))
                ci += 1
            fh.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    for fh in handles:
        fh.close()
    with (out.parent / "planted.tsv").open("w", encoding="utf-8") as fh:
        for row in planted:
            fh.write("\t".join(map(str, row)) + "\n")
    _ORIGS, _POOL_CHARS = [], ""
    return planted


def read_planted(path: Path) -> list[tuple[str, str, str, float]]:
    rows = []
    for line in path.read_text("utf-8").splitlines():
        c, o, k, j = line.split("\t")
        rows.append((c, o, k, float(j)))
    return rows


def iter_corpus(corpus: Path):
    for f in sorted(corpus.glob("shard_*.jsonl")):
        with f.open(encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                yield d["id"], d["text"]


def print_planted(planted: list[tuple[str, str, str, float]]) -> None:
    edges = [0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0001]
    js = [p[3] for p in planted]
    print(f"planted pairs: {len(planted):,}; true char-{NGRAM}-gram Jaccard distribution:")
    hist = Counter()
    for j in js:
        for lo, hi in zip(edges, edges[1:], strict=False):
            if lo <= j < hi:
                hist[(lo, hi)] += 1
    for lo, hi in zip(edges, edges[1:], strict=False):
        n = hist[(lo, hi)]
        print(f"  [{lo:.2f}, {min(hi, 1.0):.2f}{']' if hi > 1 else ')'} {n:9,d} {n / len(js):6.1%}")
    print(f"  {'kind':8s} {'pairs':>9s} {'median J':>9s} {'J>=thr':>8s}")
    for kind in KINDS:
        ks = sorted(p[3] for p in planted if p[2] == kind)
        if ks:
            above = sum(j >= THRESHOLD for j in ks) / len(ks)
            print(f"  {kind:8s} {len(ks):9,d} {ks[len(ks) // 2]:9.3f} {above:8.1%}")
    above = sum(j >= THRESHOLD for j in js)
    print(
        f"  ground truth for recall: the {above:,} planted pairs ({above / len(js):.1%}) with "
        f"true Jaccard >= {THRESHOLD}"
    )


# --------------------------------------------------------------------------------------------
# lawset


def lawset_run(corpus: Path, out: Path, workers: int, bands: int, rows: int) -> None:
    """Runs in its own process: clusters (and phase times) to ``out``."""
    t0 = time.perf_counter()
    from lawset.builders.dedup import NearDedupConfig, near_duplicate_clusters

    marks: dict[str, float] = {"import": time.perf_counter() - t0}
    passes = [0]

    def items():
        passes[0] += 1
        n = passes[0]
        marks[f"pass{n}_start"] = time.perf_counter() - t0
        yield from iter_corpus(corpus)
        marks[f"pass{n}_end"] = time.perf_counter() - t0

    cfg = NearDedupConfig(
        ngram=NGRAM, num_perm=NUM_PERM, threshold=THRESHOLD, bands=bands, rows=rows, seed=1
    )
    clusters = near_duplicate_clusters(items, cfg, workers=workers)
    marks["done"] = time.perf_counter() - t0
    import hashlib

    from lawset.builders import dedup

    sha = hashlib.sha1(Path(dedup.__file__).read_bytes()).hexdigest()[:12]
    out.write_text(json.dumps({"clusters": clusters, "marks": marks, "sha": sha}), "utf-8")


def lawset_phases(marks: dict[str, float]) -> str:
    """Phases from when the two passes over the input start and end.

    Signing overlaps the first pass (the pool works on the chunks read so far), so "read+sign"
    ends when the input is exhausted; "last chunks+LSH" is the signing still queued then plus
    banding and candidate selection; the second pass re-reads the input and makes the shingle
    sets of the candidates; the rest is the true-Jaccard check of each candidate pair, union-find
    and writing the clusters.
    """
    parts = [f"import {marks['import']:.1f}"]
    if "pass1_end" in marks:
        parts.append(f"read+sign {marks['pass1_end'] - marks['pass1_start']:.1f}")
    if "pass2_start" in marks:
        parts.append(f"last chunks+LSH {marks['pass2_start'] - marks['pass1_end']:.1f}")
        parts.append(f"re-read+shingle sets {marks['pass2_end'] - marks['pass2_start']:.1f}")
        parts.append(f"Jaccard+union-find {marks['done'] - marks['pass2_end']:.1f}")
    else:
        parts.append(f"rest {marks['done'] - marks.get('pass1_end', 0):.1f}")
    return ", ".join(parts) + " s"


# --------------------------------------------------------------------------------------------
# datatrove


def datatrove_venv(path: Path | None, tmp: Path) -> tuple[Path, float]:
    """A venv with datatrove (created, or reused when ``path`` already has it); install seconds."""
    venv = path or tmp / "datatrove-venv"
    py = venv / "bin" / "python"
    if py.exists() and subprocess.run([py, "-c", "import datatrove, orjson"]).returncode == 0:
        return py, 0.0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log = tmp / "pip.log"
    with log.open("w") as fh:
        cmd = [py, "-m", "pip", "install", "--disable-pip-version-check", *DATATROVE]
        if subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT).returncode:
            raise SystemExit(
                f"pip install {' '.join(DATATROVE)} failed:\n{log.read_text()[-4000:]}"
            )
    return py, time.perf_counter() - t0


def datatrove_run(corpus: Path, work: Path, out: Path, workers: int, bands: int, rows: int) -> None:
    """Runs in the datatrove venv: the four MinHash stages, with stage times to ``out``."""
    t0 = time.perf_counter()
    import datatrove
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.text import TextNormConfig
    from datatrove.utils.word_tokenizers import WordTokenizer

    class CharTokenizer(WordTokenizer):
        """Characters as words: datatrove's n-grams become character n-grams."""

        def word_tokenize(self, text: str) -> list[str]:
            return list(text)

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    norm = TextNormConfig(
        lowercase=False,
        norm_whitespace=False,
        remove_punctuation=False,
        norm_unicode_diacritics=False,
        norm_numbers=False,
    )
    config = MinhashConfig(
        n_grams=NGRAM, num_buckets=bands, hashes_per_bucket=rows, seed=1, norm_config=norm
    )
    shards = len(list(corpus.glob("shard_*.jsonl")))
    times: dict[str, float] = {"import": time.perf_counter() - t0}

    def reader():
        return JsonlReader(str(corpus), glob_pattern="shard_*.jsonl", compression=None)

    stages = [
        (
            "1 signatures",
            [
                reader(),
                MinhashDedupSignature(
                    output_folder=str(work / "sigs"), config=config, language=CharTokenizer()
                ),
            ],
            shards,
        ),
        (
            "2 buckets",
            [
                MinhashDedupBuckets(
                    input_folder=str(work / "sigs"),
                    output_folder=str(work / "buckets"),
                    config=config,
                )
            ],
            bands,
        ),
        (
            "3 clusters",
            [
                MinhashDedupCluster(
                    input_folder=str(work / "buckets"),
                    output_folder=str(work / "remove"),
                    config=config,
                    save_cluster_id=True,
                )
            ],
            1,
        ),
        (
            "4 filter",
            [
                reader(),
                MinhashDedupFilter(
                    input_folder=str(work / "remove"),
                    load_cluster_ids=True,
                    exclusion_writer=JsonlWriter(str(work / "removed"), compression=None),
                ),
                JsonlWriter(str(work / "kept"), compression=None),
            ],
            shards,
        ),
    ]
    for name, pipeline, tasks in stages:
        s0 = time.perf_counter()
        LocalPipelineExecutor(
            pipeline=pipeline,
            tasks=tasks,
            workers=min(workers, tasks),
            logging_dir=str(work / "logs" / name.replace(" ", "_")),
        ).run()
        times[name] = time.perf_counter() - s0
    out.write_text(
        json.dumps(
            {
                "version": datatrove.__version__
                if hasattr(datatrove, "__version__")
                else _dist_version("datatrove"),
                "times": times,
                "config": str(config),
                "tasks": {name: tasks for name, _, tasks in stages},
            }
        ),
        "utf-8",
    )


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def datatrove_clusters(work: Path) -> list[list[str]]:
    """Clusters from stage 4's output: documents grouped by ``minhash_cluster_id`` (>= 0)."""
    groups: dict[int, list[str]] = {}
    for folder in ("kept", "removed"):
        for f in sorted((work / folder).glob("*.jsonl")):
            with f.open(encoding="utf-8") as fh:
                for line in fh:
                    d = json.loads(line)
                    cid = d.get("metadata", {}).get("minhash_cluster_id", -1)
                    if cid >= 0:
                        groups.setdefault(cid, []).append(d["id"])
    return [sorted(g) for g in groups.values() if len(g) > 1]


# --------------------------------------------------------------------------------------------
# scoring


def score(
    clusters: list[list[str]],
    planted: list[tuple[str, str, str, float]],
    corpus: Path,
    seed: int,
    sample: int = 20_000,
) -> dict[str, float]:
    """Recall on planted pairs (J >= threshold, and all), document-level precision on a sample."""
    where = {d: k for k, c in enumerate(clusters) for d in c}
    truth = [p for p in planted if p[3] >= THRESHOLD]
    hit = sum(1 for c, o, _, _ in truth if c in where and where[c] == where.get(o))
    hit_all = sum(1 for c, o, _, _ in planted if c in where and where[c] == where.get(o))
    below = [p for p in planted if p[3] < THRESHOLD]
    fp_below = sum(1 for c, o, _, _ in below if c in where and where[c] == where.get(o))

    orig_of = {c: o for c, o, _, _ in planted}
    copies_of: dict[str, list[str]] = {}
    for c, o, _, _ in planted:
        copies_of.setdefault(o, []).append(c)
    rng = random.Random(seed)
    flagged = sorted(where)
    chosen = rng.sample(flagged, min(sample, len(flagged)))
    checks: dict[str, list[str]] = {}
    for d in chosen:
        members = clusters[where[d]]
        root = orig_of.get(d, d)
        relatives = {root, *copies_of.get(root, [])} - {d}
        first = [m for m in members if m in relatives]
        others = [m for m in members if m != d and m not in relatives]
        if len(others) > 40:
            others = rng.sample(others, 40)
        checks[d] = first + others
    need = set(checks) | {m for ms in checks.values() for m in ms}
    text = {i: t for i, t in iter_corpus(corpus) if i in need}
    good = sum(
        1 for d, ms in checks.items() if any(jaccard(text[d], text[m]) >= THRESHOLD for m in ms)
    )
    return {
        "recall": hit / len(truth) if truth else float("nan"),
        "recall_all_planted": hit_all / len(planted) if planted else float("nan"),
        "below_thr_pairs_clustered": fp_below / len(below) if below else 0.0,
        "precision": good / len(checks) if checks else float("nan"),
        "precision_sample": len(checks),
        "flagged": len(flagged),
        "clusters": len(clusters),
    }


# --------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage1", type=Path, help="a release folder (or its data/stage1 folder)")
    ap.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "raw")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--total", type=int, default=1_000_000, help="documents in the full run")
    ap.add_argument("--small", type=int, help="run on N documents instead (same duplicate rate)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bands", type=int, default=9)
    ap.add_argument("--rows", type=int, default=13)
    ap.add_argument("--keep", type=Path, help="write (or reuse) the corpus here, not in a temp dir")
    ap.add_argument("--datatrove-venv", type=Path, help="reuse (or create) the datatrove venv here")
    ap.add_argument("--skip-datatrove", action="store_true")
    ap.add_argument("--lawset-run", nargs=2, type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--datatrove-run", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.lawset_run:
        lawset_run(*args.lawset_run, args.workers, args.bands, args.rows)
        return
    if args.datatrove_run:
        datatrove_run(*args.datatrove_run, args.workers, args.bands, args.rows)
        return

    total = args.small or args.total
    with tempfile.TemporaryDirectory(prefix="bench_dedup_") as tmp_name:
        tmp = Path(tmp_name)
        base = args.keep or tmp / "input"
        corpus = base / "corpus"
        meta = {"total": total, "full_total": args.total, "seed": args.seed, "shards": SHARDS}
        meta |= {"kinds": KINDS, "maker": GENERATOR_VERSION}
        t_in = time.perf_counter()
        if (base / "meta.json").exists() and json.loads((base / "meta.json").read_text()) == meta:
            planted = read_planted(base / "planted.tsv")
            print(f"input: reusing {base}")
        else:
            stage1 = args.stage1
            if stage1 is None:
                stage1 = tmp / "build"
                print(f"input: building stage 1 from {args.sources} ...", flush=True)
                b0 = time.perf_counter()
                cmd = [sys.executable, "-m", "lawset.builders.cli", "build"]
                cmd += ["--sources", str(args.sources), "--out", str(stage1)]
                cmd += ["--workers", str(args.workers), "--no-progress"]
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                print(f"  lawset build: {time.perf_counter() - b0:.1f} s")
            texts = stage1_texts(stage1)
            print(f"input: {len(texts):,} stage-1 rows from {stage1}")
            if corpus.exists():
                shutil.rmtree(corpus)
            planted = build_corpus(texts, total, args.total, args.seed, corpus, args.workers)
            del texts
            (base / "meta.json").write_text(json.dumps(meta))
        n_copy = len(planted)
        print(
            f"input: {total:,} documents = {total - n_copy:,} originals + {n_copy:,} planted copies "
            f"({n_copy / total:.1%}), {SHARDS} JSONL shards, made in {time.perf_counter() - t_in:.1f} s"
        )
        print_planted(planted)

        print(f"lawset: near_duplicate_clusters, {args.workers} workers ...", flush=True)
        lout = tmp / "lawset.json"
        cmd = [sys.executable, __file__, "--lawset-run", str(corpus), str(lout)]
        cmd += [
            "--workers",
            str(args.workers),
            "--bands",
            str(args.bands),
            "--rows",
            str(args.rows),
        ]
        lwall, lpeak = measure(cmd, tmp / "lawset.log")
        lres = json.loads(lout.read_text("utf-8"))
        lscore = score(lres["clusters"], planted, corpus, args.seed)
        print(f"  {lwall:.1f} s; phases: {lawset_phases(lres['marks'])}")
        print(f"  builders/dedup.py sha1 {lres['sha']}")

        dres = None
        if not args.skip_datatrove:
            py, install = datatrove_venv(args.datatrove_venv, tmp)
            print(f"datatrove: venv {'reused' if not install else f'made in {install:.0f} s'}")
            work = tmp / "datatrove"
            work.mkdir()
            dout = tmp / "datatrove.json"
            cmd = [str(py), __file__, "--datatrove-run", str(corpus), str(work), str(dout)]
            cmd += ["--workers", str(args.workers)]
            cmd += ["--bands", str(args.bands), "--rows", str(args.rows)]
            print(f"datatrove: 4 MinHash stages, {args.workers} workers ...", flush=True)
            dwall, dpeak = measure(cmd, tmp / "datatrove.log")
            dres = json.loads(dout.read_text("utf-8"))
            dscore = score(datatrove_clusters(work), planted, corpus, args.seed)
            times = dres["times"]
            print(
                f"  datatrove {dres['version']} {dres['config']}, tasks per stage {dres['tasks']}"
            )
            print("  stage times: " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()) + " s")

    bands, rows = args.bands, args.rows
    print()
    print(
        f"near dedup of {total:,} documents ({n_copy:,} planted copies), char {NGRAM}-grams, "
        f"{bands} bands x {rows} rows, threshold {THRESHOLD}, {args.workers} workers"
    )
    head = (
        f"{'tool':40s} {'wall s':>7s} {'peak GiB':>8s} {'docs/s':>8s} {'recall':>7s} {'prec.':>7s}"
    )
    print(head + f" {'flagged':>9s} {'clusters':>9s}")

    def line(name: str, wall: float, peak: float, s: dict) -> None:
        print(
            f"{name:40s} {wall:7.1f} {peak:8.2f} {total / wall:8,.0f} {s['recall']:7.3f} "
            f"{s['precision']:7.3f} {s['flagged']:9,d} {s['clusters']:9,d}"
        )

    line("lawset near_duplicate_clusters", lwall, lpeak, lscore)
    if dres:
        d13 = sum(v for k, v in times.items() if k[0] in "123")
        line(f"datatrove {dres['version']} stages 1-3 (clusters)", d13, dpeak, dscore)
        line(f"datatrove {dres['version']} all 4 stages", dwall, dpeak, dscore)
        print(
            f"throughput lawset / datatrove: {d13 / lwall:.2f}x (vs stages 1-3), "
            f"{dwall / lwall:.2f}x (vs the whole 4-stage run)"
        )
    print(
        f"recall: planted pairs with true Jaccard >= {THRESHOLD} found in one cluster; "
        "all planted pairs: lawset "
        f"{lscore['recall_all_planted']:.3f}"
        + (f", datatrove {dscore['recall_all_planted']:.3f}" if dres else "")
    )
    print(
        f"below-threshold planted pairs put in one cluster: lawset "
        f"{lscore['below_thr_pairs_clustered']:.3f}"
        + (f", datatrove {dscore['below_thr_pairs_clustered']:.3f}" if dres else "")
    )
    print(
        f"precision: flagged documents with a true near duplicate (J >= {THRESHOLD}) in their "
        f"cluster, on {lscore['precision_sample']:,} sampled documents"
    )
    ok = lwall < 180 and lpeak < 6
    if dres:
        ok = ok and d13 / lwall >= 2 and lscore["recall"] >= dscore["recall"]
    scope = "" if dres else " (datatrove skipped: time and memory only)"
    print(
        "target (>= 2x datatrove's throughput at equal or better recall, < 180 s, < 6 GiB): "
        + ("met" if ok else "NOT met")
        + scope
    )


if __name__ == "__main__":
    main()
