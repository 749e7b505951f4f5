"""Materialization metadata: one set of key names and the helpers that fill them.

Every asset reports what it wrote under the same keys, so the UI's columns and the demo's summary
read alike in every location:

- `dagster/row_count` (`ROW_COUNT`): rows written for the partition (or run);
- `rows_rejected` (`ROWS_REJECTED`): input rows kept aside with a reason, and
  `rejected_by_reason` (`REJECTED_BY_REASON`) their counts by reason;
- `source` (`SOURCE`): which source served the data (a sample source says so);
- `elapsed_s` (`ELAPSED`): seconds the step took.
"""

import time
from collections.abc import Mapping
from typing import Any

import dagster as dg

ROW_COUNT = "dagster/row_count"
ROWS_REJECTED = "rows_rejected"
REJECTED_BY_REASON = "rejected_by_reason"
SOURCE = "source"
ELAPSED = "elapsed_s"


class Stopwatch:
    """Seconds since it was started, rounded for metadata."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since start, to the hundredth."""
        return round(time.perf_counter() - self.started, 2)


def partition_metadata(
    *,
    rows: int | None = None,
    rejected: int | None = None,
    rejected_by_reason: Mapping[str, int] | None = None,
    source: str | None = None,
    elapsed: Stopwatch | float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The standard keys (those given) followed by the asset's own `extra` keys."""
    metadata: dict[str, Any] = {}
    if rows is not None:
        metadata[ROW_COUNT] = int(rows)
    if rejected is not None:
        metadata[ROWS_REJECTED] = int(rejected)
    if rejected_by_reason is not None:
        metadata[REJECTED_BY_REASON] = dg.MetadataValue.json(
            {str(k): int(v) for k, v in rejected_by_reason.items()}
        )
    if source is not None:
        metadata[SOURCE] = source
    if elapsed is not None:
        metadata[ELAPSED] = elapsed.elapsed() if isinstance(elapsed, Stopwatch) else elapsed
    metadata.update(extra)
    return metadata


def md_table(rows: list[Mapping[str, Any]] | Any, empty: str = "_no rows_") -> dg.MetadataValue:
    """A Markdown table of `rows` (a list of mappings, or a pandas DataFrame)."""
    if hasattr(rows, "to_dict"):
        rows = rows.to_dict("records")
    if not rows:
        return dg.MetadataValue.md(empty)
    columns = list(rows[0].keys())
    lines = [
        "| " + " | ".join(map(str, columns)) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
        *("| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows),
    ]
    return dg.MetadataValue.md("\n".join(lines))
