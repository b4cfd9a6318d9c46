"""Benchmark: a 1M-query end-to-end build, local executor against Ray, and how time grows with size.

Input, made from real data and deterministic (``--seed``), as ``bench_dedup.py`` makes its 1M
input: every stage-1 conversation of a lawset build (the last user turn and its answer; about
360k rows of a full build), read from ``--stage1`` (a release folder) or from a build this script
runs itself, filled up to N queries with perturbed copies (the same perturbation kinds and weights:
character edits, sentence reordering, punctuation, all three, and a "heavy" share that falls below
the dedup threshold). The share of originals is the full run's (rows / ``--full-total``), so a
smaller size has the 1M run's duplicate rate.

The corpus is written as a raw source the build reads, in lawyer-llama's ``{query, response}``
JSON format (256 files, one work unit each), and built with the default recipe in which that
source replaces the two qa sources (``--only qa``; the statute catalog and the decontamination
index are still made from ../shared/raw and ../shared/benchmarks). Every step runs: normalize,
PII masking, the consultation task, citations, quality filters, decontamination, the answer
rewrite step with the template rewriter when this checkout has it (``--rewriter template``),
dedup, splits, release writing, the leakage check and the card; then ``lawset validate``.

Measured per size and executor, each build and each validation in its own process: wall time,
peak memory (the largest sum of RSS over the process tree, polled every 50 ms; on Ray the tree
is the driver plus the Ray processes it starts, and object-store pages count in every process
that maps them), and the phases from ``reports/timings.json``. ``setup_s`` is what the build
spends before its shards (the statute catalog and decontamination index, cached between builds
by ``builders/pipeline/setup_cache.py``: a warm-up build fills the cache first, so every measured
build finds it, as a maintainer's repeated builds do; the cold cost is printed from the warm-up).
Ray's output is compared with the local executor's, file by file.

    .venv/bin/python benchmarks/bench_e2e.py [--stage1 RELEASE] [--sizes 250000,500000,1000000]
        [--executors local,ray] [--workers 2] [--keep DIR]
    .venv/bin/python benchmarks/bench_e2e.py --stage1 out/candidate --sizes 20000,40000   # quick
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import bench_dedup  # noqa: E402  (the 1M input's perturbations)

FILES = 256
GENERATOR_VERSION = 1  # bump when the corpus changes: a --keep corpus is then remade
PHASES = ("setup_s", "plan_s", "shards_s", "dedup_s", "release_s", "leakage_check_s")

_CONVS: list[tuple[str, str]] = []  # set before the generator pool forks


def stage1_conversations(stage1: Path) -> list[tuple[str, str]]:
    """(last user turn, its answer) of every stage-1 row, in file order."""
    import pyarrow.parquet as pq

    folder = stage1 / "data" / "stage1" if (stage1 / "data" / "stage1").is_dir() else stage1
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise SystemExit(f"no stage1 parquet files under {folder}")
    out = []
    for f in files:
        for msgs in pq.read_table(f, columns=["messages"]).column("messages").to_pylist():
            users = [m["content"] for m in msgs if m["role"] == "user"]
            answers = [m["content"] for m in msgs if m["role"] == "assistant"]
            if users and answers:
                out.append((users[-1], answers[-1]))
    return out


def _copies(specs: list[tuple[int, str, int]]) -> list[dict[str, str]]:
    out = []
    for orig, kind, seed in specs:
        query, response = _CONVS[orig]
        rng = random.Random(seed)
        out.append(
            {
                "query": bench_dedup.perturb(query, kind, rng),
                "response": bench_dedup.perturb(response, kind, rng),
            }
        )
    return out


def make_corpus(
    convs: list[tuple[str, str]], total: int, full_total: int, seed: int, out: Path, workers: int
) -> dict[str, int]:
    """Write ``FILES`` JSON files of ``{query, response}`` items under ``out/data``."""
    global _CONVS
    rng = random.Random(seed)
    n_orig = min(len(convs), round(total * len(convs) / full_total))
    picked = sorted(rng.sample(range(len(convs)), n_orig))
    _CONVS = [convs[k] for k in picked]
    sample = "".join(q + a for q, a in rng.sample(_CONVS, min(2000, len(_CONVS))))
    bench_dedup._POOL_CHARS = "".join(c for c in sample if not c.isspace())
    kinds, weights = list(bench_dedup.KINDS), list(bench_dedup.KINDS.values())
    n_copy = total - n_orig
    specs = [
        (rng.randrange(n_orig), rng.choices(kinds, weights)[0], rng.getrandbits(63))
        for _ in range(n_copy)
    ]
    order = [True] * n_orig + [False] * n_copy
    rng.shuffle(order)
    data = out / "data"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    files: list[list[dict[str, str]]] = [[] for _ in range(FILES)]
    chunk = 2000
    batches = [specs[i : i + chunk] for i in range(0, n_copy, chunk)]
    with mp.get_context("fork").Pool(workers) as pool:
        copies = (c for batch in pool.imap(_copies, batches) for c in batch)
        oi = 0
        for pos, is_orig in enumerate(order):
            if is_orig:
                query, response = _CONVS[oi]
                item = {"query": query, "response": response}
                oi += 1
            else:
                item = next(copies)
            files[pos * FILES // total].append(item)
    for k, items in enumerate(files):
        (data / f"bench_{k:05d}.json").write_text(
            json.dumps(items, ensure_ascii=False), encoding="utf-8"
        )
    _CONVS = []
    return {"originals": n_orig, "copies": n_copy}


def bench_recipe(corpus: Path, path: Path) -> None:
    """The default recipe with the corpus as the only qa source."""
    data = yaml.safe_load((REPO / "builders" / "recipes" / "default.yaml").read_text("utf-8"))
    qa = [n for n, s in data["sources"].items() if s["category"] == "qa"]
    for name in qa:
        del data["sources"][name]
    data["sources"]["bench"] = {
        "adapter": "lawyer_llama",
        "path": str(corpus.resolve()),  # absolute: joined to --sources, it stays itself
        "category": "qa",
        "license": "benchmark input (stage-1 queries and perturbed copies)",
    }
    s2 = data["stage2"]["sources"]
    data["stage2"]["sources"] = [s for s in s2 if s not in qa] + ["bench"]
    data["name"] = "bench_e2e"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def has_rewriter_option() -> bool:
    proc = subprocess.run(
        [sys.executable, "-m", "lawset.builders.cli", "build", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    return "--rewriter" in proc.stdout


def build_cmd(args: argparse.Namespace, recipe: Path, out: Path, executor: str) -> list[str]:
    cmd = [sys.executable, "-m", "lawset.builders.cli", "build", "--sources", str(args.sources)]
    cmd += ["--benchmarks", str(args.benchmarks), "--recipe", str(recipe), "--out", str(out)]
    cmd += ["--only", "qa", "--workers", str(args.workers), "--no-progress"]
    cmd += ["--executor", executor]
    if args.rewriter:
        cmd += ["--rewriter", "template"]
    return cmd


def release_files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and ".lawset-work" not in p.parts
        and p.relative_to(root).as_posix() != "reports/timings.json"
        and "validation" not in p.relative_to(root).parts
    }


def measure(cmd: list[str], log: Path, ok: tuple[int, ...] = (0,)) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (GiB, summed over the process tree, polled every 50 ms) and exit
    status of a command, as ``bench_dedup.measure`` measures; exit statuses in ``ok`` are
    accepted (``lawset validate`` exits 1 when an expectation fails, after all its work)."""
    import os

    import psutil

    print(f"  load average before the run: {os.getloadavg()[0]:.2f}", flush=True)
    t0 = time.perf_counter()
    peak = 0
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        ps = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            try:
                for p in [ps, *ps.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            peak = max(peak, total)
            time.sleep(0.05)
    wall = time.perf_counter() - t0
    if proc.returncode not in ok:
        tail = log.read_text("utf-8", errors="replace")[-4000:]
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{tail}")
    return wall, peak / 2**30, proc.returncode


def run_one(
    args: argparse.Namespace,
    recipe: Path,
    out: Path,
    executor: str,
    logs: Path,
    validate: bool = True,
) -> dict:
    if out.exists():
        shutil.rmtree(out)
    wall, peak, _ = measure(build_cmd(args, recipe, out, executor), logs / f"{out.name}-build.log")
    timings = json.loads((out / "reports" / "timings.json").read_text())
    stats = json.loads((out / "reports" / "stats.json").read_text())
    known = sum(timings.get(k, 0.0) for k in PHASES if k != "setup_s")
    timings["setup_s"] = round(timings["total_s"] - known, 3)
    if not validate:
        return {"timings": timings}
    vcmd = [sys.executable, "-m", "lawset.builders.cli", "validate", str(out)]
    vcmd += ["--recipe", str(recipe), "--workers", str(args.workers)]
    vlog = logs / f"{out.name}-validate.log"
    # exit 1: an expectation failed. On this corpus (one source, one task) the diversity
    # expectations fail by design: their thresholds are for a whole build.
    vwall, vpeak, rc = measure(vcmd, vlog, ok=(0, 1))
    verdict = next(
        (ln for ln in vlog.read_text("utf-8").splitlines() if "expectations passed" in ln), ""
    )
    rows = {c: sum(s.values()) for c, s in stats.get("configs", {}).items()}
    return {
        "executor": executor,
        "build_wall_s": round(wall, 1),
        "build_peak_gib": round(peak, 2),
        "validate_wall_s": round(vwall, 1),
        "validate_peak_gib": round(vpeak, 2),
        "validate_exit": rc,
        "validate_verdict": verdict.strip(),
        "timings": timings,
        "rows": rows,
        "rewrite_step": "rewrite" in stats.get("steps", {}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage1", type=Path, help="a release folder (or its data/stage1 folder)")
    ap.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "raw")
    ap.add_argument("--benchmarks", type=Path, default=REPO.parent / "shared" / "benchmarks")
    ap.add_argument("--sizes", default="250000,500000,1000000", help="queries per build")
    ap.add_argument("--executors", default="local,ray", help="local, ray or both")
    ap.add_argument("--ray-sizes", help="sizes to build on Ray too (default: the largest)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--full-total", type=int, default=1_000_000, help="the full run's size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, help="write (or reuse) corpora and builds here")
    ap.add_argument("--json", type=Path, help="write the results here as JSON")
    ap.add_argument("--no-warmup", action="store_true", help="no index-cache warm-up build")
    args = ap.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    executors = [e.strip() for e in args.executors.split(",")]
    ray_sizes = {int(s) for s in args.ray_sizes.split(",")} if args.ray_sizes else {sizes[-1]}
    args.rewriter = has_rewriter_option()
    print(
        "rewrite: "
        + ("--rewriter template" if args.rewriter else "no --rewriter option in this checkout")
    )

    results: dict[str, Any] = {"workers": args.workers, "sizes": {}, "cold_setup_s": None}
    with tempfile.TemporaryDirectory(prefix="bench_e2e_") as tmp_name:
        base = args.keep or Path(tmp_name)
        base.mkdir(parents=True, exist_ok=True)
        logs = base / "logs"
        logs.mkdir(exist_ok=True)
        convs: list[tuple[str, str]] | None = None
        for size in sizes:
            corpus = base / f"corpus-{size}"
            meta = {"total": size, "full_total": args.full_total, "seed": args.seed}
            meta |= {"files": FILES, "maker": GENERATOR_VERSION, "kinds": bench_dedup.KINDS}
            meta_file = corpus / "meta.json"
            t0 = time.perf_counter()
            if meta_file.exists() and json.loads(meta_file.read_text()) == meta:
                counts = json.loads((corpus / "counts.json").read_text())
                print(f"input {size:,}: reusing {corpus}")
            else:
                if convs is None:
                    convs = load_conversations(args, base)
                counts = make_corpus(convs, size, args.full_total, args.seed, corpus, args.workers)
                (corpus / "counts.json").write_text(json.dumps(counts))
                meta_file.write_text(json.dumps(meta))
                print(
                    f"input {size:,}: {counts['originals']:,} originals + {counts['copies']:,} "
                    f"perturbed copies, {FILES} files, made in {time.perf_counter() - t0:.1f} s"
                )
            recipe = base / f"recipe-{size}.yaml"
            bench_recipe(corpus, recipe)
            if not args.no_warmup and results["cold_setup_s"] is None:
                out = base / "warmup"
                print("warm-up build (fills the index cache) ...", flush=True)
                r = run_one(args, recipe, out, "local", logs, validate=False)
                results["cold_setup_s"] = r["timings"]["setup_s"]
                print(f"  cold index setup {r['timings']['setup_s']:.1f} s")
                shutil.rmtree(out)
            runs = []
            for executor in executors:
                if executor == "ray" and "local" in executors and size not in ray_sizes:
                    continue
                out = base / f"build-{size}-{executor}"
                print(f"build {size:,} queries, {executor} executor ...", flush=True)
                r = run_one(args, recipe, out, executor, logs)
                t = r["timings"]
                print(
                    f"  build {r['build_wall_s']:.1f} s, peak {r['build_peak_gib']:.2f} GiB; "
                    + ", ".join(f"{k[:-2]} {t.get(k, 0):.1f}" for k in PHASES)
                    + f"; validate {r['validate_wall_s']:.1f} s ({r['validate_peak_gib']:.2f} GiB)"
                    + f" {r['validate_verdict']}"
                )
                runs.append(r)
            local = base / f"build-{size}-local"
            ray = base / f"build-{size}-ray"
            if local.exists() and ray.exists():
                same = release_files(local) == release_files(ray)
                print(f"  Ray output == local output, byte for byte: {'yes' if same else 'NO'}")
                runs.append({"ray_equals_local": same})
            if not args.keep:
                for o in (local, ray):
                    shutil.rmtree(o, ignore_errors=True)
            results["sizes"][size] = {"input": counts, "runs": runs}
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results written to {args.json}")


def load_conversations(args: argparse.Namespace, base: Path) -> list[tuple[str, str]]:
    stage1 = args.stage1
    if stage1 is None:
        stage1 = base / "stage1-build"
        if not (stage1 / "manifest.json").exists():
            print(f"input: building stage 1 from {args.sources} ...", flush=True)
            b0 = time.perf_counter()
            cmd = [sys.executable, "-m", "lawset.builders.cli", "build", "--sources"]
            cmd += [str(args.sources), "--out", str(stage1), "--workers", str(args.workers)]
            subprocess.run([*cmd, "--no-progress"], check=True, stdout=subprocess.DEVNULL)
            print(f"  lawset build: {time.perf_counter() - b0:.1f} s")
    convs = stage1_conversations(stage1)
    print(f"input: {len(convs):,} stage-1 conversations from {stage1}")
    return convs


def report(results: dict[str, Any]) -> None:
    """Markdown tables, ready for the README."""
    print()
    print(f"end-to-end build, {results['workers']} workers (wall s; peak GiB of the process tree)")
    head = "| queries | executor | " + " | ".join(k[:-2] for k in PHASES)
    print(head + " | build total | peak GiB | validate | rows stage1 |")
    print("|" + " --- |" * (len(PHASES) + 6))
    local_total: dict[int, float] = {}
    local_setup: dict[int, float] = {}
    for size, entry in results["sizes"].items():
        for r in entry["runs"]:
            if "executor" not in r:
                continue
            t = r["timings"]
            cells = " | ".join(f"{t.get(k, 0):.1f}" for k in PHASES)
            print(
                f"| {size:,} | {r['executor']} | {cells} | {r['build_wall_s']:.1f} | "
                f"{r['build_peak_gib']:.2f} | {r['validate_wall_s']:.1f} | "
                f"{r['rows'].get('stage1', 0):,} |"
            )
            if r["executor"] == "local":
                local_total[size] = r["build_wall_s"] + r["validate_wall_s"]
                local_setup[size] = t.get("setup_s", 0.0)
    if results["cold_setup_s"] is not None:
        print(
            f"(index setup with a cold cache: {results['cold_setup_s']:.1f} s, once per code change)"
        )
    for size, entry in results["sizes"].items():
        walls = {r["executor"]: r["build_wall_s"] for r in entry["runs"] if "executor" in r}
        if "local" in walls and "ray" in walls:
            print(f"Ray / local build wall at {size:,}: {walls['ray'] / walls['local']:.2f}x")
    if len(local_total) > 1:
        big = max(local_total)
        print()
        print(
            "| queries | local build + validate s | without setup s | s per 1k queries "
            "(without setup) | vs linear from the largest (without setup) |"
        )
        print("| --- | --- | --- | --- | --- |")
        for size, wall in sorted(local_total.items()):
            var = wall - local_setup[size]
            linear = (local_total[big] - local_setup[big]) * size / big
            print(
                f"| {size:,} | {wall:.1f} | {var:.1f} | {1000 * var / size:.2f} | "
                f"{var / linear:.2f}x |"
            )
        print(
            "setup (statute catalog + decontamination index) does not grow with the queries; "
            "the rest should grow about linearly"
        )


if __name__ == "__main__":
    main()
