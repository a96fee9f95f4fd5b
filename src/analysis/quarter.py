"""Quarters ("2022Q3"): parsed, checked and ordered in one place.

Everything that reads a quarter from a user, a file or a table goes through `Quarter`,
so the format has one definition and quarters are compared as quarters, not as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

FREQ = "Q-DEC"  # calendar quarters
PATTERN = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1..4

    @classmethod
    def parse(cls, text: object) -> Quarter:
        """`Quarter` of "2022Q3" (surrounding spaces allowed); ValueError naming the text otherwise."""
        match = PATTERN.match(str(text).strip())
        if not match:
            raise ValueError(f"{text!r} is not a quarter like 2023Q4")
        return cls(int(match.group(1)), int(match.group(2)))

    @staticmethod
    def is_quarter(text: object) -> bool:
        return PATTERN.match(str(text).strip()) is not None

    @classmethod
    def of(cls, period: pd.Period) -> Quarter:
        return cls(period.year, period.quarter)

    @property
    def period(self) -> pd.Period:
        return pd.Period(year=self.year, quarter=self.number, freq=FREQ)

    @property
    def ordinal(self) -> int:
        """Quarters since 1970Q1 (pandas' ordinal): consecutive quarters differ by one."""
        return self.period.ordinal

    def shift(self, quarters: int) -> Quarter:
        return Quarter.of(self.period + quarters)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


def ordinals(labels) -> pd.Index:
    """Ordinals of many quarter labels (a ValueError names the first that is not a quarter)."""
    return pd.Index([Quarter.parse(label).ordinal for label in labels], dtype="int64")
