"""Study 3: team expansion, staffing and enforcement output.

Within a region over time (region and quarter fixed effects), how do inspections,
cases, major hazards and fines respond to the number of officers? Log-log
regressions give elasticities; errors are clustered by region. Quarters when a
cross-region programme or a surprise campaign was in force are controlled for,
since those reforms move outcomes and may coincide with staffing changes.

What the data cannot support is said in words: a step raises `limits.Unavailable` with
one sentence (no second quarter, officers that never change, trainees or technical
inspectors not recorded, ...), and every regression's inputs are checked before they
reach pyfixest's compiled code (`panel.estimable_sample`), which would otherwise end the
process. Readings take a step's result or its stand-in, so a section always says
something.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import labels
from .data import Dataset
from .did import DesignError
from .display import Html, estimates_rows, table
from .limits import Missing, Unavailable
from .metrics import region_quarter, trend
from .panel import PanelFit, feols, joint_test, wild_cluster_bootstrap
from .registry import STUDIES_BY_NAME

STUDY = "team"
OUTCOMES = STUDIES_BY_NAME["team"].outcomes  # declared once, in the registry
CONTROLS = ["cross_region_active", "campaign_active"]
BEIJING_STANDARD = 0.5  # technical inspectors per officer
FEW_CLUSTERS = 30  # fewer regions than this: clustered errors may be too small; the wild bootstrap is shown
OUTCOME_WORDS = {
    "inspections": "inspections",
    "cases": "cases",
    "major_hazards": "major hazards found",
    "penalty_total": "fines",
}
CONTROL_WORDS = {"cross_region_active": "cross-region enforcement", "campaign_active": "a surprise-inspection campaign"}


@dataclass(repr=False)
class Table:
    """A result table with its caption and the sentences that read it; displays as both.

    `frame` keeps code names (for researchers: `tidy`); `view` sets it as a reviewer reads it (words,
    units, formatted numbers), which is what the table displays as.
    """

    frame: pd.DataFrame
    caption: str
    notes: list[str] = field(default_factory=list)
    view: Callable[[pd.DataFrame], pd.DataFrame] | None = None

    def _repr_html_(self) -> str:
        shown = self.view(self.frame) if self.view is not None else self.frame
        return table(shown, caption=self.caption)._repr_html_() + _paragraphs(self.notes)

    def __repr__(self) -> str:
        return f"Table({self.caption!r}, {len(self.frame)} rows)"

    def tidy(self) -> pd.DataFrame:
        """The table's rows (for the elasticities, the rows of estimates.csv and the regions behind each)."""
        return self.frame.copy()

    def summary(self) -> str:
        """The caption, the rows and the sentences that read them, as text for a notebook."""
        return "\n".join([self.caption, self.frame.to_string(index=False), *self.notes])


@dataclass(frozen=True)
class Settings:
    """The study's design choices (notebook 04's parameters).

    `lags`: quarters after a staffing change in the response profile; `leads`: quarters
    before it in the test that output does not move first; `controls`: other reforms'
    indicators held fixed where they vary; `cluster`: the column standard errors are
    clustered by.
    """

    outcomes: tuple[str, ...] = OUTCOMES
    lags: int = 3
    leads: int = 2
    controls: tuple[str, ...] = tuple(CONTROLS)
    cluster: str = "region_id"

    def __post_init__(self):
        unknown = [o for o in self.outcomes if o not in OUTCOMES] + [c for c in self.controls if c not in CONTROLS]
        if unknown:
            raise ValueError(f"unknown outcome or control {', '.join(map(repr, unknown))}")
        if self.lags < 0 or self.leads < 1:
            raise ValueError(f"lags must be 0 or more and leads 1 or more, got {self.lags} and {self.leads}")

    @property
    def lag_terms(self) -> list[str]:
        return ["log_officers", *(f"log_officers_lag{k}" for k in range(1, self.lags + 1))]

    @property
    def lead_terms(self) -> list[str]:
        return [f"log_officers_lead{k}" for k in range(1, self.leads + 1)]


DEFAULT = Settings()


def panel(dataset: Dataset, last_period: str | None = None, settings: Settings = DEFAULT) -> pd.DataFrame:
    """Region x quarter output, staffing and reform status, with logs and officer leads/lags.

    Rows are region-quarters with both a staffing row (officers > 0) and inspections, up to
    `last_period`. Lags and leads are by calendar quarter from the staffing table (a
    missing staffing row leaves them missing, it does not shift them). Unavailable when
    fewer than two quarters have both staffing and inspections.
    """
    output = region_quarter(dataset, last_period)[["region_id", "quarter", *OUTCOMES]]
    staffing = dataset.staffing.assign(
        region_id=lambda s: s["region_id"].astype(str), quarter=lambda s: s["period"].astype(str)
    )
    if last_period:
        staffing = staffing[staffing["quarter"] <= last_period]
    staffed = staffing[staffing["officers"] > 0]
    up_to = f" up to {last_period}" if last_period else ""
    if len(staffing) and staffed.empty:
        raise Unavailable(f"every staffing row{up_to} records zero officers, so output cannot be related to staff")
    staffing = staffed
    columns = ["region_id", "quarter", "officers", "technical_inspectors", "trainings", "trainees"]
    cells = staffing[columns].merge(output, on=["region_id", "quarter"], how="inner")
    cells = cells.sort_values(["region_id", "quarter"]).reset_index(drop=True)
    if cells.empty:
        raise Unavailable(
            f"no region has both a staffing row and inspections in the same quarter{up_to}, so output "
            "cannot be related to staff"
        )
    quarters = sorted(cells["quarter"].unique())
    if len(quarters) < 2:
        raise Unavailable(
            f"the data has staffing and inspections in only one quarter ({quarters[0]}){up_to}; following "
            "a region's team over time needs at least two quarters"
        )
    for program, column in (("cross_region", "cross_region_active"), ("surprise_campaign", "campaign_active")):
        cells[column] = dataset.in_force(program, cells["region_id"], cells["quarter"]).astype(float)
    cells["log_officers"] = np.log(cells["officers"].astype(float))
    for outcome in OUTCOMES:
        cells[f"log_{outcome}"] = np.log(cells[outcome].astype(float).where(cells[outcome] > 0))
    ordinal = pd.PeriodIndex(staffing["quarter"], freq="Q-DEC").asi8
    staff = pd.Series(
        np.log(staffing["officers"].astype(float)).to_numpy(),
        index=pd.MultiIndex.from_arrays([staffing["region_id"].to_numpy(), ordinal]),
    )
    staff = staff[~staff.index.duplicated()]
    own = pd.PeriodIndex(cells["quarter"], freq="Q-DEC").asi8
    shifts = [(f"lag{k}", k) for k in range(1, max(settings.lags, 3) + 1)]
    shifts += [(f"lead{k}", -k) for k in range(1, max(settings.leads, 2) + 1)]
    for name, k in shifts:
        where = pd.MultiIndex.from_arrays([cells["region_id"].to_numpy(), own - k])
        cells[f"log_officers_{name}"] = staff.reindex(where).to_numpy()
    cells["inspections_per_officer"] = cells["inspections"] / cells["officers"]
    cells["technical_ratio"] = cells["technical_inspectors"].astype(float) / cells["officers"]
    cells["trainees_per_officer"] = cells["trainees"].astype(float) / cells["officers"]
    cells["province"] = cells["region_id"].map(dataset.province_by_region())
    without_staffing = output.merge(
        staffing[["region_id", "quarter"]], on=["region_id", "quarter"], how="left", indicator=True
    )
    without_staffing = without_staffing[
        (without_staffing["_merge"] == "left_only") & without_staffing["quarter"].between(quarters[0], quarters[-1])
    ]
    cells.attrs["without_staffing"] = (len(without_staffing), without_staffing["region_id"].nunique())
    return cells


def coverage(cells) -> Html | Missing:
    """What the panel covers and what it lacks, in sentences (or the panel's stand-in)."""
    if isinstance(cells, Missing):
        return cells
    quarters = sorted(cells["quarter"].unique())
    regions = cells["region_id"].nunique()
    notes = [
        f"{regions} regions over {len(quarters)} quarters ({quarters[0]} to {quarters[-1]}) have both staffing "
        "and inspections."
    ]
    cells_without, regions_without = cells.attrs.get("without_staffing", (0, 0))
    if cells_without:
        notes.append(
            f"{cells_without} region-quarter(s) with inspections have no staffing row ({regions_without} "
            "region(s)) and are left out; lags and leads across those quarters are missing, not shifted."
        )
    changing = int((cells.groupby("region_id")["officers"].nunique() > 1).sum())
    if changing == 0:
        notes.append("Officers never change within any region, so output cannot be related to staffing changes.")
    elif changing < regions:
        notes.append(
            f"Officers change within {changing} of the {regions} regions; the estimates rest on those changes."
        )
    notes += [_control_note(cells, c) for c in CONTROLS if c not in usable_controls(cells)]
    if regions < FEW_CLUSTERS:
        notes.append(
            f"Standard errors are clustered by region and rest on only {regions} regions (fewer than "
            f"{FEW_CLUSTERS}), so they may be too small; the elasticities also give a wild cluster bootstrap "
            "p-value, which holds up with few clusters."
        )
    return Html(_paragraphs(notes))


def usable_controls(cells: pd.DataFrame, controls=CONTROLS) -> list[str]:
    """The reform indicators that change within regions and within quarters (others the fixed effects absorb)."""
    return [
        c
        for c in controls
        if cells.groupby("region_id")[c].nunique().max() > 1 and cells.groupby("quarter")[c].nunique().max() > 1
    ]


def _control_note(cells: pd.DataFrame, control: str) -> str:
    """Why a reform indicator is not held fixed, in a sentence."""
    what = CONTROL_WORDS[control]
    what = what[:1].upper() + what[1:]
    values = cells[control]
    if values.max() == 0:
        why = "was never in force in these quarters"
    elif values.min() == 1:
        why = "was in force everywhere throughout these quarters"
    elif cells.groupby("quarter")[control].nunique().max() < 2:
        why = "started in the same quarter everywhere, so the quarter effects already absorb it"
    else:
        why = "was in force throughout or not at all in each region, so the region effects already absorb it"
    return f"{what} {why}; it is not held fixed."


def elasticity(
    cells: pd.DataFrame, outcome: str, regressors: list[str] | None = None, settings: Settings = DEFAULT
) -> PanelFit:
    """log(outcome) on log(officers) (or `regressors`) and the reform controls that vary, region and quarter
    effects, CRV1 by `settings.cluster` (region). Unavailable (a sentence) when the data cannot support it.

    Parameters
    ----------
    cells : pandas.DataFrame
        The region-quarter panel (`panel`).
    outcome : str
        One of `OUTCOMES`; its log is the dependent variable.
    regressors : list of str, optional
        Default `["log_officers"]`; e.g. `settings.lag_terms` for a distributed lag.
    settings : Settings
        Controls held fixed and the clustering.

    Returns
    -------
    analysis.panel.PanelFit
        Coefficients with clustered errors; `.summary()`, `.tidy()`, `.covariance`.

    Examples
    --------
    >>> settings = Settings(lags=2, controls=("campaign_active",))
    >>> fit = elasticity(panel(dataset, "2024Q4", settings), "inspections", settings=settings)  # doctest: +SKIP
    >>> print(fit.summary())  # doctest: +SKIP
    """
    regressors = regressors or ["log_officers"]
    data = cells.dropna(subset=[f"log_{outcome}", *regressors])
    if data.empty:
        raise Unavailable(
            f"no region-quarter has {OUTCOME_WORDS[outcome]} (a positive count) together with the staffing this needs"
        )
    if data.groupby("region_id")["log_officers"].nunique().max() < 2:
        raise Unavailable(
            "officers never change within a region in the quarters with "
            f"{OUTCOME_WORDS[outcome]}, so output cannot be related to staffing changes"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest's notes on singletons; what matters is said in the notes
        try:
            return feols(
                data,
                f"log_{outcome}",
                [*regressors, *usable_controls(data, settings.controls)],
                ["region_id", "quarter"],
                cluster=settings.cluster,
            )
        except DesignError as err:
            raise Unavailable(
                f"only {len(data):,} region-quarters in {data['region_id'].nunique()} regions have "
                f"{OUTCOME_WORDS[outcome]} with the staffing this needs, too few to compare each region "
                "with itself over time"
            ) from err


def elasticities(cells: pd.DataFrame, settings: Settings = DEFAULT) -> Table:
    """The elasticity of each outcome with respect to officers; outcomes that cannot be estimated are said."""
    rows, notes = [], []
    for outcome in settings.outcomes:
        try:
            fit = elasticity(cells, outcome, settings=settings)
        except Unavailable as err:
            notes.append(f"The elasticity of {OUTCOME_WORDS[outcome]} cannot be estimated: {err}.")
            continue
        term = fit.term("log_officers")
        regions = fit.n_clusters or 0
        rows.append(
            {
                "study": STUDY,
                "outcome": outcome,
                "estimand": "elasticity",
                "method": "twfe",
                "estimate": term["estimate"],
                "std_error": term["std_error"],
                "ci_low": term["ci_low"],
                "ci_high": term["ci_high"],
                "n_obs": fit.n_obs,
                "regions": regions,
                "wild_bootstrap_pvalue": (
                    wild_cluster_bootstrap(fit, "log_officers")["pvalue"] if regions < FEW_CLUSTERS else np.nan
                ),
            }
        )
    if not rows:
        raise Unavailable(
            "no outcome's elasticity with respect to officers can be estimated: "
            + " ".join(n.split(": ", 1)[1] for n in notes[:1]).rstrip(".")
        )
    frame = pd.DataFrame(rows)
    few = [OUTCOME_WORDS[o] for o in frame.loc[frame["regions"] < FEW_CLUSTERS, "outcome"]]
    if few:
        notes.append(
            f"The elasticit{'y' if len(few) == 1 else 'ies'} of {_and(few)} rest{'s' if len(few) == 1 else ''}"
            f" on fewer than {FEW_CLUSTERS} regions, so clustered standard errors may be too small; read the "
            "wild cluster bootstrap p-value instead."
        )
    else:
        frame = frame.drop(columns="wild_bootstrap_pvalue")
    return Table(
        frame,
        "Elasticity of each outcome with respect to enforcement officers (two-way fixed effects: region and "
        "quarter effects; the % change in the outcome for a 1% larger team)",
        [reading(frame), *notes],
        view=_elasticities_view,
    )


def _elasticities_view(frame: pd.DataFrame) -> pd.DataFrame:
    """The elasticities as a reviewer reads them: outcome in words, three decimals, counts with separators
    (the effect and method are the same on every row: the caption says them)."""
    shown = estimates_rows(frame).drop(columns=["Effect", "Method"])
    shown = shown.rename(columns={"Estimate": "Elasticity", "Observations": "Region-quarters"})
    shown["Regions"] = [labels.count(x) for x in frame["regions"]]
    if "wild_bootstrap_pvalue" in frame.columns:
        shown["Wild cluster bootstrap p-value"] = [labels.p_value(x) for x in frame["wild_bootstrap_pvalue"]]
    return shown


def shown(result: Table | Missing) -> Html | Missing:
    """A result table with the sentences that read it, or the stand-in of a step that was not possible."""
    return result if isinstance(result, Missing) else Html(result._repr_html_())


def require_every_outcome(table: Table) -> None:
    """Unavailable, listing them, when some outcome's elasticity could not be estimated (for the conclusion)."""
    missing = [n for n in table.notes if n.startswith("The elasticity of ")]
    if missing:
        raise Unavailable(" ".join(n[:1].lower() + n[1:] for n in missing).rstrip("."))


def reading(table: pd.DataFrame | Table | Missing):
    """The inspections elasticity in words (a string), or the stand-in of a step that was not possible."""
    if isinstance(table, Missing):
        return table
    frame = table.frame if isinstance(table, Table) else table
    rows = frame.set_index("outcome")
    if "inspections" not in rows.index:
        return "The inspections elasticity could not be estimated (see below), so output per officer is not read here."
    row = rows.loc["inspections"]
    return (
        f"A 10% larger team goes with about {10 * row['estimate']:.1f}% more inspections in the same region "
        f"(95% CI {10 * row['ci_low']:.1f}% to {10 * row['ci_high']:.1f}%): an elasticity "
        f"{'below' if row['ci_high'] < 1 else 'not clearly below'} one, so output per officer "
        f"{'falls' if row['ci_high'] < 1 else 'may not fall'} as teams grow."
    )


LAGS = DEFAULT.lag_terms
LEADS = DEFAULT.lead_terms


def lag_profile(cells: pd.DataFrame, outcome: str = "inspections", settings: Settings = DEFAULT) -> pd.DataFrame:
    """Distributed lags: the response this quarter and 1 to `settings.lags` quarters after a staffing change,
    and their sum."""
    lags = settings.lag_terms
    if _most_rows_per_region(cells, lags) < 2:
        raise Unavailable(
            f"no region has staffing in {_count(len(lags) + 1)} consecutive quarters, which comparing its "
            f"response over the {_quarters(settings.lags)} after a staffing change needs"
        )
    fit = elasticity(cells, outcome, lags, settings)
    table = fit.coefficients[fit.coefficients["term"].isin(lags)].assign(lag=range(len(lags)))
    total = float(table["estimate"].sum())
    weights = pd.Series(1.0, index=lags)
    covariance = fit.covariance.loc[lags, lags]
    se_total = float(np.sqrt(weights @ covariance @ weights))
    cumulative = pd.DataFrame(
        [
            {
                "term": "sum of lags",
                "estimate": total,
                "std_error": se_total,
                "ci_low": total - 1.96 * se_total,
                "ci_high": total + 1.96 * se_total,
                "lag": np.nan,
            }
        ]
    )
    return pd.concat([table, cumulative], ignore_index=True)


def _quarters(n: int) -> str:
    return {0: "no quarter", 1: "quarter"}.get(n, f"{_count(n)} quarters")


def _count(n: int) -> str:
    return NUMBER_WORDS.get(n, f"{n:,}")


NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


def lag_reading(profile) -> Html | Missing:
    if isinstance(profile, Missing):
        return profile
    total = profile[profile["term"] == "sum of lags"].iloc[0]
    after = int(profile["lag"].max())
    return Html(
        _paragraphs(
            [
                f"Summed over the quarter of a staffing change and the {_quarters(after)} after it, the elasticity of "
                f"inspections is {total['estimate']:.2f} (95% CI {total['ci_low']:.2f} to "
                f"{total['ci_high']:.2f})."
            ]
        )
    )


def leads_test(cells: pd.DataFrame, outcome: str = "inspections", settings: Settings = DEFAULT) -> dict:
    """Does output move before staff does? Leads of log officers, jointly zero under no anticipation."""
    leads = settings.lead_terms
    if _most_rows_per_region(cells, ["log_officers", *leads]) < 2:
        raise Unavailable(
            f"no region has staffing in {_count(len(leads) + 2)} consecutive quarters, which the test of output moving "
            "before staff needs"
        )
    fit = elasticity(cells, outcome, ["log_officers", *leads], settings)
    return {**joint_test(fit, leads), "leads": fit.coefficients[fit.coefficients["term"].isin(leads)]}


def _most_rows_per_region(cells: pd.DataFrame, columns: list[str]) -> int:
    """The most region-quarters any one region has with all of `columns` (a within-region comparison needs two)."""
    complete = cells.dropna(subset=columns)
    return int(complete.groupby("region_id").size().max()) if len(complete) else 0


def leads_reading(leads) -> Html | Missing:
    if isinstance(leads, Missing):
        return leads
    verdict = (
        "Output does not move before staffing does."
        if leads["pvalue"] > 0.05
        else "Output moves before staffing: the elasticities may be confounded."
    )
    return Html(_paragraphs([f"Leads test: F = {leads['F']:.2f}, p {_p(leads['pvalue'])}. {verdict}"]))


def dose_response(
    cells: pd.DataFrame, outcome: str = "inspections", bins: int = 5, settings: Settings = DEFAULT
) -> pd.DataFrame:
    """Output against staffing relative to the region's own average, in bins (lowest bin = reference)."""
    data = cells.dropna(subset=[f"log_{outcome}"]).copy()
    deviation = data["log_officers"] - data.groupby("region_id")["log_officers"].transform("mean")
    if data.empty or deviation.abs().max() < 1e-12:
        raise Unavailable(
            "officers never change within a region, so output cannot be compared across a region's own staffing levels"
        )
    data["bin"] = pd.qcut(deviation, bins, labels=False, duplicates="drop")
    if data["bin"].nunique() < 2:
        raise Unavailable("too few distinct staffing levels within regions to form two groups to compare")
    dummies = pd.get_dummies(data["bin"], prefix="bin", drop_first=True, dtype=float)
    data = pd.concat([data, dummies], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = feols(
                data,
                f"log_{outcome}",
                list(dummies.columns) + usable_controls(data, settings.controls),
                ["region_id", "quarter"],
                cluster=settings.cluster,
            )
        except DesignError as err:
            raise Unavailable(str(err)) from err
    centres = deviation.groupby(data["bin"]).mean()
    table = fit.coefficients[fit.coefficients["term"].str.startswith("bin_")].copy()
    table["bin"] = table["term"].str[4:].astype(float).astype(int)
    base = pd.DataFrame([{"term": "bin_0", "estimate": 0.0, "std_error": 0.0, "ci_low": 0.0, "ci_high": 0.0, "bin": 0}])
    table = pd.concat([base, table], ignore_index=True)
    table["log_officers_vs_region_mean"] = table["bin"].map(centres)
    return table


def dose_reading(table) -> Html | Missing:
    if isinstance(table, Missing):
        return table
    low, high = table.iloc[0], table.iloc[-1]
    return Html(
        _paragraphs(
            [
                f"In a region's best-staffed quarters (log officers {high['log_officers_vs_region_mean']:+.2f} "
                f"against its own average), inspections are {100 * np.expm1(high['estimate']):+.0f}% above "
                f"its worst-staffed quarters ({low['log_officers_vs_region_mean']:+.2f})."
            ]
        )
    )


def technical_inspector_standard(cells: pd.DataFrame) -> Table:
    """Technical inspectors per officer by province in the last quarter, against Beijing's 1:2 standard.

    Columns: `technical_per_officer` (the mean of the regions' ratios), `regions_meeting_standard`
    (the *share* of recorded regions meeting the standard, 0-1), `regions_recorded`, `officers`.
    Counts only regions whose technical inspectors are recorded (`regions_recorded`); a
    province with none recorded shows "not recorded", never zero. Regions without a
    staffing row in the last quarter are counted in the notes. Not under disclosure
    control: every column counts staff, not inspections, and says nothing about any
    enterprise.
    """
    if cells["technical_inspectors"].isna().all():
        raise Unavailable(
            "technical inspectors are not recorded (the staffing table has no technical_inspectors "
            "values), so the 1:2 standard cannot be checked"
        )
    last_quarter = cells["quarter"].max()
    last = cells[cells["quarter"] == last_quarter]
    recorded = last["technical_inspectors"].notna()
    # "One per two officers": a region meets it with at least floor(officers / 2) technical inspectors.
    meets = (last["technical_inspectors"].astype(float) >= np.floor(last["officers"] * BEIJING_STANDARD)).where(
        recorded
    )
    frame = (
        last.assign(meets=meets.astype(float), recorded=recorded.astype(int))
        .groupby("province")
        .agg(
            technical_per_officer=("technical_ratio", "mean"),
            regions_meeting_standard=("meets", "mean"),
            regions_recorded=("recorded", "sum"),
            officers=("officers", "sum"),
        )
        .reset_index()
        .sort_values("technical_per_officer", ascending=False, na_position="last")
    )
    notes = [
        "A region meets Beijing's standard with at least one technical inspector per two officers; regions "
        "whose technical inspectors are not recorded are not counted."
    ]
    absent = sorted(set(cells["region_id"]) - set(last["region_id"]))
    if absent:
        notes.append(
            f"{len(absent)} region(s) have no staffing row (or no inspections) in {last_quarter} and are not "
            "counted here."
        )
    unrecorded = int((~recorded).sum())
    if unrecorded:
        notes.append(
            f"Technical inspectors are not recorded for {unrecorded} of the {len(last)} regions in "
            f"{last_quarter}; they are left out of the shares."
        )
    return Table(
        frame.reset_index(drop=True),
        f"Technical inspectors per officer by province, {last_quarter}, against Beijing's standard of one "
        f"per two officers ({BEIJING_STANDARD:.2f} per officer)",
        notes,
        view=_standard_view,
    )


def _standard_view(frame: pd.DataFrame) -> pd.DataFrame:
    """Technical inspectors per officer to two decimals, the regions meeting the standard as "8 of 8"
    ("not recorded" where no region's technical inspectors are), officers with separators."""
    recorded = frame["regions_recorded"].to_numpy()
    meeting = [
        f"{round(share * n):,} of {n:,}" if n > 0 and pd.notna(share) else "not recorded"
        for share, n in zip(frame["regions_meeting_standard"], recorded, strict=True)
    ]
    return pd.DataFrame(
        {
            "Province": frame["province"].astype(str),
            "Technical inspectors per officer (mean of its regions)": [
                f"{x:.2f}" if pd.notna(x) else "not recorded" for x in frame["technical_per_officer"]
            ],
            "Regions meeting the standard (of those recorded)": meeting,
            "Enforcement officers": [labels.count(x) for x in frame["officers"]],
        }
    )


def training_intensity(cells: pd.DataFrame) -> Table:
    """Log inspections on trainees per officer (with log officers), same fixed effects."""
    if cells["trainees"].isna().all():
        raise Unavailable(
            "trainees are not recorded (the staffing table has no trainees values), so training "
            "intensity cannot be related to inspections"
        )
    data = cells.dropna(subset=["log_inspections", "trainees_per_officer"])
    if data.empty:
        raise Unavailable("no region-quarter has both inspections and trainees recorded")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = feols(
                data,
                "log_inspections",
                ["log_officers", "trainees_per_officer", *usable_controls(data)],
                ["region_id", "quarter"],
                cluster="region_id",
            )
        except DesignError as err:
            raise Unavailable(f"training intensity cannot be related to inspections: {err}") from err
    notes = [_training_reading(fit.term("trainees_per_officer"))]
    left_out = int(cells["log_inspections"].notna().sum() - len(data))
    if left_out:
        notes.append(f"{left_out:,} region-quarter(s) without trainees recorded are left out.")
    return Table(
        fit.coefficients,
        "Inspections (log) on people trained per officer, holding team size fixed (region and quarter "
        f"effects; {fit.n_obs:,} region-quarters)",
        notes,
        view=_coefficients_view,
    )


def _training_reading(term: pd.Series) -> str:
    """The training coefficient in words: the % change in inspections for one more person trained per officer."""
    change = {k: 100 * np.expm1(term[k]) for k in ("estimate", "ci_low", "ci_high")}
    clear = term["pvalue"] < 0.05
    return (
        f"One more person trained per officer goes with a change of {change['estimate']:+.1f}% in inspections "
        f"in the same region and team size (95% CI {change['ci_low']:+.1f}% to {change['ci_high']:+.1f}%; "
        f"p {_p(term['pvalue'])}): "
        f"{'a clear association' if clear else 'no clear association'}."
    )


def _p(p: float) -> str:
    text = labels.p_value(p)
    return text if text.startswith("<") else f"= {text}"


def _coefficients_view(frame: pd.DataFrame) -> pd.DataFrame:
    """Regression coefficients as a reviewer reads them: each term in words, three decimals, the 95%
    interval, the p-value ("< 0.001" or three decimals)."""
    return pd.DataFrame(
        {
            "Term": [labels.first_upper(labels.words(t)) for t in frame["term"]],
            "Coefficient": [labels.coefficient(x) for x in frame["estimate"]],
            "Standard error": [labels.coefficient(x) for x in frame["std_error"]],
            "95% interval": [
                f"{labels.coefficient(lo)} to {labels.coefficient(hi)}"
                for lo, hi in zip(frame["ci_low"], frame["ci_high"], strict=True)
            ],
            "p-value": [labels.p_value(x) for x in frame["pvalue"]],
        }
    )


def officers_by_province(dataset: Dataset, period: str) -> pd.DataFrame:
    """Officers by province and quarter up to `period` (a total is missing where a region lacks its row)."""
    quarterly = trend(dataset, by="province", granularity="quarter")
    quarterly = quarterly.loc[quarterly["period"] <= period, ["province", "period", "officers"]]
    if quarterly["period"].nunique() < 2:
        raise Unavailable(
            f"the data has inspections in only one quarter up to {period}, so officers cannot be followed over time"
        )
    if quarterly["officers"].notna().sum() == 0:
        raise Unavailable(
            f"no province has a complete officers total in any quarter up to {period} (each needs "
            "every region's staffing row)"
        )
    return quarterly.reset_index(drop=True)


def staffing_reading(officers, highlight: str = "Hunan") -> Html | Missing:
    """Growth in officers from each province's first to its last complete total, in sentences."""
    if isinstance(officers, Missing):
        return officers
    wide = officers.pivot(index="period", columns="province", values="officers").sort_index()
    spans = {p: wide[p].dropna() for p in wide.columns if wide[p].notna().sum() >= 2}
    growth = {p: s.iloc[-1] / s.iloc[0] - 1 for p, s in spans.items() if s.iloc[0] > 0}
    sentences = []
    if highlight in growth:
        span = spans[highlight]
        sentences.append(
            f"From {span.index[0]} to {span.index[-1]}, {highlight}'s officers changed by {growth[highlight]:+.0%}."
        )
    others = {p: g for p, g in growth.items() if p != highlight}
    if len(others) == 1:
        ((province, change),) = others.items()
        sentences.append(f"In {province}, officers changed by {change:+.0%} from its first to its last complete total.")
    elif others:
        sentences.append(
            f"Elsewhere, from each province's first to its last complete total, the change ranges from "
            f"{min(others.values()):+.0%} to {max(others.values()):+.0%}."
        )
    gaps = int(wide.isna().sum().sum())
    if gaps:
        sentences.append(
            f"{gaps} province-quarter(s) have no complete total (a region without its staffing row) and "
            "leave gaps in the lines."
        )
    return Html(
        _paragraphs(
            sentences or ["No province has a complete officers total in two quarters, so growth cannot be read."]
        )
    )


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _paragraphs(sentences: list[str]) -> str:
    return "".join(f"<p class='reading'>{html.escape(s)}</p>" for s in sentences if s)


def robustness(leads, elasticities) -> Html:
    """The conclusion's verdict: does output move before staff (leads test), and on how many regions
    the clustered errors rest."""
    sentences = []
    if isinstance(leads, Missing):
        sentences.append("Not checked (the data did not allow it): whether output moves before staffing does.")
    elif leads["pvalue"] < 0.05:
        sentences.append(
            f"Verdict: read with care: output moves before staffing does (leads test p {_p(leads['pvalue'])}), "
            "so staffing may follow output rather than drive it."
        )
    else:
        sentences.append(
            f"Verdict: output does not move before staffing does (leads test p {_p(leads['pvalue'])}), as a "
            "causal reading of the elasticities needs."
        )
    if not isinstance(elasticities, Missing) and len(elasticities.frame):
        regions = int(elasticities.frame["regions"].min())
        if regions < FEW_CLUSTERS:
            sentences.append(
                f"The errors rest on {regions} regions, fewer than {FEW_CLUSTERS}: read the wild cluster bootstrap "
                "p-values."
            )
    return Html(_paragraphs(sentences))
