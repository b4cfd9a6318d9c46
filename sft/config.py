"""The recipe config (``sft/configs/*.yaml``) as typed dataclasses that refuse unknown keys.

As in TRL's own scripts (``TrlParser`` over ``SFTConfig`` and friends, which refuse a YAML key no
dataclass declares), every key of a config belongs to a declared field: a misspelt key would
otherwise be ignored and train with a default nobody chose. The two-stage layout (a shared
``train:`` block, per-stage overrides, evaluation settings) does not fit ``TrlParser``'s one flat
namespace, so the blocks are checked against the dataclass each one feeds:

- top level, ``data:`` and ``evaluation:``: the dataclasses below;
- ``train:``, ``stage1:``, ``stage2:``: TRL's ``SFTConfig`` fields, plus ``global_batch_size``
  (ours: gradient accumulation is derived from it and the number of processes). They stay
  mappings because the ``SFTConfig`` of a stage is made only when the device is known
  (:func:`lawset.sft.train.sft_config`);
- ``lora:``: peft's ``LoraConfig`` fields (``task_type`` is the recipe's, ``CAUSAL_LM``);
- ``model:`` (``--model tiny``): a transformers model config (``model_type`` ``llama`` or
  ``qwen2`` and its fields, plus ``tokenizer_rows`` and ``seed``), passed as it is, as
  transformers' config classes take any key (:mod:`lawset.sft.model`).

An unknown key, or a block that is not a mapping, is a :class:`RecipeError` (exit 2) naming the
file and the key.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from lawset.builders.errors import UsageError

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
#: ``train:`` keys that are ours, not SFTConfig fields
RECIPE_TRAIN_KEYS = frozenset({"global_batch_size"})
#: LoraConfig fields the recipe sets itself
RECIPE_LORA_KEYS = frozenset({"task_type"})


class RecipeError(UsageError, ValueError):
    """A config or argument the recipe cannot use (exit 2); the message names the fix."""


@dataclass(frozen=True)
class DataConfig:
    """``data:``: which rows of the release each stage trains on.

    ``max_rows``: a seeded sample of the train split of at most this many rows, one number for
    both stages or ``{stage1: N, stage2: M}``; null means every row."""

    max_rows: int | dict[str, int | None] | None = None

    def rows_for(self, stage: str) -> int | None:
        """The row cap of ``stage`` (None: every row)."""
        value = self.max_rows
        return value.get(stage) if isinstance(value, dict) else value


@dataclass(frozen=True)
class EvaluationConfig:
    """``evaluation:``: what ``lawset certify`` measures around each stage.

    ``heldout_rows`` rows of each test split (seeded sample; null = all) give the held-out loss,
    in batches of ``heldout_batch_size``; ``lawbench_items`` items per LawBench task (500 = all,
    0 = no LawBench), scored before training, after stage 2 and, with ``lawbench_after_stage1``,
    after stage 1; answers are greedy, at most ``max_new_tokens`` long, generated in batches of
    ``generation_batch_size``."""

    heldout_rows: int | None = 256
    heldout_batch_size: int = 8
    lawbench_items: int = 0
    lawbench_after_stage1: bool = False
    max_new_tokens: int = 128
    generation_batch_size: int = 8


@dataclass(frozen=True)
class SFTRecipeConfig:
    """One recipe config: the model, both stages' hyper-parameters, LoRA and evaluation.

    ``path`` and ``sha256`` (of the file's bytes) are where it was read from, for the
    certificate; every other field is a key of the YAML file."""

    path: Path
    sha256: str
    #: SFTConfig fields shared by both stages, plus ``global_batch_size``
    train: dict[str, Any]
    name: str | None = None
    seed: int = 42
    #: the scratch model's architecture (``--model tiny``); None: the built-in default
    model: dict[str, Any] | None = None
    attn_implementation: str = "sdpa"
    model_dtype: str = "float32"
    data: DataConfig = field(default_factory=DataConfig)
    #: per-stage SFTConfig overrides of ``train``
    stage1: dict[str, Any] = field(default_factory=dict)
    stage2: dict[str, Any] = field(default_factory=dict)
    #: LoraConfig fields for ``--lora``
    lora: dict[str, Any] = field(default_factory=dict)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)

    def stage_hyperparameters(self, stage: str) -> dict[str, Any]:
        """The ``train:`` block with the stage's overrides applied (a copy)."""
        params = copy.deepcopy(self.train)
        params.update(copy.deepcopy(getattr(self, stage)))
        return params

    def max_rows(self, stage: str) -> int | None:
        """Rows ``stage`` trains on at most (None: every row)."""
        return self.data.rows_for(stage)


#: fields of SFTRecipeConfig that are not keys of the YAML file
_NOT_IN_FILE = frozenset({"path", "sha256"})


def config_path(config: str | Path | None, scratch: bool) -> Path:
    """A shipped config name (``tiny_cpu``, ``gpu_small``, ``internlm_law_7b``) or a YAML path.

    Without ``--config``: ``tiny_cpu`` for a scratch model, ``internlm_law_7b`` (the published
    hyper-parameters) for a real one.
    """
    if config is None:
        config = "tiny_cpu" if scratch else "internlm_law_7b"
    path = Path(config)
    if path.is_file():
        return path
    shipped = CONFIG_DIR / f"{config}.yaml"
    if shipped.is_file():
        return shipped
    names = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.yaml")))
    raise RecipeError(f"config {config!r}: not a file and not a shipped config ({names})")


def _block(path: Path, name: str, value: Any) -> dict[str, Any]:
    """A block of the file as a mapping (null: empty); RecipeError for anything else."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecipeError(f"{path}: `{name}:` must be a mapping, not {type(value).__name__}")
    return value


def _refuse_unknown(path: Path, block: str, keys: Any, known: Any, owner: str) -> None:
    """RecipeError naming the file and every key of ``block`` that ``owner`` does not declare
    (the known keys listed when they are few enough to read)."""
    unknown = sorted(set(keys) - set(known))
    if not unknown:
        return
    where = ", ".join(f"`{block}.{k}`" if block else f"`{k}`" for k in unknown)
    many = len(unknown) > 1
    listed = f"; known: {', '.join(sorted(known))}" if len(known) <= 20 else ""
    raise RecipeError(
        f"{path}: unknown key{'s' if many else ''} {where}: {owner} has no such "
        f"field{'s' if many else ''}{listed}"
    )


def _field_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def parse_config(raw: Any, path: Path, sha256: str) -> SFTRecipeConfig:
    """The typed config of the YAML mapping ``raw`` read from ``path``; RecipeError for a key
    no block declares."""
    from peft import LoraConfig
    from trl import SFTConfig

    if not isinstance(raw, dict) or "train" not in raw:
        raise RecipeError(f"{path}: a recipe config is a mapping with at least a `train:` block")
    _refuse_unknown(path, "", raw, _field_names(SFTRecipeConfig) - _NOT_IN_FILE, "a recipe config")
    values = dict(raw)
    sft_fields = _field_names(SFTConfig) | RECIPE_TRAIN_KEYS
    for block in ("train", "stage1", "stage2"):
        values[block] = _block(path, block, raw.get(block))
        _refuse_unknown(path, block, values[block], sft_fields, "TRL's SFTConfig")
    values["lora"] = _block(path, "lora", raw.get("lora"))
    _refuse_unknown(
        path,
        "lora",
        values["lora"],
        _field_names(LoraConfig) - RECIPE_LORA_KEYS,
        "peft's LoraConfig",
    )
    for block, cls in (("data", DataConfig), ("evaluation", EvaluationConfig)):
        mapping = _block(path, block, raw.get(block))
        _refuse_unknown(path, block, mapping, _field_names(cls), f"`{block}:`")
        values[block] = cls(**mapping)
    values.setdefault("name", path.stem)
    return SFTRecipeConfig(path=path, sha256=sha256, **values)


def load_config(config: str | Path | None, scratch: bool) -> SFTRecipeConfig:
    """Read a recipe config (a shipped name or a YAML file; see :func:`config_path`)."""
    path = config_path(config, scratch)
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, path, hashlib.sha256(raw).hexdigest())
