"""`lawset build` end to end on a hand-written sources tree: outputs, reports and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from conftest import Built, read_jsonl, run_lawset
from datasets import load_dataset


def test_build_writes_hub_layout_that_load_dataset_reads(laws_release: Built) -> None:
    out = laws_release.out
    assert f"release candidate written to {out}/" in laws_release.stdout

    stage1 = load_dataset(str(out), "stage1")
    statutes = load_dataset(str(out), "statutes", split="train")
    rows = [r for split in stage1.values() for r in split]
    assert sorted({r["task"] for r in rows}) == [
        "article_chapter",
        "article_fill_in",
        "article_identification",
        "article_items",
        "article_recitation",
    ]
    # 7 articles of 示例法: 2 of the 2001 version, 5 of the 2021 version; the duplicate file
    # adds none. The repealed 合同法 is indexed, marked, and taught nowhere.
    assert len(statutes) == 8
    (contract,) = [r for r in statutes if r["law"] == "中华人民共和国合同法"]
    assert (contract["repealed_on"], contract["repealed_by"]) == (
        "2021-01-01",
        "中华人民共和国民法典",
    )
    assert contract["path"] == ["第一章 一般规定"]
    assert not any("合同法" in r["messages"][0]["content"] for s in stage1.values() for r in s)
    statutes = statutes.filter(lambda r: r["law"] == "中华人民共和国示例法")
    assert {r["repealed_on"] for r in statutes} == {""}
    latest = {(r["article"], r["sub"]) for r in statutes if r["is_latest"]}
    assert latest == {(1, 0), (2, 0), (2, 1), (3, 0), (4, 0)}
    art = next(r for r in statutes if r["label"] == "第二条之一")
    assert art["items"] == ["（一）遵守法律、行政法规；", "（二）尊重社会公德，不得损害公共利益。"]
    assert art["path"] == ["第一章 总则"]
    assert art["version"] == "2021-06-10"

    # Only the latest version is taught, deleted articles make no task, every answer cites.
    for r in rows:
        assert r["level"] == "memorization" and r["domain"] == "legal"
        (cit,) = r["citations"]
        assert cit["version"] == "2021-06-10" and cit["verified"]
        assert (cit["article"], cit["sub"]) != (3, 0)
        label = "第二条之一" if cit["sub"] else None
        assert r["messages"][-1]["content"].endswith(
            f"法条：《中华人民共和国示例法》{label or r['group'].split('/')[-1]}"
        )
        assert r["group"].startswith("statute:中华人民共和国示例法/")
    recite = [r for r in rows if r["task"] == "article_recitation"]
    assert len(recite) == 4
    one = next(r for r in recite if r["citations"][0]["article"] == 1)
    assert one["messages"][1]["content"] == (
        "《中华人民共和国示例法》第一条规定：\n"
        "为了规范示例行为，保护当事人的合法权益，促进示例事业健康发展，制定本法。\n\n"
        "法条：《中华人民共和国示例法》第一条"
    )
    # Queries about one article never straddle splits.
    split_of_group: dict[str, str] = {}
    for split, ds in stage1.items():
        for r in ds:
            assert split_of_group.setdefault(r["group"], split) == split

    # The card's front matter lists configs, splits and features.
    card = (out / "README.md").read_text("utf-8")
    front = yaml.safe_load(card.split("---\n")[1])
    assert {c["config_name"] for c in front["configs"]} == {"stage1", "stage2", "statutes"}
    assert front["language"] == ["zh"] and front["license"] == "other"
    info = {i["config_name"]: i for i in front["dataset_info"]}
    assert sum(s["num_examples"] for s in info["stage1"]["splits"]) == len(rows)
    assert [f["name"] for f in info["statutes"]["features"]][:3] == ["id", "law", "category"]

    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    listed = {f["path"] for f in manifest["files"]}
    assert listed == {p.relative_to(out).as_posix() for p in out.glob("data/*/*.parquet")}
    assert manifest["sources"]["laws"]["commit"].startswith("2f4c5c2")
    assert not (out / ".lawset-work").exists()


def test_bad_files_are_reported_and_the_rest_is_built(laws_release: Built) -> None:
    out = laws_release.out
    problems = {r["file"]: r for r in read_jsonl(out / "reports" / "rejects" / "read.jsonl")}
    assert {f: p["reason"] for f, p in problems.items()} == {
        "示例/旧编码法.md": "not_utf8",
        "示例/空文件.md": "empty_file",
        "示例/截断.md": "no_title",
        "示例/示例法修正案.md": "no_article_structure",
        "示例/示例法(2021-06-10).md": "duplicate_file",
        "示例/示例法(2001-03-01).md": "duplicate_version",
        "案例/某案.md": "not_a_statute",
    }
    assert (
        "same law and version as 其他/示例法(2001-03-01).md"
        in (problems["示例/示例法(2001-03-01).md"]["message"])
    )
    assert "示例/旧编码法.md" in problems["示例/旧编码法.md"]["message"]
    assert "UTF-8" in problems["示例/旧编码法.md"]["message"]
    assert "7 source files or records could not be used" in laws_release.stdout
    assert "示例/旧编码法.md: not_utf8" in laws_release.stdout

    stats = json.loads((out / "reports" / "stats.json").read_text("utf-8"))
    assert stats["steps"]["read"]["dropped"] == {
        "duplicate_file": 1,
        "duplicate_version": 1,
        "empty_file": 1,
        "no_article_structure": 1,
        "no_title": 1,
        "not_a_statute": 1,
        "not_utf8": 1,
    }
    assert stats["steps"]["latest_version"]["dropped"] == {"superseded_version": 2}
    assert stats["steps"]["article_content"]["dropped"] == {"deleted_article": 1}
    assert stats["steps"]["in_force"]["dropped"] == {"repealed_law": 1}
    rejected = read_jsonl(out / "reports" / "rejects" / "article_content.jsonl")
    assert [(r["reason"], r["record"]["label"]) for r in rejected] == [
        ("deleted_article", "第三条")
    ]
    total = sum(stats["configs"]["stage1"].values())
    assert total == sum(stats["mix"]["task"].values()) > 0


def test_missing_sources_folder_is_a_clear_error(tmp_path: Path) -> None:
    proc = run_lawset("build", "--sources", tmp_path / "nope", "--out", tmp_path / "o", check=False)
    assert proc.returncode == 2
    assert "nope: folder not found" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_missing_source_folder_inside_sources_is_named(tmp_path: Path, laws_recipe: Path) -> None:
    (tmp_path / "raw").mkdir()
    proc = run_lawset(
        "build",
        "--sources",
        tmp_path / "raw",
        "--out",
        tmp_path / "o",
        "--recipe",
        laws_recipe,
        check=False,
    )
    assert proc.returncode == 2
    assert "laws/LawRefBook-Laws: source folder not found" in proc.stderr
    assert "sources.laws.path" in proc.stderr


def test_unknown_only_category_is_refused(sources: Path, tmp_path: Path) -> None:
    proc = run_lawset(
        "build", "--sources", sources, "--out", tmp_path / "o", "--only", "statutes", check=False
    )
    assert proc.returncode == 2
    assert "unknown category statutes" in proc.stderr


def test_only_category_absent_from_recipe_is_refused(
    sources: Path, tmp_path: Path, laws_recipe: Path
) -> None:
    proc = run_lawset(
        "build",
        "--sources",
        sources,
        "--out",
        tmp_path / "o",
        "--recipe",
        laws_recipe,
        "--only",
        "cases",
        check=False,
    )
    assert proc.returncode == 2
    assert "no source of that category (it has: laws)" in proc.stderr


def test_refuses_a_non_empty_foreign_output_folder(sources: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    proc = run_lawset("build", "--sources", sources, "--out", out, check=False)
    assert proc.returncode == 2
    assert "holds no lawset build" in proc.stderr
    assert (out / "precious.txt").read_text() == "keep me"


def test_limit_takes_a_deterministic_sample(
    sources: Path, tmp_path: Path, laws_recipe: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    r = ("--recipe", laws_recipe)
    run_lawset("build", "--sources", sources, "--out", a, "--limit", "1", "--only", "laws", *r)
    run_lawset("build", "--sources", sources, "--out", b, "--limit", "1", "--only", "laws", *r)
    statutes = load_dataset(str(a), "statutes", split="train")
    assert len({r["source_file"] for r in statutes}) == 1
    assert (a / "manifest.json").read_bytes() == (b / "manifest.json").read_bytes()


def test_help_lists_the_build_options() -> None:
    proc = run_lawset("build", "--help")
    for flag in ("--sources", "--out", "--recipe", "--only", "--limit", "--workers"):
        assert flag in proc.stdout


def test_a_second_build_into_a_busy_folder_is_refused(
    sources: Path, tmp_path: Path, laws_recipe: Path
) -> None:
    import fcntl

    out = tmp_path / "o"
    (out / ".lawset-work").mkdir(parents=True)
    with open(out / ".lawset-work" / "lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a build that is still running
        proc = run_lawset("build", "--sources", sources, "--out", out, check=False)
    assert proc.returncode == 2
    assert "another lawset build is writing there" in proc.stderr
    run_lawset("build", "--sources", sources, "--out", out, "--recipe", laws_recipe)  # free again


def test_missing_benchmarks_folder_is_a_clear_error(
    sources: Path, tmp_path: Path, laws_recipe: Path
) -> None:
    proc = run_lawset(
        "build",
        "--recipe",
        laws_recipe,
        "--sources",
        sources,
        "--out",
        tmp_path / "o",
        "--only",
        "laws",
        "--benchmarks",
        tmp_path / "nope",
        check=False,
    )
    assert proc.returncode == 2
    assert "--benchmarks" in proc.stderr and "decontaminate" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_indexes_are_cached_between_builds_without_changing_a_byte(
    sources: Path, tmp_path: Path, laws_recipe: Path
) -> None:
    """The statute catalog and the decontamination index are built once and reused by the next
    build of the same sources; a cached build writes the same files as an uncached one."""
    cache = {"LAWSET_CACHE_DIR": str(tmp_path / "cache")}
    args = ("--sources", sources, "--recipe", laws_recipe, "--no-progress")
    run_lawset("build", "--out", tmp_path / "a", *args, env=cache)
    run_lawset("build", "--out", tmp_path / "b", *args, env=cache)
    run_lawset("build", "--out", tmp_path / "c", *args, env={"LAWSET_CACHE_DIR": "off"})
    hits = [
        json.loads((tmp_path / o / "reports" / "timings.json").read_text())["index_cache_hits"]
        for o in "abc"
    ]
    assert hits == [
        {"catalog": False, "eval_index": False},
        {"catalog": True, "eval_index": True},
        {"catalog": False, "eval_index": False},
    ]
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "cache").iterdir()) == [
        "catalog",
        "eval_index",
    ]
    for o in "bc":
        for f in ("manifest.json", "README.md", "reports/stats.json"):
            assert (tmp_path / o / f).read_bytes() == (tmp_path / "a" / f).read_bytes()
    # A changed statute file is a new key: the next build makes fresh indexes.
    law = next((sources / "laws").rglob("示例法(2021-06-10).md"))
    law.write_text(law.read_text("utf-8") + "\n第五条 新增的条文。\n", encoding="utf-8")
    run_lawset("build", "--out", tmp_path / "d", *args, env=cache)
    d = json.loads((tmp_path / "d" / "reports" / "timings.json").read_text())
    assert d["index_cache_hits"] == {"catalog": False, "eval_index": False}
