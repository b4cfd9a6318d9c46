"""The ``rewrite`` step: terse gold answers rewritten by an LLM into grounded, verified reasoning.

Two rewriters:

- ``template`` (default): deterministic, offline, no model. The answer stays exactly as the task
  generator made it and ``rewrite`` stays null. (Appending the text of the cited articles was
  considered and left out: it needs the statute text store on every build, and it would turn
  LawBench-style terse answers such as ``法条：刑法第264条`` into long ones the benchmark's
  rule-based scorers read worse.)
- ``openai``: any OpenAI-compatible server through ``openai.AsyncOpenAI``. For each selected
  record the model gets the question, the gold answer and the text of the articles involved
  (those the question or the gold cites, latest version, from the statute text store) and returns
  ``{"answer": ...}``. Every rewrite is checked (``checks.py``); a failing one is retried once with
  the reason, then the record falls back to its template answer or is rejected
  (``on_failure``), with the reason counted in the stats.

Which records: ``tasks`` (default: the application/understanding tasks whose gold is a bare
label line — article, charge and prison-term prediction, case-analysis choice questions and
argument mining — where InternLM-Law's stage 2 teaches reasoning before the answer line) and,
among them, gold answers of at most ``max_gold_chars`` characters (a choice answer that already
carries the source's explanation stays as it is). Memorization tasks quote statute text (a
rewrite could only corrupt it); consultations are already prose.

Ids: a rewritten record's ``id`` is recomputed as the content hash of its new messages (the
``citations`` step after this one recomputes it too), so the id always is what the schema says:
the hash of the conversation as shipped. It is stable across builds because the answer is: with
the cache filled the same request gets the same stored response, so a rebuild gives byte-identical
records; a different model or prompt version gives a different conversation and, rightly, a
different id. ``group`` never changes, so a rewrite cannot move a record to another split.

A failing server: a request that fails for good (after ``max_retries`` retries) leaves its record
to ``on_failure`` as ``request_<kind>``, but the build stops (:class:`ExternalServiceError`, exit
3, naming the server without credentials and the counts) as soon as ``FAIL_FAST`` requests in a
row failed (a dead server costs seconds, not a build), and at the end of a shard where more than
``max_failure_rate`` of its requests failed. An answer that fails its checks was answered: it
never counts as a failed request. In a process pool, a worker that stopped its shard stops the
shards it runs after it at their first request.

Stats (deterministic given the cache; in ``reports/stats.json``) under the counter group
``rewrite``: ``rewritten:<model>``, ``fallback:<reason>``, ``rejected:<reason>``,
``check_pass:<check>``/``check_fail:<check>`` per attempt. Client figures that vary between runs
go to ``<out>/.lawset-work/rewrite_client/`` (see ``client.py``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .. import __version__
from ..citations import find_citations, render, repeal_rules
from ..errors import ExternalServiceError
from ..pipeline.base import Batch, Context, Record, Step, StepParams, register_step
from ..records import QUERIES
from ..schema import set_messages
from .cache import CachedResponse, ResponseCache, request_key
from .checks import Bounds, Grounding, final_line, related_articles, run_checks
from .client import (
    ChatClient,
    ClientReport,
    RequestFailed,
    base_url_problem,
    credentials_for,
    parse_response,
    public_url,
    split_credentials,
)
from .prompt import DEFAULT_PROMPT, Prompt, load_prompt
from .statutes import StatuteTexts, catalog_from_texts

WORK = ".lawset-work"
#: bump when the checks or the grounding change meaning (memoized outcomes are then recomputed)
MEMO_VERSION = "checks-1"
CACHE_SUBDIR = Path(".lawset-cache") / "rewrite"
REPORT_SUBDIR = "rewrite_client"
#: a server that answers none of this many requests in a row (each after its retries) is down
FAIL_FAST = 8

#: In a worker process of a process pool: (server, output folder) -> why the build stops, so that
#: the shards this worker runs after it do not wait on a server already found down.
_STOPPED: dict[tuple[str, str], str] = {}

_FAILURE_WORDS = {
    "timeout": "no answer within timeout_s",
    "connection": "connection failed",
    "rate_limited": "HTTP 429",
    "server_error": "HTTP 5xx",
    "bad_response": "unreadable answer",
    "http_4xx": "HTTP 4xx",
}

DEFAULT_TASKS = [
    "article_prediction",
    "charge_prediction",
    "prison_term",
    "prison_term_with_articles",
    "exam_case_choice",
    "argument_mining",
]

#: Where the statute sources are when the executor's Context does not say (set by
#: :func:`bind_build`, which ``options.apply_build_options`` calls; inherited by forked workers).
_BOUND: dict[str, Any] = {}


def bind_build(sources: Path, recipe: Any) -> None:
    """Tell the step where the build's sources and recipe are (for the statute text store)."""
    _BOUND["sources"] = Path(sources)
    _BOUND["recipe"] = recipe


class RewriteParams(StepParams):
    rewriter: Literal["template", "openai"] = Field(
        "template",
        description="'template': the generator's answer, offline and deterministic; 'openai': "
        "an OpenAI-compatible server rewrites selected answers (needs base_url and model)",
    )
    base_url: str | None = Field(
        None, description="the server's API root, e.g. http://127.0.0.1:8000/v1"
    )
    model: str | None = Field(None, description="model name sent to the server")
    concurrency: int = Field(
        8,
        ge=1,
        description="requests in flight for the whole build; each worker gets "
        "max(1, concurrency // workers)",
    )
    api_key_env: str = Field(
        "OPENAI_API_KEY",
        description="environment variable holding the API key (never put the key in a recipe); "
        "unset: a placeholder key is sent (local servers ignore it)",
    )
    timeout_s: float = Field(120.0, gt=0, description="seconds to wait for one response")
    max_retries: int = Field(
        4, ge=0, description="retries of a request after a timeout, 429, 5xx or dropped connection"
    )
    max_failure_rate: float = Field(
        0.2,
        ge=0,
        le=1,
        description="the build stops (exit 3) when more than this share of a shard's requests "
        "failed for good (after the retries); an answer that fails its checks is not a failed "
        f"request. A server that answers none of {FAIL_FAST} requests in a row stops it anyway",
    )
    temperature: float = Field(0.0, ge=0, le=2, description="sampling temperature")
    max_tokens: int = Field(1024, ge=16, description="most tokens a rewrite may have")
    on_failure: Literal["fallback", "reject"] = Field(
        "fallback",
        description="a rewrite that fails its checks twice (or whose request fails): 'fallback' "
        "keeps the template answer, 'reject' drops the record (reports/rejects/rewrite.jsonl)",
    )
    tasks: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TASKS), description="tasks whose answers are rewritten"
    )
    max_gold_chars: int = Field(
        200, ge=1, description="gold answers longer than this are already explained: kept as is"
    )
    cache_dir: str | None = Field(
        None,
        description="response cache folder (default OUT/.lawset-cache/rewrite/); several builds "
        "may share one",
    )
    json_schema: bool = Field(
        True,
        description="request response_format json_schema (the output is validated either way)",
    )
    prompt: str = Field(DEFAULT_PROMPT, description="prompt file builders/rewrite/prompts/X.yaml")
    min_chars: int = Field(30, ge=1, description="shortest acceptable rewrite (characters)")
    max_chars: int = Field(1500, ge=1, description="longest acceptable rewrite (characters)")
    min_cjk_ratio: float = Field(0.5, ge=0, le=1, description="least share of Han characters")
    max_articles: int = Field(8, ge=0, description="most articles given to the model per record")
    max_article_chars: int = Field(
        1500, ge=50, description="an article longer than this is shown cut (…)"
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = base_url_problem(value)
        if problem is not None:
            raise ValueError(
                f"base_url {public_url(value)!r} {problem}; give the server's API root, e.g. "
                "http://127.0.0.1:8000/v1"
            )
        if split_credentials(value)[1] is not None:
            raise ValueError(
                f"base_url {public_url(value)!r} holds credentials (user:password@), and a "
                "recipe is recorded with the release: give them on the command line (lawset "
                "build --base-url URL keeps them out of every file) or the API key through "
                "api_key_env"
            )
        return value.strip()

    @model_validator(mode="after")
    def _server_named(self) -> RewriteParams:
        if self.rewriter == "openai" and (not self.base_url or not self.model):
            raise ValueError(
                "rewriter 'openai' needs base_url and model (e.g. --base-url "
                "http://127.0.0.1:8000/v1 --model NAME)"
            )
        if self.min_chars > self.max_chars:
            raise ValueError("min_chars is larger than max_chars")
        return self


@dataclass
class Outcome:
    status: Literal["rewritten", "failed"]
    reason: str = ""
    answer: str = ""
    key: str = ""
    detail: str = ""
    #: the ``rewrite`` stats counters this record's checks incremented (replayed from the memo)
    counts: list[str] = field(default_factory=list)
    #: every response the outcome was decided on (cache keys)
    keys: list[str] = field(default_factory=list)
    #: decided by the responses alone (not by a failed request): may be memoized
    final: bool = True

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> Outcome:
        return Outcome(**json.loads(text))


Flow = Generator[tuple[str, list[dict[str, str]]], "CachedResponse | RequestFailed", Outcome]


@register_step
class Rewrite(Step):
    """Rewrites selected answers with an LLM, grounded and verified (see the module docstring)."""

    name = "rewrite"
    applies_to = QUERIES
    Params = RewriteParams

    def __init__(self, params: StepParams | None = None) -> None:
        super().__init__(params)
        self._tasks = frozenset(self.params.tasks)

    def environment(self) -> frozenset[str]:
        return frozenset({self.params.api_key_env})

    def selects(self, record: Record) -> bool:
        if record.get("task") not in self._tasks:
            return False
        msgs = record["messages"]
        return (
            bool(msgs)
            and msgs[-1]["role"] == "assistant"
            and len(msgs[-1]["content"]) <= self.params.max_gold_chars
        )

    def process(self, record: Record, ctx: Context) -> Iterable[Record]:
        return (record,)  # the template rewriter: the generator's answer, unchanged

    def run(self, batches: Iterable[Batch], ctx: Context) -> Iterator[Batch]:
        if self.params.rewriter == "template":
            yield from super().run(batches, ctx)
            return
        engine = _Engine(self.params, ctx)
        stats = ctx.stats.step(self.name)
        try:
            for batch in batches:
                todo = [r for r in batch if self.handles(r)]
                stats["in"] += len(todo)
                outcomes = engine.rewrite(todo) if todo else []
                done = {id(r): o for r, o in zip(todo, outcomes, strict=True)}
                out: Batch = []
                for r in batch:
                    o = done.get(id(r))
                    if o is None:
                        out.append(r)
                        continue
                    if self._apply(r, o, engine, ctx):
                        stats["out"] += 1
                        out.append(r)
                engine.write_report()
                if out:
                    yield out
            engine.check_failure_rate()
        finally:
            engine.close()

    def _apply(self, record: Record, o: Outcome, engine: _Engine, ctx: Context) -> bool:
        p = self.params
        ctx.stats.counters["rewrite"].update(o.counts)
        if o.status == "rewritten":
            answer = {"role": "assistant", "content": o.answer}
            set_messages(record, [*record["messages"][:-1], answer])
            record["rewrite"] = {
                "model": p.model,
                "prompt_version": engine.prompt.version,
                "cache_key": o.key,
            }
            ctx.stats.count("rewrite", f"rewritten:{p.model}")
            return True
        if p.on_failure == "reject":
            ctx.stats.count("rewrite", f"rejected:{o.reason}")
            ctx.reject(self.name, o.reason, record, detail=o.detail)
            return False
        ctx.stats.count("rewrite", f"fallback:{o.reason}")
        return True


class _Engine:
    """One shard's rewriting machinery: cache, statute texts, client, event loop, report."""

    def __init__(self, params: RewriteParams, ctx: Context) -> None:
        self.p = params
        self.ctx = ctx
        self.prompt: Prompt = load_prompt(params.prompt)
        out = ctx.out
        if params.cache_dir:
            cache_dir = Path(params.cache_dir)
        elif out is not None:
            cache_dir = Path(out) / CACHE_SUBDIR
        else:
            raise RuntimeError("rewrite: no cache_dir and no build output folder to put it in")
        self.cache = ResponseCache(cache_dir, ctx.shard)
        sources = getattr(ctx, "sources", None) or _BOUND.get("sources")
        recipe = getattr(ctx, "recipe", None) or _BOUND.get("recipe")
        if sources is None or recipe is None or out is None:
            raise RuntimeError(
                "rewrite: the statute sources of the build are unknown (the executor sets "
                "ctx.sources and ctx.recipe; outside it call builders.rewrite.step.bind_build)"
            )
        self.texts = StatuteTexts.open_for_build(Path(out) / WORK, recipe, Path(sources))
        self.catalog = (
            ctx.catalog if ctx.catalog is not None else catalog_from_texts(self.texts, recipe)
        )
        self.key_params = {
            "temperature": params.temperature,
            "max_tokens": params.max_tokens,
            "json_schema": params.json_schema,
        }
        self.bounds = Bounds(params.min_chars, params.max_chars, params.min_cjk_ratio)
        # An outcome (rewritten, or failed by its checks) is a pure function of the record, the
        # stored responses and the checks: the model, prompt version, request parameters, check
        # bounds and grounding limits, the statute texts and repeal rules, and the check code
        # (lawset's version). With all of these in the key, a rebuild replays the outcome
        # without re-running grounding and checks (the cache-hit path: tens of thousands of
        # records per second). Failed requests are never memoized: the next run asks again.
        rules = repeal_rules(recipe)
        self._memo_prefix = json.dumps(
            [
                MEMO_VERSION,
                __version__,
                params.model,
                self.prompt.version,
                self.key_params,
                params.model_dump(
                    include={
                        "min_chars",
                        "max_chars",
                        "min_cjk_ratio",
                        "max_articles",
                        "max_article_chars",
                    }
                ),
                self.texts.fingerprint,
                rules,
            ],
            ensure_ascii=False,
            sort_keys=True,
        )
        self.report = ClientReport(model=params.model or "")
        #: the server as every message names it (no credentials)
        self.server = public_url(params.base_url)
        self._answered = 0  # requests of this shard answered (whatever the answer holds)
        self._failed: Counter[str] = Counter()  # ... failed for good, by kind
        self._last_failure = ""
        self._streak = 0  # requests failed for good since the last answer
        self.concurrency = max(1, params.concurrency // max(1, ctx.workers))
        self.loop = asyncio.new_event_loop()
        self.client: ChatClient | None = None
        self._fresh: set[str] = set()
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        self._t0 = time.monotonic()
        self._report_path: Path | None = None
        if out is not None:
            folder = Path(out) / WORK / REPORT_SUBDIR
            folder.mkdir(parents=True, exist_ok=True)
            n = 0
            while (folder / f"{max(ctx.shard, 0):05d}.{n}.json").exists():
                n += 1
            self._report_path = folder / f"{max(ctx.shard, 0):05d}.{n}.json"

    # -- grounding and messages ----------------------------------------------------------
    def _grounding(self, record: Record) -> tuple[Grounding, str, str]:
        msgs = record["messages"]
        gold = msgs[-1]["content"]
        question = next((m["content"] for m in reversed(msgs[:-1]) if m["role"] == "user"), "")
        g = Grounding()
        for text, from_gold in ((question, False), (gold, True)):
            cited, _ = find_citations(text)
            for c in cited:
                r = self.catalog.resolve(c)
                if r["status"] == "superseded":
                    r = self.catalog.current_provision(r) or r
                if r["status"] not in ("current", "mapped"):
                    continue
                key = (r["law"], r["article"], r["sub"])
                if from_gold:
                    g.related.add(key)
                if key in g.articles or len(g.articles) >= self.p.max_articles:
                    continue
                version = self.texts.latest_version(key[0])
                body = self.texts.text(key[0], version, key[1], key[2]) if version else None
                if body:
                    g.articles[key] = body
                    g.related |= related_articles(key[0], body)
        return g, question, gold

    def _text_of(self, key: tuple[str, int, int]) -> str | None:
        version = self.texts.latest_version(key[0])
        return self.texts.text(key[0], version, key[1], key[2]) if version else None

    def _messages(self, record: Record, g: Grounding, question: str, gold: str) -> list[dict]:
        p, pr = self.p, self.prompt
        blocks = []
        for key, body in g.articles.items():
            shown = body if len(body) <= p.max_article_chars else body[: p.max_article_chars] + "…"
            blocks.append(f"{render(*key)}：{shown}")
        system = pr.system.format(
            final_line=final_line(gold), min_chars=p.min_chars, max_chars=p.max_chars
        )
        user = pr.user.format(
            instruction=pr.instruction(record["task"]),
            question=question,
            gold=gold,
            articles="\n".join(blocks) if blocks else pr.no_articles,
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    # -- one record ------------------------------------------------------------------------
    def _flow(self, record: Record) -> Flow:
        """Yields (cache key, messages) for each request and receives its response; returns the
        outcome. At most two attempts: the second carries the first's failure reason."""
        g, question, gold = self._grounding(record)
        base = self._messages(record, g, question, gold)
        messages = base
        counts: list[str] = []
        keys: list[str] = []
        reason_tag, detail = "", ""
        for _attempt in range(2):
            key = request_key(self.p.model or "", self.prompt.version, messages, self.key_params)
            resp = yield key, messages
            if isinstance(resp, RequestFailed):
                return Outcome(
                    "failed", f"request_{resp.kind}", detail=resp.detail, counts=counts, final=False
                )
            keys.append(key)
            out, kind, why = parse_response(resp)
            if out is None:
                if key in self._fresh:
                    self.report.failures[kind] += 1
                counts.append("check_fail:json")
                reason_tag, detail = "json", f"{kind}: {why}"
            else:
                counts.append("check_pass:json")
                results = run_checks(
                    out.answer.strip(),
                    gold=gold,
                    question=question,
                    task=record["task"],
                    grounding=g,
                    catalog=self.catalog,
                    bounds=self.bounds,
                    text_of=self._text_of,
                )
                first = None
                for name, failed in results:
                    counts.append(f"check_{'fail' if failed else 'pass'}:{name}")
                    if failed and first is None:
                        first = (name, failed)
                if first is None:
                    return Outcome(
                        "rewritten", answer=out.answer.strip(), key=key, counts=counts, keys=keys
                    )
                reason_tag, why = first
                detail = why
            messages = [
                *base,
                {"role": "assistant", "content": (resp.text or "")[:4000]},
                {"role": "user", "content": self.prompt.retry.format(reason=why)},
            ]
        return Outcome("failed", reason_tag, detail=detail, counts=counts, keys=keys)

    # -- a batch ---------------------------------------------------------------------------
    def rewrite(self, records: list[Record]) -> list[Outcome]:
        """Outcomes in the records' order. Records answered from the cache finish here without
        the event loop; the rest run concurrently (``concurrency`` requests in flight)."""
        self.report.records += len(records)
        self.cache.refresh()
        outcomes: list[Outcome | None] = [None] * len(records)
        memo_keys = [self._memo_key(r) for r in records]
        memo = self.cache.get_outcomes(memo_keys)
        firsts = []
        for i, r in enumerate(records):
            known = memo.get(memo_keys[i])
            if known is not None:
                outcomes[i] = Outcome.from_json(known)
                self.report.cache_hits += len(outcomes[i].keys)
                continue
            flow = self._flow(r)
            key, msgs = next(flow)
            firsts.append((i, flow, key, msgs))
        hits = self.cache.get_many([k for _, _, k, _ in firsts])
        waiting = []
        for i, flow, key, msgs in firsts:
            step = (key, msgs)
            resp = hits.get(key)
            while resp is not None:
                self.report.cache_hits += 1
                try:
                    step = flow.send(resp)
                except StopIteration as stop:
                    outcomes[i] = stop.value
                    break
                resp = self.cache.get(step[0])
            else:
                waiting.append((i, flow, step[0], step[1]))
        if waiting:
            self.loop.run_until_complete(self._drive(waiting, outcomes))
        self.cache.put_outcomes(
            [
                (memo_keys[i], o.to_json())
                for i, o in enumerate(outcomes)
                if o is not None and o.final and memo_keys[i] not in memo
            ]
        )
        return outcomes  # type: ignore[return-value]

    def _memo_key(self, record: Record) -> str:
        """The key of a record's outcome: everything that decides it (see ``_memo_prefix``) and
        the record's task and messages (length-prefixed: unambiguous, cheaper than JSON)."""
        h = hashlib.sha256(self._memo_prefix.encode("utf-8"))
        parts = [record["task"]]
        for m in record["messages"]:
            parts += (m["role"], m["content"])
        h.update("".join(f"{len(x)}:{x}" for x in parts).encode("utf-8"))
        return h.hexdigest()

    async def _drive(self, waiting: list[tuple[int, Flow, str, list]], outcomes: list) -> None:
        stopped = _STOPPED.get((self.server, str(self.ctx.out)))
        if stopped is not None:
            raise ExternalServiceError(stopped)
        if self.client is None:
            base_url = self.p.base_url or ""
            self.client = ChatClient(
                base_url=base_url,
                userinfo=credentials_for(base_url),
                api_key=os.environ.get(self.p.api_key_env) or "EMPTY",
                model=self.p.model or "",
                concurrency=self.concurrency,
                timeout_s=self.p.timeout_s,
                max_retries=self.p.max_retries,
                temperature=self.p.temperature,
                max_tokens=self.p.max_tokens,
                json_schema=self.p.json_schema,
                report=self.report,
            )
        tasks = [asyncio.ensure_future(self._drive_one(*w, outcomes)) for w in waiting]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:  # the build stops: the requests still in flight are dropped
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _drive_one(
        self, i: int, flow: Flow, key: str, msgs: list[dict[str, str]], outcomes: list
    ) -> None:
        while True:
            resp: CachedResponse | RequestFailed | None = self.cache.get(key)
            if resp is not None:
                self.report.cache_hits += 1
            elif key in self._inflight:
                resp = await self._inflight[key]  # the same request from another record
            else:
                fut: asyncio.Future[Any] = self.loop.create_future()
                self._inflight[key] = fut
                try:
                    assert self.client is not None
                    resp = await self.client.complete(key, msgs)
                    self.cache.put(resp, self.p.model or "", self.prompt.version)
                    self._fresh.add(key)
                    self._answered += 1
                    self._streak = 0
                except RequestFailed as exc:
                    resp = exc
                    self._failed[exc.kind] += 1
                    self._last_failure = exc.detail
                    self._streak += 1
                finally:
                    del self._inflight[key]
                fut.set_result(resp)
                if self._streak >= FAIL_FAST:
                    self._stop(f"none of the last {FAIL_FAST} was answered")
            try:
                key, msgs = flow.send(resp)
            except StopIteration as stop:
                outcomes[i] = stop.value
                return

    # -- a server that fails ------------------------------------------------------------------
    def check_failure_rate(self) -> None:
        """At the end of the shard: stop the build when more than ``max_failure_rate`` of its
        requests failed for good."""
        failed = sum(self._failed.values())
        if failed and failed > self.p.max_failure_rate * (failed + self._answered):
            self._stop(
                f"that is more than the rewrite step's max_failure_rate "
                f"({self.p.max_failure_rate:.0%})"
            )

    def _stop(self, why: str) -> None:
        """Raise :class:`ExternalServiceError`: the server, the counts and what to do."""
        failed = sum(self._failed.values())
        kinds = ", ".join(
            f"{n} {_FAILURE_WORDS.get(k, k)}" for k, n in sorted(self._failed.items())
        )
        last = f"; last error: {self._last_failure}" if self._last_failure else ""
        if self._answered == 0:
            fix = (
                "check that the server runs and answers at that URL, that --model names a model "
                "it serves, and that it accepts the API key (--api-key-env) or the URL's "
                "credentials"
            )
        else:
            fix = (
                "check the server (its log, its load; a lower --concurrency), or raise the "
                "rewrite step's max_failure_rate in the recipe"
            )
        msg = (
            f"rewrite server {self.server}: {self._answered} of {failed + self._answered} "
            f"requests answered ({failed} failed after up to {self.p.max_retries} retries: "
            f"{kinds}{last}); {why}, so the build stops: {fix}, then run the same command again "
            "(answered requests are cached: the build resumes)"
        )
        if multiprocessing.parent_process() is not None:  # a pool worker: its next shards too
            _STOPPED[(self.server, str(self.ctx.out))] = msg
        raise ExternalServiceError(msg)

    # -- report and shutdown ---------------------------------------------------------------
    def write_report(self) -> None:
        if self._report_path is None:
            return
        self.report.wall_s = time.monotonic() - self._t0
        tmp = self._report_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.report.to_dict(), sort_keys=True), encoding="utf-8")
        os.replace(tmp, self._report_path)

    def close(self) -> None:
        try:
            if self.client is not None:
                self.loop.run_until_complete(self.client.close())
            self.write_report()
        finally:
            self.loop.close()
            self.cache.close()
            self.texts.close()
