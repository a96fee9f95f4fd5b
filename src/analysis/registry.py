"""The studies of the suite, declared once: what each estimates, which estimate leads, how it reads.

The report's index writes its key messages from here and from estimates.csv; a study's
outcomes are listed once, so a new outcome cannot be dropped from the index silently.
Adding a study: its module, its notebook, one `Study` entry here, and its tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import labels


@dataclass(frozen=True)
class Study:
    name: str  # the `study` column of estimates.csv
    notebook: str  # notebooks/NAME.ipynb
    outcomes: tuple[str, ...]
    estimand: str  # the estimate the index leads with ...
    method: str  # ... by this method
    lead_outcome: str  # the outcome of the study's key message

    def reading(self, outcome: str, estimate: float, low: float, high: float, design: dict | None = None) -> str:
        """One sentence with the number, its unit and its 95% interval.

        `design` is the study notebook's parameters, for what the sentence names (the programme
        a cross-region page studied, its comparison group).
        """
        design = design or {}
        words = labels.label(outcome)
        interval = f"95% CI {labels.interval(outcome, low, high)}"
        if self.name == "surprise":
            return (
                f"Unannounced inspections change the {words} by {labels.effect(outcome, estimate)} "
                f"({interval}) compared with announced inspections of similar sites."
            )
        if self.name == "cross_region":
            reform = labels.words(design.get("program", "cross_region"))
            compared = labels.words(design.get("control_group", "nevertreated"))
            return (
                f"Where {reform} started, the {words} changed by {labels.effect(outcome, estimate)} "
                f"on average after adoption ({interval}), against {compared}."
            )
        direction = "more" if estimate >= 0 else "fewer" if labels.unit(outcome) == "count" else "less"
        return (
            f"Within a region, 10% more enforcement officers go with {abs(10 * estimate):.1f}% {direction} {words} "
            f"(95% CI {10 * low:+.1f}% to {10 * high:+.1f}%)."
        )


STUDIES: tuple[Study, ...] = (
    Study(
        "surprise",
        "02_surprise_inspections",
        ("hazards_found", "major_hazard_found", "case_filed", "penalty_amount"),
        "ATE",
        "aipw",
        "case_filed",
    ),
    Study(
        "cross_region",
        "03_cross_region_enforcement",
        ("case_rate", "avg_case_value", "major_hazard_filing_rate"),
        "ATT",
        "callaway_santanna",
        "case_rate",
    ),
    Study(
        "team",
        "04_team_expansion",
        ("inspections", "cases", "major_hazards", "penalty_total"),
        "elasticity",
        "twfe",
        "inspections",
    ),
)
STUDIES_BY_NAME = {study.name: study for study in STUDIES}
