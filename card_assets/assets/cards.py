"""Stage 2: `user_scenario_result`, every AI user's seven card pages of the window."""

import datetime as dt
import json

import dagster as dg

from card_assets import extract, scenario, store, window
from card_assets.assets.merge import MERGED
from card_assets.checks import CHECK_PAGE_KEYS, CHECK_USERS_COVERED, page_keys, users_covered
from card_assets.partitions import card_window_partitions
from card_assets.sources import CardOptions, ErpDbResource
from resources.lake import LakeResource
from resources.metadata import Stopwatch, md_table, partition_metadata
from resources.policies import STANDARD_RETRY
from resources.warehouse import WarehouseResource


def load_inputs(
    erp_db: ErpDbResource, lake: LakeResource, start: dt.datetime
) -> scenario.ScenarioInputs:
    """The window's merged extracts from the lake and the ERP's users, orders and issues."""
    frames, present = {}, None
    for kind in MERGED:
        key = extract.merged_key(kind, start)
        if not lake.exists(key):
            raise dg.Failure(
                f"card window {window.window_id(start)}: {kind}_data is not in the lake "
                f"({lake.uri(key)}); materialize {kind}_data of this window first",
                allow_retries=False,
            )
        frames[kind] = lake.read_parquet(key)
        orgs = set(json.loads(lake.get_bytes(extract.manifest_key(kind, start)))["present"])
        present = orgs if present is None else present & orgs
    # Every org's local day lies within a day of the window start (offsets are under 15 h).
    first, _, _ = window.month_starts(start.date() - dt.timedelta(days=1))
    _, _, last = window.month_starts(start.date() + dt.timedelta(days=1))
    return scenario.ScenarioInputs(
        window_start=start,
        users=erp_db.users(),
        accounts=erp_db.user_accounts(),
        groups=erp_db.user_product_groups(),
        material=frames["material"],
        gscm=frames["gscm"],
        orders=erp_db.orders(first, last),
        issues=erp_db.issues(start.date() + dt.timedelta(days=1)),
        present_orgs=frozenset(present or ()),
    )


@dg.asset(
    deps=list(MERGED.values()),
    partitions_def=card_window_partitions,
    kinds={"postgres"},
    group_name="card",
    retry_policy=STANDARD_RETRY,
    check_specs=[
        dg.AssetCheckSpec(CHECK_USERS_COVERED, asset="user_scenario_result"),
        dg.AssetCheckSpec(CHECK_PAGE_KEYS, asset="user_scenario_result"),
    ],
)
def user_scenario_result(
    context: dg.AssetExecutionContext,
    erp_db: ErpDbResource,
    lake: LakeResource,
    warehouse: WarehouseResource,
    card: CardOptions,
) -> dg.MaterializeResult:
    """Each AI user's seven card pages (LAPA00 … OPTR00) of the window, one row per user."""
    watch = Stopwatch()
    start, end = window.window_bounds(context.partition_key)
    store.ensure_tables(warehouse)
    inputs = load_inputs(erp_db, lake, start)
    # Each chunk of pages is assembled while PostgreSQL parses the previous chunk's JSONB.
    pages, failed = scenario.page_chunks(inputs)
    written = store.write_window(warehouse, pages, start, end)
    store.clear(warehouse, start, "scenario")
    store.record_failures(
        warehouse,
        start,
        "scenario",
        [(row.user_id, row.error, 1) for row in failed.itertuples(index=False)],
    )
    expired = store.delete_expired(warehouse, card.retention_days)
    reasons = failed["error"].str.replace(r"^sales org \S+", "sales org", regex=True)
    return dg.MaterializeResult(
        metadata=partition_metadata(
            rows=written,
            rejected=len(failed),
            rejected_by_reason=reasons.value_counts().to_dict(),
            source=erp_db.source_label,
            elapsed=watch,
            window_id=window.window_id(start),
            users=len(inputs.users),
            orgs_present=len(inputs.present_orgs),
            dead_lettered_users=md_table(failed.head(50), empty="_none_"),
            rows_expired=expired,
            retention_days=card.retention_days,
        ),
        check_results=[
            users_covered(warehouse, inputs.users, start),
            page_keys(warehouse, start),
        ],
    )
