"""The figures of the report, as PNG bytes (matplotlib, Agg backend)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

BLUE, RED, GREY = "#3b6ea8", "#c0504d", "#888888"


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def score_histogram(values, max_score=100.0) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bins = np.linspace(0, max_score, 21)
    ax.hist(np.clip(values, 0, max_score), bins=bins, color=BLUE, edgecolor="white")
    ax.set_xlabel(f"score (out of {max_score:g})")
    ax.set_ylabel("students")
    ax.set_xlim(0, max_score)
    ax.yaxis.get_major_locator().set_params(integer=True)
    if len(values):
        ax.axvline(np.median(values), color=RED, linestyle="--", label="median")
        ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def pass_rates(summaries) -> bytes:
    """One horizontal bar per check, hardest at the top."""
    names = [c.name for c in summaries]
    rates = [100 * c.rate for c in summaries]
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(names) + 0.9))
    y = np.arange(len(names))
    colours = [RED if r < 50 else BLUE for r in rates]
    ax.barh(y, rates, color=colours)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("students who passed (%)")
    for yi, (r, c) in enumerate(zip(rates, summaries)):
        ax.text(min(r + 1, 88), yi, f"{c.passed}/{c.graded}", va="center", fontsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def similarity_histogram(scores, threshold) -> bytes:
    """How alike every compared pair is, with the listing threshold."""
    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.hist(scores, bins=np.linspace(0, 1, 41), color=GREY, edgecolor="white")
    ax.axvline(threshold, color=RED, linestyle="--", label=f"listed from {threshold:.2f}")
    ax.set_yscale("log") if len(scores) > 200 else None
    ax.set_xlabel("similarity of a pair (share of own code found in the other, smaller side)")
    ax.set_ylabel("pairs")
    ax.set_xlim(0, 1)
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
