"""Treatment effects from cell statistics: `ate`'s estimates without the rows.

When every covariate is categorical, `ate.estimate_ate` depends on the data only through
a few numbers per covariate cell (the cross of the covariate columns) and arm: the count
n, the sum of y and the sum of y^2 of each outcome; with ``cluster=``, n and the sum of y
per cluster within each cell and arm. The propensity model, the outcome models, the
potential-outcome means, the Jacobian of the stacked estimating equations are all sums
over units of terms that are constant or linear in y within a cell; so is each unit's
influence psi_i = a_c + b_c y_i, and the sandwich's meat is

    sum_i psi_i^2 = sum_c [n_c (a_c + b_c ybar_c)^2 + b_c^2 (sum y^2 - (sum y)^2 / n)_c],

clustered: sum_g (sum_{c in g} n_cg a_c + b_c sum_g y)^2 times G/(G-1). The estimates and
standard errors are therefore `ate`'s own (the same conventions: Stata `teffects`, divisor
n, G/(G-1), normal intervals), up to the order of floating-point sums. The idea is
"You Only Compress Once" (Wong, Lewis and Wardrop, 2021) and duckreg.

Two steps:

- `cell_statistics` runs one plain SQL ``GROUP BY`` (`cell_sql`) in DuckDB over a pandas
  DataFrame, a DuckDB relation or a Parquet file, so ten million rows never need to be in
  memory as a data frame. It raises `NotCompressible`, with a sentence saying why, when
  the cells would be too many (a continuous covariate, an identifier): the caller then
  uses `ate.estimate_ate` on the rows.
- `estimate_compressed` / `estimate_many_compressed` take that table and return the same
  `ate.Estimate` objects as `ate.estimate_ate` / `ate.estimate_many` on the rows, with the
  same notes, diagnostics and errors (`ate.OverlapError` with the same sentence).

Precision: the within-cell sum of squares is sum y^2 - (sum y)^2 / n, which loses digits
when an outcome's mean is many orders of magnitude larger than its spread within a cell
(about 16 - 2 log10(|mean| / sd) digits are left); the study's outcomes keep more than 12.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .ate import (
    ESTIMANDS,
    METHODS,
    OVERLAP_TOLERANCE,
    PROPENSITY_MODELS,
    Covariates,
    Estimate,
    Estimates,
    OverlapError,
    _binary,
    _cluster_codes,
    _vcov_label,
    covariate_columns,
    design_matrix,
    drop_redundant,
)

DEFAULT_MAX_SHARE = 0.5  # cells (x clusters) above this share of the rows: compressing saves too little, use the rows
SOURCE_NAME = "unit_rows"  # the name the rows have in the SQL
NEWTON = {"maxiter": 100, "tol": 1e-8, "ridge_factor": 1e-10}  # statsmodels' Newton as `ate` runs it


class NotCompressible(Exception):
    """The design has too many cells for compression to pay; the message says why, in one sentence.

    The caller falls back to `ate.estimate_ate` on the rows.
    """


# --- the compressed table ---------------------------------------------------------------------


def cell_sql(
    outcomes: Sequence[str],
    treatment: str,
    columns: Sequence[str],
    cluster: str | None = None,
    *,
    table: str = SOURCE_NAME,
    quote: str = '"',
    counts: str | None = None,
) -> str:
    """The one SQL query that compresses the rows: a ``GROUP BY`` of the cell columns.

    Plain SQL (``COUNT``, ``SUM``, ``CAST(... AS DOUBLE)``, ``GROUP BY``, ``ORDER BY``), so that
    DuckDB runs it here and Spark SQL can run it on a cluster.

    Parameters
    ----------
    outcomes : sequence of str
        Outcome columns (numeric or boolean).
    treatment : str
        The treatment column.
    columns : sequence of str
        The covariate columns that define the cells.
    cluster : str, optional
        A cluster column: the cells are then split by cluster too.
    table : str
        The name the rows go by in the query.
    quote : str
        The identifier quote: ``"`` (standard SQL, DuckDB) or a backtick (Spark's default).
    counts : str, optional
        The rows are cells already, each standing for this column's number of units, with
        ``sum_y`` and ``sumsq_y`` per outcome y in place of y: they are summed into coarser cells.

    Returns
    -------
    str
        A query returning the cell columns, the treatment, the cluster (if any), ``n``, and per
        outcome y: ``sum_y``, ``sumsq_y`` and ``count_y`` (its non-missing values, for the check
        that none is missing), ordered by the cell.

    Examples
    --------
    >>> print(cell_sql(["y"], "treated", ["region"]))
    SELECT "region", "treated",
      COUNT(*) AS "n",
      SUM(CAST("y" AS DOUBLE)) AS "sum_y",
      SUM(CAST("y" AS DOUBLE) * CAST("y" AS DOUBLE)) AS "sumsq_y",
      COUNT("y") AS "count_y"
    FROM unit_rows
    GROUP BY "region", "treated"
    ORDER BY "region", "treated"
    """
    keys = _keys(columns, treatment, cluster)
    q = _quoter(quote)
    measures = [f"COUNT(*) AS {q('n')}" if counts is None else f"CAST(SUM({q(counts)}) AS BIGINT) AS {q('n')}"]
    for y in outcomes:
        value = f"CAST({q(y)} AS DOUBLE)"
        measures += (
            [
                f"SUM({value}) AS {q('sum_' + y)}",
                f"SUM({value} * {value}) AS {q('sumsq_' + y)}",
                f"COUNT({q(y)}) AS {q('count_' + y)}",
            ]
            if counts is None
            else [
                f"SUM({q('sum_' + y)}) AS {q('sum_' + y)}",
                f"SUM({q('sumsq_' + y)}) AS {q('sumsq_' + y)}",
                f"CAST(SUM(CASE WHEN {q('sum_' + y)} IS NULL THEN 0 ELSE {q(counts)} END) AS BIGINT)"
                f" AS {q('count_' + y)}",
            ]
        )
    listed = ", ".join(q(k) for k in keys)
    select = ",\n  ".join([listed, *measures])
    return f"SELECT {select}\nFROM {table}\nGROUP BY {listed}\nORDER BY {listed}"


def cell_statistics(
    source: pd.DataFrame | Any,
    outcomes: Sequence[str],
    treatment: str,
    covariates: Covariates,
    *,
    propensity_covariates: Covariates | None = None,
    cluster: str | None = None,
    max_share: float = DEFAULT_MAX_SHARE,
    counts: str | None = None,
) -> pd.DataFrame:
    """Count, sum and sum of squares of each outcome per covariate cell and arm (and cluster).

    The rows are compressed by one SQL ``GROUP BY`` (`cell_sql`) that DuckDB runs on the
    source, whatever it is, so the table has the same columns and types either way.

    Parameters
    ----------
    source : pandas.DataFrame, duckdb.DuckDBPyRelation, str or pathlib.Path
        The rows: a data frame, a DuckDB relation, or the path of a Parquet file (or a glob of
        them).
    outcomes : sequence of str
        Outcome columns (numeric or boolean; no missing values).
    treatment : str
        The treatment column (0/1 or boolean).
    covariates, propensity_covariates : list of str or str
        The covariates the estimates will use, as for `ate.estimate_ate` (column lists or
        formulas); the cells are the cross of every column they read.
    cluster : str, optional
        The column standard errors will be clustered by; the cells are then split by cluster.
        Without it the table serves unclustered estimates only.
    max_share : float
        At most this share of the rows may become cells (default 0.5); more, and compressing
        saves too little: `NotCompressible` is raised.
    counts : str, optional
        The source is cells already (as this function or `analysis.surprise.study_cells` gives
        them): each row stands for this column's number of units and has ``sum_y`` and ``sumsq_y``
        for each outcome y. They are summed into the cells of these covariates; there are no rows
        to fall back on, so `max_share` does not apply.

    Returns
    -------
    pandas.DataFrame
        One row per cell (and cluster) that has units, ordered by the cell: the covariate
        columns, the treatment, the cluster, ``n`` (units), and per outcome y ``sum_y`` and
        ``sumsq_y`` (the sum of y and of y^2, as float).

    Raises
    ------
    NotCompressible
        More than `max_share` of the rows would be cells; the message names the continuous
        covariate (or identifier) responsible, if one is.
    KeyError
        A column is not in the source.
    ValueError
        A column used has missing values (as for `ate.estimate_ate`: rows are never dropped
        silently), or `max_share` is not in (0, 1].

    Examples
    --------
    >>> df = pd.DataFrame({"size": ["small", "large", "small", "small"], "treated": [1, 0, 0, 1],
    ...                    "y": [1.0, 2.0, 3.0, 4.0]})
    >>> cell_statistics(df, ["y"], "treated", ["size"], max_share=1.0)
        size  treated  n  sum_y  sumsq_y
    0  large        0  1    2.0      4.0
    1  small        0  1    3.0      9.0
    2  small        1  2    5.0     17.0
    """
    import duckdb

    if not 0 < max_share <= 1:
        raise ValueError(f"max_share must be a share of the rows, in (0, 1], got {max_share!r}")
    columns = _cell_columns(covariates, propensity_covariates)
    keys = _keys(columns, treatment, cluster)
    outcomes = list(outcomes)
    connection = None  # a relation brings its own connection
    if not isinstance(source, duckdb.DuckDBPyRelation):
        connection = duckdb.connect()
        with contextlib.suppress(duckdb.Error):  # in Jupyter, DuckDB refuses the setting (and draws no bar)
            connection.execute("SET enable_progress_bar = false")  # a long GROUP BY would draw one on stdout
    relation = _relation(source, connection)
    measured = outcomes if counts is None else [f"sum_{y}" for y in outcomes]
    absent = [c for c in [*measured, *keys, *([counts] if counts else [])] if c not in relation.columns]
    if absent:
        raise KeyError(f"{', '.join(map(repr, absent))} is not a column of the table")
    sql = cell_sql(outcomes, treatment, columns, cluster, counts=counts)
    if counts is not None:
        cells = relation.query(SOURCE_NAME, sql).df()
    else:
        total = (
            len(source)
            if isinstance(source, pd.DataFrame)
            else _scalar(relation, f"SELECT COUNT(*) FROM {SOURCE_NAME}")
        )
        limit = math.floor(max_share * total)
        cells = relation.query(SOURCE_NAME, f"{sql}\nLIMIT {limit + 1}").df()  # LIMIT: no huge transfer when too many
        if len(cells) > limit:
            raise NotCompressible(_why_not(relation, cells, columns, cluster, total, max_share))
    _check_complete(cells, outcomes, treatment, columns, cluster)
    return cells.drop(columns=[f"count_{y}" for y in outcomes])


def propensity_scores_compressed(
    cells: pd.DataFrame, treatment: str, covariates: Covariates, model: str = "logit"
) -> pd.DataFrame:
    """The fitted propensity of each covariate cell, from cell counts alone.

    The model and fit of `estimate_many_compressed` (the same numbers as `ate`'s on the rows),
    without its overlap check: scores near 0 or 1 are what an overlap plot is there to show.

    Parameters
    ----------
    cells : pandas.DataFrame
        `cell_statistics` of the rows (any outcomes, any cluster).
    treatment : str
        The treatment column.
    covariates : list of str or str
        The propensity model's covariates (columns or a formula).
    model : str
        "logit" or "probit".

    Returns
    -------
    pandas.DataFrame
        One row per covariate cell and arm: the covariate columns, the treatment and ``score``.

    Raises
    ------
    ate.OverlapError
        The model cannot be fitted (the covariates predict treatment perfectly).
    """
    _check_options(["ipw"], ["ATE"], model)
    table = _Cells(cells, [], treatment, covariate_columns(covariates), None)
    x, _ = _design(table, covariates, model)
    fit = _Propensity(table, x, model, overlap_tolerance=0.0)
    return table.frame.assign(score=fit.score)


def _cell_columns(covariates: Covariates, propensity_covariates: Covariates | None) -> list[str]:
    spec = [] if propensity_covariates is None else covariate_columns(propensity_covariates)
    return list(dict.fromkeys([*covariate_columns(covariates), *spec]))


def _keys(columns: Sequence[str], treatment: str, cluster: str | None) -> list[str]:
    return list(dict.fromkeys([*columns, treatment, *([cluster] if cluster is not None else [])]))


def _quoter(quote: str):
    return lambda name: f"{quote}{name.replace(quote, quote * 2)}{quote}"


def _relation(source, connection):
    """The rows as a DuckDB relation."""
    if connection is None:
        return source
    if isinstance(source, pd.DataFrame):
        return connection.from_df(source)
    if isinstance(source, str | Path):
        return connection.read_parquet(str(source))
    raise TypeError(f"the rows should be a DataFrame, a DuckDB relation or a Parquet path, got {type(source).__name__}")


def _scalar(relation, sql: str) -> int:
    row = relation.query(SOURCE_NAME, sql).fetchall()[0]
    return int(row[0])


def _why_not(relation, cells: pd.DataFrame, columns: list[str], cluster: str | None, total: int, share: float) -> str:
    """Why the rows do not compress, in one sentence: the column with too many values, or the cross of them all."""
    q = _quoter('"')
    counted = [*columns, *([cluster] if cluster is not None else [])]
    row = relation.query(
        SOURCE_NAME, f"SELECT {', '.join(f'COUNT(DISTINCT {q(c)})' for c in counted)} FROM {SOURCE_NAME}"
    ).fetchall()[0]
    distinct = dict(zip(counted, map(int, row), strict=True))
    limit = math.floor(share * total)
    worst = max(counted, key=lambda c: distinct[c]) if counted else None
    if worst is not None and distinct[worst] > limit:
        values = f"{distinct[worst]:,} distinct values among {total:,} rows"
        if worst == cluster:
            return f"The cluster column {worst} takes {values}, so the estimate uses the rows."
        if pd.api.types.is_numeric_dtype(cells[worst]) and not pd.api.types.is_bool_dtype(cells[worst]):
            return f"The covariate {worst} is continuous ({values}), so the estimate uses the rows."
        return f"The covariate {worst} takes {values}, so the estimate uses the rows."
    split = " within clusters" if cluster is not None else ""
    return (
        f"The covariates {', '.join(columns)} combine into more than {limit:,} cells{split} for {total:,} rows "
        f"(more than {share:.0%} of them), so the estimate uses the rows."
    )


def _check_complete(
    cells: pd.DataFrame, outcomes: list[str], treatment: str, columns: list[str], cluster: str | None
) -> None:
    """No missing value in a column used (the same sentences as `ate`)."""
    n = cells["n"].to_numpy()
    if cluster is not None and (gaps := int(n[cells[cluster].isna().to_numpy()].sum())):
        raise ValueError(
            f"the cluster column {cluster!r} has {gaps:,} missing values; give those units a cluster or "
            "filter them explicitly first"
        )
    missing = [y for y in outcomes if (cells[f"count_{y}"] < cells["n"]).any()]
    missing += [c for c in dict.fromkeys([treatment, *columns]) if cells[c].isna().any()]  # in `ate`'s order
    if missing:
        raise ValueError(f"missing values in {', '.join(missing)}; impute or filter them explicitly first")


# --- estimates from the compressed table -------------------------------------------------------


def estimate_compressed(
    cells: pd.DataFrame,
    outcome: str,
    treatment: str,
    covariates: Covariates,
    method: str = "aipw",
    *,
    estimand: str = "ATE",
    propensity_covariates: Covariates | None = None,
    propensity_model: str = "logit",
    overlap_tolerance: float = OVERLAP_TOLERANCE,
    alpha: float = 0.05,
    cluster: str | None = None,
) -> Estimate:
    """`ate.estimate_ate` from cell statistics: the same estimate, standard error, notes and errors.

    Parameters
    ----------
    cells : pandas.DataFrame
        The compressed table (`cell_statistics`): the covariate columns, the treatment, the
        cluster (when `cluster` is given), ``n``, ``sum_<outcome>`` and ``sumsq_<outcome>``. It
        may be finer than the design needs (more columns, split by clusters): cells are summed.
    outcome, treatment, covariates, method, estimand, propensity_covariates, propensity_model
        As for `ate.estimate_ate` (the outcome is the name of the original column).
    overlap_tolerance, alpha, cluster
        As for `ate.estimate_ate`; with `cluster`, `cells` must be split by that column.

    Returns
    -------
    ate.Estimate
        The estimate `ate.estimate_ate` gives on the rows: effect, standard error (the stacked
        M-estimation sandwich, divisor n; clustered with G/(G-1); Welch for ``naive`` without
        clusters), normal interval, n, clusters, control mean, propensity diagnostics and notes.

    Raises
    ------
    KeyError
        A column is not in `cells` (``sum_<outcome>`` for an outcome not compressed).
    ValueError, ate.OverlapError
        As `ate.estimate_ate` on the rows, with the same messages.

    Examples
    --------
    >>> from analysis.ate import estimate_ate
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"size": rng.choice(["small", "medium", "large"], 2000),
    ...                    "region": rng.integers(0, 20, 2000)})
    >>> df["treated"] = rng.random(2000) < np.where(df["size"] == "large", 0.6, 0.3)
    >>> df["y"] = (df["size"] == "large") + 1.5 * df["treated"] + rng.normal(size=2000)
    >>> cells = cell_statistics(df, ["y"], "treated", ["size"], cluster="region")
    >>> len(cells)
    120
    >>> fast = estimate_compressed(cells, "y", "treated", ["size"], "aipw", cluster="region")
    >>> slow = estimate_ate(df, "y", "treated", ["size"], "aipw", cluster="region")
    >>> bool(np.isclose(fast.estimate, slow.estimate, rtol=1e-12, atol=0))
    True
    >>> bool(np.isclose(fast.std_error, slow.std_error, rtol=1e-12, atol=0))
    True
    """
    return estimate_many_compressed(
        cells,
        [outcome],
        treatment,
        covariates,
        [method],
        [estimand],
        propensity_covariates=propensity_covariates,
        propensity_model=propensity_model,
        overlap_tolerance=overlap_tolerance,
        alpha=alpha,
        cluster=cluster,
    )[0]


def estimate_many_compressed(
    cells: pd.DataFrame,
    outcomes: list[str],
    treatment: str,
    covariates: Covariates,
    methods: Sequence[str] = METHODS,
    estimands: Sequence[str] = ("ATE",),
    *,
    propensity_covariates: Covariates | None = None,
    propensity_model: str = "logit",
    overlap_tolerance: float = OVERLAP_TOLERANCE,
    alpha: float = 0.05,
    cluster: str | None = None,
) -> Estimates:
    """`ate.estimate_many` from cell statistics: the same estimates, in the same order.

    Parameters
    ----------
    cells : pandas.DataFrame
        The compressed table, as for `estimate_compressed`.
    outcomes, treatment, covariates, methods, estimands, propensity_covariates, propensity_model
        As for `ate.estimate_many`.
    overlap_tolerance, alpha, cluster
        As for `ate.estimate_many`.

    Returns
    -------
    ate.Estimates
        Outcome by outcome, then estimand, then method, as `ate.estimate_many` returns them.

    Raises
    ------
    KeyError, ValueError, ate.OverlapError
        As for `estimate_compressed`.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"sector": rng.choice(["a", "b", "c"], 400), "treated": rng.random(400) < 0.4})
    >>> df["y"] = (df["sector"] == "b") + df["treated"] + rng.normal(size=400)
    >>> cells = cell_statistics(df, ["y"], "treated", ["sector"])
    >>> results = estimate_many_compressed(cells, ["y"], "treated", ["sector"], ["naive", "aipw"], ["ATE", "ATT"])
    >>> len(results), [r.method for r in results]
    (4, ['naive', 'aipw', 'naive', 'aipw'])
    """
    _check_options(methods, estimands, propensity_model)
    ps_spec = propensity_covariates if propensity_covariates is not None else covariates
    table = _Cells(cells, outcomes, treatment, _cell_columns(covariates, ps_spec), cluster)
    x_out, out_notes = _outcome_designs(table, covariates)
    notes = out_notes if set(methods) & {"regression", "aipw"} else []
    propensity = None
    if set(methods) & {"ipw", "aipw"}:
        x_ps, ps_notes = _design(table, ps_spec, "propensity")
        notes += ps_notes
        propensity = _Propensity(table, x_ps, propensity_model, overlap_tolerance)
    grams: dict = {}  # X'WX per weighting scheme, shared by every outcome
    z = stats.norm.ppf(1 - alpha / 2)
    out = Estimates()
    for outcome in outcomes:
        for estimand in estimands:
            for method in methods:
                if method == "naive":
                    effect, se, control_mean, diagnostics = _naive(table, outcome)
                else:
                    effect, se, control_mean, diagnostics = _adjusted(
                        table, outcome, x_out, propensity, method, estimand, grams
                    )
                out.append(
                    Estimate(
                        estimate=float(effect),
                        std_error=float(se),
                        ci_low=float(effect - z * se),
                        ci_high=float(effect + z * se),
                        n_obs=table.total,
                        method=method,
                        estimand=estimand,
                        outcome=outcome,
                        control_mean=float(control_mean),
                        diagnostics=diagnostics,
                        notes=[] if method == "naive" else list(notes),
                        n_clusters=table.n_clusters,
                        vcov=_vcov_label(method, cluster),
                        alpha=alpha,
                    )
                )
    return out


def _check_options(methods: Sequence[str], estimands: Sequence[str], propensity_model: str) -> None:
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    for estimand in estimands:
        if estimand not in ESTIMANDS:
            raise ValueError(f"estimand must be ATE or ATT, got {estimand!r}")
    if propensity_model not in PROPENSITY_MODELS:
        raise ValueError(f"propensity_model must be logit or probit, got {propensity_model!r}")


class _Cells:
    """The compressed table summed to the cells the design needs (covariate columns x arm).

    Per cell: `n`, the sums `s[y]` and within-cell sums of squares `m2[y]`. With a cluster, the
    finer rows (cell x cluster) are kept as `cell_of` (their cell), `cluster_codes`, `fine_n`
    and `fine_s[y]`: the clustered meat needs the sum of y per cluster and cell.
    """

    def __init__(self, cells: pd.DataFrame, outcomes: list[str], treatment: str, columns: list[str], cluster):
        keys = _keys(columns, treatment, None)
        sums = [name for y in outcomes for name in (f"sum_{y}", f"sumsq_{y}")]
        needed = [*keys, *([cluster] if cluster is not None else []), "n", *sums]
        absent = [c for c in needed if c not in cells.columns]
        if absent:
            raise KeyError(
                f"{', '.join(map(repr, absent))} is not a column of the cell statistics; compress the rows with "
                "the same outcomes, covariates and cluster (cell_statistics)"
            )
        if cluster is not None and (gaps := int(cells.loc[cells[cluster].isna(), "n"].sum())):
            raise ValueError(
                f"the cluster column {cluster!r} has {gaps:,} missing values; give those units a cluster or "
                "filter them explicitly first"
            )
        missing = cells[[*keys, *sums]].isna().any()
        if missing.any():
            raise ValueError(
                f"missing values in {', '.join(missing[missing].index)}; impute or filter them explicitly first"
            )
        codes = _cluster_codes(cells, cluster)
        self.n_clusters = None if codes is None else int(codes.max()) + 1
        groups = cells.groupby(keys, sort=True, dropna=False, observed=True)
        summed = groups[["n", *sums]].sum()
        self.frame = summed.index.to_frame(index=False)
        self.n = summed["n"].to_numpy(dtype=float)
        self.total = int(summed["n"].sum())
        self.t = _binary(self.frame[treatment], treatment)
        self.s = {y: summed[f"sum_{y}"].to_numpy(dtype=float) for y in outcomes}
        # within-cell sum of squares; clipped at 0 where rounding leaves a constant cell a hair below
        self.m2 = {
            y: np.maximum(summed[f"sumsq_{y}"].to_numpy(dtype=float) - self.s[y] ** 2 / self.n, 0.0) for y in outcomes
        }
        self.cluster_codes = codes
        if codes is not None:
            self.cell_of = groups.ngroup().to_numpy()
            self.fine_n = cells["n"].to_numpy(dtype=float)
            self.fine_s = {y: cells[f"sum_{y}"].to_numpy(dtype=float) for y in outcomes}

    def sum_of_squares(self, outcome: str, a: np.ndarray, b: np.ndarray) -> float:
        """sum_i (a_c + b_c y_i)^2 over units, from each cell's n, mean and within sum of squares."""
        n, s, m2 = self.n, self.s[outcome], self.m2[outcome]
        return float(np.sum(n * (a + b * s / n) ** 2 + b**2 * m2))

    def standard_error(self, outcome: str, a: np.ndarray, b: np.ndarray) -> float:
        """`ate._sandwich_se` of the influence psi_i = a_c + b_c y_i: sqrt(sum psi^2) / n, or clustered."""
        if self.cluster_codes is None:
            return float(np.sqrt(self.sum_of_squares(outcome, a, b)) / self.total)
        fine = self.fine_n * a[self.cell_of] + b[self.cell_of] * self.fine_s[outcome]
        sums = np.bincount(self.cluster_codes, weights=fine)
        g = len(sums)
        return float(np.sqrt(g / (g - 1) * np.sum(sums**2)) / self.total)


def _weighted_kept(matrix: pd.DataFrame, n: np.ndarray) -> tuple[list[str], list[str]]:
    """`ate.drop_redundant` with each cell counted n times: its Gram matrix is the rows' X'X."""
    kept, dropped = drop_redundant(matrix.mul(np.sqrt(n), axis=0))
    return list(kept.columns), dropped


def _design(table: _Cells, columns: Covariates, model: str) -> tuple[np.ndarray, list[str]]:
    """`ate._design` on cells: the design without redundant columns, and a note for each left out."""
    matrix = design_matrix(table.frame, columns)
    kept, dropped = _weighted_kept(matrix, table.n)
    notes = [
        f"{name} left out of the {model} model: constant, or determined by the other covariates" for name in dropped
    ]
    return matrix[kept].to_numpy(), notes


def _outcome_designs(table: _Cells, covariates: Covariates) -> tuple[tuple[np.ndarray, np.ndarray], list[str]]:
    """`ate._outcome_designs` on cells: one design per arm, columns left out per arm as Stata does."""
    matrix = design_matrix(table.frame, covariates)
    kept, dropped = _weighted_kept(matrix, table.n)
    matrix = matrix[kept]
    notes = [
        f"{name} left out of the outcome model: constant, or determined by the other covariates" for name in dropped
    ]
    arms = []
    for arm, label in ((0, "untreated"), (1, "treated")):
        here = table.t == arm
        within_kept, within = _weighted_kept(matrix[here], table.n[here])
        notes += [
            f"{name} left out of the outcome model of the {label} arm: determined by the other covariates there"
            for name in within
        ]
        arms.append(matrix[within_kept].to_numpy())
    return (arms[0], arms[1]), notes


class _Propensity:
    """`ate._Propensity` on cells: the same MLE, by statsmodels' Newton iterations with each cell counted n times.

    The model object is statsmodels' Logit or Probit on the cells, for its link and its
    per-observation score and Hessian factors; the iterations are those of statsmodels'
    ``fit(method="newton", maxiter=100)`` (start at 0, ridge 1e-10, step tolerance 1e-8,
    score and Hessian divided by the number of units), so a fit that does not converge
    (separation) ends where the rows' would.
    """

    def __init__(self, table: _Cells, x: np.ndarray, family: str, overlap_tolerance: float):
        n, total = table.n, table.total
        self.model = PROPENSITY_MODELS[family](table.t, x)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                self.params = self._newton(x, n, total)
            except np.linalg.LinAlgError as err:
                raise OverlapError(
                    "the propensity model cannot be fitted: the covariates predict treatment perfectly (no overlap)"
                ) from err
            self.score = self.model.predict(self.params)
            outside = (self.score < overlap_tolerance) | (self.score > 1 - overlap_tolerance)
            if outside.any():
                raise OverlapError(
                    f"treatment overlap fails: {int(n[outside].sum()):,} of {total:,} units have a propensity score "
                    f"within {overlap_tolerance:g} of 0 or 1 (some covariate values occur in one arm only); restrict "
                    "the sample to where both arms occur, or coarsen the covariates"
                )
            self.score_obs = self.model.score_obs(self.params)  # each unit's score in its cell
            self.hessian = (x * (n * self.model.hessian_factor(self.params))[:, None]).T @ x
            self.gradient = self.model.pdf(x @ self.params)[:, None] * x  # de/dgamma

    def _newton(self, x: np.ndarray, n: np.ndarray, total: int) -> np.ndarray:
        model = self.model

        def score(params):  # of the mean negative log-likelihood, as statsmodels scales it
            return -(x.T @ (n * model.score_factor(params))) / total

        def hess(params):
            return -((x * (n * model.hessian_factor(params))[:, None]).T @ x) / total

        new, iterations = np.zeros(x.shape[1]), 0
        old: np.ndarray | float = np.inf
        while iterations < NEWTON["maxiter"] and np.any(np.abs(new - old) > NEWTON["tol"]):
            h = hess(new)
            h[np.diag_indices(h.shape[0])] += NEWTON["ridge_factor"]
            old = new
            new = old - np.linalg.solve(h, score(old))
            iterations += 1
        np.linalg.inv(hess(new))  # statsmodels inverts the final Hessian: a singular one fails there too
        return new


def _naive(table: _Cells, outcome: str):
    """`ate._naive`: difference in means, Welch's standard error or the clustered one."""
    n, t, s = table.n, table.t, table.s[outcome]
    arms = [(t == arm) for arm in (0, 1)]
    counts = [n[a].sum() for a in arms]
    mu0, mu1 = (s[a].sum() / c for a, c in zip(arms, counts, strict=True))
    if table.cluster_codes is None:
        ones = np.ones_like(n)
        # sum of squares around each arm's mean: psi = y - mu within the arm
        ss = [table.sum_of_squares(outcome, -mu * ones * a, ones * a) for mu, a in zip((mu0, mu1), arms, strict=True)]
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.sqrt(ss[1] / (counts[1] - 1) / counts[1] + ss[0] / (counts[0] - 1) / counts[0])
    else:
        p1 = counts[1] / table.total
        b = t / p1 - (1 - t) / (1 - p1)
        a = -t * mu1 / p1 + (1 - t) * mu0 / (1 - p1)
        se = table.standard_error(outcome, a, b)
    return mu1 - mu0, se, mu0, {}


def _adjusted(table: _Cells, outcome: str, x_out, propensity, method, estimand, grams):
    """`ate._adjusted`: point estimate and sandwich SE from the stacked estimating equations."""
    uses_ps = method != "regression"
    pieces = _Moments(table, outcome, x_out, propensity if uses_ps else None, method, estimand, grams)
    mu0, mu1 = pieces.mu
    diagnostics = {}
    if uses_ps:
        e = propensity.score
        diagnostics = {
            "propensity_min": float(e.min()),
            "propensity_max": float(e.max()),
            "share_extreme_propensity": float(table.n[(e < 0.01) | (e > 0.99)].sum() / table.total),
        }
    a, b = pieces.influence()
    return mu1 - mu0, table.standard_error(outcome, a, b), mu0, diagnostics


class _Moments:
    """`ate._Moments` on cells. Each unit's estimating equations are psi_i = A_c + B_c y_i (A, B per cell,
    one column per parameter); sums over units are sums over cells of n A + B sum(y)."""

    def __init__(self, table: _Cells, outcome: str, xs, propensity, method, estimand, grams):
        self.n, self.t, self.s = table.n, table.t, table.s[outcome]
        self.total = table.total
        self.xs, self.grams, self.propensity = xs, grams, propensity
        self.e: Any = propensity.score if propensity is not None else None  # None when no propensity model
        self.method, self.estimand = method, estimand
        self.uses_ps = propensity is not None
        self.uses_outcome = method in ("regression", "aipw")
        self.weighted_outcome = method == "aipw" and estimand == "ATT"  # IPW-RA
        self.beta: list[np.ndarray] = self._outcome_fits() if self.uses_outcome else []
        self.mu = self._potential_means()

    # --- pieces -------------------------------------------------------------
    def _outcome_weights(self):
        if self.weighted_outcome:
            return (1 - self.t) * self.e / (1 - self.e), self.t
        return 1 - self.t, self.t

    def _gram(self, arm: int, w) -> np.ndarray:
        key = ("ipwra" if self.weighted_outcome else "ra", arm)
        if key not in self.grams:
            x = self.xs[arm]
            gram = (x * (self.n * w)[:, None]).T @ x
            if np.linalg.cond(gram) > 1e12:
                raise np.linalg.LinAlgError("collinear design")
            self.grams[key] = gram
        return self.grams[key]

    def _outcome_fits(self):
        fits = []
        for arm, w in enumerate(self._outcome_weights()):
            try:
                fits.append(np.linalg.solve(self._gram(arm, w), self.xs[arm].T @ (w * self.s)))
            except np.linalg.LinAlgError as err:
                raise ValueError(
                    f"the outcome model of the treatment={arm} arm cannot be fitted: covariates are collinear, or some "
                    "covariate level has no units in that arm (an overlap failure); coarsen the covariates or "
                    "restrict the sample"
                ) from err
        return fits

    def _fitted(self) -> list[np.ndarray]:
        return [x @ b for x, b in zip(self.xs, self.beta, strict=True)]

    def _ipw_weights(self):
        t, e = self.t, self.e
        if self.estimand == "ATT":
            return (1 - t) * e / (1 - e), t
        return (1 - t) / (1 - e), t / e

    def _potential_means(self):
        n, t, s, e = self.n, self.t, self.s, self.e
        if self.method == "regression" or self.weighted_outcome:
            fitted = self._fitted()
            if self.estimand == "ATT":
                return tuple(float(np.sum(n * t * f) / np.sum(n * t)) for f in fitted)
            return tuple(float(n @ f / self.total) for f in fitted)
        if self.method == "ipw":
            w0, w1 = self._ipw_weights()
            return float(w0 @ s / (n @ w0)), float(w1 @ s / (n @ w1))
        m0, m1 = self._fitted()
        mu0 = (n @ m0 + ((1 - t) / (1 - e)) @ (s - n * m0)) / self.total
        mu1 = (n @ m1 + (t / e) @ (s - n * m1)) / self.total
        return float(mu0), float(mu1)

    # --- psi = A + B y and the mean Jacobian ------------------------------------
    def _blocks(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(A, B) per block of equations: propensity, outcome models, potential-outcome means."""
        blocks = []
        if self.uses_ps:
            score = self.propensity.score_obs
            blocks.append((score, np.zeros_like(score)))
        if self.uses_outcome:
            for x, w, f in zip(self.xs, self._outcome_weights(), self._fitted(), strict=True):
                blocks.append((x * (-w * f)[:, None], x * w[:, None]))
        blocks.append(self._mu_moments())
        return blocks

    def _mu_moments(self) -> tuple[np.ndarray, np.ndarray]:
        t, e = self.t, self.e
        mu0, mu1 = self.mu
        if self.method == "regression" or self.weighted_outcome:
            fitted = self._fitted()
            scale = t if self.estimand == "ATT" else np.ones_like(t)
            a = np.column_stack([scale * (fitted[0] - mu0), scale * (fitted[1] - mu1)])
            return a, np.zeros_like(a)
        if self.method == "ipw":
            w0, w1 = self._ipw_weights()
            return np.column_stack([-w0 * mu0, -w1 * mu1]), np.column_stack([w0, w1])
        m0, m1 = self._fitted()
        b0, b1 = (1 - t) / (1 - e), t / e
        return np.column_stack([m0 - b0 * m0 - mu0, m1 - b1 * m1 - mu1]), np.column_stack([b0, b1])

    def influence(self) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) per cell with each unit's influence on mu1 - mu0 equal to a_c + b_c y_i (`ate._effect_influence`)."""
        blocks = self._blocks()
        jacobian = self._jacobian(sum(a.shape[1] for a, _ in blocks))
        contrast = np.zeros(jacobian.shape[0])
        contrast[-2:] = (-1.0, 1.0)
        v = np.linalg.solve(jacobian.T, contrast)
        a, b, start = np.zeros(len(self.n)), np.zeros(len(self.n)), 0
        for block_a, block_b in blocks:
            part = v[start : start + block_a.shape[1]]
            a += block_a @ part
            b += block_b @ part
            start += block_a.shape[1]
        return a, b

    def _jacobian(self, p: int) -> np.ndarray:
        """Mean derivative of psi, as `ate._Moments._jacobian` (rows: equations, columns: parameters)."""
        n, t, total = self.n, self.t, self.total
        k_ps = len(self.propensity.params) if self.uses_ps else 0
        jac = np.zeros((p, p))
        row = 0
        de = None
        if self.uses_ps:
            jac[:k_ps, :k_ps] = self.propensity.hessian / total
            de = self.propensity.gradient  # cells x k_ps
            row = k_ps
        beta_cols = []
        if self.uses_outcome:
            for arm, (w, f) in enumerate(zip(self._outcome_weights(), self._fitted(), strict=True)):
                x = self.xs[arm]
                cols = slice(row, row + x.shape[1])
                jac[cols, cols] = -self._gram(arm, w) / total
                if self.weighted_outcome and arm == 0:  # weights e/(1-e) depend on the propensity
                    resid = (1 - t) * (self.s - n * f) / (1 - self.e) ** 2  # summed over the cell's units
                    jac[cols, :k_ps] = x.T @ (de * resid[:, None]) / total
                beta_cols.append(cols)
                row += x.shape[1]
        self._mu_jacobian(jac, (p - 2, p - 1), beta_cols, k_ps, de)
        return jac

    def _mu_jacobian(self, jac, mu_rows, beta_cols, k_ps, de) -> None:
        n, s, t, e, total = self.n, self.s, self.t, self.e, self.total
        mu0, mu1 = self.mu
        r0, r1 = mu_rows
        if self.method == "regression" or self.weighted_outcome:
            scale = t if self.estimand == "ATT" else np.ones_like(t)
            for r, cols, x in zip(mu_rows, beta_cols, self.xs, strict=True):
                jac[r, cols] = (n * scale) @ x / total
                jac[r, r] = -(n @ scale) / total
            return
        if self.method == "ipw":
            w0, w1 = self._ipw_weights()
            jac[r0, r0], jac[r1, r1] = -(n @ w0) / total, -(n @ w1) / total
            # d/de of (1-t)/(1-e) and of (1-t)e/(1-e) are both (1-t)/(1-e)^2
            jac[r0, :k_ps] = ((1 - t) * (s - n * mu0) / (1 - e) ** 2) @ de / total
            if self.estimand == "ATE":  # the ATT's treated weight (t) has no propensity in it
                jac[r1, :k_ps] = (-t * (s - n * mu1) / e**2) @ de / total
            return
        m0, m1 = self._fitted()
        jac[r0, beta_cols[0]] = (n * (1 - (1 - t) / (1 - e))) @ self.xs[0] / total
        jac[r1, beta_cols[1]] = (n * (1 - t / e)) @ self.xs[1] / total
        jac[r0, :k_ps] = ((1 - t) * (s - n * m0) / (1 - e) ** 2) @ de / total
        jac[r1, :k_ps] = (-t * (s - n * m1) / e**2) @ de / total
        jac[r0, r0] = jac[r1, r1] = -1.0
