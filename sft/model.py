"""Models for the recipe: a small random-weight model built from a config, or any HF causal LM.

``--model tiny`` (alias ``scratch``) builds a Llama/Qwen2-shaped model from the ``model:`` block of
the recipe config; ``--model FILE.yaml|FILE.json`` builds one from that file's keys instead. The
tokenizer is a byte-level BPE trained with ``tokenizers`` on the release's own text, so nothing is
downloaded and every character of any prompt can be encoded (byte fallback). Decisions:

- **ChatML turns** (``<|im_start|>role\\n...<|im_end|>\\n``) as in Qwen2, with the assistant's
  content *and* its ``<|im_end|>`` inside ``{% generation %}...{% endgeneration %}``: TRL's
  ``assistant_only_loss`` then trains exactly the assistant tokens, including the token that ends
  the turn, so the model learns to stop. ``<|im_end|>`` is the EOS token used by generation.
- No default system prompt (InternLM-Law trained with an empty one); a ``system`` message in the
  data is rendered as its own turn.
- Weights are initialised from a fixed seed, so the same config and release give the same model.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

#: ChatML with generation markers around what the assistant must learn to produce.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
PAD, BOS, EOS = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = [PAD, BOS, EOS]
#: names that mean "build the model from the recipe config's ``model:`` block"
SCRATCH_NAMES = ("tiny", "scratch")

#: the architecture used when neither the recipe config nor a file gives one (FACTS §5: hidden 64,
#: 2 layers runs both stages on CPU in seconds)
DEFAULT_ARCH: dict[str, Any] = {
    "model_type": "qwen2",
    "hidden_size": 64,
    "intermediate_size": 192,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 1024,
    "vocab_size": 2048,
    "tokenizer_rows": 3000,
    "tie_word_embeddings": True,
}
#: keys of the ``model:`` block that are not transformers config fields
_NON_CONFIG_KEYS = {"tokenizer_rows", "seed"}


def is_scratch(spec: str) -> bool:
    """True when ``--model`` asks for a model built from a config rather than loaded."""
    return spec in SCRATCH_NAMES or (
        Path(spec).is_file() and Path(spec).suffix.lower() in {".yaml", ".yml", ".json"}
    )


def scratch_arch(spec: str, config_model: dict[str, Any] | None) -> dict[str, Any]:
    """The architecture dict for ``--model tiny`` (config block) or ``--model FILE``."""
    if spec in SCRATCH_NAMES:
        base = dict(config_model or DEFAULT_ARCH)
    else:
        text = Path(spec).read_text("utf-8")
        base = json.loads(text) if spec.lower().endswith(".json") else yaml.safe_load(text)
        if not isinstance(base, dict) or "model_type" not in base:
            raise ValueError(
                f"{spec}: a model config file needs a mapping with at least model_type "
                "(llama or qwen2), hidden_size, num_hidden_layers, ... (see sft/configs/tiny_cpu.yaml)"
            )
    if base.get("model_type") not in {"llama", "qwen2"}:
        raise ValueError(f"model_type must be llama or qwen2, got {base.get('model_type')!r}")
    return base


def release_texts(data_dir: Path, rows: int, seed: int) -> list[str]:
    """A deterministic sample of message texts from the release's stage1/stage2 train splits.

    Reads the parquet files listed by the folder itself (pyarrow, no cache written); the sample is
    a seeded shuffle of all rows so the tokenizer sees legal and general text in proportion.
    """
    import pyarrow.parquet as pq

    texts: list[str] = []
    for config in ("stage1", "stage2"):
        for path in sorted((data_dir / "data" / config).glob("train-*.parquet")):
            for messages in pq.read_table(path, columns=["messages"]).column(0).to_pylist():
                texts.append("\n".join(m["content"] for m in messages))
    if not texts:
        raise FileNotFoundError(
            f"{data_dir}/data/stage1/train-*.parquet: no training rows to train a tokenizer on; "
            "pass a release built by `lawset build`"
        )
    random.Random(seed).shuffle(texts)
    return texts[:rows]


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Any:
    """A byte-level BPE tokenizer (``PreTrainedTokenizerFast``) with the ChatML template.

    Byte-level pre-tokenization (as Qwen2 and GPT-2) means no unknown tokens whatever the text;
    the special tokens are added first so their ids are 0, 1, 2.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=None, eos_token=EOS, pad_token=PAD, unk_token=None
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.model_max_length = 1_000_000
    return fast


def build_scratch_model(arch: dict[str, Any], tokenizer: Any, seed: int) -> Any:
    """A random-weight causal LM from ``arch`` sized to ``tokenizer`` (fp32 weights)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    fields = {k: v for k, v in arch.items() if k not in _NON_CONFIG_KEYS and k != "model_type"}
    fields["vocab_size"] = len(tokenizer)
    config = AutoConfig.for_model(
        arch["model_type"],
        **fields,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(int(arch.get("seed", seed)))
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def materialize_scratch(
    spec: str, config_model: dict[str, Any] | None, data_dir: Path, out: Path, seed: int
) -> dict[str, Any]:
    """Train the tokenizer, build the model and save both to ``out``; return a description.

    Saving to a folder makes a scratch model look like any other local model to the rest of the
    recipe (stage 1 loads it with ``from_pretrained``), and keeps it for inspection.
    """
    arch = scratch_arch(spec, config_model)
    texts = release_texts(data_dir, int(arch.get("tokenizer_rows", 3000)), seed)
    tokenizer = train_tokenizer(texts, int(arch.get("vocab_size", 2048)))
    model = build_scratch_model(arch, tokenizer, seed)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {
        "kind": "scratch",
        "spec": spec,
        "architecture": {k: arch[k] for k in sorted(arch)},
        "vocab_size": len(tokenizer),
        "tokenizer": f"byte-level BPE trained on {len(texts)} release rows",
        "parameters": count_parameters(model),
    }


def count_parameters(model: Any) -> int:
    """All parameters, counting tied weights once (``model.parameters()`` already dedups them)."""
    return int(sum(p.numel() for p in model.parameters()))


def ensure_chat_template(model: Any, tokenizer: Any) -> str:
    """Make sure the tokenizer's chat template can mask assistant tokens; say what was done.

    - a template with ``{% generation %}`` markers: kept (``"kept"``);
    - a template TRL knows a training variant of (Qwen2.5/3, Llama 3, Phi-3, Gemma, ...): kept;
      TRL swaps the variant in itself (``"trl"``);
    - another template, on a tokenizer that has ``<|im_start|>``/``<|im_end|>`` (ChatML models such
      as InternLM2-Chat): replaced by our ChatML template with markers (``"chatml"``);
    - no template (a base model): ``<|im_start|>``/``<|im_end|>`` become special tokens, the
      embeddings are resized and our template is set (``"chatml-added"``).

    In the last two cases ``<|im_end|>`` becomes the EOS token, so generation stops where training
    taught the model to stop. Anything else raises ``ValueError`` naming the fix.
    """
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = tokenizer.chat_template
    if isinstance(template, dict):
        template = template.get("default")
    if template and has_generation_markers(template):
        return "kept"
    if template:
        try:
            get_training_chat_template(tokenizer)
            return "trl"
        except ValueError:
            vocab = tokenizer.get_vocab()
            if BOS not in vocab or EOS not in vocab:
                raise ValueError(
                    f"the chat template of {getattr(tokenizer, 'name_or_path', 'the tokenizer')} has "
                    "no {% generation %} markers and TRL has no training variant of it; set "
                    "`chat_template_path:` under `train:` in the recipe config to a .jinja file "
                    "with the markers around the assistant content and its end-of-turn token"
                ) from None
            how = "chatml"
    else:
        tokenizer.add_special_tokens({"additional_special_tokens": [BOS, EOS]})
        model.resize_token_embeddings(len(tokenizer))
        how = "chatml-added"
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.eos_token = EOS
    if tokenizer.pad_token is None:
        tokenizer.pad_token = EOS
    model.config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return how
