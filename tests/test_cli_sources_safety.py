"""Sources that are broken, empty, unreadable or outside ``--sources``: `lawset build` run from a
working folder with relative paths (``src``, ``out``) as a user types it. A bad line costs only its
own record, empty and unreadable files are reported and the build goes on, a source with nothing
to read or a path leading outside ``--sources`` stops the build (exit 2) naming the recipe key and
the fix, and an over-long statute article is rejected while the rest of its law is kept."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import read_jsonl, run_lawset, snapshot
from lawset.builders.errors import UsageError
from lawset.builders.pipeline.base import Context
from lawset.builders.recipe import (
    MAX_ARTICLE_CHARS,
    RecipeError,
    SourceConfig,
    load_recipe,
    resolve_source_path,
)
from lawset.builders.sources import check_source_plan
from lawset.builders.sources.alpaca import AlpacaAdapter
from lawset.builders.sources.common import RecordError, iter_csv, iter_jsonl
from lawset.builders.sources.lawrefbook import LawRefBookAdapter
from pydantic import ValidationError

STEPS = """\
steps:
  - name: normalize
  - name: held_out
  - name: mask_pii
  - name: statute_index
  - name: general_instruction
execution: {shards: 2}
"""

LAW_HEAD = "# 中华人民共和国示例法\n\n2021年6月10日 通过\n\n<!-- INFO END -->\n\n## 第一章 总则\n\n"


def source(name: str, adapter: str, path: str, category: str, extra: str = "") -> str:
    return (
        f"  {name}:\n    adapter: {adapter}\n    path: {path}\n    category: {category}\n"
        f"    license: test\n{extra}"
    )


def write_recipe(work: Path, *sources: str) -> str:
    (work / "recipe.yaml").write_text(
        "version: 1\nname: safety\nsources:\n" + "".join(sources) + STEPS, encoding="utf-8"
    )
    return "recipe.yaml"


def rows(i: int) -> str:
    record = {
        "instruction": f"第{i}个问题：请解释什么是合同。",
        "output": f"第{i}个回答：合同是协议。",
    }
    return json.dumps(record, ensure_ascii=False) + "\n"


def build(work: Path, recipe: str):  # noqa: ANN201
    """``lawset build --sources src --out out --recipe recipe.yaml`` run in ``work``."""
    return run_lawset(
        "build", "--sources", "src", "--out", "out", "--recipe", recipe, "--no-progress",
        check=False, cwd=work,
    )  # fmt: skip


def rejects(work: Path) -> list[dict]:
    return read_jsonl(work / "out" / "reports" / "rejects" / "read.jsonl")


def stats(work: Path) -> dict:
    return json.loads((work / "out" / "reports" / "stats.json").read_text("utf-8"))


def kept_instructions(work: Path) -> list[str]:
    found = []
    for path in sorted((work / "out" / "data" / "stage1").glob("*.parquet")):
        for messages in pq.read_table(path).column("messages").to_pylist():
            found.append(messages[0]["content"])
    return found


@pytest.fixture()
def work(tmp_path: Path) -> Path:
    """An empty working folder with ``src/general/demo`` (the alpaca source's folder)."""
    (tmp_path / "src" / "general" / "demo").mkdir(parents=True)
    return tmp_path


DEMO = source("demo", "alpaca", "general/demo", "general")


# --- a bad line loses only its own record ----------------------------------------------------


def test_a_jsonl_file_cut_inside_a_character_loses_only_its_last_line(work: Path) -> None:
    good = "".join(rows(i) for i in range(1, 4))
    line = rows(4).encode("utf-8")
    at = line.index("合同".encode())
    cut = line[: at + 2]  # inside the 3-byte 合
    (work / "src" / "general" / "demo" / "data.jsonl").write_bytes(good.encode("utf-8") + cut)
    recipe = write_recipe(work, DEMO)
    before = snapshot(work, skip="out")

    proc = build(work, recipe)

    assert proc.returncode == 0, proc.stderr
    assert "1 source files or records could not be used" in proc.stdout
    (reject,) = rejects(work)
    offset = len(good.encode("utf-8")) + at
    assert (reject["reason"], reject["file"], reject["where"]) == (
        "not_utf8",
        "data.jsonl",
        "line 4",
    )
    assert reject["byte"] == offset
    assert f"data.jsonl: line 4, byte {offset}: cut inside a UTF-8 character" in reject["message"]
    assert "re-fetch the file" in reject["message"]
    kept = kept_instructions(work)
    assert sorted(k[:2] for k in kept) == ["第1", "第2", "第3"]
    assert stats(work)["steps"]["read"]["dropped"] == {"not_utf8": 1}
    assert snapshot(work, skip="out") == before


def test_a_bad_byte_loses_only_the_line_it_is_in(work: Path) -> None:
    lines = [
        rows(1).encode(),
        rows(2).encode("utf-8").replace("合同".encode(), "合同".encode("gbk")),
    ]
    lines += [rows(3).encode(), rows(4).encode()]
    (work / "src" / "general" / "demo" / "data.jsonl").write_bytes(b"".join(lines))
    recipe = write_recipe(work, DEMO)
    before = snapshot(work, skip="out")

    proc = build(work, recipe)

    assert proc.returncode == 0, proc.stderr
    (reject,) = rejects(work)
    offset = len(lines[0]) + lines[1].index("合同".encode("gbk"))
    assert (reject["reason"], reject["where"], reject["byte"]) == ("not_utf8", "line 2", offset)
    assert f"line 2, byte {offset}: not UTF-8 (invalid start byte)" in reject["message"]
    assert "re-encode the file as UTF-8" in reject["message"]
    assert sorted(k[:2] for k in kept_instructions(work)) == ["第1", "第3", "第4"]
    assert snapshot(work, skip="out") == before


def test_line_readers_keep_the_good_lines_and_name_the_bad_one(tmp_path: Path) -> None:
    """The readers every line-based adapter uses: JSONL with a BOM, CSV rows (a CSV header that
    is not UTF-8 makes the whole file unusable: its columns cannot be named)."""
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"a": "\xb1\xbe"}\n\n{"a": 3}\n')
    got = list(iter_jsonl(jsonl))
    assert [w for w, _ in got] == ["line 1", "line 2", "line 4"]
    assert got[0][1] == {"a": 1} and got[2][1] == {"a": 3}
    bad = got[1][1]
    assert isinstance(bad, RecordError) and (bad.reason, bad.offset) == ("not_utf8", 19)

    table = tmp_path / "t.csv"
    table.write_bytes("题目,答案\n甲,A\n".encode() + "乙,B\n".encode("gbk") + "丙,C\n".encode())
    got = list(iter_csv(table))
    assert got[0] == ("row 2", {"题目": "甲", "答案": "A"})
    assert got[2] == ("row 4", {"题目": "丙", "答案": "C"})
    where, err = got[1]
    offset = len("题目,答案\n甲,A\n".encode())
    assert where == "row 3" and isinstance(err, RecordError)
    assert (err.reason, err.offset) == ("not_utf8", offset)
    assert f"row 3, line 3, byte {offset}: not UTF-8" in str(err)


# --- empty files are reported ----------------------------------------------------------------


def test_empty_files_are_reported_and_the_rest_is_built(work: Path) -> None:
    demo = work / "src" / "general" / "demo"
    (demo / "data.jsonl").write_text(rows(1), encoding="utf-8")
    (demo / "empty.jsonl").write_bytes(b"")
    (demo / "blank.json").write_bytes(b"\xef\xbb\xbf \n\t\n")
    recipe = write_recipe(work, DEMO)
    before = snapshot(work, skip="out")

    proc = build(work, recipe)

    assert proc.returncode == 0, proc.stderr
    found = {r["file"]: r for r in rejects(work)}
    assert {f: r["reason"] for f, r in found.items()} == {
        "empty.jsonl": "empty_file",
        "blank.json": "empty_file",
    }
    assert "empty.jsonl: file is empty (0 bytes, no text)" in found["empty.jsonl"]["message"]
    assert "re-fetch it from the source or remove it" in found["blank.json"]["message"]
    assert "empty.jsonl: empty_file" in proc.stdout
    assert stats(work)["sources"]["demo"]["files"] == 1
    assert len(kept_instructions(work)) == 1
    assert snapshot(work, skip="out") == before


# --- source paths stay inside --sources ------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "words"),
    [("../outside", "has a '..' part"), ("general/../../outside", "has a '..' part")]
    + [("/etc", "is not relative to --sources")],
)
def test_a_recipe_path_outside_sources_is_refused(work: Path, path: str, words: str) -> None:
    outside = work / "outside"
    outside.mkdir()
    (outside / "secret.jsonl").write_text(rows(1), encoding="utf-8")
    recipe = write_recipe(work, source("demo", "alpaca", path, "general"))
    before = snapshot(work, skip="out")

    proc = build(work, recipe)

    assert proc.returncode == 2
    assert f"recipe.yaml: sources.demo.path: Value error, '{path}' {words}" in proc.stderr
    assert "write the folder relative to --sources" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (work / "out").exists()
    assert snapshot(work, skip="out") == before


def test_resolve_source_path_follows_links_and_stays_inside(tmp_path: Path) -> None:
    root = tmp_path / "src"
    (root / "general" / "demo").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (root / "general" / "away").symlink_to(tmp_path / "outside")
    (root / "general" / "here").symlink_to(root / "general" / "demo")
    assert resolve_source_path(root, "demo", "general/demo") == (root / "general/demo").resolve()
    assert resolve_source_path(root, "d", "general/here") == (root / "general/demo").resolve()
    assert resolve_source_path(root, "d", "general/missing") == (root / "general/missing")
    with pytest.raises(RecipeError, match=r"sources\.x\.path: 'general/away' leads to .*outside"):
        resolve_source_path(root, "x", "general/away")
    for bad in ("../outside", "/etc", "~/raw"):
        with pytest.raises(RecipeError, match=r"sources\.x\.path: "):
            resolve_source_path(root, "x", bad)


def test_a_source_folder_linked_outside_sources_is_refused(work: Path) -> None:
    """Needs make_plan to call resolve_source_path (the lead's wiring in executor.py)."""
    outside = work / "outside"
    outside.mkdir()
    (outside / "secret.jsonl").write_text(rows(1), encoding="utf-8")
    (work / "src" / "general" / "away").symlink_to(Path("..", "..", "outside"))
    recipe = write_recipe(work, source("demo", "alpaca", "general/away", "general"))
    before = snapshot(work, skip="out")

    proc = build(work, recipe)

    assert proc.returncode == 2
    assert "sources.demo.path: 'general/away' leads to" in proc.stderr
    assert "outside --sources" in proc.stderr
    assert not (work / "out").exists()
    assert snapshot(work, skip="out") == before


# --- a source with nothing to read -----------------------------------------------------------


def test_check_source_plan_refuses_an_empty_source_unless_optional(tmp_path: Path) -> None:
    root = tmp_path / "src" / "general" / "demo"
    root.mkdir(parents=True)
    adapter = AlpacaAdapter()
    cfg = SourceConfig(adapter="alpaca", path="general/demo", category="general", license="x")
    plan = adapter.plan("demo", cfg, root, None)
    with pytest.raises(UsageError) as err:
        check_source_plan("demo", cfg, root, plan)
    assert err.value.exit_code == 2
    assert "source demo (alpaca, folder general/demo" in str(err.value)
    assert "general/demo: no file matches **/*.jsonl, **/*.json" in str(err.value)
    assert "`optional: true`" in str(err.value)
    optional = cfg.model_copy(update={"optional": True})
    check_source_plan("demo", optional, root, plan)  # no error
    (root / "data.jsonl").write_text(rows(1), encoding="utf-8")
    check_source_plan("demo", cfg, root, adapter.plan("demo", cfg, root, None))
    # optional changes nothing a build writes: it is not part of the recipe's digest
    assert "optional" not in optional.model_dump()


def test_a_source_with_no_files_stops_the_build_unless_optional(work: Path) -> None:
    """The exit-2 half needs make_plan to call check_source_plan (the lead's wiring)."""
    (work / "src" / "general" / "demo" / "data.jsonl").write_text(rows(1), encoding="utf-8")
    (work / "src" / "general" / "nothing").mkdir()
    nothing = source("nothing", "alpaca", "general/nothing", "general")
    recipe = write_recipe(work, DEMO, nothing)
    before = snapshot(work, skip="out")

    proc = build(work, recipe)

    assert proc.returncode == 2
    assert "source nothing (alpaca, folder general/nothing" in proc.stderr
    assert "no file matches" in proc.stderr and "`optional: true`" in proc.stderr
    assert not (work / "out").exists()
    assert snapshot(work, skip="out") == before

    optional = source("nothing", "alpaca", "general/nothing", "general", "    optional: true\n")
    recipe = write_recipe(work, DEMO, optional)
    proc = build(work, recipe)
    assert proc.returncode == 0, proc.stderr
    assert [(r["file"], r["reason"]) for r in rejects(work)] == [
        ("general/nothing", "no_input_files")
    ]
    assert len(kept_instructions(work)) == 1


def test_a_statute_folder_with_no_statutes_stops_the_build(work: Path) -> None:
    """Needs make_plan to call check_source_plan (the lead's wiring)."""
    (work / "src" / "general" / "demo" / "data.jsonl").write_text(rows(1), encoding="utf-8")
    (work / "src" / "laws" / "LawRefBook-Laws" / "示例").mkdir(parents=True)
    laws = source("laws", "lawrefbook", "laws/LawRefBook-Laws", "laws")
    recipe = write_recipe(work, laws, DEMO)

    proc = build(work, recipe)

    assert proc.returncode == 2
    assert "source laws (lawrefbook, folder laws/LawRefBook-Laws" in proc.stderr
    assert "no statute file (*.md) in the folder" in proc.stderr
    assert not (work / "out").exists()


# --- unreadable files ------------------------------------------------------------------------


def _unreadable(path: Path, how: str) -> None:
    if how == "dangling link":  # fails to open for root too (chmod 000 does not stop root)
        path.symlink_to(path.with_name("gone.bin"))
    else:
        path.write_text(rows(9), encoding="utf-8")
        path.chmod(0)


@pytest.mark.parametrize(
    "how",
    [
        "dangling link",
        pytest.param(
            "chmod 000",
            marks=pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file"),
        ),
    ],
)
def test_an_unreadable_file_is_reported_and_the_build_goes_on(work: Path, how: str) -> None:
    demo = work / "src" / "general" / "demo"
    (demo / "data.jsonl").write_text(rows(1) + rows(2), encoding="utf-8")
    _unreadable(demo / "locked.jsonl", how)
    laws = work / "src" / "laws" / "LawRefBook-Laws" / "示例"
    laws.mkdir(parents=True)
    (laws / "示例法(2021-06-10).md").write_text(LAW_HEAD + "第一条 本法适用于示例。\n", "utf-8")
    _unreadable(laws / "锁定法.md", how)
    recipe = write_recipe(work, source("laws", "lawrefbook", "laws/LawRefBook-Laws", "laws"), DEMO)
    before = snapshot(work, skip="out")

    proc = build(work, recipe)

    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    found = {r["file"]: r for r in rejects(work)}
    assert {f: r["reason"] for f, r in found.items()} == {
        "locked.jsonl": "unreadable",
        "示例/锁定法.md": "unreadable",
    }
    for f, r in found.items():
        assert r["message"].startswith(f"{f}: cannot be read: ")
        assert "check that it exists and is readable (chmod a+r)" in r["message"]
    assert len(kept_instructions(work)) == 2
    statutes = pq.read_table(next((work / "out" / "data" / "statutes").glob("*.parquet")))
    assert statutes.column("label").to_pylist() == ["第一条"]
    assert snapshot(work, skip="out") == before


def test_a_file_unreadable_at_read_time_is_reported(tmp_path: Path) -> None:
    """Planned while readable, gone when its unit is read (a file changed during the build)."""
    root = tmp_path / "demo"
    root.mkdir()
    (root / "a.jsonl").write_text(rows(1), encoding="utf-8")
    (root / "b.jsonl").write_text(rows(2), encoding="utf-8")
    adapter = AlpacaAdapter()
    cfg = SourceConfig(adapter="alpaca", path="demo", category="general", license="x")
    plan = adapter.plan("demo", cfg, root, None)
    (root / "a.jsonl").unlink()
    (root / "a.jsonl").symlink_to(root / "gone")
    ctx = Context(0, tmp_path / "rejects.jsonl")
    got = [r for u in plan.units for r in adapter.read("demo", cfg, root, u, ctx)]
    ctx.close()
    assert [r["source_file"] for r in got] == ["b.jsonl"]
    (row,) = read_jsonl(tmp_path / "rejects.jsonl")
    assert (row["reason"], row["file"]) == ("unreadable", "a.jsonl")

    laws = tmp_path / "laws"
    (laws / "示例").mkdir(parents=True)
    for name in ("甲法.md", "乙法.md"):
        (laws / "示例" / name).write_text(
            LAW_HEAD.replace("示例法", name[:2]) + "第一条 本法适用于示例。\n", "utf-8"
        )
    statute = LawRefBookAdapter()
    cfg = SourceConfig(adapter="lawrefbook", path="laws", category="laws", license="x")
    plan = statute.plan("laws", cfg, laws, None)
    (laws / "示例" / "甲法.md").unlink()
    ctx = Context(0)
    got = [r for u in plan.units for r in statute.read("laws", cfg, laws, u, ctx)]
    assert [r["law"] for r in got] == ["中华人民共和国乙法"]
    assert ctx.stats.steps["read"]["dropped"] == {"unreadable": 1}


# --- statute article length limit ------------------------------------------------------------


def test_an_overlong_statute_article_is_rejected_and_the_rest_of_the_law_kept(work: Path) -> None:
    laws = work / "src" / "laws" / "LawRefBook-Laws" / "示例"
    laws.mkdir(parents=True)
    long_text = "本法所称示例，是指" * (MAX_ARTICLE_CHARS // 9 + 1)  # a law whose breaks were lost
    (laws / "示例法(2021-06-10).md").write_text(
        LAW_HEAD + f"第一条 为了规范示例行为，制定本法。\n\n第二条 {long_text}\n\n"
        "第三条 本法自2021年9月1日起施行。\n",
        encoding="utf-8",
    )
    (work / "src" / "general" / "demo" / "data.jsonl").write_text(rows(1), encoding="utf-8")
    recipe = write_recipe(work, source("laws", "lawrefbook", "laws/LawRefBook-Laws", "laws"), DEMO)
    before = snapshot(work, skip="out")

    proc = build(work, recipe)

    assert proc.returncode == 0, proc.stderr
    (reject,) = rejects(work)
    assert (reject["reason"], reject["file"], reject["where"]) == (
        "article_too_long",
        "示例/示例法(2021-06-10).md",
        "第二条",
    )
    assert (
        f"{len(long_text):,} characters, over sources.laws.max_article_chars" in (reject["message"])
    )
    assert len(reject["start"]) == 200
    statutes = pq.read_table(next((work / "out" / "data" / "statutes").glob("*.parquet")))
    assert statutes.column("label").to_pylist() == ["第一条", "第三条"]
    assert max(len(t) for t in statutes.column("text").to_pylist()) < 100
    assert stats(work)["steps"]["read"]["dropped"] == {"article_too_long": 1}
    assert snapshot(work, skip="out") == before


def test_the_article_limit_is_a_recipe_key_of_statute_sources(tmp_path: Path) -> None:
    laws = tmp_path / "laws" / "示例"
    laws.mkdir(parents=True)
    (laws / "示例法.md").write_text(LAW_HEAD + "第一条 " + "示" * 50 + "\n", encoding="utf-8")
    adapter = LawRefBookAdapter()
    for limit, kept in ((50, 1), (49, 0)):
        cfg = SourceConfig(
            adapter="lawrefbook", path="laws", category="laws", license="x", max_article_chars=limit
        )
        ctx = Context(0)
        plan = adapter.plan("laws", cfg, tmp_path / "laws", None)
        got = [r for u in plan.units for r in adapter.read("laws", cfg, tmp_path / "laws", u, ctx)]
        assert len(got) == kept
    default = load_recipe()
    assert default.sources["laws"].max_article_chars == MAX_ARTICLE_CHARS
    # set to its default, the key leaves the recipe's digest as it was before the key existed
    assert "max_article_chars" not in default.sources["laws"].model_dump()
    changed = default.model_copy(deep=True)
    changed.sources["laws"].max_article_chars = 100
    assert changed.digest() != default.digest()
    with pytest.raises(ValidationError, match="max_article_chars: only statute adapters"):
        SourceConfig(
            adapter="alpaca", path="x", category="general", license="x", max_article_chars=9
        )
