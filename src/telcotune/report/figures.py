"""The report's figures, one function per figure. Each takes plain data and the PNG path and
returns the path, or None when there is nothing to draw.

The object-oriented matplotlib API (`Figure` + the Agg canvas) is used instead of pyplot: no
global figure state, no GUI backend, nothing to close, and safe in a server process.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..fsio import write_bytes
from ..fmt import energy_unit
from .judges import RankedRun

DPI = 110
ACCENT = "#1f5fa8"
MUTED = "#9aa5b1"
WARN = "#c2410c"


MAX_COLUMNS = 2
"""Panels per row: wider rows shrink the text below readable size on the page."""


def literal_text(draw):
    """Draw with mathtext off: text from data (a term like `$5 plan`, a run name) is always
    shown as written, never parsed as math (which fails on an unbalanced `$`)."""

    @functools.wraps(draw)
    def drawing(*args, **kwargs):
        with rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

    return drawing


def _figure(width_in: float, height_in: float, ncols: int = 1, sharey: bool = False):
    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, sharey=sharey, squeeze=False)[0]
    return fig, list(axes)


def _panels(n: int, panel_w_in: float, panel_h_in: float, sharey: bool = False):
    """A grid for `n` panels, at most MAX_COLUMNS wide; unused cells are hidden."""
    cols = min(n, MAX_COLUMNS)
    rows = -(-n // cols)
    fig = Figure(figsize=(panel_w_in * cols + 0.8, panel_h_in * rows), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = list(fig.subplots(rows, cols, sharey=sharey, squeeze=False).flat)
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _save(fig: Figure, path: Path) -> Path:
    buffer = io.BytesIO()
    # No "Software" metadata: the same data gives the same bytes across matplotlib patch versions.
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return write_bytes(path, buffer.getvalue())


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


# ---------------------------------------------------------------- 1. data


@literal_text
def coverage_heatmap(per_cell: dict[str, int], path: Path) -> Path | None:
    """Conversations per (term, cause) cell; empty cells are left white."""
    cells = {tuple(k.split("|", 1)): v for k, v in per_cell.items() if "|" in k}
    if not cells:
        return None
    terms = sorted({t for t, _ in cells}, key=str.lower)
    causes = sorted({c for _, c in cells})
    grid = np.zeros((len(terms), len(causes)))
    for (t, c), n in cells.items():
        grid[terms.index(t), causes.index(c)] = n
    fig, (ax,) = _figure(max(6.0, 2.4 + 0.5 * len(causes)), max(3.0, 1.6 + 0.17 * len(terms)))
    image = ax.imshow(np.ma.masked_equal(grid, 0), aspect="auto", cmap="Blues", interpolation="nearest",
                      vmin=0, vmax=max(1.0, float(grid.max())))
    # Thin white lines between cells: a uniform grid would otherwise read as one block.
    ax.set_xticks(np.arange(len(causes) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(terms) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=0.6)
    ax.tick_params(which="minor", length=0)
    ax.set_xticks(range(len(causes)), causes, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(terms)), terms, fontsize=7 if len(terms) > 25 else 9)
    ax.set_xlabel("failure cause")
    ax.set_ylabel("term")
    fig.colorbar(image, ax=ax, label="conversations", shrink=0.6)
    return _save(fig, path)


@literal_text
def data_distributions(customer_turns: dict[str, int], length_hist: dict | None, path: Path) -> Path | None:
    """Left: conversations by customer turns. Right: conversation length histogram."""
    has_hist = bool(length_hist and length_hist.get("counts"))
    if not customer_turns and not has_hist:
        return None
    fig, (left, right) = _figure(9.0, 3.2, ncols=2)
    if customer_turns:
        turns = sorted(customer_turns, key=lambda k: int(k))
        left.bar([int(t) for t in turns], [customer_turns[t] for t in turns], color=ACCENT)
        left.set_xticks([int(t) for t in turns])
    left.set_xlabel("customer turns per conversation")
    left.set_ylabel("conversations")
    if has_hist:
        edges = np.asarray(length_hist["edges"], dtype=float)
        right.stairs(length_hist["counts"], edges, fill=True, color=ACCENT, alpha=0.85)
    right.set_xlabel("length (approx. tokens: words and punctuation)")
    right.set_ylabel("conversations")
    return _save(fig, path)


# ---------------------------------------------------------------- 2. training


BASE_LINE_LABEL = "base model (no adapter)"


@literal_text
def val_loss_curves(curves: dict[str, Sequence[tuple[float, float]]], path: Path,
                    base_loss: float | None = None) -> Path | None:
    """Validation loss against optimizer step, one line per run, and the base model's loss on
    the same validation set as a dashed horizontal line (the reference every run must beat)."""
    curves = {run: pts for run, pts in curves.items() if pts}
    if not curves:
        return None
    fig, (ax,) = _figure(9.0, 4.6)
    if base_loss is not None:
        ax.axhline(base_loss, color="black", linestyle="--", linewidth=1.2, label=BASE_LINE_LABEL, zorder=1)
    for color, (run, pts) in zip(_colors(len(curves)), curves.items()):
        steps, losses = zip(*pts)
        ax.plot(steps, losses, marker="o", markersize=3, linewidth=1.4, color=color, label=run)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("validation loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              ncols=2 if len(curves) > 12 else 1)
    return _save(fig, path)


# ---------------------------------------------------------------- 3. judgement


@literal_text
def judge_intervals(panels: dict[str, list[RankedRun]], order: list[str], xlabel: str,
                    path: Path) -> Path | None:
    """One panel per judge: each run's value with its confidence interval, runs in `order`."""
    panels = {j: rows for j, rows in panels.items() if any(r.value is not None for r in rows)}
    if not panels or not order:
        return None
    fig, axes = _panels(len(panels), 4.4, 1.0 + 0.3 * len(order), sharey=True)
    y_of = {run: i for i, run in enumerate(order)}
    for ax, (judge, rows) in zip(axes, panels.items()):
        for r in rows:
            if r.value is None or r.run not in y_of:
                continue
            has_ci = r.low is not None and r.high is not None
            err = [[r.value - r.low], [r.high - r.value]] if has_ci else None
            ax.errorbar(r.value, y_of[r.run], xerr=err, fmt="o", color=ACCENT if has_ci else WARN,
                        ecolor=MUTED, elinewidth=2, capsize=3, markersize=5)
        ax.set_title(judge, fontsize=9)
        ax.set_xlabel(xlabel)
        ax.grid(axis="x", alpha=0.3)
        ax.set_yticks(range(len(order)), order, fontsize=8)
    axes[0].set_ylim(len(order) - 0.5, -0.5)  # shared: the first judge's best run at the top
    return _save(fig, path)


# ---------------------------------------------------------------- 4. the study's question


@dataclass(frozen=True)
class LossRankPanel:
    title: str
    subtitle: str
    points: tuple[tuple[str, float, int], ...]
    """(run, best validation loss, judge rank)."""


@literal_text
def loss_vs_rank(panels: list[LossRankPanel], path: Path) -> Path | None:
    """Validation loss (x) against judge rank (y, 1 at the top), each run labelled."""
    panels = [p for p in panels if p.points]
    if not panels:
        return None
    fig, axes = _panels(len(panels), 4.8, 4.0)
    for ax, panel in zip(axes, panels):
        runs, losses, ranks = zip(*panel.points)
        ax.scatter(losses, ranks, color=ACCENT, zorder=3)
        for i, (run, loss, rank) in enumerate(panel.points):
            ax.annotate(run, (loss, rank), xytext=(4, 4 if i % 2 else -9), textcoords="offset points",
                        fontsize=7)
        n = max(ranks)
        ax.margins(x=0.15)  # room for the labels of the outermost runs
        ax.set_ylim(n + 0.7, 0.3)
        ax.set_yticks(range(1, n + 1))
        ax.set_xlabel("best validation loss (lower is better)")
        ax.set_ylabel("judge rank (1 = best)")
        ax.set_title(f"{panel.title}\n{panel.subtitle}", fontsize=8)
        ax.grid(alpha=0.3)
    return _save(fig, path)


# ---------------------------------------------------------------- 5. target modules


@dataclass(frozen=True)
class TargetRun:
    run: str
    modules: int
    r: int
    val_loss: float | None
    score: float | None
    train_energy_j: float | None


@literal_text
def target_effects(runs: list[TargetRun], score_label: str, path: Path) -> Path | None:
    """Three panels (loss, judge score, training energy) by module count: per rank the group
    mean (a line) and each run (a dot; groups pool runs that differ in other settings)."""
    if not runs:
        return None
    modules = sorted({r.modules for r in runs})
    ranks = sorted({r.r for r in runs})
    energies = [r.train_energy_j for r in runs if r.train_energy_j is not None]
    unit, per = energy_unit(max(energies)) if energies else ("J", 1.0)
    metrics = [("best validation loss", lambda r: r.val_loss), (score_label, lambda r: r.score),
               (f"training energy ({unit})", lambda r: None if r.train_energy_j is None else r.train_energy_j / per)]
    fig, axes = _figure(11.0, 3.6, ncols=3)
    width = 0.8 / len(ranks)
    legend: dict[str, object] = {}
    for ax, (label, value) in zip(axes, metrics):
        for k, (rank, color) in enumerate(zip(ranks, _colors(len(ranks)))):
            for i, m in enumerate(modules):
                vals = [v for r in runs if r.modules == m and r.r == rank and (v := value(r)) is not None]
                if not vals:
                    continue
                x = i - 0.4 + width * (k + 0.5)
                # The mean as a short line, not a bar: the axis is zoomed to the data, and a bar
                # not starting at zero would exaggerate differences.
                line = ax.hlines(float(np.mean(vals)), x - width * 0.4, x + width * 0.4, color=color, linewidth=3)
                legend.setdefault(f"rank r={rank}", line)
                ax.scatter([x] * len(vals), vals, color=color, s=16, alpha=0.7, zorder=3)
        ax.set_xticks(range(len(modules)), [str(m) for m in modules])
        ax.set_xlabel("LoRA target modules")
        ax.set_ylabel(label, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        _zoom_to_data(ax, [v for r in runs if (v := value(r)) is not None])
    fig.legend(list(legend.values()), list(legend), loc="outside upper center", ncols=max(1, len(legend)),
               frameon=False)
    return _save(fig, path)


def _zoom_to_data(ax, values: list[float]) -> None:
    """Differences of a few percent in loss or score would vanish on an axis from 0."""
    if not values:
        return
    low, high = min(values), max(values)
    pad = (high - low) * 0.25 or abs(high) * 0.05 or 1.0
    ax.set_ylim(max(0.0, low - pad) if low >= 0 else low - pad, high + pad)


# ---------------------------------------------------------------- energy versus quality


@dataclass(frozen=True)
class EnergyPoint:
    run: str
    energy_j: float
    score: float
    low: float | None
    high: float | None
    """The run's own interval (None: no interval)."""
    method: str
    in_tier: bool
    """Not significantly worse than the judge's best."""
    recommended: bool
    reference: bool
    """The base model: shown for comparison, not a candidate configuration."""


@dataclass(frozen=True)
class EnergyPanel:
    title: str
    score_label: str
    points: tuple[EnergyPoint, ...]


def _energy_panel(ax, panel: EnergyPanel, unit: str, per: float) -> None:
    markers = {"measured": "o", "estimated": "s"}
    for p in panel.points:
        has_ci = p.low is not None and p.high is not None
        color = WARN if p.reference else ACCENT if p.in_tier else MUTED
        ax.errorbar(p.energy_j / per, p.score, yerr=[[p.score - p.low], [p.high - p.score]] if has_ci else None,
                    fmt="x" if p.reference else markers.get(p.method, "^"), color=color, ecolor=color,
                    elinewidth=1, capsize=2, markersize=6, alpha=0.9, zorder=3)
        if p.recommended:
            ax.scatter([p.energy_j / per], [p.score], s=220, facecolors="none", edgecolors=WARN, linewidths=1.8,
                       zorder=4)
    for i, p in enumerate(sorted(panel.points, key=lambda p: p.energy_j)):
        ax.annotate(p.run, (p.energy_j / per, p.score), xytext=(5, 5 if i % 2 else -10),
                    textcoords="offset points", fontsize=7, color="#111" if p.in_tier else "#555")
    values = [p.energy_j for p in panel.points if p.energy_j > 0]
    if values and max(values) / min(values) > 30:
        ax.set_xscale("log")
    ax.margins(x=0.12, y=0.1)  # room for the labels of the outermost points
    ax.set_xlabel(f"energy: training + answering ({unit}); lower is better")
    ax.set_ylabel(f"{panel.score_label}; higher is better", fontsize=8)
    ax.set_title(panel.title, fontsize=9)
    ax.grid(alpha=0.3)


@literal_text
def energy_quality(panels: list[EnergyPanel], path: Path) -> Path | None:
    """One panel per judge: total energy (x) against the judge's estimate with each run's
    interval (y); the top tier in colour, runs significantly worse than the best in grey, the
    recommended run circled, the base model as a cross."""
    panels = [p for p in panels if p.points]
    if not panels:
        return None
    unit, per = energy_unit(max(pt.energy_j for p in panels for pt in p.points))
    fig, axes = _panels(len(panels), 6.0 if len(panels) > 1 else 9.0, 4.6)
    for ax, panel in zip(axes, panels):
        _energy_panel(ax, panel, unit, per)
    return _save(fig, path)
