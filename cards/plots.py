"""Plots for the dataset card: ``reports/plots/task_mix.png`` and ``length_distribution.png``.

Both are drawn with matplotlib's object API on an Agg canvas (no pyplot, so no global state and
no display), under ``matplotlib.rc_context`` seeded with matplotlib's defaults, so a user's
``matplotlibrc`` cannot change the bytes. PNG metadata is fixed (``Software: lawset``, no
timestamp), so the same build gives byte-identical PNG files: the release manifest checksums them
and ``lawset release --verify`` compares them like the parquet files.

Lengths are read from the parquet files batch by batch (only the ``messages`` column) and binned
on the fly into fixed logarithmic bins: memory stays bounded whatever the release size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

PLOTS_DIR = Path("reports") / "plots"
TASK_MIX = "task_mix.png"
LENGTHS = "length_distribution.png"
#: fixed bin edges (characters, log scale) so that histograms of any release are comparable
LENGTH_BINS = np.unique(np.round(np.logspace(0, 5, 61)).astype(np.int64))
QUERY_CONFIGS = ("stage1", "stage2")
PNG_METADATA = {"Software": "lawset"}
DPI = 100


def _rc() -> Any:
    import matplotlib

    params = dict(matplotlib.rcParamsDefault)
    params.update({"font.family": "DejaVu Sans", "svg.hashsalt": "lawset", "path.simplify": True})
    return matplotlib.rc_context(params)


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def length_histograms(root: Path) -> dict[str, dict[str, np.ndarray]]:
    """Per query config, histograms (counts per :data:`LENGTH_BINS` bin) of user-turn and
    assistant-turn lengths in characters, over every split."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out: dict[str, dict[str, np.ndarray]] = {}
    for config in QUERY_CONFIGS:
        files = sorted((root / "data" / config).glob("*.parquet"))
        if not files:
            continue
        hist = {
            "user": np.zeros(len(LENGTH_BINS) - 1, np.int64),
            "assistant": np.zeros(len(LENGTH_BINS) - 1, np.int64),
        }
        for f in files:
            for batch in pq.ParquetFile(f).iter_batches(batch_size=8192, columns=["messages"]):
                turns = pc.list_flatten(batch.column(0))
                roles = pc.struct_field(turns, "role")
                lengths = pc.utf8_length(pc.struct_field(turns, "content"))
                for role in hist:
                    values = pc.filter(lengths, pc.equal(roles, role)).to_numpy(
                        zero_copy_only=False
                    )
                    clipped = np.clip(values, LENGTH_BINS[0], LENGTH_BINS[-1] - 1)
                    hist[role] += np.histogram(clipped, bins=LENGTH_BINS)[0]
        out[config] = hist
    return out


def plot_task_mix(summary: dict[str, Any], path: Path) -> None:
    """Horizontal bars: rows per task in stage 1 and stage 2, largest stage-1 task on top."""
    s1 = summary.get("mix", {}).get("task", {})
    s2 = summary.get("stage2_mix", {}).get("task", {})
    tasks = sorted(set(s1) | set(s2), key=lambda t: (s1.get(t, 0), s2.get(t, 0), t))
    with _rc():
        fig = _figure(8, max(2.5, 0.28 * len(tasks) + 1.2))
        ax = fig.add_subplot()
        y = np.arange(len(tasks))
        ax.barh(y + 0.2, [s1.get(t, 0) for t in tasks], height=0.4, label="stage1", color="#4c72b0")
        ax.barh(y - 0.2, [s2.get(t, 0) for t in tasks], height=0.4, label="stage2", color="#dd8452")
        ax.set_yticks(y, tasks, fontsize=8)
        ax.set_xlabel("rows (all splits)")
        ax.set_title("Task mix")
        if tasks:
            ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(path, format="png", metadata=PNG_METADATA)


def plot_lengths(hists: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    """One panel per role: share of turns per length bin, one line per query config."""
    with _rc():
        fig = _figure(9, 3.6)
        centers = np.sqrt(LENGTH_BINS[:-1] * LENGTH_BINS[1:])
        for k, role in enumerate(("user", "assistant")):
            ax = fig.add_subplot(1, 2, k + 1)
            for config, hist in hists.items():
                counts = hist[role]
                total = counts.sum()
                if total:
                    ax.plot(centers, counts / total, label=f"{config} ({total:,} turns)")
            ax.set_xscale("log")
            ax.set_xlabel("characters")
            ax.set_ylabel("share of turns")
            ax.set_title(f"{role} turn length")
            if hists:
                ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, format="png", metadata=PNG_METADATA)


def write_plots(root: Path, summary: dict[str, Any]) -> dict[str, str]:
    """Draw both plots into ``root/reports/plots/``; returns name -> path relative to ``root``."""
    folder = root / PLOTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    plot_task_mix(summary, folder / TASK_MIX)
    plot_lengths(length_histograms(root), folder / LENGTHS)
    return {
        "task_mix": (PLOTS_DIR / TASK_MIX).as_posix(),
        "length_distribution": (PLOTS_DIR / LENGTHS).as_posix(),
    }
