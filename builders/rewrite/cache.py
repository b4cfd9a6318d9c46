"""The on-disk response cache: a folder of SQLite files, one writer per file.

Every request is keyed by :func:`request_key` = sha256 of (model, prompt version, messages,
parameters). Shard ``i`` writes ``<cache_dir>/shard-<i:05d>.sqlite`` (WAL, one commit per
response as it arrives), and a lookup checks every ``*.sqlite`` of the folder.

Why a folder and not one database: several worker processes (or Ray workers on several machines
over shared storage) write at once; one SQLite file per writer needs no cross-process write lock
(SQLite's locking is unreliable over NFS), and a shard killed at any moment and rerun finds every
response it was already sent in its own file. A response is committed before it is used, so a
kill can lose at most the responses that were in flight (never sent twice once answered).

Every HTTP 200 answer is stored, including empty choices, refusals and broken JSON: the request
was answered, and asking again would be sending it twice. What a response *means* is decided
when it is read (see ``client.py``), so a later lawset version can judge old responses anew.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    text TEXT,                 -- the message content (NULL: no choice came back)
    finish_reason TEXT,
    refusal TEXT,
    tokens_in INTEGER NOT NULL,
    tokens_out INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outcomes (
    key TEXT PRIMARY KEY,      -- a record's outcome key (see step.py: _memo_key)
    outcome TEXT NOT NULL      -- JSON
);
"""


def request_key(
    model: str, prompt_version: str, messages: list[dict[str, str]], params: dict[str, Any]
) -> str:
    """sha256 of the canonical JSON of everything that decides a response."""
    canon = json.dumps(
        {"model": model, "prompt_version": prompt_version, "messages": messages, "params": params},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedResponse:
    key: str
    text: str | None
    finish_reason: str | None
    refusal: str | None
    tokens_in: int
    tokens_out: int


class ResponseCache:
    """Writes ``shard-<shard>.sqlite`` in ``folder``; reads every ``*.sqlite`` there."""

    def __init__(self, folder: Path, shard: int) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"shard-{max(shard, 0):05d}.sqlite"
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()
        self._readers: dict[Path, sqlite3.Connection] = {}
        self.refresh()

    def refresh(self) -> None:
        """Open the files other writers added since the last look (called once per batch)."""
        for p in sorted(self.folder.glob("*.sqlite")):
            if p == self.path or p in self._readers:
                continue
            try:
                con = sqlite3.connect(f"file:{p}?mode=ro", uri=True, check_same_thread=False)
                con.execute("SELECT 1 FROM responses LIMIT 1").fetchall()
            except sqlite3.DatabaseError:
                continue  # not (yet) a cache file: looked at again next batch
            self._readers[p] = con

    def _connections(self) -> list[sqlite3.Connection]:
        return [self._db, *self._readers.values()]

    def get_many(self, keys: list[str]) -> dict[str, CachedResponse]:
        """The cached responses among ``keys`` (one query per file per 500 keys)."""
        found: dict[str, CachedResponse] = {}
        todo = list(dict.fromkeys(keys))
        for con in self._connections():
            if not todo:
                break
            for i in range(0, len(todo), 500):
                chunk = todo[i : i + 500]
                marks = ",".join("?" * len(chunk))
                try:
                    rows = con.execute(
                        "SELECT key, text, finish_reason, refusal, tokens_in, tokens_out "
                        f"FROM responses WHERE key IN ({marks})",
                        chunk,
                    ).fetchall()
                except sqlite3.DatabaseError:
                    rows = []
                for row in rows:
                    found[row[0]] = CachedResponse(*row)
            todo = [k for k in todo if k not in found]
        return found

    def get_outcomes(self, keys: list[str]) -> dict[str, str]:
        """Memoized record outcomes (JSON) among ``keys``: derived data, see step.py."""
        found: dict[str, str] = {}
        todo = list(dict.fromkeys(keys))
        for con in self._connections():
            for i in range(0, len(todo), 500):
                chunk = todo[i : i + 500]
                marks = ",".join("?" * len(chunk))
                try:
                    found.update(
                        con.execute(
                            f"SELECT key, outcome FROM outcomes WHERE key IN ({marks})", chunk
                        ).fetchall()
                    )
                except sqlite3.DatabaseError:
                    continue
            todo = [k for k in todo if k not in found]
            if not todo:
                break
        return found

    def put_outcomes(self, rows: list[tuple[str, str]]) -> None:
        """Store record outcomes (one commit per batch; losing them to a kill costs only
        recomputing them from the stored responses)."""
        if rows:
            self._db.executemany("INSERT OR REPLACE INTO outcomes VALUES (?,?)", rows)
            self._db.commit()

    def get(self, key: str) -> CachedResponse | None:
        return self.get_many([key]).get(key)

    def put(self, response: CachedResponse, model: str, prompt_version: str) -> None:
        """Store one response and commit at once (a kill right after loses nothing)."""
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?,?)",
            (
                response.key,
                model,
                prompt_version,
                response.text,
                response.finish_reason,
                response.refusal,
                response.tokens_in,
                response.tokens_out,
            ),
        )
        self._db.commit()

    def close(self) -> None:
        for con in self._connections():
            con.close()
        self._readers.clear()
