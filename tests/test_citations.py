"""Citations: parsing references out of answers, resolving them against the real statute index,
and the shipped Civil Code correspondence table."""

from __future__ import annotations

from pathlib import Path

import pytest
from lawset.builders.citations import (
    StatuteCatalog,
    build_catalog,
    find_citations,
    load_successors,
)
from lawset.builders.recipe import load_recipe


@pytest.fixture(scope="module")
def catalog(shared_raw: Path) -> StatuteCatalog:
    cat = build_catalog(load_recipe(), shared_raw)
    cat.activate()
    return cat


def resolve(catalog: StatuteCatalog, text: str) -> list[dict]:
    cited, _ = find_citations(text)
    return [catalog.resolve(c) for c in cited]


def test_aliases_numerals_and_lists_resolve(catalog: StatuteCatalog) -> None:
    got = resolve(catalog, "根据《刑法》第264条、第六十七条第一款，以及民法典第1079条的规定")
    assert [(c["law"], c["article"], c["status"], c["verified"]) for c in got] == [
        ("中华人民共和国刑法", 264, "current", True),
        ("中华人民共和国刑法", 67, "current", True),
        ("中华人民共和国民法典", 1079, "current", True),
    ]
    (sub,) = resolve(catalog, "依照《中华人民共和国刑法》第二百三十四条之一")
    assert (sub["article"], sub["sub"], sub["status"]) == (234, 1, "current")


def test_hallucinated_numbers_and_placeholders_are_not_verified(catalog: StatuteCatalog) -> None:
    (bad,) = resolve(catalog, "刑法第999条规定")
    assert bad["verified"] is False and bad["status"] == "unknown_article"
    cited, placeholders = find_citations("根据《民事诉讼法》第X条的规定")
    assert cited == [] and placeholders == 1
    # References to the text itself name no law: nothing to check.
    assert find_citations("依照本法第五条处理")[0] == []


def test_repealed_law_is_flagged_and_maps_through_the_table(catalog: StatuteCatalog) -> None:
    (old,) = resolve(catalog, "根据《合同法》第一百零七条，违约方应当承担违约责任。")
    assert old["law"] == "中华人民共和国合同法" and old["status"] == "repealed"
    assert old["verified"] is False  # 合同法 itself is not in the index
    new = catalog.current_provision(old)
    assert (new["law"], new["article"], new["status"]) == ("中华人民共和国民法典", 577, "mapped")
    (unmapped,) = resolve(catalog, "《婚姻法》第三条")
    assert unmapped["status"] == "repealed" and catalog.current_provision(unmapped) is None


def test_interpretations_of_repealed_laws_are_repealed_too(catalog: StatuteCatalog) -> None:
    law = "最高人民法院关于适用《中华人民共和国合同法》若干问题的解释（二）"
    (c,) = resolve(catalog, f"《{law.replace('《', '〈').replace('》', '〉')}》第二十六条")
    assert c["law"] == law and c["verified"] is True and c["status"] == "repealed"


def test_older_version_citation_is_superseded(catalog: StatuteCatalog) -> None:
    (c,) = resolve(catalog, "中华人民共和国刑法(2015)第二百三十四条")
    assert c["status"] == "superseded" and c["law"] == "中华人民共和国刑法"


def test_civil_code_table_rows_match_the_statute_index(shared_raw: Path) -> None:
    """Every row of builders/data/civil_code_map.tsv points at a Civil Code article that exists
    and holds the row's keyword, so a mapped citation lands on the right provision."""
    from lawset.builders.pipeline.base import Context
    from lawset.builders.sources import ADAPTERS

    recipe = load_recipe()
    cfg = recipe.sources["laws"]
    adapter = ADAPTERS["lawrefbook"]()
    root = shared_raw / cfg.path
    plan = adapter.plan("laws", cfg, root, None)
    unit = next(u for u in plan.units if u["key"] == "中华人民共和国民法典")
    texts = {
        r["article"]: r["text"]
        for r in adapter.read("laws", cfg, root, unit, Context(0))
        if r["is_latest"] and r["sub"] == 0
    }
    import csv
    from importlib import resources

    table = resources.files("lawset.builders").joinpath("data/civil_code_map.tsv").read_text()
    rows = [r for r in csv.reader(table.splitlines(), delimiter="\t") if r and r[0][0] != "#"]
    assert len(rows[1:]) == len(load_successors()) >= 50
    for old_law, old_article, new_law, new_article, keyword in rows[1:]:
        assert new_law == "中华人民共和国民法典"
        assert keyword in texts[int(new_article)], (old_law, old_article, new_article)
