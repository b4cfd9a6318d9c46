"""``lawset certify DIR --model M``: train the two-stage recipe on a release and certify it.

The certificate (JSON, default ``DIR/reports/certificate.json``, where ``lawset release`` can pick
it up for the manifest) says what was trained on what, and what came out:

- ``release``: the manifest's sha256, every data file's sha256 from the manifest, re-hashed and
  compared (a mismatch stops certify with exit 1: a certificate for other bytes is worthless);
- ``model``: the Hub id/path, or the scratch architecture, tokenizer and parameter count;
- ``config`` and ``hyperparameters`` per stage (the resolved SFTConfig values);
- ``hardware``: device, device count, CPU count, library versions;
- ``stages``: per stage rows, steps, tokens, loss curve (trainer log history), tokens/s, model
  FLOP/s, MFU (null on CPU, with the reason), wall time;
- ``heldout_loss``: mean assistant-token loss on seeded samples of the stage1 and stage2 test
  splits, before stage 1, after stage 1 and after stage 2;
- ``lawbench``: zero-shot scores per task, per level and averaged, before training and after
  stage 2 (and after stage 1 when the config asks), with the items per task and skipped tasks;
- ``checks``: whether each stage lowered its training loss and its held-out loss.

Timings and throughput differ from run to run; everything else is a function of the release,
model, config and seed (keys sorted, paths inside the working folder written relative to it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .train import (
    STAGES,
    RecipeError,
    device_name,
    is_scratch,
    load_config,
    load_model,
    load_split,
    prepare_base,
    train_stage,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CERTIFICATE_VERSION = 1
#: ../shared/benchmarks beside the checkout (the LawBench copy)
DEFAULT_BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"


class CertifyError(Exception):
    """Raised with a message naming the file and the fix; ``exit_code`` 1 or 2."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def release_checksums(data_dir: Path) -> dict[str, Any]:
    """The release's identity: manifest hash and every listed file, re-hashed and compared."""
    manifest_path = data_dir / "manifest.json"
    if not manifest_path.is_file():
        raise CertifyError(f"{manifest_path}: missing; DIR must be a release built by lawset build")
    manifest = json.loads(manifest_path.read_text("utf-8"))
    files = []
    for entry in manifest.get("files", []):
        path = data_dir / entry["path"]
        if not path.is_file():
            raise CertifyError(f"{path}: listed in manifest.json but missing", EXIT_FAILED)
        actual = _sha256(path)
        if actual != entry["sha256"]:
            raise CertifyError(
                f"{path}: sha256 {actual} differs from manifest.json ({entry['sha256']}); the "
                "release was modified after it was built: rebuild it or restore the file",
                EXIT_FAILED,
            )
        files.append({"path": entry["path"], "sha256": actual, "rows": entry.get("rows")})
    rows = {
        config: {split: info.get("rows") for split, info in splits.items()}
        for config, splits in (manifest.get("configs") or {}).items()
    }
    return {
        "name": manifest.get("name"),
        "lawset_version": manifest.get("lawset_version"),
        "recipe": manifest.get("recipe"),
        "manifest_sha256": _sha256(manifest_path),
        "files": files,
        "files_verified": len(files),
        "rows": rows,
    }


def hardware() -> dict[str, Any]:
    """Device and library versions of this run."""
    import accelerate
    import datasets
    import peft
    import torch
    import transformers
    import trl

    cuda = torch.cuda.is_available()
    return {
        "device": device_name(),
        "device_count": torch.cuda.device_count() if cuda else 0,
        "processes": int(os.environ.get("WORLD_SIZE", "1")),
        "cuda": torch.version.cuda if cuda else None,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "libraries": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "trl": trl.__version__,
            "peft": peft.__version__,
            "accelerate": accelerate.__version__,
            "datasets": datasets.__version__,
        },
    }


def _evaluate(
    model_path: str,
    cfg: dict[str, Any],
    data_dir: Path,
    work: Path,
    lawbench_items: int,
    benchmarks: Path | None,
    with_lawbench: bool,
    label: str,
    progress: bool,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Held-out losses on both test splits and, if asked, LawBench, for one saved model."""
    import gc

    import torch

    from .evaluate import heldout_loss, lawbench

    started = time.perf_counter()

    ev = cfg.get("evaluation") or {}
    seed = int(cfg.get("seed", 42))
    max_length = int((cfg.get("train") or {}).get("max_length") or 1024)
    model, tokenizer = load_model(model_path, cfg)
    if torch.cuda.is_available():
        model.to("cuda")
    losses = {}
    for stage in STAGES:
        rows = load_split(
            data_dir, stage, "test", ev.get("heldout_rows", 256), seed, work / "hf-cache"
        )
        losses[f"{stage}_test"] = heldout_loss(
            model,
            tokenizer,
            rows["messages"],
            max_length=max_length,
            batch_size=int(ev.get("heldout_batch_size", 8)),
        )
    bench = None
    if with_lawbench and lawbench_items > 0 and benchmarks is not None:
        bench = lawbench(
            model,
            tokenizer,
            benchmarks,
            items_per_task=lawbench_items,
            max_new_tokens=int(ev.get("max_new_tokens", 128)),
            batch_size=int(ev.get("generation_batch_size", 8)),
            progress=progress,
            label=label,
        )
    del model
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    losses["wall_s"] = time.perf_counter() - started
    return losses, bench


def _quarter_means(curve: list[dict[str, Any]]) -> tuple[float | None, float | None]:
    """Mean logged loss over the first and the last quarter of the curve (at least one point)."""
    losses = [p["loss"] for p in curve]
    if len(losses) < 2:
        return None, None
    k = max(1, len(losses) // 4)
    return statistics.fmean(losses[:k]), statistics.fmean(losses[-k:])


def _relative(value: Any, work: Path) -> Any:
    """Paths inside the working folder written relative to it (stable across runs)."""
    if isinstance(value, str) and value.startswith(str(work)):
        return os.path.relpath(value, work)
    return value


def certify(
    data_dir: Path,
    model: str,
    config: str | Path | None = None,
    out: Path | None = None,
    work: Path | None = None,
    lora: bool = False,
    lawbench_items: int | None = None,
    benchmarks: Path | None = None,
    progress: bool = True,
) -> tuple[dict[str, Any], Path]:
    """Run the recipe on ``data_dir`` with evaluation around each stage; write the certificate.

    ``work`` keeps the trained models (``base/``, ``stage1/``, ``stage2/``); without it a temporary
    folder is used and removed. Returns (certificate, path written).
    """
    started = time.perf_counter()
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CertifyError(f"{data_dir}: no such folder; pass a release built by lawset build")
    release = release_checksums(data_dir)
    try:
        cfg = load_config(config, is_scratch(model))
    except (RecipeError, OSError) as exc:
        raise CertifyError(str(exc)) from None
    ev = cfg.get("evaluation") or {}
    items = int(lawbench_items if lawbench_items is not None else ev.get("lawbench_items", 0))
    if items > 0:
        benchmarks = Path(benchmarks) if benchmarks is not None else DEFAULT_BENCHMARKS
        if not (benchmarks / "lawbench" / "data").is_dir() and not (benchmarks / "data").is_dir():
            raise CertifyError(
                f"{benchmarks}: no LawBench copy (lawbench/data/zero_shot); pass --benchmarks "
                "../shared/benchmarks or --lawbench-items 0 to leave LawBench out"
            )
    out = Path(out) if out is not None else data_dir / "reports" / "certificate.json"
    tmp = None
    if work is None:
        tmp = tempfile.TemporaryDirectory(prefix="lawset-certify-")
        work = Path(tmp.name)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        cert = _run(data_dir, model, cfg, work, lora, items, benchmarks, progress)
    finally:
        if tmp is not None:
            tmp.cleanup()
    cert["release"] = release
    cert["wall_s"] = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(cert, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")
    return cert, out


def _run(
    data_dir: Path,
    model: str,
    cfg: dict[str, Any],
    work: Path,
    lora: bool,
    items: int,
    benchmarks: Path | None,
    progress: bool,
) -> dict[str, Any]:
    ev = cfg.get("evaluation") or {}
    log = sys.stderr
    path, info = prepare_base(model, cfg, data_dir, work)
    print(f"certify: evaluating the base model ({model})", file=log)
    heldout: dict[str, Any] = {}
    bench: dict[str, Any] = {}
    heldout["before"], bench["before"] = _evaluate(
        path, cfg, data_dir, work, items, benchmarks, True, "before", progress
    )
    stages: dict[str, Any] = {}
    for stage in STAGES:
        print(f"certify: training {stage}", file=log)
        rec = train_stage(stage, path, data_dir, cfg, work, lora, progress)
        path = rec["model_out"]
        last = stage == STAGES[-1]
        with_bench = last or bool(ev.get("lawbench_after_stage1", False))
        print(f"certify: evaluating after {stage}", file=log)
        heldout[f"after_{stage}"], b = _evaluate(
            path, cfg, data_dir, work, items, benchmarks, with_bench, f"after {stage}", progress
        )
        if b is not None:
            bench[f"after_{stage}"] = b
        stages[stage] = {k: _relative(v, work) for k, v in rec.items() if k != "hyperparameters"}
        stages[stage]["hyperparameters"] = rec["hyperparameters"]
    info = {k: _relative(v, work) for k, v in info.items()}
    if "parameters" not in info:
        info["parameters"] = stages["stage1"]["parameters"]
    checks = {}
    before_key = "before"
    for stage in STAGES:
        first, last_q = _quarter_means(stages[stage]["loss_curve"])
        before = heldout[before_key][f"{stage}_test"]["loss"]
        after = heldout[f"after_{stage}"][f"{stage}_test"]["loss"]
        checks[stage] = {
            "train_loss_first_quarter": first,
            "train_loss_last_quarter": last_q,
            "train_loss_went_down": first is not None and last_q is not None and last_q < first,
            "heldout_loss_before": before,
            "heldout_loss_after": after,
            "heldout_loss_went_down": before is not None and after is not None and after < before,
        }
        before_key = f"after_{stage}"
    lawbench_section: dict[str, Any] = {
        "items_per_task": items,
        "shot": "zero_shot",
        "scores_scale": "0..1 (LawBench results.csv; the leaderboard multiplies by 100)",
    }
    if items > 0:
        lawbench_section.update(bench)
    else:
        lawbench_section["disabled"] = "--lawbench-items 0"
    from lawset.builders import __version__ as lawset_version

    return {
        "certificate_version": CERTIFICATE_VERSION,
        "created_by": f"lawset {lawset_version} certify",
        "model": info,
        "lora": lora,
        "config": {
            "name": cfg.get("name", Path(cfg["_path"]).stem),
            "file": Path(cfg["_path"]).name,
            "sha256": cfg["_sha256"],
            "seed": int(cfg.get("seed", 42)),
            "evaluation": ev,
        },
        "hyperparameters": {s: stages[s]["hyperparameters"] for s in STAGES},
        "hardware": hardware(),
        "stages": stages,
        "heldout_loss": heldout,
        "lawbench": lawbench_section,
        "checks": checks,
    }


def manifest_entry(path: Path) -> dict[str, Any]:
    """A compact summary of a certificate, for ``lawset release`` to put in the manifest."""
    cert = json.loads(Path(path).read_text("utf-8"))
    after = cert["lawbench"].get("after_stage2") or {}
    return {
        "path": "reports/certificate.json",
        "sha256": _sha256(Path(path)),
        "model": cert["model"].get("spec"),
        "config": cert["config"]["name"],
        "device": cert["hardware"]["device"],
        "heldout_loss_after": {
            k: v["loss"]
            for k, v in cert["heldout_loss"]["after_stage2"].items()
            if isinstance(v, dict)  # the split entries; "wall_s" is the evaluation's time
        },
        "lawbench_average_after": after.get("average"),
        "lawbench_items_per_task": cert["lawbench"]["items_per_task"],
    }


def _handler(args: argparse.Namespace) -> int:
    if args.lawbench_items is not None and args.lawbench_items < 0:
        print("lawset certify: --lawbench-items must be 0 or more", file=sys.stderr)
        return EXIT_USAGE
    try:
        cert, out = certify(
            args.dir,
            args.model,
            config=args.config,
            out=args.out,
            work=args.work,
            lora=args.lora,
            lawbench_items=args.lawbench_items,
            benchmarks=args.benchmarks,
            progress=not args.no_progress,
        )
    except CertifyError as exc:
        print(f"lawset certify: {exc}", file=sys.stderr)
        return exc.exit_code
    print(_summary(cert))
    print(f"certificate written to {out}")
    if args.work is not None:
        print(f"models kept in {args.work}/ (base/, stage1/, stage2/)")
    return EXIT_OK


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def _summary(cert: dict[str, Any]) -> str:
    lines = [
        f"model: {cert['model'].get('spec')} ({cert['model'].get('parameters', 0):,} parameters)"
        f" on {cert['hardware']['device']}"
    ]
    for stage, rec in cert["stages"].items():
        chk = cert["checks"][stage]
        lines.append(
            f"{stage}: {rec['rows']:,} rows, {rec['steps']} steps, train loss "
            f"{_fmt(chk['train_loss_first_quarter'])} -> {_fmt(chk['train_loss_last_quarter'])}, "
            f"held-out {_fmt(chk['heldout_loss_before'])} -> {_fmt(chk['heldout_loss_after'])}, "
            f"{_fmt(rec['tokens_per_s'], ',.0f')} tokens/s, MFU {_fmt(rec['mfu'], '.1%')}"
        )
    lb = cert["lawbench"]
    if "before" in lb:
        lines.append(
            f"LawBench zero-shot ({lb['items_per_task']} items/task, "
            f"{lb['after_stage2']['tasks_scored']} tasks scored): average "
            f"{_fmt(lb['before']['average'])} -> {_fmt(lb['after_stage2']['average'])}"
        )
        if lb["after_stage2"]["skipped"]:
            lines.append(f"  skipped: {', '.join(sorted(lb['after_stage2']['skipped']))}")
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``lawset certify``."""
    p = subparsers.add_parser(
        "certify",
        help="train the two-stage SFT recipe on a release and write a certificate",
        description=(
            "Run the two-stage TRL recipe (stage1, then stage2 from stage 1's model) on a release "
            "and write certificate.json: data checksums (verified against manifest.json), model, "
            "hyper-parameters, hardware, loss curves, tokens/s and MFU per stage, held-out loss "
            "on the test splits before and after each stage, and LawBench zero-shot scores before "
            "and after. Exit status: 0 written, 1 the release's files do not match its manifest, "
            "2 usage error."
        ),
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="a release built by lawset build")
    p.add_argument(
        "--model",
        required=True,
        help="HF causal LM path or id; `tiny` = random model from the config's model: block with "
        "a tokenizer trained on the release (offline); or a model-config YAML/JSON file",
    )
    p.add_argument(
        "--config",
        help="recipe YAML or shipped name: tiny_cpu, gpu_small, internlm_law_7b (default "
        "tiny_cpu for --model tiny, internlm_law_7b otherwise)",
    )
    p.add_argument(
        "--out", type=Path, help="certificate file (default DIR/reports/certificate.json)"
    )
    p.add_argument(
        "--work", type=Path, help="keep the models here (default: a temporary folder, removed)"
    )
    p.add_argument(
        "--lawbench-items",
        type=int,
        help="items per LawBench task (default: the config's; 500 = all; 0 = no LawBench)",
    )
    p.add_argument(
        "--benchmarks",
        type=Path,
        help="benchmarks folder holding lawbench/ (default ../shared/benchmarks)",
    )
    p.add_argument("--lora", action="store_true", help="LoRA (peft) instead of full fine-tuning")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_handler)


def main(argv: list[str] | None = None) -> int:
    """``python -m lawset.sft.certify DIR --model M ...`` (same as ``lawset certify``)."""
    parser = argparse.ArgumentParser(prog="lawset")
    sub = parser.add_subparsers(dest="command")
    register(sub)
    args = parser.parse_args(["certify", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
