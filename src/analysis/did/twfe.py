"""Two-way fixed effects (static and event study), for comparison with Callaway-Sant'Anna."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .group_time import DesignError
from .summaries import (
    _aligned,
    _estimate_cells,
    _estimate_header,
    _formatter,
    _key,
    _typical,
)


def _check_fixed_effects_sample(data, yname, regressors, idname, tname) -> pd.DataFrame:
    """The rows the regression uses, or a DesignError (a sentence) where pyfixest's demeaning would fail."""
    from ..panel import estimable_sample

    sample = estimable_sample(data, yname, regressors, [idname, tname], cluster=idname)
    if sample[regressors[0]].nunique() < 2:
        raise DesignError(
            f"no unit changes treatment status within the {len(sample):,} usable rows, so the "
            "two-way fixed-effects regression has no comparison"
        )
    return sample


@dataclass
class FixedEffectsEstimate:
    """A two-way fixed-effects regression: the static effect, or the event-study coefficients in `by`.

    Attributes
    ----------
    estimate, std_error, ci_low, ci_high : float
        The coefficient of the treated-and-post dummy (NaN for an event study).
    n_obs : int
        Rows used (complete, singletons of a fixed effect removed).
    by : pandas.DataFrame
        Event-study coefficients: event_time, estimate, std_error, ci_low, ci_high (empty
        for the static regression).
    """

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    n_obs: int
    by: pd.DataFrame  # event-study coefficients (event_time, estimate, std_error, ci_low, ci_high)

    def tidy(self) -> pd.DataFrame:
        """One row per coefficient: term, event_time (event study), estimate, std_error, ci_low, ci_high, n_obs."""
        columns = ["term", "event_time", "estimate", "std_error", "ci_low", "ci_high"]
        if len(self.by):
            frame = self.by.copy()
            frame.insert(0, "term", [f"event_time={_key(e)}" for e in frame["event_time"]])
        else:
            frame = pd.DataFrame(
                [
                    {
                        "term": "treated_post",
                        "event_time": np.nan,
                        "estimate": self.estimate,
                        "std_error": self.std_error,
                        "ci_low": self.ci_low,
                        "ci_high": self.ci_high,
                    }
                ]
            )
        return frame[columns].assign(n_obs=self.n_obs).reset_index(drop=True)

    def summary(self) -> str:
        """A few lines to read: the regression, the sample, the coefficients."""
        kind = "event study, e = -1 omitted, never treated as reference" if len(self.by) else "treated x post"
        lines = [
            f"Two-way fixed effects ({kind}): unit and period effects, CRV1 standard errors clustered by unit",
            f"{self.n_obs:,} observations; for comparison only: with effects that change over time it "
            "uses already-treated units as controls",
            "",
        ]
        table = self.tidy()
        number = _formatter(_typical(table["std_error"]))
        rows = [[str(r.term), *_estimate_cells(r, r.estimate, number)] for r in table.itertuples()]
        lines += _aligned(["term", *_estimate_header(0.05, table)], rows)
        return "\n".join(lines)


def twfe(df: pd.DataFrame, yname: str, tname: str, idname: str, gname: str) -> FixedEffectsEstimate:
    """Static two-way fixed effects: y on a treated-and-post dummy, unit and period effects, CRV1 by unit.

    Parameters
    ----------
    df : pandas.DataFrame
        A long panel, one row per unit and period.
    yname, tname, idname, gname : str
        Outcome, period, unit, and first treated period (0: never treated) columns.

    Returns
    -------
    FixedEffectsEstimate
        The dummy's coefficient, its CRV1 standard error and 95% interval (t with G - 1
        degrees of freedom, fixest's), and the rows used; `by` is empty.

    Raises
    ------
    DesignError
        No usable row, or no unit changes treatment status in the rows used.
    KeyError
        A column named is not in `df`.

    Examples
    --------
    >>> import moderndid
    >>> mpdta = moderndid.load_mpdta().to_pandas()
    >>> fit = twfe(mpdta, "lemp", "year", "countyreal", "first.treat")
    >>> round(fit.estimate, 4), fit.n_obs
    (-0.0365, 2500)
    """
    import pyfixest as pf

    data = df[[yname, tname, idname, gname]].copy()
    data["treated_post"] = ((data[gname] > 0) & (data[tname] >= data[gname])).astype(float)
    sample = _check_fixed_effects_sample(data, yname, ["treated_post"], idname, tname)
    fit = pf.feols(f"{yname} ~ treated_post | {idname} + {tname}", data=data, vcov={"CRV1": idname})
    coef, se = float(fit.coef()["treated_post"]), float(fit.se()["treated_post"])
    low, high = fit.confint().loc["treated_post"].to_numpy()
    return FixedEffectsEstimate(coef, se, float(low), float(high), len(sample), pd.DataFrame())


def twfe_event_study(
    df: pd.DataFrame, yname: str, tname: str, idname: str, gname: str, min_e: int = -6, max_e: int = 8
) -> FixedEffectsEstimate:
    """Event-study TWFE: relative-time dummies (ends binned, e = -1 omitted), never-treated as reference.

    Parameters
    ----------
    df : pandas.DataFrame
        A long panel, one row per unit and period.
    yname, tname, idname, gname : str
        Outcome, period, unit, and first treated period (0: never treated) columns.
    min_e, max_e : int, default -6 and 8
        Event times below `min_e` are binned with `min_e`, above `max_e` with `max_e`.

    Returns
    -------
    FixedEffectsEstimate
        `by`: one coefficient per event time (e = -1 is the reference), CRV1 by unit, 95%
        intervals; the overall fields are NaN.

    Raises
    ------
    DesignError
        No usable row, or no unit changes treatment status in the rows used.
    KeyError
        A column named is not in `df`.

    Examples
    --------
    >>> import moderndid
    >>> mpdta = moderndid.load_mpdta().to_pandas()
    >>> study = twfe_event_study(mpdta, "lemp", "year", "countyreal", "first.treat")
    >>> study.by["event_time"].tolist()
    [-4, -3, -2, 0, 1, 2, 3]
    """
    import pyfixest as pf

    data = df[[yname, tname, idname, gname]].copy()
    relative = (data[tname] - data[gname]).clip(min_e, max_e)
    data["event_time"] = np.where(data[gname] > 0, relative, -1).astype(int)
    sample = _check_fixed_effects_sample(data, yname, ["event_time"], idname, tname)
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
        float("nan"), float("nan"), float("nan"), float("nan"), len(sample), by.reset_index(drop=True)
    )
