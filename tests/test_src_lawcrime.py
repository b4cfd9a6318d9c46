"""LawCrimeMining (``lawcrime``): header parsing, rejects, PII masking and the document tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
from conftest import read_source, real_build
from lawset.builders.pipeline.base import Context
from lawset.builders.sources.lawcrime import clean_content, doc_type_of, split_charges
from lawset.builders.steps import HeldOut, MaskPii, Normalize
from lawset.builders.tasks.documents import CaseCause, DocumentType

RULING = """\
category:刑事
title:王小明抢劫死刑复核刑事裁定书
publictime:2015-11-03
content:中华人民共和国最高人民法院
刑事裁定书
（2015）刑五复12345号
被告人王小明，男，汉族，1990年3月7日出生，身份证号110101199003071234，联系电话13812345678，\
农民。2010年5月因犯盗窃罪被判处有期徒刑一年。现在押。
某省某市中级人民法院审理某市人民检察院指控被告人王小明犯抢劫罪、贩卖、运输毒品罪一案，\
于2014年2月28日以刑事判决，认定被告人王小明犯抢劫罪、贩卖、运输毒品罪，判处死刑。宣判后，\
王小明提出上诉。某省高级人民法院裁定驳回上诉，维持原判，并依法报请本院核准。
经审理查明：2013年5月1日，被告人王小明持刀闯入被害人家中抢走现金人民币五千元，并贩卖毒品。
本院认为，被告人王小明以非法占有为目的，采用暴力手段劫取他人财物，其行为已构成抢劫罪。\
依照《中华人民共和国刑事诉讼法》第二百三十五条的规定，裁定如下：
核准某省高级人民法院维持第一审对被告人王小明的死刑判决。
本裁定自宣告之日起发生法律效力。
"""

CIVIL = """\
category:民事
title:甲公司与乙公司买卖合同纠纷申请再审民事裁定书16
publictime:2015-10-19
content:中华人民共和国最高人民法院
民事裁定书
（2015）民申字第1号
再审申请人（一审被告、二审上诉人）：甲有限公司。住所地：某省某市某路1号。
被申请人（一审原告、二审被上诉人）：乙有限公司。住所地：某省某市某路2号。
再审申请人甲有限公司因与被申请人乙有限公司买卖合同纠纷一案，不服某省高级人民法院民事判决，\
向本院申请再审。本院依法组成合议庭对本案进行了审查，现已审查终结。
本院认为，甲有限公司的再审申请不符合《中华人民共和国民事诉讼法》第二百条规定的情形。\
依照《中华人民共和国民事诉讼法》第二百零四条第一款的规定，裁定如下：
驳回甲有限公司的再审申请。
"""

DECISION = """\
category:刑事
title:(2015)刑立他字第1号
publictime:2015-06-16
content:中华人民共和国最高人民法院
指定管辖决定书
（2015）刑立他字第1号
某省某县人民检察院指控被告人李某某犯非法经营罪一案，本院经审查，依照《中华人民共和国刑事诉讼法》\
第二十六条的规定，决定如下：
指定某省某县人民法院依照刑事第一审程序对该案进行审判。本决定书送达后即发生法律效力，请依法执行。
二〇一五年六月十六日
"""

STORY = """\
category:诈骗
title:男子冒充客服骗走老人积蓄被判刑
content:某市一男子冒充银行客服，以账户异常为由骗走老人积蓄十万元，近日被法院判处有期徒刑
某市一男子冒充银行客服，以账户异常为由骗走老人积蓄十万元，近日被法院判处有期徒刑五年。
来源：某报作者：时间：2016-3-3012:10:21点击：
据了解，今年3月，被告人赵某某通过电话联系老人，谎称其银行账户涉嫌洗钱，需要将存款转入“安全账户”。
老人信以为真，先后三次向其转账共计十万元。案发后，赵某某被警方抓获。
法院经审理认为，赵某某以非法占有为目的，虚构事实骗取他人财物，数额巨大，其行为已构成诈骗罪。
法院经审理认为，赵某某以非法占有为目的，虚构事实骗取他人财物，数额巨大，其行为已构成诈骗罪。
"""

STUB = "category:民事\ntitle:某纠纷申请再审民事裁定书\npublictime:2015-10-19\ncontent:\n"


def fixture_tree(root: Path) -> Path:
    src = root / "cases" / "LawCrimeMining"
    (src / "corpus_lawsuit").mkdir(parents=True)
    (src / "corpus_crime").mkdir(parents=True)
    (src / "corpus_lawsuit" / "1.txt").write_text(RULING, encoding="utf-8")
    (src / "corpus_lawsuit" / "10.txt").write_text(RULING, encoding="utf-8")  # exact copy
    (src / "corpus_lawsuit" / "2.txt").write_text(CIVIL, encoding="utf-8")
    (src / "corpus_lawsuit" / "3.txt").write_text(STUB, encoding="utf-8")
    (src / "corpus_lawsuit" / "4.txt").write_text(DECISION, encoding="utf-8")
    (src / "corpus_crime" / "1.txt").write_text(STORY, encoding="utf-8")
    (src / "README.md").write_text("not data\n", encoding="utf-8")
    return src


CFG = {
    "path": "cases/LawCrimeMining",
    "category": "cases",
    "license": "none stated",
    "real_names": True,
}


def run_fixture(tmp_path: Path, steps: list) -> tuple[list[dict], Context, list]:
    src = fixture_tree(tmp_path / "raw")
    read = read_source(
        "lawcrime", src, name="lawcrime", steps=steps, rejects=tmp_path / "rejects.jsonl", **CFG
    )
    return read.records, read.ctx, read.problems


def test_parse_and_rejects(tmp_path: Path) -> None:
    out, ctx, problems = run_fixture(tmp_path, [])
    assert list(problems.items()) == [("corpus_lawsuit/10.txt", "duplicate_content")]
    assert ctx.stats.steps["read"]["dropped"] == {"too_short": 1}
    rejects = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text("utf-8").splitlines()]
    assert [(r["file"], r["reason"]) for r in rejects] == [("corpus_lawsuit/3.txt", "too_short")]
    by_id = {r["source_id"]: r for r in out}
    assert sorted(by_id) == [
        "corpus_crime/1.txt",
        "corpus_lawsuit/1.txt",
        "corpus_lawsuit/2.txt",
        "corpus_lawsuit/4.txt",
    ]
    ruling = by_id["corpus_lawsuit/1.txt"]
    assert ruling["kind"] == "case" and ruling["category"] == "刑事"
    assert ruling["title"] == "王小明抢劫死刑复核刑事裁定书"
    assert ruling["doc_type"] == "刑事裁定书"
    # Charges named for the defendant, not the prior conviction (因犯盗窃罪被判处).
    assert ruling["charges"] == ["抢劫罪", "贩卖、运输毒品罪"]
    assert ruling["fact"].startswith("经审理查明：2013年5月1日")
    assert ruling["fact"].endswith("并贩卖毒品。")
    assert ruling["opinion"] == (
        "本院认为，被告人王小明以非法占有为目的，采用暴力手段劫取他人财物，其行为已构成抢劫罪。"
    )
    assert ruling["judgment"].startswith("中华人民共和国最高人民法院\n刑事裁定书\n")
    assert ruling["articles"] == [] and ruling["term_months"] is None
    civil = by_id["corpus_lawsuit/2.txt"]
    assert civil["doc_type"] == "民事裁定书"  # the crawl counter after 裁定书 is ignored
    assert civil["charges"] == [] and civil["fact"] == ""
    assert by_id["corpus_lawsuit/4.txt"]["doc_type"] == "刑事决定书"  # from its heading
    story = by_id["corpus_crime/1.txt"]
    assert story["doc_type"] == "案例" and story["charges"] == []
    # The lead repeated as the first line, the byline and the repeated line are gone.
    lines = story["judgment"].split("\n")
    assert lines[0].endswith("近日被法院判处有期徒刑五年。")
    assert not any(line.startswith("来源：") for line in lines)
    assert len(lines) == len(set(lines)) == 4


def test_pii_is_masked_in_every_query(tmp_path: Path) -> None:
    steps = [Normalize(), HeldOut(), MaskPii(), DocumentType(), CaseCause()]
    out, ctx, _ = run_fixture(tmp_path, steps)
    queries = [r for r in out if r["kind"] == "query"]
    assert sorted(q["task"] for q in queries) == [
        "case_cause",
        "case_cause",
        "document_type",
        "document_type",
        "document_type",
    ]
    for q in queries:
        text = json.dumps(q["messages"], ensure_ascii=False)
        assert "王小明" not in text and "小明" not in text
        assert "110101199003071234" not in text and "13812345678" not in text
    ruling = [q for q in queries if q["source_id"] == "corpus_lawsuit/1.txt"]
    user = ruling[0]["messages"][0]["content"]
    assert "被告人王某，男" in user and "[身份证号]" in user and "[电话号码]" in user
    assert ctx.stats.counters["pii"]["name"] >= 6
    by_task = {q["task"]: q for q in ruling}
    doc = by_task["document_type"]
    assert "\n刑事裁定书\n" not in doc["messages"][0]["content"]  # the heading is cut
    assert doc["messages"][1]["content"] == (
        "这是一份刑事裁定书。文书以“裁定如下”引出处理结果。\n\n文书类型：刑事裁定书"
    )
    assert doc["group"] == by_task["case_cause"]["group"] == "case:lawcrime:corpus_lawsuit/1.txt"
    assert doc["level"] == "understanding" and doc["domain"] == "legal"
    assert by_task["case_cause"]["messages"][1]["content"] == (
        "本案是刑事案件，涉及的罪名为抢劫罪、贩卖、运输毒品罪。\n\n案由：抢劫罪、贩卖、运输毒品罪"
    )
    answers = {(q["source_id"], q["task"]): q["messages"][1]["content"] for q in queries}
    assert answers[("corpus_lawsuit/4.txt", "document_type")].endswith("\n\n文书类型：刑事决定书")
    assert answers[("corpus_lawsuit/4.txt", "case_cause")].endswith("\n\n案由：非法经营罪")
    assert "指定管辖决定书" not in next(
        q["messages"][0]["content"] for q in queries if q["source_id"] == "corpus_lawsuit/4.txt"
    )


def test_long_documents_are_skipped_and_counted(tmp_path: Path) -> None:
    steps = [DocumentType(DocumentType.Params(max_chars=200))]
    out, ctx, _ = run_fixture(tmp_path, steps)
    made = [r["source_id"] for r in out if r["kind"] == "query"]
    assert made == ["corpus_lawsuit/4.txt"]
    assert ctx.stats.counters["skipped"]["document_type:too_long"] == 2


def test_helpers() -> None:
    assert split_charges("抢劫罪、盗窃罪、李学超犯抢劫罪") == ["抢劫罪", "盗窃罪", "抢劫罪"]
    assert split_charges("掩饰、隐瞒犯罪所得罪") == ["掩饰、隐瞒犯罪所得罪"]
    assert split_charges("抢劫罪、盗窃") == []
    assert doc_type_of("李刚犯故意伤害罪刑事再审决定书", "", "刑事") == "刑事决定书"
    assert doc_type_of("未识别案件", "中华人民共和国最高人民法院\n民事裁定书\n", "民事") == (
        "民事裁定书"
    )
    assert doc_type_of("(2015)东刑初字第00820号", "（2015）东刑初字第00820号\n", "刑事") == ""
    assert clean_content("甲\n\n甲\n乙\n乙\n") == "甲\n乙"


#: the source's recipe entry for the real build
SOURCES = {
    "lawcrime": {
        "adapter": "lawcrime",
        **CFG,
        "upstream": "liuhuanyong/LawCrimeMining",
        "commit": "6c650679adc96168ba9ca76afe498dfae5178fbf",
        "held_out": "none",
    }
}


def test_real_lawcrime_build(shared_raw: Path, tmp_path: Path) -> None:
    built = real_build(shared_raw, tmp_path, SOURCES, ["document_type", "case_cause"], "cases")
    stats = built.stats
    assert stats["steps"]["read"]["dropped"] == {"duplicate_content": 2, "too_short": 17}
    assert stats["steps"]["mask_pii"]["in"] == 1981  # 2,000 files less 19 rejects
    tasks = stats["counters"]["tasks"]
    assert tasks["document_type"] >= 900
    assert tasks["case_cause"] >= 400
    assert stats["counters"]["pii"]["name"] >= 20_000
    assert stats["rows_by_source_task"]["lawcrime"]["document_type"] >= 900
    rows = [
        r
        for p in sorted(built.out.glob("data/stage1/*.parquet"))
        for r in pq.read_table(p).to_pylist()
    ]
    assert len(rows) >= 1300
    text = "\n".join(m["content"] for r in rows for m in r["messages"])
    # Real defendants named in corpus_lawsuit titles and texts (刘吉明抢劫死刑复核, 姚求得故意杀人).
    assert "刘吉明" not in text and "姚求得" not in text
    answers = [r["messages"][-1]["content"].rsplit("\n", 1)[-1] for r in rows]
    types = {a for a in answers if a.startswith("文书类型：")}
    assert {"文书类型：刑事裁定书", "文书类型：民事裁定书", "文书类型：刑事决定书"} <= types
    assert all(a.startswith(("文书类型：", "案由：")) for a in answers)


def test_document_tasks_need_a_judgment_and_a_court_document_type() -> None:
    base = {
        "kind": "case",
        "source": "other",
        "source_id": "x",
        "license": "none stated",
        "judgment": "",
        "doc_type": "刑事判决书",
        "charges": ["盗窃罪"],
    }
    story = {**base, "judgment": "经审理查明……判决如下：", "doc_type": "案例"}
    ruling = {**base, "judgment": "经审理查明……判决如下："}
    made = {}
    for name, rec in (("empty", base), ("story", story), ("ruling", ruling)):
        ctx = Context(0)
        out = [r for b in CaseCause().run(DocumentType().run([[rec]], ctx), ctx) for r in b]
        made[name] = sorted(q["task"] for q in out if q["kind"] == "query")
    assert made == {"empty": [], "story": [], "ruling": ["case_cause", "document_type"]}
