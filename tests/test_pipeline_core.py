"""Pipeline core: filters answer keep or drop-with-reason, the runner counts and keeps rejects."""

from __future__ import annotations

import json
from pathlib import Path

from lawset.builders.pipeline.base import Context, Filter, Mapper, Stats
from lawset.builders.pipeline.executor import split_of
from lawset.builders.recipe import load_recipe
from lawset.builders.records import QUERIES


class EvenOnly(Filter):
    name = "even_only"
    applies_to = QUERIES

    def keep(self, record: dict) -> bool | str:
        return True if record["n"] % 2 == 0 else "odd"


class Double(Mapper):
    name = "double"
    applies_to = QUERIES

    def map(self, record: dict, ctx: Context) -> dict:
        return {**record, "n": record["n"] * 2}


def test_filter_counts_and_keeps_rejects(tmp_path: Path) -> None:
    ctx = Context(0, tmp_path / "rejects.jsonl")
    records = [{"kind": "query", "n": n} for n in range(5)] + [{"kind": "article", "n": 1}]
    stream = EvenOnly().run([records[:3], records[3:]], ctx)
    out = [r for batch in Double().run(stream, ctx) for r in batch]
    ctx.close()
    assert [r["n"] for r in out] == [0, 4, 8, 1]  # the article passes both steps untouched
    assert ctx.stats.steps["even_only"] == {"in": 5, "out": 3, "dropped": {"odd": 2}}
    assert ctx.stats.steps["double"] == {"in": 3, "out": 3, "dropped": {}}
    rejects = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [(r["step"], r["reason"], r["record"]["n"]) for r in rejects] == [
        ("even_only", "odd", 1),
        ("even_only", "odd", 3),
    ]


def test_stats_merge_sums_shards() -> None:
    a, b = Stats(), Stats()
    a.step("s")["in"] += 2
    a.drop("s", "x")
    b.step("s")["in"] += 3
    b.drop("s", "x", 2)
    b.drop("s", "y")
    b.count("tasks", "t")
    total = Stats()
    total.merge(a.to_dict())
    total.merge(b.to_dict())
    assert total.to_dict() == {
        "steps": {"s": {"in": 5, "out": 0, "dropped": {"x": 3, "y": 1}}},
        "counters": {"tasks": {"t": 1}},
    }


def test_split_is_a_function_of_the_group() -> None:
    recipe = load_recipe()
    splits = [split_of(f"statute:某法/第{i}条", recipe) for i in range(20_000)]
    assert splits == [split_of(f"statute:某法/第{i}条", recipe) for i in range(20_000)]
    share = {s: splits.count(s) / len(splits) for s in ("train", "validation", "test")}
    assert 0.97 < share["train"] < 0.99
    assert 0.007 < share["validation"] < 0.013 and 0.007 < share["test"] < 0.013
