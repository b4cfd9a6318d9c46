"""`lawset build --rewriter openai` against a real OpenAI-compatible server: ``transformers serve``
on a tiny random Qwen2 model built here (a byte-level BPE tokenizer trained by ``tokenizers`` on
a few Chinese strings, a chat template, 1 layer of width 32). Its outputs are noise, so every
rewrite fails validation: the test checks that this is handled (retried once with the reason,
then the template answer kept, with the reason counted), that every record is accounted for,
that the requests the server logged are the requests the client reports, and that a second
build with the same cache sends none."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fake_openai import CASE_TASKS, lawset_build, make_recipe, make_sources, rows
from lawset.builders.rewrite.client import aggregate_client_reports

_MODEL = r"""
import sys
from pathlib import Path
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

out = Path(sys.argv[1])
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(
    vocab_size=400,
    special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
)
text = ["被告人盗窃他人财物，数额较大，构成盗窃罪。", "正确答案：B", '{"answer": "根据刑法"}']
tok.train_from_iterator(text * 10, trainer)
fast = PreTrainedTokenizerFast(
    tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>"
)
fast.chat_template = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
fast.save_pretrained(out)
torch.manual_seed(0)
cfg = Qwen2Config(
    vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
    num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
    eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id, tie_word_embeddings=True,
)
Qwen2ForCausalLM(cfg).save_pretrained(out)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def served(tmp_path: Path):
    """(base URL, model path, server log) of ``transformers serve`` on a tiny random model."""
    model = tmp_path / "tiny-qwen2"
    subprocess.run([sys.executable, "-c", _MODEL, str(model)], check=True, capture_output=True)
    port = _free_port()
    log = tmp_path / "serve.log"
    exe = Path(sys.executable).with_name("transformers")
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            [str(exe), "serve", str(model), "--host", "127.0.0.1", "--port", str(port)]
            + ["--device", "cpu", "--log-level", "info"],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"transformers serve exited:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, f"server not ready:\n{log.read_text()}"
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1", model, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _posts(log: Path) -> int:
    return log.read_text("utf-8", "replace").count('"POST /v1/chat/completions HTTP/1.1" 200')


def test_build_against_transformers_serve(served, tmp_path: Path) -> None:
    base_url, model, log = served
    src = make_sources(tmp_path / "raw", files=1, per_file=1)
    recipe = make_recipe(tmp_path / "r.yaml", shards=1, rewrite={"max_tokens": 16})
    flags = ["--rewriter", "openai", "--base-url", base_url, "--model", str(model)]
    flags += ["--concurrency", "2", "--rewrite-cache", tmp_path / "cache", "--recipe", recipe]
    out = tmp_path / "out"
    proc = lawset_build("--sources", src, "--out", out, "--keep-work", "--no-progress", *flags)
    assert f"release candidate written to {out}/" in proc.stdout

    stats = json.loads((out / "reports" / "stats.json").read_text("utf-8"))
    step = stats["steps"]["rewrite"]
    counters = stats["counters"]["rewrite"]
    rewritten = sum(n for k, n in counters.items() if k.startswith("rewritten:"))
    fallback = sum(n for k, n in counters.items() if k.startswith("fallback:"))
    # 1 case x 4 tasks; random weights never give a valid rewrite: each record is asked twice
    # (the second time with the reason), then keeps its template answer.
    assert step["in"] == 4 == step["out"] == rewritten + fallback
    assert fallback == 4 and counters["check_fail:json"] == 8
    report = aggregate_client_reports(out / ".lawset-work")
    assert report["requests"] == report["responses"] == 8 == _posts(log)
    assert report["retries"] == 0 and sum(report["failures"].values()) == 8
    assert report["tokens_in"] > 0

    shipped = [r for r in rows(out) if r["task"] in CASE_TASKS]
    assert len(shipped) == 4
    for r in shipped:
        assert r["rewrite"] is None and all(c["verified"] for c in r["citations"])

    # The same inputs again: every response comes from the cache, the server sees nothing.
    lawset_build("--sources", src, "--out", tmp_path / "out2", "--no-progress", *flags)
    assert _posts(log) == 8
