"""Report periods: ISO weeks (Monday start) in Asia/Seoul, year-to-date and comparison windows."""

import datetime as dt
import re
from dataclasses import dataclass


def ymd(day: dt.date) -> str:
    """`YYYYMMDD`."""
    return day.strftime("%Y%m%d")


def parse_ymd(text: str) -> dt.date:
    """Parse `YYYYMMDD` or `YYYY-MM-DD`."""
    text = text.strip().replace("-", "")
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def parse_ins_date(text: str) -> dt.date:
    """The web API's `insDate`: exactly eight digits, `YYYYMMDD`, naming a real day.

    Raises ValueError naming the value otherwise (`2026111` or `202611231` are refused, never
    read as some other day).
    """
    if not re.fullmatch(r"\d{8}", text):
        raise ValueError(f"ins_date {text!r} is not YYYYMMDD (exactly eight digits)")
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError as exc:
        raise ValueError(f"ins_date {text!r} is not a calendar day: {exc}") from None


@dataclass(frozen=True)
class ReportWeek:
    """One report week: DT_FROM (Monday) .. DT_TO (Sunday) and its ISO year and week number."""

    dt_from: dt.date
    dt_to: dt.date

    @classmethod
    def of_monday(cls, monday: dt.date) -> "ReportWeek":
        """The week starting on `monday`."""
        if monday.weekday() != 0:
            raise ValueError(f"{monday} is not a Monday")
        return cls(monday, monday + dt.timedelta(days=6))

    @classmethod
    def before(cls, base: dt.date) -> "ReportWeek":
        """The last complete week before `base` (a Monday or Sunday base gives the week before)."""
        back = (base.weekday() + 1) % 7 or 7
        sunday = base - dt.timedelta(days=back)
        return cls(sunday - dt.timedelta(days=6), sunday)

    @classmethod
    def of_iso(cls, year: int, week: int) -> "ReportWeek":
        """ISO year and week number."""
        return cls.of_monday(dt.date.fromisocalendar(year, week, 1))

    @property
    def year(self) -> int:
        """ISO year of the week."""
        return self.dt_to.isocalendar().year

    @property
    def week_no(self) -> int:
        """ISO week number."""
        return self.dt_to.isocalendar().week

    @property
    def ytd_from(self) -> dt.date:
        """First day of the ISO year: year-to-date windows run from here to DT_TO."""
        return dt.date.fromisocalendar(self.year, 1, 1)

    @property
    def month_from(self) -> dt.date:
        """Start of the 'last month' window (DT_FROM − 30 .. DT_TO)."""
        return self.dt_from - dt.timedelta(days=30)

    @property
    def previous(self) -> "ReportWeek":
        """The week before (across New Year and week 53 by the calendar, not by numbers)."""
        return ReportWeek.of_monday(self.dt_from - dt.timedelta(days=7))

    @property
    def next(self) -> "ReportWeek":
        """The week after: the 'this week' of the report's schedule."""
        return ReportWeek.of_monday(self.dt_from + dt.timedelta(days=7))

    def days(self) -> list[dt.date]:
        """Monday .. Sunday."""
        return [self.dt_from + dt.timedelta(days=i) for i in range(7)]

    @property
    def label(self) -> str:
        """`2025-W51 (20251215-20251221)`."""
        return f"{self.year}-W{self.week_no:02d} ({ymd(self.dt_from)}-{ymd(self.dt_to)})"


def add_months(day: dt.date, months: int) -> dt.date:
    """First day of the month `months` away from `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)
