"""Jobs (`JOBS`): the window's whole pipeline, and the replay of a window's dead letters."""

import dagster as dg

from card_assets.assets.cards import user_scenario_result
from card_assets.assets.extracts import sales_org_extracts
from card_assets.assets.merge import window_data

CARD_ASSETS = dg.AssetSelection.assets(sales_org_extracts, window_data, user_scenario_result)

card_window_job = dg.define_asset_job(
    "card_window_job",
    selection=CARD_ASSETS,
    description="One 2-hour window: every org's T2A extracts, the merge, every user's pages.",
)
card_dead_letter_replay_job = dg.define_asset_job(
    "card_dead_letter_replay_job",
    selection=CARD_ASSETS,
    config={"ops": {"sales_org_extracts": {"config": {"only_dead_letters": True}}}},
    description="Re-fetch a window's dead-lettered orgs (clearing each that succeeds), then "
    "merge and rebuild the window's pages (clearing the users that now succeed).",
)

JOBS = [card_window_job, card_dead_letter_replay_job]
