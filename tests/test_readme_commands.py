"""The README's commands and the data-repo CI template's, run exactly as written, from the folder
they are written for (issue 14: absolute temporary paths once hid a crash in
``lawset validate out/candidate``).

The commands are read from README.md and .github/workflows/data-ci.yml, not copied here, so the
documents cannot drift from what is tested. Substitutions, each the smallest that lets them run
here: ``.venv/bin/lawset`` (and ``lawset``) is this interpreter's ``python -m
lawset.builders.cli``; the main build gets ``--limit`` (a sample: the whole corpus takes minutes);
``ORG/NAME`` is ``acme/legal-zh`` and of ``[--private] [--dry-run]`` only ``--dry-run`` is kept
(no Hub here); of the certify lines only the offline ``--model tiny`` one runs (the other needs a
real model and GPUs).

The project root is a fresh folder with an empty ``releases/``, and ``../shared`` beside it is the
real shared tree (read-only use), so the release's data repository (``../lawset-data``) and
``out/`` land in the test's own folder.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, SHARED_RAW, snapshot

LIMIT = "40"


def bash_commands(markdown: str, section: str) -> list[str]:
    """The ``lawset`` command lines of the bash blocks in one README section (continuations
    joined, trailing comments dropped)."""
    body = markdown.split(f"\n## {section}", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", body, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line.startswith(".venv/bin/lawset "):
                lines.append(line)
    return lines


def argv(line: str) -> list[str]:
    words = shlex.split(line)
    assert words[0] in (".venv/bin/lawset", "lawset"), line
    words = [w.replace("ORG/NAME", "acme/legal-zh") for w in words[1:]]
    words = [w for w in words if w not in ("[--private]", "[--dry-run]")]
    if "--repo" in words and "[--dry-run]" in line:
        words.append("--dry-run")
    return [sys.executable, "-m", "lawset.builders.cli", *words]


def run(line: str, cwd: Path, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*argv(line), *extra],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    )
    assert proc.returncode == 0, f"{line} (in {cwd}) exited {proc.returncode}:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """tmp/main (a project root with releases/) with tmp/shared -> the real ../shared."""
    assert SHARED_RAW.is_dir()
    (tmp_path / "main" / "releases").mkdir(parents=True)
    (tmp_path / "shared").symlink_to(SHARED_RAW.parent)
    return tmp_path / "main"


def test_the_readme_commands_run_as_written(project: Path) -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    (build,) = bash_commands(readme, "The main job")
    assert "--out out/candidate" in build
    out = project / "out" / "candidate"
    proc = run(build, project, ("--limit", LIMIT, "--no-progress"))
    assert "release candidate written to" in proc.stdout and str(out) in proc.stdout

    (validate,) = bash_commands(readme, "Validate")
    assert validate.endswith("validate out/candidate")
    proc = run(validate, project)
    assert "PASSED" in proc.stdout
    assert json.loads((out / "reports/validation/validation.json").read_text())["passed"]

    cmds = bash_commands(readme, "Release, verify, publish")
    assert cmds[0] == validate  # the section repeats the gate first: it has run
    release, verify, publish = cmds[1:]
    assert " release out/candidate" in release and "--verify" in verify and "publish" in publish
    run(release, project)
    assert (project / "releases" / "v0.1.0.json").is_file()
    assert (project.parent / "lawset-data" / ".git").is_dir()
    proc = run(verify, project)
    proc = run(publish, project)
    assert "dry run" in (proc.stdout + proc.stderr).lower()

    certify = [c for c in bash_commands(readme, "Certify") if "--model tiny" in c]
    assert len(certify) == 1
    released = snapshot(out)
    proc = run(certify[0], project)
    # certify never writes into the (released) folder it trains on
    assert snapshot(out) == released
    certificates = list((project / "out").rglob("certificate.json"))
    assert certificates and all(out not in c.parents for c in certificates)

    # Rerunning the main job on the finished candidate keeps everything (issue 14, item 3).
    proc = run(build, project, ("--limit", LIMIT, "--no-progress"))
    assert "up to date" in proc.stdout
    assert snapshot(out) == released


def test_the_data_ci_template_runs_as_written(tmp_path: Path) -> None:
    """The template's build and validate steps, from main/ with the candidate at ../candidate."""
    workflow = (REPO / ".github" / "workflows" / "data-ci.yml").read_text("utf-8")
    lines = [
        re.sub(r"^\s*run:\s*", "", line).strip()
        for line in workflow.splitlines()
        if re.match(r"^\s*run: lawset ", line)
    ]
    assert [line.split()[1] for line in lines] == ["build", "validate"]
    main = tmp_path / "main"
    main.mkdir()
    (tmp_path / "shared").symlink_to(SHARED_RAW.parent)
    build, validate = (line.replace('"$LIMIT"', LIMIT) for line in lines)
    run(build, main)
    proc = run(validate, main)
    assert "PASSED" in proc.stdout
    assert (tmp_path / "candidate" / "reports" / "validation" / "validation.json").is_file()
