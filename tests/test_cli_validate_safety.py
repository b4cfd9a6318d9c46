"""`lawset validate` as a user types it (issue 14, items 1, 5 and 10).

A tiny candidate is built once (``--only laws`` from a hand-written sources tree) in a working
folder, and every command runs there with relative paths: ``lawset validate out/candidate``,
and ``lawset validate ../candidate`` from a sibling folder as ``.github/workflows/data-ci.yml``
types it. The tiny candidate has two statutes, so its task mix cannot be diverse: a thresholds
file beside it turns the diversity bounds off (every other expectation runs).

Checked: the files are re-hashed against ``manifest.json`` before any expectation (a flipped byte
that changes an answer, a corrupt parquet, a corrupt file the manifest vouches for: exit 1 naming
the file, no traceback), and an earlier run's results survive a usage error and an interrupt
byte for byte, while a completed run (passed or failed) replaces them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import LAW_V1, LAW_V2, run_lawset

CANDIDATE = Path("out") / "candidate"
DOCS = Path("reports") / "validation"
STAGE1 = "data/stage1/train-00000-of-00001.parquet"
#: the tiny candidate cannot be diverse: diversity bounds off, every other expectation on
THRESHOLDS = "diversity:\n  splits: []\n  min_general_share: 0\n"


def write_sources(work: Path) -> None:
    """A small laws tree (two versions of one law, one other law, one charge) and one LawBench
    item: what the default recipe reads with ``--only laws``."""
    laws = work / "src" / "laws" / "LawRefBook-Laws" / "示例"
    laws.mkdir(parents=True)
    (laws / "示例法(2001-03-01).md").write_text(LAW_V1, encoding="utf-8")
    (laws / "示例法(2021-06-10).md").write_text(LAW_V2, encoding="utf-8")
    (laws / "合同法(1999-03-15).md").write_text(
        "# 中华人民共和国合同法\n\n1999年3月15日 通过\n\n<!-- INFO END -->\n\n"
        "## 第一章　一般规定\n\n第一条 为了保护合同当事人的合法权益，维护社会经济秩序，制定本法。\n",
        encoding="utf-8",
    )
    # the default recipe's other statute source: a charge catalogue with one charge
    charges = work / "src" / "laws" / "LaWGPT-criminal-charges" / "resources"
    charges.mkdir(parents=True)
    charge = {
        "id": 13,
        "charge": "放火罪",
        "chapter": "刑法第114条",
        "level1": "第二章 危害公共安全罪（54）",
        "level2": "",
    }
    text = json.dumps([charge], ensure_ascii=False)
    (charges / "criminal_charges.json").write_text(text, encoding="utf-8")
    bench = work / "benchmarks" / "lawbench" / "data" / "zero_shot"
    bench.mkdir(parents=True)
    item = {
        "instruction": "请选出正确答案。",
        "question": "合同法的目的是?",
        "answer": "正确答案：A。",
    }
    (bench / "1-2.json").write_text(json.dumps([item], ensure_ascii=False), encoding="utf-8")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder holding src/ and the built out/candidate (never validated)."""
    work = tmp_path_factory.mktemp("work")
    write_sources(work)
    run_lawset(
        "build", "--sources", "src", "--out", CANDIDATE, "--only", "laws", "--no-progress", cwd=work
    )
    (work / "th.yaml").write_text(THRESHOLDS, encoding="utf-8")
    return work


@pytest.fixture(scope="module")
def validated(built: Path) -> tuple[Path, subprocess.CompletedProcess[str], dict[str, bytes]]:
    """``lawset validate out/candidate`` run once in the working folder: (folder, the run, the
    bytes of every file of the candidate before it)."""
    before = tree(built / CANDIDATE)
    proc = run_lawset("validate", CANDIDATE, "--thresholds", "th.yaml", cwd=built, check=False)
    return built, proc, before


@pytest.fixture()
def work(validated: tuple, tmp_path: Path) -> Path:
    """A copy of the working folder with the candidate and its passing validation."""
    dst = tmp_path / "work"
    shutil.copytree(validated[0], dst)
    return dst


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def validation_bytes(candidate: Path) -> dict[str, bytes]:
    return tree(candidate / DOCS)


def summary(candidate: Path) -> dict:
    return json.loads((candidate / DOCS / "validation.json").read_text("utf-8"))


def no_temp_folders(candidate: Path) -> bool:
    return not [p for p in (candidate / "reports").iterdir() if p.name.startswith(".validation")]


def reseal(candidate: Path, rel: str) -> None:
    """Record a file's current sha256 in manifest.json, as a build that wrote it would."""
    path = candidate / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    data = (candidate / rel).read_bytes()
    for f in manifest["files"]:
        if f["path"] == rel:
            f["sha256"] = hashlib.sha256(data).hexdigest()
            f["bytes"] = len(data)
    path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def answers(data: bytes) -> list[str]:
    """The assistant turns of a parquet file's rows, in order."""
    table = pq.read_table(io.BytesIO(data), columns=["messages"])
    return [
        m["content"] for ms in table.column(0).to_pylist() for m in ms if m["role"] == "assistant"
    ]


def flip_answer_byte(path: Path) -> tuple[str, str]:
    """Flip one bit inside the compressed message texts so that the file still reads and an
    answer reads differently (本级 -> 本纶): (the answer before, after)."""
    data = path.read_bytes()
    before = answers(data)
    meta = pq.ParquetFile(path).metadata.row_group(0)
    col = next(
        meta.column(k)
        for k in range(meta.num_columns)
        if meta.column(k).path_in_schema == "messages.list.element.content"
    )
    start = min(x for x in (col.dictionary_page_offset, col.data_page_offset) if x is not None)
    for k in range(start, start + col.total_compressed_size):
        for bit in range(8):
            changed = bytearray(data)
            changed[k] ^= 1 << bit
            try:
                after = answers(bytes(changed))
            except Exception:  # noqa: BLE001 - this flip broke the file: try the next one
                continue
            diff = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
            if diff:
                path.write_bytes(bytes(changed))
                return diff[0]
    raise AssertionError(f"no bit of {path} changes an answer and keeps the file readable")


def corrupt(path: Path) -> None:
    """Overwrite 64 bytes in the middle of the data pages: the file no longer decompresses."""
    data = bytearray(path.read_bytes())
    mid = len(data) // 3
    data[mid : mid + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(Exception):  # noqa: B017, PT011 - any pyarrow error: it must not read
        pq.read_table(path)


def test_relative_path_passes_and_writes_only_its_reports(validated: tuple) -> None:
    work, proc, before = validated
    assert proc.returncode == 0, proc.stderr
    assert "PASSED" in proc.stdout
    candidate = work / CANDIDATE
    assert str(candidate.resolve() / DOCS / "index.html") in proc.stdout
    s = summary(candidate)
    assert s["passed"] and s["expectations_total"] > 100 and s["expectations_failed"] == 0
    assert s["files_checked"]["passed"] and s["files_checked"]["files"] == 3
    assert (candidate / DOCS / "index.html").is_file() and no_temp_folders(candidate)
    after = tree(candidate)
    assert {k: v for k, v in after.items() if not k.startswith(DOCS.as_posix())} == before
    # status lines for the phases on stderr, the table on stdout
    assert "checking 3 files against manifest.json" in proc.stderr
    assert "running the expectation suites on 3 files" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_ci_template_sibling_path_passes_quietly(validated: tuple, tmp_path: Path) -> None:
    """data-ci.yml: working folder main/, candidate built at ../candidate, `lawset validate
    ../candidate --workers 2` (here with --quiet: the verdict and where the output went)."""
    shutil.copytree(validated[0] / CANDIDATE, tmp_path / "candidate")
    (tmp_path / "main").mkdir()
    (tmp_path / "main" / "th.yaml").write_text(THRESHOLDS, encoding="utf-8")
    proc = run_lawset(
        "validate",
        "../candidate",
        "--workers",
        "2",
        "--thresholds",
        "th.yaml",
        "--quiet",
        cwd=tmp_path / "main",
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    docs = (tmp_path / "candidate" / DOCS).resolve()
    assert proc.stdout.splitlines() == [
        proc.stdout.splitlines()[0],
        f"Data Docs: {docs / 'index.html'}",
        f"summary:   {docs / 'validation.json'}",
    ]
    assert proc.stdout.startswith("PASSED: ") and proc.stderr == ""
    assert summary(tmp_path / "candidate")["passed"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candidate", "main"]


def test_flipped_byte_in_an_answer_fails_before_any_expectation(work: Path) -> None:
    candidate = work / CANDIDATE
    was, now = flip_answer_byte(candidate / STAGE1)
    assert was != now  # e.g. 本级 -> 本纶: every row check would still pass
    proc = run_lawset("validate", CANDIDATE, "--thresholds", "th.yaml", cwd=work, check=False)
    assert proc.returncode == 1, proc.stderr
    assert (
        f"{STAGE1}: sha256 differs from manifest.json (the file changed after the build; "
        "rebuild, or restore it)" in proc.stdout
    )
    assert "no expectation was run" in proc.stdout
    assert "running the expectation suites" not in proc.stderr
    # the run completed with a failure: it replaces the earlier results, and says why
    s = summary(candidate)
    assert not s["passed"] and s["expectations"] == [] and s["data_docs"] is None
    assert [p.split(":")[0] for p in s["files_checked"]["problems"]] == [STAGE1]
    assert sorted(validation_bytes(candidate)) == ["validation.json"]
    assert no_temp_folders(candidate)


def test_corrupt_parquet_is_named_without_a_traceback(work: Path) -> None:
    candidate = work / CANDIDATE
    corrupt(candidate / STAGE1)
    proc = run_lawset("validate", CANDIDATE, cwd=work, check=False)
    assert proc.returncode == 1, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if STAGE1 in x)
    assert "sha256 differs from manifest.json" in line and "does not read as parquet" in line
    assert "Traceback" not in proc.stdout + proc.stderr


def test_unreadable_parquet_the_manifest_vouches_for_is_named(work: Path) -> None:
    """A file written corrupt (its sha256 in manifest.json matches): still a named failure."""
    candidate = work / CANDIDATE
    corrupt(candidate / STAGE1)
    reseal(candidate, STAGE1)
    proc = run_lawset("validate", CANDIDATE, cwd=work, check=False)
    assert proc.returncode == 1, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if STAGE1 in x)
    assert re.search(r": not a readable parquet file \(\w+: .+\); rebuild, or restore it$", line)
    assert "Traceback" not in proc.stdout + proc.stderr


def test_missing_and_unlisted_files_are_named(work: Path) -> None:
    candidate = work / CANDIDATE
    (candidate / STAGE1).rename(candidate / "data" / "stage1" / "extra.parquet")
    proc = run_lawset("validate", CANDIDATE, cwd=work, check=False)
    assert proc.returncode == 1, proc.stderr
    assert f"{STAGE1}: missing (listed in manifest.json); rebuild, or restore it" in proc.stdout
    assert "data/stage1/extra.parquet: not listed in manifest.json" in proc.stdout


def test_usage_error_keeps_the_earlier_results(work: Path) -> None:
    candidate = work / CANDIDATE
    before = tree(candidate)
    (work / "bad.yaml").write_text("diversity: [unclosed\n", encoding="utf-8")
    proc = run_lawset("validate", CANDIDATE, "--thresholds", "bad.yaml", cwd=work, check=False)
    assert proc.returncode == 2
    assert "bad.yaml: not valid YAML" in proc.stderr and "Traceback" not in proc.stderr
    assert tree(candidate) == before


def test_interrupt_keeps_the_earlier_results(work: Path) -> None:
    """Ctrl-C while the suites run: the earlier validation.json and Data Docs stay as they were,
    and no temporary folder is left."""
    candidate = work / CANDIDATE
    before = tree(candidate)
    proc = subprocess.Popen(
        [sys.executable, "-m", "lawset.builders.cli", "validate", str(CANDIDATE)],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    )
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + 120
    for line in proc.stderr:  # the suites run in the temporary folder
        seen.append(line)
        if "running the expectation suites" in line:
            break
        assert time.monotonic() < deadline, "".join(seen)
    assert [p for p in (candidate / "reports").iterdir() if p.name.startswith(".validation")]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, "".join(seen) + err
    assert "interrupted" in err and "Traceback" not in err
    assert tree(candidate) == before
    assert no_temp_folders(candidate)


def test_failed_expectation_replaces_the_earlier_results(work: Path) -> None:
    """A completed run that fails an expectation is the new result (and --verbose prints a line
    per validated file). An unreadable evaluation index fails its check, naming the file."""
    candidate = work / CANDIDATE
    path = candidate / STAGE1
    table = pq.read_table(path)
    rows = table.to_pylist()
    next(m for m in rows[0]["messages"] if m["role"] == "user")["content"] += "<br>"
    pq.write_table(type(table).from_pylist(rows, schema=table.schema), path)
    reseal(candidate, STAGE1)  # as a build that wrote this row would
    (candidate / "reports" / "eval_index.npz").write_bytes(b"PK not an index")
    proc = run_lawset(
        "validate", CANDIDATE, "--thresholds", "th.yaml", "--verbose", cwd=work, check=False
    )
    assert proc.returncode == 1, proc.stderr
    assert "text.no_html" in proc.stdout and "Traceback" not in proc.stderr
    s = summary(candidate)
    assert not s["passed"] and s["files_checked"]["passed"]
    failed = {e["check"]: e for e in s["expectations"] if not e["passed"]}
    assert sorted(failed) == ["contamination.recomputed[stage1]", "text.no_html"]
    assert (
        "reports/eval_index.npz does not read"
        in failed["contamination.recomputed[stage1]"]["description"]
    )
    assert (candidate / DOCS / "index.html").is_file() and no_temp_folders(candidate)
    assert f"stage1/train-00000-of-00001.parquet: {len(rows)} rows" in proc.stderr


def test_python_api_takes_a_relative_path(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lawset.validators import validate_release

    monkeypatch.chdir(work)
    outcome = validate_release(CANDIDATE, thresholds_path=Path("th.yaml"))
    assert outcome.passed and not outcome.problems
    assert outcome.summary == (work / CANDIDATE / DOCS / "validation.json").resolve()
    assert summary(work / CANDIDATE)["passed"]
    assert os.getcwd() == str(work)
