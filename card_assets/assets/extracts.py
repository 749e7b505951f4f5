"""Stage 1 assets: `sales_org_material` and `sales_org_gscm`, one T2A extract per org per window."""

import dagster as dg

from card_assets import extract, store
from card_assets.partitions import card_window_partitions
from card_assets.sources import CardOptions, ErpDbResource, T2AResource
from card_assets.window import window_bounds, window_id
from resources.lake import LakeResource
from resources.metadata import Stopwatch, md_table, partition_metadata
from resources.policies import STANDARD_RETRY
from resources.warehouse import WarehouseResource

KINDS = {"material": dg.AssetKey("sales_org_material"), "gscm": dg.AssetKey("sales_org_gscm")}


class ExtractConfig(dg.Config):
    """`only_dead_letters`: fetch only the window's dead-lettered orgs (the replay job sets it)."""

    only_dead_letters: bool = False


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            KINDS["material"],
            description="T2A SALES_ORG extract (materials) of every AI sales org, per window.",
            kinds={"api", "parquet"},
            group_name="card",
        ),
        dg.AssetSpec(
            KINDS["gscm"],
            description="T2A SALES_TOTAL extract (accounts) of every AI sales org, per window.",
            kinds={"api", "parquet"},
            group_name="card",
        ),
    ],
    partitions_def=card_window_partitions,
    can_subset=True,
    retry_policy=STANDARD_RETRY,
)
def sales_org_extracts(
    context: dg.AssetExecutionContext,
    config: ExtractConfig,
    t2a: T2AResource,
    erp_db: ErpDbResource,
    lake: LakeResource,
    warehouse: WarehouseResource,
    card: CardOptions,
):
    """Fetch each org's extracts, `MAX_WORKERS_SALES` orgs at once; dead-letter the failures."""
    watch = Stopwatch()
    start, _ = window_bounds(context.partition_key)
    store.ensure_tables(warehouse)
    orgs = erp_db.ai_sales_orgs()
    kinds = [kind for kind, key in KINDS.items() if key in context.selected_asset_keys]
    todo = {}
    for kind in kinds:
        if config.only_dead_letters:
            letters = store.dead_letters(warehouse, start, kind)
            todo[kind] = orgs[orgs["sales_org_cd"].isin(set(letters["item"]))]
        else:
            store.clear(warehouse, start, kind)
            todo[kind] = orgs
    fetched = extract.fetch_orgs(
        t2a.fetch, todo, start, context.partition_key, card.max_workers_sales
    )
    for kind in kinds:
        outcomes = [o for o in fetched if o.kind == kind]
        failed = [o for o in outcomes if not o.ok]
        for outcome in outcomes:
            key = extract.org_key(kind, start, outcome.sales_org)
            if outcome.ok:
                lake.write_parquet(key, outcome.frame)
            elif lake.exists(key):  # a failed org leaves nothing to be merged
                lake.delete_prefix(key)
        store.record_failures(
            warehouse, start, kind, [(o.sales_org, o.error or "", o.attempts) for o in failed]
        )
        store.clear(warehouse, start, kind, [o.sales_org for o in outcomes if o.ok])
        for outcome in failed:
            context.log.warning(f"dead-lettered: {outcome.error}")
        yield dg.MaterializeResult(
            asset_key=KINDS[kind],
            metadata=partition_metadata(
                rows=sum(len(o.frame) for o in outcomes if o.ok),
                rejected=len(failed),
                rejected_by_reason={"dead_lettered_orgs": len(failed)},
                source=t2a.source_label,
                elapsed=watch,
                window_id=window_id(start),
                mode="replay of dead letters" if config.only_dead_letters else "all AI orgs",
                orgs_fetched=len(outcomes),
                orgs_ok=len(outcomes) - len(failed),
                orgs_dead_lettered=len(failed),
                org_status=md_table([o.status_row() for o in outcomes], empty="_no org fetched_"),
            ),
        )
