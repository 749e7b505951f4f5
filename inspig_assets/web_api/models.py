"""Request validation and answer bodies of the web API (the original's field names)."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

API_VERSION = "1.0.0"


class DayGb(StrEnum):
    """Report types the web system asks for; only WEEK is built."""

    WEEK = "WEEK"
    MONTH = "MONTH"
    QUARTER = "QUARTER"


class RunFarmRequest(BaseModel):
    """Body of POST /api/etl/run-farm (camelCase, as the web system sends it)."""

    model_config = ConfigDict(extra="ignore")

    farmNo: int = Field(ge=1, description="TA_FARM.FARM_NO")
    dayGb: DayGb = DayGb.WEEK
    insDate: str | None = Field(
        default=None, pattern=r"^\d{8}$", description="YYYYMMDD; default today (KST)"
    )


def run_farm_answer(
    request: RunFarmRequest, ins_date: str, status: str, **fields: Any
) -> dict[str, Any]:
    """A run-farm answer: every field of the original, unknown ones null."""
    answer: dict[str, Any] = {
        "status": status,
        "farmNo": request.farmNo,
        "dayGb": request.dayGb.value,
        "masterSeq": None,
        "shareToken": None,
        "year": None,
        "weekNo": None,
        "monthNo": None,
        "quarterNo": None,
        "insDate": ins_date,
        "dtFrom": None,
        "dtTo": None,
        "message": None,
        "error": None,
    }
    answer.update(fields)
    return answer
