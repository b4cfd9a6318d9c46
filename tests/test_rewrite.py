"""The rewrite step: fidelity checks, response parsing, options, and builds against a local fake
OpenAI server with planned faults (retries counted, nothing lost, nothing sent twice, a rebuild
from the cache sends nothing and is byte-identical, a killed build resumes)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from fake_openai import (
    CASE_TASKS,
    ENV,
    FakeOpenAI,
    build_command,
    data_bytes,
    lawset_build,
    make_recipe,
    make_sources,
    rows,
)
from lawset.builders import citations
from lawset.builders.citations import StatuteCatalog
from lawset.builders.recipe import RecipeError, load_recipe
from lawset.builders.rewrite.cache import CachedResponse
from lawset.builders.rewrite.checks import Bounds, Grounding, lawbench_months, run_checks
from lawset.builders.rewrite.client import aggregate_client_reports, parse_response
from lawset.builders.rewrite.options import add_build_options, apply_build_options
from lawset.builders.rewrite.prompt import load_prompt
from lawset.builders.schema import content_id

LAW = "中华人民共和国刑法"
TEXTS = {
    1: "为了惩罚犯罪，保护人民，根据宪法，制定本法。",
    52: "判处罚金，应当根据犯罪情节决定罚金数额。",
    264: "盗窃公私财物，数额较大的，处三年以下有期徒刑、拘役或者管制，并处或者单处罚金。"
    "依照本法第五十二条的规定判处罚金。",
}
BOUNDS = Bounds(min_chars=30, max_chars=1500, min_cjk_ratio=0.5)


@pytest.fixture()
def catalog():
    saved = set(citations._KNOWN)
    cat = StatuteCatalog()
    for article, text in TEXTS.items():
        cat.add(LAW, "1979-07-01", True, article, 0, text)
    cat = cat.finish()
    cat.activate()
    yield cat
    citations._KNOWN.clear()
    citations._KNOWN.update(saved)


def _check(answer: str, gold: str, catalog, question: str = "被告人盗窃手机一部，价值1037元。"):
    g = Grounding(articles={(LAW, 264, 0): TEXTS[264]}, related={(LAW, 52, 0)})
    results = run_checks(
        answer,
        gold=gold,
        question=question,
        task="charge_prediction",
        grounding=g,
        catalog=catalog,
        bounds=BOUNDS,
        text_of=lambda k: TEXTS.get(k[1]),
    )
    return [name for name, why in results if why]


REASONING = "经审查，被告人以非法占有为目的，秘密窃取他人财物，"


def test_checks_pass_a_grounded_faithful_rewrite(catalog) -> None:
    answer = (
        f"{REASONING}依照《中华人民共和国刑法》第二百六十四条的规定，“盗窃公私财物，数额较大的”"
        "应当定罪处罚，并依照刑法第52条判处罚金。涉案财物价值1037元。\n罪名：盗窃罪"
    )
    assert _check(answer, "罪名：盗窃罪", catalog) == []


@pytest.mark.parametrize(
    ("answer", "gold", "failed"),
    [
        # a cited article the index does not have (a hallucinated number)
        (
            REASONING + "依照《中华人民共和国刑法》第九百九十九条处罚。\n罪名：盗窃罪",
            "罪名：盗窃罪",
            ["citations_exist"],
        ),
        # an article that exists but was neither given nor related
        (
            REASONING + "依照《中华人民共和国刑法》第一条的规定处罚。\n罪名：盗窃罪",
            "罪名：盗窃罪",
            ["citations_grounded"],
        ),
        # a quotation that is not the article's text
        (
            REASONING + "依照刑法第二百六十四条，“盗窃公私财物数额巨大的”应当处罚。\n罪名：盗窃罪",
            "罪名：盗窃罪",
            ["quotes"],
        ),
        # another charge than the gold
        (REASONING + "其行为构成抢夺罪，应当依法处罚。\n罪名：抢夺罪", "罪名：盗窃罪", ["gold"]),
        # another option letter named in the reasoning: LawBench reads it as a second choice
        (REASONING + "A项说法错误，所以应当选择本项说法。\n正确答案：B", "正确答案：B", ["gold"]),
        # a prison term that LawBench would read before the answer line
        (
            REASONING + "依法应当判处有期徒刑六个月，并处罚金。\n刑期：8个月",
            "刑期：8个月",
            ["gold"],
        ),
        # an amount that is in neither the question nor the gold
        (
            REASONING + "涉案财物价值五千元，数额较大，应当处罚。\n罪名：盗窃罪",
            "罪名：盗窃罪",
            ["gold"],
        ),
        # the structured line is missing
        (
            REASONING + "其行为构成盗窃罪，应当依法处罚，判处相应刑罚。",
            "罪名：盗窃罪",
            ["format", "gold"],
        ),
        # nothing but the answer line
        ("罪名：盗窃罪", "罪名：盗窃罪", ["length", "format"]),
        # mostly not Chinese
        (
            "The defendant stole a phone worth a lot of money, so it is theft.\n罪名：盗窃罪",
            "罪名：盗窃罪",
            ["cjk_ratio"],
        ),
    ],
)
def test_checks_catch_each_kind_of_infidelity(catalog, answer, gold, failed) -> None:
    assert _check(answer, gold, catalog) == failed


def test_lawbench_prison_term_reading() -> None:
    assert lawbench_months("有期徒刑一年六个月\n刑期：18个月") == 6  # first 个月 wins, as LawBench
    assert lawbench_months("判处有期徒刑二年") == 24
    assert lawbench_months("刑期：无期徒刑") is None


@pytest.mark.parametrize(
    ("resp", "kind"),
    [
        (CachedResponse("k", '```json\n{"answer": "回答"}\n```', "stop", None, 1, 1), ""),
        (CachedResponse("k", '好的：{"answer": "回答"} 以上', "stop", None, 1, 1), ""),
        (CachedResponse("k", None, None, None, 1, 0), "empty_choices"),
        (CachedResponse("k", None, "stop", "I can't", 1, 0), "refusal"),
        (CachedResponse("k", '{"answer": "回', "length", None, 1, 9), "truncated"),
        (CachedResponse("k", '{"answer": "回', "stop", None, 1, 9), "malformed_json"),
        (CachedResponse("k", '{"text": "回答"}', "stop", None, 1, 9), "schema"),
        (CachedResponse("k", '{"answer": ""}', "stop", None, 1, 9), "schema"),
    ],
)
def test_responses_are_validated_never_trusted(resp, kind) -> None:
    out, got, _ = parse_response(resp)
    assert got == kind and (out is None) == bool(kind)


def test_prompt_version_follows_the_file() -> None:
    import hashlib
    from importlib import resources

    p = load_prompt()
    raw = resources.files("lawset.builders.rewrite").joinpath("prompts/rewrite_v1.yaml")
    assert p.version == f"rewrite_v1@{hashlib.sha256(raw.read_bytes()).hexdigest()[:12]}"
    assert "{final_line}" in p.system and "default" in p.tasks


def test_build_options_insert_the_step_before_citations(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sources", type=Path)
    add_build_options(parser)
    recipe = load_recipe(make_recipe(tmp_path / "r.yaml"))
    args = parser.parse_args(
        ["--sources", str(tmp_path), "--rewriter", "openai", "--base-url", "http://h/v1"]
        + ["--model", "m", "--concurrency", "3", "--rewrite-cache", str(tmp_path / "c")]
    )
    new = apply_build_options(args, recipe)
    names = [s.name for s in new.steps]
    assert names.index("rewrite") == names.index("citations") - 1
    params = new.steps[names.index("rewrite")].params
    assert (params["rewriter"], params["model"], params["concurrency"]) == ("openai", "m", 3)
    assert params["cache_dir"] == str(tmp_path / "c") and params["on_failure"] == "fallback"
    assert new.digest() != recipe.digest()
    # no flags, no step in the recipe: the recipe as it is (the template rewriter is a no-op)
    assert apply_build_options(parser.parse_args([]), recipe) is recipe
    with pytest.raises(RecipeError, match="base_url and model"):
        apply_build_options(parser.parse_args(["--rewriter", "openai"]), recipe)


REWRITE_OPTS = {"timeout_s": 1.0, "max_retries": 3}


def _stats(out: Path) -> dict:
    return json.loads((out / "reports" / "stats.json").read_text("utf-8"))


def _outcomes(stats: dict) -> Counter:
    c: Counter = Counter()
    for key, n in stats["counters"].get("rewrite", {}).items():
        kind = key.split(":", 1)[0]
        if kind in ("rewritten", "fallback", "rejected"):
            c[kind] += n
    return c


def test_faults_are_retried_counted_and_a_rebuild_sends_nothing(tmp_path: Path) -> None:
    src = make_sources(tmp_path / "raw")
    recipe = make_recipe(tmp_path / "r.yaml", rewrite=REWRITE_OPTS)
    cache = tmp_path / "cache"
    transport = ["429", "500", "broken_json", "drop", "timeout"]
    content = ["empty_choices", "refusal", "bad_content"]
    with FakeOpenAI(transport + content, bad_every=3, always_bad_every=5, hang_s=2) as srv:
        flags = ["--rewriter", "openai", "--base-url", srv.base_url, "--model", "fake"]
        flags += ["--concurrency", "2", "--rewrite-cache", cache, "--recipe", recipe]
        out1, out2 = tmp_path / "out1", tmp_path / "out2"
        lawset_build("--sources", src, "--out", out1, "--keep-work", "--no-progress", *flags)
        answered = srv.answered_keys()
        n_log = len(srv.log)
        lawset_build("--sources", src, "--out", out2, "--no-progress", *flags)
        assert len(srv.log) == n_log, "a build with a filled cache sent requests"

    # Every selected record is accounted for: rewritten or fallen back (6 cases x 4 tasks).
    stats = _stats(out1)
    step = stats["steps"]["rewrite"]
    outcomes = _outcomes(stats)
    assert step["in"] == 24 == step["out"] == outcomes["rewritten"] + outcomes["fallback"]
    assert outcomes["fallback"] > 0 and outcomes["rewritten"] > 0
    counters = stats["counters"]["rewrite"]
    assert counters["check_fail:json"] == len(content)
    assert counters["check_fail:citations_exist"] > 0  # the planted hallucinated articles

    # The client report counts what the server saw.
    report = aggregate_client_reports(out1 / ".lawset-work")
    assert report["requests"] == n_log
    assert report["retries"] == len(transport)
    assert report["responses"] == len(answered)
    assert report["failures"] == {"empty_choices": 1, "malformed_json": 1, "refusal": 1}
    assert report["tokens_in"] > 0 and report["tokens_out"] > 0
    assert len(answered) == len(set(answered)), "an answered request was sent twice"
    # ... and the build writes that report beside stats.json; the rebuild's says zero requests.
    written = json.loads((out1 / "reports" / "rewrite_client.json").read_text("utf-8"))
    assert written["requests"] == n_log
    again = json.loads((out2 / "reports" / "rewrite_client.json").read_text("utf-8"))
    assert again["requests"] == 0 and again["cache_hits"] > 0

    # Rewritten rows: provenance, stable ids, verified citations only; fallbacks untouched.
    mine = [r for r in rows(out1) if r["task"] in CASE_TASKS]
    assert len(mine) == 24
    rewritten = [r for r in mine if r["rewrite"] is not None]
    assert len(rewritten) == outcomes["rewritten"]
    for r in rewritten:
        assert r["rewrite"]["model"] == "fake"
        assert r["rewrite"]["prompt_version"].startswith("rewrite_v1@")
        assert r["id"] == content_id(r["messages"])
        assert r["group"].startswith("case:cail2018:")
    assert any(r["citations"] for r in rewritten)
    # The card names the model and how many released rows it rewrote.
    released = len([r for r in rows(out1) if r["rewrite"] is not None])
    assert f"`fake` {released:,}" in (out1 / "README.md").read_text("utf-8")
    for r in mine:  # no shipped answer cites an article the statute index does not hold
        assert all(c["verified"] and c["status"] == "current" for c in r["citations"])
        if r["rewrite"] is None:
            assert "\n" not in r["messages"][-1]["content"]  # the generator's answer line

    # With the cache filled the output is byte-identical, stats included.
    assert data_bytes(out1) == data_bytes(out2)
    assert (out1 / "reports" / "stats.json").read_bytes() == (
        out2 / "reports" / "stats.json"
    ).read_bytes()


def test_reject_policy_drops_with_the_reason(tmp_path: Path) -> None:
    src = make_sources(tmp_path / "raw", files=1, per_file=3)
    recipe = make_recipe(tmp_path / "r.yaml", shards=1, rewrite={"on_failure": "reject"})
    with FakeOpenAI(always_bad_every=2) as srv:
        out = tmp_path / "out"
        lawset_build(
            "--sources", src, "--out", out, "--recipe", recipe, "--no-progress",
            "--rewriter", "openai", "--base-url", srv.base_url, "--model", "fake",
        )  # fmt: skip
    stats = _stats(out)
    outcomes = _outcomes(stats)
    step = stats["steps"]["rewrite"]
    assert step["in"] == 12 == outcomes["rewritten"] + outcomes["rejected"]
    assert outcomes["rejected"] > 0 and step["out"] == outcomes["rewritten"]
    assert step["dropped"] == {"citations_exist": outcomes["rejected"]}
    rejects = [json.loads(x) for x in (out / "reports" / "rejects" / "rewrite.jsonl").open()]
    assert len(rejects) == outcomes["rejected"]
    assert all(
        r["reason"] == "citations_exist" and "第九百九十九条" in r["detail"] for r in rejects
    )
    shipped = [r for r in rows(out) if r["task"] in CASE_TASKS]
    assert len(shipped) == outcomes["rewritten"] and all(r["rewrite"] for r in shipped)


def test_killed_build_resumes_without_sending_an_answered_request_again(tmp_path: Path) -> None:
    src = make_sources(tmp_path / "raw", files=3, per_file=2)
    recipe = make_recipe(tmp_path / "r.yaml", shards=3)
    cache = tmp_path / "cache"
    with FakeOpenAI(delay_s=0.1, bad_every=4) as srv:
        args = ["--sources", src, "--recipe", recipe, "--no-progress", "--rewriter", "openai"]
        args += ["--base-url", srv.base_url, "--model", "fake", "--concurrency", "1"]
        args += ["--rewrite-cache", cache]
        out = tmp_path / "out"
        proc = subprocess.Popen(
            build_command(*args, "--out", out),
            env=ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while len(srv.answered_keys()) < 10 and time.monotonic() < deadline:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                time.sleep(0.02)
            os.killpg(proc.pid, signal.SIGKILL)
        finally:
            proc.wait()
        assert not (out / "reports" / "stats.json").exists(), "the build finished before the kill"
        before = srv.answered_keys()
        lawset_build(*args, "--out", out)
        answered = srv.answered_keys()
        assert len(answered) > len(before)
        # Every response that reached the build before the kill was stored and is not asked
        # again. Only the one request in flight at the kill (concurrency 1: the server may have
        # answered it while the client was being killed) can be sent a second time.
        again = {k for k, n in Counter(answered).items() if n > 1}
        assert again <= {before[-1]}, "a stored response was requested again"
        # An uninterrupted build over the same cache: no request, the same files.
        n = len(srv.log)
        lawset_build(*args, "--out", tmp_path / "again")
        assert len(srv.log) == n
    stats = _stats(out)
    outcomes = _outcomes(stats)
    assert stats["steps"]["rewrite"]["in"] == 24 == outcomes["rewritten"] + outcomes["fallback"]
    assert data_bytes(out) == data_bytes(tmp_path / "again")


def test_template_rewriter_is_offline_and_leaves_answers_as_made(tmp_path: Path) -> None:
    src = make_sources(tmp_path / "raw", files=1, per_file=2)
    recipe = make_recipe(tmp_path / "r.yaml", shards=1, rewrite={})
    out = tmp_path / "out"
    lawset_build("--sources", src, "--out", out, "--recipe", recipe, "--no-progress")
    stats = _stats(out)
    assert stats["steps"]["rewrite"] == {"in": 8, "out": 8, "dropped": {}}
    assert "rewrite" not in stats["counters"]
    mine = [r for r in rows(out) if r["task"] in CASE_TASKS]
    assert len(mine) == 8 and all(r["rewrite"] is None for r in mine)
    answers = {r["task"]: r["messages"][-1]["content"] for r in mine}
    assert answers["charge_prediction"] == "罪名：盗窃罪"
    assert answers["article_prediction"] == "法条：刑法第264条、刑法第67条"
    assert not (out / ".lawset-cache").exists()
