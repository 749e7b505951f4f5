"""Asia/Seoul time: every partition, schedule and business date of the platform is KST."""

import datetime as dt
from zoneinfo import ZoneInfo

KST_NAME = "Asia/Seoul"
KST = ZoneInfo(KST_NAME)


def now_kst() -> dt.datetime:
    """The current time in Asia/Seoul (timezone-aware)."""
    return dt.datetime.now(KST)


def today_kst() -> dt.date:
    """Today's date in Asia/Seoul."""
    return now_kst().date()


def as_kst(moment: dt.datetime) -> dt.datetime:
    """`moment` in Asia/Seoul; a naive value is taken to be KST already."""
    return moment.replace(tzinfo=KST) if moment.tzinfo is None else moment.astimezone(KST)
