"""``lawset certify DIR --model M``: train the two-stage recipe on a release and certify it.

Certify never writes inside ``DIR``, whether ``DIR`` is a release candidate or a released folder
(one that ``lawset release`` stamped: ``recipe.yaml`` and ``release: {version, tag}`` in its
``manifest.json``): a released folder must hold exactly the files its tag holds, or ``lawset
publish`` would upload a file the tagged release does not have, and a candidate's files must stay
those that were validated. Its output goes beside the release, into
``DIR/../certificates/<DIR name>/`` (or ``--out FOLDER``):

- ``certificate.json``: the certificate (``lawset release`` finds it there and attaches it when it
  certifies the candidate's files, or takes ``--certificate FILE``);
- ``training.log``: everything the libraries log while certify runs (transformers, TRL, datasets
  and their warnings, the trainer's per-step log lines).

Standard output gets the summary and where the files went; standard error one status line per
phase (``--quiet`` hides them, ``--verbose`` adds the details of each phase).

The certificate says what was trained on what, and what came out:

- ``release``: the manifest's sha256, every data file's sha256 from the manifest, re-hashed and
  compared (a mismatch stops certify with exit 1: a certificate for other bytes is worthless), and
  the version when the folder is released;
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

import contextlib
import dataclasses
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from lawset.builders import console
from lawset.builders.errors import EXIT_FAILED, CheckFailed, UsageError, describe_os_error
from lawset.builders.manifest import MANIFEST_FILE, check_integrity, load_manifest, sha256_file

from .config import SFTRecipeConfig, load_config
from .train import (
    STAGES,
    device_name,
    is_scratch,
    load_model,
    load_split,
    prepare_base,
    train_stage,
)

CERTIFICATE_VERSION = 1
CERTIFICATE = "certificate.json"
LOG = "training.log"
#: ../shared/benchmarks beside the checkout (the LawBench copy)
DEFAULT_BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
#: the loggers whose records go to training.log instead of the terminal
LIBRARY_LOGGERS = (
    "transformers",
    "trl",
    "datasets",
    "accelerate",
    "peft",
    "huggingface_hub",
    "torch",
    "tokenizers",
    "filelock",
    "httpx",
    "py.warnings",
)


class CertifyError(UsageError):
    """Bad usage or input (exit 2); the message names the file or option and the fix."""


class ReleaseModified(CertifyError, CheckFailed):
    """The release's files differ from its manifest (exit 1)."""

    exit_code = EXIT_FAILED


def default_location(data_dir: Path) -> Path:
    """Where certify writes for ``DIR`` without ``--out``: ``DIR/../certificates/<DIR name>/``."""
    data_dir = Path(data_dir)
    return data_dir.parent / "certificates" / data_dir.name


def output_paths(data_dir: Path, out: Path | None) -> tuple[Path, Path]:
    """(certificate file, folder for it and the log) for ``--out``, refusing any place inside
    ``DIR``. ``--out`` is a folder; a path ending in ``.json`` names the certificate file itself
    (its folder gets the log)."""
    if out is None:
        folder = default_location(data_dir)
        cert = folder / CERTIFICATE
    elif Path(out).suffix == ".json":
        cert = Path(out)
        folder = cert.parent
    else:
        folder = Path(out)
        cert = folder / CERTIFICATE
    inside = _inside(folder, data_dir)
    if inside:
        raise CertifyError(
            f"--out {out}: inside the release {data_dir}: certify never writes into a release "
            "(a released folder must hold exactly what its tag holds); choose a folder outside "
            f"it, or leave --out out for {default_location(data_dir)}"
        )
    return cert, folder


def check_writable(folder: Path) -> None:
    """Refuse (exit 2), before any training, a certificate folder that cannot be created or
    written: its nearest existing ancestor must be a writable folder."""
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise CertifyError(
            f"{folder}: cannot be created ({probe} is a file, not a folder): pass --out FOLDER"
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise CertifyError(f"{folder}: {probe} is not writable: pass --out FOLDER (a writable one)")


def _inside(path: Path, folder: Path) -> bool:
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return path == folder or path.is_relative_to(folder)


def release_checksums(data_dir: Path) -> dict[str, Any]:
    """The release's identity: manifest hash and every listed file, re-hashed and compared, as
    release and publish compare them (:func:`lawset.builders.manifest.check_integrity`): a
    certificate for other bytes than the manifest's is worthless."""
    manifest = load_manifest(data_dir)
    problems = check_integrity(data_dir, manifest)
    if problems:
        raise ReleaseModified(
            f"{data_dir}: the data differs from manifest.json (the release was modified after it "
            "was built: rebuild it or restore the files):\n  " + "\n  ".join(problems)
        )
    files = [
        {"path": entry["path"], "sha256": entry["sha256"], "rows": entry.get("rows")}
        for entry in manifest.get("files", [])
    ]
    rows = {
        config: {split: info.get("rows") for split, info in splits.items()}
        for config, splits in (manifest.get("configs") or {}).items()
    }
    return {
        "name": manifest.get("name"),
        "version": (manifest.get("release") or {}).get("version"),
        "lawset_version": manifest.get("lawset_version"),
        "recipe": manifest.get("recipe"),
        "manifest_sha256": sha256_file(data_dir / MANIFEST_FILE),
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
    cfg: SFTRecipeConfig,
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

    ev = cfg.evaluation
    seed = int(cfg.seed)
    max_length = int(cfg.train.get("max_length") or 1024)
    model, tokenizer = load_model(model_path, cfg)
    if torch.cuda.is_available():
        model.to("cuda")
    losses = {}
    for stage in STAGES:
        rows = load_split(data_dir, stage, "test", ev.heldout_rows, seed, work / "hf-cache")
        losses[f"{stage}_test"] = heldout_loss(
            model,
            tokenizer,
            rows["messages"],
            max_length=max_length,
            batch_size=int(ev.heldout_batch_size),
        )
    bench = None
    if with_lawbench and lawbench_items > 0 and benchmarks is not None:
        bench = lawbench(
            model,
            tokenizer,
            benchmarks,
            items_per_task=lawbench_items,
            max_new_tokens=int(ev.max_new_tokens),
            batch_size=int(ev.generation_batch_size),
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


@contextlib.contextmanager
def library_output(log: TextIO) -> Iterator[None]:
    """While inside: the libraries' log records, warnings, progress bars of datasets and
    transformers, and anything printed to stdout (the trainer's per-step log lines) go to ``log``
    instead of the terminal; restored after."""
    import datasets
    import transformers
    from datasets.utils import logging as datasets_logging
    from transformers.utils import logging as transformers_logging

    transformers_logging.get_logger()  # the libraries add their own handlers on first use:
    datasets_logging.get_logger()  # let them, so that the ones set here stay in place
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = []
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.handlers[:], logger.propagate, logger.level))
        logger.handlers = [handler]
        logger.propagate = False
        if name != "py.warnings":
            logger.setLevel(logging.INFO)
    bars = (datasets.is_progress_bar_enabled(), transformers_logging.is_progress_bar_enabled())
    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    logging.captureWarnings(True)
    try:
        with contextlib.redirect_stdout(log):
            yield
    finally:
        logging.captureWarnings(False)
        if bars[0]:
            datasets.enable_progress_bars()
        if bars[1]:
            transformers_logging.enable_progress_bar()
        for logger, handlers, propagate, level in saved:
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)
        log.flush()


@contextlib.contextmanager
def _step(name: str, bar: bool = False) -> Iterator[None]:
    """A status line for a phase: the heartbeat of ``console.phase``, or, for a phase that draws
    its own progress bar (LawBench), a line at its start and at its end."""
    if not bar:
        with console.phase(name):
            yield
        return
    started = time.monotonic()
    console.info(f"{name} ...")
    yield
    console.info(f"{name}: done in {time.monotonic() - started:.1f} s")


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

    Nothing is written inside ``data_dir``: the certificate and ``training.log`` go to
    ``out`` (see :func:`output_paths`; default :func:`default_location`). ``work`` keeps the
    trained models (``base/``, ``stage1/``, ``stage2/``); without it a temporary folder is used
    and removed. Returns (certificate, path written).
    """
    started = time.perf_counter()
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CertifyError(f"{data_dir}: no such folder; pass a release built by lawset build")
    cert_path, folder = output_paths(data_dir, out)
    if work is not None and _inside(work, data_dir):
        raise CertifyError(
            f"--work {work}: inside the release {data_dir}: certify never writes into a release; "
            "choose a folder outside it"
        )
    check_writable(folder)
    with console.phase(f"checking {data_dir}'s files against manifest.json"):
        release = release_checksums(data_dir)
    with console.phase("loading the training libraries and the config"):
        try:
            cfg = load_config(config, is_scratch(model))
        except OSError as exc:
            raise CertifyError(f"--config: {describe_os_error(exc)}") from None
    items = int(lawbench_items if lawbench_items is not None else cfg.evaluation.lawbench_items)
    if items > 0:
        benchmarks = Path(benchmarks) if benchmarks is not None else DEFAULT_BENCHMARKS
        if not (benchmarks / "lawbench" / "data").is_dir() and not (benchmarks / "data").is_dir():
            raise CertifyError(
                f"{benchmarks}: no LawBench copy (lawbench/data/zero_shot); pass --benchmarks "
                "../shared/benchmarks or --lawbench-items 0 to leave LawBench out"
            )
    log_path = folder / LOG
    try:  # before hours of training: the certificate's folder must be writable
        folder.mkdir(parents=True, exist_ok=True)
        log = log_path.open("w", encoding="utf-8")
    except OSError as exc:
        raise CertifyError(
            f"cannot write the certificate: {describe_os_error(exc)}; or pass --out FOLDER"
        ) from None
    console.info(f"writing to {folder}/ ({cert_path.name}; library and trainer logs: {LOG})")
    tmp = None
    if work is None:
        tmp = tempfile.TemporaryDirectory(prefix="lawset-certify-")
        work = Path(tmp.name)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        with log, library_output(log):
            cert = _run(data_dir, model, cfg, work, lora, items, benchmarks, progress)
    finally:
        if tmp is not None:
            tmp.cleanup()
    cert["release"] = release
    cert["wall_s"] = time.perf_counter() - started
    partial = cert_path.with_name(cert_path.name + ".partial")
    partial.write_text(
        json.dumps(cert, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8"
    )
    os.replace(partial, cert_path)
    return cert, cert_path


def _run(
    data_dir: Path,
    model: str,
    cfg: SFTRecipeConfig,
    work: Path,
    lora: bool,
    items: int,
    benchmarks: Path | None,
    progress: bool,
) -> dict[str, Any]:
    what = "building the tiny model and its tokenizer" if is_scratch(model) else "locating"
    with _step(f"{what} ({model})"):
        path, info = prepare_base(model, cfg, data_dir, work)
    heldout: dict[str, Any] = {}
    bench: dict[str, Any] = {}

    def evaluate(name: str, label: str, with_bench: bool) -> tuple[Any, Any]:
        bar = progress and with_bench and items > 0 and benchmarks is not None
        what = f"held-out loss{f', LawBench {items} items/task' if with_bench and items else ''}"
        with _step(f"evaluating {name} ({what})", bar=bar):
            losses, scores = _evaluate(
                path, cfg, data_dir, work, items, benchmarks, with_bench, label, progress
            )
        console.debug(
            f"held-out loss {label}: "
            + ", ".join(f"{k} {v['loss']:.4f}" for k, v in losses.items() if isinstance(v, dict))
            + (f"; LawBench average {scores['average']}" if scores else "")
        )
        return losses, scores

    heldout["before"], bench["before"] = evaluate(f"the base model ({model})", "before", True)
    stages: dict[str, Any] = {}
    for stage in STAGES:
        with _step(f"training {stage}"):
            # the trainer's log lines go to the log file (its progress bar is replaced by the
            # status line)
            rec = train_stage(stage, path, data_dir, cfg, work, lora, progress=False)
        console.debug(
            f"{stage}: {rec['rows']:,} rows, {rec['steps']} steps, loss "
            f"{_fmt(rec['first_loss'])} -> {_fmt(rec['last_loss'])}, "
            f"{rec['tokens_per_s'] or 0:,.0f} tokens/s"
        )
        path = rec["model_out"]
        last = stage == STAGES[-1]
        with_bench = last or bool(cfg.evaluation.lawbench_after_stage1)
        heldout[f"after_{stage}"], b = evaluate(f"after {stage}", f"after {stage}", with_bench)
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
            "name": cfg.name,
            "file": cfg.path.name,
            "sha256": cfg.sha256,
            "seed": int(cfg.seed),
            "evaluation": dataclasses.asdict(cfg.evaluation),
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
        "sha256": sha256_file(Path(path)),
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


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def summary_text(cert: dict[str, Any]) -> str:
    """What ``lawset certify`` prints of a certificate: model, each stage, LawBench."""
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


def main(argv: list[str] | None = None) -> int:
    """``python -m lawset.sft.certify DIR --model M ...``: exactly ``lawset certify``."""
    from lawset.builders.cli import main as lawset_main

    return lawset_main(["certify", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
