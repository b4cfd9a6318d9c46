"""`lawset build --executor ray`: the same files as the local executor, dedup on Ray equal to the
local dedup, resume on Ray, and a local build that never imports Ray.

One local Ray (2 CPUs, loopback only, usage stats off, no dashboard) serves the whole module; the
builds run through the CLI in fresh processes and join it with ``--ray-address``.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import run_lawset
from lawset.builders.pipeline.dedup_phase import FEATURES, FeatureWriter, find_duplicates
from lawset.builders.recipe import load_recipe

BUILD = ("--only", "exam,qa", "--limit", "12", "--workers", "2", "--no-progress")


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A private Ray for the module: 2 CPUs, 127.0.0.1 only; shut down at the end."""
    from lawset.builders.pipeline.ray_executor import import_ray

    ray = import_ray(loopback=True)  # usage stats off, every server bound to 127.0.0.1

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        logging_level=logging.WARNING,
    )
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:")
        yield address
    finally:
        ray.shutdown()


def run_build(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``lawset build`` in a fresh process, as ``run_lawset`` runs it, plus HOME: a driver joining
    the module's Ray reads the cluster's auth token from ~/.ray/auth_token (Ray's default)."""
    proc = subprocess.run(
        [sys.executable, "-m", "lawset.builders.cli", "build", *map(str, args)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, f"lawset build {args} exited {proc.returncode}:\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def local_build(shared_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small build of ../shared/raw with the local executor, its work folder kept."""
    out = tmp_path_factory.mktemp("local") / "out"
    run_lawset("build", "--sources", shared_raw, "--out", out, *BUILD, "--keep-work")
    return out


def release_files(root: Path) -> dict[str, bytes]:
    """Every file a build writes, but the work folder and the wall-clock timings."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and ".lawset-work" not in p.parts
        and p.relative_to(root).as_posix() != "reports/timings.json"
    }


def assert_same_files(a: Path, b: Path) -> None:
    fa, fb = release_files(a), release_files(b)
    assert sorted(fa) == sorted(fb)
    assert any(name.startswith("data/stage1/") for name in fa)
    for name in fa:
        assert fa[name] == fb[name], f"{name} differs between {a} and {b}"


def test_ray_build_writes_the_local_builds_files_byte_for_byte(
    shared_raw: Path, local_build: Path, ray_address: str, tmp_path: Path
) -> None:
    out = tmp_path / "ray"
    proc = run_build(
        "--sources",
        shared_raw,
        "--out",
        out,
        *BUILD,
        "--executor",
        "ray",
        "--ray-address",
        ray_address,
    )
    assert f"release candidate written to {out}/" in proc.stdout
    assert_same_files(local_build, out)
    timings = json.loads((out / "reports" / "timings.json").read_text())
    assert timings["executor"] == "ray" and timings["workers"] == 2
    assert not (out / ".lawset-work").exists()


def test_a_killed_ray_build_resumes_skipping_finished_shards(
    shared_raw: Path, local_build: Path, ray_address: str, tmp_path: Path
) -> None:
    # The state a build killed midway leaves: half the shards done (marker written), the others
    # half written or not started, no release files yet.
    out = tmp_path / "killed"
    shutil.copytree(local_build / ".lawset-work", out / ".lawset-work")
    work = out / ".lawset-work"
    markers = sorted((work / "markers").glob("*.json"))
    redo = markers[::2]
    for m in redo:
        m.unlink()
    shutil.rmtree(work / "shards" / redo[0].stem)  # not started; the others are leftovers
    kept = {
        p: p.stat().st_mtime_ns
        for m in markers
        if m not in redo
        for p in (work / "shards" / m.stem).iterdir()
    }
    proc = run_build(
        "--sources",
        shared_raw,
        "--out",
        out,
        *BUILD,
        "--executor",
        "ray",
        "--ray-address",
        ray_address,
        "--keep-work",
    )
    assert f"resuming: {len(markers) - len(redo)} of {len(markers)} shards already done" in (
        proc.stderr
    )
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())  # finished shards skipped
    assert all(m.exists() for m in redo)  # the others redone on Ray
    assert_same_files(local_build, out)
    assert json.loads((out / "reports" / "timings.json").read_text())["resumed"] is True


# --- dedup on Ray == local dedup ------------------------------------------------------------


def _edit(text: str, rate: float, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(max(1, int(len(chars) * rate))):
        chars[rng.randrange(len(chars))] = rng.choice("的了是在有和")
    return "".join(chars)


def _record(i: str, user: str, answer: str, source: str, group: str, **extra: object) -> dict:
    return {
        "id": i,
        "source": source,
        "group": group,
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}],
        "quality": {"cjk_ratio": extra.pop("score", 0.9)},
        **extra,
    }


def _dedup_input(local_build: Path, tmp_path: Path) -> tuple[list[Path], list[Path]]:
    """Three shards of features and runs made from real stage-1 conversations, with every case
    the keep rule handles: near copies across sources, a bucket larger than the LSH reach, exact
    user-turn copies, copies within one group, statute quotes, held-out rows, short texts, an
    id in two shards and a below-threshold copy."""
    convs = [
        (msgs[-2]["content"], msgs[-1]["content"])
        for f in sorted((local_build / "data" / "stage1").glob("*.parquet"))
        for msgs in pq.read_table(f, columns=["messages"]).column("messages").to_pylist()
    ]
    convs = [(u, a) for u, a in convs if len(u) + len(a) >= 200][:40]
    assert len(convs) >= 20
    rng = random.Random(5)
    recs: list[dict] = []
    for k, (u, a) in enumerate(convs):
        recs.append(_record(f"o{k:03d}", u, a, "jec_qa", f"g{k}", score=0.8 + k % 3 / 10))
        recs.append(_record(f"c{k:03d}", _edit(u, 0.01, rng), a, "lawyer_llama", f"h{k}"))
        if k % 4 == 0:
            recs.append(_record(f"s{k:03d}", _edit(u, 0.01, rng), a, "jec_qa", f"g{k}"))
        if k % 5 == 0:
            recs.append(_record(f"x{k:03d}", u, "另一个回答。", "chatlaw_exam", f"x{k}"))
        if k % 6 == 0:
            recs.append(_record(f"f{k:03d}", _edit(u, 0.15, rng), a, "lawyer_llama", f"f{k}"))
        if k % 7 == 0:
            recs.append(_record(f"q{k:03d}", u, a, "laws", f"q{k}", _quoted_statute=True))
            recs.append(
                _record(f"r{k:03d}", _edit(u, 0.01, rng), a, "laws", f"r{k}", _quoted_statute=True)
            )
        if k % 9 == 0:
            recs.append(
                _record(
                    f"t{k:03d}", _edit(u, 0.01, rng), a, "chatlaw_exam", f"t{k}", _held_out="test"
                )
            )
    u, a = convs[0]
    recs += [
        _record(f"b{k:03d}", _edit(u, 0.003, rng), a, "alpaca", f"b{k}", score=0.5)
        for k in range(20)
    ]
    recs += [_record(f"z{k:03d}", "短文本", str(k % 2), "alpaca", f"z{k}") for k in range(4)]
    rng.shuffle(recs)
    recipe = load_recipe()
    features, runs = [], []
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ]
    )
    for s in range(3):
        folder = tmp_path / f"{s:05d}"
        folder.mkdir()
        mine = recs[s::3] + ([recs[1]] if s == 2 else [])
        writer = FeatureWriter(folder / FEATURES, recipe)
        for r in mine:
            writer.add(r, "train")
        writer.close()
        run = folder / "stage1-00000.parquet"
        pq.write_table(
            pa.Table.from_pylist(
                [{"id": r["id"], "messages": r["messages"]} for r in mine], schema
            ),
            run,
        )
        features.append(folder / FEATURES)
        runs.append(run)
    features.append(tmp_path / "missing" / FEATURES)  # a shard with no query: no features file
    return features, runs


def test_dedup_on_ray_drops_what_the_local_dedup_drops(
    local_build: Path, ray_address: str, tmp_path: Path
) -> None:
    from lawset.builders.pipeline.ray_dedup import find_duplicates_ray

    features, runs = _dedup_input(local_build, tmp_path)
    recipe = load_recipe()
    local = find_duplicates(features, runs, recipe)
    reasons = {d["reason"] for d in local.values()}
    assert reasons == {"near_duplicate", "duplicate_user_turn"}
    assert max(Counter(d["kept"] for d in local.values()).values()) >= 20  # > the LSH reach
    for parallelism in (1, 3):
        assert find_duplicates_ray(features, runs, recipe, parallelism=parallelism) == local
    # The features of the real build too (few duplicates there, but every row goes through).
    shards = sorted((local_build / ".lawset-work" / "shards").iterdir())
    real_runs = sorted(p for d in shards for p in d.glob("stage1-*.parquet"))
    real_features = [d / FEATURES for d in shards]
    assert find_duplicates_ray(real_features, real_runs, recipe) == find_duplicates(
        real_features, real_runs, recipe
    )


# --- Ray stays optional -----------------------------------------------------------------------


def test_the_local_executor_never_imports_ray() -> None:
    code = (
        "import sys\n"
        "import lawset.builders.cli as cli, lawset.builders.pipeline.executor as ex\n"
        "cli._parser(); assert 'ray' not in sys.modules, 'ray imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_ray_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from lawset.builders.pipeline.executor import BuildError
    from lawset.builders.pipeline.ray_executor import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without Ray sees
    with pytest.raises(BuildError, match=r"pip install 'lawset\[ray\]'"):
        import_ray()


def test_ray_address_without_the_ray_executor_is_a_usage_error(
    shared_raw: Path, tmp_path: Path
) -> None:
    proc = run_lawset(
        "build",
        "--sources",
        shared_raw,
        "--out",
        tmp_path / "o",
        "--ray-address",
        "127.0.0.1:6379",
        check=False,
    )
    assert proc.returncode == 2
    assert "--ray-address: only with --executor ray" in proc.stderr
