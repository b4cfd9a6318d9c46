"""Evaluation for the certificate: held-out loss on the release's test splits, and LawBench.

- **Held-out loss** is the mean negative log-likelihood per assistant token (the tokens the recipe
  trains on: same chat template, same ``{% generation %}`` mask, same ``max_length`` truncation),
  over a seeded sample of a test split, summed over tokens before dividing, so long answers weigh
  by their length exactly as in training.
- **LawBench**: for each task, the first N items of ``zero_shot/<task>.json`` (N configurable; 500
  = all, as in the paper), prompt = instruction + newline + question as the one user turn through
  the chat template with the generation prompt, greedy decoding of ``max_new_tokens``, scored by
  ``sft/lawbench.py``. Prompts longer than the model's context keep their end (the question and
  the assistant prefix) and are counted in ``truncated``. Tasks the scorer cannot score are listed
  with the reason and left out of the means; the average and the level means are plain means of the
  scored tasks' scores (LawBench's own convention for the average).
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

from tqdm import tqdm


def _device(model: Any) -> Any:
    return next(model.parameters()).device


def _autocast(model: Any) -> Any:
    """bf16 autocast on GPU (as in training), nothing on CPU."""
    import contextlib

    import torch

    if _device(model).type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def heldout_loss(
    model: Any,
    tokenizer: Any,
    conversations: list[list[dict[str, str]]],
    max_length: int,
    batch_size: int = 8,
) -> dict[str, Any]:
    """Mean assistant-token NLL of ``model`` on ``conversations`` (lists of {role, content})."""
    import torch

    encoded = []
    for messages in conversations:
        out = tokenizer.apply_chat_template(
            messages, return_dict=True, return_assistant_tokens_mask=True, tokenize=True
        )
        ids = list(out["input_ids"])[:max_length]
        mask = list(out["assistant_masks"])[:max_length]
        if sum(mask[1:]) == 0:
            continue  # the assistant turn was truncated away: nothing to score
        encoded.append((ids, mask))
    encoded.sort(key=lambda e: len(e[0]))
    device = _device(model)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad(), _autocast(model):
        for start in range(0, len(encoded), batch_size):
            batch = encoded[start : start + batch_size]
            width = max(len(ids) for ids, _ in batch)
            input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
            attention = torch.zeros((len(batch), width), dtype=torch.long)
            labels = torch.full((len(batch), width), -100, dtype=torch.long)
            for row, (ids, mask) in enumerate(batch):
                input_ids[row, : len(ids)] = torch.tensor(ids)
                attention[row, : len(ids)] = 1
                labels[row, : len(ids)] = torch.tensor(
                    [t if m else -100 for t, m in zip(ids, mask, strict=True)]
                )
            logits = model(
                input_ids=input_ids.to(device), attention_mask=attention.to(device)
            ).logits.float()
            shift_logits = logits[:, :-1].reshape(-1, logits.size(-1))
            shift_labels = labels[:, 1:].reshape(-1).to(device)
            nll = torch.nn.functional.cross_entropy(
                shift_logits, shift_labels, ignore_index=-100, reduction="sum"
            )
            total += float(nll)
            count += int((shift_labels != -100).sum())
    loss = total / count if count else None
    return {
        "loss": loss,
        "perplexity": math.exp(loss) if loss is not None and loss < 50 else None,
        "rows": len(encoded),
        "tokens": count,
    }


def generate(
    model: Any,
    tokenizer: Any,
    prompts: list[str],
    max_new_tokens: int,
    max_prompt_tokens: int,
    batch_size: int = 8,
) -> tuple[list[str], int]:
    """Greedy completions of user-turn ``prompts``; returns (texts, prompts truncated)."""
    import torch
    from transformers import GenerationConfig

    encoded = []
    truncated = 0
    for prompt in prompts:
        ids = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
        )
        ids = list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
        if len(ids) > max_prompt_tokens:
            ids = ids[-max_prompt_tokens:]
            truncated += 1
        encoded.append(ids)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    config = GenerationConfig(
        do_sample=False,
        max_new_tokens=max_new_tokens,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=pad,
    )
    device = _device(model)
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    texts: list[str] = [""] * len(encoded)
    model.eval()
    with torch.no_grad(), _autocast(model):
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            width = max(len(encoded[i]) for i in idx)
            input_ids = torch.full((len(idx), width), pad, dtype=torch.long)
            attention = torch.zeros((len(idx), width), dtype=torch.long)
            for row, i in enumerate(idx):  # left padding, so every prompt ends where output starts
                ids = encoded[i]
                input_ids[row, width - len(ids) :] = torch.tensor(ids)
                attention[row, width - len(ids) :] = 1
            out = model.generate(
                input_ids=input_ids.to(device),
                attention_mask=attention.to(device),
                generation_config=config,
            )
            for row, i in enumerate(idx):
                texts[i] = tokenizer.decode(out[row, width:], skip_special_tokens=True).strip()
    return texts, truncated


def context_length(model: Any) -> int:
    """The model's context (max_position_embeddings), or 4096 when it does not say."""
    return int(getattr(model.config, "max_position_embeddings", None) or 4096)


def lawbench(
    model: Any,
    tokenizer: Any,
    benchmarks: Path,
    items_per_task: int,
    max_new_tokens: int,
    batch_size: int = 8,
    progress: bool = True,
    label: str = "",
) -> dict[str, Any]:
    """Generate and score ``items_per_task`` items of every LawBench task (zero-shot)."""
    from . import lawbench as lb

    max_prompt = max(16, context_length(model) - max_new_tokens)
    tasks: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    truncated_total = 0
    bar = tqdm(
        list(lb.TASKS),
        desc=f"LawBench {label}".strip(),
        unit="task",
        disable=not progress,
        leave=False,
    )
    unsupported = getattr(lb, "UNSUPPORTED", {})
    for task in bar:
        if task in unsupported:  # known before generating: do not spend the generation on it
            skipped[task] = f"unsupported by the scorer: {unsupported[task]}"
            continue
        try:
            items = lb.load_items(benchmarks, task)[:items_per_task]
        except (OSError, ValueError, KeyError) as exc:
            skipped[task] = f"cannot load items: {exc}"
            continue
        prompts = [f"{it['instruction']}\n{it['question']}" for it in items]
        outputs, truncated = generate(
            model, tokenizer, prompts, max_new_tokens, max_prompt, batch_size
        )
        truncated_total += truncated
        scored = [
            {"prediction": out, "refr": it["answer"], "origin_prompt": prompt}
            for out, it, prompt in zip(outputs, items, prompts, strict=True)
        ]
        try:
            result = lb.score_task(task, scored)
        except (NotImplementedError, ImportError, ValueError, KeyError) as exc:
            skipped[task] = f"{type(exc).__name__}: {exc}"
            continue
        if not result.get("n") or result.get("score") is None or math.isnan(result["score"]):
            # e.g. 2-2 skips gold label 赔偿, 3-4/3-5 skip death and life sentences
            skipped[task] = f"none of the first {len(items)} items is scorable by the task's rules"
            continue
        tasks[task] = {
            "score": float(result["score"]),
            "abstention": result.get("abstention"),
            "n": int(result.get("n", len(items))),
            "truncated_prompts": truncated,
            "examples": [{"prediction": s["prediction"], "refr": s["refr"]} for s in scored[:1]],
        }
    levels: dict[str, list[float]] = {}
    for task, rec in tasks.items():
        levels.setdefault(lb.TASKS[task]["level"], []).append(rec["score"])
    return {
        "shot": "zero_shot",
        "items_per_task": items_per_task,
        "max_new_tokens": max_new_tokens,
        "tasks": tasks,
        "levels": {lvl: statistics.fmean(v) for lvl, v in sorted(levels.items())},
        "average": statistics.fmean(r["score"] for r in tasks.values()) if tasks else None,
        "tasks_scored": len(tasks),
        "skipped": skipped,
        "truncated_prompts": truncated_total,
    }
