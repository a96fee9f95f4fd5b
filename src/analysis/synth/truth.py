"""The planted truth of every estimand in the contract's estimates table.

Truths are sample estimands: expectations of the simulated units' potential
outcomes given their covariates, averaged over the units actually simulated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..registry import STUDIES_BY_NAME
from . import outcomes as o
from . import params as p

SURPRISE_OUTCOMES = STUDIES_BY_NAME["surprise"].outcomes  # declared once, in the registry
TEAM_OUTCOMES = STUDIES_BY_NAME["team"].outcomes
MAX_EVENT_TIME = 8


class TruthAccumulator:
    """Collects, batch by batch, what the truths need; `rows()` turns it into estimands."""

    def __init__(self, fx: p.Effects):
        self.fx = fx
        self.effect_sums = {k: 0.0 for k in SURPRISE_OUTCOMES}
        self.effect_sums_treated = {k: 0.0 for k in SURPRISE_OUTCOMES}
        self.n = 0
        self.n_treated = 0
        self.cells: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame, units: o.Units, shifts: p.CampaignShifts) -> None:
        self._add_surprise(units, shifts)
        self._add_cross_region(frame, units, shifts)

    def _add_surprise(self, units, shifts) -> None:
        treated = o.expected(units, self.fx, shifts, surprise=1, cross="realized")
        control = o.expected(units, self.fx, shifts, surprise=0, cross="realized")
        for k in SURPRISE_OUTCOMES:
            diff = treated[k] - control[k]
            self.effect_sums[k] += float(diff.sum())
            self.effect_sums_treated[k] += float(diff[units.surprise].sum())
        self.n += len(units.risk)
        self.n_treated += int(units.surprise.sum())

    def _add_cross_region(self, frame, units, shifts) -> None:
        rows = units.cross_active
        if not rows.any():
            return
        sub = o.Units(**{k: v[rows] for k, v in units.__dict__.items()})
        treated = o.expected(sub, self.fx, shifts, surprise=sub.surprise, cross="treated")
        control = o.expected(sub, self.fx, shifts, surprise=sub.surprise, cross="untreated")
        parts = pd.DataFrame(
            {
                "region_id": frame["region_id"].to_numpy()[rows],
                "period": frame["period"].to_numpy()[rows],
                "event_time": sub.event_time,
                "n": 1.0,
                "p_major": control["major_hazard_found"],
                **{
                    f"{k}_{arm}": e[k]
                    for arm, e in (("1", treated), ("0", control))
                    for k in ("case_filed", "case_and_major", "penalty_amount")
                },
            }
        )
        self.cells.append(parts.groupby(["region_id", "period", "event_time"], as_index=False).sum())

    def rows(self) -> list[dict]:
        out = []
        for k in SURPRISE_OUTCOMES:
            out.append(_row("surprise", k, "ATE", self.effect_sums[k] / self.n))
            out.append(_row("surprise", k, "ATT", self.effect_sums_treated[k] / max(self.n_treated, 1)))
        out += self._cross_region_rows()
        for k in TEAM_OUTCOMES:
            out.append(_row("team", k, "elasticity", self.fx.inspections_elasticity))
        return out

    def _cross_region_rows(self) -> list[dict]:
        if not self.cells:
            return []
        cells = pd.concat(self.cells).groupby(["region_id", "period", "event_time"], as_index=False).sum()
        effects = pd.DataFrame(
            {
                "event_time": cells["event_time"],
                "case_rate": (cells["case_filed_1"] - cells["case_filed_0"]) / cells["n"],
                "avg_case_value": cells["penalty_amount_1"] / cells["case_filed_1"]
                - cells["penalty_amount_0"] / cells["case_filed_0"],
                "major_hazard_filing_rate": (cells["case_and_major_1"] - cells["case_and_major_0"]) / cells["p_major"],
            }
        )
        out = []
        for outcome in ("case_rate", "avg_case_value", "major_hazard_filing_rate"):
            out.append(_row("cross_region", outcome, "ATT", float(effects[outcome].mean())))
            by_time = effects.groupby("event_time")[outcome].mean()
            for e in range(0, MAX_EVENT_TIME + 1):
                if e in by_time.index:
                    out.append(_row("cross_region", outcome, f"ATT_e{e}", float(by_time[e])))
        return out


def _row(study: str, outcome: str, estimand: str, value: float) -> dict:
    return {"study": study, "outcome": outcome, "estimand": estimand, "value": float(np.round(value, 10))}
