"""Validation thresholds (``thresholds.yaml``) and what validate needs from the recipe.

The thresholds file ships beside this module; ``--thresholds FILE`` overrides it key by key (a
mapping is merged into the default, anything else replaces it), so a user file names only what
it changes. Bounds a recipe already states are read from the recipe, never repeated here: the
``text_length`` and ``cjk_ratio`` step parameters, ``mix.general_ratio``, the ``citations``
step's repealed-law policy, the sources with their licenses, and the task steps with levels.
Facts about a task (its level, answer line, answer bounds) are what the task generator declares
(``TaskGenerator``), read from the step registry; the file may tighten or loosen the bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from lawset.builders.errors import UsageError
from lawset.builders.pipeline.base import STEPS
from lawset.builders.recipe import Recipe
from lawset.builders.steps import task_generators
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ValidateError(UsageError, ValueError):
    """A usage error of ``lawset validate``: not a release, bad thresholds, bad recipe."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextThresholds(_Strict):
    html_pattern: str
    html_domains: list[str]
    pii_kinds: list[str]
    cjk_domains: list[str]


class DiversityThresholds(_Strict):
    splits: list[str]
    min_task_entropy: dict[str, float]
    min_distinct_2: dict[str, float]
    distinct_sample: int = Field(ge=10)
    max_task_share: dict[str, float]
    level_share: dict[str, dict[str, tuple[float, float]]]
    min_general_share: float = Field(ge=0, le=1)
    general_share_tolerance: float = Field(ge=0, le=1)
    optional_tasks: list[str]


class LeakageThresholds(_Strict):
    near_sample: int = Field(ge=0)


class ContaminationThresholds(_Strict):
    sample: int = Field(ge=0)


class Thresholds(_Strict):
    #: per-task answer bounds over the ones the tasks declare (``TaskGenerator.answer_chars``)
    answer_chars: dict[str, tuple[int, int]] = Field(default_factory=dict)
    text: TextThresholds
    diversity: DiversityThresholds
    leakage: LeakageThresholds
    contamination: ContaminationThresholds


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base.get(k), v) if k in base else v
        return out
    return over


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The shipped thresholds, with ``path``'s keys merged over them."""
    data = yaml.safe_load(
        resources.files("lawset.validators").joinpath("thresholds.yaml").read_text("utf-8")
    )
    where = "thresholds.yaml"
    if path is not None:
        if not Path(path).is_file():
            raise ValidateError(f"{path}: thresholds file not found")
        try:
            over = yaml.safe_load(Path(path).read_text("utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ValidateError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(over, dict):
            raise ValidateError(f"{path}: thresholds are a YAML mapping")
        data, where = _merge(data, over), str(path)
    try:
        return Thresholds(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ValidateError(f"{where}: {loc}: {err['msg']}") from None


def answer_bounds(th: Thresholds) -> dict[str, tuple[int, int]]:
    """Per-task answer bounds (characters of the assistant turns): what each task declares, with
    the thresholds file's ``answer_chars`` over it."""
    declared = {n: c.answer_chars for n, c in task_generators().items() if c.answer_chars}
    return {**declared, **th.answer_chars}


@dataclass(frozen=True)
class RecipeFacts:
    """What validation takes from the recipe."""

    name: str
    sha256: str
    licenses: dict[str, str]  # source -> license
    tasks: dict[str, str]  # task step -> level
    min_user_chars: int
    max_user_chars: int
    min_answer_chars: int
    max_answer_chars: int
    min_cjk_ratio: float | None
    repealed_policy: str  # drop | flag | map (the citations step's), "" without the step
    general_ratio: float


def recipe_facts(recipe: Recipe) -> RecipeFacts:
    params = {s.name: s.params for s in recipe.steps}
    length = params.get("text_length", {})
    defaults = STEPS["text_length"].Params().model_dump() if "text_length" in STEPS else {}
    length = {**defaults, **length}
    cjk = params.get("cjk_ratio")
    generators = task_generators()
    tasks = {s.name: generators[s.name].level for s in recipe.steps if s.name in generators}
    return RecipeFacts(
        name=recipe.name,
        sha256=recipe.digest(),
        licenses={name: src.license for name, src in recipe.sources.items()},
        tasks=tasks,
        min_user_chars=int(length.get("min_user_chars", 0)),
        max_user_chars=int(length.get("max_user_chars", 10**9)),
        min_answer_chars=int(length.get("min_answer_chars", 0)),
        max_answer_chars=int(length.get("max_answer_chars", 10**9)),
        min_cjk_ratio=None if cjk is None else float(cjk.get("min_ratio", 0.0)),
        repealed_policy=str(params["citations"].get("repealed", ""))
        if "citations" in params
        else "",
        general_ratio=recipe.mix.general_ratio,
    )
