"""`lawset build` on the real statutes in ../shared: size, determinism, resume after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import run_lawset
from datasets import load_dataset


def data_files(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.glob("data/*/*.parquet"))
    }


@pytest.fixture(scope="module")
def full_build(shared_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build of every source with the default recipe (the README's command)."""
    out = tmp_path_factory.mktemp("full") / "candidate"
    run_lawset("build", "--sources", shared_raw, "--out", out, "--workers", "2", "--no-progress")
    return out


def stats_of(out: Path) -> dict:
    return json.loads((out / "reports" / "stats.json").read_text("utf-8"))


def column(out: Path, config: str, split: str, name: str) -> list:
    import pyarrow.parquet as pq

    return [
        v
        for f in sorted((out / "data" / config).glob(f"{split}-*.parquet"))
        for v in pq.read_table(f, columns=[name]).column(name).to_pylist()
    ]


def test_full_build_statute_index(full_build: Path) -> None:
    out = full_build
    statutes = load_dataset(str(out), "statutes", split="train")
    assert len(statutes) >= 70_000
    # 刑法第二百六十四条 is in the index and is recited with the right text.
    theft = statutes.filter(lambda r: r["law"] == "中华人民共和国刑法" and r["article"] == 264)
    assert len(theft) == 1 and theft[0]["text"].startswith("盗窃公私财物")
    assert theft[0]["path"] == ["第二编 分则", "第五章 侵犯财产罪"]
    # Every version of a law is kept, and exactly one of them is the latest.
    civil_procedure = statutes.filter(
        lambda r: r["law"] == "中华人民共和国民事诉讼法" and r["article"] == 1
    )
    assert sorted((r["version"], r["is_latest"]) for r in civil_procedure) == [
        ("2021-12-24", False),
        ("2023-09-01", True),
    ]
    stats = stats_of(out)
    assert stats["steps"]["read"]["dropped"]["duplicate_file"] == 3
    assert stats["steps"]["read"]["dropped"]["duplicate_version"] == 1  # 广告法 in two folders
    assert len(set(statutes["id"])) == len(statutes)
    assert stats["steps"]["read"]["dropped"]["no_article_structure"] >= 80
    assert stats["steps"]["read"]["dropped"]["not_a_statute"] == 52  # 案例: court cases
    assert "案例" not in set(statutes["category"])


def test_full_build_covers_every_source_task_and_level(full_build: Path) -> None:
    from lawset.builders.pipeline.base import STEPS
    from lawset.builders.recipe import load_recipe

    stats = stats_of(full_build)
    recipe = load_recipe()
    assert set(stats["sources"]) == set(recipe.sources)  # all 23 sources were read
    # Every source but the excluded one contributes rows to stage 1.
    excluded = {n for n, s in recipe.sources.items() if s.held_out == "exclude"}
    assert set(stats["rows_by_source_task"]) == set(recipe.sources) - excluded
    tasks = stats["mix"]["task"]
    assert len(tasks) >= 15
    levels = {STEPS[t].level for t in tasks}
    assert {"memorization", "understanding", "application", "general"} <= levels
    assert set(stats["mix"]["level"]) == {"memorization", "understanding", "application", "general"}
    # General data is in stage 1 and never in stage 2.
    assert stats["mix"]["domain"]["general"] > 30_000
    assert "general" not in stats["stage2_mix"]["domain"]
    assert set(column(full_build, "stage2", "train", "domain")) == {"legal"}
    # Citations were checked against the index: almost all verify.
    cites = stats["counters"]["citations"]
    assert cites["current"] > 100 * (cites.get("unknown_article", 0) + cites.get("unknown_law", 0))
    assert stats["counters"]["pii"]["name"] > 1000


def test_no_evaluation_material_in_train_or_validation(full_build: Path) -> None:
    from lawset.builders.recipe import load_recipe

    recipe = load_recipe()
    whole = {n for n, s in recipe.sources.items() if s.held_out == "test" and not s.held_out_files}
    assert {"disc_law_eval", "chatlaw_exam", "judge", "lecard", "lecardv2"} <= whole
    excluded = {n for n, s in recipe.sources.items() if s.held_out == "exclude"}
    for config in ("stage1", "stage2"):
        for split in ("train", "validation"):
            sources = set(column(full_build, config, split, "source"))
            assert not sources & (whole | excluded), (config, split)
    # Per-file policies: the CAIL2019 test file's questions are only in test.
    pairs = zip(
        column(full_build, "stage1", "train", "source"),
        column(full_build, "stage1", "train", "source_id"),
        strict=True,
    )
    cail2019 = [i for src, i in pairs if src == "cail2019"]
    assert cail2019 and not [i for i in cail2019 if i.startswith("test/")]
    stats = stats_of(full_build)
    assert stats["held_out"]["cail2019"]["queries_in_test"] >= 5000
    assert stats["steps"]["held_out"]["dropped"]["held_out_excluded"] >= 11_000  # LexEval


# A sample big enough to take several seconds, cut into many shards so a kill lands mid-way.
SAMPLE = ("--only", "laws", "--limit", "300", "--no-progress")


@pytest.fixture(scope="module")
def many_shards_recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lawset.builders.recipe import load_recipe

    recipe = load_recipe().model_dump(mode="json")
    recipe["execution"]["shards"] = 40
    recipe["steps"] = [{"name": s["name"], **s["params"]} for s in recipe["steps"]]
    path = tmp_path_factory.mktemp("recipe") / "many_shards.yaml"
    path.write_text(json.dumps(recipe, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def resume_recipe(many_shards_recipe: Path) -> Path:
    """The many-shards recipe without decontamination: the resume tests build four times."""
    recipe = json.loads(many_shards_recipe.read_text("utf-8"))
    recipe["steps"] = [s for s in recipe["steps"] if s["name"] != "decontaminate"]
    path = many_shards_recipe.with_name("resume.yaml")
    path.write_text(json.dumps(recipe, ensure_ascii=False), encoding="utf-8")
    return path


def test_two_builds_are_byte_identical(
    shared_raw: Path, tmp_path: Path, many_shards_recipe: Path
) -> None:
    """Every source (a deterministic sample of each), 1 worker and 2: the same bytes."""
    a, b = tmp_path / "a", tmp_path / "b"
    sample = ("--limit", "150", "--no-progress")
    run_lawset(
        "build", "--sources", shared_raw, "--out", a, "--recipe", many_shards_recipe, *sample
    )
    run_lawset(
        "build",
        "--sources",
        shared_raw,
        "--out",
        b,
        "--recipe",
        many_shards_recipe,
        *sample,
        "--workers",
        "2",
    )
    files = data_files(a)
    assert len(files) >= 4
    assert files == data_files(b)
    assert (a / "manifest.json").read_bytes() == (b / "manifest.json").read_bytes()
    assert (a / "README.md").read_bytes() == (b / "README.md").read_bytes()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_killed_build_resumes_to_the_same_files(
    shared_raw: Path, tmp_path: Path, resume_recipe: Path, workers: str
) -> None:
    ref, out = tmp_path / "ref", tmp_path / "killed"
    args = ["--sources", shared_raw, "--recipe", resume_recipe, *SAMPLE, "--workers", workers]
    run_lawset("build", "--out", ref, *args)

    proc = subprocess.Popen(
        [sys.executable, "-m", "lawset.builders.cli", "build", "--out", str(out), *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin"},
    )
    markers = out / ".lawset-work" / "markers"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if markers.is_dir() and len(list(markers.glob("*.json"))) >= 5:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the build finished before it could be killed"
    workers_of_killed = psutil.Process(proc.pid).children(recursive=True)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # Worker processes end with their parent instead of writing on beside the rerun.
    gone, alive = psutil.wait_procs(workers_of_killed, timeout=10)
    assert not alive
    done = len(list(markers.glob("*.json")))
    assert 5 <= done < 40
    assert not (out / "manifest.json").exists()

    resumed = run_lawset("build", "--out", out, *args)
    assert f"resuming: {done} of 40 shards already done" in resumed.stderr
    assert data_files(out) == data_files(ref)
    assert (out / "manifest.json").read_bytes() == (ref / "manifest.json").read_bytes()


def test_full_build_is_decontaminated_and_leak_free(full_build: Path, shared_raw: Path) -> None:
    """No kept record covers half of a LawBench question's own 20-character shingles (statute
    text excluded), nor of a held-out evaluation item outside test; duplicates never cross
    splits; and what was removed is reported per benchmark, source and task."""
    from lawset.builders.decontam import EvalIndex

    report = json.loads((full_build / "reports" / "contamination.json").read_text("utf-8"))
    # JEC-QA alone holds every LawBench 1-2 question: (almost) all are found and removed.
    assert report["benchmarks"]["lawbench/1-2"]["items_hit"] >= 490
    assert report["removed"]["by_source_task"]["jec_qa"]["exam_knowledge_choice"] >= 490
    leakage = json.loads((full_build / "reports" / "leakage.json").read_text("utf-8"))
    assert leakage["passed"] is True and leakage["rows_checked"] > 300_000
    # Recompute on a tenth of what was released, with the build's own index (LawBench and the
    # held-out sources, statute text excluded): nothing outside test hits anything, and nothing
    # in test hits LawBench.
    from lawset.builders.pipeline.executor import build_eval_index_for
    from lawset.builders.recipe import load_recipe

    index: EvalIndex = build_eval_index_for(
        load_recipe(), shared_raw, shared_raw.parent / "benchmarks"
    )
    for split in ("train", "validation", "test"):
        msgs = column(full_build, "stage1", split, "messages")[::10]
        texts = ["\n".join(m["content"] for m in conv) for conv in msgs]
        skip = ("heldout/",) if split == "test" else ()
        hits = [
            h
            for lo in range(0, len(texts), 5000)
            for h in index.hits_batch(texts[lo : lo + 5000], skip)
        ]
        assert [h for h in hits if h] == [], split
