"""Benchmark `lawset validate` on a 1M-row release, and screenshot its Data Docs.

    python benchmarks/bench_validate.py --release OUT --work ../bench-validate \\
        [--rows 1000000] [--workers 2] [--screenshot ../validate-docs.png]

``--release`` is a release built from ../shared/raw (``lawset build``). The benchmark release is
that release with its stage-1 train split blown up to ``--rows`` rows: the real train rows
repeated, each copy with a new id (md5 of the old id and the copy number), written in files of
200,000 rows as a build writes them; stage 1 validation/test, stage 2 and the statutes are the
real ones. Then ``lawset validate`` runs on it in a child process while this script samples the
resident memory of the child and its workers every 0.2 s.

Printed: rows per config, wall time, CPU time, peak memory (the largest single process and the
largest sum over the process tree), and the validation verdict. The Data Docs index and the
first stage-1 train page are then opened in headless Chromium (``chromium --headless
--screenshot``) when a Chromium binary is installed; the PNG paths are printed. Without a network
the index's run list stays empty (it is filled by bootstrap-table loaded from CDNs); the
validation pages are plain rendered HTML and show every expectation.

Target (issue 6): 1M rows in under 2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

ROWS_PER_FILE = 200_000


def blow_up(release: Path, work: Path, rows: int) -> Path:
    """A copy of ``release`` whose stage-1 train split holds ``rows`` rows."""
    out = work / "release"
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(release, out, ignore=shutil.ignore_patterns("validation", ".lawset-work"))
    train_files = sorted((out / "data" / "stage1").glob("train-*.parquet"))
    source = pa.concat_tables([pq.read_table(f) for f in train_files])
    for f in train_files:
        f.unlink()
    ids = source.column("id").to_pylist()
    n_files = -(-rows // ROWS_PER_FILE)
    written, copy = 0, 0
    for k in range(n_files):
        want = min(ROWS_PER_FILE, rows - written)
        parts = []
        while want:
            offset = written % source.num_rows
            take = min(want, source.num_rows - offset)
            copy = written // source.num_rows
            part = source.slice(offset, take)
            new = [
                hashlib.md5(f"{i}#{copy}".encode()).hexdigest() for i in ids[offset : offset + take]
            ]
            part = part.set_column(part.schema.get_field_index("id"), "id", pa.array(new))
            parts.append(part)
            written += take
            want -= take
        name = f"train-{k:05d}-of-{n_files:05d}.parquet"
        pq.write_table(pa.concat_tables(parts), out / "data" / "stage1" / name)
    # validate first checks every file against manifest.json: record the new files there
    from lawset.builders.manifest import sha256_file

    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    files = [f for f in manifest["files"] if not f["path"].startswith("data/stage1/train-")]
    at = next(
        (i for i, f in enumerate(manifest["files"]) if f["path"].startswith("data/stage1/train-")),
        len(files),
    )
    new = []
    for p in sorted((out / "data" / "stage1").glob("train-*.parquet")):
        new.append(
            {
                "path": p.relative_to(out).as_posix(),
                "sha256": sha256_file(p),
                "bytes": p.stat().st_size,
                "rows": pq.ParquetFile(p).metadata.num_rows,
            }
        )
    files[at:at] = new
    manifest["files"] = files
    train = [f for f in files if f["path"].startswith("data/stage1/train-")]
    manifest["configs"]["stage1"]["train"] = {
        "rows": sum(f["rows"] for f in train),
        "bytes": sum(f["bytes"] for f in train),
        "files": [f["path"] for f in train],
    }
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return out


def run_validate(release: Path, workers: int) -> dict:
    cmd = [sys.executable, "-m", "lawset.builders.cli", "validate", str(release)]
    cmd += ["--workers", str(workers)]
    started = time.time()
    proc = psutil.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak_one = peak_tree = 0
    cpu = 0.0
    while proc.poll() is None:
        try:
            procs = [proc, *proc.children(recursive=True)]
            rss = [p.memory_info().rss for p in procs]
            times = [p.cpu_times() for p in procs]
            cpu = max(cpu, sum(t.user + t.system for t in times))
        except psutil.Error:
            time.sleep(0.05)
            continue
        peak_one = max(peak_one, *rss)
        peak_tree = max(peak_tree, sum(rss))
        time.sleep(0.2)
    output = proc.stdout.read()
    return {
        "exit": proc.returncode,
        "wall_s": round(time.time() - started, 1),
        "cpu_s_sampled": round(cpu, 1),
        "peak_rss_process_gb": round(peak_one / 2**30, 2),
        "peak_rss_tree_gb": round(peak_tree / 2**30, 2),
        "output": output,
    }


def screenshot(page: Path, png: Path) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return "no Chromium installed (apt-get install chromium): no screenshot"
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1400,1800",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 or not png.is_file():
        return f"chromium failed ({proc.returncode}): {proc.stderr[-500:]}"
    return f"screenshot: {png} ({png.stat().st_size:,} bytes)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--release", type=Path, required=True, help="a release built by lawset build")
    ap.add_argument("--work", type=Path, required=True, help="scratch folder for the 1M release")
    ap.add_argument("--rows", type=int, default=1_000_000, help="stage-1 train rows")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--screenshot", type=Path, help="PNG of the Data Docs index (needs Chromium)")
    args = ap.parse_args()

    t = time.time()
    bench = blow_up(args.release, args.work, args.rows)
    rows = {
        config.name: sum(pq.ParquetFile(f).metadata.num_rows for f in config.glob("*.parquet"))
        for config in sorted((bench / "data").iterdir())
    }
    print(f"benchmark release: {bench} ({time.time() - t:.0f} s to write)")
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    result = run_validate(bench, args.workers)
    summary_path = bench / "reports" / "validation" / "validation.json"
    summary = json.loads(summary_path.read_text("utf-8")) if summary_path.exists() else {}
    print(result["output"][-3000:])
    print(
        json.dumps(
            {k: v for k, v in result.items() if k != "output"}
            | {
                "rows_validated": sum(sum(s.values()) for s in summary["rows_validated"].values())
                if summary
                else 0,
                "expectations": summary.get("expectations_total"),
                "failed": summary.get("expectations_failed"),
            },
            indent=2,
        )
    )
    if args.screenshot:
        docs = bench / "reports" / "validation"
        print(screenshot(docs / "index.html", args.screenshot))
        # The index lists the runs with bootstrap-table from CDNs (empty without a network);
        # the validation pages are rendered HTML: take the stage-1 train page too.
        page = sorted((docs / "validations" / "stage1" / "train").rglob("*.html"))[:1]
        if page:
            png = args.screenshot.with_name(args.screenshot.stem + "-stage1-train.png")
            print(screenshot(page[0], png))
    return 0


if __name__ == "__main__":
    sys.exit(main())
