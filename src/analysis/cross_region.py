"""Study 2: cross-region enforcement, staggered adoption difference-in-differences.

Units are regions (counties) observed every quarter; a region is treated from the
quarter its `cross_region` programme starts (programs table), and regions that
never adopt are the controls. Regions under another outcome-changing reform in the
window (a surprise campaign) are left out of the comparison by default: their
outcomes move for reasons of their own, which would break parallel trends.
"""

from __future__ import annotations

import warnings

import pandas as pd

from . import did
from .data import Dataset
from .disclosure import DEFAULT_MIN_CELL_SIZE, Withheld, name_list, region_names, suppress
from .metrics import quarters_of, region_quarter

STUDY = "cross_region"
OUTCOMES = ("case_rate", "avg_case_value", "major_hazard_filing_rate")
MIN_COHORT_UNITS = 5
EVENT_TIMES = range(0, 5)  # ATT_e0 ... ATT_e4 go to estimates.csv


class PanelError(ValueError):
    """The region-quarter panel cannot support the design (unbalanced, or too few units)."""


def panel(dataset: Dataset, last_period: str | None = None, exclude_programs: tuple[str, ...] = ("surprise_campaign",)) -> pd.DataFrame:
    """Region x quarter outcomes with adoption timing (t and g as quarter numbers, g = 0: never adopted)."""
    cells = region_quarter(dataset, last_period)
    quarters = sorted(cells["quarter"].unique())
    cells["t"] = cells["quarter"].map({q: i + 1 for i, q in enumerate(quarters)})
    cells["g"] = cells["region_id"].map(_adoption(dataset, "cross_region", quarters)).fillna(0).astype(int)
    excluded = _regions_with(dataset, exclude_programs)
    cells = cells[~cells["region_id"].isin(excluded)]
    cells["unit"] = cells["region_id"].astype("category").cat.codes + 1
    return cells.reset_index(drop=True)


def _adoption(dataset: Dataset, program: str, quarters: list[str]) -> dict[str, int]:
    """Adoption quarter number; adoption before the first observed quarter counts as quarter 1."""
    index = {q: i + 1 for i, q in enumerate(quarters)}
    return {region: index.get(start, 1) for region, start in dataset.program_starts(program).items() if start <= quarters[-1]}


def _regions_with(dataset: Dataset, programs: tuple[str, ...]) -> set[str]:
    return set().union(*(dataset.program_starts(p) for p in programs))


def check(cells: pd.DataFrame, outcome: str, min_cell_size: int = DEFAULT_MIN_CELL_SIZE) -> list[str]:
    """Raise PanelError when the design cannot run; return warnings for thin cohorts.

    Messages name only regions with at least `min_cell_size` inspections (disclosure control).
    """
    usable = cells.dropna(subset=[outcome])
    n_periods = cells["t"].nunique()
    counts = usable.groupby("region_id").size()
    incomplete = counts[counts < n_periods]
    missing_units = set(cells["region_id"]) - set(counts.index)
    if len(incomplete) or missing_units:
        lacking = sorted(list(incomplete.index) + sorted(missing_units))
        named, withheld = region_names(lacking, region_inspections(cells), min_cell_size)
        raise PanelError(f"{outcome}: unbalanced panel; {len(incomplete) + len(missing_units)} region(s) lack some of the "
                         f"{n_periods} quarters ({name_list(named, withheld, limit=8)}); drop them or fill the gaps before estimating")
    cohorts = usable.drop_duplicates("region_id").groupby("g").size()
    if 0 not in cohorts.index:
        raise PanelError("no never-treated regions to compare with")
    if len(cohorts) < 2:
        raise PanelError("no region adopted cross-region enforcement within the data")
    thin = cohorts[(cohorts.index > 0) & (cohorts < MIN_COHORT_UNITS)]
    return [f"the cohort adopting in quarter {g} has only {n} region(s); its effects are imprecise" for g, n in thin.items()]


def region_inspections(cells: pd.DataFrame) -> pd.Series:
    """Inspections per region over the panel's quarters (what decides whether a region may be named)."""
    if "inspections" not in cells.columns:
        return pd.Series(dtype=float)
    return cells.groupby("region_id", observed=True)["inspections"].sum()


def complete_units(cells: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, list[str]]:
    """Keep regions observed in every quarter for `outcome` (a rate is undefined in a quarter
    without inspections, cases or major hazards); return them and the regions left out."""
    n_periods = cells["t"].nunique()
    counts = cells.dropna(subset=[outcome]).groupby("region_id").size()
    keep = counts.index[counts == n_periods]
    dropped = sorted(set(cells["region_id"]) - set(keep))
    return cells[cells["region_id"].isin(keep)], dropped


def estimates(cells: pd.DataFrame, outcomes=OUTCOMES, drop_incomplete: bool = True,
              min_cell_size: int = DEFAULT_MIN_CELL_SIZE) -> dict[str, dict]:
    """Callaway-Sant'Anna (simple and dynamic) and TWFE (static and event study) for each outcome.

    With `drop_incomplete`, regions lacking a quarter of an outcome are left out of that
    outcome's comparison, and the notes (returned under "warnings") say which; regions
    with fewer than `min_cell_size` inspections are counted there, not named (what was
    withheld is under "withheld").
    """
    out = {}
    inspections = region_inspections(cells)
    for outcome in outcomes:
        data, dropped = complete_units(cells, outcome) if drop_incomplete else (cells, [])
        named, withheld = region_names(dropped, inspections, min_cell_size, where=f"{outcome}: regions left out")
        notes = [f"{outcome}: {len(dropped)} region(s) with an undefined value in some quarter left out "
                 f"({name_list(named, withheld)})"] if dropped else []
        notes += check(data, outcome, min_cell_size)
        for note in notes:
            warnings.warn(note, stacklevel=2)
        data = data[["unit", "t", "g", outcome]]
        gt = did.att_gt(data, outcome, "t", "unit", "g", est_method="reg")
        out[outcome] = {
            "group_time": gt,
            "simple": did.aggte(gt, "simple"),
            "dynamic": did.aggte(gt, "dynamic"),
            "twfe": did.twfe(data, outcome, "t", "unit", "g"),
            "twfe_dynamic": did.twfe_event_study(data, outcome, "t", "unit", "g"),
            "warnings": notes,
            "withheld": withheld,
        }
    return out


def estimates_frame(results: dict[str, dict], n_units: int) -> pd.DataFrame:
    """Rows for estimates.csv: ATT and ATT_e0..ATT_e4 by both methods."""
    rows = []
    for outcome, r in results.items():
        simple, twfe = r["simple"], r["twfe"]
        rows.append(_row(outcome, "ATT", "callaway_santanna", simple.estimate, simple.std_error, simple.ci_low, simple.ci_high, n_units))
        rows.append(_row(outcome, "ATT", "twfe", twfe.estimate, twfe.std_error, twfe.ci_low, twfe.ci_high, n_units))
        for method, table in (("callaway_santanna", r["dynamic"].by), ("twfe", r["twfe_dynamic"].by)):
            for e in EVENT_TIMES:
                match = table[table["event_time"] == e]
                if len(match):
                    m = match.iloc[0]
                    rows.append(_row(outcome, f"ATT_e{e}", method, m["estimate"], m["std_error"], m["ci_low"], m["ci_high"], n_units))
    return pd.DataFrame(rows)


def _row(outcome, estimand, method, estimate, se, low, high, n):
    return {"study": STUDY, "outcome": outcome, "estimand": estimand, "method": method, "estimate": float(estimate),
            "std_error": float(se), "ci_low": float(low), "ci_high": float(high), "n_obs": int(n)}


def comparison(results: dict[str, dict]) -> pd.DataFrame:
    """Overall ATT by both methods, side by side."""
    return pd.DataFrame([
        {"outcome": o, "callaway_santanna": r["simple"].estimate, "cs_ci_low": r["simple"].ci_low, "cs_ci_high": r["simple"].ci_high,
         "twfe": r["twfe"].estimate, "twfe_ci_low": r["twfe"].ci_low, "twfe_ci_high": r["twfe"].ci_high,
         "pretrend_pvalue": did.pretrend_test(r["dynamic"])["pvalue"]}
        for o, r in results.items()
    ])


def adoption_timeline(cells: pd.DataFrame) -> pd.DataFrame:
    """Region, province code and adoption quarter label, one row per region."""
    first = cells.drop_duplicates("region_id")[["region_id", "g"]]
    labels = dict(zip(cells["t"], cells["quarter"]))
    first = first.assign(adopted=first["g"].map(labels).fillna("never"))
    return first.sort_values(["g", "region_id"]).reset_index(drop=True)


def capture_check(dataset: Dataset, last_period: str | None = None,
                  min_cell_size: int = DEFAULT_MIN_CELL_SIZE) -> tuple[pd.DataFrame, Withheld]:
    """Within the same region and quarter, do outside teams' inspections end differently from local ones?

    Inspection-level regressions on the outside-team dummy with region x quarter fixed
    effects, errors clustered by region, over regions and quarters with cross-region
    enforcement in force. A difference resting on fewer than `min_cell_size` inspections
    by outside or by local teams is withheld (disclosure control).
    """
    import pyfixest as pf

    inspections = dataset.inspections
    quarter = quarters_of(inspections["inspection_date"]).astype(str)
    data = pd.DataFrame({
        "region": inspections["region_id"].astype(str).to_numpy(), "quarter": quarter,
        "outside_team": inspections["cross_region"].to_numpy(dtype=float),
        "case_filed": inspections["case_filed"].to_numpy(dtype=float),
        "penalty_amount": inspections["penalty_amount"].to_numpy(),
        "major_hazard_found": (inspections["major_hazards"] > 0).to_numpy(dtype=float),
    })
    if last_period:
        data = data[data["quarter"] <= last_period]
    mixed = data.groupby(["region", "quarter"])["outside_team"].transform(lambda s: 0 < s.mean() < 1)
    data = data[mixed.astype(bool)]
    where = "capture check: outside minus local teams"
    if data.empty:
        return pd.DataFrame(columns=["outcome", "estimate", "std_error", "ci_low", "ci_high", "n_obs"]), Withheld(where, min_cell_size)
    outside = int(data["outside_team"].sum())
    smallest_arm = min(outside, len(data) - outside)
    rows = []
    for outcome in ("case_filed", "penalty_amount", "major_hazard_found"):
        fit = pf.feols(f"{outcome} ~ outside_team | region^quarter", data=data, vcov={"CRV1": "region"})
        low, high = fit.confint().loc["outside_team"].to_numpy()
        rows.append({"outcome": outcome, "estimate": float(fit.coef()["outside_team"]), "std_error": float(fit.se()["outside_team"]),
                     "ci_low": float(low), "ci_high": float(high), "n_obs": int(fit._N), "smallest_arm": smallest_arm})
    shown, withheld = suppress(pd.DataFrame(rows), "smallest_arm", ["estimate", "std_error", "ci_low", "ci_high", "n_obs"],
                               min_cell_size, withhold_count=False, where=where)
    return shown.drop(columns="smallest_arm"), withheld


def quarter_labels(cells: pd.DataFrame) -> dict[int, str]:
    return dict(zip(cells["t"], cells["quarter"]))


def event_truth(data_path, outcome: str) -> dict[int, float] | None:
    """Planted ATT_e values for `outcome` when the data is a simulated world."""
    from .results import planted_truth

    rows = planted_truth(data_path, STUDY, estimand=None)
    if rows is None:
        return None
    return {int(estimand[5:]): value for (o, estimand), value in rows.items() if o == outcome and estimand.startswith("ATT_e")}


def reading(results: dict[str, dict]) -> list[str]:
    words = {"case_rate": ("the share of inspections that end in a case", lambda x: f"{100 * x:+.1f} percentage points"),
             "avg_case_value": ("the average case value", lambda x: f"{x:+,.0f} yuan"),
             "major_hazard_filing_rate": ("the filing rate when a major hazard is found", lambda x: f"{100 * x:+.1f} percentage points")}
    out = []
    for outcome, r in results.items():
        name, fmt = words[outcome]
        s, t = r["simple"], r["twfe"]
        out.append(f"After adoption, cross-region enforcement changed {name} by {fmt(s.estimate)} on average "
                   f"(95% CI {fmt(s.ci_low)} to {fmt(s.ci_high)}); the two-way fixed-effects regression says {fmt(t.estimate)}.")
    return out
