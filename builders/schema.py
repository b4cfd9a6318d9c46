"""The record schemas of a release (one Arrow schema per config) and helpers to make records.

The query schema is ARCHITECTURE.md's record schema. Types are fixed here, never inferred, so every
parquet file of a config has the same schema whatever its rows hold (a null ``rewrite`` included).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pyarrow as pa

MESSAGE = pa.struct([("role", pa.string()), ("content", pa.string())])
CITATION = pa.struct(
    [
        ("law", pa.string()),  # canonical title, e.g. 中华人民共和国刑法
        ("article", pa.int32()),  # 264
        ("sub", pa.int32()),  # 1 for 第十条之一, else 0
        ("version", pa.string()),  # the statute version cited (YYYY-MM-DD), "" if unknown
        ("verified", pa.bool_()),  # found in the statute index
        # current | superseded | repealed | mapped | unknown_article | unknown_law
        ("status", pa.string()),
        ("cited_as", pa.string()),  # the reference as the answer writes it
    ]
)
REWRITE = pa.struct(
    [("model", pa.string()), ("prompt_version", pa.string()), ("cache_key", pa.string())]
)
QUALITY = pa.struct(
    [
        ("user_chars", pa.int32()),
        ("answer_chars", pa.int32()),
        ("cjk_ratio", pa.float32()),
    ]
)

QUERY_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("messages", pa.list_(MESSAGE)),
        ("task", pa.string()),
        ("level", pa.string()),
        ("domain", pa.string()),
        ("source", pa.string()),
        ("source_id", pa.string()),
        ("license", pa.string()),
        ("citations", pa.list_(CITATION)),
        ("rewrite", REWRITE),
        ("group", pa.string()),
        ("quality", QUALITY),
    ]
)

STATUTE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),  # 《law》@version#ordinal: stable, readable, unique
        ("law", pa.string()),
        ("category", pa.string()),
        ("version", pa.string()),  # YYYY-MM-DD or "" when the file gives no date
        ("is_latest", pa.bool_()),
        ("repealed_on", pa.string()),  # YYYY-MM-DD when the whole law was repealed, else ""
        ("repealed_by", pa.string()),  # what repealed it, e.g. 中华人民共和国民法典
        ("part", pa.string()),  # the file's 编 for a code split over files (民法典), else ""
        ("path", pa.list_(pa.string())),  # 编/章/节 headings
        ("article", pa.int32()),
        ("sub", pa.int32()),
        ("label", pa.string()),  # as written: 第一百零二条, 第十条之一
        ("text", pa.string()),
        ("items", pa.list_(pa.string())),
        ("text_original", pa.string()),  # pre-normalization text where normalization changed it
        ("source", pa.string()),
        ("source_file", pa.string()),  # path relative to the source root
        ("license", pa.string()),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {"query": QUERY_SCHEMA, "statute": STATUTE_SCHEMA}

LEVELS = ("memorization", "understanding", "application", "general")


def content_id(messages: list[dict[str, str]]) -> str:
    """Content hash of the normalized messages: equal conversations get equal ids."""
    canon = json.dumps(
        [[m["role"], m["content"]] for m in messages], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()[:32]


def set_messages(query: dict[str, Any], messages: list[dict[str, str]]) -> None:
    """Give ``query`` its ``messages`` and the id they derive. The one place a query's id is set:
    every step that changes a conversation (a mapped citation, a rewritten answer) calls it, so
    the id always is the hash of the conversation as shipped."""
    query["messages"] = messages
    query["id"] = content_id(messages)


def statute_group(law: str, label: str) -> str:
    """The split group of every query about one article (any version, any task)."""
    return f"statute:{law}/{label}"


def make_query(
    *,
    user: str,
    answer: str,
    task: str,
    level: str,
    domain: str,
    source: str,
    source_id: str,
    license: str,
    group: str,
    citations: list[dict[str, Any]] | None = None,
    history: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A query record with its id; ``history`` holds the turns before the last question (a
    dialogue). ``quality`` is filled by the ``quality_scores`` step."""
    query: dict[str, Any] = {"kind": "query", "id": ""}
    set_messages(
        query,
        [
            *(history or []),
            {"role": "user", "content": user},
            {"role": "assistant", "content": answer},
        ],
    )
    query.update(
        task=task,
        level=level,
        domain=domain,
        source=source,
        source_id=source_id,
        license=license,
        citations=citations or [],
        rewrite=None,
        group=group,
        quality=None,
    )
    return query


def stable_hash(text: str) -> int:
    """A 64-bit hash of ``text`` that is the same in every process and on every machine."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
