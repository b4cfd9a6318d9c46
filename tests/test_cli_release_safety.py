"""Release safety, as a user types the commands (issue 14, items 6, 9 and 10 for release, publish
and certify): a working folder, relative paths, a fresh ``lawset`` process per command.

- ``publish`` with no Hub (nothing listening, ``HF_HUB_OFFLINE=1``) or a Hub that answers an error
  exits 3 with one line that says so and what to do; the planted token is in no output; a bad
  ``--repo`` or ``HF_ENDPOINT`` exits 2 before any request.
- ``certify`` never writes inside the release: refusals of an ``--out``/``--work`` inside it, of a
  place it cannot write and of a tampered release all leave every byte of it as it was (the one
  certify run that trains lives in tests/test_certify.py, which checks the same of a full run).
- ``release`` attaches the certificate from where certify writes it
  (``DIR/../certificates/<DIR name>/certificate.json``) or from ``--certificate`` (a relative path),
  refuses a certificate of other files (exit 1) and a stale ``reports/certificate.json`` inside the
  folder that would otherwise be published with it (exit 2).

One module-scoped candidate (16 hand-written statutes, laws only: built and validated in seconds,
with the fixtures of tests/test_release_cmd.py); every test works on its own copy of it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from conftest import run_lawset
from fake_hub import FakeHub
from test_release_cmd import recipes, thresholds, write_sources

TOKEN = "hf_plantedSafetyT0ken4c1e9b7d2a5f8e3c6b"
REPO_ID = "lawset-org/lawset"


def tree(root: Path) -> dict[str, str]:
    """Every file and folder under ``root`` (hidden ones too): path -> sha256, or "dir"."""
    return {
        p.relative_to(root).as_posix(): "dir"
        if p.is_dir()
        else hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """root/: raw/, benchmarks/, recipe-v1.yaml, thresholds.yaml and the validated candidate c/."""
    root = tmp_path_factory.mktemp("release-safety")
    write_sources(root)
    recipe, _ = recipes(root)
    thresholds(root, recipe)
    run_lawset(
        "build", "--sources", "raw", "--out", "c", "--recipe", "recipe-v1.yaml", "--no-progress",
        cwd=root,
    )  # fmt: skip
    run_lawset(
        "validate", "c", "--recipe", "recipe-v1.yaml", "--thresholds", "thresholds.yaml", cwd=root
    )
    return root


def candidate(world: Path, name: str) -> Path:
    """A copy of the validated candidate (modification times kept), and an empty project."""
    shutil.copytree(world / "c", world / name)
    (world / f"project-{name}" / "releases").mkdir(parents=True)
    return world / name


def release_args(name: str, version: str) -> list[str]:
    return [
        "release", name, "--version", version, "--project", f"project-{name}",
        "--data-repo", f"data-{name}", "--recipe", "recipe-v1.yaml",
    ]  # fmt: skip


def certificate_of(folder: Path, **changed_sha256: str) -> bytes:
    """A certificate as `lawset certify` writes it, for the data files of ``folder``'s manifest
    (``changed_sha256``: path -> another sha256, a certificate of other files)."""
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    files = [
        {"path": f["path"], "sha256": changed_sha256.get(f["path"], f["sha256"]), "rows": f["rows"]}
        for f in manifest["files"]
    ]
    cert = {
        "certificate_version": 1,
        "created_by": "lawset certify",
        "release": {"name": manifest["name"], "files": files, "files_verified": len(files)},
        "model": {"kind": "scratch", "spec": "tiny", "parameters": 160_000},
        "config": {"name": "tiny_cpu"},
        "hardware": {"device": "cpu"},
        "heldout_loss": {"after_stage2": {"stage1_test": {"loss": 5.5}, "wall_s": 1.0}},
        "lawbench": {"items_per_task": 2, "after_stage2": {"average": 0.25}},
    }
    return (json.dumps(cert, indent=2, sort_keys=True) + "\n").encode()


def git_files(repo: Path, tag: str) -> list[str]:
    out = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-r", "--name-only", tag],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split()


# -- release picks up certify's certificate -------------------------------------------------------


def test_release_attaches_the_certificate_from_where_certify_writes_it(world: Path) -> None:
    folder = candidate(world, "auto")
    cert = world / "certificates" / "auto" / "certificate.json"
    cert.parent.mkdir(parents=True)
    cert.write_bytes(certificate_of(folder))
    before = tree(cert.parent)

    proc = run_lawset(*release_args("auto", "0.1.0"), cwd=world)
    assert f"attaching the certificate {cert.resolve()}" in proc.stderr
    stamped = folder / "reports" / "certificate.json"
    assert stamped.read_bytes() == cert.read_bytes()
    assert f"certificate: {stamped.resolve()} (sha256 " in proc.stdout
    manifest = json.loads((world / "project-auto/releases/v0.1.0.json").read_text("utf-8"))
    assert manifest["certification"]["sha256"] == hashlib.sha256(cert.read_bytes()).hexdigest()
    assert manifest["certification"]["summary"]["model"] == "tiny"
    assert "reports/certificate.json" in git_files(world / "data-auto", "v0.1.0")
    assert tree(cert.parent) == before  # release only reads certify's folder

    # the same certificate given as a relative --certificate: the next version carries it too
    proc = run_lawset(
        *release_args("auto", "0.2.0"), "--certificate", "certificates/auto/certificate.json",
        cwd=world,
    )  # fmt: skip
    manifest = json.loads((world / "project-auto/releases/v0.2.0.json").read_text("utf-8"))
    assert manifest["certification"]["sha256"] == hashlib.sha256(cert.read_bytes()).hexdigest()
    assert "reports/certificate.json" in git_files(world / "data-auto", "v0.2.0")


def test_release_with_a_certificate_from_elsewhere_and_without_one(world: Path) -> None:
    folder = candidate(world, "given")
    elsewhere = world / "by-hand" / "cert.json"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(certificate_of(folder))
    run_lawset(*release_args("given", "0.1.0"), "--certificate", "by-hand/cert.json", cwd=world)
    assert (folder / "reports" / "certificate.json").read_bytes() == elsewhere.read_bytes()

    # --no-certificate leaves certify's default one out
    folder = candidate(world, "none")
    default = world / "certificates" / "none" / "certificate.json"
    default.parent.mkdir(parents=True)
    default.write_bytes(certificate_of(folder))
    proc = run_lawset(*release_args("none", "0.1.0"), "--no-certificate", cwd=world)
    assert "certificate: none attached" in proc.stdout
    assert not (folder / "reports" / "certificate.json").exists()
    manifest = json.loads((world / "project-none/releases/v0.1.0.json").read_text("utf-8"))
    assert manifest["certification"] is None


def test_release_refuses_a_certificate_of_other_files(world: Path) -> None:
    folder = candidate(world, "other")
    part = "data/stage1/train-00000-of-00001.parquet"
    wrong = world / "wrong.json"
    wrong.write_bytes(certificate_of(folder, **{part: "0" * 64}))
    before = tree(folder)
    proc = run_lawset(
        *release_args("other", "0.1.0"), "--certificate", "wrong.json", check=False, cwd=world
    )
    assert proc.returncode == 1, proc.stderr
    assert "--certificate" in proc.stderr and "certifies other data files" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert tree(folder) == before and not (world / "data-other").exists()
    assert list((world / "project-other" / "releases").iterdir()) == []

    # certify's default place holding a certificate of other files: not attached, said so
    default = world / "certificates" / "other" / "certificate.json"
    default.parent.mkdir(parents=True)
    default.write_bytes(wrong.read_bytes())
    proc = run_lawset(*release_args("other", "0.1.0"), cwd=world)
    assert f"not attaching {default.resolve()}: it certifies other files" in proc.stderr
    assert "certificate: none attached" in proc.stdout


def test_release_refuses_a_stale_certificate_inside_the_folder(world: Path) -> None:
    """A reports/certificate.json that certifies nothing known would be published with the
    release although the release did not attach it."""
    folder = candidate(world, "stale")
    (folder / "reports" / "certificate.json").write_text('{"model": "old"}', encoding="utf-8")
    before = tree(folder)
    proc = run_lawset(*release_args("stale", "0.1.0"), check=False, cwd=world)
    assert proc.returncode == 2, proc.stderr
    assert "reports/certificate.json is there but is not a certificate of these files" in (
        proc.stderr
    )
    assert "remove it, or attach a certificate with --certificate FILE" in proc.stderr
    assert tree(folder) == before and not (world / "data-stale").exists()


# -- certify never writes inside DIR --------------------------------------------------------------


def test_certify_refuses_to_write_inside_the_release_and_checks_first(world: Path) -> None:
    folder = candidate(world, "cert")
    before = tree(folder)
    for option, value in (("--out", "cert/reports"), ("--out", "cert"), ("--work", "cert/w")):
        proc = run_lawset(
            "certify", "cert", "--model", "tiny", option, value, check=False, cwd=world
        )
        assert proc.returncode == 2, proc.stderr
        assert f"{option} " in proc.stderr and "inside the release" in proc.stderr
        assert "certify never writes into a release" in proc.stderr
    assert tree(folder) == before

    # the default place beside the release cannot be made: refused before any training
    blocked = world / "blocked"
    blocked.mkdir()
    shutil.copytree(folder, blocked / "cert")
    (blocked / "certificates").write_text("a file, not a folder", encoding="utf-8")
    proc = run_lawset("certify", "blocked/cert", "--model", "tiny", check=False, cwd=world)
    assert proc.returncode == 2, proc.stderr
    assert "is a file, not a folder" in proc.stderr and "--out FOLDER" in proc.stderr

    # a tampered release: exit 1 naming the file, and nothing written anywhere
    victim = folder / "data" / "stage2" / "train-00000-of-00001.parquet"
    victim.write_bytes(victim.read_bytes() + b"\0")
    before = tree(folder)
    proc = run_lawset("certify", "cert", "--model", "tiny", check=False, cwd=world)
    assert proc.returncode == 1, proc.stderr
    assert victim.name in proc.stderr and "differs from manifest.json" in proc.stderr
    assert tree(folder) == before
    assert not (world / "certificates" / "cert").exists()
    assert "Traceback" not in proc.stderr


# -- publish: the Hub unreachable or failing ------------------------------------------------------


@pytest.fixture(scope="module")
def released(world: Path) -> Path:
    """A released copy of the candidate (no certificate)."""
    candidate(world, "pub")
    run_lawset(*release_args("pub", "0.1.0"), "--no-certificate", cwd=world)
    return world / "pub"


def free_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def publish(world: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_lawset(
        "publish", "pub", *args, check=False, cwd=world,
        env={"HF_HOME": str(world / "hf-home"), "HF_HUB_OFFLINE": "0", "NO_PROXY": "127.0.0.1",
             "HF_HUB_DISABLE_TELEMETRY": "1", **env},
    )  # fmt: skip


def test_publish_without_a_reachable_hub_exits_3_and_says_so(world: Path, released: Path) -> None:
    before = tree(released)
    endpoint = f"http://127.0.0.1:{free_port()}"
    proc = publish(world, "--repo", REPO_ID, HF_ENDPOINT=endpoint, HF_TOKEN=TOKEN)
    assert proc.returncode == 3, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"lawset publish: cannot reach the Hub at {endpoint} (")
    assert last.endswith("check the network or HF_ENDPOINT; nothing was uploaded")
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert TOKEN not in proc.stdout + proc.stderr

    proc = publish(world, "--repo", REPO_ID, HF_HUB_OFFLINE="1", HF_TOKEN=TOKEN)
    assert proc.returncode == 3, proc.stderr
    assert "cannot reach the Hub" in proc.stderr and "HF_HUB_OFFLINE is set" in proc.stderr
    assert "nothing was uploaded" in proc.stderr and TOKEN not in proc.stdout + proc.stderr
    assert tree(released) == before


def test_publish_hub_errors_exit_3_with_the_status_and_a_fix(world: Path, released: Path) -> None:
    with FakeHub(TOKEN) as hub:
        proc = publish(world, "--repo", REPO_ID, HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN + "x")
        assert proc.returncode == 3, proc.stderr
        assert "HTTP 401 to create_repo" in proc.stderr and "set HF_TOKEN" in proc.stderr
        assert "nothing was uploaded" in proc.stderr
        assert TOKEN not in proc.stdout + proc.stderr and "Traceback" not in proc.stderr

        hub.fail("POST", r"^/api/repos/create$")
        proc = publish(world, "--repo", REPO_ID, HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN)
        assert proc.returncode == 3, proc.stderr
        assert "HTTP 500 to create_repo" in proc.stderr and "try again later" in proc.stderr
        assert TOKEN not in proc.stdout + proc.stderr
        assert (("dataset", REPO_ID)) not in hub.repos


def test_publish_bad_repo_or_endpoint_exit_2_before_any_request(
    world: Path, released: Path
) -> None:
    with FakeHub(TOKEN) as hub:
        for repo, says in (("no-slash", "expected ORG/NAME"), ("org/a..b", "Cannot have")):
            proc = publish(world, "--repo", repo, HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN)
            assert proc.returncode == 2, proc.stderr
            assert f"--repo {repo!r}" in proc.stderr and says in proc.stderr
        assert hub.requests == []
    proc = publish(world, "--repo", REPO_ID, HF_ENDPOINT="not a url", HF_TOKEN=TOKEN)
    assert proc.returncode == 2, proc.stderr
    assert "HF_ENDPOINT 'not a url' is not an http(s) URL" in proc.stderr
