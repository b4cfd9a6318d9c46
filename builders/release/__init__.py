"""``lawset release``: freeze a validated release candidate as version X.Y.Z, and verify it later.

``lawset release DIR --version X.Y.Z`` (run from the project root, or with ``--project``;
:func:`~lawset.builders.release.freeze.release`):

1. **Checks** (nothing written when one fails): the version is new and newer than every
   release in ``releases/`` (exit 2, :mod:`.versions`); every parquet file matches the sha256 that
   ``DIR/manifest.json`` records (exit 1, :func:`lawset.builders.manifest.check_integrity`);
   ``DIR/reports/validation/validation.json`` exists (exit 2), says passed (exit 1), covered every
   row (not ``--sample``) and validated *these* files (exit 2, see
   :func:`.checks.check_validation`); the recipe (``--recipe``, else ``DIR/recipe.yaml``, else the
   built-in default) has the sha256 the build recorded, so the exact recipe text can be stored for
   ``--verify`` (exit 2, :func:`.checks.resolve_recipe`); the certificate (see
   :func:`.certificate.find_certificate`) certifies these files (exit 1).
2. **Stamps DIR** (:mod:`.stamp`): ``recipe.yaml`` (the recipe text), ``manifest.json`` gets
   ``release: {version, tag}``, the card is re-rendered (its loading examples now say
   ``revision="vX.Y.Z"``) with its plots, and the certificate (``--certificate``, else the one
   ``lawset certify`` wrote to ``DIR/../certificates/<DIR name>/`` for these files) is copied to
   ``reports/certificate.json``. Stamping is deterministic: a rebuild stamped the same way is
   byte-identical, which is what ``--verify`` relies on.
3. **Commits DIR to the data repository** (:mod:`.datarepo`; a git repository of the dataset;
   default ``../lawset-data`` beside the project, created with ``git init`` when missing) and tags
   it ``vX.Y.Z``, so ``git checkout vX.Y.Z`` + ``load_dataset(path, config)`` gives that version.
   The repository holds exactly the released files: a release replaces the previous tree.
4. **Writes the project files**: ``releases/vX.Y.Z.json`` (files with sha256, rows per config
   and split, mixes, sources with commits and licenses, recipe text and hash, versions, rewrite
   models, validation summary, certificate summary) and a ``releases/CHANGELOG.md`` entry
   (:mod:`.changelog`; newest first) against the previous release, counted by id from the previous
   tag's parquet files.

An interrupted release is rerun as it was: stamping is idempotent, and a tag that already holds
exactly these files is reused instead of refused.

Which files of DIR are released, and which a rebuild reproduces byte for byte: :mod:`.files`.

``lawset release --verify X.Y.Z --sources RAW`` (:mod:`.verify`) rebuilds from the recorded recipe
text and options into a temporary folder, stamps it the same way, and compares each file's sha256
with the release manifest; it also checks that the data repository's tag ``vX.Y.Z`` holds exactly
the manifest's files. Exit 1 names every file that differs.

The command itself (its options and output) is :mod:`lawset.builders.commands.release`.
"""

from __future__ import annotations

from .errors import ReleaseCheckFailed, ReleaseError
from .freeze import release
from .verify import verify

__all__ = ["ReleaseCheckFailed", "ReleaseError", "release", "verify"]
