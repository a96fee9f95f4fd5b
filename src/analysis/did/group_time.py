"""Group-time effects (`att_gt`), their aggregations (`aggte`) and the pre-trend test (moderndid)."""

from __future__ import annotations

import operator
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .summaries import (
    _aligned,
    _capitalised,
    _control_words,
    _estimate_cells,
    _estimate_header,
    _formatter,
    _key,
    _level,
    _test_in_words,
    _typical,
    _whole,
)
from .wald import _no_test, small_sample_wald

BOOTSTRAP_DRAWS = 999  # the dynamic aggregation's band when the errors are analytic
BOOTSTRAP_SEED = 20220824  # every bootstrap, unless a seed is given
BOOTSTRAP_ITERATIONS = 1000  # att_gt's `biters` (did's default)

# Names moderndid 0.2 does not read as columns in a formula (it takes them for functions).
_MODERNDID_FORMULA_WORDS = frozenset({"C", "I", "Q", "bs", "ns", "log", "exp", "sqrt", "abs", "np"})

_AGGREGATION_KEYS = {"dynamic": "event_time", "group": "group", "calendar": "time"}
_AGGREGATION_NAMES = {
    "simple": "Simple aggregation of ATT(g,t)",
    "dynamic": "Event-study (dynamic) aggregation of ATT(g,t)",
    "group": "Aggregation of ATT(g,t) by cohort",
    "calendar": "Aggregation of ATT(g,t) by calendar period",
}
_OVERALL_NAMES = {
    "simple": "ATT, all post-adoption cells weighted by cohort size",
    "dynamic": "ATT, average of the event-time effects e >= 0",
    "group": "ATT, average of the cohort effects weighted by cohort size",
    "calendar": "ATT, average of the period effects",
}


class DesignError(ValueError):
    """The panel cannot identify any group-time effect with this design (said in words)."""


@dataclass(frozen=True)
class Inference:
    """How the standard errors and bands of a result were computed.

    Attributes
    ----------
    bstrap : bool
        Standard errors from did's multiplier bootstrap (True) or analytic, from the
        influence functions (False).
    biters : int or None
        Bootstrap draws, for the errors or for the band; None when nothing was bootstrapped.
    cband : bool
        Whether the result carries a simultaneous (uniform) band (`band_low`, `band_high`).
    seed : int or None
        The bootstrap's seed; None when nothing was bootstrapped.
    cluster : str or None
        The clustering variable besides the unit, if any (errors are always clustered by unit).
    n_clusters : int or None
        Number of clusters of `cluster`.
    """

    bstrap: bool = False
    biters: int | None = None
    cband: bool = False
    seed: int | None = None
    cluster: str | None = None
    n_clusters: int | None = None

    def in_words(self) -> str:
        """One sentence: the kind of standard errors, the clustering, the band."""
        if self.bstrap:
            text = f"multiplier-bootstrap standard errors ({self.biters:,} draws, seed {self.seed})"
        else:
            text = "analytic standard errors (influence functions)"
        if self.cluster:
            text += f", clustered by {self.cluster} ({self.n_clusters:,} clusters)"
        else:
            text += ", clustered by unit"
        if self.cband:
            text += "; simultaneous band from the multiplier bootstrap"
            if not self.bstrap:
                text += f" ({self.biters:,} draws, seed {self.seed})"
        return text


@dataclass
class GroupTimeEffects:
    """ATT(g,t) for every cohort g and period t.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per cell: group, time, att, std_error, ci_low, ci_high, post (and band_low,
        band_high with a uniform band).
    pretest_pvalue : float
        p-value of the small-sample pre-trend test that every pre-adoption ATT(g,t) is zero
        (see `pretrend_test`); NaN when there is no pre-adoption cell to test.
    n_units : int
        Units used.
    raw : object
        The moderndid result, for `aggte`.
    notes : list of str
        What was left out to make the design estimable, in words.
    alpha : float
        The intervals are 1 - alpha intervals.
    anticipation : int
        Periods of anticipation allowed for (cells with ``time >= group - anticipation`` are post).
    control_group : str
        "nevertreated" or "notyettreated".
    inference : Inference
        How the errors (and band) were computed; `aggte` inherits it.
    pretest : dict
        The whole pre-trend test behind `pretest_pvalue` (see `pretrend_test`).
    """

    table: pd.DataFrame  # group, time, att, std_error, ci_low, ci_high, post (+ band_low/band_high)
    pretest_pvalue: float  # small-sample test that all pre-treatment ATT(g,t) are zero
    n_units: int
    raw: Any  # the moderndid result, for aggte
    notes: list[str] = field(default_factory=list)  # what was left out to make the design estimable
    alpha: float = 0.05
    anticipation: int = 0
    control_group: str = "nevertreated"
    inference: Inference = field(default_factory=Inference)
    pretest: dict = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        """One row per ATT(g,t).

        Columns: group, time, event_time (time - group), estimate, std_error, ci_low,
        ci_high, (band_low, band_high,) post.
        """
        table = self.table.rename(columns={"att": "estimate"})
        table.insert(2, "event_time", table["time"] - table["group"])
        for key in ("group", "time", "event_time"):
            table[key] = _whole(table[key])
        bands = [c for c in ("band_low", "band_high") if c in table.columns]
        columns = ["group", "time", "event_time", "estimate", "std_error", "ci_low", "ci_high", *bands, "post"]
        return table[columns].reset_index(drop=True)

    def summary(self) -> str:
        """A few lines to read: design, errors, pre-trend test, the cells, notes."""
        table = self.table
        cohorts = table["group"].nunique()
        pre = int((~table["post"]).sum())
        lines = [
            "Group-time average treatment effects ATT(g,t) (Callaway and Sant'Anna 2021)",
            f"{self.n_units:,} units, {cohorts} cohort{'s' if cohorts != 1 else ''}, {len(table)} cells "
            f"({pre} before adoption); compared with {_control_words(self.control_group)}",
            _capitalised(self.inference.in_words()),
            f"Pre-trend test, every ATT(g,t) before adoption is 0: {_test_in_words(self.pretest)}",
            "",
        ]
        number = _formatter(_typical(table["std_error"]))
        rows = [[_key(r.group), _key(r.time), *_estimate_cells(r, r.att, number)] for r in table.itertuples()]
        lines += _aligned(["group", "time", *_estimate_header(self.alpha, table)], rows)
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass
class Aggregate:
    """An aggregated effect and, except for `simple`, the effect at each event time, cohort or period.

    Attributes
    ----------
    type : str
        "simple", "dynamic", "group" or "calendar".
    estimate, std_error, ci_low, ci_high : float
        The overall effect.
    by : pandas.DataFrame
        event_time / group / time, estimate, std_error, ci_low, ci_high (+ band_low,
        band_high with a band); empty for `simple`.
    n_units : int
        Units used.
    influence : numpy.ndarray or None
        Influence functions, units x rows of `by`, for joint tests (None for `simple`).
    notes : list of str
        The notes of the group-time effects aggregated.
    alpha : float
        The intervals are 1 - alpha intervals.
    anticipation : int
        Periods of anticipation (event times from -anticipation on count as post).
    inference : Inference
        How the errors and band were computed.
    critical_value : float or None
        The band's simultaneous critical value (None without a band).
    unit_cohorts : numpy.ndarray or None
        The cohort of each row of `influence` (inf for never treated), for the small-sample
        pre-trend test.
    unit_clusters : numpy.ndarray or None
        The cluster of each row of `influence` when clustered beyond the unit.
    """

    type: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    by: pd.DataFrame  # event_time / group / time, estimate, std_error, ci_low, ci_high (+ band_low/band_high)
    n_units: int
    influence: np.ndarray | None = None  # units x rows of `by`, for joint tests
    notes: list[str] = field(default_factory=list)
    alpha: float = 0.05
    anticipation: int = 0
    inference: Inference = field(default_factory=Inference)
    critical_value: float | None = None
    unit_cohorts: np.ndarray | None = None
    unit_clusters: np.ndarray | None = None

    def tidy(self) -> pd.DataFrame:
        """The overall effect first (term "ATT"), then one row per row of `by`.

        Columns: term, the key (event_time, group or time; missing on the overall row),
        estimate, std_error, ci_low, ci_high, and band_low, band_high when there is a band.
        """
        key = _AGGREGATION_KEYS.get(self.type)
        overall = {
            "term": "ATT",
            "estimate": self.estimate,
            "std_error": self.std_error,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }
        if key is None:
            return pd.DataFrame([overall])
        by = self.by.copy()
        symbol = {"event_time": "e", "group": "g", "time": "t"}[key]
        by.insert(0, "term", [f"ATT({symbol}={_key(value)})" for value in by[key]])
        frame = pd.concat([pd.DataFrame([overall]), by], ignore_index=True)
        frame[key] = _whole(frame[key])
        columns = ["term", key, "estimate", "std_error", "ci_low", "ci_high"]
        columns += [c for c in ("band_low", "band_high") if c in frame.columns]
        return frame[columns]

    def summary(self) -> str:
        """A few lines to read: the overall effect, the errors, the pre-trend test, the rows of `by`."""
        number = _formatter(self.std_error)
        level = _level(self.alpha)
        lines = [
            f"{_AGGREGATION_NAMES.get(self.type, self.type)}: {self.n_units:,} units",
            f"{_OVERALL_NAMES.get(self.type, 'ATT')}: {number(self.estimate)} (std. error "
            f"{number(self.std_error)}), {level} [{number(self.ci_low)}, {number(self.ci_high)}]",
            _capitalised(self.inference.in_words()),
        ]
        if self.type == "dynamic" and self.influence is not None:
            test = pretrend_test(self)
            lines.append(f"Pre-trend test, every event-time effect before adoption is 0: {_test_in_words(test)}")
        key = _AGGREGATION_KEYS.get(self.type)
        if key is not None and len(self.by):
            number = _formatter(_typical(self.by["std_error"]))
            rows = [[_key(getattr(r, key)), *_estimate_cells(r, r.estimate, number)] for r in self.by.itertuples()]
            lines += ["", *_aligned([key, *_estimate_header(self.alpha, self.by)], rows)]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)


def pretrend_test(result: Aggregate | GroupTimeEffects) -> dict:
    """Joint test that every pre-adoption effect is zero, sized for a hundred-odd units.

    For a dynamic aggregation the effects tested are the event-time effects before adoption
    (``event_time < -anticipation``); for group-time effects, every pre-adoption ATT(g,t)
    (what `GroupTimeEffects.pretest_pvalue` reports). Effects fixed at zero by construction
    (the reference period of ``base_period="universal"``) are not tested.

    The covariance of the estimates is built from their influence functions cohort by
    cohort, each with the degrees-of-freedom correction n_g / (n_g - 1), and the Wald
    statistic T² is referred to Hotelling's distribution with ν degrees of freedom,
    ``F = T² (ν - q + 1) / (ν q) ~ F(q, ν - q + 1)``, where ν is the Krishnamoorthy-Yu
    (2004) approximation for a sum of cohort covariances estimated from n_g units each
    (ν = n - 1 for one cohort, Welch's degrees of freedom for one effect). With a clustering
    variable beyond the unit, clusters replace units (cohorts of clusters when clusters nest
    in cohorts, otherwise one group). The chi-squared test on the same effects, and
    moderndid's Wald pre-test on all cells, over-reject at 5% with about 110 units (9% and
    17% in tests/test_did_size.py); this one keeps its size there (5%).

    Parameters
    ----------
    result : Aggregate or GroupTimeEffects
        A dynamic aggregation (``aggte(..., "dynamic")``), or the group-time effects.

    Returns
    -------
    dict
        statistic : the F statistic; df : q, the number of effects tested (numerator degrees
        of freedom); df_denom : ν - q + 1; pvalue : its p-value; wald : T², the Wald
        statistic with the corrected covariance; chi2_pvalue : T² against chi-squared(q),
        for comparison; n_groups : units (or clusters) in the covariance. statistic and
        pvalue are NaN (df 0) when no effect before adoption can be tested, and the p-value
        is NaN when there are not enough units for the number of effects (ν < q).

    Raises
    ------
    ValueError
        `result` is an aggregation other than dynamic, or has no influence functions.

    Examples
    --------
    >>> import moderndid
    >>> mpdta = moderndid.load_mpdta().to_pandas()
    >>> gt = att_gt(mpdta, "lemp", "year", "countyreal", "first.treat", est_method="reg")
    >>> test = pretrend_test(aggte(gt, "dynamic"))
    >>> test["df"], round(test["pvalue"], 2)
    (3, 0.07)
    >>> gt.pretest["df"], round(gt.pretest_pvalue, 2)
    (5, 0.19)
    """
    if isinstance(result, GroupTimeEffects):
        table = result.table
        estimated = (table["std_error"].fillna(0) > 0) & table["att"].notna()
        pre = (~table["post"] & estimated).to_numpy()
        estimates = table["att"].to_numpy(dtype=float)
        influence = np.asarray(result.raw.influence_func, dtype=float)
        cohorts, clusters = _unit_cohorts(result), _unit_clusters(result)
    else:
        if result.type != "dynamic" or result.influence is None:
            raise ValueError("pretrend_test needs a dynamic aggregation")
        by = result.by
        estimated = (by["std_error"].fillna(0) > 0) & by["estimate"].notna()
        pre = ((by["event_time"] < -result.anticipation) & estimated).to_numpy()
        estimates = by["estimate"].to_numpy(dtype=float)
        influence = result.influence
        cohorts, clusters = result.unit_cohorts, result.unit_clusters
    if not pre.any():
        return _no_test(influence.shape[0] if clusters is None else len(np.unique(np.asarray(clusters).astype(str))))
    return small_sample_wald(estimates[pre], influence[:, pre], cohorts, clusters)


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
    *,
    clustervars: list[str] | str | None = None,
    bstrap: bool = False,
    biters: int = BOOTSTRAP_ITERATIONS,
    cband: bool = False,
    seed: int | None = None,
) -> GroupTimeEffects:
    """Group-time average treatment effects on the treated (Callaway and Sant'Anna 2021).

    ATT(g,t), the average effect in period t on the units first treated in period g, for
    every cohort g and period t, as R's ``did::att_gt`` computes it (through moderndid).

    Parameters
    ----------
    df : pandas.DataFrame
        A long panel: one row per unit and period.
    yname : str
        The outcome column.
    tname : str
        The period column (numbers).
    idname : str
        The unit column (numbers or text).
    gname : str
        The first treated period of each unit, 0 for units never treated; constant within unit.
    xformla : str, optional
        Covariates for conditional parallel trends, a formula right-hand side such as
        ``"~ size"``, ``"~ C(industry) + size"`` or ``"~ x + I(x**2)"`` (``np`` is numpy).
        It is expanded here into numeric columns (moderndid 0.2 would read only the bare
        column names, ignoring the transformations); stateful transformations (``center``,
        ``scale``) are evaluated on the whole panel. Columns of the expansion that are
        constant or collinear in the units' first periods are left out, with a note.
    control_group : {"nevertreated", "notyettreated"}, default "nevertreated"
        The comparison units.
    est_method : {"dr", "ipw", "reg"}, default "dr"
        Doubly robust, inverse probability weighting or outcome regression.
    anticipation : int, default 0
        Periods before adoption in which the treatment may already act.
    base_period : {"varying", "universal"}, default "varying"
        Pre-periods compared with the period just before (varying), or every period with
        the last period before adoption (universal).
    alpha : float, default 0.05
        The intervals are 1 - alpha intervals.
    allow_unbalanced_panel : bool, default False
        As in R's `did`: rows with a missing outcome are dropped and, when units are then
        observed in different periods, each ATT(g,t) uses the units observed in its two
        periods (did's repeated-cross-section form, influence functions summed by unit, so
        errors stay clustered by unit). A balanced panel is estimated as a panel either way.
        Without it, units lacking a period are left out (with a note).
    clustervars : list of str, optional
        As in R's `did`: variables to cluster the errors on. The unit (`idname`) is always
        clustered on and may be listed; at most one other variable, constant within unit
        (a region's province, say). As in `did`, clustering on a variable other than the
        unit needs the bootstrap: R warns and reports errors that ignore that clustering,
        here it is refused (`bstrap=True` is required). The bootstrap then draws one
        weight per cluster.
    bstrap : bool, default False
        Standard errors from did's multiplier bootstrap (Mammen weights, the interquartile
        range of the draws) instead of the analytic ones (the default, as before).
    biters : int, default 1000
        Bootstrap draws (for `bstrap`, and for the band).
    cband : bool, default False
        Add a simultaneous (uniform) band over all ATT(g,t), `band_low` and `band_high`,
        from the bootstrap's sup-t critical value times the bootstrap standard errors. With
        ``bstrap=False`` the band comes from a bootstrap of its own and the pointwise errors
        stay analytic (as did's `aggte` does).
    seed : int, optional
        The bootstrap's seed; None uses the suite's fixed seed (`BOOTSTRAP_SEED`), so a
        result is reproduced by running it again.

    Returns
    -------
    GroupTimeEffects
        The cells (`table`), the small-sample pre-trend test (`pretest_pvalue`,
        `pretest`), the units used and notes; `.tidy()` and `.summary()`.

    Raises
    ------
    KeyError
        A column named is not in `df`.
    ValueError
        An argument is not one of its values, `clustervars` names more than one variable
        besides the unit or one with missing values, clustering is asked without the
        bootstrap, or the covariate formula cannot be read.
    DesignError
        The design identifies no effect: no never-treated units for
        ``control_group="nevertreated"``, every unit treated from the first period, nobody
        treated, a unit with two adoption periods, a clustering variable that changes
        within a unit, or no cell with control units.

    Examples
    --------
    >>> import moderndid
    >>> mpdta = moderndid.load_mpdta().to_pandas()
    >>> gt = att_gt(mpdta, "lemp", "year", "countyreal", "first.treat", est_method="reg")
    >>> gt.tidy().round(4).head(3)
       group  time  event_time  estimate  std_error  ci_low  ci_high  post
    0   2004  2004           0   -0.0105     0.0233 -0.0561   0.0351  True
    1   2004  2005           1   -0.0704     0.0310 -0.1312  -0.0097  True
    2   2004  2006           2   -0.1373     0.0364 -0.2087  -0.0658  True

    Bootstrapped errors clustered by state, reproducible with the same seed:

    >>> mpdta["state"] = mpdta["countyreal"] // 1000
    >>> clustered = att_gt(mpdta, "lemp", "year", "countyreal", "first.treat", est_method="reg",
    ...                    clustervars=["countyreal", "state"], bstrap=True, seed=1)
    >>> clustered.inference.n_clusters
    29
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
    biters, seed = _draws(biters), _seed(seed)
    cluster = _cluster_variable(df, idname, clustervars)
    if cluster is not None and not bstrap:
        raise ValueError(
            f"clustering on {cluster!r} needs the bootstrap (bstrap=True): as in R's did, the analytic "
            "standard errors are clustered by unit only"
        )
    if allow_unbalanced_panel:
        df = df.dropna(subset=[yname])
    notes = _check_cohorts(df, tname, idname, gname, control_group, anticipation)
    df, xformla, dropped = _covariate_design(df, tname, idname, xformla)
    notes += dropped
    layout, unbalanced = {}, allow_unbalanced_panel and not _balanced(df, tname, idname)
    if unbalanced:
        # moderndid 0.2's panel path has no unbalanced form (it fails on a missing outcomes
        # tensor); its repeated-cross-section path with the unit id is R did's unbalanced one.
        layout = {"panel": False, "allow_unbalanced_panel": True}
        df, expected_cohorts = _units_in_moderndid_order(df, yname, tname, idname, gname, xformla, anticipation)
    inference: dict[str, Any] = {"boot": False, "cband": False}
    if bstrap:
        inference = {"boot": True, "cband": cband, "biters": biters, "random_state": seed}
        # Only the extra variable: moderndid 0.2 keeps the first of `clustervars` for aggte's
        # bootstrap, so listing the unit first would quietly cluster the aggregations by unit.
        inference["clustervars"] = [cluster] if cluster else None
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
                alp=alpha,
                **inference,
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
    if cband:
        band = _group_time_band(result, table, bstrap, biters, alpha, seed)
        if band is None:
            notes.append("no simultaneous band: the bootstrap's critical value could not be computed")
        else:
            table["band_low"], table["band_high"] = band
    clusters = np.asarray(result.estimation_params.get("cluster")) if cluster else None
    effects = GroupTimeEffects(
        table,
        float("nan"),
        int(result.n_units),
        result,
        notes,
        alpha=alpha,
        anticipation=anticipation,
        control_group=control_group,
        inference=Inference(
            bstrap=bstrap,
            biters=biters if (bstrap or cband) else None,
            cband=cband and "band_low" in table.columns,
            seed=seed if (bstrap or cband) else None,
            cluster=cluster,
            n_clusters=len(np.unique(clusters.astype(str))) if clusters is not None else None,
        ),
    )
    effects.pretest = pretrend_test(effects)
    effects.pretest_pvalue = effects.pretest["pvalue"]
    return effects


def _draws(biters: Any) -> int:
    """`biters` as a positive whole number (ValueError otherwise)."""
    try:
        if isinstance(biters, bool):
            raise TypeError
        draws = operator.index(biters)
    except TypeError:
        raise ValueError(f"biters must be a whole number of bootstrap draws, not {biters!r}") from None
    if draws < 1:
        raise ValueError(f"biters must be at least 1, not {draws}")
    return draws


def _seed(seed: Any) -> int:
    """The bootstrap seed: the one given (a whole number) or the suite's."""
    if seed is None:
        return BOOTSTRAP_SEED
    try:
        if isinstance(seed, bool):
            raise TypeError
        return operator.index(seed)
    except TypeError:
        raise ValueError(f"seed must be a whole number, not {seed!r}") from None


def _cluster_variable(df: pd.DataFrame, idname: str, clustervars: Any) -> str | None:
    """The one clustering variable besides the unit, checked (None when only the unit)."""
    if clustervars is None:
        return None
    names = [clustervars] if isinstance(clustervars, str) else list(clustervars)
    extra = [name for name in dict.fromkeys(names) if name != idname]
    if len(extra) > 1:
        raise ValueError(f"clustervars can add one variable to the unit ({idname!r}), as in R's did; got {extra}")
    if not extra:
        return None
    name = extra[0]
    if name not in df.columns:
        raise KeyError(f"{name!r} (in clustervars) is not a column of the panel")
    missing = int(df[name].isna().sum())
    if missing:
        raise ValueError(f"cluster variable {name!r} is missing in {missing:,} row(s)")
    changing = int((df.groupby(idname)[name].nunique() > 1).sum())
    if changing:
        raise DesignError(
            f"cluster variable {name!r} changes within {changing:,} unit(s); it must be constant within "
            f"each unit ({idname}), as R's did requires"
        )
    if df[name].nunique() < 2:
        raise DesignError(f"cluster variable {name!r} has a single value: there is nothing to cluster on")
    return name


def _group_time_band(result, table, bstrap, biters, alpha, seed) -> tuple[np.ndarray, np.ndarray] | None:
    """Simultaneous band over the ATT(g,t): bootstrap sup-t critical value times bootstrap errors."""
    estimates = table["att"].to_numpy(dtype=float)
    if bstrap:
        critical = float(result.critical_value)
        errors = table["std_error"].to_numpy(dtype=float)
    else:
        import moderndid

        valid = np.isfinite(estimates) & np.isfinite(table["std_error"].to_numpy(dtype=float))
        influence = np.asarray(result.influence_func, dtype=float)[:, valid]
        draws = moderndid.mboot(influence, int(result.n_units), biters=biters, alp=alpha, random_state=seed)
        critical = float(draws["crit_val"])
        errors = np.full(len(estimates), np.nan)
        errors[valid] = draws["se"]
    if not np.isfinite(critical):
        return None
    return estimates - critical * errors, estimates + critical * errors


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
    from ..ate import covariate_columns

    formula_columns = set(covariate_columns(xformla) if xformla else []) & set(df.columns)
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
            "standard errors would be wrong; check the installed moderndid version against analysis/did/group_time.py"
        )


def _check_cohorts(df, tname, idname, gname, control_group, anticipation) -> list[str]:
    """Refuse designs `did` would quietly change; note units it leaves out."""
    changing = int((df.groupby(idname)[gname].nunique() > 1).sum())
    if changing:
        raise DesignError(
            f"{changing} unit(s) have more than one first-treatment period ({gname}); it must be one per unit"
        )
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


def _covariate_design(
    df: pd.DataFrame, tname: str, idname: str, xformla: str | None
) -> tuple[pd.DataFrame, str | None, list[str]]:
    """The covariate formula as plain numeric columns moderndid reads as they are.

    The formula's model matrix (formulaic, patsy conventions: ``C()``, ``I()``, ``np.log``;
    text columns become dummies) is computed on the rows where the columns it reads are
    present; its columns that are constant or collinear in the units' first periods are
    left out with a note. A kept column that is a plain numeric column of `df` is used as
    it is; any other (a dummy, a transformation) is added to the panel under a new name,
    missing on the rows the formula cannot use (moderndid drops those rows, as it drops
    rows with a missing covariate). Returns the panel, the formula of plain names (None
    without covariates) and the notes.
    """
    if not xformla or xformla.replace("~", "", 1).strip() in ("", "1"):
        return df, None, []
    from ..ate import covariate_columns, design_matrix, drop_redundant

    read = covariate_columns(xformla)
    absent = [name for name in read if name not in df.columns]
    if absent:
        raise KeyError(f"{', '.join(map(repr, absent))} (in xformla {xformla!r}) is not a column of the panel")
    frame = df.reset_index(drop=True)  # positions, whatever the panel's index
    usable = frame[read].notna().all(axis=1) if read else pd.Series(True, index=frame.index)
    matrix = design_matrix(frame.loc[usable], xformla)
    first = frame.loc[usable].sort_values(tname, kind="stable").groupby(idname).head(1).index
    kept, dropped = drop_redundant(matrix.loc[first])
    notes = [f"covariate {name} left out: constant, or determined by the other covariates" for name in dropped]
    names: list[str] = []
    added: dict[str, np.ndarray] = {}
    for column in kept.columns.drop("const"):
        plain = (
            column in df.columns
            and re.fullmatch(r"[A-Za-z_]\w*", column) is not None
            and column not in _MODERNDID_FORMULA_WORDS
            and pd.api.types.is_numeric_dtype(df[column])
            and not pd.api.types.is_bool_dtype(df[column])
        )
        if plain:
            names.append(column)
            continue
        name = _unused_column(df, added, f"xformla_{len(added) + 1}")
        added[name] = matrix[column].reindex(frame.index).to_numpy()
        names.append(name)
    if not names:
        return df, None, notes
    return (df.assign(**added) if added else df), "~ " + " + ".join(names), notes


def _unused_column(df: pd.DataFrame, taken: dict, stem: str) -> str:
    name = stem
    while name in df.columns or name in taken:
        name += "_"
    return name


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
    *,
    bstrap: bool | None = None,
    biters: int | None = None,
    cband: bool | None = None,
    seed: int | None = None,
) -> Aggregate:
    """Aggregate ATT(g,t) into one effect and its profile, as R's ``did::aggte``.

    Parameters
    ----------
    result : GroupTimeEffects
        From `att_gt`.
    type : {"simple", "dynamic", "group", "calendar"}, default "simple"
        `simple`: post-adoption cells averaged with cohort-size weights; `dynamic`: an
        event study, one effect per event time e = t - g; `group`: one effect per cohort;
        `calendar`: one effect per period.
    min_e, max_e : float, optional
        The event times kept (dynamic), and the last event time of the post-adoption cells
        averaged (all types).
    alpha : float, default 0.05
        The intervals are 1 - alpha intervals.
    bstrap : bool, optional
        Multiplier-bootstrap standard errors; None inherits `att_gt`'s choice (as in did).
        Analytic errors for a result clustered beyond the unit are refused.
    biters : int, optional
        Bootstrap draws; None: `att_gt`'s when it bootstrapped (errors or band), otherwise
        999 (`BOOTSTRAP_DRAWS`, for the dynamic band).
    cband : bool, optional
        A simultaneous band over the rows of `by` (`band_low`, `band_high`); None: always
        for `dynamic` (as before), otherwise as `att_gt`'s `cband`. The band is the
        bootstrap's sup-t critical value times the bootstrap standard errors; with analytic
        errors it comes from a bootstrap of its own. `simple` has no band.
    seed : int, optional
        The bootstrap's seed; None: `att_gt`'s seed, or the suite's fixed `BOOTSTRAP_SEED`.

    Returns
    -------
    Aggregate
        The overall effect, `by` (per event time, cohort or period) and, except for
        `simple`, the influence functions for `pretrend_test`; `.tidy()` and `.summary()`.

    Raises
    ------
    ValueError
        An unknown `type`, a bad `biters` or `seed`, analytic errors asked for a result
        clustered beyond the unit, or moderndid cannot aggregate (for instance a missing
        ATT(g,t)).

    Examples
    --------
    >>> import moderndid
    >>> mpdta = moderndid.load_mpdta().to_pandas()
    >>> gt = att_gt(mpdta, "lemp", "year", "countyreal", "first.treat", est_method="reg")
    >>> simple = aggte(gt, "simple")
    >>> round(simple.estimate, 4), round(simple.std_error, 4)
    (-0.04, 0.012)
    >>> dynamic = aggte(gt, "dynamic", seed=7)
    >>> dynamic.tidy()[["term", "event_time"]].head(3)
            term  event_time
    0        ATT        <NA>
    1  ATT(e=-3)          -3
    2  ATT(e=-2)          -2
    """
    import moderndid

    if type not in ("simple", "dynamic", "group", "calendar"):
        raise ValueError("type must be simple, dynamic, group or calendar")
    inherited = result.inference
    bootstrap = inherited.bstrap if bstrap is None else bool(bstrap)
    if inherited.cluster and not bootstrap:
        raise ValueError(
            f"the group-time effects are clustered by {inherited.cluster}, which needs the bootstrap: "
            "analytic standard errors would be clustered by unit only"
        )
    if biters is None:
        biters = inherited.biters or BOOTSTRAP_DRAWS
    draws = _draws(biters)
    seed = _seed(inherited.seed if seed is None else seed)
    banded = (type == "dynamic" or inherited.cband) if cband is None else bool(cband)
    banded = banded and type != "simple"
    bounds = {"min_e": -np.inf if min_e is None else min_e, "max_e": np.inf if max_e is None else max_e}

    def bootstrapped(cband: bool):
        return moderndid.aggte(
            result.raw, type=type, boot=True, cband=cband, biters=draws, alp=alpha, random_state=seed, **bounds
        )

    if bootstrap:
        estimated = bootstrapped(banded)
    else:
        estimated = moderndid.aggte(result.raw, type=type, boot=False, cband=False, alp=alpha, **bounds)
    z = stats.norm.ppf(1 - alpha / 2)
    overall, se = float(estimated.overall_att), float(estimated.overall_se)
    by = pd.DataFrame()
    critical = None
    if type != "simple":
        by = pd.DataFrame(
            {
                _AGGREGATION_KEYS[type]: np.asarray(estimated.event_times),
                "estimate": np.asarray(estimated.att_by_event),
                "std_error": np.asarray(estimated.se_by_event),
            }
        )
        by["ci_low"], by["ci_high"] = by["estimate"] - z * by["std_error"], by["estimate"] + z * by["std_error"]
    if banded:
        band = estimated if bootstrap else bootstrapped(True)  # analytic errors: a bootstrap of its own for the band
        critical = float(np.atleast_1d(band.critical_values)[0])
        band_se = np.asarray(band.se_by_event)
        by["band_low"], by["band_high"] = by["estimate"] - critical * band_se, by["estimate"] + critical * band_se
    influence = np.asarray(estimated.influence_func) if type != "simple" else None
    used = bootstrap or banded
    return Aggregate(
        type,
        overall,
        se,
        overall - z * se,
        overall + z * se,
        by,
        result.n_units,
        influence,
        list(result.notes),
        alpha=alpha,
        anticipation=result.anticipation,
        inference=Inference(
            bstrap=bootstrap,
            biters=draws if used else None,
            cband=banded,
            seed=seed if used else None,
            cluster=inherited.cluster,
            n_clusters=inherited.n_clusters,
        ),
        critical_value=critical,
        unit_cohorts=_unit_cohorts(result),
        unit_clusters=_unit_clusters(result),
    )


def _unit_cohorts(result: GroupTimeEffects) -> np.ndarray | None:
    """The cohort of each unit, in the order of the influence functions (inf: never treated)."""
    cohorts = getattr(result.raw, "G", None)
    return None if cohorts is None else np.asarray(cohorts, dtype=float)


def _unit_clusters(result: GroupTimeEffects) -> np.ndarray | None:
    """The cluster of each unit, in the order of the influence functions, when clustered beyond the unit."""
    if not result.inference.cluster:
        return None
    return np.asarray(result.raw.estimation_params.get("cluster"))
