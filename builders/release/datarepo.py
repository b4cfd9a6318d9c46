"""The data repository: a git repository of the dataset (default ``../lawset-data`` beside the
project, created with ``git init`` when missing) holding exactly the released files of each
version, tagged ``vX.Y.Z``, so ``git checkout vX.Y.Z`` + ``load_dataset(path, config)`` gives that
version. A release replaces the previous tree."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from .. import console
from .errors import ReleaseError

#: default data repository, relative to the project root
DEFAULT_DATA_REPO = Path("..") / "lawset-data"
#: git identity and settings for data-repository commits: works without any git config
GIT_CONFIG = (
    "-c",
    "user.name=lawset",
    "-c",
    "user.email=lawset@localhost",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
    "-c",
    "core.autocrlf=false",
)


def git_blob_sha1(path: Path) -> str:
    """The git object id of a file's content (what ``git ls-tree`` lists)."""
    h = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class DataRepo:
    """The git repository that holds every release's files, one tag per version."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str, stdout: Any = subprocess.PIPE, check: bool = True) -> Any:
        proc = subprocess.run(
            ["git", *GIT_CONFIG, "-C", str(self.path), *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=stdout is subprocess.PIPE,
        )
        if check and proc.returncode != 0:
            raise ReleaseError(
                f"data repository {self.path}: git {' '.join(args)} failed: "
                f"{proc.stderr.strip() if isinstance(proc.stderr, str) else proc.stderr.decode()}"
            )
        return proc

    def exists(self) -> bool:
        return (self.path / ".git").exists()

    def preflight(self, tag: str) -> None:
        """Refuse, before anything is written, a data repository a release cannot commit to."""
        if not self.exists():
            if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
                raise ReleaseError(
                    f"--data-repo {self.path}: exists, is not empty and is not a git repository"
                )
            return
        if self.has_tag(tag):
            return  # an interrupted release: nothing will be committed
        if self.git("status", "--porcelain").stdout.strip():
            raise ReleaseError(
                f"data repository {self.path} has uncommitted changes: commit or remove them first"
            )
        if self.git("symbolic-ref", "-q", "HEAD", check=False).returncode != 0:
            raise ReleaseError(
                f"data repository {self.path} is not on a branch (a checked-out tag?): run "
                f"`git -C {self.path} checkout main` first"
            )

    def ensure(self) -> None:
        if self.exists():
            return
        self.path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q")
        console.info(f"created the data repository {self.path} (git init)")

    def has_tag(self, tag: str) -> bool:
        if not self.exists():
            return False
        return (
            self.git("rev-parse", "-q", "--verify", f"refs/tags/{tag}", check=False).returncode == 0
        )

    def tree(self, rev: str) -> dict[str, str]:
        """path -> git blob id of every file at ``rev``."""
        out = self.git("ls-tree", "-r", "-z", rev).stdout
        tree = {}
        for entry in out.split("\0"):
            if entry:
                meta, path = entry.split("\t", 1)
                tree[path] = meta.split()[2]
        return tree

    def stream(self, rev: str, *paths: str) -> Any:
        """Iterate (path, file object) over the files at ``rev`` (a ``git archive`` stream)."""
        proc = subprocess.Popen(
            ["git", *GIT_CONFIG, "-C", str(self.path), "archive", "--format=tar", rev, *paths],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                for member in tar:
                    if member.isfile():
                        f = tar.extractfile(member)
                        if f is not None:
                            yield member.name, f
        finally:
            proc.stdout.close()
            err = proc.stderr.read().decode() if proc.stderr else ""
            if proc.wait() != 0:
                raise ReleaseError(f"data repository {self.path}: git archive {rev}: {err.strip()}")

    def sha256s(self, rev: str) -> dict[str, str]:
        out = {}
        for name, f in self.stream(rev):
            h = hashlib.sha256()
            for chunk in iter(lambda: f.read(1 << 20), b""):  # noqa: B023 - consumed at once
                h.update(chunk)
            out[name] = h.hexdigest()
        return out

    def commit_release(self, root: Path, files: list[str], tag: str, message: str) -> str:
        """Replace the tree by ``files`` of ``root``, commit, tag; returns the commit id.
        :meth:`preflight` has checked that the repository is clean and on a branch."""
        self.git("rm", "-r", "-q", "--ignore-unmatch", "--", ".")
        for rel in files:
            dest = self.path / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / rel, dest)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        self.git("tag", "-a", tag, "-m", message)
        return self.git("rev-parse", "HEAD").stdout.strip()
