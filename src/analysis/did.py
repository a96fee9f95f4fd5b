"""Staggered-adoption difference-in-differences, with the argument names of R's `did`.

`att_gt` and `aggte` wrap moderndid (a maintained Python port of Callaway and
Sant'Anna's `did`), checked against the `did` package's published mpdta results
(tests/golden/). Conventions follow `did`:

- `gname` is the first treated period, 0 for never-treated units;
- analytic standard errors from the influence function (no bootstrap) for ATT(g,t)
  and the aggregations; the dynamic aggregation also gets a simultaneous (uniform)
  band from the multiplier bootstrap, with a fixed seed;
- `base_period="varying"` compares pre-periods with the period just before.

Two-way fixed effects (static and event study) use pyfixest with errors clustered
by unit (CRV1, fixest's small-sample adjustment), for comparison only: with
effects that change over time they mix in already-treated units as controls.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

BOOTSTRAP_DRAWS = 999
BOOTSTRAP_SEED = 20220824


class DesignError(ValueError):
    """The panel cannot identify any group-time effect with this design (said in words)."""


@dataclass
class GroupTimeEffects:
    """ATT(g,t) for every cohort g and period t, with analytic standard errors."""

    table: pd.DataFrame  # group, time, att, std_error, ci_low, ci_high, post
    pretest_pvalue: float  # Wald test that all pre-treatment ATT(g,t) are zero
    n_units: int
    raw: object  # the moderndid result, for aggte
    notes: list[str] = field(default_factory=list)  # what was left out to make the design estimable


@dataclass
class Aggregate:
    """An aggregated effect and, for `dynamic`, the effect at each event time."""

    type: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    by: pd.DataFrame  # event_time / group / time, estimate, std_error, ci_low, ci_high (+ band_low/band_high)
    n_units: int
    influence: np.ndarray | None = None  # units x rows of `by`, for joint tests
    notes: list[str] = field(default_factory=list)


def pretrend_test(dynamic: Aggregate) -> dict:
    """Joint Wald test that every pre-adoption event-time effect is zero.

    Uses the event-time estimates' influence functions. (The test on all pre-period
    ATT(g,t) that `did` prints needs a covariance of dozens of correlated cells from
    a hundred-odd units; it is near-singular and over-rejects, so this one is used.)
    """
    if dynamic.type != "dynamic" or dynamic.influence is None:
        raise ValueError("pretrend_test needs a dynamic aggregation")
    # With base_period="universal" the reference period is 0 by construction (no variance): not a test.
    estimated = (dynamic.by["std_error"].fillna(0) > 0).to_numpy()
    pre = (dynamic.by["event_time"] < 0).to_numpy() & estimated
    if not pre.any():
        return {"statistic": float("nan"), "df": 0, "pvalue": float("nan")}
    estimates = dynamic.by["estimate"].to_numpy()[pre]
    n = dynamic.influence.shape[0]
    cov = dynamic.influence[:, pre].T @ dynamic.influence[:, pre] / n**2
    statistic = float(estimates @ np.linalg.solve(cov, estimates))
    return {"statistic": statistic, "df": int(pre.sum()), "pvalue": float(stats.chi2.sf(statistic, pre.sum()))}


def att_gt(
    df: pd.DataFrame,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    xformla: str | None = None,
    control_group: str = "nevertreated",
    est_method: str = "dr",
    anticipation: int = 0,
    base_period: str = "varying",
    alpha: float = 0.05,
    allow_unbalanced_panel: bool = False,
) -> GroupTimeEffects:
    """Group-time average treatment effects on the treated (Callaway & Sant'Anna 2021).

    `allow_unbalanced_panel` as in R's `did`: rows with a missing outcome are dropped and,
    when units are then observed in different periods, each ATT(g,t) uses the units
    observed in its two periods (did's repeated-cross-section form, influence functions
    summed by unit, so errors stay clustered by unit). A balanced panel is estimated as a
    panel either way. Without it, units lacking a period are left out (with a note).
    """
    import moderndid

    if control_group not in ("nevertreated", "notyettreated"):
        raise ValueError("control_group must be 'nevertreated' or 'notyettreated'")
    if est_method not in ("dr", "ipw", "reg"):
        raise ValueError("est_method must be 'dr', 'ipw' or 'reg'")
    if base_period not in ("varying", "universal"):
        raise ValueError("base_period must be 'varying' or 'universal'")
    for column in (yname, tname, idname, gname):
        if column not in df.columns:
            raise KeyError(f"{column!r} is not a column of the panel")
    if allow_unbalanced_panel:
        df = df.dropna(subset=[yname])
    notes = _check_cohorts(df, tname, idname, gname, control_group, anticipation)
    xformla, dropped = _usable_covariates(df, tname, idname, xformla)
    notes += dropped
    layout, unbalanced = {}, allow_unbalanced_panel and not _balanced(df, tname, idname)
    if unbalanced:
        # moderndid 0.2's panel path has no unbalanced form (it fails on a missing outcomes
        # tensor); its repeated-cross-section path with the unit id is R did's unbalanced one.
        layout = {"panel": False, "allow_unbalanced_panel": True}
        df, expected_cohorts = _units_in_moderndid_order(df, yname, tname, idname, gname, xformla, anticipation)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = moderndid.att_gt(
                df,
                yname=yname,
                tname=tname,
                idname=idname,
                gname=gname,
                xformla=xformla,
                control_group=control_group,
                est_method=est_method,
                anticipation=anticipation,
                base_period=base_period,
                boot=False,
                cband=False,
                alp=alpha,
                **layout,
            )
        except ValueError as err:
            raise DesignError(f"no group-time effect can be estimated: {err}") from err
    notes += _library_notes(caught)
    if unbalanced:
        _check_unit_order(result, expected_cohorts)
    z = stats.norm.ppf(1 - alpha / 2)
    table = pd.DataFrame(
        {
            "group": np.asarray(result.groups),
            "time": np.asarray(result.times),
            "att": np.asarray(result.att_gt),
            "std_error": np.asarray(result.se_gt),
        }
    )
    if table.empty or table["att"].isna().all():
        raise DesignError(
            "no group-time effect could be estimated: every comparison lacked control units or "
            "had a singular design" + (f" ({'; '.join(notes)})" if notes else "")
        )
    table["ci_low"], table["ci_high"] = table["att"] - z * table["std_error"], table["att"] + z * table["std_error"]
    table["post"] = table["time"] >= table["group"] - anticipation
    pvalue = float(result.wald_pvalue) if result.wald_pvalue is not None else float("nan")
    return GroupTimeEffects(table, pvalue, int(result.n_units), result, notes)


def _balanced(df: pd.DataFrame, tname: str, idname: str) -> bool:
    """Every unit observed once in every period of the panel."""
    counts = df.groupby(idname)[tname].nunique()
    return bool(len(df) == counts.sum() and (counts == df[tname].nunique()).all())


def _units_in_moderndid_order(df, yname, tname, idname, gname, xformla, anticipation):
    """The panel with unit ids recoded 0..n-1 in the order moderndid 0.2 lists units when unbalanced.

    That path sums each unit's influence function in sorted-id order but hands `aggte` the
    units' cohorts in order of first appearance (rows sorted by period, cohort, id). The two
    agree only when ids happen to sort that way; otherwise aggregated standard errors depend
    on how the ids are labelled. With these codes both orders are the same. Returns the
    recoded panel and the cohort of each unit moderndid keeps, in that order (0 = never).
    """
    formula_columns = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", xformla or "")) & set(df.columns)
    df = df.dropna(subset=[yname, tname, idname, gname, *sorted(formula_columns)])  # as moderndid drops them
    last_period = df[tname].max()
    cohort = df[gname].where((df[gname] > 0) & (df[gname] <= last_period), np.inf)  # moderndid: never = inf
    units = (
        pd.DataFrame({"unit": df[idname], "first": df[tname], "cohort": cohort})
        .groupby("unit", sort=True)
        .agg(first=("first", "min"), cohort=("cohort", "first"))
        .sort_values(["first", "cohort"], kind="stable")
    )
    codes = pd.Series(np.arange(len(units)), index=units.index)
    kept = units["cohort"] > df[tname].min() + anticipation  # moderndid drops units treated from the start
    return df.assign(**{idname: df[idname].map(codes).to_numpy()}), units.loc[kept, "cohort"].to_numpy()


def _check_unit_order(result, expected_cohorts: np.ndarray) -> None:
    """Refuse to go on if moderndid's unit order is not the one `_units_in_moderndid_order` assumes."""
    cohorts = np.asarray(result.G, dtype=float) if result.G is not None else np.array([])
    if not np.array_equal(cohorts, expected_cohorts):
        raise RuntimeError(
            "moderndid lists units in an unexpected order on its unbalanced path, so aggregated "
            "standard errors would be wrong; check the installed moderndid version against did.py"
        )


def _check_cohorts(df, tname, idname, gname, control_group, anticipation) -> list[str]:
    """Refuse designs `did` would quietly change; note units it leaves out."""
    changing = int((df.groupby(idname)[gname].nunique() > 1).sum())
    if changing:
        raise DesignError(f"{changing} unit(s) have more than one first-treatment period ({gname}); it must be one per unit")
    groups = df.groupby(idname)[gname].first()
    first_period = df[tname].min()
    never = int((groups == 0).sum())
    if control_group == "nevertreated" and never == 0:
        raise DesignError(
            "there are no never-treated units to compare with (gname 0); use "
            "control_group='notyettreated', or add units that never adopt"
        )
    treated = groups[groups > 0]
    identified = treated[treated - anticipation > first_period]
    if len(treated) and identified.empty:
        raise DesignError(
            f"every treated unit is treated from the first period of the panel ({first_period}); "
            "there is no period before adoption to compare with"
        )
    if not len(treated):
        raise DesignError("no unit is ever treated (gname is 0 everywhere)")
    early = len(treated) - len(identified)
    return [f"{early} unit(s) treated from the first period left out (no period before adoption)"] if early else []


def _usable_covariates(df, tname, idname, xformla: str | None) -> tuple[str | None, list[str]]:
    """Covariates of a plain `~ a + b` formula that vary and are not collinear (unit level, first period)."""
    if not xformla:
        return None, []
    terms = [t.strip() for t in xformla.replace("~", "", 1).split("+") if t.strip()]
    if not all(t in df.columns for t in terms):
        return xformla, []  # a formula with transformations: leave it to the estimator
    from .ate import design_matrix, drop_redundant

    first = df.sort_values(tname).groupby(idname).head(1)
    kept, dropped = drop_redundant(design_matrix(first, terms))
    notes = [f"covariate {name} left out: constant, or determined by the other covariates" for name in dropped]
    names = [t for t in terms if any(col == t or col.startswith(f"{t}_") for col in kept.columns)]
    return ("~ " + " + ".join(names)) if names else None, notes


def _library_notes(caught) -> list[str]:
    """moderndid's warnings as short notes (it warns once per group-time cell)."""
    messages = list(dict.fromkeys(str(w.message).split(". ")[0] for w in caught))
    # The unbalanced form runs through the repeated-cross-section path on purpose (see att_gt).
    return [m for m in messages if "Wald pre-test" not in m and "panel=False was specified" not in m][:5]


def aggte(
    result: GroupTimeEffects,
    type: str = "simple",
    min_e: float | None = None,
    max_e: float | None = None,
    alpha: float = 0.05,
) -> Aggregate:
    """Aggregate ATT(g,t): `simple`, `dynamic` (event study), `group` or `calendar`."""
    import moderndid

    if type not in ("simple", "dynamic", "group", "calendar"):
        raise ValueError("type must be simple, dynamic, group or calendar")
    bounds = {"min_e": -np.inf if min_e is None else min_e, "max_e": np.inf if max_e is None else max_e}
    analytic = moderndid.aggte(result.raw, type=type, boot=False, cband=False, alp=alpha, **bounds)
    z = stats.norm.ppf(1 - alpha / 2)
    overall, se = float(analytic.overall_att), float(analytic.overall_se)
    by = pd.DataFrame()
    if type != "simple":
        key = {"dynamic": "event_time", "group": "group", "calendar": "time"}[type]
        by = pd.DataFrame(
            {
                key: np.asarray(analytic.event_times),
                "estimate": np.asarray(analytic.att_by_event),
                "std_error": np.asarray(analytic.se_by_event),
            }
        )
        by["ci_low"], by["ci_high"] = by["estimate"] - z * by["std_error"], by["estimate"] + z * by["std_error"]
    if type == "dynamic":
        banded = moderndid.aggte(
            result.raw,
            type=type,
            boot=True,
            cband=True,
            biters=BOOTSTRAP_DRAWS,
            alp=alpha,
            random_state=BOOTSTRAP_SEED,
            **bounds,
        )
        critical = float(np.atleast_1d(banded.critical_values)[0])
        band_se = np.asarray(banded.se_by_event)
        by["band_low"], by["band_high"] = by["estimate"] - critical * band_se, by["estimate"] + critical * band_se
    influence = np.asarray(analytic.influence_func) if type != "simple" else None
    return Aggregate(
        type, overall, se, overall - z * se, overall + z * se, by, result.n_units, influence, list(result.notes)
    )


def _check_fixed_effects_sample(data, yname, regressors, idname, tname) -> None:
    """DesignError (a sentence) where pyfixest's compiled demeaning would fail or the regression has nothing to say."""
    from .panel import estimable_sample

    sample = estimable_sample(data, yname, regressors, [idname, tname], cluster=idname)
    if sample[regressors[0]].nunique() < 2:
        raise DesignError(
            f"no unit changes treatment status within the {len(sample):,} usable rows, so the "
            "two-way fixed-effects regression has no comparison"
        )


@dataclass
class FixedEffectsEstimate:
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    n_obs: int
    by: pd.DataFrame  # event-study coefficients (event_time, estimate, std_error, ci_low, ci_high)


def twfe(df: pd.DataFrame, yname: str, tname: str, idname: str, gname: str) -> FixedEffectsEstimate:
    """Static two-way fixed effects: y on a treated-and-post dummy, unit and period effects, CRV1 by unit."""
    import pyfixest as pf

    data = df[[yname, tname, idname, gname]].copy()
    data["treated_post"] = ((data[gname] > 0) & (data[tname] >= data[gname])).astype(float)
    _check_fixed_effects_sample(data, yname, ["treated_post"], idname, tname)
    fit = pf.feols(f"{yname} ~ treated_post | {idname} + {tname}", data=data, vcov={"CRV1": idname})
    coef, se = float(fit.coef()["treated_post"]), float(fit.se()["treated_post"])
    low, high = fit.confint().loc["treated_post"].to_numpy()
    return FixedEffectsEstimate(coef, se, float(low), float(high), int(fit._N), pd.DataFrame())


def twfe_event_study(
    df: pd.DataFrame, yname: str, tname: str, idname: str, gname: str, min_e: int = -6, max_e: int = 8
) -> FixedEffectsEstimate:
    """Event-study TWFE: relative-time dummies (ends binned, e = -1 omitted), never-treated as reference."""
    import pyfixest as pf

    data = df[[yname, tname, idname, gname]].copy()
    relative = (data[tname] - data[gname]).clip(min_e, max_e)
    data["event_time"] = np.where(data[gname] > 0, relative, -1).astype(int)
    _check_fixed_effects_sample(data, yname, ["event_time"], idname, tname)
    fit = pf.feols(f"{yname} ~ i(event_time, ref=-1) | {idname} + {tname}", data=data, vcov={"CRV1": idname})
    coefs, ses, ci = fit.coef(), fit.se(), fit.confint()
    times = [int(name.split("::")[1].rstrip("]").split(".")[0]) for name in coefs.index]
    by = pd.DataFrame(
        {
            "event_time": times,
            "estimate": coefs.to_numpy(),
            "std_error": ses.to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(),
            "ci_high": ci.iloc[:, 1].to_numpy(),
        }
    ).sort_values("event_time")
    return FixedEffectsEstimate(
        float("nan"), float("nan"), float("nan"), float("nan"), int(fit._N), by.reset_index(drop=True)
    )
