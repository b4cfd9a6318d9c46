"""`lawset release`: two releases in a row, their manifests, changelog and tags; the card; refusals;
``--verify``.

One module-scoped *world* costs two builds, two validations and two releases: a hand-written
sources tree of 16 small statutes (laws only, so a build takes seconds), v0.1.0 built with a
recipe, then v0.2.0 after a recipe change (the ``article_chapter`` task removed and the statute
source's license text changed, so the changelog has removed rows *and* changed rows). Validation
runs with thresholds relaxed for diversity (a laws-only release has one LawBench level), so the
gate itself runs in full. ``--verify`` rebuilds once; the failing cases reuse that rebuild.
Everything lives in a temporary project, never in the repository's own ``releases/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, run_lawset
from lawset.builders import cli
from lawset.validators.config import recipe_facts

PHRASES = [
    "国家建立健全统一的监督管理制度",
    "县级以上人民政府应当加强组织领导",
    "任何单位和个人不得非法干预",
    "违反本法规定的由主管部门责令改正",
    "情节严重的处五万元以上二十万元以下罚款",
    "构成犯罪的依法追究刑事责任",
    "当事人对处罚决定不服的可以依法申请行政复议",
    "国务院有关部门按照职责分工负责相关工作",
    "鼓励社会力量参与公益事业",
    "经营者应当遵循自愿平等公平诚信的原则",
    "公民的人身权利和财产权利受法律保护",
    "未成年人的合法权益应当受到特别保护",
    "有关部门应当在三十日内作出书面答复",
    "申请人应当提交真实完整的材料",
    "登记机关应当自受理之日起十五日内办理登记",
    "禁止以欺诈胁迫等手段订立合同",
    "用人单位应当依法为劳动者缴纳社会保险费",
    "因不可抗力不能履行义务的不承担责任",
    "国家保障农村集体经济组织的合法权益",
    "生产经营单位应当建立安全生产责任制",
    "行政机关应当依法公开政府信息",
    "检察机关依法对诉讼活动实行法律监督",
    "人民法院依照法律规定独立行使审判权",
    "个人信息的处理应当具有明确合理的目的",
    "环境保护坚持保护优先预防为主的原则",
    "食品生产者对其生产的食品安全负责",
    "道路交通安全工作实行依法管理",
    "教育应当为社会主义现代化建设服务",
    "医疗机构应当对患者的隐私保密",
    "著作权人享有发表权署名权和修改权",
]
NAMES = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳"
CERTIFICATE = {"model": "tiny", "passed": True, "lawbench_average": 12.5, "tasks": {"1-1": 3.0}}


def write_sources(root: Path) -> Path:
    """16 statutes of 3 articles each, made of shuffled legal phrases (no near duplicates)."""
    laws = root / "raw" / "laws" / "LawRefBook-Laws" / "测试"
    laws.mkdir(parents=True)
    rng = random.Random(7)
    for i, name in enumerate(NAMES):
        articles = [
            f"第{'一二三'[k]}条 " + "，".join(rng.sample(PHRASES, 3)) + "。" for k in range(3)
        ]
        (laws / f"测试{name}法(2010-{i % 12 + 1:02d}-01).md").write_text(
            f"# 中华人民共和国测试{name}法\n\n2010年{i % 12 + 1}月1日 第十一届全国人民代表大会常务"
            "委员会通过\n\n<!-- INFO END -->\n\n## 第一章 总则\n\n" + "\n\n".join(articles) + "\n",
            encoding="utf-8",
        )
    bench = root / "benchmarks" / "lawbench" / "data" / "zero_shot"
    bench.mkdir(parents=True)
    item = {
        "instruction": "请选出正确答案。",
        "question": "下列哪项正确？A:甲;B:乙",
        "answer": "正确答案：A。",
    }
    (bench / "1-2.json").write_text(json.dumps([item], ensure_ascii=False), encoding="utf-8")
    return root / "raw"


def recipes(root: Path) -> tuple[Path, Path]:
    data = yaml.safe_load((REPO / "builders" / "recipes" / "default.yaml").read_text("utf-8"))
    data["sources"] = {"laws": data["sources"]["laws"]}
    data["stage2"]["sources"] = ["laws"]
    data["splits"] = {"validation": 0.2, "test": 0.2, "salt": "release-test"}
    v1 = root / "recipe-v1.yaml"
    v1.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    data["steps"] = [
        s for s in data["steps"] if (s if isinstance(s, str) else s["name"]) != "article_chapter"
    ]
    data["sources"]["laws"]["license"] = "public domain (statutes, PRC Copyright Law Art. 5)"
    v2 = root / "recipe-v2.yaml"
    v2.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return v1, v2


def thresholds(root: Path, recipe: Path) -> Path:
    """Diversity bounds a laws-only release cannot meet, relaxed; every other check as shipped."""
    from lawset.builders.recipe import load_recipe

    any_share = [0.0, 1.0]
    levels = {"memorization": any_share, "understanding": any_share, "application": any_share}
    data = {
        "diversity": {
            "min_task_entropy": {"stage1": 0.0, "stage2": 0.0},
            "max_task_share": {"stage1": 1.0, "stage2": 1.0},
            "level_share": {"stage1": levels, "stage2": levels},
            "min_general_share": 0.0,
            "optional_tasks": sorted(recipe_facts(load_recipe(recipe)).tasks),
        }
    }
    path = root / "thresholds.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def lawset(*args: str | Path) -> tuple[int, str, str]:
    """``lawset ARGS`` in this process (release/publish registered as the lead will register
    them): exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main([str(a) for a in args])
        except SystemExit as exc:  # --help
            rc = int(exc.code or 0)
    return rc, out.getvalue(), err.getvalue()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def split_rows(folder: Path) -> dict[tuple[str, str], dict[str, str]]:
    """(config, split) -> id -> the row as canonical JSON."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    for f in sorted(folder.glob("data/*/*.parquet")):
        key = (f.parent.name, f.name.split("-")[0])
        for row in pq.read_table(f).to_pylist():
            out.setdefault(key, {})[row["id"]] = json.dumps(row, sort_keys=True, default=str)
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("release")
    raw = write_sources(root)
    v1, v2 = recipes(root)
    project = root / "project"
    (project / "releases").mkdir(parents=True)
    cert = root / "certificate.json"
    cert.write_text(json.dumps(CERTIFICATE), encoding="utf-8")
    w = {"root": root, "raw": raw, "v1": v1, "v2": v2, "project": project, "cert": cert}
    for name, recipe, version in (("c1", v1, "0.1.0"), ("c2", v2, "0.2.0")):
        out = root / name
        run_lawset("build", "--sources", raw, "--out", out, "--recipe", recipe, "--no-progress")
        w[f"{name}_rows"] = split_rows(out)  # type: ignore[assignment]
        th = thresholds(root, recipe)
        run_lawset("validate", out, "--recipe", recipe, "--thresholds", th)
        extra = ["--certificate", cert] if version == "0.2.0" else []
        # the data repository is left to its default: ../lawset-data beside the project
        rc, stdout, stderr = lawset(
            "release", out, "--version", version, "--project", project, "--recipe", recipe, *extra
        )
        assert rc == 0, stderr
        w[f"{name}_stdout"] = stdout  # type: ignore[assignment]
        w[name] = out
    w["data_repo"] = root / "lawset-data"
    yield w


def test_two_releases_write_manifests_tags_and_a_changelog_by_id(world: dict) -> None:
    project, repo = world["project"], world["data_repo"]
    assert sorted(p.name for p in (project / "releases").iterdir()) == [
        "CHANGELOG.md",
        "v0.1.0.json",
        "v0.2.0.json",
    ]
    assert git(repo, "tag", "--list").split() == ["v0.1.0", "v0.2.0"]
    assert "tag v0.2.0" in world["c2_stdout"] and "releases/v0.2.0.json" in world["c2_stdout"]
    m1 = json.loads((project / "releases" / "v0.1.0.json").read_text("utf-8"))
    m2 = json.loads((project / "releases" / "v0.2.0.json").read_text("utf-8"))
    assert m1["previous"] is None and m2["previous"] == "0.1.0"
    assert m2["data_repo"] == {
        "path": "../lawset-data",
        "commit": git(repo, "rev-parse", "v0.2.0^{commit}").strip(),
        "tag": "v0.2.0",
    }
    # what the manifest records
    assert m2["recipe"]["text"] == world["v2"].read_text("utf-8")
    assert m2["recipe"]["sha256"] != m1["recipe"]["sha256"]
    assert m2["options"] == {"only": None, "limit": None}
    assert m2["sources"]["laws"]["path"] == "laws/LawRefBook-Laws"  # relative, never absolute
    assert m2["sources"]["laws"]["commit"].startswith("2f4c5c2")
    assert set(m2["libraries"]) >= {"pyarrow", "datasets"} and m2["lawset_version"]
    assert m2["validation"]["passed"] and m2["validation"]["expectations_failed"] == 0
    assert m2["validation"]["thresholds"] == "custom"
    assert m2["rewrite_models"] == {}
    raw_cert = world["cert"].read_bytes()
    assert m2["certification"] == {
        "file": "reports/certificate.json",
        "sha256": hashlib.sha256(raw_cert).hexdigest(),
        "summary": {"model": "tiny", "passed": True, "lawbench_average": 12.5},
    }
    assert m1["certification"] is None
    # every file with its sha256, and exactly the files the tag holds
    files = {f["path"]: f for f in m2["files"]}
    tagged = set(git(repo, "ls-tree", "-r", "--name-only", "v0.2.0").split("\n")) - {""}
    assert set(files) == tagged
    for f in files.values():
        assert f["sha256"] == hashlib.sha256((world["c2"] / f["path"]).read_bytes()).hexdigest()
    assert not any(p.startswith(("reports/rejects/", ".lawset-work")) for p in files)
    assert {"README.md", "manifest.json", "recipe.yaml", "reports/certificate.json"} <= set(files)
    assert not files["reports/certificate.json"]["reproducible"]
    assert files["data/stage1/train-00000-of-00001.parquet"]["reproducible"]
    # rows per config and split, and the task mix
    c2 = world["c2_rows"]
    for (config, split), rows in c2.items():
        assert m2["configs"][config][split]["rows"] == len(rows)
    assert "article_chapter" in m1["mix"]["stage1"]["task"]
    assert "article_chapter" not in m2["mix"]["stage1"]["task"]

    # the changelog, counted independently from both candidates' parquet files
    c1 = world["c1_rows"]
    removed_total = changed_total = 0
    for key in sorted(set(c1) | set(c2)):
        old, new = c1.get(key, {}), c2.get(key, {})
        want = {
            "rows_before": len(old),
            "rows_after": len(new),
            "added": len(new.keys() - old.keys()),
            "removed": len(old.keys() - new.keys()),
            "changed": sum(old[i] != new[i] for i in old.keys() & new.keys()),
        }
        got = m2["changes"]["rows"][key[0]][key[1]]
        assert {k: got[k] for k in want} == want, key
        removed_total += want["removed"]
        changed_total += want["changed"]
    assert removed_total > 0 and changed_total > 0  # the recipe change shows in both columns
    chapter = m1["mix"]["stage1"]["task"]["article_chapter"]
    assert m2["changes"]["tasks"]["stage1"]["article_chapter"] == [chapter, 0]
    assert m2["changes"]["sources"] == {"added": [], "removed": [], "commit_changed": {}}
    assert m2["changes"]["recipe_changed"] is True

    log = (project / "releases" / "CHANGELOG.md").read_text("utf-8")
    assert log.index("## v0.2.0") < log.index("## v0.1.0")  # newest first
    e = m2["changes"]["rows"]["stage1"]["train"]
    assert (
        f"| stage1 | train | {e['rows_before']:,} | {e['rows_after']:,} | {e['added']:,} | "
        f"{e['removed']:,} | {e['changed']:,} |"
    ) in log
    assert f"| stage1 | article_chapter | {chapter:,} | 0 |" in log
    assert "first release" in log.split("## v0.1.0")[1]


def test_each_tag_checks_out_and_loads_with_the_recorded_row_counts(
    world: dict, tmp_path: Path
) -> None:
    from datasets import load_dataset

    for version in ("0.1.0", "0.2.0"):
        manifest = json.loads(
            (world["project"] / "releases" / f"v{version}.json").read_text("utf-8")
        )
        checkout = tmp_path / version
        subprocess.run(
            [
                "git",
                "clone",
                "-q",
                "--branch",
                f"v{version}",
                str(world["data_repo"]),
                str(checkout),
            ],
            check=True,
            capture_output=True,
        )
        for config, splits in manifest["configs"].items():
            ds = load_dataset(str(checkout), config, cache_dir=str(tmp_path / "hf-cache"))
            assert {s: len(d) for s, d in ds.items()} == {s: e["rows"] for s, e in splits.items()}
        # the card: valid front matter, both languages, the tag in the loading examples, plots
        card = (checkout / "README.md").read_text("utf-8")
        front = yaml.safe_load(card.split("---\n")[1])
        assert {c["config_name"] for c in front["configs"]} == set(manifest["configs"])
        assert front["license"] and front["language"] == ["zh"] and front["pretty_name"]
        assert front["task_categories"] and front["size_categories"]
        info = {i["config_name"]: i for i in front["dataset_info"]}
        assert info["stage1"]["features"][0]["name"] == "id"
        assert "## English" in card and "## 中文说明" in card and "## Citation" in card
        assert f'load_dataset("ORG/lawset", "stage2", revision="v{version}")' in card
        assert "### Training recipe (two stages)" in card and "### 两阶段训练" in card
        assert "### Known limitations" in card and "### 已知局限" in card
        for png in ("task_mix.png", "length_distribution.png"):
            assert f"(reports/plots/{png})" in card
            assert (checkout / "reports" / "plots" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        stamped = json.loads((checkout / "manifest.json").read_text("utf-8"))
        assert stamped["release"] == {"version": version, "tag": f"v{version}"}
    # the plots show the recipe change: v0.1.0's task mix has one more task than v0.2.0's
    assert (tmp_path / "0.1.0" / "reports/plots/task_mix.png").read_bytes() != (
        tmp_path / "0.2.0" / "reports/plots/task_mix.png"
    ).read_bytes()


def _unchanged(world: dict) -> tuple[list[str], str]:
    return sorted(os.listdir(world["project"] / "releases")), git(world["data_repo"], "tag")


def test_refuses_existing_and_older_versions_unvalidated_and_failing_candidates(
    world: dict, tmp_path: Path
) -> None:
    before = _unchanged(world)
    args = ["--project", world["project"], "--recipe", world["v2"]]
    rc, _, err = lawset("release", world["c2"], "--version", "0.2.0", *args)
    assert rc == 2 and "v0.2.0 exists" in err
    rc, _, err = lawset("release", world["c2"], "--version", "0.1.9", *args)
    assert rc == 2 and "not newer than the latest release v0.2.0" in err
    rc, _, err = lawset("release", world["c2"], "--version", "1.0", *args)
    assert rc == 2 and "expected X.Y.Z" in err

    def candidate(name: str) -> Path:
        c = tmp_path / name
        shutil.copytree(world["c2"], c)  # copy2: modification times are kept
        return c

    validation = Path("reports/validation/validation.json")
    c = candidate("unvalidated")
    (c / validation).unlink()
    rc, _, err = lawset("release", c, "--version", "0.3.0", *args)
    assert rc == 2 and "not validated" in err and "lawset validate" in err

    c = candidate("failing")
    v = json.loads((c / validation).read_text("utf-8"))
    (c / validation).write_text(json.dumps({**v, "passed": False, "expectations_failed": 3}))
    rc, _, err = lawset("release", c, "--version", "0.3.0", *args)
    assert rc == 1 and "validation FAILED (3 of" in err

    c = candidate("sampled")
    (c / validation).write_text(json.dumps({**v, "sample": 100}))
    rc, _, err = lawset("release", c, "--version", "0.3.0", *args)
    assert rc == 2 and "validated on a sample" in err

    c = candidate("changed-byte")
    part = c / "data" / "stage1" / "train-00000-of-00001.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(data)
    rc, _, err = lawset("release", c, "--version", "0.3.0", *args)
    assert rc == 1 and "data/stage1/train-00000-of-00001.parquet: sha256 differs" in err

    c = candidate("rebuilt-after-validation")  # same rows, other files than were validated
    (c / validation).write_text(json.dumps({**v, "files_sha256": "0" * 64}))
    rc, _, err = lawset("release", c, "--version", "0.3.0", *args)
    assert rc == 2 and "validated other files than manifest.json lists" in err

    c = candidate("old-validation-then-rebuilt")  # no digest recorded: file times decide
    (c / validation).write_text(json.dumps({k: x for k, x in v.items() if k != "files_sha256"}))
    part = c / "data" / "stage2" / "train-00000-of-00001.parquet"
    later = time.time() + 60
    os.utime(part, (later, later))  # same bytes, written after validation.json
    rc, _, err = lawset("release", c, "--version", "0.3.0", *args)
    assert rc == 2 and "data changed after validation" in err

    c = candidate("other-recipe")
    rc, _, err = lawset(
        "release", c, "--version", "0.3.0", "--project", world["project"], "--recipe", world["v1"]
    )
    assert rc == 2 and "is not the recipe" in err and "pass --recipe" in err

    rc, _, err = lawset("release", c, "--version", "0.3.0", "--project", tmp_path)
    assert rc == 2 and "not a lawset project" in err
    junk = tmp_path / "not-a-repo"
    junk.mkdir()
    (junk / "notes.txt").write_text("mine")
    rc, _, err = lawset(
        "release", candidate("foreign-repo"), "--version", "0.3.0", *args, "--data-repo", junk
    )
    assert rc == 2 and "is not empty and is not a git repository" in err
    assert _unchanged(world) == before  # nothing was written by any refused release


def test_an_interrupted_release_reruns_to_completion(world: dict, tmp_path: Path) -> None:
    """The tag was written, the project files were not: the rerun reuses the tag."""
    project, repo = tmp_path / "project", tmp_path / "lawset-data"
    shutil.copytree(world["project"], project)
    subprocess.run(["git", "clone", "-q", str(world["data_repo"]), str(repo)], check=True)
    git(repo, "fetch", "-q", "--tags")
    (project / "releases" / "v0.2.0.json").unlink()
    candidate = tmp_path / "c2"
    shutil.copytree(world["c2"], candidate)
    rc, out, err = lawset(
        "release", candidate, "--version", "0.2.0", "--project", project, "--data-repo", repo,
        "--recipe", world["v2"], "--certificate", world["cert"],
    )  # fmt: skip
    assert rc == 0, err
    assert "already holds these files" in err
    assert git(repo, "tag").split() == ["v0.1.0", "v0.2.0"]
    again = json.loads((project / "releases" / "v0.2.0.json").read_text("utf-8"))
    first = json.loads((world["project"] / "releases" / "v0.2.0.json").read_text("utf-8"))
    assert again["files"] == first["files"] and again["changes"] == first["changes"]
    log = (project / "releases" / "CHANGELOG.md").read_text("utf-8")
    assert log.count("## v0.2.0") == 1


def test_verify_passes_on_an_unchanged_tree_and_names_each_differing_file(
    world: dict, tmp_path: Path
) -> None:
    rebuild = tmp_path / "rebuild"
    common = ["--project", world["project"]]
    rc, out, err = lawset(
        "release", "--verify", "0.2.0", "--sources", world["raw"], "--rebuild-dir", rebuild,
        "--no-progress", *common,
    )  # fmt: skip
    assert rc == 0, out + err
    assert "verify v0.2.0: passed" in out
    # the rebuild reproduced the card and its plots byte for byte, not only the parquet files
    for f in ("README.md", "manifest.json", "reports/plots/task_mix.png"):
        assert (rebuild / f).read_bytes() == (world["c2"] / f).read_bytes()

    # one byte of one parquet file of the rebuild
    part = "data/stage2/train-00000-of-00001.parquet"
    original = (rebuild / part).read_bytes()
    flipped = bytearray(original)
    flipped[100] ^= 0x01
    (rebuild / part).write_bytes(flipped)
    rc, out, _ = lawset(
        "release", "--verify", "0.2.0", "--rebuild-dir", rebuild, "--reuse-rebuild", *common
    )
    assert rc == 1
    assert [line for line in out.splitlines() if "DIFFERS" in line] == [
        f"  DIFFERS rebuild: {part}: sha256 {_sha(flipped)[:12]}, the manifest says "
        f"{_sha(original)[:12]}"
    ]
    (rebuild / part).write_bytes(original)

    # one byte of one parquet file in the data repository's tag (a copy of it)
    repo = tmp_path / "data-copy"
    subprocess.run(["git", "clone", "-q", str(world["data_repo"]), str(repo)], check=True)
    git(repo, "checkout", "-q", "v0.2.0")
    target = "data/stage1/test-00000-of-00001.parquet"
    data = bytearray((repo / target).read_bytes())
    data[-20] ^= 0x01
    (repo / target).write_bytes(data)
    ident = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", *ident, "-C", str(repo), "commit", "-qam", "tamper"], check=True)
    git(repo, "tag", "-f", "v0.2.0")
    rc, out, _ = lawset(
        "release", "--verify", "0.2.0", "--rebuild-dir", rebuild, "--reuse-rebuild",
        "--data-repo", repo, *common,
    )  # fmt: skip
    assert rc == 1
    differs = [line for line in out.splitlines() if "DIFFERS" in line]
    assert len(differs) == 1 and f"at v0.2.0: {target}: sha256" in differs[0]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_help_and_the_working_directory_as_the_default_project(world: dict) -> None:
    rc, out, _ = lawset("release", "--help")
    assert rc == 0
    for option in (
        "--version",
        "--verify",
        "--project",
        "--data-repo",
        "--certificate",
        "--sources",
    ):
        assert option in out
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lawset.builders.cli",
            "release",
            "--verify",
            "9.9.9",
            "--sources",
            world["raw"],
        ],
        cwd=world["project"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "no release v9.9.9: releases/v9.9.9.json is missing" in proc.stderr
