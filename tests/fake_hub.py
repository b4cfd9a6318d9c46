"""A local stand-in for the Hugging Face Hub: the HTTP endpoints huggingface_hub's client calls
for ``create_repo``, ``upload_folder``, ``create_tag``, ``list_repo_refs`` and ``list_repo_tree``.

No Hub is reachable from the test machines, so ``lawset publish`` is tested against this server
(started on 127.0.0.1 by the test, given to the client through ``HF_ENDPOINT``); the client code
path is the real one. The endpoints were found by reading huggingface_hub 2.4's ``hf_api.py``,
``_commit_api.py`` and ``_upload_pipeline.py`` and by recording what the client sends:

| method | path | client call |
| --- | --- | --- |
| POST | /api/repos/create | create_repo (409 when it exists; exist_ok turns that into success) |
| GET | /api/{type}s/{repo}/refs | list_repo_refs |
| GET | /api/{type}s/{repo}/tree/{rev}[/{path}] | list_repo_tree, list_repo_files (delete_patterns) |
| GET | /api/{type}s/{repo}[/revision/{rev}] | repo_info (upload_folder when nothing changed) |
| POST | /api/validate-yaml | upload_folder checks the README's front matter first |
| POST | /api/{type}s/{repo}/preupload/{rev} | upload mode and remote oid per file |
| POST | /api/{type}s/{repo}/commit/{rev} | the commit (NDJSON: header, file, deletedFile lines) |
| POST | /api/{type}s/{repo}/tag/{rev} | create_tag |

Preupload answers ``uploadMode: regular`` for every file (the real Hub answers ``lfs`` for large
or binary files and the client then uploads them through Xet storage first; the commit step is
the same), with the git blob oid of the file already at that path, so the client's own
"unchanged file" detection works as on the Hub. Repositories live in memory as a chain of commits
(path -> bytes); every request is recorded (method, path, query, headers, body) for the tests.
Unknown endpoints answer 404 and are recorded in :attr:`FakeHub.unhandled`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"


def git_oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Commit:
    oid: str
    parent: str | None
    message: str
    files: dict[str, bytes]


@dataclass
class Repo:
    repo_id: str
    repo_type: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def commit(self, message: str, files: dict[str, bytes], branch: str = "main") -> Commit:
        parent = self.branches.get(branch)
        h = hashlib.sha1(f"{parent}\n{message}\n{len(self.commits)}".encode())
        for path in sorted(files):
            h.update(f"{path}\0{git_oid(files[path])}\n".encode())
        c = Commit(h.hexdigest(), parent, message, dict(files))
        self.commits[c.oid] = c
        self.branches[branch] = c.oid
        return c

    def resolve(self, rev: str) -> Commit | None:
        oid = self.branches.get(rev) or self.tags.get(rev) or rev
        return self.commits.get(oid)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 0


class FakeHub:
    """``with FakeHub(token) as hub:`` serves on ``hub.url`` until the block ends."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[Recorded] = []
        self.unhandled: list[Recorded] = []
        #: (method, path regex) -> how many more times to answer 500 (to simulate a failure)
        self.failures: dict[tuple[str, str], int] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake = hub

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None and self.thread is not None
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail(self, method: str, path_regex: str, times: int = 1) -> None:
        self.failures[(method, path_regex)] = times

    def repo(self, repo_id: str, repo_type: str = "dataset") -> Repo:
        return self.repos[(repo_type, repo_id)]

    def commits_of(self, repo_id: str, repo_type: str = "dataset") -> list[Commit]:
        """Commits of ``main``, oldest first."""
        repo = self.repo(repo_id, repo_type)
        out, oid = [], repo.branches.get("main")
        while oid is not None:
            out.append(repo.commits[oid])
            oid = repo.commits[oid].parent
        return out[::-1]

    # -- endpoints -------------------------------------------------------------------------------

    def handle(self, req: Recorded) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            for (method, regex), left in list(self.failures.items()):
                if left > 0 and req.method == method and re.search(regex, req.path):
                    self.failures[(method, regex)] = left - 1
                    return 500, {"error": "injected failure"}, {}
            if req.method != "GET" and req.headers.get("authorization") != f"Bearer {self.token}":
                return 401, {"error": "Invalid credentials in Authorization header"}, {}
            return self._route(req)

    def _route(self, req: Recorded) -> tuple[int, Any, dict[str, str]]:
        if req.method == "POST" and req.path == "/api/repos/create":
            body = json.loads(req.body)
            rtype = body.get("type") or "model"
            rid = (
                f"{body['organization']}/{body['name']}"
                if body.get("organization")
                else body["name"]
            )
            url = f"{self.url}/{rtype}s/{rid}" if rtype != "model" else f"{self.url}/{rid}"
            if (rtype, rid) in self.repos:
                return 409, {"error": "You already created this dataset repo", "url": url}, {}
            repo = Repo(rid, rtype, body.get("visibility") == "private")
            repo.commit("initial commit", {".gitattributes": GITATTRIBUTES})
            self.repos[(rtype, rid)] = repo
            return 200, {"url": url, "name": rid}, {}
        if req.method == "POST" and req.path == "/api/validate-yaml":
            return _validate_yaml(json.loads(req.body)["content"])
        m = re.fullmatch(r"/api/(model|dataset|space)s/([^/]+/[^/]+)(?:/(.*))?", req.path)
        if not m:
            return 404, {"error": "not found"}, {}
        rtype, rid, rest = m[1], m[2], m[3] or ""
        repo = self.repos.get((rtype, rid))
        if repo is None:
            return 404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"}
        if req.method == "GET" and rest == "refs":
            return (
                200,
                {
                    "branches": [
                        {"name": b, "ref": f"refs/heads/{b}", "targetCommit": o}
                        for b, o in repo.branches.items()
                    ],
                    "tags": [
                        {"name": t, "ref": f"refs/tags/{t}", "targetCommit": o}
                        for t, o in repo.tags.items()
                    ],
                    "converts": [],
                },
                {},
            )
        if req.method == "GET" and (rest == "" or rest.startswith("revision/")):
            commit = repo.resolve(unquote(rest[len("revision/") :]) if rest else "main")
            if commit is None:
                return 404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"}
            return (
                200,
                {
                    "id": rid,
                    "sha": commit.oid,
                    "private": repo.private,
                    "siblings": [{"rfilename": p} for p in sorted(commit.files)],
                },
                {},
            )
        m = re.fullmatch(r"(tree|preupload|commit|tag)/([^/]+)(?:/(.*))?", rest)
        if not m:
            return 404, {"error": "not found"}, {}
        action, rev, sub = m[1], unquote(m[2]), unquote(m[3] or "")
        commit = repo.resolve(rev)
        if action == "tree" and req.method == "GET":
            if commit is None:
                return 404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"}
            recursive = req.query.get("recursive", ["false"])[0].lower() in ("1", "true")
            return 200, _tree(commit.files, sub, recursive), {}
        if action == "preupload" and req.method == "POST":
            files = commit.files if commit else {}
            return (
                200,
                {
                    "files": [
                        {
                            "path": f["path"],
                            "uploadMode": "regular",
                            "shouldIgnore": False,
                            "oid": git_oid(files[f["path"]]) if f["path"] in files else None,
                        }
                        for f in json.loads(req.body)["files"]
                    ]
                },
                {},
            )
        if action == "commit" and req.method == "POST":
            if rev not in repo.branches:
                return 404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"}
            files = dict(repo.resolve(rev).files)  # type: ignore[union-attr]
            message = ""
            for line in req.body.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                key, value = item["key"], item["value"]
                if key == "header":
                    message = value["summary"]
                    parent = value.get("parentCommit")
                    if parent and parent != repo.branches[rev]:
                        return 412, {"error": "parent commit is not the head"}, {}
                elif key == "file":
                    files[value["path"]] = base64.b64decode(value["content"])
                elif key == "deletedFile":
                    if value["path"] not in files:
                        return 404, {"error": "A file with this name doesn't exist"}, {}
                    del files[value["path"]]
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    files = {p: c for p, c in files.items() if not p.startswith(prefix)}
                else:  # lfsFile: this server never asks for LFS uploads
                    return 400, {"error": f"unsupported commit line {key!r}"}, {}
            c = repo.commit(message, files, rev)
            kind = f"{rtype}s/" if rtype != "model" else ""
            return (
                200,
                {
                    "commitUrl": f"{self.url}/{kind}{rid}/commit/{c.oid}",
                    "commitOid": c.oid,
                    "success": True,
                },
                {},
            )
        if action == "tag" and req.method == "POST":
            if commit is None:
                return 404, {"error": "Invalid rev id"}, {"X-Error-Code": "RevisionNotFound"}
            tag = json.loads(req.body)["tag"]
            if tag in repo.tags:
                return 409, {"error": f"Tag {tag} already exists"}, {}
            repo.tags[tag] = commit.oid
            return 200, {}, {}
        return 404, {"error": "not found"}, {}


def _validate_yaml(content: str) -> tuple[int, Any, dict[str, str]]:
    """The README's front matter must be a YAML mapping (as the Hub requires)."""
    import yaml

    m = re.match(r"---\n(.*?)\n---\n", content, re.S)
    if not m:
        return 200, {"errors": [], "warnings": [{"message": "empty or missing yaml metadata"}]}, {}
    try:
        data = yaml.safe_load(m[1])
    except yaml.YAMLError as exc:
        return 400, {"errors": [{"message": f"invalid YAML: {exc}"}]}, {}
    if not isinstance(data, dict):
        return 400, {"errors": [{"message": "metadata must be a mapping"}]}, {}
    return 200, {"errors": [], "warnings": []}, {}


def _tree(files: dict[str, bytes], sub: str, recursive: bool) -> list[dict[str, Any]]:
    prefix = sub.strip("/") + "/" if sub.strip("/") else ""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(files):
        if not path.startswith(prefix):
            continue
        parts = path[len(prefix) :].split("/")
        for k in range(1, len(parts)):
            folder = prefix + "/".join(parts[:k])
            if recursive or k == 1:
                out.setdefault(
                    folder, {"type": "directory", "oid": "0" * 40, "size": 0, "path": folder}
                )
        if recursive or len(parts) == 1:
            content = files[path]
            out[path] = {
                "type": "file",
                "oid": git_oid(content),
                "size": len(content),
                "path": path,
            }
    return list(out.values())


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # quiet: the tests read FakeHub.requests

    def _serve(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Recorded(
            self.command,
            url.path,
            parse_qs(url.query),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        status, payload, headers = self.fake.handle(req)
        req.status = status
        with self.fake.lock:
            self.fake.requests.append(req)
            if status == 404 and payload.get("error") == "not found":
                self.fake.unhandled.append(req)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server's names
