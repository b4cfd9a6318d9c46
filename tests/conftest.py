"""Shared test helpers: the ../shared raw tree, a hand-written sources tree, running the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

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


@pytest.fixture()
def sources(tmp_path: Path) -> Path:
    """A tiny hand-written sources tree with the bad inputs a real corpus holds."""
    root = tmp_path / "raw"
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
    bench = tmp_path / "benchmarks" / "lawbench" / "data" / "zero_shot"
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


@pytest.fixture()
def laws_recipe(tmp_path: Path) -> Path:
    """The default recipe with only its statute source (for the hand-written laws tree)."""
    import yaml

    data = yaml.safe_load((REPO / "builders" / "recipes" / "default.yaml").read_text("utf-8"))
    data["sources"] = {"laws": data["sources"]["laws"]}
    data["stage2"]["sources"] = ["laws"]
    path = tmp_path / "laws-only.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path
