"""Recipes: YAML files that name the sources, the steps with their parameters, splits and execution.

A recipe is validated completely (every key, every step's parameters) before any work starts, and an
error names the file and the key. The default recipe ships in ``builders/recipes/default.yaml``; the
fully commented ``reference.yaml`` beside it documents every option.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from .errors import UsageError
from .pipeline.base import STEPS, Step
from .schema import stable_hash

CATEGORIES = ("laws", "cases", "exam", "qa", "general")


class RecipeError(UsageError, ValueError):
    """An invalid recipe: the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: the longest statute article an adapter keeps by default (characters of its text). The longest
#: real one in LawRefBook is 2,756 (飞行基本规则 第四十三条); a file whose line breaks were lost
#: makes one article of the whole law, which this keeps out of the index and the release.
MAX_ARTICLE_CHARS = 20_000
#: source keys left out of dumps (and so of the recipe digest) while at their default: a recipe
#: that does not set them describes the same build as before the keys existed.
_DUMPED_IF_SET = ("max_article_chars",)


def source_path_error(path: str) -> str | None:
    """Why a recipe source ``path`` cannot be confined to ``--sources`` (absolute, ``~``, or with
    a ``..`` part), as words that follow the quoted path; None for a plain relative path."""
    if PurePosixPath(path).is_absolute() or path.startswith("~"):
        return (
            "is not relative to --sources; write the folder relative to --sources "
            "(e.g. laws/LawRefBook-Laws)"
        )
    if ".." in PurePosixPath(path).parts:
        return (
            "has a '..' part, which reads outside --sources; write the folder relative to "
            "--sources without '..' (or point --sources at a folder that holds it)"
        )
    return None


def resolve_source_path(sources_root: Path, name: str, cfg_path: str) -> Path:
    """The folder of source ``name`` (recipe key ``sources.<name>.path``) under ``sources_root``,
    symlinks resolved; :class:`RecipeError` (exit 2) when it is absolute, has a ``..`` part, or
    leads (through a symlink) outside ``sources_root``. The folder need not exist."""
    why = source_path_error(cfg_path)
    if why is not None:
        raise RecipeError(f"sources.{name}.path: {cfg_path!r} {why}")
    root = Path(sources_root).resolve()
    target = (root / cfg_path).resolve()
    if not target.is_relative_to(root):
        raise RecipeError(
            f"sources.{name}.path: {cfg_path!r} leads to {target}, outside --sources {root} "
            "(through a symbolic link); copy the source under --sources, or point --sources at a "
            "folder that holds it"
        )
    return target


class SourceConfig(_Strict):
    adapter: str = Field(description="source adapter, e.g. lawrefbook")
    path: str = Field(description="folder relative to --sources (no '..', not absolute)")
    category: Literal["laws", "cases", "exam", "qa", "general"]
    license: str
    upstream: str = ""
    commit: str = ""
    script: Literal["simplified", "traditional", "mixed"] = "simplified"
    held_out: Literal["none", "test", "exclude"] = Field(
        "none",
        description="evaluation material: 'test' puts every query made from it in the test "
        "split, 'exclude' keeps it out of the release (counted in the stats)",
    )
    held_out_files: list[str] = Field(
        default_factory=list,
        description="globs (relative to the source folder) the held_out policy applies to; "
        "empty: the whole source",
    )
    real_names: bool = Field(
        False, description="the source holds real names of natural persons: mask them (张三 → 张某)"
    )
    optional: bool = Field(
        False,
        # whether a build may go on without the source changes nothing it writes: not digested
        exclude=True,
        description="the build may go on when the source has no input (a missing or empty "
        "folder is then reported in the rejects); false: that stops the build (exit 2)",
    )
    max_article_chars: int = Field(
        MAX_ARTICLE_CHARS,
        ge=1,
        description="statute adapters: an article whose text is longer is rejected "
        "(article_too_long), the rest of its law kept",
    )

    @field_validator("path")
    @classmethod
    def _inside_sources(cls, path: str) -> str:
        why = source_path_error(path)
        if why is not None:
            raise ValueError(f"{path!r} {why}")
        return path

    @model_validator(mode="after")
    def _known_adapter(self) -> SourceConfig:
        from .sources import ADAPTERS

        if self.adapter not in ADAPTERS:
            raise ValueError(f"unknown adapter {self.adapter!r}; known: {sorted(ADAPTERS)}")
        if "max_article_chars" in self.model_fields_set and not ADAPTERS[self.adapter].statutes:
            raise ValueError(
                f"max_article_chars: only statute adapters have articles, not {self.adapter!r}; "
                "remove the key"
            )
        return self

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        for key in _DUMPED_IF_SET:
            if key in data and data[key] == type(self).model_fields[key].default:
                del data[key]
        return data


class StepConfig(_Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def step_class(self) -> type[Step]:
        """The registered step this entry names (its ``needs`` and ``provides``)."""
        return STEPS[self.name]

    def build(self) -> Step:
        cls = self.step_class
        return cls(cls.Params(**self.params))


class SplitConfig(_Strict):
    validation: float = Field(0.01, ge=0, lt=0.5)
    test: float = Field(0.01, ge=0, lt=0.5)
    salt: str = "lawset-split-v1"


class ExecutionConfig(_Strict):
    shards: int = Field(16, ge=1, le=100_000)
    workers: int = Field(1, ge=1, le=256)
    batch_size: int = Field(1000, ge=1)
    run_size: int = Field(50_000, ge=100)
    max_rows_per_file: int = Field(200_000, ge=1)
    executor: Literal["local", "ray"] = Field(
        "local",
        description="local: worker processes on this machine; ray: the same steps as Ray tasks "
        "(pip install 'lawset[ray]'); the output files are the same",
    )
    ray_address: str | None = Field(
        None,
        description="Ray cluster to join (e.g. 10.0.0.1:6379 or auto); empty: a private local Ray",
    )


#: execution keys that choose where the build runs, not what it writes: left out of the digest,
#: so a build on Ray has the local build's manifest (and a killed one resumes on either)
_PLACEMENT = {"execution": {"executor", "ray_address"}}


class Stage2Config(_Strict):
    """Which legal queries also go to stage 2 (InternLM-Law's high-quality, structured stage)."""

    sources: list[str] = Field(
        default_factory=list,
        description="source names whose queries may enter stage 2 (empty: all)",
    )
    exclude_tasks: list[str] = Field(default_factory=list)
    require_structured: bool = Field(
        True, description="only answers in the task's machine-parseable format"
    )
    require_verified_citations: bool = Field(
        True, description="every citation found in the statute index and in force"
    )
    sample: dict[str, float] = Field(
        default_factory=dict,
        description="task -> share of its eligible queries kept in stage 2 (by id hash), to keep "
        "stage 2 from being dominated by one large task; tasks not listed: all",
    )

    def selects(self, record: dict[str, Any]) -> bool:
        if record["domain"] != "legal":
            return False
        if self.sources and record["source"] not in self.sources:
            return False
        if record["task"] in self.exclude_tasks:
            return False
        if self.require_structured and not record.get("_structured", False):
            return False
        if self.require_verified_citations:
            if record.get("_placeholder_citations") or record.get("_names_repealed_law"):
                return False
            if any(
                not c["verified"] or c["status"] not in ("current", "mapped")
                for c in record["citations"]
            ):
                return False
        rate = self.sample.get(record["task"])
        if rate is not None and stable_hash("stage2\x1f" + record["id"]) / 2**64 >= rate:
            return False
        return True


class DedupConfig(_Strict):
    """Duplicates across all sources and shards (builders/pipeline/dedup_phase.py)."""

    exact_user_turn: bool = Field(
        True, description="drop queries whose user turn (whitespace ignored) another one has"
    )
    near: bool = Field(True, description="drop near duplicates (MinHash LSH, true Jaccard)")
    ngram: int = Field(5, ge=1, description="character n-gram size of the shingles")
    num_perm: int = Field(128, ge=16, le=1024, description="MinHash permutations")
    threshold: float = Field(0.8, gt=0, le=1, description="Jaccard at which two are duplicates")
    seed: int = Field(1, description="MinHash permutation seed")
    near_min_chars: int = Field(
        100,
        ge=0,
        description="conversations shorter than this take part in exact dedup only (in short "
        "templated texts a few differing characters carry the meaning)",
    )
    source_priority: list[str] = Field(
        default_factory=list,
        description="which source's copy stays when quality ties (earlier wins; empty: the "
        "order of sources in the recipe)",
    )


class MixConfig(_Strict):
    general_ratio: float = Field(
        0.25,
        ge=0,
        lt=1,
        description="target share of general-domain queries in stage 1; general queries are "
        "sampled down (by id hash) when there are more; a shortfall is reported",
    )


class ReleaseConfig(_Strict):
    name: str = "lawset"
    pretty_name: str = "lawset Chinese legal instructions"
    license: str = "other"


class Recipe(_Strict):
    version: Literal[1] = 1
    name: str
    description: str = ""
    sources: dict[str, SourceConfig]
    steps: list[StepConfig]
    splits: SplitConfig = SplitConfig()
    execution: ExecutionConfig = ExecutionConfig()
    stage2: Stage2Config = Stage2Config()
    dedup: DedupConfig = DedupConfig()
    mix: MixConfig = MixConfig()
    release: ReleaseConfig = ReleaseConfig()

    @model_validator(mode="after")
    def _stage2_sources_exist(self) -> Recipe:
        for key, names in (
            ("stage2.sources", self.stage2.sources),
            ("dedup.source_priority", self.dedup.source_priority),
        ):
            unknown = [s for s in names if s not in self.sources]
            if unknown:
                raise ValueError(f"{key}: not sources of this recipe: {', '.join(unknown)}")
        return self

    def digest(self) -> str:
        """sha256 of the recipe with every default filled in: same digest, same build."""
        data = self.model_dump(mode="json", exclude=_PLACEMENT)
        canon = json.dumps(data, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    def build_steps(self) -> list[Step]:
        return [s.build() for s in self.steps]

    def needs(self, what: str) -> bool:
        """Whether a step of the recipe needs ``what`` from the build (``Step.needs``)."""
        return bool(self.steps_needing(what))

    def steps_needing(self, what: str) -> list[StepConfig]:
        """The recipe's steps that need ``what`` (``catalog``, ``eval_index``, ...), in order."""
        return [s for s in self.steps if what in s.step_class.needs]

    def steps_providing(self, what: str) -> list[StepConfig]:
        """The recipe's steps that provide ``what`` (``repeal_rules``, ``citations``), in order."""
        return [s for s in self.steps if what in s.step_class.provides]

    def position_of(self, what: str) -> int | None:
        """Where the first step that provides ``what`` stands in ``steps`` (None: no such step)."""
        return next((i for i, s in enumerate(self.steps) if what in s.step_class.provides), None)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _steps_from_yaml(raw: Any, where: str) -> list[dict[str, Any]]:
    """Accept ``- name: x`` with the step's parameters beside the name, as data-juicer does."""
    if not isinstance(raw, list):
        raise RecipeError(f"{where}: steps: must be a list of steps, each with a 'name'")
    out = []
    for i, item in enumerate(raw):
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or "name" not in item:
            raise RecipeError(f"{where}: steps[{i}]: each step needs a 'name' key")
        name = item["name"]
        if name not in STEPS:
            raise RecipeError(
                f"{where}: steps[{i}].name: unknown step {name!r}; known steps: "
                + ", ".join(sorted(STEPS))
            )
        params = {k: v for k, v in item.items() if k != "name"}
        try:
            params = STEPS[name].Params(**params).model_dump(mode="json")  # defaults filled in
        except ValidationError as exc:
            err = exc.errors()[0]
            raise RecipeError(
                f"{where}: steps[{i}].{_loc(err['loc'])} ({name}): {err['msg']}"
            ) from None
        out.append({"name": name, "params": params})
    return out


def parse_recipe(data: Any, where: str = "<recipe>") -> Recipe:
    """Validate a recipe mapping; errors name ``where`` and the offending key."""
    from . import steps as _steps  # noqa: F401  (registers the built-in steps)

    if not isinstance(data, dict):
        raise RecipeError(f"{where}: a recipe is a YAML mapping with keys name, sources, steps")
    data = dict(data)
    if "steps" in data:
        data["steps"] = _steps_from_yaml(data["steps"], where)
    try:
        return Recipe(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _loc(err["loc"])
        if err["type"] == "missing":
            raise RecipeError(f"{where}: {loc}: required key is missing") from None
        if err["type"] == "extra_forbidden":
            raise RecipeError(f"{where}: {loc}: unknown key (see reference.yaml)") from None
        raise RecipeError(f"{where}: {loc}: {err['msg']}") from None


def load_recipe(path: str | Path | None = None) -> Recipe:
    """Load a recipe file, or the default recipe when ``path`` is None."""
    if path is None:
        text = (
            resources.files("lawset.builders").joinpath("recipes/default.yaml").read_text("utf-8")
        )
        where = "default.yaml"
    else:
        p = Path(path)
        if not p.is_file():
            raise RecipeError(f"{p}: recipe file not found")
        text = p.read_text("utf-8")
        where = str(p)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{where}: not valid YAML: {exc}") from None
    return parse_recipe(data, where)
