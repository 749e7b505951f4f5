"""The 2-hour windows (KST, even hours), their ids, and local time from a sales org's GMT offset.

A window is keyed by its start (`2026-12-02-14:00`); its id in the original system's format is
`2026-12-02T14:00+09:00..2026-12-02T16:00+09:00`. Month placeholders and local dates are taken
at the window's start in the org's own time, so a window computes the same data whenever it runs.
"""

import datetime as dt
import re

from resources.kst import KST, as_kst

KEY_FORMAT = "%Y-%m-%d-%H:%M"
WINDOW = dt.timedelta(hours=2)
_OFFSET = re.compile(r"^\s*(?:GMT|UTC)?\s*([+-]?)(\d{1,2})(?:([.:])(\d{1,2}))?\s*$", re.IGNORECASE)


def floor_to_window(moment: dt.datetime) -> dt.datetime:
    """The start of the 2-hour window holding `moment` (KST, even hour); naive means KST."""
    local = as_kst(moment)
    return local.replace(hour=local.hour // 2 * 2, minute=0, second=0, microsecond=0)


def window_key(moment: dt.datetime) -> str:
    """Partition key of the window holding `moment`: its KST start, `YYYY-MM-DD-HH:MM`."""
    return floor_to_window(moment).strftime(KEY_FORMAT)


def window_bounds(key: str) -> tuple[dt.datetime, dt.datetime]:
    """(start, end) of the window `key`, timezone-aware KST; a malformed key is refused."""
    try:
        start = dt.datetime.strptime(key, KEY_FORMAT).replace(tzinfo=KST)
    except ValueError:
        raise ValueError(f"card window key {key!r} is not YYYY-MM-DD-HH:MM") from None
    if start.hour % 2 or start.minute:
        raise ValueError(f"card window key {key!r} does not start at an even hour")
    return start, start + WINDOW


def window_id(start: dt.datetime) -> str:
    """The id of the window holding `start`: `2025-10-07T14:00+09:00..2025-10-07T16:00+09:00`."""
    start = floor_to_window(start)
    end = start + WINDOW
    return f"{start.isoformat(timespec='minutes')}..{end.isoformat(timespec='minutes')}"


def parse_offset(text: object) -> dt.timezone:
    """A fixed timezone from an ERP GMT offset such as `-9`, `+5.5`, `+05:30` or `GMT+9`."""
    match = _OFFSET.match(str(text)) if text is not None else None
    if not match:
        raise ValueError(f"GMT offset {text!r} is not a number of hours like '+9' or '-5.5'")
    sign, hours, separator, rest = match.groups()
    minutes = 0
    if rest:
        minutes = int(rest) if separator == ":" else round(float(f"0.{rest}") * 60)
    delta = dt.timedelta(hours=int(hours), minutes=minutes)
    if delta > dt.timedelta(hours=14) or minutes >= 60:
        raise ValueError(f"GMT offset {text!r} is outside -14..+14 hours")
    return dt.timezone(-delta if sign == "-" else delta)


def local_time(moment: dt.datetime, offset: object) -> dt.datetime:
    """`moment` (timezone-aware) in the org's local time given by its GMT offset."""
    if moment.tzinfo is None:
        raise ValueError("local_time needs a timezone-aware moment")
    return moment.astimezone(parse_offset(offset))


def month_starts(day: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """First day of `day`'s month, of the next month and of the month after that."""
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    after = (following + dt.timedelta(days=32)).replace(day=1)
    return first, following, after
