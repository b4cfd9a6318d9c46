"""`lawset build --rewriter openai` never succeeds silently and never writes a password, driven as
a user types it: from a working folder, with relative paths (issue 14: items 4 and 8).

- a dead server, or more than ``max_failure_rate`` of a shard's requests failed for good, stops
  the build with exit 3, naming the server (without credentials) and the counts, and the build
  writes nothing but its own work state;
- a ``--base-url`` (or a recipe ``base_url``) that is not an http(s) URL is refused with exit 2
  before any work;
- credentials in ``--base-url`` authenticate the requests and reach no file and no output.
"""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest
from conftest import run_lawset, snapshot
from fake_openai import CASE_TASKS, FakeOpenAI, make_recipe, make_sources, rows

SECRET = "s3cr3t"
#: lawset's own state in --out while a build is unfinished
WORK_STATE = {".lawset-work", ".lawset-cache", ".lawset-build.json"}


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workdir(tmp_path: Path, *, files: int = 1, per_file: int = 2, **rewrite: object) -> Path:
    """tmp_path with src/ (a 刑法 and ``files`` CAIL2018 files of ``per_file`` theft cases: 4
    rewrite-eligible queries each) and r.yaml (one shard per file; ``rewrite``: the step's
    params)."""
    make_sources(tmp_path / "src", files=files, per_file=per_file)
    make_recipe(tmp_path / "r.yaml", shards=files, rewrite=dict(rewrite))
    return tmp_path


def build(work: Path, base_url: str, *extra: str) -> tuple[int, str, str]:
    proc = run_lawset(
        "build", "--sources", "src", "--out", "out", "--recipe", "r.yaml", "--only", "cases",
        "--no-progress", "--rewriter", "openai", "--base-url", base_url, "--model", "fake",
        *extra, check=False, cwd=work,
    )  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def files_holding(root: Path, needle: bytes) -> list[str]:
    return [
        p.relative_to(root).as_posix()
        for p in sorted(root.rglob("*"))
        if p.is_file() and needle in p.read_bytes()
    ]


def assert_only_work_state(out: Path) -> None:
    assert {p.name for p in out.iterdir()} <= WORK_STATE, sorted(p.name for p in out.iterdir())


def test_dead_server_stops_the_build_with_exit_3(tmp_path: Path) -> None:
    # 2 shards on 2 worker processes (the error crosses a process boundary), 12 queries each;
    # nothing listens on the port.
    work = workdir(tmp_path, files=2, per_file=3, max_retries=1)
    before = snapshot(work, skip="out")
    port = closed_port()
    code, stdout, stderr = build(
        work, f"http://user:{SECRET}@127.0.0.1:{port}/v1", "--workers", "2", "--concurrency", "8"
    )
    assert code == 3, stderr
    server = f"http://127.0.0.1:{port}/v1"
    # One line: the server without its credentials, the counts, why, and what to do. With 4
    # requests in flight per worker the build stops after the first 8 failures, not after 12.
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"lawset build: rewrite server {server}: 0 of 8 requests answered")
    assert "8 failed after up to 1 retries: 8 connection failed" in stderr
    assert "connection refused" in stderr and "none of the last 8 was answered" in stderr
    assert "check that the server runs" in stderr and "Traceback" not in stderr
    assert SECRET not in stdout + stderr
    # Nothing released; nothing outside --out changed; no file holds the password.
    out = work / "out"
    assert_only_work_state(out)
    assert snapshot(work, skip="out") == before
    assert files_holding(out, SECRET.encode()) == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("not a url", "'not a url' is not a URL"),
        ("ftp://x", "'ftp://x' is not an http:// or https:// URL"),
        ("127.0.0.1:8000/v1", "'127.0.0.1:8000/v1' is not an http:// or https:// URL"),
        ("http://:8000/v1", "'http://:8000/v1' names no host"),
        (f"ftp://user:{SECRET}@x/v1", "'ftp://x/v1' is not an http:// or https:// URL"),
    ],
)
def test_base_url_that_is_not_an_http_url_is_refused(tmp_path: Path, url: str, problem) -> None:
    work = workdir(tmp_path)
    before = snapshot(work, skip="out")
    code, stdout, stderr = build(work, url)
    assert code == 2
    assert stderr.startswith(f"lawset build: --base-url {problem}"), stderr
    assert "e.g. --base-url http://127.0.0.1:8000/v1" in stderr
    assert SECRET not in stdout + stderr
    assert not (work / "out").exists() and snapshot(work, skip="out") == before


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("ftp://x", "base_url 'ftp://x' is not an http:// or https:// URL"),
        (f"http://user:{SECRET}@h/v1", "base_url 'http://h/v1' holds credentials"),
    ],
)
def test_recipe_base_url_is_checked_before_any_work(tmp_path: Path, base_url: str, message):
    # A recipe is recorded with a release (lawset release copies it): no credentials in it.
    work = workdir(tmp_path, rewriter="openai", base_url=base_url, model="m")
    before = snapshot(work, skip="out")
    proc = run_lawset(
        "build", "--sources", "src", "--out", "out", "--recipe", "r.yaml", "--no-progress",
        check=False, cwd=work,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "r.yaml: steps[" in proc.stderr and message in proc.stderr, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert not (work / "out").exists() and snapshot(work, skip="out") == before


def test_credentials_authenticate_and_are_written_nowhere(tmp_path: Path) -> None:
    # One request of 8 fails for good (12.5%, below the default 20%): the build goes on, and the
    # record whose request failed is rejected with the error as its detail.
    work = workdir(tmp_path, max_retries=0, on_failure="reject")
    with FakeOpenAI(["500"]) as srv:
        port = srv.base_url.split(":")[2].split("/")[0]
        url = f"http://user:{SECRET}@127.0.0.1:{port}/v1"
        code, stdout, stderr = build(work, url, "--keep-work", "--verbose")
        log = list(srv.log)
    assert code == 0, stderr
    # Every request carried the credentials, as HTTP basic authentication.
    expected = "Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()
    assert len(log) == 8 and {e["auth"] for e in log} == {expected}
    out = work / "out"
    stats = json.loads((out / "reports" / "stats.json").read_text("utf-8"))
    assert stats["counters"]["rewrite"]["rewritten:fake"] == 7
    assert stats["steps"]["rewrite"]["dropped"] == {"request_server_error": 1}
    rejects = (out / "reports" / "rejects" / "rewrite.jsonl").read_text("utf-8")
    assert "Error code: 500" in rejects
    assert json.loads((out / "reports" / "rewrite_client.json").read_text())["requests_failed"] == 1
    # The card records the server without its credentials; no file, no output has the password
    # (the card, manifest, stats, client report, rejects, the cache, the kept work state).
    assert f"http://127.0.0.1:{port}/v1" in (out / "README.md").read_text("utf-8")
    assert files_holding(out, SECRET.encode()) == []
    assert files_holding(out, expected.split()[1].encode()) == []
    assert SECRET not in stdout + stderr
    assert len([r for r in rows(out) if r["task"] in CASE_TASKS]) == 7


@pytest.mark.parametrize(("max_failure_rate", "code"), [(None, 3), (0.5, 0)])
def test_failure_rate_above_the_recipe_threshold_stops_the_build(
    tmp_path: Path, max_failure_rate: float | None, code: int
) -> None:
    # 3 of the shard's 8 requests fail for good (37.5%): above the default 20%, below 50%.
    params: dict = {"max_retries": 0}
    if max_failure_rate is not None:
        params["max_failure_rate"] = max_failure_rate
    work = workdir(tmp_path, **params)
    before = snapshot(work, skip="out")
    with FakeOpenAI(["500", "500", "500"]) as srv:
        got, stdout, stderr = build(work, srv.base_url)
        server = srv.base_url
    assert got == code, stderr
    out = work / "out"
    if code == 3:
        assert stderr.strip() == stderr.strip().splitlines()[0]
        assert f"rewrite server {server}: 5 of 8 requests answered" in stderr
        assert "(3 failed after up to 0 retries: 3 HTTP 5xx" in stderr
        assert "more than the rewrite step's max_failure_rate (20%)" in stderr
        assert "raise the rewrite step's max_failure_rate in the recipe" in stderr
        assert_only_work_state(out)
    else:
        stats = json.loads((out / "reports" / "stats.json").read_text("utf-8"))
        assert stats["counters"]["rewrite"]["fallback:request_server_error"] == 3
        assert stats["counters"]["rewrite"]["rewritten:fake"] == 5
    assert snapshot(work, skip="out") == before


def test_answers_that_fail_their_checks_are_not_request_failures(tmp_path: Path) -> None:
    # Every answer cites an article that does not exist: each record is asked twice, then keeps
    # its template answer. The server answered every request: the build succeeds.
    work = workdir(tmp_path)
    with FakeOpenAI(always_bad_every=1) as srv:
        code, _, stderr = build(work, srv.base_url)
        answered = len(srv.answered_keys())
    assert code == 0, stderr
    stats = json.loads((work / "out" / "reports" / "stats.json").read_text("utf-8"))
    assert answered == 16
    assert stats["counters"]["rewrite"]["fallback:citations_exist"] == 8
