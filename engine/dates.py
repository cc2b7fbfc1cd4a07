"""Calendar arithmetic the policy's wording needs ("within six months", "within 30 days")."""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from dataclasses import dataclass

_NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]


@functools.lru_cache(maxsize=65536)
def add_months(day: dt.date, months: int) -> dt.date:
    """Move by calendar months, clamping to the month's end: 2026-08-31 - 6 = 2026-02-28."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(day.day, last_day))


def number_words(n: int) -> str:
    """Small counts in words, as policy text writes them ("six months")."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else f"{n:,}"


def word_number(word: str) -> int | None:
    """The count a small number word names ("Six" -> 6), or None: `number_words` reversed."""
    try:
        return _NUMBER_WORDS.index(word.casefold())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Period:
    """A policy length of time. Exactly one of the three is normally set."""

    months: int = 0
    weeks: int = 0
    days: int = 0

    def before(self, day: dt.date) -> dt.date:
        """The date this period before `day` (calendar months clamp to month end)."""
        if self.months:
            day = add_months(day, -self.months)
        if self.weeks or self.days:
            day -= dt.timedelta(weeks=self.weeks, days=self.days)
        return day

    def after(self, day: dt.date) -> dt.date:
        """The date this period after `day`."""
        if self.months:
            day = add_months(day, self.months)
        if self.weeks or self.days:
            day += dt.timedelta(weeks=self.weeks, days=self.days)
        return day

    @functools.cache  # noqa: B019 - a frozen value object: few distinct periods, kept for good
    def describe(self) -> str:
        """In words, as in the policy: "six months", "30 days"."""
        parts = []
        for amount, unit, spell in (
            (self.months, "month", True),
            (self.weeks, "week", True),
            (self.days, "day", False),
        ):
            if amount:
                count = number_words(amount) if spell else f"{amount:,}"
                parts.append(f"{count} {unit}{'' if amount == 1 else 's'}")
        return " and ".join(parts) if parts else "no time"
