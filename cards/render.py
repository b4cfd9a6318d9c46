"""Render the dataset card (README.md with YAML front matter) from a build's manifest and stats.

The card is three templates in ``cards/templates/``: ``card.md`` (front matter, title, citation)
around ``card_en.md`` (English) and ``card_zh.md`` (Chinese). It is rendered twice in a release's
life: by ``lawset build`` (a candidate: no version yet) and again by ``lawset release``, once
``manifest.json`` holds ``release.version``, so that the loading examples name the tag
(``revision="vX.Y.Z"``). Given ``out`` (the release folder), :func:`render_card` also draws the
plots into ``out/reports/plots/`` (:mod:`lawset.cards.plots`) and links them. Everything here is a
function of the manifest, the stats and the recipe: same build, same bytes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import yaml

LICENSE_NOTE = "other"
#: What a reading of the rule's decisions found (see docs/pipeline.md, "Decontamination").
CONTAMINATION_REVIEW = (
    "How good the rule is, read by hand on the 2026-11-26 build of ../shared/raw (method in "
    "docs/pipeline.md, Decontamination). False positives: 7 of 40 removed queries, drawn at "
    "random, were not copies but shared legal formula or contract wording with an item "
    "(触犯了刑法第一百三十三条之规定，应当以交通肇事罪追究…, a standard insurance clause, an old "
    "evidence rule quoted in a LawBench 2-1 sentence): about 18% of removals, all on the safe "
    "side. False negatives: of a quarter of the kept train queries, 262 of 82,644 (0.3%) hold 30 "
    "to 50% of an item; about 40% of those are real copies the rule misses (CAIL2021 claims that "
    "LawBench 2-8 masks differently, LexEval 2_4 sentences behind a long instruction), so about "
    "0.1% of train queries are near copies that stay."
)


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


def _template(name: str) -> Template:
    return Template(
        resources.files("lawset.cards").joinpath(f"templates/{name}").read_text("utf-8")
    )


def rewrite_models(summary: dict[str, Any]) -> dict[str, int]:
    """Stage-1 rows of the release an LLM rewrote, per model (counted as the release is written,
    after dedup and decontamination); without a release mix, the step's own counters."""
    if "mix" in summary:
        return dict(sorted(summary["mix"].get("rewrite_model", {}).items()))
    counters = summary.get("counters", {}).get("rewrite", {})
    return {
        k.split(":", 1)[1]: n for k, n in sorted(counters.items()) if k.startswith("rewritten:")
    }


def _release_parts(manifest: dict[str, Any], name: str) -> dict[str, str]:
    """Version lines and loading examples: the release tag once ``lawset release`` stamped it."""
    release = manifest.get("release") or {}
    version = release.get("version")
    if version:
        tag = release.get("tag", f"v{version}")
        version_en = (
            f"This is version **{version}**: git tag `{tag}` of the data repository and of the "
            'Hub repository; load it with `revision="' + tag + '"`.'
        )
        version_zh = f"本卡片对应版本 **{version}**（数据仓库与 Hub 上的标签 `{tag}`）。"
        note = f"Version {version}, built with lawset {manifest['lawset_version']}"
    else:
        tag = "main"
        version_en = (
            "This folder is a release candidate: `lawset release` gives it a version and a git "
            "tag `vX.Y.Z`, and re-renders this card to load that tag."
        )
        version_zh = "本目录为候选版本：`lawset release` 为其确定版本号与 git 标签 `vX.Y.Z`，并重新生成本卡片。"
        note = f"Release candidate, built with lawset {manifest['lawset_version']}"
    repo = f"ORG/{name}"
    lines = []
    for c in manifest["configs"]:
        split = ', split="train"' if c == "statutes" else ""
        lines.append(f'{c} = load_dataset("{repo}", "{c}"{split}, revision="{tag}")')
    lines.append(f"# {repo}: the Hub repository (lawset publish --repo), or a local checkout")
    return {
        "revision": tag,
        "version_en": version_en,
        "version_zh": version_zh,
        "load_snippet": "\n".join(lines),
        "citation_note": (
            f"{note}, recipe {manifest['recipe']['name']} ({manifest['recipe']['sha256'][:12]})"
        ),
    }


def _plots(out: Path | None, summary: dict[str, Any]) -> tuple[str, str]:
    if out is None:
        text = (
            "(Plots of the task mix and of turn lengths are drawn into `reports/plots/` when the "
            "card is rendered for the release folder.)"
        )
        return text, "（任务分布与长度分布图在为发布目录生成卡片时绘制于 `reports/plots/`。）"
    from .plots import write_plots

    paths = write_plots(out, summary)
    en = (
        f"![Rows per task, stage 1 and stage 2]({paths['task_mix']})\n\n"
        f"![Turn lengths in characters]({paths['length_distribution']})"
    )
    zh = (
        f"![各任务行数]({paths['task_mix']})\n\n"
        f"![对话轮次长度分布（字符）]({paths['length_distribution']})"
    )
    return en, zh


def render_card(
    manifest: dict[str, Any],
    summary: dict[str, Any],
    recipe: Any,
    out: Path | None = None,
) -> str:
    """The card text. With ``out`` (the release folder), the plots are drawn there first."""
    fm = front_matter(manifest, recipe.release.license, recipe.release.pretty_name)
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
    from lawset.builders.pipeline.base import STEPS
    from lawset.builders.schema import LEVELS

    s1, s2 = summary["mix"].get("task", {}), summary.get("stage2_mix", {}).get("task", {})
    order = {level: i for i, level in enumerate(LEVELS)}
    levels = {t: getattr(STEPS.get(t), "level", "") for t in s1}
    task_rows = _table(
        [
            [levels[t], t, f"{n:,}", f"{s2.get(t, 0):,}"]
            for t, n in sorted(s1.items(), key=lambda kv: (order.get(levels[kv[0]], 9), kv[0]))
        ]
    )
    src1 = summary["mix"].get("source", {})
    src2 = summary.get("stage2_mix", {}).get("source", {})
    source_mix_rows = _table([[s, f"{n:,}", f"{src2.get(s, 0):,}"] for s, n in src1.items()])
    held_out_rows = _table(
        [
            [name, f"`{h['policy']}`", ", ".join(h["files"]), f"{h['queries_in_test']:,}"]
            for name, h in summary.get("held_out", {}).items()
        ]
    )
    twins = summary.get("held_out_twins", {})
    twin_rows = ", ".join(f"{src} {n:,}" for src, n in twins.items()) or "none in this build"
    pii_rows = _table(
        [[k, f"{n:,}"] for k, n in summary.get("counters", {}).get("pii", {}).items()]
    )
    gm = summary.get("general_mix", {})
    if gm.get("general_available"):
        general_mix = (
            f"General-domain queries: {gm['general_kept']:,} of {gm['general_available']:,} "
            f"available, {gm['share']:.1%} of stage 1 (target {gm['target_share']:.0%}"
            + ("; " + gm["note"] if "note" in gm else "")
            + ")."
        )
    else:
        general_mix = "This build holds no general-domain data."
    d = recipe.dedup
    dedup_drops = summary.get("steps", {}).get("dedup", {}).get("dropped", {})
    dedup_rows = ", ".join(f"{k} {n:,}" for k, n in dedup_drops.items()) or "none"
    contam = summary.get("contamination", {})
    contam_rows = _table(
        [
            [
                b,
                f"{v.get('items', 0):,}",
                f"{v.get('items_hit', 0):,}",
                f"{v.get('records_removed', 0):,}",
            ]
            for b, v in contam.get("benchmarks", {}).items()
        ]
    )
    decon = recipe.steps_needing("eval_index")
    dp = decon[0].build().params if decon else None
    leak = summary.get("leakage")
    if leak is None:
        leakage = "not run"
    else:
        leakage = (
            f"{'passed' if leak['passed'] else 'FAILED'} — {leak['rows_checked']:,} rows, "
            f"{leak['cross_split_exact']} exact and {leak['cross_split_near']} near duplicates "
            "across splits"
        )
    rule = recipe.stage2
    parts = ["legal queries only"]
    if rule.sources:
        parts.append("from the sources " + ", ".join(f"`{x}`" for x in rule.sources))
    if rule.require_structured:
        parts.append("whose answers end in the task's machine-parseable line")
    if rule.require_verified_citations:
        parts.append("whose citations are all found in the statute index and in force")
    if rule.exclude_tasks:
        parts.append("except the tasks " + ", ".join(f"`{x}`" for x in rule.exclude_tasks))
    stage2_rule = "The recipe's rule: " + "; ".join(parts) + "."
    drops = [
        [step, reason, f"{n:,}"]
        for step, s in summary["steps"].items()
        for reason, n in sorted(s["dropped"].items())
    ]
    models = rewrite_models(summary)
    if models:
        rewrite_en = (
            "answers of some queries were rewritten by an LLM, given the gold answer and the "
            "cited articles; rows per model: "
            + ", ".join(f"`{m}` {n:,}" for m, n in models.items())
            + ". Their `rewrite` field names the model, prompt version and cache key."
        )
        rewrite_zh = (
            "部分答案由大模型依据标准答案与所引法条改写，各模型行数："
            + "，".join(f"`{m}` {n:,}" for m, n in models.items())
            + "；`rewrite` 字段记录模型、提示词版本与缓存键。"
        )
    else:
        rewrite_en = "none; no answer in this build was rewritten by an LLM (`rewrite` is null)."
        rewrite_zh = "本次构建未使用大模型改写答案（`rewrite` 为空）。"
    plots_en, plots_zh = _plots(out, summary)
    if gm.get("general_available"):
        general_mix_zh = (
            f"通用数据 {gm['general_kept']:,} 条（可用 {gm['general_available']:,} 条），"
            f"占第一阶段 {gm['share']:.1%}（目标 {gm['target_share']:.0%}）。"
        )
    else:
        general_mix_zh = "本次构建不含通用数据。"
    values = dict(
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
        source_mix_rows=source_mix_rows,
        held_out_rows=held_out_rows,
        pii_rows=pii_rows,
        twin_rows=twin_rows,
        dedup_ngram=d.ngram,
        dedup_perm=d.num_perm,
        dedup_threshold=d.threshold,
        dedup_rows=dedup_rows,
        contam_coverage=f"{dp.min_coverage:.0%}" if dp else "n/a",
        contam_chars=dp.shingle_chars if dp else "n/a",
        contam_jaccard=dp.paraphrase_jaccard if dp else "n/a",
        contam_share=dp.max_item_share if dp else "n/a",
        contam_rows=contam_rows if dp else "| (the recipe has no decontaminate step) |",
        contam_review=CONTAMINATION_REVIEW,
        leakage=leakage,
        general_mix=general_mix,
        stage2_rule=stage2_rule,
        drop_rows=_table(drops),
        rewrite_en=rewrite_en,
        rewrite_zh=rewrite_zh,
        plots_en=plots_en,
        plots_zh=plots_zh,
        general_mix_zh=general_mix_zh,
        config_rows_zh=_table(
            [
                [
                    f"`{c}`",
                    "问答" if c != "statutes" else "法条",
                    "，".join(f"{s}: {v['rows']:,}" for s, v in splits.items()),
                ]
                for c, splits in manifest["configs"].items()
            ]
        ),
        dedup_rows_zh="，".join(f"{k} {n:,}" for k, n in dedup_drops.items()) or "无",
        **_release_parts(manifest, recipe.release.name),
    )
    values["english"] = _template("card_en.md").substitute(values)
    values["chinese"] = _template("card_zh.md").substitute(values)
    return _template("card.md").substitute(values)
