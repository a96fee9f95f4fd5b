"""The report's reference pages: methods and glossary (methods.html) and the estimates codebook (estimates.md)."""

from __future__ import annotations

import html

GLOSSARY = (
    ("ATE", "Average treatment effect: the average difference an unannounced inspection makes, over all inspections."),
    (
        "ATT",
        "Average effect on the treated: the average difference among the units that were treated (the "
        "inspections that were unannounced, or the regions after they adopted a reform).",
    ),
    (
        "AIPW",
        "Augmented inverse-probability weighting: combines a model of the outcome with a model of who gets "
        'treated; the estimate is consistent if either model is right ("doubly robust").',
    ),
    (
        "IPW",
        "Inverse-probability weighting: reweights units so that treated and untreated ones are alike in the "
        "adjustment variables.",
    ),
    (
        "Callaway-Sant'Anna",
        "A difference-in-differences estimator for reforms adopted at different times: each "
        "adopting cohort is compared only with regions that have not (yet) adopted.",
    ),
    (
        "TWFE",
        "Two-way fixed effects: a regression with region and quarter effects. With staggered adoption and "
        "effects that change over time it can mix already-treated regions into the comparison.",
    ),
    ("Elasticity", "The percentage change in an outcome that goes with a 1% change in staff."),
    (
        "CRV1",
        "Cluster-robust standard errors (with the usual small-sample correction): they allow for outcomes "
        "within a cluster, such as a region, to move together.",
    ),
    (
        "E-value",
        "How strongly a hidden factor would have to be associated with both the treatment and the outcome "
        "(as a risk ratio) to explain an estimate away.",
    ),
    (
        "95% confidence interval",
        "The range of effects compatible with the data at the 95% level; an interval "
        "that excludes zero means the data rule out no effect at that level.",
    ),
    (
        "Disclosure control",
        "Figures built from fewer than a set number of inspections (5 by default) are withheld, "
        "with further cells withheld where a total would reveal them.",
    ),
)

METHODS = (
    (
        "Unannounced inspections (study 1)",
        "Inspection-level comparison of unannounced and announced inspections, adjusting for risk grade, industry, "
        "enterprise size and campaigns in force, by regression adjustment, inverse-probability weighting and augmented "
        "IPW, with standard errors from the stacked estimating equations, as Stata's teffects reports them.",
        (
            "Robins, J. M., Rotnitzky, A. and Zhao, L. P. (1994). Estimation of regression coefficients when some "
            "regressors are not always observed. Journal of the American Statistical Association 89(427), 846-866.",
            "VanderWeele, T. J. and Ding, P. (2017). Sensitivity analysis in observational research: introducing the "
            "E-value. Annals of Internal Medicine 167(4), 268-274.",
        ),
    ),
    (
        "Cross-region enforcement (study 2)",
        "Staggered-adoption difference in differences on a region-by-quarter panel: group-time effects aggregated "
        "overall and by time since adoption, with a simultaneous confidence band; two-way fixed effects beside it.",
        (
            "Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time periods. "
            "Journal of Econometrics 225(2), 200-230.",
            "Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing. Journal of "
            "Econometrics 225(2), 254-277.",
            "Sun, L. and Abraham, S. (2021). Estimating dynamic treatment effects in event studies with heterogeneous "
            "treatment effects. Journal of Econometrics 225(2), 175-199.",
        ),
    ),
    (
        "Team expansion (study 3)",
        "Fixed-effects regressions of log outcomes on log officers within regions and quarters, standard errors "
        "clustered by region (CRV1), a wild cluster bootstrap where clusters are few, and a test of leads.",
        (
            "Cameron, A. C., Gelbach, J. B. and Miller, D. L. (2008). Bootstrap-based improvements for inference with "
            "clustered errors. Review of Economics and Statistics 90(3), 414-427.",
            "Bergé, L. (2018). Efficient estimation of maximum likelihood models with multiple fixed-effects: the R "
            "package FENmlm. CREA Discussion Papers 13.",
        ),
    ),
)

CODEBOOK = """# estimates.csv: what each column means

One row per estimate. Text cells that would start with `=`, `+`, `-` or `@` begin with `'`
(so a spreadsheet shows them as text).

| column | meaning |
|---|---|
| study | `surprise` (unannounced inspections), `cross_region` (cross-region enforcement), `team` (team expansion) |
| outcome | what the estimate is about: `hazards_found` (hidden dangers per inspection), `major_hazard_found` (share of inspections finding a major hazard), `case_filed` (share ending in a penalty case), `penalty_amount` (yuan per inspection), `case_rate`, `avg_case_value` (yuan per case), `major_hazard_filing_rate` (share of inspections with a major hazard that led to a case), `inspections`, `cases`, `major_hazards`, `penalty_total` (logs, for elasticities) |
| estimand | `ATE` (average effect over all units), `ATT` (average effect on the treated), `ATT_eK` (effect K quarters after adoption), `elasticity` (% change in the outcome per 1% more officers) |
| method | `naive` (raw difference), `regression`, `ipw`, `aipw` (doubly robust), `callaway_santanna`, `twfe` (two-way fixed effects) |
| estimate | the point estimate, in the outcome's unit: a difference in shares is a fraction (0.092 = 9.2 percentage points), money is yuan |
| std_error | its standard error |
| ci_low, ci_high | the 95% confidence interval |
| n_obs | observations used: inspections (study 1), regions (study 2), region-quarters (study 3) |
"""


def methods_page(page) -> str:
    """methods.html: the glossary and, per study, the method and the literature it follows."""
    glossary = "".join(
        f"<dt id='{html.escape(term.lower().replace(' ', '-'))}'>{html.escape(term)}</dt><dd>{html.escape(text)}</dd>"
        for term, text in GLOSSARY
    )
    methods = "".join(
        f"<h3>{html.escape(title)}</h3><p>{html.escape(text)}</p><ul class='references'>"
        + "".join(f"<li>{html.escape(ref)}</li>" for ref in references)
        + "</ul>"
        for title, text, references in METHODS
    )
    body = (
        "<header class='report'><p class='page-nav'><a href='index.html'>&larr; Report index</a></p>"
        "<h1>Methods, glossary and references</h1></header>"
        f"<h2 id='glossary'>Glossary</h2><dl class='glossary'>{glossary}</dl>"
        f"<h2 id='methods'>Methods and the literature they follow</h2>{methods}"
    )
    return page("Methods, glossary and references", body, {})
