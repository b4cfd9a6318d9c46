"""The OpenAI-compatible client: ``openai.AsyncOpenAI`` with lawset's own bounded retries.

The client's built-in retries are turned off (``max_retries=0``) so that every retry is counted
and its cause known. Transport faults are retried here with exponential backoff (0.5 s, 1 s, 2 s
... capped at 8 s, with jitter) or after the server's ``Retry-After`` (capped at 60 s):

| kind | what happened |
| --- | --- |
| ``timeout`` | no answer within ``timeout_s`` |
| ``connection`` | refused, reset or dropped connection |
| ``rate_limited`` | HTTP 429 |
| ``server_error`` | HTTP 5xx (and 408/409) |
| ``bad_response`` | HTTP 200 with a body that is not a chat completion (broken JSON) |
| ``http_4xx`` | another 4xx: not retried (the request itself is wrong) |

A request that still fails after ``max_retries`` retries is a failure of that kind: the record
falls back (or is rejected) and the build goes on. An answer that arrives is stored in the cache
whatever it holds; empty choices, refusals, truncated or malformed JSON are judged when read
(:func:`parse_response`) and counted as failures of their kind.

The per-run figures (requests, cache hits, retries, failures by kind, tokens, wall time) vary
between runs and are kept out of ``reports/stats.json``: :class:`ClientReport` goes to
``<out>/.lawset-work/rewrite_client/`` and :func:`aggregate_client_reports` sums the files.

Server URLs: :func:`base_url_problem` says why a ``base_url`` is unusable (not http(s), no host).
Credentials in a URL (``http://user:secret@host/v1``) never reach a file or a message: the
command line's ``--base-url`` is split by :func:`split_credentials` into the URL without them
(the one the recipe, the card, the manifest and every message carry) and the ``user:password``
part, which is kept in the process environment (``LAWSET_REWRITE_USERINFO``, inherited by the
worker processes, as the API key is) and sent only as the HTTP ``Authorization: Basic`` header,
which is what the HTTP client did with a URL holding them. :func:`scrub_userinfo` removes
credentials from any text.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import re
import socket
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .cache import CachedResponse

RETRYABLE_STATUS = {408, 409, 429}
#: seconds to wait for a connection (a host that never answers is found down in seconds, not
#: after ``timeout_s``, which is for the model's answer)
CONNECT_TIMEOUT_S = 10.0

#: the environment variable holding ``{URL without credentials: "user:password"}`` (JSON)
USERINFO_ENV = "LAWSET_REWRITE_USERINFO"

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@]*@")


def scrub_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` part of every URL in it removed."""
    return _USERINFO.sub(r"\1", text)


def split_credentials(url: str) -> tuple[str, str | None]:
    """(the URL without ``user:password@``, the ``user:password`` part or None); raises
    ValueError for text that is not a URL."""
    text = url.strip()
    parts = urlsplit(text)
    if "@" not in parts.netloc:
        return text, None
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=host)), userinfo


def public_url(url: str | None) -> str:
    """The URL (or whatever text was given as one) as it may be shown or recorded: without
    credentials."""
    if not url:
        return ""
    try:
        clean = split_credentials(url)[0]
    except ValueError:
        clean = url.strip()
    clean = scrub_userinfo(clean)
    if "@" in clean and base_url_problem(clean) is not None:
        clean = "***@" + clean.rsplit("@", 1)[1]  # not a URL: whatever came before '@' is hidden
    return clean


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a server's API root (None: it can)."""
    text = url.strip()
    if not text or any(c.isspace() for c in text):
        return "is not a URL"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "is not a URL (a bad host or port)"
    if parts.scheme.lower() not in ("http", "https"):
        return "is not an http:// or https:// URL"
    if not parts.hostname:
        return "names no host"
    return None


def remember_credentials(url: str, userinfo: str) -> None:
    """Keep ``user:password`` for the server ``url`` (without credentials) in the environment of
    this process and of the worker processes it starts; never in a file."""
    try:
        known = json.loads(os.environ.get(USERINFO_ENV) or "{}")
    except json.JSONDecodeError:
        known = {}
    known[url] = userinfo
    os.environ[USERINFO_ENV] = json.dumps(known, sort_keys=True)


def credentials_for(url: str) -> str | None:
    """The ``user:password`` given for ``url`` by :func:`remember_credentials`, if any."""
    try:
        known = json.loads(os.environ.get(USERINFO_ENV) or "{}")
    except json.JSONDecodeError:
        return None
    value = known.get(url) if isinstance(known, dict) else None
    return value if isinstance(value, str) else None


def basic_auth(userinfo: str) -> str:
    """The ``Authorization`` header value for ``user:password`` (percent-decoded, as HTTP
    clients read a URL's credentials)."""
    user, _, password = userinfo.partition(":")
    raw = f"{unquote(user)}:{unquote(password)}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class RewriteOutput(BaseModel):
    """What the model must return: ``{"answer": "..."}``."""

    model_config = ConfigDict(extra="ignore")
    answer: str = Field(min_length=1, description="the complete rewritten answer")


def response_schema() -> dict[str, Any]:
    """The ``response_format`` of a request (json_schema, strict)."""
    schema = RewriteOutput.model_json_schema()
    schema["additionalProperties"] = False
    return {
        "type": "json_schema",
        "json_schema": {"name": "rewrite", "schema": schema, "strict": True},
    }


@dataclass
class ClientReport:
    """Figures of one shard's run (not deterministic: they never go to stats.json)."""

    model: str = ""
    requests: int = 0  # HTTP requests sent (retries included)
    responses: int = 0  # answers received and cached
    requests_failed: int = 0  # requests that failed for good (after the retries)
    cache_hits: int = 0
    retries: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    tokens_in: int = 0
    tokens_out: int = 0
    wall_s: float = 0.0
    records: int = 0  # records the step handled

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "records": self.records,
            "requests": self.requests,
            "responses": self.responses,
            "requests_failed": self.requests_failed,
            "cache_hits": self.cache_hits,
            "retries": self.retries,
            "failures": dict(sorted(self.failures.items())),
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "wall_s": round(self.wall_s, 3),
        }


class RequestFailed(Exception):
    """A request that failed for good (after the bounded retries)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class ChatClient:
    """Sends chat completions with a concurrency limit and bounded, counted retries."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        concurrency: int,
        timeout_s: float,
        max_retries: int,
        temperature: float,
        max_tokens: int,
        json_schema: bool,
        report: ClientReport,
        backoff_s: float = 0.5,
        userinfo: str | None = None,
    ) -> None:
        """``base_url`` carries no credentials; ``userinfo`` (``user:password``), when given, is
        sent as HTTP basic authentication in place of the API key."""
        from openai import AsyncOpenAI, Timeout

        headers = {"Authorization": basic_auth(userinfo)} if userinfo else None
        self.client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key,
            timeout=Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)),
            max_retries=0,
            default_headers=headers,
        )
        self.model = model
        self.sem = asyncio.Semaphore(max(1, concurrency))
        self.max_retries = max_retries
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.json_schema = json_schema
        self.report = report
        self.backoff_s = backoff_s

    async def complete(self, key: str, messages: list[dict[str, str]]) -> CachedResponse:
        """One chat completion as a cacheable response; raises :class:`RequestFailed`."""
        attempt = 0
        while True:
            try:
                async with self.sem:
                    self.report.requests += 1
                    resp = await self._send(messages)
                break
            except RequestFailed:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below, never swallowed silently
                kind, wait, retry = self._classify(exc)
                if kind == "json_schema_unsupported":
                    self.json_schema = False  # the server refuses response_format: ask plainly
                    continue
                if not retry or attempt >= self.max_retries:
                    self.report.failures[kind] += 1
                    self.report.requests_failed += 1
                    raise RequestFailed(kind, _short(exc)) from None
                attempt += 1
                self.report.retries += 1
                if wait is None:
                    wait = min(8.0, self.backoff_s * 2 ** (attempt - 1))
                    wait *= 0.5 + random.random() / 2  # jitter: only timing, never data
                await asyncio.sleep(wait)
        usage = getattr(resp, "usage", None)
        tin = int(getattr(usage, "prompt_tokens", 0) or 0)
        tout = int(getattr(usage, "completion_tokens", 0) or 0)
        self.report.responses += 1
        self.report.tokens_in += tin
        self.report.tokens_out += tout
        choices = getattr(resp, "choices", None) or []
        if not choices:
            return CachedResponse(key, None, None, None, tin, tout)
        choice = choices[0]
        message = getattr(choice, "message", None)
        return CachedResponse(
            key,
            getattr(message, "content", None),
            getattr(choice, "finish_reason", None),
            getattr(message, "refusal", None),
            tin,
            tout,
        )

    async def _send(self, messages: list[dict[str, str]]) -> Any:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.json_schema:
            kwargs["response_format"] = response_schema()
        return await self.client.chat.completions.create(**kwargs)

    def _classify(self, exc: Exception) -> tuple[str, float | None, bool]:
        """(failure kind, wait in seconds or None for backoff, retry?)"""
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return "timeout", None, True
        if isinstance(exc, openai.APIConnectionError):
            return "connection", None, True
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status == 400 and self.json_schema and "response_format" in str(exc):
                return "json_schema_unsupported", None, True
            if status == 429:
                return "rate_limited", _retry_after(exc), True
            if status >= 500 or status in RETRYABLE_STATUS:
                return "server_error", _retry_after(exc), True
            return "http_4xx", None, False
        if isinstance(exc, (openai.APIResponseValidationError, json.JSONDecodeError, ValueError)):
            return "bad_response", None, True
        if isinstance(exc, (asyncio.TimeoutError, OSError)):
            return "connection", None, True
        return f"error_{type(exc).__name__}", None, False

    async def close(self) -> None:
        await self.client.close()


def _retry_after(exc: Any) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        if 0 <= seconds <= 60:
            return seconds
    return None


def _short(exc: BaseException) -> str:
    """The error on one line, with its root cause (``Connection error. (connection refused)``),
    credentials removed."""
    text = str(exc).replace("\n", " ")[:200]
    cause = _root_cause(exc)
    if cause and cause.lower() not in text.lower():
        text = f"{text} ({cause})"
    return scrub_userinfo(text)


def _root_cause(exc: BaseException) -> str:
    seen: set[int] = set()
    found = ""
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, socket.gaierror):
            return f"host name not found: {cur.strerror or cur}"
        if isinstance(cur, OSError) and isinstance(cur.errno, int) and cur.errno > 0:
            return os.strerror(cur.errno).lower()
        if isinstance(cur, TimeoutError):
            found = "timed out"
        cur = cur.__cause__ or cur.__context__
    return found


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def parse_response(resp: CachedResponse) -> tuple[RewriteOutput | None, str, str]:
    """(output, failure kind, reason for the retry prompt); output None when unusable.

    Servers that ignore ``response_format`` (``transformers serve``) may wrap the object in a code
    fence or add words around it: the first balanced ``{...}`` is taken, and then validated with
    pydantic. Kinds: ``empty_choices``, ``refusal``, ``truncated``, ``malformed_json``,
    ``schema``.
    """
    if resp.text is None and resp.refusal is None and resp.finish_reason is None:
        return None, "empty_choices", "没有返回任何内容"
    if resp.refusal or resp.finish_reason == "content_filter":
        return None, "refusal", "拒绝回答；请按要求改写"
    text = (resp.text or "").strip()
    if resp.finish_reason == "length":
        return None, "truncated", "输出被截断，JSON不完整；请写得更简短"
    obj = _first_object(_FENCE.sub("", text))
    if obj is None:
        return None, "malformed_json", '输出不是JSON对象 {"answer": "..."}'
    try:
        return RewriteOutput.model_validate(obj), "", ""
    except ValidationError:
        return None, "schema", 'JSON对象缺少非空字符串字段 "answer"'


def _first_object(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    decoder = json.JSONDecoder()
    while start != -1:
        try:
            obj, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        return obj if isinstance(obj, dict) else None
    return None


def aggregate_client_reports(work_dir: Path) -> dict[str, Any]:
    """Sum the per-shard client reports under ``<work_dir>/rewrite_client/`` (every attempt of a
    shard, killed ones included: their requests were sent too). Empty dict when there are none."""
    files = sorted((Path(work_dir) / "rewrite_client").glob("*.json"))
    if not files:
        return {}
    total: dict[str, Any] = {
        "models": [],
        "shard_runs": 0,
        "records": 0,
        "requests": 0,
        "responses": 0,
        "requests_failed": 0,
        "cache_hits": 0,
        "retries": 0,
        "failures": Counter(),
        "tokens_in": 0,
        "tokens_out": 0,
        "wall_s_sum": 0.0,
        "wall_s_max": 0.0,
    }
    for f in files:
        try:
            r = json.loads(f.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        total["shard_runs"] += 1
        if r.get("model") and r["model"] not in total["models"]:
            total["models"].append(r["model"])
        for k in ("records", "requests", "responses", "requests_failed", "cache_hits", "retries"):
            total[k] += int(r.get(k, 0))
        total["tokens_in"] += int(r.get("tokens_in", 0))
        total["tokens_out"] += int(r.get("tokens_out", 0))
        total["failures"].update(r.get("failures", {}))
        total["wall_s_sum"] += float(r.get("wall_s", 0.0))
        total["wall_s_max"] = max(total["wall_s_max"], float(r.get("wall_s", 0.0)))
    total["failures"] = dict(sorted(total["failures"].items()))
    total["models"].sort()
    total["wall_s_sum"] = round(total["wall_s_sum"], 3)
    total["wall_s_max"] = round(total["wall_s_max"], 3)
    return total
