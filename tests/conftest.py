"""Shared test helpers, in one module: the ../shared raw tree, a hand-written sources tree,
running the CLI, reading a source folder through its adapter, running a task generator on one
record, building real sources with a per-source recipe, and the small releases built once per
session for the tests that only read a release (``copy_release`` gives a test its own copy to
change; the cached folder itself is never written to)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_RAW = REPO.parent / "shared" / "raw"


@pytest.fixture(scope="session")
def shared_raw() -> Path:
    """../shared/raw beside the checkout (CI lays it there); its absence is a failure, not a skip."""
    assert SHARED_RAW.is_dir(), f"{SHARED_RAW} is missing: check out ../shared beside the project"
    return SHARED_RAW


def run_lawset(
    *args: str | Path,
    check: bool = True,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the ``lawset`` command as a user would, in a fresh process (``env`` adds variables;
    ``cwd``: the working folder, so relative paths are tested as users type them)."""
    proc = subprocess.run(
        [sys.executable, "-m", "lawset.builders.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={
            "PATH": "/usr/bin:/bin",
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            **(env or {}),
        },
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"lawset {args} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def snapshot(root: Path, skip: str | None = None) -> dict[str, str]:
    """sha256 of every file under ``root`` (a symbolic link: its target), except under
    ``root/skip``: what a test compares to show a command changed no byte it should not have."""
    seen: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if skip is not None and rel_dir.parts[:1] == (skip,):
            dirnames[:] = []
            continue
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            p = Path(dirpath) / name
            rel = (rel_dir / name).as_posix()
            if p.is_symlink():
                seen[rel] = "-> " + os.readlink(p)
            else:
                seen[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return dict(sorted(seen.items()))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


LAW_V1 = """\
# 中华人民共和国示例法

2001年3月1日 第九届全国人民代表大会常务委员会第二十次会议通过

<!-- INFO END -->

## 第一章 总则

第一条 为了规范示例行为，保护当事人的合法权益，制定本法。

第二条 本法适用于中华人民共和国境内的示例活动。
"""

LAW_V2 = """\
# 中华人民共和国示例法

2001年3月1日 第九届全国人民代表大会常务委员会第二十次会议通过

2021年6月10日 第十三届全国人民代表大会常务委员会第二十九次会议修订

<!-- INFO END -->

## 第一章 总则

第一条 为了规范示例行为，保护当事人的合法权益，促进示例事业健康发展，制定本法。

第二条 本法适用于中华人民共和国境内的示例活动。

第二条之一 从事示例活动，应当遵守下列规定：

（一）遵守法律、行政法规；

（二）尊重社会公德，不得损害公共利益。

## 第二章 附则

第三条 （删除）

第四条 本法自2021年9月1日起施行。
"""

NO_ARTICLES = """\
# 中华人民共和国示例法修正案

2021年6月10日 第十三届全国人民代表大会常务委员会第二十九次会议通过

<!-- INFO END -->

一、将第一条修改为：“为了规范示例行为，制定本法。”
"""


def write_sources(base: Path) -> Path:
    """A tiny hand-written sources tree under ``base/raw`` with the bad inputs a real corpus
    holds, and a LawBench folder beside it (``base/benchmarks``), as ../shared has."""
    root = base / "raw"
    laws = root / "laws" / "LawRefBook-Laws"
    (laws / "示例").mkdir(parents=True)
    (laws / "其他").mkdir(parents=True)
    (laws / "示例" / "_index.md").write_text("---\nbookCollapseSection: true\n---\n")
    (laws / "示例" / "示例法(2001-03-01).md").write_text(LAW_V1, encoding="utf-8")
    (laws / "示例" / "示例法(2021-06-10).md").write_text(LAW_V2, encoding="utf-8")
    (laws / "其他" / "示例法(2021-06-10).md").write_text(LAW_V2, encoding="utf-8")  # duplicate
    # The same version filed under another category, with one more header line: collapsed.
    (laws / "其他" / "示例法(2001-03-01).md").write_text(
        LAW_V1.replace("<!-- INFO END -->", "2001年3月1日 公布\n\n<!-- INFO END -->"),
        encoding="utf-8",
    )
    (laws / "示例" / "合同法(1999-03-15).md").write_text(
        "# 中华人民共和国合同法\n\n1999年3月15日 通过\n\n<!-- INFO END -->\n\n"
        "## 第一章　一般规定\n\n第一条 为了保护合同当事人的合法权益，维护社会经济秩序，制定本法。\n",
        encoding="utf-8",
    )
    (laws / "案例").mkdir()
    (laws / "案例" / "某案.md").write_text(
        "# 某案\n\n<!-- INFO END -->\n\n## 基本案情\n\n第六条 被引用的其他法律条文。\n",
        encoding="utf-8",
    )
    (laws / "示例" / "示例法修正案.md").write_text(NO_ARTICLES, encoding="utf-8")
    (laws / "示例" / "旧编码法.md").write_bytes(LAW_V1.replace("示例", "编码").encode("gbk"))
    (laws / "示例" / "空文件.md").write_bytes(b"")
    (laws / "示例" / "截断.md").write_text("第一条 为了", encoding="utf-8")
    # A benchmarks folder beside raw/, as ../shared has: one LawBench task with one item.
    bench = base / "benchmarks" / "lawbench" / "data" / "zero_shot"
    bench.mkdir(parents=True)
    (bench / "1-2.json").write_text(
        json.dumps(
            [
                {
                    "instruction": "请选出正确答案。",
                    "question": "甲公司与乙公司订立买卖合同后，乙公司未按期交货，甲公司可以采取下列哪些"
                    "措施维护自己的权益?A:解除合同;B:要求赔偿损失;C:要求继续履行;D:以上都可以",
                    "answer": "正确答案：D。",
                }
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return root


def write_laws_recipe(path: Path) -> Path:
    """The default recipe with only its statute source (for the hand-written laws tree)."""
    import yaml

    data = yaml.safe_load((REPO / "builders" / "recipes" / "default.yaml").read_text("utf-8"))
    data["sources"] = {"laws": data["sources"]["laws"]}
    data["stage2"]["sources"] = ["laws"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture()
def sources(tmp_path: Path) -> Path:
    """The hand-written sources tree, the test's own (tests that change it or build from it)."""
    return write_sources(tmp_path)


@pytest.fixture()
def laws_recipe(tmp_path: Path) -> Path:
    return write_laws_recipe(tmp_path / "laws-only.yaml")


def copy_release(src: Path, dst: Path) -> Path:
    """A test's own copy of a cached release (modification times kept), to change freely: the
    cached folder is shared by the session and never written to."""
    shutil.copytree(src, dst)
    return dst


@dataclass
class Built:
    """A release folder written by ``lawset build`` and what the tests read from it."""

    out: Path
    stdout: str = ""
    stderr: str = field(default="", repr=False)

    @cached_property
    def stats(self) -> dict:
        return json.loads((self.out / "reports" / "stats.json").read_text("utf-8"))

    def rows(self, config: str = "stage1") -> list[dict]:
        """Every row of one config, each with the ``split`` its file belongs to."""
        import pyarrow.parquet as pq

        rows = []
        for f in sorted((self.out / "data" / config).glob("*.parquet")):
            split = f.name.split("-", 1)[0]
            rows += [{**r, "split": split} for r in pq.read_table(f).to_pylist()]
        return rows


def build(sources_root: Path, out: Path, *args: str | Path) -> Built:
    """``lawset build --sources SOURCES_ROOT --out OUT ARGS --no-progress``; failing it fails."""
    proc = run_lawset("build", "--sources", sources_root, "--out", out, *args, "--no-progress")
    return Built(out, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def laws_release(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The hand-written sources tree built once with the statutes-only recipe, for the tests that
    read the release (``copy_release`` before changing it)."""
    base = tmp_path_factory.mktemp("laws-release")
    recipe = write_laws_recipe(base / "laws-only.yaml")
    return build(write_sources(base), base / "release", "--recipe", recipe)


# --- one source at a time: adapters and task generators --------------------------------------


@dataclass
class SourceRead:
    """What an adapter made of a folder: records, read drops per reason, the units it planned
    to read, the files it skipped (file -> reason), and the context that counted."""

    records: list[dict]
    dropped: dict[str, int]
    units: list[dict]
    problems: dict[str, str]
    ctx: Any

    @property
    def files(self) -> list[str]:
        """The files the plan reads, unit by unit."""
        return [u["file"] for u in self.units]


def read_source(
    adapter: str,
    root: Path,
    *,
    name: str = "src",
    steps: tuple = (),
    rejects: Path | None = None,
    **cfg: Any,
) -> SourceRead:
    """Run an adapter on a folder as source ``name`` (then ``steps``, in order, on what it
    read); ``cfg``: the source's recipe entry (category ``exam`` and license ``x`` unless given).
    ``rejects``: where the steps' rejected records are written."""
    from lawset.builders.pipeline.base import Context
    from lawset.builders.recipe import SourceConfig
    from lawset.builders.sources import ADAPTERS

    cfg = {"path": root.name, "category": "exam", "license": "x", **cfg}
    config = SourceConfig(adapter=adapter, **cfg)
    a = ADAPTERS[adapter]()
    plan = a.plan(name, config, root, None)
    ctx = Context(0, rejects) if rejects is not None else Context(0)
    stream = [[r for unit in plan.units for r in a.read(name, config, root, unit, ctx)]]
    for step in steps:
        stream = list(step.run(stream, ctx))
    if rejects is not None:
        ctx.close()
    return SourceRead(
        records=[r for batch in stream for r in batch],
        dropped=ctx.stats.step("read")["dropped"],
        units=list(plan.units),
        problems={p.file: p.reason for p in plan.problems},
        ctx=ctx,
    )


def parse_file(adapter: str, path: Path, rel: str) -> tuple[list[dict], list[str]]:
    """An adapter's records of one file, parsed one by one: (records, reject reasons in order)."""
    from lawset.builders.sources import ADAPTERS
    from lawset.builders.sources.common import RecordError

    a = ADAPTERS[adapter]()
    out, rejects = [], []
    for where, raw in a.records(path):
        if isinstance(raw, RecordError):
            rejects.append(raw.reason)
            continue
        try:
            out.extend(a.parse(raw, rel, where))
        except RecordError as exc:
            rejects.append(exc.reason)
    return out, rejects


def made(step: Any, rec: dict, ctx: Any = None, **fields: Any) -> list[dict]:
    """The queries one task generator makes from one record (``fields`` added to it first);
    the record itself passes on first, to the next generator."""
    from lawset.builders.pipeline.base import Context

    rec = {**rec, **fields} if fields else rec
    out = [r for batch in step.run([[rec]], ctx or Context(0)) for r in batch]
    assert out[0] is rec
    return out[1:]


# --- real sources through the CLI ---------------------------------------------------------------

#: the statute source every per-source recipe carries (citations are checked against it)
LAWS_SOURCE = {
    "adapter": "lawrefbook",
    "path": "laws/LawRefBook-Laws",
    "category": "laws",
    "license": "none stated",
}
#: the steps after a source's task generators in a per-source recipe
CHECKS = ("citations", "quality_scores", "text_length")


def source_recipe(
    sources: dict[str, dict], tasks: list[str], *, checks: bool = True, dedup: bool = True
) -> dict:
    """The recipe that builds ``sources`` (beside the statutes) with their task generators:
    normalize, held_out, mask_pii, the tasks, then (``checks``) citations, quality and length.
    ``dedup=False`` where a test counts what the adapter and tasks made (dedup, tested in
    test_dedup.py, would remove a few repeats)."""
    recipe: dict[str, Any] = {
        "version": 1,
        "name": "test-" + "-".join(sources),
        "sources": {"laws": LAWS_SOURCE, **sources},
        "steps": [
            {"name": n}
            for n in ["normalize", "held_out", "mask_pii", *tasks, *(CHECKS if checks else ())]
        ],
        "execution": {"shards": 4},
    }
    if not dedup:
        recipe["dedup"] = {"exact_user_turn": False, "near": False}
    return recipe


def real_build(
    shared_raw: Path,
    tmp_path: Path,
    sources: dict[str, dict],
    tasks: list[str],
    only: str,
    *,
    checks: bool = True,
    dedup: bool = True,
) -> Built:
    """Build real sources of ../shared/raw through the CLI with :func:`source_recipe`."""
    import yaml

    path = tmp_path / "recipe.yaml"
    recipe = source_recipe(sources, tasks, checks=checks, dedup=dedup)
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    return build(shared_raw, tmp_path / "out", "--recipe", path, "--only", only)
