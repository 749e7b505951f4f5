"""Retention of inspig runs by report type: weekly 30 days, monthly 180, quarterly 365.

Every inspig report job tags its runs with `inspig/report_type` (WEEK, MONTH or QUARTER); the
location's run retention job deletes finished runs, with their event logs, by that tag. Runs
without it (job-log retention, ad-hoc materializations from the UI) keep the platform default.
"""

from collections.abc import Mapping

from resources.retention import TagRetention

REPORT_TYPE_TAG = "inspig/report_type"
WEEK, MONTH, QUARTER = "WEEK", "MONTH", "QUARTER"
REPORT_TYPES = (WEEK, MONTH, QUARTER)
DEFAULT_KEEP_DAYS: Mapping[str, int] = {WEEK: 30, MONTH: 180, QUARTER: 365}


def report_type_tags(report_type: str) -> dict[str, str]:
    """The run tag of a report type."""
    if report_type not in REPORT_TYPES:
        raise ValueError(f"report type {report_type!r}: expected one of {', '.join(REPORT_TYPES)}")
    return {REPORT_TYPE_TAG: report_type}


def run_retention_policy(overrides: Mapping[str, int] | None = None) -> TagRetention:
    """Days kept per report type: the defaults, with `overrides` (INSPIG_RUN_RETENTION_DAYS)."""
    keep = dict(DEFAULT_KEEP_DAYS)
    for report_type, days in (overrides or {}).items():
        name = report_type.upper()
        if name not in REPORT_TYPES or days < 0:
            raise ValueError(
                f"INSPIG_RUN_RETENTION_DAYS: {report_type!r}={days!r}; expected "
                f"{', '.join(REPORT_TYPES)} with a number of days >= 0"
            )
        keep[name] = days
    return TagRetention(tag=REPORT_TYPE_TAG, keep_days=keep)
