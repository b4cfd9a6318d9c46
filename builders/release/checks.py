"""The checks a candidate passes before it is released (nothing is written when one fails): a
full, passing validation of exactly these files, and the recipe it was built with. The files
themselves are checked against ``manifest.json`` by :func:`lawset.builders.manifest.check_integrity`;
the certificate by :mod:`lawset.builders.release.certificate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..manifest import files_digest
from .errors import ReleaseCheckFailed, ReleaseError
from .files import RECIPE_FILE, VALIDATION_FILE


def check_validation(root: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The validation summary, when it is a passing, full validation of the current files.

    "The current files": ``validation.json`` does not (yet) record the checksums it validated,
    so two independent facts are required. (1) It validated exactly the rows the manifest
    records per config and split (``rows_validated``), which a rebuild with other data almost
    always changes. (2) It was written after the last change to any data file (mtime), which
    catches a same-size rebuild after validation. The data files themselves are checked against
    the manifest's sha256 separately. When ``validation.json`` records ``files_sha256`` (the
    :func:`files_digest` of the manifest), that exact comparison is used instead of (2).
    """
    path = root / VALIDATION_FILE
    if not path.is_file():
        raise ReleaseError(
            f"{root}: not validated ({VALIDATION_FILE} is missing): run `lawset validate {root}` "
            "first"
        )
    v = json.loads(path.read_text("utf-8"))
    if not v.get("passed"):
        raise ReleaseCheckFailed(
            f"{path}: validation FAILED ({v.get('expectations_failed', '?')} of "
            f"{v.get('expectations_total', '?')} expectations): fix the build, rebuild, "
            "revalidate; a failing candidate is never released"
        )
    if v.get("sample") is not None:
        raise ReleaseError(
            f"{path}: validated on a sample (--sample {v['sample']}): run `lawset validate "
            f"{root}` without --sample before releasing"
        )
    want = {
        c: {s: e["rows"] for s, e in splits.items()} for c, splits in manifest["configs"].items()
    }
    got = v.get("rows_validated") or {}
    if got != want:
        raise ReleaseError(
            f"{path}: validated other data (rows {got}, the manifest has {want}): the candidate "
            f"changed after validation; run `lawset validate {root}` again"
        )
    if "files_sha256" in v:
        if v["files_sha256"] != files_digest(manifest):
            raise ReleaseError(
                f"{path}: validated other files than manifest.json lists: run `lawset validate "
                f"{root}` again"
            )
    else:
        stamp = path.stat().st_mtime
        newer = [
            f["path"]
            for f in manifest.get("files", [])
            if (root / f["path"]).stat().st_mtime > stamp
        ]
        if newer:
            raise ReleaseError(
                f"{path}: older than {newer[0]} (and {len(newer) - 1} more): the data changed "
                f"after validation; run `lawset validate {root}` again"
            )
    return v


def validation_summary(v: dict[str, Any]) -> dict[str, Any]:
    """What ``releases/vX.Y.Z.json`` records of the validation (no machine's paths)."""
    return {
        "passed": v["passed"],
        "expectations_total": v.get("expectations_total"),
        "expectations_failed": v.get("expectations_failed"),
        "rows_validated": v.get("rows_validated"),
        "recipe": v.get("recipe"),
        # a path here would be a machine's path: record only whether defaults were used
        "thresholds": "default" if v.get("thresholds", "default") == "default" else "custom",
    }


def resolve_recipe(
    root: Path, manifest: dict[str, Any], recipe_path: Path | None
) -> tuple[str, Any]:
    """The recipe text the candidate was built with, and the parsed recipe.

    Taken from ``--recipe``, else ``DIR/recipe.yaml``, else the built-in default; its digest
    must equal the manifest's, so the stored text rebuilds exactly this candidate."""
    from importlib import resources

    import yaml

    from ..recipe import RecipeError, parse_recipe

    if recipe_path is not None:
        if not recipe_path.is_file():
            raise ReleaseError(f"--recipe {recipe_path}: file not found")
        text, where = recipe_path.read_text("utf-8"), str(recipe_path)
    elif (root / RECIPE_FILE).is_file():
        text, where = (root / RECIPE_FILE).read_text("utf-8"), str(root / RECIPE_FILE)
    else:
        text = (
            resources.files("lawset.builders").joinpath("recipes/default.yaml").read_text("utf-8")
        )
        where = "the built-in default recipe"
    try:
        recipe = parse_recipe(yaml.safe_load(text), where)
    except (RecipeError, yaml.YAMLError) as exc:
        raise ReleaseError(f"{where}: {exc}") from None
    built = manifest["recipe"]["sha256"]
    if recipe.digest() != built:
        raise ReleaseError(
            f"{where} (sha256 {recipe.digest()[:12]}) is not the recipe {root} was built with "
            f"({manifest['recipe']['name']}, sha256 {built[:12]}): pass --recipe FILE, the "
            "recipe given to lawset build"
        )
    return text, recipe
