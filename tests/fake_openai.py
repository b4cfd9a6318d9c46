"""A small OpenAI-compatible chat server with planned faults, for tests and the benchmark.

``FakeOpenAI(plan=[...])`` answers ``POST /v1/chat/completions``; each request takes the next
action of ``plan`` (then ``"ok"`` for ever):

| action | the server |
| --- | --- |
| ``ok`` | answers a rewrite that passes lawset's checks (see :func:`good_answer`) |
| ``429`` | HTTP 429 with ``Retry-After: 0`` |
| ``500`` | HTTP 500 |
| ``timeout`` | says nothing for ``hang_s`` seconds (longer than the client's timeout) |
| ``drop`` | closes the connection without an answer |
| ``broken_json`` | HTTP 200 whose body is cut-off JSON |
| ``empty_choices`` | HTTP 200, ``choices: []`` |
| ``refusal`` | HTTP 200, a refusal |
| ``bad_content`` | HTTP 200, content that is not JSON |

Answers are a pure function of the request: the rewrite restates the gold answer's last line,
cites and quotes the first article the prompt gives, and for requests picked by ``bad_every``
(by a hash of the question) first cites an article that does not exist, so that the retry with
the reason is exercised; with ``always_bad_every`` the retry is bad too (fallback).

Every request is logged (``log``: key = sha256 of the request's messages, action, status, the
``Authorization`` header), so a test can check that no answered request came twice and what
authentication came. Runs in a thread of the test process (``start()``/``stop()``, or as a
context manager), or standalone: ``python fake_openai.py PORT``.

The module also holds the build helpers the rewrite tests and the benchmark share (a tiny
sources tree, its recipe, ``lawset build`` with the rewrite options).
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

_ARTICLE_LINE = re.compile(r"^(《[^》]+》第[^条：]+条(?:之[一二三四五六七八九十]+)?)：(.*)$", re.M)


def _key(messages: list[dict[str, Any]]) -> str:
    canon = json.dumps(messages, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def _gold_of(user: str) -> str:
    m = re.search(r"标准答案：\n(.*?)\n\n相关法条：", user, re.S)
    return m.group(1).strip() if m else ""


def good_answer(messages: list[dict[str, Any]], bad: bool = False) -> str:
    """A rewrite that passes every check: reasoning, the article given (cited and quoted
    verbatim), then the gold's last line; ``bad`` cites an article that does not exist."""
    user = next(m["content"] for m in messages if m["role"] == "user")
    gold = _gold_of(user)
    last = [ln for ln in gold.splitlines() if ln.strip()][-1] if gold.strip() else ""
    parts = ["经审查，结合案件事实和在案证据，对本题分析如下。"]
    art = _ARTICLE_LINE.search(user)
    if art:
        ref, text = art.group(1), art.group(2).strip()
        quote = re.sub(r"…$", "", text)[:12]
        parts.append(f"依照{ref}的规定，“{quote}”，本案情形符合该条规定。")
    if bad:
        parts.append("同时还应适用《中华人民共和国刑法》第九百九十九条的规定。")
    parts.append("综合全案情节，依法作出如下结论。")
    return "".join(parts) + "\n" + last


def _bucket(messages: list[dict[str, Any]]) -> int:
    user = next((m["content"] for m in messages if m["role"] == "user"), "")
    return int(hashlib.sha256(user.encode("utf-8")).hexdigest()[:8], 16)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # the listen backlog: many clients connect at once


class FakeOpenAI:
    """See the module docstring."""

    def __init__(
        self,
        plan: list[str] | None = None,
        *,
        delay_s: float = 0.0,
        hang_s: float = 3.0,
        bad_every: int = 0,
        always_bad_every: int = 0,
    ) -> None:
        self.plan = list(plan or [])
        self.delay_s = delay_s
        self.hang_s = hang_s
        self.bad_every = bad_every
        self.always_bad_every = always_bad_every
        self.log: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self, port: int = 0) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:  # noqa: N802
                body = json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]})
                self._send(200, body)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                req = json.loads(self.rfile.read(length) or b"{}")
                fake.handle(self, req)

            def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = _Server(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answers -----------------------------------------------------------------------
    def answered_keys(self) -> list[str]:
        """Keys of the requests that got a 200 answer, in arrival order."""
        with self.lock:
            return [e["key"] for e in self.log if e["status"] == 200]

    def handle(self, h: Any, req: dict[str, Any]) -> None:
        messages = req.get("messages") or []
        key = _key(messages)
        with self.lock:
            action = self.plan.pop(0) if self.plan else "ok"
        status = 200
        if action == "429":
            status = 429
            h._send(429, json.dumps({"error": {"message": "slow down"}}), {"Retry-After": "0"})
        elif action == "500":
            status = 500
            h._send(500, json.dumps({"error": {"message": "boom"}}))
        elif action == "timeout":
            status = -1
            time.sleep(self.hang_s)
            h.close_connection = True
        elif action == "drop":
            status = -2
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif action == "broken_json":
            status = -3  # a 200 the client cannot read: not an answer
            h._send(200, '{"id": "x", "object": "chat.completion", "choices": [{"ind')
        else:
            if self.delay_s:
                time.sleep(self.delay_s)
            h._send(200, json.dumps(self._completion(req, action), ensure_ascii=False))
        with self.lock:
            self.log.append(
                {
                    "key": key,
                    "action": action,
                    "status": status,
                    "auth": h.headers.get("Authorization"),
                }
            )

    def _completion(self, req: dict[str, Any], action: str) -> dict[str, Any]:
        messages = req.get("messages") or []
        retry = len(messages) > 2
        b = _bucket(messages)
        bad = bool(
            (self.always_bad_every and b % self.always_bad_every == 0)
            or (self.bad_every and b % self.bad_every == 0 and not retry)
        )
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = "stop"
        choices: list[dict[str, Any]]
        if action == "refusal":
            message["refusal"] = "I can't help with that."
        elif action == "bad_content":
            message["content"] = "这不是JSON"
        else:
            message["content"] = json.dumps(
                {"answer": good_answer(messages, bad)}, ensure_ascii=False
            )
        choices = [{"index": 0, "message": message, "finish_reason": finish}]
        if action == "empty_choices":
            choices = []
        prompt_chars = sum(len(m.get("content") or "") for m in messages)
        out_chars = len(message.get("content") or "")
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": req.get("model", "fake"),
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_chars,
                "completion_tokens": out_chars,
                "total_tokens": prompt_chars + out_chars,
            },
        }


# -- build helpers shared by test_rewrite.py, test_rewrite_serve.py and the benchmark ----------
# A tiny sources tree (a 刑法 and CAIL2018-style cases), a recipe for it, and ``lawset build``
# with the rewrite options, through the CLI.

REPO = Path(__file__).resolve().parents[1]

XINGFA = """\
# 中华人民共和国刑法

1979年7月1日 第五届全国人民代表大会第二次会议通过

<!-- INFO END -->

## 第一章 刑法的任务、基本原则和适用范围

第一条 为了惩罚犯罪，保护人民，根据宪法，结合我国同犯罪作斗争的具体经验及实际情况，制定本法。

第五十二条 判处罚金，应当根据犯罪情节决定罚金数额。

第六十七条 犯罪以后自动投案，如实供述自己的罪行的，是自首。对于自首的犯罪分子，可以从轻或者减轻处罚。

第二百六十四条 盗窃公私财物，数额较大的，或者多次盗窃、入户盗窃、携带凶器盗窃、扒窃的，\
处三年以下有期徒刑、拘役或者管制，并处或者单处罚金。依照本法第五十二条的规定判处罚金。
"""

#: tasks the default rewrite step selects that CAIL2018 cases make
CASE_TASKS = ("article_prediction", "charge_prediction", "prison_term", "prison_term_with_articles")


def make_sources(root: Path, files: int = 3, per_file: int = 2) -> Path:
    """``root/laws`` (one 刑法 file) and ``root/cases`` (``files`` CAIL2018 files, one shard unit
    each, of ``per_file`` theft cases)."""
    laws = root / "laws" / "LawRefBook-Laws" / "刑法"
    laws.mkdir(parents=True, exist_ok=True)
    (laws / "刑法.md").write_text(XINGFA, encoding="utf-8")
    data = root / "cases" / "CAIL2018-subset-NiBin90" / "data"
    data.mkdir(parents=True, exist_ok=True)
    k = 0
    for f in range(files):
        lines = []
        for _ in range(per_file):
            k += 1
            fact = (
                f"经审理查明：某日，被告人在某市某商场第{k}次盗窃他人手机一部，价值{1000 + 37 * k}元。"
                "案发后被告人自动投案，如实供述。"
            )
            meta = {
                "relevant_articles": [264, 67],
                "accusation": ["盗窃"],
                "punish_of_money": 1000,
                "criminals": ["张某"],
                "term_of_imprisonment": {
                    "death_penalty": False,
                    "imprisonment": 6 + k,
                    "life_imprisonment": False,
                },
            }
            lines.append(json.dumps({"fact": fact, "meta": meta}, ensure_ascii=False))
        (data / f"data_{f}.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def make_recipe(path: Path, shards: int = 4, rewrite: dict | None = None) -> Path:
    """The default recipe on the laws and cail2018 sources (no decontamination: no benchmarks
    folder in the tiny tree); ``rewrite`` adds a rewrite step with these params."""
    data = yaml.safe_load((REPO / "builders" / "recipes" / "default.yaml").read_text("utf-8"))
    data["sources"] = {k: data["sources"][k] for k in ("laws", "cail2018")}
    data["stage2"]["sources"] = ["laws", "cail2018"]
    steps = [s for s in data["steps"] if s["name"] not in ("decontaminate", "rewrite")]
    if rewrite is not None:
        at = next(i for i, s in enumerate(steps) if s["name"] == "citations")
        steps.insert(at, {"name": "rewrite", **rewrite})
    data["steps"] = steps
    data["execution"]["shards"] = shards
    data["dedup"]["near"] = False  # the tiny cases differ in a few characters only
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def cli_has_rewrite_flags() -> bool:
    """Whether ``lawset build`` already has ``--rewriter`` (wired by the lead)."""
    from lawset.builders import cli

    argv = ["build", "--sources", "s", "--out", "o", "--rewriter", "template"]
    _, extra = cli._parser().parse_known_args(argv)
    return not extra


# Used only while `lawset build` lacks the rewrite flags: the same parser additions and recipe
# change the CLI makes once wired (builders/rewrite/options.py), then the executor's build.
_SHIM = """
import argparse, sys
from pathlib import Path
from lawset.builders.commands.build import report as _report
from lawset.builders.pipeline.executor import BuildOptions, build
from lawset.builders.recipe import load_recipe
from lawset.builders.rewrite.options import add_build_options, apply_build_options
p = argparse.ArgumentParser()
p.add_argument("--sources", type=Path); p.add_argument("--out", type=Path)
p.add_argument("--recipe", type=Path); p.add_argument("--workers", type=int)
p.add_argument("--no-progress", action="store_true"); p.add_argument("--keep-work", action="store_true")
add_build_options(p)
a = p.parse_args(sys.argv[1:])
r = apply_build_options(a, load_recipe(a.recipe))
s = build(BuildOptions(sources=a.sources, out=a.out, recipe=r, workers=a.workers,
                       progress=not a.no_progress, keep_work=a.keep_work))
_report(a.out, s)
"""


def build_command(*args: str | Path) -> list[str]:
    """``lawset build ARGS`` as a command line (the CLI, or the shim above until it is wired)."""
    if cli_has_rewrite_flags():
        return [sys.executable, "-m", "lawset.builders.cli", "build", *map(str, args)]
    return [sys.executable, "-c", _SHIM, *map(str, args)]


ENV = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def lawset_build(*args: str | Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(build_command(*args), capture_output=True, text=True, env=ENV)
    if proc.returncode != 0:
        raise AssertionError(f"lawset build {args} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def rows(out: Path, config: str = "stage1") -> list[dict]:
    found = []
    for f in sorted((out / "data" / config).glob("*.parquet")):
        found += pq.read_table(f).to_pylist()
    return found


def data_bytes(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted((out / "data").rglob("*.parquet"))
    }


if __name__ == "__main__":  # standalone: python tests/fake_openai.py PORT [DELAY_S]
    srv = FakeOpenAI(delay_s=float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
    srv.start(int(sys.argv[1]))
    print(srv.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
