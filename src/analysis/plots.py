"""Figures for notebooks and reports. Every function returns a Figure; none saves one.

Labels come from data (province, industry and covariate names), so every text of
every figure has mathtext off: a name such as ``$\\frac{$`` is drawn as written instead
of being parsed as TeX (which fails, or renders something else). Data-derived tick
labels are set with their positions (`set_*ticks(positions, labels)`), so no tick
label is created later, at draw time, with matplotlib's default. Figures that show
statistics per group take `withheld`, the legend of what disclosure control withheld
(`disclosure.Withheld.legend`), and print it under the figure.
"""

from __future__ import annotations

import functools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.text import Text

from .disclosure import SYMBOL
from .display import FigureNote

NOTICE_PROVINCES = ("Beijing", "Zhejiang", "Sichuan", "Jiangsu", "Shandong", "Inner Mongolia", "Hunan", "Guangdong")
WIDTH = 9.0


def _literal_text(draw):
    """Every text of the figure is drawn as written: mathtext off (see the module docstring).

    Not `plt.rc_context`: leaving it restores rcParams the inline backend set when it was
    first resolved inside the context (`interactive`), and later figures stop showing in
    notebooks. Texts are made literal one by one instead: by `_finish` before the layout
    pass (which draws), and once more here for anything added after it.
    """

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        return _literal(draw(*args, **kwargs))

    return wrapper


def _literal(fig: plt.Figure) -> plt.Figure:
    for text in fig.findobj(Text):
        text.set_parse_math(False)
    return fig


def note(fig: plt.Figure, title: str, alt: str, data: pd.DataFrame | None = None) -> plt.Figure:
    """Attach what a report shows with the figure: its title, alt text (what it shows, in words written
    from the data) and the data behind it (a CSV download). See `display.figure_html`."""
    fig.report_note = FigureNote(title, alt, data)  # type: ignore[attr-defined]
    return fig


def _finish(fig: plt.Figure, withheld: str = "") -> plt.Figure:
    """Lay the figure out, with the disclosure legend under it when something was withheld."""
    _literal(fig)  # before tight_layout, which draws the texts
    if withheld:
        height = fig.get_figheight()
        fig.tight_layout(rect=(0, min(0.25, 0.3 / height), 1, 1))  # about 0.3 inch for one line of small text
        fig.text(0.01, 0.08 / height, withheld, fontsize=8, color="0.3", ha="left", va="bottom", parse_math=False)
    else:
        fig.tight_layout()
    return fig


@_literal_text
def coverage_heatmap(
    counts: pd.DataFrame, title: str = "Inspections per province and quarter", withheld: str = ""
) -> plt.Figure:
    """Counts per province and quarter; missing cells (withheld under disclosure control) grey, marked "–"."""
    fig, ax = plt.subplots(figsize=(WIDTH, 0.32 * len(counts) + 1.5))
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.88")
    image = ax.imshow(np.ma.masked_invalid(counts.to_numpy(dtype=float)), aspect="auto", cmap=cmap)
    ax.set_yticks(range(len(counts)), [str(p) for p in counts.index])
    step = max(1, len(counts.columns) // 12)
    ax.set_xticks(
        range(0, len(counts.columns), step), [str(q) for q in counts.columns[::step]], rotation=45, ha="right"
    )
    fig.colorbar(image, ax=ax, label="inspections")
    for row, column in zip(*np.nonzero(counts.isna().to_numpy()), strict=False):
        ax.text(column, row, SYMBOL, ha="center", va="center", fontsize=8, color="0.2")
    ax.set_title(title)
    return _finish(fig, withheld)


@_literal_text
def metric_trends(
    trend: pd.DataFrame, metrics: list[str], group: str = "province", highlight=NOTICE_PROVINCES, withheld: str = ""
) -> plt.Figure:
    """One panel per metric: each highlighted group's quarterly series, others in grey.

    Missing values (withheld under disclosure control, or not defined) leave gaps."""
    fig, axes = plt.subplots(len(metrics), 1, figsize=(WIDTH, 2.6 * len(metrics)), sharex=True, squeeze=False)
    periods = sorted(trend["period"].unique())
    position = {p: i for i, p in enumerate(periods)}
    for ax, metric in zip(axes[:, 0], metrics, strict=False):
        for name, rows in trend.groupby(group, observed=True):
            x = rows["period"].map(position)
            emphasised = name in highlight
            ax.plot(
                x,
                rows[metric],
                lw=1.6 if emphasised else 0.8,
                color=None if emphasised else "0.8",
                label=name if emphasised else None,
                zorder=2 if emphasised else 1,
            )
        ax.set_ylabel(metric.replace("_", " "))
        ax.grid(alpha=0.3)
    step = max(1, len(periods) // 12)
    axes[-1, 0].set_xticks(range(0, len(periods), step), periods[::step], rotation=45, ha="right")
    if axes[0, 0].get_legend_handles_labels()[0]:
        axes[0, 0].legend(ncol=4, fontsize=8, loc="upper left", frameon=False)
    return _finish(fig, withheld)


@_literal_text
def staffing_growth(officers: pd.DataFrame, highlight: str = "Hunan") -> plt.Figure:
    """Officers by province over quarters, indexed to each province's first recorded quarter = 100."""
    fig, ax = plt.subplots(figsize=(WIDTH, 4.0))
    wide = officers.pivot(index="period", columns="province", values="officers").sort_index()
    indexed = 100 * wide / wide.bfill().iloc[0]
    x = np.arange(len(indexed))
    for province in indexed.columns:
        main = province == highlight
        ax.plot(
            x,
            indexed[province],
            color="C3" if main else "0.75",
            lw=2.2 if main else 0.9,
            label=province if main else None,
        )
    step = max(1, len(indexed) // 12)
    ax.set_xticks(x[::step], indexed.index[::step], rotation=45, ha="right")
    ax.set_ylabel("officers (first quarter = 100)")
    ax.axhline(100, color="0.5", lw=0.6)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return _finish(fig)


@_literal_text
def notice_vs_data(comparison: pd.DataFrame, withheld: str = "", period: str = "2022H1") -> plt.Figure:
    """Paired bars: the notice's year-on-year ratios beside the data's (a withheld ratio has no bar)."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6))
    y = np.arange(len(comparison))
    ax.barh(y - 0.2, comparison["notice"], height=0.4, label="notice", color="0.6")
    ax.barh(y + 0.2, comparison["data"], height=0.4, label="data", color="C0")
    ax.set_yticks(y, [m.replace("_", " ") for m in comparison["metric"]])
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xlabel(f"{period} / a year earlier")
    ax.legend(frameon=False)
    return _finish(fig, withheld)


@_literal_text
def effect_forest(estimates: pd.DataFrame, truth: dict | None = None) -> plt.Figure:
    """Each outcome's estimates by method with 95% intervals (one panel per outcome: units differ)."""
    outcomes = list(dict.fromkeys(estimates["outcome"]))
    fig, axes = plt.subplots(1, len(outcomes), figsize=(WIDTH, 2.8), squeeze=False)
    for ax, outcome in zip(axes[0], outcomes, strict=False):
        rows = estimates[estimates["outcome"] == outcome].reset_index(drop=True)
        y = np.arange(len(rows))[::-1]
        for position, row in zip(y, rows.itertuples(), strict=False):
            colour = "0.55" if row.method == "naive" else "C0"
            ax.errorbar(
                row.estimate,
                position,
                xerr=[[row.estimate - row.ci_low], [row.ci_high - row.estimate]],
                fmt="o",
                color=colour,
                capsize=3,
            )
        if truth and outcome in truth:
            ax.axvline(truth[outcome], color="C3", ls="--", lw=1, label="planted truth")
            ax.legend(fontsize=7, frameon=False, loc="lower right")
        ax.set_yticks(y, rows["method"] + " " + rows["estimand"])
        ax.set_title(outcome.replace("_", " "), fontsize=10)
        ax.axvline(0, color="k", lw=0.6)
        ax.tick_params(labelsize=8)
    return _finish(fig)


@_literal_text
def propensity_overlap(scores: np.ndarray, treated: np.ndarray, bounds=(0.05, 0.95)) -> plt.Figure:
    treated = np.asarray(treated, dtype=bool)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.2))
    bins = np.linspace(0, 1, 51).tolist()
    ax.hist(scores[~treated], bins=bins, alpha=0.6, density=True, label="announced", color="0.5")
    ax.hist(scores[treated], bins=bins, alpha=0.6, density=True, label="unannounced", color="C0")
    for b in bounds:
        ax.axvline(b, color="C3", lw=0.8, ls=":")
    ax.set_xlabel("propensity score (probability of an unannounced visit)")
    ax.set_ylabel("density")
    ax.legend(frameon=False)
    return _finish(fig)


@_literal_text
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
    return _finish(fig)


@_literal_text
def subgroup_effects(frame: pd.DataFrame, by: str, label: str, withheld: str = "") -> plt.Figure:
    """Each subgroup's effect with its interval; subgroups without an estimate (too small, or withheld) are left out."""
    rows = frame.dropna(subset=["estimate"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.35 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]
    ax.errorbar(
        rows["estimate"],
        y,
        xerr=[rows["estimate"] - rows["ci_low"], rows["ci_high"] - rows["estimate"]],
        fmt="o",
        capsize=3,
    )
    ax.set_yticks(y, rows[by].astype(str))
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel(label)
    return _finish(fig, withheld)


@_literal_text
def adoption_timeline(timeline: pd.DataFrame, labels: dict[int, str]) -> plt.Figure:
    """When each region adopted (one row per cohort, dot size = regions)."""
    cohorts = timeline.groupby("g").size()
    fig, ax = plt.subplots(figsize=(WIDTH, 2.6))
    treated = cohorts[cohorts.index > 0]
    ax.scatter(treated.index, np.zeros(len(treated)), s=40 * treated.to_numpy(), color="C0", alpha=0.7)
    for g, n in treated.items():
        ax.annotate(
            f"{labels.get(g, g)}\n{n} regions",
            (g, 0),
            textcoords="offset points",
            xytext=(0, 18),
            ha="center",
            fontsize=8,
        )
    never = int(cohorts.get(0, 0))
    ax.set_title(
        f"Adoption of cross-region enforcement ({never} regions never adopt: the comparison group)", fontsize=10
    )
    ax.set_yticks([])
    ticks = sorted(labels)[:: max(1, len(labels) // 12)]
    ax.set_xticks(ticks, [labels[t] for t in ticks], rotation=45, ha="right")
    ax.set_ylim(-1, 1.5)
    return _finish(fig)


@_literal_text
def event_study(
    cs: pd.DataFrame, twfe: pd.DataFrame, truth: dict[int, float] | None = None, label: str = ""
) -> plt.Figure:
    """Effects by quarters since adoption: Callaway-Sant'Anna with pointwise intervals and a
    simultaneous band, TWFE event-study coefficients, and the planted truth when known."""
    fig, ax = plt.subplots(figsize=(WIDTH, 3.8))
    ax.fill_between(
        cs["event_time"], cs["band_low"], cs["band_high"], color="C0", alpha=0.15, label="simultaneous 95% band"
    )
    ax.errorbar(
        cs["event_time"],
        cs["estimate"],
        yerr=[cs["estimate"] - cs["ci_low"], cs["ci_high"] - cs["estimate"]],
        fmt="o",
        color="C0",
        capsize=2,
        label="Callaway-Sant'Anna",
    )
    ax.plot(twfe["event_time"] + 0.15, twfe["estimate"], "s", color="C1", markersize=4, label="TWFE event study")
    if truth:
        times = sorted(truth)
        ax.plot(times, [truth[t] for t in times], color="C3", ls="--", lw=1.2, label="planted truth")
    ax.axhline(0, color="k", lw=0.6)
    ax.axvline(-0.5, color="0.5", lw=0.6, ls=":")
    ax.set_xlabel("quarters since adoption")
    ax.set_ylabel(label)
    ax.legend(fontsize=8, frameon=False, ncol=2)
    return _finish(fig)


@_literal_text
def lag_profile(profile: pd.DataFrame) -> plt.Figure:
    rows = profile.dropna(subset=["lag"])
    fig, ax = plt.subplots(figsize=(WIDTH, 3.2))
    ax.errorbar(
        rows["lag"],
        rows["estimate"],
        yerr=[rows["estimate"] - rows["ci_low"], rows["ci_high"] - rows["estimate"]],
        fmt="o",
        capsize=3,
    )
    total = profile[profile["term"] == "sum of lags"].iloc[0]
    ax.axhspan(total["ci_low"], total["ci_high"], color="C2", alpha=0.15, label=f"sum of lags {total['estimate']:.2f}")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(rows["lag"], [f"{int(k)} quarter(s) after" if k else "same quarter" for k in rows["lag"]])
    ax.set_ylabel("elasticity of inspections")
    ax.legend(frameon=False)
    return _finish(fig)


@_literal_text
def dose_response(table: pd.DataFrame) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(WIDTH, 3.2))
    x = table["log_officers_vs_region_mean"]
    ax.errorbar(
        x,
        table["estimate"],
        yerr=[table["estimate"] - table["ci_low"], table["ci_high"] - table["estimate"]],
        fmt="o-",
        capsize=3,
    )
    ax.set_xlabel("log officers relative to the region's own average (bin means)")
    ax.set_ylabel("log inspections vs lowest bin")
    ax.grid(alpha=0.3)
    return _finish(fig)
