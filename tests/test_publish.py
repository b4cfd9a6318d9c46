"""`lawset publish`: against a local fake of the Hub's HTTP endpoints (tests/fake_hub.py).

No Hub is reachable from the test machines. The fake Hub is started by each test on 127.0.0.1 and
handed to huggingface_hub through ``HF_ENDPOINT`` (read at import, so the CLI runs in a
subprocess), with the real client code path: ``create_repo``, ``upload_folder``, ``create_tag``.
A token is planted in ``HF_TOKEN``; no output, file or request may carry it except the
``Authorization`` header. The release folder is hand-made (publish needs no build).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fake_hub import FakeHub
from lawset.builders import cli

TOKEN = "hf_plAnTeDtOkEn7f3c9a1e5b2d8c4f6a0e9b7d"
REPO_ID = "lawset-org/lawset"
PARQUET = "data/stage1/train-00000-of-00001.parquet"


def make_release(root: Path, version: str, rows: list[str]) -> Path:
    """A released folder as `lawset release` leaves it, with what must not be published."""
    (root / "data" / "stage1").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"id": rows, "text": [f"问题{r}" for r in rows]}), root / PARQUET)
    data = (root / PARQUET).read_bytes()
    manifest = {
        "name": "lawset",
        "lawset_version": "0.1.0",
        "recipe": {"name": "test", "sha256": "0" * 64},
        "options": {"only": None, "limit": None},
        "configs": {
            "stage1": {"train": {"rows": len(rows), "bytes": len(data), "files": [PARQUET]}}
        },
        "files": [
            {
                "path": PARQUET,
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "rows": len(rows),
            }
        ],
        "release": {"version": version, "tag": f"v{version}"},
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    (root / "README.md").write_text(
        "---\npretty_name: lawset test\nconfigs:\n- config_name: stage1\n  data_files:\n"
        f"  - split: train\n    path: data/stage1/train-*.parquet\n---\n\n# lawset {version}\n",
        encoding="utf-8",
    )
    (root / "reports" / "rejects").mkdir(parents=True, exist_ok=True)
    (root / "reports" / "stats.json").write_text(json.dumps({"rows": len(rows)}), encoding="utf-8")
    (root / "reports" / "rejects" / "dedup.jsonl").write_text('{"record": "dropped"}\n')
    (root / ".lawset-work").mkdir(exist_ok=True)
    (root / ".lawset-work" / "lock").write_text("")
    return root


@pytest.fixture()
def hub() -> Iterator[FakeHub]:
    with FakeHub(TOKEN) as h:
        yield h


class Runs:
    """Runs ``lawset publish`` in subprocesses against one fake Hub; keeps every output."""

    def __init__(self, hub: FakeHub, home: Path) -> None:
        self.hub, self.home, self.outputs = hub, home, []

    def __call__(self, *args: str | Path, token: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": "/usr/bin:/bin",
            "HF_ENDPOINT": self.hub.url,
            "HF_HOME": str(self.home),  # an empty login cache
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "NO_PROXY": "127.0.0.1",
            **({"HF_TOKEN": TOKEN} if token else {}),
        }
        proc = subprocess.run(
            [sys.executable, "-m", "lawset.builders.cli", "publish", *map(str, args)],
            env=env,
            capture_output=True,
            text=True,
        )
        self.outputs += [proc.stdout, proc.stderr]
        return proc


@pytest.fixture()
def runs(hub: FakeHub, tmp_path: Path) -> Runs:
    return Runs(hub, tmp_path / "hf-home")


def remote_files(hub: FakeHub, rev: str) -> dict[str, bytes]:
    commit = hub.repo(REPO_ID).resolve(rev)
    assert commit is not None
    return {p: c for p, c in commit.files.items() if p != ".gitattributes"}


def local_files(root: Path) -> dict[str, bytes]:
    """What must be published: every file but the work folder and the rejects."""
    files = {f.relative_to(root).as_posix(): f for f in root.rglob("*") if f.is_file()}
    return {
        p: f.read_bytes()
        for p, f in files.items()
        if not p.startswith((".lawset-work/", "reports/rejects/"))
    }


def assert_token_only_in_authorization(hub: FakeHub, runs: Runs, tmp_path: Path) -> None:
    secret = TOKEN.encode()
    for out in runs.outputs:
        assert TOKEN not in out
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert secret not in f.read_bytes(), f
    writes = 0
    for r in hub.requests:
        assert secret not in r.body and TOKEN not in r.path and TOKEN not in json.dumps(r.query)
        for name, value in r.headers.items():
            if name == "authorization":
                assert value == f"Bearer {TOKEN}"
            else:
                assert TOKEN not in value, name
        writes += r.method == "POST"
    assert writes and all(
        r.headers.get("authorization") == f"Bearer {TOKEN}"
        for r in hub.requests
        if r.method == "POST"
    )


def test_dry_run_prints_the_exact_operations_and_sends_nothing(
    hub: FakeHub, runs: Runs, tmp_path: Path
) -> None:
    folder = make_release(tmp_path / "rel", "0.1.0", ["a", "b"])
    proc = runs(folder, "--repo", REPO_ID, "--dry-run", "--private")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "dry run, nothing is sent" in out and f"Endpoint {hub.url}; token from HF_TOKEN" in out
    assert (
        f'1. create_repo(repo_id="{REPO_ID}", repo_type="dataset", private=True, exist_ok=True)'
        in out
    )
    assert f'2. upload_folder(folder_path="{folder}", repo_id="{REPO_ID}"' in out
    assert 'delete_patterns="*"' in out and "allow_patterns=<the 4 files below>" in out
    sha = hashlib.sha256((folder / PARQUET).read_bytes()).hexdigest()
    assert f"    {PARQUET}  {(folder / PARQUET).stat().st_size:,} bytes  sha256 {sha}" in out
    assert '3. create_tag(repo_id="lawset-org/lawset", repo_type="dataset", tag="v0.1.0"' in out
    assert "rejects" not in out and ".lawset-work" not in out
    assert hub.requests == []
    assert TOKEN not in proc.stdout + proc.stderr


def test_interrupted_publish_completes_without_a_duplicate_commit_and_versions_mirror(
    hub: FakeHub, runs: Runs, tmp_path: Path
) -> None:
    folder = make_release(tmp_path / "rel", "0.1.0", ["a", "b"])
    hub.fail("POST", r"/tag/")  # the upload succeeds, then tagging fails once
    proc = runs(folder, "--repo", REPO_ID, "--private")
    assert proc.returncode == 3 and "answered HTTP 500 to create_tag" in proc.stderr
    assert "not tagged: run the same command again to tag them" in proc.stderr
    assert [c.message for c in hub.commits_of(REPO_ID)] == [
        "initial commit",
        "lawset release v0.1.0",
    ]
    assert hub.repo(REPO_ID).tags == {} and hub.repo(REPO_ID).private

    proc = runs(folder, "--repo", REPO_ID, "--private")  # the rerun
    assert proc.returncode == 0, proc.stderr
    assert "main already held these files (no new commit)" in proc.stdout
    commits = hub.commits_of(REPO_ID)
    assert [c.message for c in commits] == ["initial commit", "lawset release v0.1.0"]
    assert hub.repo(REPO_ID).tags == {"v0.1.0": commits[-1].oid}
    assert remote_files(hub, "v0.1.0") == local_files(folder)  # no rejects, no work folder
    assert set(local_files(folder)) == {"README.md", "manifest.json", PARQUET, "reports/stats.json"}

    n = len(hub.requests)
    proc = runs(folder, "--repo", REPO_ID)  # published already: nothing is sent
    assert proc.returncode == 0 and "already published with these files" in proc.stdout
    assert all("/preupload/" not in r.path and "/commit/" not in r.path for r in hub.requests[n:])
    assert len(hub.commits_of(REPO_ID)) == 2

    # the next version: a file removed, one added, one changed; the Hub mirrors the folder
    make_release(folder, "0.2.0", ["a", "b", "c"])
    (folder / "reports" / "stats.json").unlink()
    (folder / "reports" / "contamination.json").write_text("{}", encoding="utf-8")
    proc = runs(folder, "--repo", REPO_ID)
    assert proc.returncode == 0, proc.stderr
    assert "uploaded; commit" in proc.stdout and "tag v0.2.0" in proc.stdout
    commits = hub.commits_of(REPO_ID)
    assert [c.message for c in commits][-1] == "lawset release v0.2.0" and len(commits) == 3
    assert remote_files(hub, "v0.2.0") == local_files(folder)
    assert "reports/stats.json" not in remote_files(hub, "v0.2.0")
    assert "reports/stats.json" in remote_files(hub, "v0.1.0")  # the old tag is untouched
    assert ".gitattributes" in hub.repo(REPO_ID).resolve("main").files  # the Hub's own file

    # a version is never changed: the same tag with other files is refused
    make_release(folder, "0.2.0", ["a", "b", "d"])
    (folder / "reports" / "stats.json").unlink()
    proc = runs(folder, "--repo", REPO_ID)
    assert proc.returncode == 2 and "already has a tag v0.2.0 with other files" in proc.stderr
    assert len(hub.commits_of(REPO_ID)) == 3
    assert hub.unhandled == []
    assert_token_only_in_authorization(hub, runs, tmp_path)


def test_without_a_token_nothing_is_sent(hub: FakeHub, runs: Runs, tmp_path: Path) -> None:
    folder = make_release(tmp_path / "rel", "0.1.0", ["a"])
    proc = runs(folder, "--repo", REPO_ID, token=False)
    assert proc.returncode == 2 and "no Hugging Face token: set HF_TOKEN" in proc.stderr
    assert hub.requests == []


def publish_here(*args: str | Path) -> tuple[int, str]:
    """Usage errors found before any network call: in this process."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = cli.main(["publish", *map(str, args)])
    return rc, err.getvalue()


def test_unreleased_corrupted_and_badly_named_releases_are_refused(tmp_path: Path) -> None:
    folder = make_release(tmp_path / "rel", "0.1.0", ["a", "b"])
    rc, err = publish_here(folder, "--repo", "no-slash", "--dry-run")
    assert rc == 2 and "expected ORG/NAME" in err
    data = bytearray((folder / PARQUET).read_bytes())
    data[10] ^= 1
    (folder / PARQUET).write_bytes(data)
    rc, err = publish_here(folder, "--repo", REPO_ID, "--dry-run")
    assert rc == 1 and f"{PARQUET}: sha256 differs" in err
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    del manifest["release"]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    rc, err = publish_here(folder, "--repo", REPO_ID, "--dry-run")
    assert rc == 2 and "not released" in err and "lawset release" in err
    rc, err = publish_here(tmp_path / "missing", "--repo", REPO_ID)
    assert rc == 2 and "no such folder" in err
