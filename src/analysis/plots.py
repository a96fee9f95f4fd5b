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


def effect_forest(estimates: pd.DataFrame, truth: dict | None = None) -> plt.Figure:
    """Each outcome's estimates by method with 95% intervals (one panel per outcome: units differ)."""
    outcomes = list(dict.fromkeys(estimates["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(WIDTH, 2.8), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes):
        rows = estimates[estimates["outcome"] == outcome].reset_index(drop=True)
        y = np.arange(len(rows))[::-1]
        for position, row in zip(y, rows.itertuples()):
            colour = "0.55" if row.method == "naive" else "C0"
            ax.errorbar(row.estimate, position, xerr=[[row.estimate - row.ci_low], [row.ci_high - row.estimate]],
                        fmt="o", color=colour, capsize=3)
        if truth and outcome in truth:
            ax.axvline(truth[outcome], color="C3", ls="--", lw=1, label="planted truth")
            ax.legend(fontsize=7, frameon=False, loc="lower right")
        ax.set_yticks(y, rows["method"] + " " + rows["estimand"])
        ax.set_title(outcome.replace("_", " "), fontsize=10)
        ax.axvline(0, color="k", lw=0.6)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    return fig


def propensity_overlap(scores: np.ndarray, treated: np.ndarray, bounds=(0.05, 0.95)) -> plt.Figure:
    treated = np.asarray(treated, dtype=bool)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.2))
    bins = np.linspace(0, 1, 51)
    ax.hist(scores[~treated], bins=bins, alpha=0.6, density=True, label="announced", color="0.5")
    ax.hist(scores[treated], bins=bins, alpha=0.6, density=True, label="unannounced", color="C0")
    for b in bounds:
        ax.axvline(b, color="C3", lw=0.8, ls=":")
    ax.set_xlabel("propensity score (probability of an unannounced visit)")
    ax.set_ylabel("density")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def love_plot(balance: pd.DataFrame, bar: float = 0.1) -> plt.Figure:
    rows = balance.reindex(balance["smd_before"].abs().sort_values().index)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.22 * len(rows) + 1.2))
    y = np.arange(len(rows))
    ax.scatter(rows["smd_before"].abs(), y, marker="o", facecolors="none", edgecolors="0.4", label="before weighting")
    ax.scatter(rows["smd_after"].abs(), y, marker="o", color="C0", label="after weighting")
    ax.axvline(bar, color="C3", ls="--", lw=0.8)
    ax.set_yticks(y, rows["covariate"], fontsize=7)
    ax.set_xlabel("|standardized mean difference|")
    ax.legend(frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


def subgroup_effects(frame: pd.DataFrame, by: str, label: str) -> plt.Figure:
    rows = frame.dropna(subset=["estimate"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.35 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]
    ax.errorbar(rows["estimate"], y, xerr=[rows["estimate"] - rows["ci_low"], rows["ci_high"] - rows["estimate"]],
                fmt="o", capsize=3)
    ax.set_yticks(y, rows[by].astype(str))
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel(label)
    fig.tight_layout()
    return fig


def adoption_timeline(timeline: pd.DataFrame, labels: dict[int, str]) -> plt.Figure:
    """When each region adopted (one row per cohort, dot size = regions)."""
    cohorts = timeline.groupby("g").size()
    fig, ax = plt.subplots(figsize=(WIDTH, 2.6))
    treated = cohorts[cohorts.index > 0]
    ax.scatter(treated.index, np.zeros(len(treated)), s=40 * treated.to_numpy(), color="C0", alpha=0.7)
    for g, n in treated.items():
        ax.annotate(f"{labels.get(g, g)}\n{n} regions", (g, 0), textcoords="offset points", xytext=(0, 18), ha="center", fontsize=8)
    never = int(cohorts.get(0, 0))
    ax.set_title(f"Adoption of cross-region enforcement ({never} regions never adopt: the comparison group)", fontsize=10)
    ax.set_yticks([])
    ticks = sorted(labels)[:: max(1, len(labels) // 12)]
    ax.set_xticks(ticks, [labels[t] for t in ticks], rotation=45, ha="right")
    ax.set_ylim(-1, 1.5)
    fig.tight_layout()
    return fig


def event_study(cs: pd.DataFrame, twfe: pd.DataFrame, truth: dict[int, float] | None = None, label: str = "") -> plt.Figure:
    """Effects by quarters since adoption: Callaway-Sant'Anna with pointwise intervals and a
    simultaneous band, TWFE event-study coefficients, and the planted truth when known."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    ax.fill_between(cs["event_time"], cs["band_low"], cs["band_high"], color="C0", alpha=0.15, label="simultaneous 95% band")
    ax.errorbar(cs["event_time"], cs["estimate"], yerr=[cs["estimate"] - cs["ci_low"], cs["ci_high"] - cs["estimate"]],
                fmt="o", color="C0", capsize=2, label="Callaway-Sant'Anna")
    ax.plot(twfe["event_time"] + 0.15, twfe["estimate"], "s", color="C1", markersize=4, label="TWFE event study")
    if truth:
        times = sorted(truth)
        ax.plot(times, [truth[t] for t in times], color="C3", ls="--", lw=1.2, label="planted truth")
    ax.axhline(0, color="k", lw=0.6)
    ax.axvline(-0.5, color="0.5", lw=0.6, ls=":")
    ax.set_xlabel("quarters since adoption")
    ax.set_ylabel(label)
    ax.legend(fontsize=8, frameon=False, ncol=2)
    fig.tight_layout()
    return fig


def lag_profile(profile: pd.DataFrame) -> plt.Figure:
    rows = profile.dropna(subset=["lag"])
    fig, ax = plt.subplots(figsize=(WIDTH, 3.2))
    ax.errorbar(rows["lag"], rows["estimate"], yerr=[rows["estimate"] - rows["ci_low"], rows["ci_high"] - rows["estimate"]],
                fmt="o", capsize=3)
    total = profile[profile["term"] == "sum of lags"].iloc[0]
    ax.axhspan(total["ci_low"], total["ci_high"], color="C2", alpha=0.15, label=f"sum of lags {total['estimate']:.2f}")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(rows["lag"], [f"{int(k)} quarter(s) after" if k else "same quarter" for k in rows["lag"]])
    ax.set_ylabel("elasticity of inspections")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def dose_response(table: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(WIDTH, 3.2))
    x = table["log_officers_vs_region_mean"]
    ax.errorbar(x, table["estimate"], yerr=[table["estimate"] - table["ci_low"], table["ci_high"] - table["estimate"]],
                fmt="o-", capsize=3)
    ax.set_xlabel("log officers relative to the region's own average (bin means)")
    ax.set_ylabel("log inspections vs lowest bin")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
