"""A code location with no assets yet (as card and energy are today): only a job."""

import dagster as dg


@dg.op
def ping() -> None:
    """Nothing to do."""


@dg.job
def ping_job() -> None:
    """A job, but no assets."""
    ping()


defs = dg.Definitions(jobs=[ping_job])
