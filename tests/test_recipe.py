"""Recipes: the default and reference recipes load; every bad key fails before work, named."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_lawset
from lawset.builders.pipeline.base import STEPS
from lawset.builders.recipe import RecipeError, load_recipe, parse_recipe

REFERENCE = REPO / "builders" / "recipes" / "reference.yaml"


def default_data() -> dict:
    return yaml.safe_load((REPO / "builders" / "recipes" / "default.yaml").read_text("utf-8"))


def test_default_and_reference_recipes_are_valid_and_agree() -> None:
    default = load_recipe()
    reference = load_recipe(REFERENCE)
    assert default.name == "default"
    # The reference documents every registered step and every parameter of each.
    ref_steps = {s.name: s.params for s in reference.steps}
    assert set(ref_steps) == set(STEPS)
    for name, cls in STEPS.items():
        assert set(ref_steps[name]) == set(cls.Params.model_fields), name
    # Both describe the same build apart from the name and the description.
    strip = {"name", "description"}
    assert default.model_dump(exclude=strip) == reference.model_dump(exclude=strip)


def test_reference_comments_every_key() -> None:
    lines = REFERENCE.read_text("utf-8").splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("- name:"):
            continue
        if stripped.endswith(":") or ": " in stripped:
            above = lines[i - 1].strip()
            assert above.startswith("#") or above.startswith("- name:") or ":" in above, (
                f"reference.yaml line {i + 1} has no comment: {line}"
            )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("sources"), "sources: required key is missing"),
        (lambda d: d.update(colour="blue"), "colour: unknown key"),
        (lambda d: d["sources"]["laws"].pop("license"), "sources.laws.license: required key"),
        (lambda d: d["sources"]["laws"].update(adapter="nope"), "unknown adapter 'nope'"),
        (lambda d: d["steps"].insert(14, {"name": "nope"}), "steps[14].name: unknown step 'nope'"),
        (
            lambda d: d["steps"][7].update(min_chars="many"),
            "steps[7].min_chars (article_content): Input should be a valid integer",
        ),
        (lambda d: d["steps"][8].update(colour=1), "steps[8].colour (article_recitation)"),
        (
            lambda d: d["steps"][3]["laws"][0].update(pattern="(unclosed"),
            "steps[3].laws[0].pattern (mark_repealed): Value error, not a regular expression",
        ),
        (lambda d: d["execution"].update(shards=0), "execution.shards: Input should be greater"),
        (lambda d: d["splits"].update(test=0.9), "splits.test: Input should be less than 0.5"),
    ],
)
def test_bad_recipe_names_the_key(edit, message: str) -> None:
    data = default_data()
    edit(data)
    with pytest.raises(RecipeError) as err:
        parse_recipe(data, "my.yaml")
    assert str(err.value).startswith("my.yaml: ")
    assert message in str(err.value)


def test_bad_recipe_fails_before_any_work(sources: Path, tmp_path: Path) -> None:
    data = default_data()
    data["steps"][9]["min_chars"] = -1
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    proc = run_lawset("build", "--sources", sources, "--out", out, "--recipe", recipe, check=False)
    assert proc.returncode == 2
    assert "steps[9].min_chars (article_identification)" in proc.stderr
    assert not out.exists()


def test_recipe_digest_changes_with_parameters() -> None:
    a = parse_recipe(default_data())
    data = default_data()
    data["steps"][8]["max_chars"] = 10
    assert parse_recipe(data).digest() != a.digest()
    assert parse_recipe(default_data()).digest() == a.digest()
