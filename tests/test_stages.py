"""The stages after the shards, on runs written by hand: dedup, mix and split decisions applied as
the write stage merges, drops counted in the sink's ledger and kept once in the rejects, the split
of held-out material and of its twins, and the shard marker's round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lawset.builders.pipeline.options import BuildOptions
from lawset.builders.pipeline.outdir import OutputFolder
from lawset.builders.pipeline.runs import HELD_OUT, KEY, RunWriter
from lawset.builders.pipeline.stages.dedup import Duplicates, FirstOfId
from lawset.builders.pipeline.stages.mix import GeneralMix, Mix
from lawset.builders.pipeline.stages.plan import BuildPlan
from lawset.builders.pipeline.stages.release import ReleaseContext
from lawset.builders.pipeline.stages.shards import SINKS, ShardResult
from lawset.builders.pipeline.stages.split import Split, SplitRule, split_of
from lawset.builders.pipeline.stages.write import QUERY_SINKS, Write
from lawset.builders.pipeline.work import WorkFolder
from lawset.builders.recipe import Recipe, load_recipe


@pytest.fixture(scope="module")
def recipe() -> Recipe:
    return load_recipe()


def group_with_split(recipe: Recipe, split: str) -> Iterator[str]:
    """Group names whose hash sends them to ``split``."""
    return (g for g in (f"g{i}" for i in range(100_000)) if split_of(g, recipe) == split)


def query(i: str, group: str, source: str = "jec_qa", domain: str = "legal") -> dict:
    return {
        "id": i,
        "messages": [{"role": "user", "content": f"问{i}"}, {"role": "assistant", "content": "答"}],
        "task": "exam_knowledge_choice",
        "level": "understanding",
        "domain": domain,
        "source": source,
        "source_id": i,
        "license": "cc-by-4.0",
        "citations": [],
        "group": group,
    }


def shard(work: WorkFolder, n: int, rows: list[tuple[dict, bool]], stage2: set[str]) -> ShardResult:
    """A finished shard holding ``rows`` (record, held out) in stage 1, and those with an id in
    ``stage2`` in stage 2 as well."""
    folder = work.shard_folder(n)
    folder.mkdir(parents=True)
    writers = {sink: RunWriter(folder, sink, schema, 1000) for sink, schema in SINKS.items()}
    for r, held in rows:
        row = {**r, KEY: r["id"], HELD_OUT: held}
        writers["stage1"].add(row)
        if r["id"] in stage2:
            writers["stage2"].add(row)
    for w in writers.values():
        w.flush()
    domains: dict[str, int] = {}
    for r, _ in rows:
        domains[r["domain"]] = domains.get(r["domain"], 0) + 1
    return ShardResult(
        shard=n,
        units=1,
        runs={sink: [p.name for p in w.paths] for sink, w in writers.items()},
        rows={sink: w.rows for sink, w in writers.items()},
        records_read={"jec_qa": len(rows)},
        queries_by_domain=domains,
        held_out_queries={},
        held_out_groups=sorted({r["group"] for r, held in rows if held}),
        contamination_items=[],
        stats={"steps": {}, "counters": {}},
    )


def read_config(out: Path, config: str) -> dict[str, list[str]]:
    """split -> ids written, in file order."""
    found: dict[str, list[str]] = {}
    for f in sorted((out / "data" / config).glob("*.parquet")):
        found.setdefault(f.name.split("-")[0], []).extend(
            pq.read_table(f, columns=["id"]).column("id").to_pylist()
        )
    return found


def test_write_applies_dedup_mix_and_split_and_reports_each_drop_once(
    recipe: Recipe, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    OutputFolder(out).begin("fingerprint", "test")
    work = WorkFolder(out)
    trains = group_with_split(recipe, "train")
    held_group, plain, copy = next(trains), next(trains), next(trains)
    test_group = next(group_with_split(recipe, "test"))
    general = [query(f"n{k:02d}", f"gen{k}", "alpaca", "general") for k in range(40)]
    shards = [
        shard(
            work,
            0,
            [
                (query("a", held_group, "chatlaw_exam"), True),  # held out
                (query("b", held_group), False),  # its twin in another source
                (query("c", plain), False),
                (query("t", test_group, "chatlaw_exam"), True),  # held out, hashes to test
                *((g, False) for g in general[:20]),
            ],
            stage2={"a", "b", "c"},
        ),
        shard(
            work,
            1,
            [
                (query("c", plain), False),  # the same conversation made twice
                (query("d", copy), False),  # a near copy of c, found by dedup
                (query("u", test_group), False),  # shares a group hashing to test anyway
                *((g, False) for g in general[20:]),
            ],
            stage2={"c", "d"},
        ),
    ]
    opts = BuildOptions(sources=tmp_path, out=out, recipe=recipe, progress=False)
    plan = BuildPlan(units=[], problems=[], fingerprint="fingerprint", sources={})
    release = ReleaseContext.open(opts, plan, work, shards)
    duplicates = Duplicates({"d": {"reason": "near_duplicate", "kept": "c", "jaccard": 0.9}})
    mix = Mix().run(shards, 0.5)
    assert (mix.legal, mix.general) == (7, 40)
    filters = {sink: [FirstOfId(), duplicates, mix] for sink in QUERY_SINKS}
    written = Write(filters, Split().run(shards, recipe)).run(opts, plan, work, shards, release)
    release.close()

    kept_general = sorted(g["id"] for g in general if mix.verdict(g) is None)
    assert 0 < len(kept_general) < 40  # about 7 (as many as the legal rows) of 40
    stage1 = read_config(out, "stage1")
    assert stage1 == {
        "train": sorted(["c", *kept_general]),
        "test": ["a", "b", "t", "u"],
    }
    assert read_config(out, "stage2") == {"train": ["c"], "test": ["a", "b"]}
    assert written.twins == {"stage1": {"jec_qa": 1}, "stage2": {"jec_qa": 1}}
    assert written.mixes["stage1"]["domain"] == {"legal": 5, "general": len(kept_general)}
    assert written.manifest["configs"]["stage1"]["test"]["rows"] == 4

    steps = release.stats.steps
    over = 40 - len(kept_general)
    assert steps["write_stage1"] == {
        "in": 47,
        "out": 5 + len(kept_general),
        "dropped": {"duplicate_id": 1, "near_duplicate": 1, "over_general_ratio": over},
    }
    assert steps["write_stage2"] == {
        "in": 5,
        "out": 3,
        "dropped": {"duplicate_id": 1, "near_duplicate": 1},
    }
    assert steps["write_statutes"] == {"in": 0, "out": 0, "dropped": {}}
    assert steps["dedup"] == {"in": 0, "out": 0, "dropped": {"near_duplicate": 1}}
    assert release.stats.counters["held_out_twins_stage1"] == {"jec_qa": 1}

    def rejects(stage: str) -> list[dict]:
        path = out / "reports" / "rejects" / f"{stage}.jsonl"
        return [json.loads(line) for line in path.read_text("utf-8").splitlines()]

    (exact,) = rejects("dedup_exact")  # stage 2's copy of the drop is not kept again
    assert (exact["reason"], exact["record"]["id"]) == ("duplicate_id", "c")
    assert KEY not in exact["record"] and HELD_OUT not in exact["record"]
    (near,) = rejects("dedup")
    assert (near["record"]["id"], near["kept"], near["jaccard"]) == ("d", "c", 0.9)
    assert len(rejects("mix_general")) == over


def test_split_rule_sends_held_out_material_and_its_twins_to_test(recipe: Recipe) -> None:
    train = group_with_split(recipe, "train")
    held, other = next(train), next(train)
    test = next(group_with_split(recipe, "test"))
    rule = SplitRule(recipe, frozenset({held, test}))
    decide = rule.decide
    material = decide("stage1", {"group": held}, True)
    assert (material.split, material.twin) == ("test", False)
    twin = decide("stage1", {"group": held}, False)
    assert (twin.split, twin.twin) == ("test", True)
    # in test by its own hash: not moved, so not a twin
    assert decide("stage1", {"group": test}, False).twin is False
    assert decide("stage1", {"group": other}, False).split == "train"
    assert decide("statutes", {"id": "《某法》@2020-01-01/第1条"}, False).split == "train"


def test_general_mix_keeps_all_without_legal_rows_and_notes_a_shortfall() -> None:
    alone = GeneralMix(ratio=0.25, legal=0, general=10)
    assert alone.rate == 1.0
    assert alone.verdict(query("x", "g", "alpaca", "general")) is None
    short = GeneralMix(ratio=0.25, legal=1000, general=10)
    assert short.rate == 1.0
    assert "not enough general data" in short.report(kept=10)["note"]
    thin = GeneralMix(ratio=0.5, legal=10, general=40)
    assert thin.rate == 0.25
    assert thin.verdict(query("x", "g")) is None  # legal rows are never sampled


def test_first_of_id_drops_an_id_met_again() -> None:
    first = FirstOfId()
    verdicts = [first.verdict({"id": i}) for i in ("a", "a", "b", "b", "b", "c")]
    assert [v.reason if v else None for v in verdicts] == [
        None,
        "duplicate_id",
        None,
        "duplicate_id",
        "duplicate_id",
        None,
    ]


def test_shard_result_is_the_marker_written_atomically(tmp_path: Path) -> None:
    result = ShardResult(
        shard=3,
        units=2,
        runs={"stage1": ["stage1-00000.parquet"], "stage2": [], "statutes": []},
        rows={"stage1": 5, "stage2": 0, "statutes": 0},
        records_read={"jec_qa": 5},
        queries_by_domain={"legal": 5},
        held_out_queries={"chatlaw_exam": 1},
        held_out_groups=["g1"],
        contamination_items=["lawbench/1-2#7"],
        stats={"steps": {"read": {"in": 5, "out": 5, "dropped": {}}}, "counters": {}},
    )
    marker = tmp_path / "00003.json"
    result.save(marker)
    assert [p.name for p in tmp_path.iterdir()] == ["00003.json"]
    assert ShardResult.load(marker) == result
