"""Benchmark: the whole statute build (parse LawRefBook-Laws, index, memorization tasks, release).

Runs, in the same session and on the same data:

- lawset: ``lawset build --sources ../shared/raw --only laws --workers N``;
- peer: the same core job written the way a user would with Hugging Face ``datasets`` (read every
  Markdown file as a document, ``map`` with ``num_proc=N`` a regex article splitter that also makes
  one recitation query per article, write parquet). The peer does less (no versions, duplicates,
  items, headings, rejects, resume or card), so it is a floor to compare against.

Each runs in its own process; peak memory is the largest sum of RSS over the process tree.

    .venv/bin/python benchmarks/bench_statutes.py [--workers 2] [--sources ../shared/raw]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]


def measure(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB, summed over the process tree) of a command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [ps, *ps.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr.read()}")
    return wall, peak / 2**30


ARTICLE = re.compile(
    r"^(第[零〇一二两三四五六七八九十百千]+条(?:之[一二三四五六七八九十]+)?)[ \u3000]+(.*)$"
)


def peer_articles(doc: str) -> list[tuple[str, str, str]]:
    """(title, label, text) of every article of one Markdown statute."""
    title = next((ln[2:].strip() for ln in doc.split("\n") if ln.startswith("# ")), "")
    found: list[tuple[str, str, str]] = []
    label, paras = None, []
    for line in doc.split("<!-- INFO END -->", 1)[-1].split("\n") + ["#"]:
        line = line.strip()
        if not line:
            continue
        m = ARTICLE.match(line)
        if m or line.startswith("#"):
            if label:
                found.append((title, label, "\n".join(paras)))
            label, paras = (m.group(1), [m.group(2)]) if m else (None, [])
        elif label:
            paras.append(line)
    return found


def peer_parse(batch: dict) -> dict:
    out: dict[str, list] = {"law": [], "label": [], "text": [], "user": [], "answer": []}
    for doc in batch["text"]:
        for title, label, text in peer_articles(doc):
            out["law"].append(title)
            out["label"].append(label)
            out["text"].append(text)
            out["user"].append(f"请写出《{title}》{label}的内容。")
            out["answer"].append(f"《{title}》{label}规定：\n{text}\n\n法条：《{title}》{label}")
    return out


def run_peer(sources: Path, out: Path, workers: int) -> None:
    from datasets import load_dataset

    files = sorted(
        str(p)
        for p in (sources / "laws" / "LawRefBook-Laws").rglob("*.md")
        if p.name != "_index.md"
    )
    ds = load_dataset(
        "text", data_files=files, sample_by="document", split="train", cache_dir=str(out / "cache")
    )
    arts = ds.map(peer_parse, batched=True, num_proc=workers, remove_columns=["text"])
    arts.to_parquet(str(out / "peer.parquet"))
    print(len(arts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "raw")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--peer-only", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer_only:
        run_peer(args.sources, args.peer_only, args.workers)
        return

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "lawset"
        cmd = [sys.executable, "-m", "lawset.builders.cli", "build", "--sources", str(args.sources)]
        cmd += [
            "--out",
            str(out),
            "--only",
            "laws",
            "--workers",
            str(args.workers),
            "--no-progress",
        ]
        wall, peak = measure(cmd)
        stats = json.loads((out / "reports" / "stats.json").read_text("utf-8"))
        timings = json.loads((out / "reports" / "timings.json").read_text("utf-8"))
        queries = sum(stats["configs"]["stage1"].values())
        articles = sum(stats["configs"]["statutes"].values())

        peer_out = Path(tmp) / "peer"
        peer_out.mkdir()
        pwall, ppeak = measure(
            [
                sys.executable,
                __file__,
                "--peer-only",
                str(peer_out),
                "--sources",
                str(args.sources),
                "--workers",
                str(args.workers),
            ]
        )
        import pyarrow.parquet as pq

        peer_rows = pq.ParquetFile(peer_out / "peer.parquet").metadata.num_rows

    print(f"statute build (LawRefBook-Laws), {args.workers} workers")
    print(f"{'tool':28s} {'wall s':>8s} {'peak GiB':>9s} {'articles':>9s} {'queries':>9s}")
    print(f"{'lawset build':28s} {wall:8.1f} {peak:9.2f} {articles:9,d} {queries:9,d}")
    print(
        f"{'datasets map (peer, floor)':28s} {pwall:8.1f} {ppeak:9.2f} {peer_rows:9,d} {peer_rows:9,d}"
    )
    print(f"lawset phases: {json.dumps(timings)}")


if __name__ == "__main__":
    main()
