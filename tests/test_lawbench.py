"""LawBench-compatible scorer: published scores reproduced through the CLI, and every metric
family on hand-written items with hand-computed expectations."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import pytest
from lawset.builders import cli
from lawset.sft import lawbench
from lawset.sft.lawbench import TASKS, load_items, score_folder, score_task
from lawset.sft.lawbench_metrics import lcs_length, numerals_to_arabic, rouge_tokens

REPO = Path(__file__).resolve().parents[1]
LAWBENCH = REPO.parent / "shared" / "benchmarks" / "lawbench"
PREDICTIONS = LAWBENCH / "predictions" / "zero_shot"


@pytest.fixture
def lawset_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run ``lawset ...`` in-process with this module registered; returns (rc, stdout, stderr)."""
    assert LAWBENCH.is_dir(), f"{LAWBENCH} is missing: check out ../shared beside the project"

    def run(*args: str | Path) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def _published() -> dict[tuple[str, str], tuple[float, float]]:
    with (PREDICTIONS / "results.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {
        (r["model_name"], r["task"]): (float(r["score"]), float(r["abstention_rate"])) for r in rows
    }


def _abstention_reported(published: dict) -> set[str]:
    """Tasks for which LawBench reports an abstention rate: nonzero for at least one model."""
    return {task for (_, task), (_, abstain) in published.items() if abstain > 0}


# --------------------------------------------------------------------------- published scores


@pytest.mark.parametrize("model", ["GPT4", "qwen-7b-chat-hf"])
def test_cli_reproduces_published_scores(lawset_cli, model: str) -> None:
    rc, out, err = lawset_cli("lawbench", "score", PREDICTIONS / model, "--json")
    assert rc == 0, err
    result = json.loads(out)
    published = _published()
    reported = _abstention_reported(published)
    files = {p.stem for p in (PREDICTIONS / model).glob("*.json")}
    assert set(result["tasks"]) == files - {"2-1"}
    assert set(result["unsupported"]) == {"2-1"}  # reported, never given a score
    worst_score = worst_abstention = 0.0
    for task, got in result["tasks"].items():
        score, abstention = published[(model, task)]
        assert got["score"] == pytest.approx(score, abs=0.005), (task, got, score)
        worst_score = max(worst_score, abs(got["score"] - score))
        if task in reported:
            assert got["abstention"] == pytest.approx(abstention, abs=0.005), (task, got)
            worst_abstention = max(worst_abstention, abs(got["abstention"] - abstention))
    # the scorer is exact, not merely close: 4 decimals everywhere
    assert worst_score < 1e-4 and worst_abstention < 1e-9, (worst_score, worst_abstention)
    # levels and average are plain means over the tasks present
    for level in ("memorization", "understanding", "application"):
        scores = [r["score"] for t, r in result["tasks"].items() if TASKS[t]["level"] == level]
        assert result["levels"][level] == pytest.approx(sum(scores) / len(scores))
    all_scores = [r["score"] for r in result["tasks"].values()]
    assert result["average"] == pytest.approx(sum(all_scores) / len(all_scores))
    assert "17 supported tasks present" in result["note"]


def test_load_items_reads_the_benchmark() -> None:
    items = load_items(LAWBENCH, "3-4")
    assert len(items) == 500
    assert set(items[0]) >= {"instruction", "question", "answer"}
    assert load_items(LAWBENCH.parent, "1-2", shot="one_shot")[0]["answer"].startswith("正确答案")
    assert len(TASKS) == 20
    assert {info["level"] for info in TASKS.values()} == {
        "memorization",
        "understanding",
        "application",
    }


# --------------------------------------------------------------------------- CLI behaviour


def _write(folder: Path, task: str, items: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = {str(i): {"origin_prompt": "", **item} for i, item in enumerate(items)}
    (folder / f"{task}.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")


def test_cli_table_and_partial_folder(lawset_cli, tmp_path: Path) -> None:
    _write(tmp_path, "1-2", [{"prediction": "[正确答案]B<eoa>", "refr": "正确答案：B。"}])
    _write(tmp_path, "3-6", [{"prediction": "A", "refr": "正确答案:C。"}])
    _write(tmp_path, "2-1", [{"prediction": "句子", "refr": "句子"}])
    rc, out, err = lawset_cli("lawbench", "score", tmp_path)
    assert rc == 0, err
    assert "unsupported" in out and "2-1" in out
    assert "plain means over the 2 supported tasks present" in out
    rc, out, _ = lawset_cli("lawbench", "score", tmp_path, "--json")
    result = json.loads(out)
    assert result["levels"] == {"memorization": 1.0, "application": 0.0}
    assert result["average"] == 0.5
    assert result["tasks"]["1-2"] == {"score": 1.0, "abstention": 0.0, "n": 1}
    assert result == score_folder(tmp_path)


def test_cli_usage_errors(lawset_cli, tmp_path: Path) -> None:
    rc, _, err = lawset_cli("lawbench", "score", tmp_path / "nope", "--json")
    assert rc == 2 and "no such folder" in err

    (tmp_path / "empty").mkdir()
    rc, _, err = lawset_cli("lawbench", "score", tmp_path / "empty")
    assert rc == 2 and "no LawBench prediction files" in err

    bad = tmp_path / "bad"
    _write(bad, "1-2", [{"prediction": "A", "refr": "正确答案：A。"}] * 3)
    path = bad / "1-2.json"
    data = json.loads(path.read_text("utf-8"))
    del data["2"]["prediction"]
    path.write_text(json.dumps(data), "utf-8")
    rc, _, err = lawset_cli("lawbench", "score", bad, "--json")
    assert rc == 2 and "1-2.json" in err and "key '2'" in err and "'prediction'" in err

    _write(
        bad, "1-2", [{"prediction": "A", "refr": "正确答案：A。"}, {"prediction": "A", "refr": "A"}]
    )
    rc, _, err = lawset_cli("lawbench", "score", bad)
    assert rc == 2 and "1-2.json" in err and "key '1'" in err and "refr 'A'" in err

    path.write_text("{not json", "utf-8")
    rc, _, err = lawset_cli("lawbench", "score", bad)
    assert rc == 2 and "1-2.json" in err and "not valid JSON" in err

    path.write_text('[{"prediction": "A"}]', "utf-8")
    rc, _, err = lawset_cli("lawbench", "score", bad)
    assert rc == 2 and "keyed '0'" in err


def test_unknown_and_unsupported_tasks() -> None:
    with pytest.raises(KeyError):
        score_task("4-1", [])
    with pytest.raises(NotImplementedError, match="ChERRANT"):
        score_task("2-1", [{"prediction": "x", "refr": "x", "origin_prompt": "句子：\nx"}])


# --------------------------------------------------------------------------- metric families


def _items(*pairs: tuple[str, str]) -> list[dict]:
    return [{"prediction": p, "refr": r, "origin_prompt": ""} for p, r in pairs]


def test_single_choice() -> None:
    gold = "正确答案：B。"
    result = score_task(
        "1-2",
        _items(
            ("[正确答案]B<eoa>", gold),  # right
            ("[正确答案]B<eoa> 因为A和C都不对", gold),  # several option letters: wrong
            ("", gold),  # empty: abstention
            ("我无法回答", gold),  # no letter: abstention
        ),
    )
    assert result == {"score": 0.25, "abstention": 0.5, "n": 4}
    # 2-8 has five options and a bracketed gold; 3-6 an ASCII colon
    assert score_task("2-8", _items(("E", "[正确答案]E<eoa>")))["score"] == 1.0
    assert score_task("3-6", _items(("选C", "正确答案:C。"), ("D", "正确答案:C。")))["score"] == 0.5


def test_label_choice_and_skipped_gold() -> None:
    result = score_task(
        "2-2",
        _items(
            ("[争议焦点]责任认定<eoa>", "争议焦点类别：责任认定。"),
            ("责任认定和责任划分", "争议焦点类别：责任认定。"),  # two labels: wrong
            ("[争议焦点]赔偿<eoa>", "争议焦点类别：赔偿。"),  # gold 赔偿: skipped
            ("不清楚", "争议焦点类别：利息。"),  # abstention
        ),
    )
    assert result["n"] == 3
    assert result["score"] == pytest.approx(1 / 3)
    assert result["abstention"] == pytest.approx(1 / 4)  # over all items, as LawBench
    topics = score_task("2-4", _items(("[类别]劳动纠纷<eoa>", "劳动纠纷"), ("侵权", "劳动纠纷")))
    assert topics == {"score": 0.5, "abstention": 0.0, "n": 2}


def test_label_sets() -> None:
    result = score_task(
        "2-3",
        _items(
            # predicted {婚后有子女}: P 1, R 1/2 -> F1 2/3
            ("[类别]婚后有子女<eoa>", "类别:婚后有子女、限制行为能力子女抚养。"),
            ("[类别]离婚<eoa>", "类别:准予离婚。"),  # no label: abstention, 0
        ),
    )
    assert result["score"] == pytest.approx((2 / 3 + 0) / 2)
    assert result["abstention"] == 0.5
    # 2-9: predicted {买入, 获利} vs gold {卖出, 买入}: P 1/2, R 1/2 -> 1/2
    events = score_task("2-9", _items(("买入；获利", "卖出;买入"), ("支付/给付", "支付/给付")))
    assert events["score"] == pytest.approx((0.5 + 1.0) / 2)


def test_charges_use_lawbench_label_set() -> None:
    result = score_task(
        "3-3",
        _items(
            ("[罪名]走私废物罪<eoa>", "罪名:走私废物"),  # 走私 is no label: not a 2nd guess
            ("[罪名]走私<eoa>", "罪名:走私废物"),  # only an excluded name: abstention
            ("[罪名]合同诈骗<eoa>", "罪名:合同诈骗"),  # {合同诈骗, 诈骗}: P 1/2, R 1 -> 2/3
            ("[罪名]盗窃;抢劫<eoa>", "罪名:盗窃;抢劫"),
        ),
    )
    assert result["score"] == pytest.approx((1 + 0 + 2 / 3 + 1) / 4)
    assert result["abstention"] == 0.25
    assert len(lawbench.CHARGES) == 189


def test_article_numbers() -> None:
    gold = "法条:刑法第264、67条"
    result = score_task(
        "3-1",
        _items(
            ("[法条]刑法第二百六十四条、刑法第六十七条<eoa>", gold),  # Chinese numerals: exact
            ("[法条]刑法第264条和第67条<eoa>", gold),  # one chunk -> first number only: 2/3
            ("[法条]刑法第264条第1款<eoa>", gold),  # 第…款 swallows the article: abstention
            ("[法条]刑法第264条、刑法第52条<eoa>", gold),  # {264, 52}: P 1/2, R 1/2
        ),
    )
    assert result["score"] == pytest.approx((1 + 2 / 3 + 0 + 0.5) / 4)
    assert result["abstention"] == 0.25


def test_prison_terms() -> None:
    log216 = math.log(216)
    result = score_task(
        "3-4",
        _items(
            ("[刑期]一年<eoa>", "刑期:12个月"),  # 1年 -> 12 months: distance 0
            ("有期徒刑三年六个月", "刑期:42个月"),  # first N个月 wins: 6 months
            ("[刑期]18月<eoa>", "刑期:6个月"),
            ("无法判断", "刑期:6个月"),  # abstention: the worst distance, log 216
            ("[刑期]死刑<eoa>", "刑期:死刑"),  # skipped
            ("[刑期]无期徒刑<eoa>", "刑期:无期徒刑"),  # skipped
        ),
    )
    distances = [0.0, abs(math.log(43) - math.log(7)), abs(math.log(7) - math.log(19)), log216]
    assert result["n"] == 4
    assert result["score"] == pytest.approx((log216 - sum(distances) / 4) / log216)
    assert result["abstention"] == pytest.approx(1 / 6)


def test_crime_amounts() -> None:
    gold = "上文涉及到的犯罪金额:8500.0元。"
    result = score_task(
        "3-7",
        _items(
            ("[金额]1500元+7000元=8500元<eoa>", gold),  # 8500 is among the numbers
            ("[金额]8,500元<eoa>", gold),  # 8 and 500: wrong
            ("[金额]不详<eoa>", gold),  # no number: abstention
            ("[金额]8500.00元", gold),
        ),
    )
    assert result == {"score": 0.5, "abstention": 0.25, "n": 4}


def test_character_f1_families() -> None:
    # 2-5: gold 2 1 万 元 借 款, prediction 2 1 万 元 -> P 1, R 2/3 -> F1 0.8
    reading = score_task("2-5", _items(("回答：21万元", "回答:21万元借款"), ("", "回答:借款")))
    assert reading["score"] == pytest.approx(0.8 / 2)
    assert reading["abstention"] == 0.5
    # 2-10: position by position; 查扣=查扣 1, 退给~退还 1/2 -> P = R = 3/4
    triggers = score_task("2-10", _items(("查扣;退还", "查扣;退给"), ("查扣", "查扣;退给")))
    assert triggers["score"] == pytest.approx((0.75 + 2 / 3) / 2, abs=1e-9)


def test_entity_soft_f1() -> None:
    gold = "受害人:严某某、肖某某;被盗物品:查获手机"
    result = score_task(
        "2-6",
        _items(
            # 受害人 exact (1), 被盗物品 手机 vs 查获手机 (2/3), 作案工具:无 ignored -> P = R = 5/6
            ("受害人：严某某、肖某某\n被盗物品: 手机\n作案工具：无", gold),
            # one line: 受害人's value runs to the end of the line: 张三被盗物品手机 vs 张三 is
            # char F1 0.4; two types predicted, one gold: P 0.4/2, R 0.4/1 -> soft F1 4/15
            ("受害人:张三;被盗物品:手机", "受害人:张三"),
            ("没有实体", ""),  # no gold entity and none predicted: 1
            ("没有实体", gold),  # abstention
        ),
    )
    assert result["score"] == pytest.approx((5 / 6 + 4 / 15 + 1 + 0) / 4, abs=1e-9)
    assert result["abstention"] == 0.25


def test_rouge_l() -> None:
    # English words are segmented at spaces, so the tokens are known by hand:
    # hyp the cat sat, ref the cat sat down -> LCS 3, P 1, R 3/4 -> F 6/7
    result = score_task("3-2", _items(("the cat sat", "the cat sat down"), ("", "the cat")))
    assert result["score"] == pytest.approx((6 / 7 + 0) / 2, abs=1e-7)
    assert result["abstention"] == 0.5  # the empty prediction (scored as 无内容)
    # 1-1 strips 答案: from the gold
    assert score_task("1-1", _items(("the cat", "答案:the cat")))["score"] == pytest.approx(
        1, abs=1e-7
    )
    # rouge_chinese's sentence split: a whitespace-only piece is an empty token
    assert rouge_tokens("a 。 \n b") == ["a", "。", "", "b"]
    assert rouge_tokens("你好 ！ “ 是 。 ” 好") == ["你好", "！", "“", "是", "。", "”", "好"]


def test_lcs_length_matches_dynamic_programming() -> None:
    def dp(a: list[str], b: list[str]) -> int:
        table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i, x in enumerate(a, 1):
            for j, y in enumerate(b, 1):
                table[i][j] = (
                    table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
                )
        return table[-1][-1]

    rng = random.Random(7)
    for _ in range(300):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 40))]
        b = [rng.choice("abcde") for _ in range(rng.randint(0, 40))]
        assert lcs_length(a, b) == dp(a, b)
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4


def test_chinese_numerals_in_text() -> None:
    assert numerals_to_arabic("有期徒刑三年六个月") == "有期徒刑3年6个月"
    assert numerals_to_arabic("第一百零二条之一") == "第102条之1"
    assert numerals_to_arabic("二〇一六年") == "2016年"
    assert numerals_to_arabic("两年") == "2年"
    assert numerals_to_arabic("一百二十个月") == "120个月"
    assert numerals_to_arabic("一百二") == "120"  # colloquial
    assert numerals_to_arabic("罚金一万元") == "罚金10000元"
    assert numerals_to_arabic("万元") == "万元"  # no number at all: left alone
