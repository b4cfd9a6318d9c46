"""The SFT recipe config (sft/config.py): typed blocks, every key declared, unknown keys refused
with the file and the key named (exit 2)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from lawset.sft import train
from lawset.sft.config import CONFIG_DIR, RecipeError, load_config

SHIPPED = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def tiny() -> dict:
    return yaml.safe_load((CONFIG_DIR / "tiny_cpu.yaml").read_text("utf-8"))


def test_the_three_shipped_configs_are_there() -> None:
    assert SHIPPED == ["gpu_small", "internlm_law_7b", "tiny_cpu"]


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_config_reads_as_written(name: str) -> None:
    cfg = load_config(name, scratch=True)
    raw = yaml.safe_load((CONFIG_DIR / f"{name}.yaml").read_text("utf-8"))
    assert cfg.path == CONFIG_DIR / f"{name}.yaml" and len(cfg.sha256) == 64
    assert (cfg.name, cfg.seed) == (raw["name"], raw["seed"])
    assert (cfg.attn_implementation, cfg.model_dtype) == (
        raw["attn_implementation"],
        raw["model_dtype"],
    )
    assert cfg.model == raw.get("model") and cfg.lora == raw["lora"]
    assert dataclasses.asdict(cfg.evaluation) == raw["evaluation"]
    for stage in ("stage1", "stage2"):
        assert cfg.stage_hyperparameters(stage) == {**raw["train"], **(raw[stage] or {})}
        max_rows = raw["data"]["max_rows"]
        assert cfg.max_rows(stage) == (max_rows or {}).get(stage)


def test_defaults_and_row_caps(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, {"train": {"max_length": 64}}), scratch=True)
    assert (cfg.name, cfg.seed, cfg.attn_implementation) == ("recipe", 42, "sdpa")
    assert cfg.evaluation.heldout_rows == 256 and cfg.evaluation.lawbench_items == 0
    assert cfg.max_rows("stage1") is None and cfg.lora == {} and cfg.model is None
    one_cap = load_config(write(tmp_path, {"train": {}, "data": {"max_rows": 7}}), True)
    assert (one_cap.max_rows("stage1"), one_cap.max_rows("stage2")) == (7, 7)
    per_stage = {"train": {}, "data": {"max_rows": {"stage1": 5}}, "stage2": {"max_length": 9}}
    cfg = load_config(write(tmp_path, per_stage), True)
    assert (cfg.max_rows("stage1"), cfg.max_rows("stage2")) == (5, None)
    assert cfg.stage_hyperparameters("stage2") == {"max_length": 9}
    cfg.stage_hyperparameters("stage2")["max_length"] = 1  # a copy: the config stays as read
    assert cfg.stage2 == {"max_length": 9}


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda c: c.update(learning_rate=1e-4), "`learning_rate`"),
        (lambda c: c["evaluation"].update(heldout_row=8), "`evaluation.heldout_row`"),
        (lambda c: c["data"].update(max_row=8), "`data.max_row`"),
        (lambda c: c["train"].update(learning_rat=1e-4), "`train.learning_rat`"),
        (lambda c: c.update(stage2={"lr": 1e-5}), "`stage2.lr`"),
        (lambda c: c["lora"].update(rank=8), "`lora.rank`"),
        (lambda c: c["lora"].update(task_type="SEQ_CLS"), "`lora.task_type`"),
    ],
)
def test_an_unknown_key_names_the_file_and_the_key(tmp_path: Path, edit, named: str) -> None:
    data = tiny()
    edit(data)
    path = write(tmp_path, data)
    with pytest.raises(RecipeError) as err:
        load_config(path, scratch=True)
    assert str(err.value).startswith(f"{path}: unknown key {named}: ")
    assert err.value.exit_code == 2


def test_every_unknown_key_of_a_block_is_named_with_the_known_ones(tmp_path: Path) -> None:
    data = tiny()
    data["evaluation"].update(heldout_row=8, lawbench=True)
    with pytest.raises(RecipeError) as err:
        load_config(write(tmp_path, data), scratch=True)
    message = str(err.value)
    assert "unknown keys `evaluation.heldout_row`, `evaluation.lawbench`" in message
    assert "known: generation_batch_size, heldout_batch_size, heldout_rows" in message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"evaluation": {}}, "a recipe config is a mapping with at least a `train:` block"),
        (["train"], "a recipe config is a mapping with at least a `train:` block"),
        ({"train": [1, 2]}, "`train:` must be a mapping, not list"),
        ({"train": {}, "evaluation": 3}, "`evaluation:` must be a mapping, not int"),
    ],
)
def test_a_config_of_the_wrong_shape_is_refused(tmp_path: Path, data, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(RecipeError) as err:
        load_config(path, scratch=True)
    assert str(err.value) == f"{path}: {message}"


def test_train_exits_2_naming_the_key_before_reading_any_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tiny()
    data["train"]["learning_rat"] = 1e-4
    path = write(tmp_path, data)
    argv = ["--data", str(tmp_path / "nowhere"), "--model", "tiny", "--config", str(path)]
    assert train.main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lawset.sft.train: {path}: unknown key `train.learning_rat`: ")
    assert not (tmp_path / "run").exists()
