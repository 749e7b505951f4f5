"""What every processor shares: its result, the row builders, the previous week's plan."""

from dataclasses import dataclass, field
from typing import Any

from inspig_assets import planner
from inspig_assets.model import (
    FarmData,
    RunContext,
    Sow,
)

SubRow = dict[str, Any]


@dataclass
class ProcessorResult:
    """Rows and header columns produced by one processor."""

    rows: list[SubRow] = field(default_factory=list)
    week: dict[str, Any] = field(default_factory=dict)


Result = ProcessorResult
Done = dict[str, ProcessorResult]


def sub(gubun: str, sort_no: int = 1, sub_gubun: str = "-", **values: Any) -> SubRow:
    """A TS_INS_WEEK_SUB row; omitted numbers take the table default 0, strings NULL."""
    return {"gubun": gubun, "sub_gubun": sub_gubun, "sort_no": sort_no, **values}


def slots(prefix: str, values: list[Any], start: int = 1) -> dict[str, Any]:
    """`{prefix_1: v1, prefix_2: v2, …}`."""
    return {f"{prefix}_{i}": v for i, v in enumerate(values, start=start)}


# -- planned counts of the previous week ---------------------------------------------------------
def previous_schedule(farm: FarmData) -> dict[str, Any] | None:
    """The SCHEDULE summary row of the farm's previous report, if it has one."""
    return farm.prev.schedule if farm.prev is not None else None


def prev_hint(farm: FarmData, column: str) -> str | None:
    """A column of the previous report's SCHEDULE/HELP row (how its plan was made), if any."""
    if farm.prev is None or farm.prev.help is None:
        return None
    return farm.prev.help.get(column)


def last_week_plan(
    farm: FarmData, ctx: RunContext, job: str, cfg: dict[str, float]
) -> planner.Plan:
    """What the schedule processor would have planned for the report week itself."""
    return planner.plan_job(farm, job, ctx.week, ctx.week.previous.dt_to.toordinal(), cfg)


def sow_of(farm: FarmData, pig_no: int) -> Sow | None:
    """The sow `pig_no` of `farm`."""
    return next((s for s in farm.sows if s.pig_no == pig_no), None)
