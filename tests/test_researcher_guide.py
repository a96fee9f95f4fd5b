"""The researcher guide's code runs as written (on a small simulated world)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

GUIDE = Path(__file__).parents[1] / "docs" / "researcher-guide.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)


def test_the_guide_has_code_for_each_walkthrough():
    code = "\n".join(python_blocks())
    for step in (
        'within(["Jiangsu"])',
        "C(risk_level) * C(industry)",
        'program="technical_inspectors"',
        'control_group="notyettreated"',
        ".summary()",
        ".tidy()",
    ):
        assert step in code, step


def test_every_code_block_runs(world_factory, monkeypatch):
    monkeypatch.setenv("ANALYSIS_DATA", str(world_factory(scale=0.3)))
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for number, block in enumerate(python_blocks(), start=1):
            try:
                exec(compile(block, f"researcher-guide block {number}", "exec"), namespace)  # noqa: S102 - our doc
            except Exception as err:  # pragma: no cover - the message is the point
                pytest.fail(f"block {number} of docs/researcher-guide.md fails: {type(err).__name__}: {err}")
