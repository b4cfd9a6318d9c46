"""The two-stage TRL SFT recipe (InternLM-Law style) on a lawset release.

    python -m lawset.sft.train --data DIR --model M --config C --out OUT [--stage 1|2|both] [--lora]
    accelerate launch -m lawset.sft.train --data DIR --model M --config C --out OUT

Stage 1 trains on the release's ``stage1`` config (legal + general), stage 2 starts from stage 1's
saved folder (``OUT/stage1``, fresh optimizer and schedule) and trains on ``stage2`` (high-quality
legal only), as in InternLM-Law. Decisions, with the reasons:

- **Conversational data, assistant-only loss.** Rows keep their ``messages``; TRL renders them with
  the tokenizer's chat template and ``assistant_only_loss=True`` masks everything but the assistant
  turns (the template must carry ``{% generation %}`` markers: ours does, see ``model.py``).
- **Packing with an explicit attention choice** (FACTS §6): TRL's default ``bfd`` packing is
  padding-free, which without flash-attn turns the batch into one long sequence under ``sdpa``
  (6-7x slower, attention across documents). Configs name ``attn_implementation`` and
  ``packing_strategy`` together: ``sdpa`` + ``wrapped``, ``flex_attention`` + ``bfd`` or
  ``flash_attention_2`` + ``bfd``.
- **bf16 on GPU, fp32 on CPU**: ``bf16`` in a config means "mixed precision when a GPU is there";
  on CPU ``use_cpu=True, bf16=False`` (trl defaults bf16 to True, FACTS §5).
- **global_batch_size** in a config is turned into ``gradient_accumulation_steps`` for the
  number of processes actually running, so the published 64-sequence batch holds on 1 or 64 GPUs.
- **LoRA** (``--lora``): each stage trains a fresh adapter, which is merged into the weights before
  saving, so stage 2 (and evaluation) start from a plain model folder.
- **Determinism**: rows per stage are a seeded shuffle of the split (``data.max_rows`` caps them),
  the trainer is seeded, and the scratch model's weights come from the same seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from lawset.builders.errors import EXIT_OK, LawsetError, UsageError, describe_os_error

from .config import RECIPE_TRAIN_KEYS, RecipeError, SFTRecipeConfig, load_config
from .model import count_parameters, ensure_chat_template, is_scratch, materialize_scratch

STAGES = ("stage1", "stage2")
#: peak dense bf16 TFLOP/s per GPU, from the vendors' datasheets (sparsity excluded); first match
#: of the device name wins, so more specific names come first
PEAK_BF16_TFLOPS: list[tuple[str, float]] = [
    ("GH200", 989.5),
    ("H200", 989.5),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.5),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40S", 362.0),
]


# ---------------------------------------------------------------------------------------------
# a stage's SFTConfig (the recipe config file itself: lawset.sft.config)
# ---------------------------------------------------------------------------------------------


def world_size() -> int:
    """Processes in this run (``accelerate launch``/``torchrun`` set WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def sft_config(cfg: SFTRecipeConfig, stage: str, out: Path, progress: bool) -> Any:
    """The ``SFTConfig`` of one stage, adapted to the device that is present."""
    import torch
    from trl import SFTConfig

    params = cfg.stage_hyperparameters(stage)
    global_batch = params.pop("global_batch_size", None)
    per_device = int(params.get("per_device_train_batch_size", 8))
    if global_batch is not None:
        denom = per_device * world_size()
        if global_batch % denom:
            raise RecipeError(
                f"{cfg.path}: global_batch_size {global_batch} is not a multiple of "
                f"per_device_train_batch_size {per_device} x {world_size()} processes"
            )
        params["gradient_accumulation_steps"] = global_batch // denom
    cuda = torch.cuda.is_available()
    want_bf16 = bool(params.pop("bf16", True))
    warmup = params.get("warmup_steps")
    fields = {f.name for f in dataclasses.fields(SFTConfig)}
    if isinstance(warmup, float) and warmup < 1 and "warmup_ratio" in fields:
        # transformers before 5.x: a ratio is `warmup_ratio`, `warmup_steps` must be an int
        params["warmup_ratio"] = params.pop("warmup_steps")
    params.setdefault("seed", int(cfg.seed))
    params.setdefault("data_seed", params["seed"])
    params.setdefault("report_to", "none")
    params.setdefault("save_strategy", "no")
    params.setdefault("include_num_input_tokens_seen", "non_padding")
    params.setdefault("logging_first_step", True)
    return SFTConfig(
        output_dir=str(out),
        use_cpu=not cuda,
        bf16=want_bf16 and cuda and torch.cuda.is_bf16_supported(),
        disable_tqdm=not progress,
        **params,
    )


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------


def load_split(
    data_dir: Path, stage: str, split: str, max_rows: int | None, seed: int, cache_dir: Path
) -> Any:
    """``load_dataset(DIR, stage, split=split)`` reduced to ``messages``, seeded sample of rows.

    ``load_dataset`` reads the release card's YAML configs offline, exactly as a researcher would
    from the Hub; the cache goes to ``cache_dir`` so the user's HF cache is left alone.
    """
    from datasets import load_dataset

    if not (data_dir / "data" / stage).is_dir():
        raise RecipeError(f"{data_dir}/data/{stage}: missing; pass a release built by lawset build")
    ds = load_dataset(str(data_dir), stage, split=split, cache_dir=str(cache_dir))
    ds = ds.select_columns(["messages"])
    if max_rows is not None and max_rows < len(ds):
        ds = ds.shuffle(seed=seed).select(range(max_rows))
    return ds


# ---------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------


def prepare_base(
    model: str, cfg: SFTRecipeConfig, data_dir: Path, out: Path
) -> tuple[str, dict[str, Any]]:
    """Return (path or id to load, description) for ``--model``; builds a scratch model to out/base.

    Under ``accelerate launch`` only the main process builds; the others wait and load it.
    """
    if not is_scratch(model):
        return model, {"kind": "pretrained", "spec": model}
    from accelerate import PartialState

    base = out / "base"
    state = PartialState()
    with state.main_process_first():
        if state.is_main_process or not (base / "config.json").is_file():
            info = materialize_scratch(model, cfg.model, data_dir, base, int(cfg.seed))
        else:  # pragma: no cover - multi-process only
            info = {"kind": "scratch", "spec": model}
    return str(base), info


def load_model(path: str, cfg: SFTRecipeConfig) -> tuple[Any, Any]:
    """Model and tokenizer from a folder or Hub id, with the config's attention and weight dtype."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = getattr(torch, str(cfg.model_dtype))
    model = AutoModelForCausalLM.from_pretrained(
        path, dtype=dtype, attn_implementation=cfg.attn_implementation
    )
    tokenizer = AutoTokenizer.from_pretrained(path)
    template_file = cfg.train.get("chat_template_path")
    if template_file:  # the user's own template (with generation markers), also for evaluation
        tokenizer.chat_template = Path(template_file).read_text("utf-8")
    try:
        ensure_chat_template(model, tokenizer)
    except ValueError as exc:
        raise RecipeError(str(exc)) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def peak_flops(device_name: str) -> float | None:
    """Peak dense bf16 FLOP/s of one device, or None when not in the table."""
    for key, tflops in PEAK_BF16_TFLOPS:
        if key.lower() in device_name.lower():
            return tflops * 1e12
    return None


def device_name() -> str:
    import platform

    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"cpu ({platform.processor() or platform.machine()})"


# ---------------------------------------------------------------------------------------------
# one stage
# ---------------------------------------------------------------------------------------------


def _throughput_callback() -> Any:
    from transformers import TrainerCallback

    class Throughput(TrainerCallback):
        """(time, tokens seen) after every optimizer step, for a steady-state tokens/s."""

        def __init__(self) -> None:
            self.marks: list[tuple[float, int]] = []

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            import torch

            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.marks.append((time.perf_counter(), int(state.num_input_tokens_seen)))

    return Throughput()


def _steady_rate(marks: list[tuple[float, int]]) -> float | None:
    """Tokens/s between the end of the first 10% of steps (at least 1: compile, warm-up) and the end."""
    if len(marks) < 3:
        return None
    skip = max(1, len(marks) // 10)
    (t0, n0), (t1, n1) = marks[skip - 1], marks[-1]
    return (n1 - n0) / (t1 - t0) if t1 > t0 else None


def train_stage(
    stage: str,
    model_path: str,
    data_dir: Path,
    cfg: SFTRecipeConfig,
    out: Path,
    lora: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Train one stage from ``model_path`` and save the (merged) model to ``out/<stage>``.

    Returns the stage record of the certificate: rows, hyper-parameters, loss curve, tokens,
    tokens/s, model FLOP/s and MFU, wall time.
    """
    import torch
    from trl import SFTTrainer

    seed = int(cfg.seed)
    dataset = load_split(data_dir, stage, "train", cfg.max_rows(stage), seed, out / "hf-cache")
    args = sft_config(cfg, stage, out / f"{stage}-trainer", progress)
    model, tokenizer = load_model(model_path, cfg)
    n_params = count_parameters(model)
    peft_config = None
    if lora:
        from peft import LoraConfig

        peft_config = LoraConfig(task_type="CAUSAL_LM", **cfg.lora)
    throughput = _throughput_callback()
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[throughput],
    )
    started = time.perf_counter()
    result = trainer.train()
    wall = time.perf_counter() - started
    saved = out / stage
    if lora:
        merged = trainer.model.merge_and_unload()
        if trainer.accelerator.is_main_process:
            merged.save_pretrained(saved)
    else:
        trainer.save_model(str(saved))
    if trainer.accelerator.is_main_process:
        tokenizer.save_pretrained(saved)
    trainer.accelerator.wait_for_everyone()

    history = trainer.state.log_history
    curve = [
        {
            "step": int(h["step"]),
            "loss": float(h["loss"]),
            "learning_rate": float(h.get("learning_rate", 0.0)),
            **({"grad_norm": float(h["grad_norm"])} if h.get("grad_norm") is not None else {}),
        }
        for h in history
        if "loss" in h
    ]
    tokens = int(trainer.state.num_input_tokens_seen)
    runtime = float(result.metrics.get("train_runtime", wall))
    overall = tokens / runtime if runtime > 0 else None
    steady = _steady_rate(throughput.marks)
    rate = steady or overall
    name = device_name()
    peak = peak_flops(name) if torch.cuda.is_available() else None
    devices = world_size()
    # num_input_tokens_seen is gathered over processes: rate is the whole run's tokens/s
    model_flops = 6.0 * n_params * rate if rate else None
    if peak and model_flops:
        mfu, mfu_note = model_flops / (peak * devices), None
    elif torch.cuda.is_available():
        mfu, mfu_note = None, f"peak FLOP/s of {name!r} not in the table (PEAK_BF16_TFLOPS)"
    else:
        mfu, mfu_note = None, "no GPU: MFU is defined against an accelerator's peak bf16 FLOP/s"
    record = {
        "model_in": model_path,
        "model_out": str(saved),
        "rows": len(dataset),
        "lora": lora,
        "hyperparameters": _public_hparams(args, cfg, stage),
        "loss_curve": curve,
        "train_loss": float(result.training_loss),
        "first_loss": curve[0]["loss"] if curve else None,
        "last_loss": curve[-1]["loss"] if curve else None,
        "steps": int(trainer.state.global_step),
        "tokens": tokens,
        "tokens_per_s": rate,
        "tokens_per_s_overall": overall,
        "parameters": n_params,
        "model_tflops_per_s": model_flops / 1e12 if model_flops else None,
        "mfu": mfu,
        "mfu_note": mfu_note
        or "6·N·tokens/s over peak dense bf16 FLOP/s (attention FLOPs not counted"
        + ("; LoRA's backward costs less than 6N, so this overstates it)" if lora else ")"),
        "peak_memory_gb": (
            torch.cuda.max_memory_allocated() / 1e9 if torch.cuda.is_available() else None
        ),
        "wall_s": wall,
    }
    del trainer, model
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    return record


def _public_hparams(args: Any, cfg: SFTRecipeConfig, stage: str) -> dict[str, Any]:
    """What a reader needs to reproduce the stage: the config's keys, resolved, plus the device's."""
    keys = set(cfg.stage_hyperparameters(stage)) - RECIPE_TRAIN_KEYS
    keys |= {
        "learning_rate",
        "num_train_epochs",
        "per_device_train_batch_size",
        "gradient_accumulation_steps",
        "max_length",
        "packing",
        "packing_strategy",
        "assistant_only_loss",
        "bf16",
        "seed",
        "lr_scheduler_type",
        "warmup_steps",
        "weight_decay",
        "adam_beta1",
        "adam_beta2",
        "max_grad_norm",
        "gradient_checkpointing",
    }
    out = {}
    for key in sorted(keys):
        value = getattr(args, key, None)
        out[key] = value.value if hasattr(value, "value") else value
    out["global_batch_size"] = (
        args.per_device_train_batch_size * args.gradient_accumulation_steps * world_size()
    )
    out["attn_implementation"] = cfg.attn_implementation
    out["model_dtype"] = cfg.model_dtype
    out["max_rows"] = cfg.max_rows(stage)
    return json.loads(json.dumps(out, default=str))


# ---------------------------------------------------------------------------------------------
# the CLI
# ---------------------------------------------------------------------------------------------


def run_training(
    data_dir: Path,
    model: str,
    config: str | Path | None,
    out: Path,
    stage: str = "both",
    lora: bool = False,
    progress: bool = True,
) -> dict[str, Any]:
    """Run stage 1, stage 2 or both; ``--stage 2`` starts from ``model`` (stage 1's folder)."""
    cfg = load_config(config, is_scratch(model))
    out.mkdir(parents=True, exist_ok=True)
    path, info = prepare_base(model, cfg, data_dir, out)
    stages = {"1": ["stage1"], "2": ["stage2"], "both": list(STAGES)}[stage]
    summary: dict[str, Any] = {"model": info, "config": str(cfg.path), "stages": {}}
    for name in stages:
        summary["stages"][name] = train_stage(name, path, data_dir, cfg, out, lora, progress)
        path = summary["stages"][name]["model_out"]
    return summary


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lawset.sft.train",
        description=(
            "Two-stage SFT (TRL) on a lawset release: stage 1 on the stage1 config, stage 2 from "
            "stage 1's saved model on the stage2 config. Writes OUT/stage1, OUT/stage2 (model "
            "folders) and OUT/train_summary.json (loss curves, tokens/s, MFU)."
        ),
    )
    p.add_argument("--data", required=True, type=Path, help="release folder (lawset build output)")
    p.add_argument(
        "--model",
        required=True,
        help="HF causal LM path or id; `tiny` builds a random model from the config's model: "
        "block with a tokenizer trained on the release; or a model-config YAML/JSON file",
    )
    p.add_argument(
        "--config",
        help="recipe YAML or shipped name (tiny_cpu, gpu_small, internlm_law_7b); default "
        "tiny_cpu for --model tiny, internlm_law_7b otherwise",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder for models and summary")
    p.add_argument("--stage", choices=["1", "2", "both"], default="both", help="default both")
    p.add_argument("--lora", action="store_true", help="LoRA (peft) instead of full fine-tuning")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        summary = run_training(
            args.data,
            args.model,
            args.config,
            args.out,
            args.stage,
            args.lora,
            not args.no_progress,
        )
    except LawsetError as exc:
        print(f"lawset.sft.train: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"lawset.sft.train: {describe_os_error(exc)}", file=sys.stderr)
        return UsageError.exit_code
    from accelerate import PartialState

    if PartialState().is_main_process:
        path = args.out / "train_summary.json"
        path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
        for name, rec in summary["stages"].items():
            print(
                f"{name}: {rec['rows']} rows, {rec['steps']} steps, loss {rec['first_loss']:.3f} -> "
                f"{rec['last_loss']:.3f}, {rec['tokens_per_s'] or 0:,.0f} tokens/s, "
                f"model saved to {rec['model_out']}"
            )
        print(f"summary: {path}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
