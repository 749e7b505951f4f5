"""Stage 1 merge: `material_data` and `gscm_data`, the window's extracts of the orgs present."""

import json

import dagster as dg
import pandas as pd

from card_assets import extract, store, t2a
from card_assets.assets.extracts import KINDS
from card_assets.checks import CHECK_ORGS_ACCOUNTED, orgs_accounted
from card_assets.partitions import card_window_partitions
from card_assets.sources import ErpDbResource
from card_assets.window import window_bounds, window_id
from resources.lake import LakeResource
from resources.metadata import Stopwatch, partition_metadata
from resources.policies import STANDARD_RETRY
from resources.warehouse import WarehouseResource

MERGED = {"material": dg.AssetKey("material_data"), "gscm": dg.AssetKey("gscm_data")}


def merge_window(
    lake: LakeResource, kind: str, start: object, orgs: list[str]
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """(merged frame, orgs present, orgs missing): only this window's extract of each org."""
    frames, present, missing = [], [], []
    for org in orgs:
        key = extract.org_key(kind, start, org)
        if lake.exists(key):
            frames.append(lake.read_parquet(key))
            present.append(org)
        else:
            missing.append(org)
    merged = pd.concat(frames, ignore_index=True) if frames else t2a.empty_extract(kind)
    return merged[t2a.COLUMNS[kind]], present, missing


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            MERGED[kind],
            description=f"The window's merged {kind} extracts of every org present (parquet).",
            deps=[KINDS[kind]],
            kinds={"parquet"},
            group_name="card",
        )
        for kind in MERGED
    ],
    check_specs=[dg.AssetCheckSpec(CHECK_ORGS_ACCOUNTED, asset=key) for key in MERGED.values()],
    partitions_def=card_window_partitions,
    can_subset=True,
    retry_policy=STANDARD_RETRY,
)
def window_data(
    context: dg.AssetExecutionContext,
    erp_db: ErpDbResource,
    lake: LakeResource,
    warehouse: WarehouseResource,
):
    """Merge the window's per-org extracts; record which orgs are present and which missing."""
    watch = Stopwatch()
    start, _ = window_bounds(context.partition_key)
    store.ensure_tables(warehouse)
    orgs = erp_db.ai_sales_orgs()["sales_org_cd"].tolist()
    for kind, asset_key in MERGED.items():
        if asset_key not in context.selected_asset_keys:
            continue
        merged, present, missing = merge_window(lake, kind, start, orgs)
        lake.write_parquet(extract.merged_key(kind, start), merged)
        manifest = {"window_id": window_id(start), "present": present, "missing": missing}
        lake.put_bytes(extract.manifest_key(kind, start), json.dumps(manifest).encode())
        letters = set(store.dead_letters(warehouse, start, kind)["item"])
        yield dg.MaterializeResult(
            asset_key=asset_key,
            metadata=partition_metadata(
                rows=len(merged),
                source=lake.uri(extract.merged_key(kind, start)),
                elapsed=watch,
                orgs_present=len(present),
                orgs_missing=len(missing),
                missing_orgs=", ".join(missing) or "none",
            ),
            check_results=[orgs_accounted(asset_key, missing, letters)],
        )
