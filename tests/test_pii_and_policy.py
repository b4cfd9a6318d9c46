"""Personal-data masking, the held-out filter and the repealed-law citation policy, step by step."""

from __future__ import annotations

from collections import Counter

from lawset.builders.citations import StatuteCatalog, load_successors
from lawset.builders.pii import find_names, mask_identifiers
from lawset.builders.pipeline.base import Context
from lawset.builders.schema import make_query
from lawset.builders.steps import Citations, CitationsParams, HeldOut, MaskPii


def run(step, records, ctx=None):  # noqa: ANN001, ANN201
    ctx = ctx or Context(0)
    return [r for batch in step.run([records], ctx) for r in batch], ctx


def test_identifiers_are_masked_and_counted() -> None:
    counts: Counter[str] = Counter()
    text = (
        "身份证号110101199003071234，手机13812345678，座机010-62345678，"
        "卡号6222 0202 0011 2233，邮箱zhang.san@example.com，车牌京A12345，"
        "涉案金额12345元，2019年3月7日。"
    )
    out = mask_identifiers(text, counts)
    assert out == (
        "身份证号[身份证号]，手机[电话号码]，座机[电话号码]，卡号[银行卡号]，邮箱[电子邮箱]，"
        "车牌[车牌号]，涉案金额12345元，2019年3月7日。"
    )
    assert counts == Counter(id_card=1, phone=2, bank_card=1, email=1, licence_plate=1)


def test_names_after_role_words_and_run_on_names() -> None:
    text = (
        "被告人王小明，男，汉族。原告李林与被告刘钢签订合同。审判员欧阳娜娜。"
        "被告人莫新国酒后驾车，莫新国被查获。被告人明知是赃物。被告人张某某、陈××。"
        "被害人赵丽、钱多多均受伤。"
    )
    assert find_names(text) == {"王小明", "李林", "欧阳娜娜", "莫新国", "赵丽", "钱多多"}


def source_record(**kw) -> dict:  # noqa: ANN003
    return {
        "kind": "case",
        "_text_fields": ("fact", "title"),
        "_real_names": True,
        "_held_out": "none",
        **kw,
    }


def test_mask_pii_step_masks_every_field_with_names_from_any_field() -> None:
    rec = source_record(
        title="王小明盗窃刑事判决书", fact="被告人王小明，电话13812345678。王小明认罪。"
    )
    (out,), ctx = run(MaskPii(), [rec])
    assert out["title"] == "王某盗窃刑事判决书"
    assert out["fact"] == "被告人王某，电话[电话号码]。王某认罪。"
    assert ctx.stats.counters["pii"] == Counter(name=3, phone=1, records_changed=1)
    # Sources without real names keep names (they are anonymised upstream), identifiers still go.
    rec = source_record(title="", fact="被告人王小明，电话13812345678。", _real_names=False)
    (out,), _ = run(MaskPii(), [rec])
    assert out["fact"] == "被告人王小明，电话[电话号码]。"


def test_held_out_exclude_drops_with_a_reason() -> None:
    keep = source_record(fact="a", title="")
    gone = source_record(fact="b", title="", _held_out="exclude")
    test_only = source_record(fact="c", title="", _held_out="test")
    out, ctx = run(HeldOut(), [keep, gone, test_only])
    assert [r["fact"] for r in out] == ["a", "c"]
    assert ctx.stats.steps["held_out"]["dropped"] == {"held_out_excluded": 1}


def catalog() -> StatuteCatalog:
    cat = StatuteCatalog(
        repealed=[("中华人民共和国(合同法|婚姻法)", "2021-01-01", "中华人民共和国民法典")],
        successor=load_successors(),
    )
    cat.add("中华人民共和国民法典", "2020-05-28", True, 577, 0, "当事人一方不履行合同义务……")
    cat.add("中华人民共和国刑法", "2023-12-29", True, 264, 0, "盗窃公私财物……")
    cat.finish().activate()
    return cat


def query(answer: str) -> dict:
    return make_query(
        user="问题",
        answer=answer,
        task="consultation",
        level="application",
        domain="legal",
        source="s",
        source_id="1",
        license="x",
        group="g",
    )


def test_citation_policy_map_rewrites_known_and_drops_unknown_repealed() -> None:
    ctx = Context(0)
    ctx.catalog = catalog()
    mapped = query("依据《合同法》第一百零七条，对方应承担违约责任。")
    old_id = mapped["id"]
    unmapped = query("依据《婚姻法》第三条处理。")
    current = query("法条：刑法第264条")
    out, ctx = run(Citations(CitationsParams(repealed="map")), [mapped, unmapped, current], ctx)
    assert len(out) == 2
    assert out[0]["messages"][1]["content"] == (
        "依据《中华人民共和国民法典》第五百七十七条，对方应承担违约责任。"
    )
    assert out[0]["id"] != old_id  # the id follows the content
    assert out[0]["citations"][0]["status"] == "mapped"
    assert out[1]["citations"] == [
        {
            "law": "中华人民共和国刑法",
            "article": 264,
            "sub": 0,
            "version": "2023-12-29",
            "verified": True,
            "status": "current",
            "cited_as": "刑法第264条",
        }
    ]
    assert ctx.stats.steps["citations"]["dropped"] == {"cites_repealed_law_unmapped": 1}


def test_citation_policy_flag_keeps_and_drop_drops() -> None:
    ctx = Context(0)
    ctx.catalog = catalog()
    (flagged,), _ = run(
        Citations(CitationsParams(repealed="flag")), [query("依据《合同法》第一百零七条。")], ctx
    )
    assert flagged["citations"][0]["status"] == "repealed"
    out, ctx = run(
        Citations(CitationsParams(repealed="drop")), [query("依据《合同法》第一百零七条。")], ctx
    )
    assert out == [] and ctx.stats.steps["citations"]["dropped"] == {"cites_repealed_law": 1}


def test_repealed_law_named_without_an_article_is_never_taught_as_current() -> None:
    ctx = Context(0)
    ctx.catalog = catalog()
    named = query("根据《中华人民共和国合同法》的规定，您可以要求赔偿。")
    other = query("根据劳动合同法的规定，用人单位应当支付经济补偿。")
    out, ctx = run(Citations(CitationsParams(repealed="map")), [named, other], ctx)
    assert [q["messages"][1]["content"][:6] for q in out] == ["根据劳动合同"]
    assert ctx.stats.steps["citations"]["dropped"] == {"names_repealed_law": 1}
    (flagged,), _ = run(
        Citations(CitationsParams(repealed="flag")), [query("依据婚姻法规定。")], ctx
    )
    assert flagged["_names_repealed_law"] is True


def test_names_before_a_note_about_the_person_are_found() -> None:
    text = "张贵涛（另案处理）心生不满，郑某与刘国栋、高春华（均另案处理）等人驾车赶到。"
    assert find_names(text) == {"张贵涛", "刘国栋", "高春华"}


def test_real_names_with_stem_characters_are_names_but_ordinal_names_are_not() -> None:
    text = (
        "被告人丁海震，男。被告人张丙圈，男。被告人张方、常某1为领班。被害人刘甲（男，殁年36岁）。"
    )
    assert find_names(text) == {"丁海震", "张丙圈", "张方"}
