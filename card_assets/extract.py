"""Stage 1: one T2A extract per sales org, several orgs at once, failures dead-lettered.

Plain logic over the resources' interfaces (no Dagster): the asset hands its work here, and the
benchmark times the same function.
"""

import datetime as dt
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd

from card_assets import window

LAKE_PREFIX = "card"


@dataclass(frozen=True)
class OrgOutcome:
    """What one org's extract of one kind gave: its rows, the HTTP attempts, or the error."""

    kind: str
    sales_org: str
    attempts: int
    frame: pd.DataFrame | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the extract succeeded (possibly with zero rows)."""
        return self.error is None

    def status_row(self) -> dict[str, object]:
        """The org's line in the materialization's status table."""
        return {
            "sales_org": self.sales_org,
            "status": "ok" if self.ok else "dead-lettered",
            "rows": len(self.frame) if self.frame is not None else 0,
            "attempts": self.attempts,
            "error": (self.error or "")[:160].replace("|", "/"),
        }


def window_folder(start: dt.datetime) -> str:
    """The window's part of lake keys, `2026-12-02T1400` (no characters S3 would escape)."""
    return start.strftime("%Y-%m-%dT%H%M")


def org_key(kind: str, start: dt.datetime, sales_org: str) -> str:
    """Lake key of one org's extract in a window."""
    return f"{LAKE_PREFIX}/sales_org_{kind}/{window_folder(start)}/{sales_org}.parquet"


def merged_key(kind: str, start: dt.datetime) -> str:
    """Lake key of the window's merged data of a kind."""
    return f"{LAKE_PREFIX}/{kind}_data/{window_folder(start)}.parquet"


def manifest_key(kind: str, start: dt.datetime) -> str:
    """Lake key of the merge's list of present and missing orgs."""
    return f"{LAKE_PREFIX}/{kind}_data/{window_folder(start)}.orgs.json"


Fetch = Callable[[str, str, str, dt.datetime, str], tuple[pd.DataFrame, int]]


def fetch_orgs(
    fetch: Fetch,
    todo: Mapping[str, pd.DataFrame],
    window_start: dt.datetime,
    partition: str,
    max_workers: int,
) -> list[OrgOutcome]:
    """Fetch every (kind, org) of `todo`, at most `max_workers` calls at once, kinds in one pool.

    `todo` maps a kind to its orgs (sales_org_cd, currency, gmt_offset); `fetch` is
    `T2AResource.fetch`. An org's month placeholders are the window start in the org's local
    time. An org that fails (after the client's own retries) gives an outcome with its error;
    the others are unaffected.
    """

    def one(kind: str, org: str, currency: str, offset: str) -> OrgOutcome:
        attempts = 0
        try:
            local_now = window.local_time(window_start, offset)
            frame, attempts = fetch(kind, org, currency, local_now, partition)
            return OrgOutcome(kind, org, attempts, frame=frame)
        except Exception as exc:  # the org is dead-lettered with its cause
            return OrgOutcome(kind, org, getattr(exc, "attempts", attempts), error=str(exc))

    jobs = [
        (kind, row.sales_org_cd, row.currency, row.gmt_offset)
        for kind, orgs in todo.items()
        for row in orgs.itertuples(index=False)
    ]
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="t2a") as pool:
        return list(pool.map(lambda job: one(*job), jobs))
