"""What a build returns (kept free of heavy imports: the up-to-date check uses it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .worker_status import OK


@dataclass
class NotebookResult:
    name: str
    title: str
    status: str
    seconds: float
    parameters: dict
    message: str = ""
    cached: bool = False


@dataclass
class BuildResult:
    out: Path
    notebooks: list[NotebookResult] = field(default_factory=list)
    up_to_date: bool = False  # nothing changed since the published report; nothing was redone
    published: bool = True  # False: notebooks failed, the build was kept beside the report (at `out`)

    @property
    def ok(self) -> bool:
        return all(n.status == OK for n in self.notebooks)
