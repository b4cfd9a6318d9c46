"""`lawset build` never loses data and never fails silently, driven as a user types it: from a
working folder, with relative paths (issue 14: items 2, 3, 6, 10 and the exit-code map)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, run_lawset, snapshot

#: the default recipe with only its statute source (conftest's laws_recipe), as the tree holds
BUILD = ("build", "--sources", "raw", "--recipe", "laws-only.yaml", "--no-progress")


@pytest.fixture()
def built(sources: Path, laws_recipe: Path) -> Path:
    """The working folder (tmp_path): raw/ and benchmarks/ from the `sources` fixture and a
    finished build in out/candidate, made with relative paths."""
    work = sources.parent
    proc = run_lawset(*BUILD, "--out", "out/candidate", cwd=work)
    assert "release candidate written to" in proc.stdout
    return work


def test_relative_paths_and_where_output_went(built: Path) -> None:
    out = built / "out" / "candidate"
    assert (out / "manifest.json").is_file() and (out / "data" / "stage1").is_dir()
    marker = json.loads((out / ".lawset-build.json").read_text("utf-8"))
    assert marker["state"] == "done"
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    for f in manifest["files"]:
        assert f["path"] in marker["written"]
    assert "manifest.json" in marker["written"] and "README.md" in marker["written"]


def test_rerunning_a_finished_build_keeps_everything(built: Path) -> None:
    out = built / "out" / "candidate"
    # What later commands add to a candidate: validation results, a certificate, plots, a stamp.
    (out / "reports" / "validation").mkdir()
    (out / "reports" / "validation" / "validation.json").write_text('{"passed": true}')
    (out / "reports" / "certificate.json").write_text('{"gpu": "hours of work"}')
    (out / "reports" / "plots").mkdir()
    (out / "reports" / "plots" / "task_mix.png").write_bytes(b"\x89PNG")
    (out / "recipe.yaml").write_text("name: stamped\n")
    before = snapshot(out)
    proc = run_lawset(*BUILD, "--out", "out/candidate", cwd=built)
    assert "is up to date (nothing rebuilt)" in proc.stdout
    assert "nothing to do" in proc.stderr
    assert snapshot(out) == before


def test_a_changed_build_starts_over_and_deletes_only_its_own_files(built: Path) -> None:
    out = built / "out" / "candidate"
    (out / "notes.txt").write_text("mine")
    (out / "reports" / "validation").mkdir()
    (out / "reports" / "validation" / "validation.json").write_text('{"passed": true}')
    old = json.loads((out / ".lawset-build.json").read_text("utf-8"))
    proc = run_lawset(*BUILD, "--out", "out/candidate", "--limit", "1", cwd=built)
    assert "starting over" in proc.stderr
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "reports" / "validation" / "validation.json").read_text() == '{"passed": true}'
    new = json.loads((out / ".lawset-build.json").read_text("utf-8"))
    assert new["fingerprint"] != old["fingerprint"] and new["state"] == "done"
    # the files of the old build that the new one did not write again are gone
    for rel in set(old["written"]) - set(new["written"]):
        assert not (out / rel).exists()


def test_a_folder_holding_a_release_it_did_not_build_is_refused(
    sources: Path, tmp_path: Path, laws_recipe: Path
) -> None:
    """A released data repository (manifest.json, data/, README.md, .git) is not a build folder."""
    repo = tmp_path / "lawset-data"
    (repo / "data" / "stage1").mkdir(parents=True)
    (repo / "data" / "stage1" / "train-00000-of-00001.parquet").write_bytes(b"PAR1 released")
    (repo / "data" / "stage1" / "extra.parquet").write_bytes(b"PAR1 a file lawset never wrote")
    (repo / "manifest.json").write_text('{"files": []}')
    (repo / "README.md").write_text("the published card")
    (repo / "reports").mkdir()
    (repo / "reports" / "stats.json").write_text("{}")
    before = snapshot(repo)
    proc = run_lawset(*BUILD, "--out", "lawset-data", cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "holds no lawset build" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert snapshot(repo) == before


def test_a_user_file_among_the_build_outputs_is_named_and_kept(built: Path) -> None:
    out = built / "out" / "candidate"
    (out / "data" / "stage1" / "mine.parquet").write_bytes(b"my own rows")
    before = snapshot(out)
    proc = run_lawset(*BUILD, "--out", "out/candidate", "--limit", "1", cwd=built, check=False)
    assert proc.returncode == 2
    assert "data/stage1/mine.parquet" in proc.stderr and "did not write" in proc.stderr
    assert snapshot(out) == before


def _mount(*args: str) -> None:
    proc = subprocess.run(["mount", *args], capture_output=True, text=True)
    if proc.returncode != 0:  # pragma: no cover - a machine where mounting is not allowed
        pytest.skip(f"cannot mount here: {proc.stderr.strip()}")


def test_a_read_only_output_folder_is_one_line_and_exit_2(sources: Path, laws_recipe: Path) -> None:
    work = sources.parent
    ro = work / "ro"
    ro.mkdir()
    _mount("--bind", "-o", "ro", str(ro), str(ro))
    try:
        proc = run_lawset(*BUILD, "--out", "ro/candidate", cwd=work, check=False)
    finally:
        subprocess.run(["umount", str(ro)], check=True)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("lawset build:")]
    assert "ro/candidate" in line and "read-only" in line


def test_a_full_disk_is_one_line_exit_2_and_the_rerun_resumes(
    sources: Path, laws_recipe: Path
) -> None:
    work = sources.parent
    small = work / "small"
    small.mkdir()
    # big enough for the work state, too small for the decontamination index
    _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small))
    try:
        proc = run_lawset(*BUILD, "--out", "small/candidate", cwd=work, check=False)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert "no space left" in proc.stderr.lower() and "run the same command again" in (
            proc.stderr
        )
        # more room: the same command finishes the build
        _mount("-o", "remount,size=64m", str(small))
        done = run_lawset(*BUILD, "--out", "small/candidate", cwd=work)
        assert "release candidate written to" in done.stdout
        assert json.loads((small / "candidate" / ".lawset-build.json").read_text())["state"] == (
            "done"
        )
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_an_unexpected_error_is_one_line_exit_4_with_a_log(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from lawset.builders import cli
    from lawset.builders.pipeline import executor

    def boom(opts: object) -> dict:
        raise KeyError("a bug")

    monkeypatch.setattr(executor, "build", boom)
    monkeypatch.setenv("LAWSET_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "raw").mkdir()
    code = cli.main(["build", "--sources", "raw", "--out", "o"])
    err = capsys.readouterr().err
    assert code == 4
    (line,) = err.strip().splitlines()
    assert line.startswith("lawset build: unexpected error: KeyError")
    log = Path(re.search(r"traceback in (\S+)", line).group(1))
    assert log.parent == tmp_path / "logs"
    assert "Traceback" in log.read_text() and "a bug" in log.read_text()


def test_os_errors_map_to_exit_codes() -> None:
    import errno

    from lawset.builders.errors import exit_code_for, one_line

    full = OSError(errno.ENOSPC, "No space left on device", "out/x.parquet")
    assert exit_code_for(full) == 2
    assert one_line(full).startswith("out/x.parquet: No space left on device; free some space")
    assert exit_code_for(ConnectionRefusedError(111, "Connection refused")) == 3
    assert exit_code_for(PermissionError(13, "Permission denied", "f")) == 2
    assert exit_code_for(ValueError("bug")) == 4


def test_every_command_has_help_quiet_and_verbose() -> None:
    from lawset.builders.cli import _subparsers, parser

    p = parser()
    subs = _subparsers(p)
    assert {"build", "validate", "release", "publish", "certify", "score"} <= {
        s.prog.split()[-1] for s in subs
    }
    for s in subs:
        flags = {o for a in s._actions for o in a.option_strings}
        assert {"--help", "--quiet", "--verbose"} <= flags, s.prog


def test_the_readme_exit_code_table_is_the_one_map() -> None:
    from lawset.builders.errors import EXIT_CODES

    readme = (REPO / "README.md").read_text("utf-8")
    table = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (\d) \| ([^|]+) \|", table, re.M))
    assert {int(k) for k in rows} == set(EXIT_CODES)


def test_progress_status_lines_quiet_and_verbose(sources: Path, laws_recipe: Path) -> None:
    """Every phase without a bar says what it does (at once with --verbose, after 2 s without);
    --quiet prints only where output went."""
    work = sources.parent
    env = {"LAWSET_CACHE_DIR": "off"}  # the index phases really run
    loud = run_lawset(*BUILD, "--out", "a", "--verbose", cwd=work, env=env)
    for phase in ("plan", "statute catalog", "decontamination index", "dedup", "leakage check"):
        assert re.search(rf"^lawset: {phase}.* \.\.\.$", loud.stderr, re.M), phase
        assert re.search(rf"^lawset: {phase}.*: done in [\d.]+ s$", loud.stderr, re.M), phase
    quiet = run_lawset(*BUILD, "--out", "b", "--quiet", cwd=work, env=env)
    assert quiet.stderr == ""
    assert quiet.stdout.splitlines() == [
        f"release candidate written to {work / 'b'}/",
        f"stats: {work / 'b'}/reports/stats.json   manifest: {work / 'b'}/manifest.json",
    ]
