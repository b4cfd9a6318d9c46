"""Near-duplicate detection, the decontamination index and the cross-split leakage check."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import Built, copy_release
from datasketch import MinHash
from lawset.builders.decontam import EvalIndex, build_eval_index, canonical
from lawset.builders.dedup import (
    NearDedupConfig,
    batch_shingles,
    check_leakage,
    near_duplicate_clusters,
    shingle_set,
    signatures,
    true_jaccard,
)

FACT = (
    "经审理查明：2016年3月28日20时许，被告人颜某在本市洪山区马湖新村足球场马路边捡拾到被害人谢某的手机一部，"
    "并在同日21时起，分多次通过支付宝小额免密支付功能，秘密盗走被害人谢某支付宝内人民币3723元。"
)


def edit(text: str, rate: float, seed: int) -> str:
    rng = random.Random(seed)
    chars = list(text)
    for _ in range(max(1, int(len(chars) * rate))):
        chars[rng.randrange(len(chars))] = rng.choice("的了是在有和")
    return "".join(chars)


def test_signatures_equal_datasketch_minhash_on_the_same_shingles() -> None:
    cfg = NearDedupConfig()
    texts = [FACT, FACT[:3], "", "abc" * 400, edit(FACT, 0.05, 1)]
    sig = signatures(texts, cfg)
    h64, owner = batch_shingles(texts, cfg.ngram)
    for i in range(len(texts)):
        values = (h64[owner == i] >> np.uint64(32)).astype(np.uint32)
        ref = MinHash(num_perm=cfg.num_perm, seed=cfg.seed, hashfunc=int)
        if len(values):
            ref.update_batch(values.tolist())
        assert np.array_equal(ref.hashvalues.astype(np.uint32), sig[i]), i
    # The hash of a shingle does not depend on the text around it.
    a, _ = batch_shingles(["abcdefg"], 5)
    b, _ = batch_shingles(["xyabcdefg"], 5)
    assert set(a.tolist()) <= set(b.tolist())


def test_near_duplicates_are_clustered_and_unrelated_texts_are_not() -> None:
    rng = random.Random(7)
    base = [
        "".join(
            rng.choice("法律条款合同当事人权利义务责任赔偿损失违约解除履行") for _ in range(300)
        )
        for _ in range(50)
    ]
    items = [(f"doc{i}", t) for i, t in enumerate(base)]
    items += [("copy3", edit(base[3], 0.01, 3)), ("copy9", edit(base[9], 0.01, 9))]
    items += [("empty", ""), ("blank", "   "), ("tiny", "法"), ("big", FACT * 60_000)]
    clusters = near_duplicate_clusters(lambda: iter(items), NearDedupConfig())
    assert sorted(map(sorted, clusters)) == [["copy3", "doc3"], ["copy9", "doc9"]]
    # The pair really is above the threshold, and texts are cut for dedup (a 7 MB record).
    assert true_jaccard(shingle_set(base[3], 5), shingle_set(items[50][1], 5)) >= 0.8
    assert len(shingle_set(FACT * 60_000, 5, NearDedupConfig().max_chars)) < 20_000


def test_eval_index_counts_coverage_and_ignores_statute_text() -> None:
    article = "盗窃公私财物，数额较大的，或者多次盗窃、入户盗窃、携带凶器盗窃、扒窃的，处三年以下有期徒刑、拘役或者管制"
    tail = "甲某于深夜撬锁入户，窃取邻居放在客厅桌上的手机一部，价值三千元，请问甲某的行为应当如何定性和处罚"
    question = "请根据刑法第二百六十四条回答：" + article + "。" + tail
    statute, _ = batch_shingles([canonical(article)], 20)
    index = build_eval_index(
        [("lawbench/3-2#0/q", question), ("lawbench/1-2#0/q", FACT)], np.unique(statute)
    )
    # A recitation of the article quotes what the benchmark quotes: not contamination.
    assert index.hits("《中华人民共和国刑法》第二百六十四条规定：" + article) == []
    # A copy of the question's own wording is, whatever its punctuation or layout.
    assert [i for i, _ in index.hits(tail.replace("，", " ") + "？")] == ["lawbench/3-2#0/q"]
    copy = FACT.replace("，", "\n").replace("：", ":")
    ((item, coverage),) = index.hits(copy)
    assert item == "lawbench/1-2#0/q" and coverage == 1.0
    # Half of the item's shingles is the line; a third is not enough.
    assert index.hits(FACT[: len(FACT) // 3]) == []
    assert index.hits("") == [] and index.hits("短") == []


def test_eval_index_round_trips_and_paraphrases_are_caught(tmp_path: Path) -> None:
    index = build_eval_index([("lawbench/1-2#0/q", FACT)], np.zeros(0, np.uint64))
    index.save(tmp_path / "i.npz")
    loaded = EvalIndex.load(tmp_path / "i.npz")
    assert loaded.item_ids == index.item_ids and loaded.stats == index.stats
    paraphrase = edit(FACT, 0.015, 5)  # two characters changed
    assert [i for i, _ in loaded.hits(paraphrase)] == ["lawbench/1-2#0/q"]
    assert loaded.hits(paraphrase, skip_prefixes=("lawbench/",)) == []


@pytest.fixture()
def small_release(laws_release: Built) -> Path:
    """The session's statutes-only release: read here, planted into only as a copy."""
    return laws_release.out


def plant(release: Path, split_from: str, split_to: str, change) -> str:  # noqa: ANN001
    """Copy the first row of one split into another (changed by ``change``)."""
    src = sorted((release / "data" / "stage1").glob(f"{split_from}-*.parquet"))[0]
    row = pq.read_table(src).slice(0, 1).to_pylist()[0]
    row["messages"] = [{**m, "content": change(m["content"])} for m in row["messages"]]
    row["id"] = "planted"
    dst = sorted((release / "data" / "stage1").glob(f"{split_to}-*.parquet"))
    target = dst[0] if dst else release / "data" / "stage1" / f"{split_to}-00000-of-00001.parquet"
    table = pq.read_table(target) if dst else None
    planted = pa.Table.from_pylist([row], schema=pq.read_schema(src))
    pq.write_table(pa.concat_tables([table, planted]) if table is not None else planted, target)
    return row["id"]


def test_leakage_check_passes_on_a_build_and_fails_on_planted_duplicates(
    small_release: Path, tmp_path: Path
) -> None:
    report = json.loads((small_release / "reports" / "leakage.json").read_text("utf-8"))
    assert report["passed"] is True and report["rows_checked"] > 0
    assert check_leakage(small_release)["passed"] is True

    exact = tmp_path / "exact"
    copy_release(small_release, exact)
    plant(exact, "train", "test", lambda t: t)
    got = check_leakage(exact)
    assert got["passed"] is False and got["cross_split_exact"] >= 1
    assert got["examples"][0]["kind"] == "exact"

    near = tmp_path / "near"
    copy_release(small_release, near)
    plant(near, "train", "validation", lambda t: t + "。")
    got = check_leakage(near)
    assert got["passed"] is False and got["cross_split_near"] >= 1
    assert got["groups_across_splits"] == 1  # the copy kept its group: the group straddles


def test_build_reports_contamination_and_drops_the_planted_benchmark_copy(
    small_release: Path,
) -> None:
    report = json.loads((small_release / "reports" / "contamination.json").read_text("utf-8"))
    assert report["rule"]["shingle_chars"] == 20 and report["rule"]["min_coverage"] == 0.5
    assert report["benchmarks"]["lawbench/1-2"]["items"] >= 1


def test_paraphrase_lookup_finds_every_band_match_of_many_items() -> None:
    """The batched band lookup finds exactly what comparing every item's band keys finds."""
    from lawset.builders.dedup import NearDedupConfig, band_keys, signatures

    bench = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "lawbench"
    questions = [
        it["question"] for it in json.loads((bench / "data/zero_shot/3-8.json").read_text("utf-8"))
    ][:300]
    items = [(f"lawbench/3-8#{k}/q", q) for k, q in enumerate(questions)]
    # the shingle check is switched off (min_coverage > 1): only the MinHash check can hit
    index = build_eval_index(items, np.zeros(0, np.uint64), min_coverage=1.1)
    queries = [edit(q, 0.02, k) for k, q in enumerate(questions[::3])] + ["无关的文字" * 20]
    got = [dict(h) for h in index.hits_batch(queries)]
    cfg = NearDedupConfig(threshold=index.paraphrase_jaccard)
    sig = signatures([canonical(q) for q in queries], cfg)
    keys = band_keys(sig, *cfg.params())
    for t in range(len(queries)):
        want = {}
        for i in np.flatnonzero(index.paraphrase_ok):
            if (index.sig_keys[i] == keys[t]).any():
                est = float((index.sigs[i] == sig[t]).mean())
                if est >= index.paraphrase_jaccard:
                    want[index.item_ids[i]] = round(est, 3)
        assert got[t] == want
    assert sum(bool(g) for g in got) >= 30  # the long enough, lightly edited ones are caught
