"""Render the dataset card (README.md with YAML front matter) from a build's manifest and stats."""

from __future__ import annotations

from importlib import resources
from string import Template
from typing import Any

import yaml

LICENSE_NOTE = "other"


def _size_category(n: int) -> str:
    for bound, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ):
        if n < bound:
            return label
    return "10M<n<100M"


def _features_yaml(config: str) -> list[dict[str, Any]]:
    import datasets
    from lawset.builders.pipeline.executor import SINKS

    return datasets.Features.from_arrow_schema(SINKS[config])._to_yaml_list()


def front_matter(manifest: dict[str, Any], license: str, pretty_name: str) -> dict[str, Any]:
    """The YAML header ``datasets`` and the Hub read: configs with data_files, features, splits."""
    configs, infos = [], []
    for name, splits in manifest["configs"].items():
        configs.append(
            {
                "config_name": name,
                "data_files": [{"split": s, "path": f"data/{name}/{s}-*.parquet"} for s in splits],
                **({"default": True} if name == "stage1" else {}),
            }
        )
        infos.append(
            {
                "config_name": name,
                "features": _features_yaml(name),
                "splits": [
                    {"name": s, "num_bytes": v["bytes"], "num_examples": v["rows"]}
                    for s, v in splits.items()
                ],
            }
        )
    total = sum(v["rows"] for splits in manifest["configs"].values() for v in splits.values())
    return {
        "pretty_name": pretty_name,
        "license": license,
        "language": ["zh"],
        "task_categories": ["text-generation", "question-answering"],
        "tags": ["legal", "chinese", "instruction-tuning", "sft"],
        "size_categories": [_size_category(total)],
        "configs": configs,
        "dataset_info": infos,
    }


def _table(rows: list[list[Any]]) -> str:
    return "\n".join("| " + " | ".join(str(c) for c in r) + " |" for r in rows) or "| (none) |"


def render_card(manifest: dict[str, Any], summary: dict[str, Any], recipe: Any) -> str:
    fm = front_matter(manifest, recipe.release.license, recipe.release.pretty_name)
    template = Template(
        resources.files("lawset.cards").joinpath("templates/card.md").read_text("utf-8")
    )
    config_rows = _table(
        [
            [
                f"`{c}`",
                "queries" if c != "statutes" else "statute articles",
                ", ".join(f"{s}: {v['rows']:,}" for s, v in splits.items()),
            ]
            for c, splits in manifest["configs"].items()
        ]
    )
    source_rows = _table(
        [
            [
                name,
                s["upstream"],
                f"`{s['commit'][:12]}`",
                s["license"],
                summary["sources"][name].get("units", ""),
            ]
            for name, s in manifest["sources"].items()
        ]
    )
    step_rows = "\n".join(
        f"{i}. `{s.name}`" + (f": `{s.params}`" if s.params else "")
        for i, s in enumerate(recipe.steps, 1)
    )
    task_rows = _table([[t, f"{n:,}"] for t, n in summary["mix"].get("task", {}).items()])
    drops = [
        [step, reason, f"{n:,}"]
        for step, s in summary["steps"].items()
        for reason, n in sorted(s["dropped"].items())
    ]
    return template.substitute(
        front_matter=yaml.safe_dump(fm, allow_unicode=True, sort_keys=False).strip(),
        pretty_name=recipe.release.pretty_name,
        name=recipe.release.name,
        lawset_version=manifest["lawset_version"],
        recipe_name=manifest["recipe"]["name"],
        recipe_sha=manifest["recipe"]["sha256"],
        recipe_sha_short=manifest["recipe"]["sha256"][:12],
        config_rows=config_rows,
        source_rows=source_rows,
        step_rows=step_rows,
        validation=recipe.splits.validation,
        test=recipe.splits.test,
        task_rows=task_rows,
        drop_rows=_table(drops),
    )
