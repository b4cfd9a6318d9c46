"""Stamping a candidate folder as version X.Y.Z: ``recipe.yaml`` (the recipe text),
``manifest.json`` gets ``release: {version, tag}``, the card is re-rendered (its loading examples
now say ``revision="vX.Y.Z"``) with its plots, and the certificate, when there is one, is copied to
``reports/certificate.json``. Stamping is deterministic: a rebuild stamped the same way is
byte-identical, which is what ``--verify`` relies on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..manifest import write_manifest
from .files import CERTIFICATE_FILE, RECIPE_FILE, read_summary


def stamp(
    root: Path,
    manifest: dict[str, Any],
    version: str,
    recipe_text: str,
    recipe: Any,
    certificate: bytes | None = None,
) -> dict[str, Any]:
    """Write the release stamp into a candidate folder (deterministic; see module docstring)."""
    from ...cards.render import render_card

    (root / RECIPE_FILE).write_text(recipe_text, encoding="utf-8")
    if certificate is not None:
        (root / CERTIFICATE_FILE).parent.mkdir(parents=True, exist_ok=True)
        (root / CERTIFICATE_FILE).write_bytes(certificate)
    manifest = {**manifest, "release": {"version": version, "tag": f"v{version}"}}
    write_manifest(root, manifest)
    card = render_card(manifest, read_summary(root), recipe, out=root)
    (root / "README.md").write_text(card, encoding="utf-8")
    return manifest
