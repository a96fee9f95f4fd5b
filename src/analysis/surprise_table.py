"""The surprise study's inspections: one row each (`study_table`), or cells of alike inspections counted
where the data lies (`study_cells`), which every step of the study takes in place of the rows.

A table of cells has a column `CELL_COUNT` (the inspections each row stands for) and, per outcome y,
``sum_y``, ``sumsq_y``, ``min_y`` and ``max_y`` in place of y; `is_cells`, `cell_weights`,
`inspection_count`, `unannounced_count` and `outcome_range` read either kind of table alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import engine
from .columns import as_category, as_text, codes_of, joined, quarter_labels, where
from .data import Dataset
from .metrics import quarter_ordinals
from .quarter import Quarter

TREATMENT = "surprise"
NOT_RECORDED = "not recorded"  # the level of an optional covariate an inspection has no value for
OPTIONAL_COVARIATES = {"risk_level": "risk grade", "enterprise_size": "enterprise size"}
MIN_PER_ARM = 5  # inspections of each kind the study needs, and an outcome-model cell needs in each arm
STUDY_COLUMNS = (  # of the inspections table: `study_table` reads only these
    "inspection_id", "region_id", "inspection_date", "surprise", "hazards_found", "major_hazards", "case_filed",
    "penalty_amount", "risk_level", "industry", "enterprise_size",
)  # fmt: skip
KEYS = ["inspection_id", "region_id", "province", "quarter", "inspection_date"]  # kept so tables join back
CELL_COUNT = "n_inspections"  # in a table of cells (`study_cells`): the inspections each row stands for


def study_table(dataset: Dataset, last_period: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Inspections with the study's columns, and sentences on how gaps in the covariates were handled.

    One row per inspection, indexed as in the inspections table, with its keys (`KEYS`),
    every outcome and the adjustment variables, so the table joins back to the data.
    Inspections after `last_period` (a quarter) are not used, so a report for a quarter
    uses only the data up to it (`table.attrs["left_out"]` counts them). Otherwise no
    inspection is dropped: a missing risk grade or enterprise size is the level "not
    recorded" of that covariate (one sentence each says how many); a covariate missing
    for every inspection is constant, so the models leave it out (`surprise.adjustment` says so).

    Parameters
    ----------
    dataset : Dataset
        A loaded dataset (`analysis.data.load`), possibly restricted with `Dataset.within`.
    last_period : str, optional
        The report quarter ("2024Q4"); later inspections are left out.

    Returns
    -------
    table : pandas.DataFrame
        One row per inspection: `KEYS`, `surprise` (the treatment), the `OUTCOMES` and the
        adjustment variables. Region, province and the categorical adjustment variables are
        pandas categoricals (sorted categories): the same values as text at a tenth of the memory
        on millions of rows, but concatenating text to them needs ``.astype(str)`` first, and a
        subset keeps every category (``.cat.remove_unused_categories()`` drops the others).
    notes : list of str
        Sentences on how missing covariate values were handled.

    Examples
    --------
    >>> from analysis.data import load
    >>> from analysis.paths import resolve_data
    >>> table, notes = study_table(load(resolve_data()).within(["Jiangsu"]), last_period="2024Q4")
    >>> table[["region_id", "quarter", "surprise", "case_filed"]].head(2)  # doctest: +SKIP
    """
    inspections = dataset.columns_of("inspections", list(STUDY_COLUMNS))
    quarter = quarter_ordinals(inspections["inspection_date"])
    keep = quarter <= Quarter.parse(last_period).ordinal if last_period else np.ones(len(quarter), dtype=bool)
    if not keep.all():  # a copy only when something is left out: at 10M rows each copy costs 0.6 GiB
        inspections, quarter = inspections[keep], quarter[keep]
    take = inspections.pop  # each column leaves the inspections as the table takes it: 0.4 GiB less at 10M rows
    region_ids = take("region_id")
    region = as_category(region_ids)
    quarter_label = quarter_labels(quarter, region.index)
    columns = {
        "inspection_id": as_text(take("inspection_id")),
        "region_id": region,
        "province": as_category(region_ids, dataset.province_by_region()),
        "inspection_date": take("inspection_date"),
        "surprise": take("surprise"),
        "hazards_found": take("hazards_found").astype(float),
        "major_hazard_found": (take("major_hazards") > 0).astype(float),
        "case_filed": take("case_filed").astype(float),
        "penalty_amount": take("penalty_amount").astype(float),
        # grades as categories: no linearity assumed
        "risk_level": as_category(take("risk_level"), missing=NOT_RECORDED),
        "industry": as_category(take("industry")),
        "enterprise_size": as_category(take("enterprise_size"), missing=NOT_RECORDED),
        "campaign_active": dataset.in_force("surprise_campaign", region, quarter).astype(float),
        "quarter": quarter_label,
    }
    del inspections, region_ids, region, quarter_label  # the table holds what it needs
    table = pd.DataFrame(columns, copy=False)  # not copied into blocks: each column stays as made
    del columns
    if last_period:
        later = int((~keep).sum())
        table.attrs["left_out"] = {f"inspected after {last_period}": later} if later else {}
    return table, _finish(table)


# Each outcome as SQL on the inspections table (`OUTCOMES`), for the cells counted in the engine;
# of a 0/1 outcome the cells need only the sum (the rest follows from it and the count).
OUTCOME_SQL = {
    "hazards_found": "CAST(i.hazards_found AS DOUBLE)",
    "major_hazard_found": "CASE WHEN i.major_hazards > 0 THEN 1.0 ELSE 0.0 END",
    "case_filed": "CASE WHEN i.case_filed THEN 1.0 ELSE 0.0 END",
    "penalty_amount": "CAST(i.penalty_amount AS DOUBLE)",
}
BINARY_OUTCOMES = ("major_hazard_found", "case_filed")
CELL_KEYS = {  # what the inspections of one cell share, as SQL
    "region_id": "i.region_id",
    "risk_level": "CAST(i.risk_level AS STRING)",
    "industry": "i.industry",
    "enterprise_size": "i.enterprise_size",
    TREATMENT: "i.surprise",
    "campaign_active": "COALESCE(i.inspection_date >= s.start, FALSE)",  # a surprise campaign in force
}
CELL_COLUMNS = (  # the study-table columns a table of cells has (not the id, date, quarter or single outcomes)
    "region_id", "province", TREATMENT, "risk_level", "industry", "enterprise_size", "campaign_active",
    "risk_by_industry", "campaign_by_risk",
)  # fmt: skip
# What a cell has of each outcome y: its sum, sum of squares, smallest and largest value, and the sum of
# squared deviations from the cell's mean (ss_y: variances without cancellation, whatever the mean).
MEASURES = ("sum", "sumsq", "min", "max", "ss")
# The first day each region ran a surprise campaign, from the programs table (start quarters as "2022Q1").
CAMPAIGN_STARTS = """SELECT region_id, MIN(make_date(CAST(substr(start_period, 1, 4) AS INT),
    (CAST(substr(start_period, 6, 1) AS INT) - 1) * 3 + 1, 1)) AS start
  FROM programs WHERE program = 'surprise_campaign' GROUP BY region_id"""


def cells_sql(last_period: str | None = None) -> str:
    """The SQL (DuckDB's and Spark's) that counts the inspections of each study cell: per region, risk
    grade, industry, size, kind of visit and whether a surprise campaign was in force, the count, the
    latest date and each outcome's sum (and, of a count or an amount, its sum of squares, smallest and
    largest value, and its sum of squared deviations from the cell's mean). Inspections after
    `last_period` are left out."""
    measures = [f"COUNT(*) AS {CELL_COUNT}", "MAX(i.inspection_date) AS last_inspection"]
    for outcome, value in OUTCOME_SQL.items():
        measures.append(f"SUM({value}) AS sum_{outcome}")
        if outcome not in BINARY_OUTCOMES:
            measures += [
                f"SUM({value} * {value}) AS sumsq_{outcome}",
                f"MIN({value}) AS min_{outcome}",
                f"MAX({value}) AS max_{outcome}",
                f"VAR_POP({value}) * COUNT(*) AS ss_{outcome}",
            ]
    keys = ",\n  ".join(f"{sql} AS {name}" for name, sql in CELL_KEYS.items())
    return (
        f"WITH starts AS (\n  {CAMPAIGN_STARTS}\n)\n"
        f"SELECT {keys},\n  {', '.join(measures)}\n"
        "FROM inspections i LEFT JOIN starts s ON i.region_id = s.region_id\n"
        f"{_before(last_period)}"
        f"GROUP BY {', '.join(CELL_KEYS.values())}"
    )


def _before(last_period: str | None, negate: bool = False) -> str:
    """The WHERE clause keeping the inspections up to `last_period` (with `negate`, those after it)."""
    if not last_period:
        return ""
    after = Quarter.parse(last_period).shift(1).period.start_time.date().isoformat()
    return f"WHERE i.inspection_date {'>=' if negate else '<'} DATE {engine.literal(after)}\n"


def study_cells(dataset: Dataset, last_period: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The study table compressed: one row per cell of inspections that share every study column, counted
    in the engine (DuckDB, or Spark) where the inspections lie, so that ten million inspections become
    some twenty-five thousand cells without ever being read into memory.

    Every step of the study accepts this table in place of `study_table`'s and gives the same numbers
    (to rounding): each row stands for `CELL_COUNT` inspections, with each outcome's sum (``sum_y``),
    sum of squares (``sumsq_y``), smallest and largest value (``min_y``, ``max_y``) and sum of squared
    deviations from the cell's mean (``ss_y``) in place of the outcome, and the date of the latest
    (``last_inspection``). The columns are `study_table`'s but
    the inspection id, date and quarter (a design reading them needs the rows: `surprise.study_data`); the
    notes are the same.

    Examples
    --------
    >>> cells, notes = study_cells(load(resolve_data()), last_period="2024Q4")  # doctest: +SKIP
    >>> estimates(cells, ["case_filed"], ["aipw"], ["ATE"])  # doctest: +SKIP
    """
    found = engine.query(dataset, cells_sql(last_period), ["inspections", "programs"])
    region_ids = found["region_id"]
    count = found[CELL_COUNT].to_numpy(dtype=np.int64)
    cells = pd.DataFrame(
        {
            "region_id": as_category(region_ids),
            "province": as_category(region_ids, dataset.province_by_region()),
            TREATMENT: found[TREATMENT].astype(bool),
            "risk_level": as_category(found["risk_level"], missing=NOT_RECORDED),
            "industry": as_category(found["industry"]),
            "enterprise_size": as_category(found["enterprise_size"], missing=NOT_RECORDED),
            "campaign_active": found["campaign_active"].astype(float),
            CELL_COUNT: count,
            "last_inspection": pd.to_datetime(found["last_inspection"]).astype("datetime64[s]"),  # as `load` gives
        }
    )
    for outcome in OUTCOME_SQL:
        total = found[f"sum_{outcome}"].to_numpy(dtype=float)
        cells[f"sum_{outcome}"] = total
        if outcome in BINARY_OUTCOMES:  # 0/1: y^2 = y; all 1 when the sum is the count, some 1 when it is not 0
            cells[f"sumsq_{outcome}"] = total
            cells[f"min_{outcome}"] = (total == count).astype(float)
            cells[f"max_{outcome}"] = (total > 0).astype(float)
            cells[f"ss_{outcome}"] = total - total * total / count  # k ones among n: k (n - k) / n
        else:
            for measure in MEASURES[1:]:
                cells[f"{measure}_{outcome}"] = found[f"{measure}_{outcome}"].to_numpy(dtype=float)
    if last_period:
        cells.attrs["left_out"] = _left_out(dataset, last_period)
    return cells, _finish(cells)


def _left_out(dataset: Dataset, last_period: str) -> dict[str, int]:
    """The inspections after `last_period`, as `study_table` counts them."""
    sql = f"SELECT COUNT(*) AS n FROM inspections i\n{_before(last_period, negate=True)}"
    later = int(engine.query(dataset, sql, ["inspections"])["n"].iloc[0])
    return {f"inspected after {last_period}": later} if later else {}


def _finish(table: pd.DataFrame) -> list[str]:
    """Add the pooled outcome-model cells to the study table (or its cells), and say how many
    inspections have no risk grade or size."""
    notes = []
    total = inspection_count(table)
    for column, words in OPTIONAL_COVARIATES.items():
        missing = inspection_count(table, table[column].to_numpy() == NOT_RECORDED)
        if 0 < missing < total:
            notes.append(
                f"{missing:,} of the {total:,} inspections have no {words} recorded; they are kept, "
                f"with \u201c{NOT_RECORDED}\u201d as a category of its own."
            )
    table["risk_by_industry"] = _pool_sparse(
        table, joined(table["risk_level"], ":", table["industry"]), joined(table["risk_level"], ":*")
    )
    # Campaign effect allowed to differ by risk grade; "none" outside campaigns (no overlap with the
    # risk-by-industry cells, which already carry the risk main effects).
    in_campaign = table["campaign_active"].to_numpy() == 1
    campaign_cells = where(in_campaign, joined("campaign:", table["risk_level"]), "none")
    table["campaign_by_risk"] = _pool_sparse(table, campaign_cells, "campaign:*")
    return notes


def _pool_sparse(table: pd.DataFrame, cells: pd.Series, coarser: pd.Series | str) -> pd.Series:
    """Cells with fewer than MIN_PER_ARM inspections in either arm fall back to a coarser label,
    and coarser labels still that sparse to one label for all of them ("*"), so every
    outcome-model cell can be fitted in both arms."""
    pooled = _sparse_to(table, cells, coarser)
    return _sparse_to(table, pooled, "*") if len(pooled) else pooled


def _sparse_to(table: pd.DataFrame, cells: pd.Series, fallback: pd.Series | str) -> pd.Series:
    codes, labels = codes_of(cells)
    fewest = _counts_by_arm(table, codes, len(labels)).min(axis=1)
    sparse = np.append(fewest < MIN_PER_ARM, False)[codes]  # a missing cell (code -1) is left as it is
    return where(~sparse, cells, fallback)


def arm_counts(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Inspections per level of `column` (sorted; missing left out) and arm (columns False, True)."""
    codes, levels = codes_of(table[column])
    return pd.DataFrame(_counts_by_arm(table, codes, len(levels)), index=levels.rename(column), columns=[False, True])


def _counts_by_arm(table: pd.DataFrame, codes: np.ndarray, levels: int) -> np.ndarray:
    """levels x 2 counts of announced and unannounced inspections per code (counted by code: fast on
    millions of rows)."""
    cell = codes * 2 + table[TREATMENT].to_numpy(dtype=bool)  # code c: 2c announced, 2c + 1 unannounced
    weights = cell_weights(table)
    if (codes < 0).any():  # a missing level (code -1) is not counted
        cell, weights = cell[codes >= 0], None if weights is None else weights[codes >= 0]
    counts = np.bincount(cell, weights=weights, minlength=2 * levels).reshape(levels, 2)
    return counts.astype(np.int64) if weights is not None else counts


# --- a table of cells: inspections that share every study column, counted once ------------------


def is_cells(table: pd.DataFrame) -> bool:
    return CELL_COUNT in table.columns


def count_column(table: pd.DataFrame) -> str | None:
    """The column saying how many inspections each row stands for (`CELL_COUNT`), None for rows: the
    `counts` of `compressed.cell_statistics`."""
    return CELL_COUNT if is_cells(table) else None


def cell_weights(table: pd.DataFrame) -> np.ndarray | None:
    """The inspections each row stands for: None for a table of inspections (one each)."""
    return table[CELL_COUNT].to_numpy() if is_cells(table) else None


def inspection_count(table: pd.DataFrame, chosen: np.ndarray | None = None) -> int:
    """The number of inspections in the table (in its `chosen` rows)."""
    if not is_cells(table):
        return len(table) if chosen is None else int(np.count_nonzero(chosen))
    counts = table[CELL_COUNT].to_numpy()
    return int(counts.sum() if chosen is None else counts[chosen].sum())


def unannounced_count(table: pd.DataFrame) -> int:
    return inspection_count(table, table[TREATMENT].to_numpy(dtype=bool)) if len(table) else 0


def outcome_range(table: pd.DataFrame, outcome: str) -> tuple[float, float]:
    """The smallest and largest value of `outcome` among the inspections."""
    if is_cells(table):
        return float(table[f"min_{outcome}"].min()), float(table[f"max_{outcome}"].max())
    values = table[outcome]
    return float(values.min()), float(values.max())
