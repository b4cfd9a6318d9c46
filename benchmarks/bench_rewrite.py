"""Rewrite throughput: lawset's ``rewrite`` step vs a bare ``AsyncOpenAI`` loop, and cache hits.

Both sides send the same requests (the messages lawset builds: question, gold, article texts) to
the same local OpenAI-compatible server at the same concurrency. The server is the fake server of
the tests (``tests/fake_openai.py``) in its own process, answering every request after a fixed
latency (``--latency``, default 50 ms), so what is measured is the client side: lawset's
grounding, cache writes, validation and checks against a loop that only sends and parses JSON.
Then the same records go through the step again with the cache filled (no server work at all):
records per second answered from the cache (memoized outcomes replayed: no request, no check
re-run; see builders/rewrite/step.py).

    python benchmarks/bench_rewrite.py [--records 2000] [--concurrency 16] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from fake_openai import make_recipe, make_sources  # noqa: E402
from lawset.builders.pipeline.base import Context  # noqa: E402
from lawset.builders.recipe import load_recipe  # noqa: E402
from lawset.builders.rewrite.step import Rewrite, RewriteParams, _Engine, bind_build  # noqa: E402
from lawset.builders.schema import make_query  # noqa: E402

CHARGES = ["盗窃罪", "诈骗罪", "故意伤害罪", "抢劫罪", "危险驾驶罪"]


def records(n: int) -> list[dict]:
    """``n`` distinct queries of the tasks the step rewrites (facts differ by number)."""
    out = []
    for i in range(n):
        fact = f"经审理查明：被告人于某日在某地实施犯罪行为，涉案金额{1000 + i}元，案发后自动投案。"
        kind = i % 3
        if kind == 0:
            user, answer, task = (
                f"请判断罪名。\n{fact}",
                f"罪名：{CHARGES[i % 5]}",
                "charge_prediction",
            )
        elif kind == 1:
            user, answer, task = (
                f"请给出适用的刑法条文。\n{fact}",
                "法条：刑法第264条、刑法第67条",
                ("article_prediction"),
            )
        else:
            user, answer, task = f"请预测刑期。\n{fact}", f"刑期：{6 + i % 30}个月", "prison_term"
        out.append(
            make_query(
                user=user,
                answer=answer,
                task=task,
                level="application",
                domain="legal",
                source="bench",
                source_id=str(i),
                license="-",
                group=f"bench:{i}",
            )
        )
    return out


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "fake_openai.py"), str(port), str(latency)],
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(100):
        try:
            urllib.request.urlopen(url + "/models", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("fake server did not start")


def context(out: Path, catalog_recipe) -> Context:  # noqa: ANN001
    ctx = Context(0)
    ctx.out = out
    return ctx


def run_lawset(recs: list[dict], params: RewriteParams, out: Path) -> float:
    """Seconds the step takes over ``recs`` (one shard: its setup included)."""
    ctx = context(out, None)
    batches = [
        [dict(r, messages=list(r["messages"])) for r in recs[i : i + 1000]]
        for i in range(0, len(recs), 1000)
    ]  # the executor's batch size
    t = time.perf_counter()
    step = Rewrite(params)
    done = sum(len(b) for b in step.run(batches, ctx))
    wall = time.perf_counter() - t
    assert done == len(recs)
    return wall


def bare_messages(recs: list[dict], params: RewriteParams, out: Path) -> list[list[dict]]:
    engine = _Engine(params, context(out, None))
    try:
        msgs = []
        for r in recs:
            g, q, gold = engine._grounding(r)
            msgs.append(engine._messages(r, g, q, gold))
        return msgs
    finally:
        engine.close()


async def bare_loop(url: str, model: str, all_msgs: list[list[dict]], concurrency: int) -> int:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=url, api_key="EMPTY", max_retries=0, timeout=60)
    sem = asyncio.Semaphore(concurrency)
    ok = 0

    async def one(msgs: list[dict]) -> None:
        nonlocal ok
        async with sem:
            resp = await client.chat.completions.create(
                model=model, messages=msgs, temperature=0.0, max_tokens=1024
            )
        if json.loads(resp.choices[0].message.content).get("answer"):
            ok += 1

    await asyncio.gather(*(one(m) for m in all_msgs))
    await client.close()
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--latency", type=float, default=0.05, help="server latency per response (s)")
    args = ap.parse_args()
    recs = records(args.records)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = make_sources(tmp / "raw", files=1, per_file=1)
        bind_build(src, load_recipe(make_recipe(tmp / "r.yaml")))
        server, url = start_server(args.latency)
        try:
            results = {}
            for round_ in range(2):
                params = RewriteParams(
                    rewriter="openai",
                    base_url=url,
                    model="fake",
                    concurrency=args.concurrency,
                    json_schema=False,
                    cache_dir=str(tmp / f"cache{round_}"),
                )
                msgs = bare_messages(recs, params, tmp / "out")
                t = time.perf_counter()
                ok = asyncio.run(bare_loop(url, "fake", msgs, args.concurrency))
                bare = time.perf_counter() - t
                assert ok == len(recs)
                lawset = run_lawset(recs, params, tmp / "out")
                results.setdefault("bare", []).append(len(recs) / bare)
                results.setdefault("lawset", []).append(len(recs) / lawset)
            hit_params = params
            hits = []
            for _ in range(5):
                hits.append(len(recs) / run_lawset(recs, hit_params, tmp / "out"))
        finally:
            server.terminate()
            server.wait()
    bare, lawset = max(results["bare"]), max(results["lawset"])
    print(
        f"records {args.records}, concurrency {args.concurrency}, server latency "
        f"{args.latency * 1000:.0f} ms (fake OpenAI-compatible server, own process)"
    )
    print(f"bare AsyncOpenAI loop : {bare:8.1f} records/s")
    print(f"lawset rewrite step   : {lawset:8.1f} records/s  ({lawset / bare:.2f}x the bare loop)")
    print(f"lawset, cache hits    : {max(hits):8.0f} records/s (outcomes replayed, no request)")


if __name__ == "__main__":
    main()
