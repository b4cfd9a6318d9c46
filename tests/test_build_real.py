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


def test_full_statute_build(shared_raw: Path, tmp_path: Path) -> None:
    out = tmp_path / "full"
    run_lawset(
        "build",
        "--sources",
        shared_raw,
        "--out",
        out,
        "--only",
        "laws",
        "--workers",
        "2",
        "--no-progress",
    )
    stage1 = load_dataset(str(out), "stage1")
    statutes = load_dataset(str(out), "statutes", split="train")
    assert sum(len(s) for s in stage1.values()) >= 150_000
    assert len(statutes) >= 70_000
    assert set(stage1) == {"train", "validation", "test"}
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
    stats = json.loads((out / "reports" / "stats.json").read_text("utf-8"))
    assert stats["steps"]["read"]["dropped"]["duplicate_file"] == 3
    assert stats["steps"]["read"]["dropped"]["duplicate_version"] == 1  # 广告法 in two folders
    assert not stats["steps"]["write_stage1"]["dropped"]
    assert len(set(statutes["id"])) == len(statutes)
    assert stats["steps"]["read"]["dropped"]["no_article_structure"] >= 80
    assert stats["steps"]["read"]["dropped"]["not_a_statute"] == 52  # 案例: court cases
    assert "案例" not in set(statutes["category"])


# A sample big enough to take several seconds, cut into many shards so a kill lands mid-way.
SAMPLE = ("--only", "laws", "--limit", "500", "--no-progress")


@pytest.fixture(scope="module")
def many_shards_recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lawset.builders.recipe import load_recipe

    recipe = load_recipe().model_dump(mode="json")
    recipe["execution"]["shards"] = 40
    recipe["steps"] = [{"name": s["name"], **s["params"]} for s in recipe["steps"]]
    path = tmp_path_factory.mktemp("recipe") / "many_shards.yaml"
    path.write_text(json.dumps(recipe, ensure_ascii=False), encoding="utf-8")
    return path


def test_two_builds_are_byte_identical(
    shared_raw: Path, tmp_path: Path, many_shards_recipe: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    run_lawset(
        "build", "--sources", shared_raw, "--out", a, "--recipe", many_shards_recipe, *SAMPLE
    )
    run_lawset(
        "build",
        "--sources",
        shared_raw,
        "--out",
        b,
        "--recipe",
        many_shards_recipe,
        *SAMPLE,
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
    shared_raw: Path, tmp_path: Path, many_shards_recipe: Path, workers: str
) -> None:
    ref, out = tmp_path / "ref", tmp_path / "killed"
    args = ["--sources", shared_raw, "--recipe", many_shards_recipe, *SAMPLE, "--workers", workers]
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
