"""The certificate attached to a release: which one (``--certificate``, else the one ``lawset
certify`` wrote for these files), whether it certifies these files, and its summary for the release
manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .. import console
from .errors import ReleaseCheckFailed, ReleaseError
from .files import CERTIFICATE_FILE


def certified_files(path: Path) -> list[tuple[str, str]] | None:
    """The (path, sha256) pairs of data files a ``lawset certify`` certificate was made on, sorted;
    None for a file that is not one (another tool's certificate, not JSON)."""
    try:
        data = json.loads(path.read_bytes())
        return sorted((f["path"], f["sha256"]) for f in data["release"]["files"])
    except (ValueError, KeyError, TypeError):
        return None


def _manifest_files(manifest: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((f["path"], f["sha256"]) for f in manifest.get("files", []))


def find_certificate(
    root: Path, manifest: dict[str, Any], given: Path | None, look: bool = True
) -> Path | None:
    """The certificate to attach to a release of ``root``.

    ``--certificate FILE`` wins. Without it (and unless ``look`` is off, ``--no-certificate``),
    the place ``lawset certify`` writes to, ``DIR/../certificates/<DIR name>/certificate.json``,
    is used when it certifies exactly the data files of ``root``'s manifest. A certificate inside
    ``root`` (``reports/certificate.json``, stamped by an earlier release of the folder) would be
    published with the release, so it must certify these files too; otherwise the release is
    refused."""
    if given is not None:
        return given
    from lawset.sft.certify import default_location

    want = _manifest_files(manifest)
    default = default_location(root) / "certificate.json"
    if look and default.is_file():
        if certified_files(default) == want:
            console.info(
                f"attaching the certificate {default} (it certifies these files; "
                "--no-certificate leaves it out)"
            )
            return default
        console.info(f"not attaching {default}: it certifies other files than {root} holds")
    inside = root / CERTIFICATE_FILE
    if inside.is_file():
        if look and certified_files(inside) == want:
            console.info(f"keeping {inside}: it certifies these files")
            return inside
        raise ReleaseError(
            f"{inside} is there but is not a certificate of these files (left by an earlier "
            "release of this folder, or by an older lawset certify): it would be published "
            f"with this release; remove it, or attach a certificate with --certificate FILE"
        )
    return None


def certificate_summary(
    path: Path, manifest: dict[str, Any] | None = None
) -> tuple[dict[str, Any], bytes]:
    """An opaque certificate (``lawset certify``): its sha256 and its top-level scalar fields.

    With ``manifest``, a ``lawset certify`` certificate must certify exactly its data files
    (exit 1 otherwise); another tool's certificate is attached as it is."""
    if not path.is_file():
        raise ReleaseError(f"--certificate {path}: file not found")
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ReleaseError(f"--certificate {path}: not JSON ({exc})") from None
    if manifest is not None:
        files = certified_files(path)
        if files is not None and files != _manifest_files(manifest):
            raise ReleaseCheckFailed(
                f"--certificate {path}: certifies other data files than manifest.json lists (a "
                "certificate of another build): run `lawset certify` on this folder again"
            )
    try:  # a certificate written by lawset certify: its own compact summary
        from lawset.sft.certify import manifest_entry

        scalars = manifest_entry(path)
    except (KeyError, TypeError, AttributeError):  # another tool's certificate: its scalars
        scalars = (
            {k: v for k, v in data.items() if isinstance(v, str | int | float | bool) or v is None}
            if isinstance(data, dict)
            else {}
        )
    return {
        "file": CERTIFICATE_FILE,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "summary": scalars,
    }, raw
