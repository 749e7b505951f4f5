"""The card checks: names (spelled only here) and their evaluation.

The assets report these checks themselves (`check_specs`), each for its own window: a check of a
2-hour window must judge that window's rows and dead letters, which the asset has at hand.
"""

import datetime as dt

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from card_assets import store
from card_assets.scenario import ALWAYS_BUILT, REQUIRED_KEYS
from resources.metadata import md_table
from resources.warehouse import WarehouseResource

CHECK_ORGS_ACCOUNTED = "missing_orgs_dead_lettered"
CHECK_USERS_COVERED = "every_ai_user_has_row_or_dead_letter"
CHECK_PAGE_KEYS = "pages_have_required_keys"


def orgs_accounted(
    asset_key: dg.AssetKey, missing: list[str], dead_lettered: set[str]
) -> dg.AssetCheckResult:
    """Every org missing from the merge has a dead letter of its stage."""
    unexplained = sorted(set(missing) - dead_lettered)
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=CHECK_ORGS_ACCOUNTED,
        passed=not unexplained,
        metadata={
            "orgs_missing": len(missing),
            "missing_without_dead_letter": ", ".join(unexplained) or "none",
        },
    )


def users_covered(
    warehouse: WarehouseResource, users: pd.DataFrame, window_start: dt.datetime
) -> dg.AssetCheckResult:
    """Every AI user of the window has a row in user_scenario_result or a dead letter."""
    rows = warehouse.read_frame(
        "SELECT user_id FROM user_scenario_result WHERE window_start = :w", {"w": window_start}
    )
    letters = store.dead_letters(warehouse, window_start, "scenario")
    covered = set(rows["user_id"]) | set(letters["item"])
    uncovered = sorted(set(users["user_id"]) - covered)
    return dg.AssetCheckResult(
        check_name=CHECK_USERS_COVERED,
        passed=not uncovered,
        metadata={
            "ai_users": len(users),
            "rows": len(rows),
            "dead_lettered": len(letters),
            "uncovered": ", ".join(uncovered[:50]) or "none",
        },
    )


def _page_condition(page: str, keys: list[str]) -> str:
    column = page.lower()
    present = f"{column} ?& array[{', '.join(repr(k) for k in keys)}]"
    if page in ALWAYS_BUILT:
        return present
    return f"({column} = '{{}}'::jsonb OR {present})"


def page_keys(warehouse: WarehouseResource, window_start: dt.datetime) -> dg.AssetCheckResult:
    """Every stored page of the window has its required keys (a page without data is `{}`)."""
    valid = " AND ".join(_page_condition(p, keys) for p, keys in REQUIRED_KEYS.items())
    bad = warehouse.read_frame(
        sa.text(
            f"SELECT user_id FROM user_scenario_result WHERE window_start = :w AND NOT ({valid}) "
            "ORDER BY user_id"
        ),
        {"w": window_start},
    )
    return dg.AssetCheckResult(
        check_name=CHECK_PAGE_KEYS,
        passed=bad.empty,
        metadata={"users_with_missing_keys": len(bad), "users": md_table(bad.head(50))},
    )
