"""Figures for notebooks and reports. Every function returns a Figure; none saves one."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

NOTICE_PROVINCES = ("Beijing", "Zhejiang", "Sichuan", "Jiangsu", "Shandong", "Inner Mongolia", "Hunan", "Guangdong")
WIDTH = 9.0


def coverage_heatmap(counts: pd.DataFrame, title: str = "Inspections per province and quarter") -> plt.Figure:
    fig, ax = plt.subplots(figsize=(WIDTH, 0.32 * len(counts) + 1.5))
    image = ax.imshow(counts.to_numpy(), aspect="auto", cmap="viridis")
    ax.set_yticks(range(len(counts)), counts.index)
    step = max(1, len(counts.columns) // 12)
    ax.set_xticks(range(0, len(counts.columns), step), counts.columns[::step], rotation=45, ha="right")
    fig.colorbar(image, ax=ax, label="inspections")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def metric_trends(trend: pd.DataFrame, metrics: list[str], group: str = "province", highlight=NOTICE_PROVINCES) -> plt.Figure:
    """One panel per metric: each highlighted group's quarterly series, others in grey."""
    fig, axes = plt.subplots(len(metrics), 1, figsize=(WIDTH, 2.6 * len(metrics)), sharex=True, squeeze=False)
    periods = sorted(trend["period"].unique())
    position = {p: i for i, p in enumerate(periods)}
    for ax, metric in zip(axes[:, 0], metrics):
        for name, rows in trend.groupby(group, observed=True):
            x = rows["period"].map(position)
            emphasised = name in highlight
            ax.plot(x, rows[metric], lw=1.6 if emphasised else 0.8, color=None if emphasised else "0.8",
                    label=name if emphasised else None, zorder=2 if emphasised else 1)
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(alpha=0.3)
    step = max(1, len(periods) // 12)
    axes[-1, 0].set_xticks(range(0, len(periods), step), periods[::step], rotation=45, ha="right")
    axes[0, 0].legend(ncol=4, fontsize=8, loc="upper left", frameon=False)
    fig.tight_layout()
    return fig


def staffing_growth(officers: pd.DataFrame, highlight: str = "Hunan") -> plt.Figure:
    """Officers by province over quarters, indexed to the first quarter = 100."""
    fig, ax = plt.subplots(figsize=(WIDTH, 4.0))
    wide = officers.pivot(index="period", columns="province", values="officers").sort_index()
    indexed = 100 * wide / wide.iloc[0]
    x = np.arange(len(indexed))
    for province in indexed.columns:
        main = province == highlight
        ax.plot(x, indexed[province], color="C3" if main else "0.75", lw=2.2 if main else 0.9, label=province if main else None)
    step = max(1, len(indexed) // 12)
    ax.set_xticks(x[::step], indexed.index[::step], rotation=45, ha="right")
    ax.set_ylabel("officers (first quarter = 100)")
    ax.axhline(100, color="0.5", lw=0.6)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def notice_vs_data(comparison: pd.DataFrame) -> plt.Figure:
    """Paired bars: the notice's year-on-year ratios beside the data's."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6))
    y = np.arange(len(comparison))
    ax.barh(y - 0.2, comparison["notice"], height=0.4, label="notice", color="0.6")
    ax.barh(y + 0.2, comparison["data"], height=0.4, label="data", color="C0")
    ax.set_yticks(y, [m.replace("_", " ") for m in comparison["metric"]])
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel("2022H1 / 2021H1")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig
