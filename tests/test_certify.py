"""`lawset certify` and the two-stage recipe, on CPU with the tiny model on a small real release.

One small release is built once (laws, exam and general sources, 5 units each) and certified once
through the CLI, as a user types it (a working folder, relative paths); the tests read that
certificate. Everything runs offline: the tiny model is built from tiny_cpu.yaml with a tokenizer
trained on the release's own text. Certify writes nothing inside the release: its output goes to
``certificates/release/`` beside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import statistics
from pathlib import Path

import pytest
import yaml
from conftest import build, run_lawset
from lawset.builders import cli

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO.parent / "shared" / "benchmarks"
SECTIONS = {
    "certificate_version",
    "created_by",
    "release",
    "model",
    "lora",
    "config",
    "hyperparameters",
    "hardware",
    "stages",
    "heldout_loss",
    "lawbench",
    "checks",
    "wall_s",
}


def lawset_main(*args: str | Path) -> tuple[int, str, str]:
    """``lawset ...`` in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def release(shared_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("certify") / "release"
    return build(shared_raw, out, "--limit", "5", "--only", "laws,exam,general").out


def tree(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` (hidden ones too): path -> sha256, or "dir"."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def certified(release: Path) -> tuple[dict, str, Path]:
    """``lawset certify release --model tiny ...`` from the folder holding the release
    (``--verbose``: every phase's status line at once, whatever the machine's speed)."""
    cwd = release.parent
    before = tree(release)
    proc = run_lawset(
        "certify", "release", "--model", "tiny", "--work", "work", "--lawbench-items", "2",
        "--benchmarks", os.path.relpath(BENCHMARKS, cwd), "--no-progress", "--verbose", cwd=cwd,
    )  # fmt: skip
    assert tree(release) == before  # not one byte, not one file added inside the release
    path = cwd / "certificates" / "release" / "certificate.json"
    return json.loads(path.read_text("utf-8")), proc.stdout, cwd / "work", proc.stderr


def test_certify_writes_beside_the_release_with_logs_in_a_file(
    release: Path, certified: tuple
) -> None:
    _, stdout, _, stderr = certified
    out = (release.parent / "certificates" / "release").resolve()
    assert not (release / "reports" / "certificate.json").exists()
    assert sorted(p.name for p in out.iterdir()) == ["certificate.json", "training.log"]
    assert f"certificate written to {out / 'certificate.json'}" in stdout
    assert f"library and trainer logs: {out / 'training.log'}" in stdout
    assert "lawset release" in stdout  # how to attach it
    # the trainer's per-step log lines went to the log file, not to the terminal
    log = (out / "training.log").read_text("utf-8")
    assert "'loss':" in log
    assert "'loss':" not in stdout + stderr and "Traceback" not in stderr
    # where the output goes, then a status line for each phase (with --verbose: at once)
    assert f"lawset: writing to {out}/ (certificate.json; library and trainer logs" in stderr
    for phase in (
        f"checking {release.resolve()}'s files against manifest.json",
        "loading the training libraries and the config",
        "building the tiny model and its tokenizer (tiny)",
        "evaluating the base model (tiny) (held-out loss, LawBench 2 items/task)",
        "training stage1",
        "evaluating after stage1 (held-out loss)",
        "training stage2",
        "evaluating after stage2 (held-out loss, LawBench 2 items/task)",
    ):
        assert f"lawset: {phase} ...\n" in stderr and f"lawset: {phase}: done in " in stderr, phase
    assert "lawset: held-out loss after stage2: stage1_test " in stderr  # a --verbose detail


def test_certificate_has_every_section(release: Path, certified: tuple) -> None:
    cert, stdout, work, _ = certified
    assert SECTIONS <= set(cert)
    manifest = json.loads((release / "manifest.json").read_text("utf-8"))
    assert [(f["path"], f["sha256"]) for f in cert["release"]["files"]] == [
        (f["path"], f["sha256"]) for f in manifest["files"]
    ]
    assert cert["model"]["kind"] == "scratch" and cert["model"]["parameters"] > 10_000
    # lawset release --certificate puts certify's own summary of it in the release manifest
    from lawset.builders.release.certificate import certificate_summary

    entry, _ = certificate_summary(
        release.parent / "certificates" / "release" / "certificate.json", manifest
    )
    assert entry["summary"]["model"] == "tiny"
    assert set(entry["summary"]["heldout_loss_after"]) == {"stage1_test", "stage2_test"}
    assert entry["summary"]["lawbench_average_after"] == cert["lawbench"]["after_stage2"]["average"]
    for stage in ("stage1", "stage2"):
        hp = cert["hyperparameters"][stage]
        assert hp["packing"] is True and hp["assistant_only_loss"] is True
        assert hp["packing_strategy"] == "wrapped" and hp["attn_implementation"] == "sdpa"
        assert hp["bf16"] is False  # CPU run: no mixed precision
        rec = cert["stages"][stage]
        assert rec["rows"] > 0 and rec["tokens"] > 0 and rec["tokens_per_s"] > 0
        assert rec["mfu"] is None and "no GPU" in rec["mfu_note"]
        assert (work / rec["model_out"] / "config.json").is_file()
    # stage 2 started from stage 1's saved model
    assert cert["stages"]["stage2"]["model_in"] == cert["stages"]["stage1"]["model_out"]
    assert cert["hardware"]["libraries"]["trl"] == "1.16.0"
    assert cert["hardware"]["device_count"] == 0


def test_loss_goes_down_in_each_stage(certified: tuple) -> None:
    cert = certified[0]
    held = cert["heldout_loss"]
    # held-out assistant-token loss on each stage's own test split, before vs after the stage
    assert held["after_stage1"]["stage1_test"]["loss"] < held["before"]["stage1_test"]["loss"]
    assert held["after_stage2"]["stage2_test"]["loss"] < held["after_stage1"]["stage2_test"]["loss"]
    for stage in ("stage1", "stage2"):
        curve = [p["loss"] for p in cert["stages"][stage]["loss_curve"]]
        assert len(curve) >= 4
        k = len(curve) // 4
        assert statistics.fmean(curve[-k:]) < statistics.fmean(curve[:k]), (stage, curve)
        assert cert["checks"][stage]["heldout_loss_went_down"] is True
        assert cert["checks"][stage]["train_loss_went_down"] is True


def test_lawbench_scored_before_and_after(certified: tuple) -> None:
    bench = certified[0]["lawbench"]
    assert bench["items_per_task"] == 2
    for point in ("before", "after_stage2"):
        result = bench[point]
        assert result["tasks_scored"] >= 15
        assert "2-1" in result["skipped"]  # the scorer reports 2-1 as unsupported
        assert set(result["tasks"]).isdisjoint(result["skipped"])
        assert len(result["tasks"]) + len(result["skipped"]) == 20
        for rec in result["tasks"].values():
            assert 0.0 <= rec["score"] <= 1.0 and 1 <= rec["n"] <= 2
        scores = [r["score"] for r in result["tasks"].values()]
        assert result["average"] == pytest.approx(statistics.fmean(scores))
        assert set(result["levels"]) == {"memorization", "understanding", "application"}


def test_tampered_release_is_refused(release: Path, tmp_path: Path) -> None:
    copy = tmp_path / "release"
    shutil.copytree(release, copy, ignore=shutil.ignore_patterns("reports"))
    victim = sorted((copy / "data" / "stage2").glob("train-*.parquet"))[0]
    victim.write_bytes(victim.read_bytes() + b"\0")
    before = tree(copy)
    code, _, stderr = lawset_main("certify", copy, "--model", "tiny", "--no-progress")
    assert code == 1
    assert victim.name in stderr and "manifest.json" in stderr
    assert tree(copy) == before and not (tmp_path / "certificates").exists()


def test_chat_template_masks_only_assistant_tokens() -> None:
    from lawset.sft.model import EOS, train_tokenizer

    tok = train_tokenizer(["用户问题：盗窃罪如何量刑？", "依照刑法第二百六十四条。"] * 20, 300)
    messages = [
        {"role": "system", "content": "你是法律助手。"},
        {"role": "user", "content": "盗窃罪如何量刑？"},
        {"role": "assistant", "content": "依照刑法第二百六十四条。"},
        {"role": "user", "content": "还有呢？"},
        {"role": "assistant", "content": "看数额。"},
    ]
    out = tok.apply_chat_template(messages, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = out["input_ids"], out["assistant_masks"]
    spans, current = [], []
    for token, bit in zip(ids, mask, strict=True):
        if bit:
            current.append(token)
        elif current:
            spans.append(current)
            current = []
    if current:
        spans.append(current)
    decoded = [tok.decode(span) for span in spans]
    assert decoded == [f"依照刑法第二百六十四条。{EOS}", f"看数额。{EOS}"]
    assert sum(mask) < len(ids)
    prompt = tok.apply_chat_template(messages[:2], add_generation_prompt=True, tokenize=False)
    assert prompt.endswith("<|im_start|>assistant\n") and "generation" not in prompt


def test_lora_two_stages_on_tiny_model(release: Path, tmp_path: Path) -> None:
    from lawset.sft import train

    cfg = yaml.safe_load((REPO / "sft" / "configs" / "tiny_cpu.yaml").read_text("utf-8"))
    cfg["data"]["max_rows"] = {"stage1": 16, "stage2": 16}
    cfg["model"]["tokenizer_rows"] = 100
    config = tmp_path / "lora.yaml"
    config.write_text(yaml.safe_dump(cfg), "utf-8")
    out = tmp_path / "run"
    assert (
        train.main(
            ["--data", str(release), "--model", "tiny", "--config", str(config), "--out", str(out)]
            + ["--lora", "--no-progress"]
        )
        == 0
    )
    summary = json.loads((out / "train_summary.json").read_text("utf-8"))
    import torch
    from safetensors.torch import load_file

    base = load_file(out / "base" / "model.safetensors")
    for stage in ("stage1", "stage2"):
        rec = summary["stages"][stage]
        assert rec["lora"] is True and rec["steps"] > 0
        saved = out / stage
        assert not (saved / "adapter_config.json").exists()  # merged into plain weights
        weights = load_file(saved / "model.safetensors")
        assert set(weights) == set(base)
        assert not any("lora" in k for k in weights)
        changed = [k for k in base if not torch.equal(base[k], weights[k])]
        assert any("proj" in k for k in changed)  # the merged adapters moved linear weights
    assert summary["stages"]["stage2"]["model_in"] == str(out / "stage1")
