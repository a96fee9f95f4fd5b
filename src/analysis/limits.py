"""What an analysis could not do on this data, said in words where it happens and at the end.

Study code raises `Unavailable("...")` with one plain sentence naming what the data lacks
(an optional column, a programme, never-treated regions, a second quarter, enough
observations). A notebook runs each step through one `Limitations` object:

>>> limits = Limitations()
>>> table = limits.run("Effect estimates", surprise.estimates, table)   # doctest: +SKIP
>>> limits.run("Effect estimates", display.table, table)                # doctest: +SKIP

A step that raises `Unavailable` (or one of the estimators' design errors) shows the
sentence instead of its output and is remembered; a later step given that missing result
shows a short pointer instead of failing. `limits.conclusion()` lists what was not
possible, and `limits.record()` hands the list to the report runner, which shows it on
the report's index.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

RECORD_FILE = "limitations.json"


class Unavailable(Exception):
    """This analysis is not possible on this data; the message is one sentence saying why."""


def _design_errors() -> tuple[type[Exception], ...]:
    """Errors the estimators raise for designs the data cannot support (their messages are sentences)."""
    from .ate import OverlapError
    from .did import DesignError

    errors: list[type[Exception]] = [Unavailable, OverlapError, DesignError]
    try:
        from .cross_region import PanelError
    except ImportError:  # pragma: no cover - the study module is optional here
        pass
    else:
        errors.append(PanelError)
    return tuple(errors)


@dataclass
class Missing:
    """The stand-in for a result that could not be computed; displays as its sentence.

    The sentence is shown where the missing result is first displayed (the step itself, or a
    later step given it); every later display points back to it.
    """

    section: str
    reason: str
    shown: list[bool] = field(default_factory=lambda: [False])  # shared with its echoes

    def echo(self) -> Missing:
        return Missing(self.section, self.reason, self.shown)

    def _repr_html_(self) -> str:
        if not self.shown[0]:
            self.shown[0] = True
            return (
                f"<p class='unavailable'><strong>Not possible with this data:</strong> {html.escape(self.reason)}</p>"
            )
        return f"<p class='unavailable'>Not shown: {html.escape(self.section)} was not possible (see above).</p>"

    def __repr__(self) -> str:
        return f"Not possible with this data: {self.reason}"

    def __getattr__(self, name: str):
        """A part of a missing result (`result.frame`) is missing too; private names are not parts."""
        if name.startswith("_"):
            raise AttributeError(name)
        return self.echo()


@dataclass
class Limitations:
    """The steps of one notebook that were not possible, in the order they were met."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def run(self, section: str, step, *args, **kwargs):
        """`step(*args, **kwargs)`, or a `Missing` when it (or an input it needs) was not possible."""
        upstream = next((a for a in (*args, *kwargs.values()) if isinstance(a, Missing)), None)
        if upstream is not None:
            return upstream.echo()
        try:
            return step(*args, **kwargs)
        except _design_errors() as err:
            return self.note(section, str(err))

    def note(self, section: str, reason: str) -> Missing:
        """Remember that `section` was not possible because of `reason`; return its stand-in."""
        reason = reason.strip().rstrip(".") + "."
        if (section, reason) not in self.items:
            self.items.append((section, reason))
        return Missing(section, reason)

    def conclusion(self):
        """A paragraph for the page's conclusion: what was not possible, or that everything was."""
        from .display import Html

        if not self.items:
            return Html("<p class='reading'>Every analysis on this page was possible with this data.</p>")
        rows = "".join(f"<li><strong>{html.escape(s)}</strong>: {html.escape(r)}</li>" for s, r in self.items)
        return Html(f"<div class='unavailable'><p>Not possible with this data:</p><ul>{rows}</ul></div>")

    def record(self) -> list[dict]:
        """Write the list for the report runner (inside a build only); return it."""
        from .results import RESULTS_ENV

        entries = [{"section": s, "reason": r} for s, r in self.items]
        directory = os.environ.get(RESULTS_ENV)
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            (Path(directory) / RECORD_FILE).write_text(
                json.dumps(entries, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
            )
        return entries
