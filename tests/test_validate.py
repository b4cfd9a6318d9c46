"""`lawset validate`: passes on a real release, and every expectation fails on a release broken
for it.

One small release is built from ../shared/raw (``--limit 40``) per session. Each *scenario*
copies it, breaks it with pyarrow (or edits a report, or validates against another recipe) and
runs ``lawset validate`` once, in-process through the CLI's ``main``. A validation costs about
8 s whatever the size (Great Expectations' per-expectation overhead on every file), so the
row-level mutations share one scenario: each breaks a different expectation on a different row.
The tests then check, per expectation, that it failed naming the broken row, and per scenario,
that the failed expectations are exactly the broken ones — no mutation leaks into another check.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import REPO, build, run_lawset
from lawset.builders.cli import main
from lawset.builders.schema import stable_hash
from lawset.validators.config import load_thresholds
from lawset.validators.formats import always_structured_tasks
from lawset.validators.metrics import task_entropy
from validate_helpers import (
    Rows,
    copy_release,
    data_file,
    edit_json,
    failed_checks,
    first_user,
    last_answer,
    near_sample_ids,
    new_id,
    read_rows,
    reseal,
    smallest_hash_row,
    write_rows,
)

#: (suite, id) per broken check; id None when the failing row has no id to name
Broken = dict[str, tuple[str, str | None]]

NOT_NULL = (
    "id",
    "messages",
    "task",
    "level",
    "domain",
    "source",
    "source_id",
    "license",
    "citations",
    "group",
    "quality",
)
#: the answer-format checks broken in stage 1 (a task missing from the small release's stage-1
#: splits would fail the scenario's setup, not pass silently)
FORMAT_TASKS = sorted(always_structured_tasks())


@pytest.fixture(scope="session")
def release(shared_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("validate") / "release"
    return build(shared_raw, out, "--limit", "40", "--workers", "2").out


def validate(root: Path, *args: str) -> tuple[int, str, dict]:
    """``lawset validate ROOT ARGS`` in this process: exit status, stdout, validation.json.
    The manifest is resealed first: the scenarios break rows as a faulty build would."""
    reseal(root)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["validate", str(root), *args])
    summary_path = root / "reports" / "validation" / "validation.json"
    summary = json.loads(summary_path.read_text("utf-8")) if summary_path.exists() else {}
    return rc, buf.getvalue(), summary


# -- scenarios: each breaks a copy of the release and says what it broke --------------------------


def break_rows(root: Path, tmp: Path) -> tuple[Broken, list[str]]:
    """Row-level expectations: one mutated row (or file) each."""
    broken: Broken = {}
    train = Rows(root, "stage1", "train")
    memo = ("article_recitation", "article_fill_in", "article_identification", "article_chapter")

    def any_memo(r: dict) -> bool:
        return r["task"] in memo

    suite = "stage1.train"
    # schema: required fields
    for field in NOT_NULL:
        row = train.pick(any_memo)
        broken[f"schema.not_null[{field}]"] = (suite, None if field == "id" else row["id"])
        row[field] = None
    row = train.pick(any_memo)
    row["id"] = "not-a-content-hash"
    broken["schema.id_format"] = (suite, row["id"])
    row = train.pick(any_memo)
    train.rows.append(dict(row))  # the same id twice
    train.used.add(len(train.rows) - 1)
    broken["schema.id_unique"] = (suite, row["id"])
    row = train.pick(any_memo)
    row["messages"].insert(1, {"role": "tool", "content": "检索到相关法条。"})
    broken["schema.roles"] = (suite, row["id"])
    row = train.pick(any_memo)
    row["messages"].reverse()
    broken["schema.messages_alternate"] = (suite, row["id"])
    row = train.pick(any_memo)
    row["messages"].insert(0, {"role": "system", "content": ""})
    broken["schema.messages_non_empty"] = (suite, row["id"])
    row = train.pick(any_memo)
    row["task"] = "made_up_task"
    broken["schema.task"] = (suite, row["id"])
    row = train.task("article_recitation")
    row["level"] = "application"
    broken["schema.level"] = (suite, row["id"])
    row = train.pick(any_memo)
    row["domain"] = "general"
    broken["schema.domain"] = (suite, row["id"])
    # text quality
    row = train.pick(any_memo)
    first_user(row)["content"] = "问"
    broken["text.user_length"] = (suite, row["id"])
    row = train.task("article_recitation")
    last_answer(row)["content"] = "很" * 8100 + last_answer(row)["content"]
    broken["text.answer_length"] = (suite, row["id"])
    row = train.task("prison_term")
    last_answer(row)["content"] = "综合全案情节判处：\n" + last_answer(row)["content"]
    broken["text.answer_length[prison_term]"] = (suite, row["id"])
    row = train.task("exam_knowledge_choice")
    last_answer(row)["content"] = (
        "This explanation is written in English only, so few of its characters are Chinese."
        "\n\n正确答案：A"
    )
    broken["text.cjk_ratio"] = (suite, row["id"])
    for check, junk in (
        ("text.no_replacement_char", "\ufffd"),
        ("text.no_html", "<br>"),
        ("text.no_unmasked_pii", "，联系电话13812345678。"),
    ):
        row = train.pick(any_memo)
        first_user(row)["content"] += junk
        broken[check] = (suite, row["id"])
    # citations and provenance
    row = train.pick(lambda r: r["task"] == "article_prediction" and r["citations"])
    row["citations"][0]["status"] = "repealed"
    broken["citations.no_repealed_as_current"] = (suite, row["id"])
    row = train.pick(any_memo)
    row["source"] = "unknown_source"
    broken["provenance.source"] = (suite, row["id"])
    row = train.pick(any_memo)
    row["license"] = "CC0-1.0"
    broken["provenance.license"] = (suite, row["id"])
    # answer formats: a line after the structured ending
    others = {s: Rows(root, "stage1", s) for s in ("validation", "test")}
    for task in FORMAT_TASKS:
        for split, rows in (("train", train), *others.items()):
            if any(r["task"] == task for k, r in enumerate(rows.rows) if k not in rows.used):
                row = rows.task(task)
                last_answer(row)["content"] += "\n以上。"
                broken[f"format[{task}]"] = (f"stage1.{split}", row["id"])
                break
        else:
            raise AssertionError(f"no {task} row in stage 1 to break")
    train.save()
    for rows in others.values():
        rows.save()
    # stage 2: verified citations, structured tasks, stage-2 sources, per-row formats
    s2 = Rows(root, "stage2", "train")
    row = s2.pick(lambda r: bool(r["citations"]))
    row["citations"][0]["verified"] = False
    broken["citations.verified"] = ("stage2.train", row["id"])
    row = s2.task("charge_prediction")
    row["task"] = "exam_subjective"  # an unstructured task of the same level
    broken["format.structured_tasks"] = ("stage2.train", row["id"])
    recipe = yaml.safe_load((REPO / "builders" / "recipes" / "default.yaml").read_text("utf-8"))
    row = s2.task("exam_knowledge_choice")
    row["source"] = "coig_cqia"  # a recipe source, but not one of stage2.sources
    row["license"] = recipe["sources"]["coig_cqia"]["license"]
    broken["provenance.stage2_source"] = ("stage2.train", row["id"])
    for task in ("consultation", "case_judgment"):
        row = s2.task(task)
        last_answer(row)["content"] += "\n以上。"
        broken[f"format[{task}]"] = ("stage2.train", row["id"])
    s2.save()
    # the Arrow types of a whole file
    path = data_file(root, "stage1", "validation")
    table = pq.read_table(path)
    i = table.schema.get_field_index("source_id")
    pq.write_table(
        table.set_column(i, "source_id", table["source_id"].cast(pa.large_string())), path
    )
    broken["schema.types"] = ("stage1.validation", None)
    return broken, []


def break_statutes_and_recipe(root: Path, tmp: Path) -> tuple[Broken, list[str]]:
    """Citations missing from the statute index (a full build's check), and the wrong recipe."""
    # Make the release look like a full build: then stage-2 citations are checked against the
    # statute files, which a --limit build writes only in part; add the articles cited.
    edit_json(root / "manifest.json", lambda m: m["options"].update(limit=None, only=None))
    statutes, schema = read_rows(data_file(root, "statutes", "train"))
    have = {(s["law"], s["article"], s["sub"]) for s in statutes}
    template = statutes[0]
    for f in sorted((root / "data" / "stage2").glob("*.parquet")):
        for r in read_rows(f)[0]:
            for c in r["citations"]:
                key = (c["law"], c["article"], c["sub"])
                if key not in have:
                    have.add(key)
                    statutes.append(
                        {
                            **template,
                            "id": f"《{key[0]}》@test#{key[1]}-{key[2]}",
                            "law": key[0],
                            "article": key[1],
                            "sub": key[2],
                        }
                    )
    write_rows(data_file(root, "statutes", "train"), statutes, schema)
    s2 = Rows(root, "stage2", "train")
    row = s2.pick(lambda r: bool(r["citations"]))
    row["citations"][0]["article"] = 99999
    s2.save()
    recipe = yaml.safe_load((REPO / "builders" / "recipes" / "default.yaml").read_text("utf-8"))
    recipe["description"] = "another recipe than the one the release was built with"
    other = tmp / "other-recipe.yaml"
    other.write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    broken = {
        "citations.in_statute_index": ("stage2.train", row["id"]),
        "provenance.recipe": ("release", None),
    }
    return broken, ["--recipe", str(other)]


def _keep_one(rows: list[dict], drop: Callable[[dict], bool]) -> list[dict]:
    """Drop the rows ``drop`` says, but keep the first row of every task (tasks stay present)
    and the rows of the near-duplicate spot check's sample: the scenario then changes the mix
    and nothing else (a smaller split would draw other rows into the sample)."""
    keep = near_sample_ids(rows, load_thresholds().leakage.near_sample)
    seen: set[str] = set()
    out = []
    for r in rows:
        if r["task"] in seen and r["id"] not in keep and drop(r):
            continue
        seen.add(r["task"])
        out.append(r)
    return out


def _largest(rows: list[dict], level: str) -> list[str]:
    counts = Counter(r["task"] for r in rows if r["level"] == level)
    return [t for t, _ in counts.most_common()]


def break_task_mix(root: Path, tmp: Path) -> tuple[Broken, list[str]]:
    """One memorization task takes over the train split (the next three largest dropped)."""
    path = data_file(root, "stage1", "train")
    rows, schema = read_rows(path)
    others = _largest(rows, "memorization")[1:4]
    write_rows(path, _keep_one(rows, lambda r: r["task"] in others), schema)
    return {"diversity.task_mix[stage1.train]": ("release", None)}, []


def break_task_entropy(root: Path, tmp: Path) -> tuple[Broken, list[str]]:
    """Four even memorization tasks and a thin tail: low entropy, yet no task above its share
    and every level just above its minimum share."""
    path = data_file(root, "stage1", "train")
    rows, schema = read_rows(path)
    big = set(_largest(rows, "memorization")[:4])
    n_big = sum(r["task"] in big for r in rows)
    budget = {"understanding": math.ceil(0.012 * n_big), "application": math.ceil(0.025 * n_big)}
    keep = near_sample_ids(rows, load_thresholds().leakage.near_sample)
    kept: Counter[str] = Counter(r["level"] for r in rows if r["id"] in keep)

    def drop(r: dict) -> bool:
        if r["task"] in big or r["level"] == "general":
            return False
        kept[r["level"]] += 1
        return kept[r["level"]] > budget.get(r["level"], 0)

    mutated = _keep_one(rows, drop)
    assert task_entropy(Counter(r["task"] for r in mutated)) < 2.5
    write_rows(path, mutated, schema)
    return {"diversity.task_entropy[stage1.train]": ("release", None)}, []


def break_distinct_2(root: Path, tmp: Path) -> tuple[Broken, list[str]]:
    """Every user turn of the train split replaced by one sentence."""
    path = data_file(root, "stage1", "train")
    rows, schema = read_rows(path)
    for r in rows:
        for m in r["messages"]:
            if m["role"] == "user":
                m["content"] = "请根据相关法律规定回答下列问题。"
    write_rows(path, rows, schema)
    return {"diversity.distinct_2[stage1.train]": ("release", None)}, []


def break_mix(root: Path, tmp: Path) -> tuple[Broken, list[str]]:
    """Understanding and general queries all but gone from train; one task gone from stage 1."""
    path = data_file(root, "stage1", "train")
    rows, schema = read_rows(path)
    gone = _largest(rows, "understanding")[-1]
    rows = _keep_one(rows, lambda r: r["level"] in ("understanding", "general"))
    write_rows(path, [r for r in rows if r["task"] != gone], schema)
    for split in ("validation", "test"):
        p = data_file(root, "stage1", split)
        other, schema = read_rows(p)
        write_rows(p, [r for r in other if r["task"] != gone], schema)
    return {
        "diversity.level_share[stage1.train:understanding]": ("release", None),
        "diversity.general_share[stage1]": ("release", None),
        "diversity.tasks_present[stage1]": ("release", gone),
    }, []


def break_leakage(root: Path, tmp: Path) -> tuple[Broken, list[str]]:
    """A train row copied into test, a near copy of another, and the build's reports saying
    there were duplicates and that no benchmark check ran."""
    train, _ = read_rows(data_file(root, "stage1", "train"))
    test_path = data_file(root, "stage1", "test")
    test, schema = read_rows(test_path)
    exact = dict(train[len(train) // 2], id=new_id("exact copy"))
    from lawset.builders.dedup import quoting_tasks

    quoting = quoting_tasks()  # two statute quotes are distinct provisions, never near copies
    near = smallest_hash_row(
        train, lambda r: len(last_answer(r)["content"]) > 200 and r["task"] not in quoting
    )
    copy = json.loads(json.dumps(near, ensure_ascii=False))
    copy["id"] = "0" * 31 + "1"
    first_user(copy)["content"] += "。"
    answer = last_answer(copy)
    answer["content"] = "另" + answer["content"][1:]
    write_rows(test_path, [*test, exact, copy], schema)
    edit_json(root / "reports" / "leakage.json", lambda d: d.update(cross_split_near=1))
    edit_json(root / "reports" / "contamination.json", lambda d: d.update(rule=None))
    return {
        "leakage.exact_recomputed[stage1]": ("release", None),
        "leakage.near_recomputed[stage1]": ("release", None),
        "leakage.report": ("release", None),
        "contamination.report": ("release", None),
    }, []


def break_contamination(root: Path, tmp: Path) -> tuple[Broken, list[str]]:
    """The release ships an evaluation index (``reports/eval_index.npz``) holding the text of a
    train row as a benchmark item: the recomputation must find that row."""
    import numpy as np
    from lawset.builders.decontam import build_eval_index

    train, _ = read_rows(data_file(root, "stage1", "train"))
    row = smallest_hash_row(train, lambda r: len(last_answer(r)["content"]) > 200)
    text = "\n".join(m["content"] for m in row["messages"])
    index = build_eval_index([("lawbench/9-9#0", text)], np.zeros(0, dtype=np.uint64))
    index.save(root / "reports" / "eval_index.npz")
    return {"contamination.recomputed[stage1]": ("release", row["id"])}, []


Mutation = Callable[[Path, Path], tuple[Broken, list[str]]]
#: scenario -> (mutations applied in order, the checks they break); mutations share a scenario
#: only where they touch different rows and checks
SCENARIOS: dict[str, tuple[list[Mutation], list[str]]] = {
    "rows": (
        [break_rows, break_statutes_and_recipe],
        [f"schema.not_null[{f}]" for f in NOT_NULL]
        + [
            "schema.id_format",
            "schema.id_unique",
            "schema.roles",
            "schema.messages_alternate",
            "schema.messages_non_empty",
            "schema.task",
            "schema.level",
            "schema.domain",
            "schema.types",
            "text.user_length",
            "text.answer_length",
            "text.answer_length[prison_term]",
            "text.cjk_ratio",
            "text.no_replacement_char",
            "text.no_html",
            "text.no_unmasked_pii",
            "citations.no_repealed_as_current",
            "citations.verified",
            "provenance.source",
            "provenance.license",
            "provenance.stage2_source",
            "format.structured_tasks",
            "format[consultation]",
            "format[case_judgment]",
        ]
        + [f"format[{t}]" for t in FORMAT_TASKS]
        + ["citations.in_statute_index", "provenance.recipe"],
    ),
    "task_entropy": ([break_task_entropy], ["diversity.task_entropy[stage1.train]"]),
    "distinct_2": ([break_distinct_2], ["diversity.distinct_2[stage1.train]"]),
    "mix": (
        [break_mix],
        [
            "diversity.level_share[stage1.train:understanding]",
            "diversity.general_share[stage1]",
            "diversity.tasks_present[stage1]",
        ],
    ),
    "task_mix_and_leakage": (
        [break_task_mix, break_leakage, break_contamination],
        [
            "diversity.task_mix[stage1.train]",
            "contamination.recomputed[stage1]",
            "leakage.exact_recomputed[stage1]",
            "leakage.near_recomputed[stage1]",
            "leakage.report",
            "contamination.report",
        ],
    ),
}


@pytest.fixture(scope="module")
def base(release: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str, dict]:
    """The unmodified release validated: (its copy, exit status, stdout, validation.json)."""
    root = copy_release(release, tmp_path_factory.mktemp("base") / "release")
    return (root, *validate(root))


@pytest.fixture(scope="module")
def outcomes(release: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable:
    """Scenario name -> (broken, exit status, stdout, validation.json), each run once."""
    cache: dict[str, tuple[Broken, int, str, dict]] = {}

    def get(name: str) -> tuple[Broken, int, str, dict]:
        if name not in cache:
            tmp = tmp_path_factory.mktemp(name)
            root = copy_release(release, tmp / "release")
            broken: Broken = {}
            args: list[str] = []
            for mutate in SCENARIOS[name][0]:
                more, more_args = mutate(root, tmp)
                broken |= more
                args += more_args
            cache[name] = (broken, *validate(root, *args))
        return cache[name]

    return get


CASES = [(name, check) for name, (_, checks) in SCENARIOS.items() for check in checks]


@pytest.mark.parametrize(("scenario", "check"), CASES, ids=[c for _, c in CASES])
def test_expectation_fails_on_a_release_broken_for_it(
    base: tuple, outcomes: Callable, scenario: str, check: str
) -> None:
    broken, rc, out, summary = outcomes(scenario)
    assert rc == 1
    suite, row_id = broken[check]
    assert (suite, check) not in failed_checks(base[3]), f"{check} fails on the real release too"
    failed = failed_checks(summary)
    assert (suite, check) in failed, f"{check} did not fail in {suite}"
    assert check in out  # the printed table names it
    if row_id is not None:  # failing ids, or "id:benchmark item" for contamination
        assert any(f == row_id or f.startswith(f"{row_id}:") for f in failed[(suite, check)])


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_only_the_broken_expectations_fail(base: tuple, outcomes: Callable, scenario: str) -> None:
    """Nothing fails beyond what the scenario broke (and what fails on the real release
    already, which test_validate_passes_on_a_real_release reports)."""
    broken, rc, out, summary = outcomes(scenario)
    extra = set(failed_checks(summary)) - set(failed_checks(base[3]))
    assert extra == {(suite, check) for check, (suite, _) in broken.items()}
    assert set(broken) == set(SCENARIOS[scenario][1])


def test_validate_passes_on_a_real_release(base: tuple) -> None:
    root, rc, out, summary = base
    assert rc == 0, out
    assert summary["passed"] and summary["expectations_failed"] == 0
    assert summary["expectations_total"] > 300
    suites = {e["suite"] for e in summary["expectations"]}
    assert {"stage1.train", "stage1.test", "stage2.train", "statutes.train", "release"} <= suites
    checks = {e["check"] for e in summary["expectations"]}
    assert {
        "text.cjk_ratio",
        "text.no_unmasked_pii",
        "diversity.distinct_2[stage1.train]",
        "leakage.near_recomputed[stage1]",
        "leakage.report",
    } <= checks
    # every expectation has an observed value; the Data Docs site has the index and one page
    # per validated file and one for the release metrics
    assert all(e["observed"] is not None for e in summary["expectations"])
    docs = root / "reports" / "validation"
    assert (docs / "index.html").is_file()
    pages = list((docs / "validations").rglob("*.html"))
    assert len(pages) == len(list((root / "data").glob("*/*.parquet"))) + 1
    assert "PASSED" in out and str(docs / "index.html") in out


def test_sample_keeps_the_rows_whose_id_hash_is_small(release: Path, tmp_path: Path) -> None:
    """--sample N: about N rows per config and split, chosen by id hash (so the same rows on
    every run and machine)."""
    root = copy_release(release, tmp_path / "release")
    rc, _, summary = validate(root, "--sample", "50")
    assert rc == 0
    for config in ("stage1", "stage2"):
        for split, n in summary["rows_validated"][config].items():
            ids = [r["id"] for r in read_rows(data_file(root, config, split))[0]]
            cut = min(1.0, 50 / len(ids)) * 2**64
            assert n == sum(stable_hash(i) < cut for i in ids)
    assert 20 <= summary["rows_validated"]["stage1"]["train"] <= 90


def test_usage_errors_exit_2(release: Path, tmp_path: Path) -> None:
    assert run_lawset("validate", tmp_path / "missing", check=False).returncode == 2
    (tmp_path / "empty").mkdir()
    proc = run_lawset("validate", tmp_path / "empty", check=False)
    assert proc.returncode == 2 and "not a lawset release" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("diversity: {min_general_share: 2}\n", encoding="utf-8")
    root = copy_release(release, tmp_path / "release")
    proc = run_lawset("validate", root, "--thresholds", bad, check=False)
    assert proc.returncode == 2 and "min_general_share" in proc.stderr
