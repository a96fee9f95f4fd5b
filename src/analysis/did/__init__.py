"""Staggered-adoption difference-in-differences, with the argument names of R's `did`.

`att_gt` and `aggte` wrap moderndid (a maintained Python port of Callaway and
Sant'Anna's `did`), checked against the `did` package's published mpdta results
(tests/golden/). Conventions follow `did`:

- `gname` is the first treated period, 0 for never-treated units;
- by default, analytic standard errors from the influence function, clustered by unit, for
  ATT(g,t) and the aggregations; the dynamic aggregation also gets a simultaneous (uniform)
  band from the multiplier bootstrap, with a fixed seed;
- `bstrap=True` gives did's multiplier bootstrap (Mammen weights) for every standard error,
  `cband=True` a uniform band, `clustervars` one more clustering variable than the unit
  (constant within unit; it needs the bootstrap, as in did);
- `base_period="varying"` compares pre-periods with the period just before;
- `xformla` is a formula right-hand side (``"~ x + I(x**2) + C(industry)"``), expanded here
  into numeric columns (moderndid 0.2 itself reads only the bare column names of a formula).

Pre-trend tests (`pretrend_test`, `GroupTimeEffects.pretest_pvalue`) use the influence
functions with a small-sample correction: each cohort's covariance with its degrees of
freedom (n_g - 1), and an F reference distribution whose denominator degrees of freedom
come from the cohort sizes (a Hotelling-type test for unequal covariances, Nel and van der
Merwe 1986 as modified by Krishnamoorthy and Yu 2004). The plain chi-squared Wald test on
the same estimates over-rejects with a hundred-odd units (tests/test_did_size.py).

Two-way fixed effects (static and event study) use pyfixest with errors clustered
by unit (CRV1, fixest's small-sample adjustment), for comparison only: with
effects that change over time they mix in already-treated units as controls.

Every result has `.tidy()` (a table of estimates) and `.summary()` (a few lines to read).
"""

from .group_time import (
    BOOTSTRAP_DRAWS,
    BOOTSTRAP_ITERATIONS,
    BOOTSTRAP_SEED,
    Aggregate,
    DesignError,
    GroupTimeEffects,
    Inference,
    aggte,
    att_gt,
    pretrend_test,
)
from .twfe import FixedEffectsEstimate, twfe, twfe_event_study
from .wald import small_sample_wald

DesignError.__module__ = __name__  # tracebacks name it where users import it: analysis.did.DesignError

__all__ = [
    "BOOTSTRAP_DRAWS",
    "BOOTSTRAP_ITERATIONS",
    "BOOTSTRAP_SEED",
    "Aggregate",
    "DesignError",
    "FixedEffectsEstimate",
    "GroupTimeEffects",
    "Inference",
    "aggte",
    "att_gt",
    "pretrend_test",
    "small_sample_wald",
    "twfe",
    "twfe_event_study",
]
