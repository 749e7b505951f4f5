"""Each page's content for a hand-built user, with the working shown in the comments."""

import datetime as dt
import json

import pandas as pd
import pytest

from card_assets import store
from card_assets.scenario import (
    REQUIRED_KEYS,
    ScenarioInputs,
    build_pages,
    missing_keys,
    page_chunks,
)
from card_assets.schema import PAGE_COLUMNS
from card_assets.t2a import COLUMNS
from resources.kst import KST
from resources.warehouse import WarehouseResource

# 08:00 KST on 1 December is 18:00 on 30 November at GMT-5: the user's local day and month.
START = dt.datetime(2026, 12, 1, 8, tzinfo=KST)
ACC = "GSCM Account"


def frame(columns: list[str], rows: list[list]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def inputs() -> ScenarioInputs:
    users = frame(
        ["user_id", "user_name", "sales_org_cd", "currency", "gmt_offset"],
        [
            ["U1", "Kim", "SO9", "USD", "-5"],
            ["U2", "Lee", "SO8", "EUR", "+1"],  # SO8's extract failed: not present
            ["U3", "Park", "SO7", "JPY", "east"],  # an offset that is not a number
        ],
    )
    accounts = frame(
        ["user_id", "account_cd", "account_nm"],
        [["U1", "A1", "Alpha"], ["U1", "A2", "Beta"], ["U2", "B1", "Bravo"], ["U3", "C1", "C"]],
    )
    groups = frame(["user_id", "product_group"], [["U1", "REF"], ["U1", "TV"], ["U2", "TV"]])
    gscm = frame(  # extract order: worst first within the org
        COLUMNS["gscm"],
        [
            ["SO9", "A2", 1000, 500, 50.0, 400, 25.0],
            ["SO9", "A9", 9000, 6000, 66.7, 5000, 5.0],  # not U1's account
            ["SO9", "A1", 3000, 2400, 80.0, 2000, -20.0],
            ["SO8", "A1", 7000, 100, 1.4, 100, 0.0],  # A1 in another org: not U1's
        ],
    )
    material = frame(
        COLUMNS["material"],
        [
            ["SO9", "A1", "A1", "REF", "REF-P1", "REF1-M01", 1000, 500, 50.0],
            ["SO9", "A1", "A1", "REF", "REF-P1", "REF1-M02", 1000, 900, 90.0],
            ["SO9", "A1", "A1", "TV", "TV-P1", "TV1-M01", 2000, 1800, 90.0],
            ["SO9", "A1", "A1", "WM", "WM-P1", "WM1-M01", 5000, 100, 2.0],  # WM not authorised
            ["SO9", "A2", "A2", "REF", "REF-P2", "REF2-M01", 4000, 3800, 95.0],
            ["SO9", "A2", "A2", "TV", "TV-P1", "TV1-M01", 1000, 400, 40.0],
        ],
    )
    orders = frame(
        ["account_cd", "product_group", "material", "order_type", "order_date", "amount"],
        [
            ["A1", "REF", "REF1-M01", "billed", dt.date(2026, 11, 10), 100],
            ["A1", "REF", "REF1-M01", "billed", dt.date(2026, 10, 10), 999],  # last month
            ["A1", "TV", "TV1-M01", "open", dt.date(2026, 11, 20), 200],
            ["A1", "TV", "TV1-M01", "open", dt.date(2026, 12, 5), 300],  # next month: upcoming
            ["A2", "TV", "TV1-M01", "blocked", dt.date(2026, 9, 1), 50],  # blocked before Dec
            ["A2", "REF", "REF2-M01", "blocked", dt.date(2026, 12, 15), 70],  # not before Dec
            ["A3", "TV", "TV1-M01", "billed", dt.date(2026, 11, 2), 1000],  # another account
        ],
    )
    issues = frame(
        ["account_cd", "material", "issue_type", "rdd_date"],
        [
            ["A1", "REF1-M01", "cred_block", dt.date(2026, 11, 29)],
            ["A1", "TV1-M01", "del_block", dt.date(2026, 11, 30)],  # due on the local day
            ["A2", "TV1-M01", "incomplete", dt.date(2026, 12, 1)],  # tomorrow at GMT-5
            ["A3", "TV1-M01", "do_delay", dt.date(2026, 11, 1)],  # another account
        ],
    )
    return ScenarioInputs(
        window_start=START,
        users=users,
        accounts=accounts,
        groups=groups,
        material=material,
        gscm=gscm,
        orders=orders,
        issues=issues,
        present_orgs=frozenset({"SO9", "SO7"}),
    )


@pytest.fixture(scope="module")
def built() -> tuple[dict[str, dict], pd.DataFrame]:
    pages, failed = build_pages(inputs())
    (row,) = pages[pages["user_id"] == "U1"].to_dict("records")
    return {
        column.upper(): json.loads(row[column]) for column in row if column != "user_id"
    }, failed


def acc(code: str, name: str, target: float, est: float, ach: float) -> dict:
    return {
        ACC: code,
        "GSCM Account Name": name,
        "Target Plan": target,
        "Est. Sales": est,
        "Ach. vs Target Plan": ach,
    }


def measures(key: str, value: str, target: float, est: float, ach: float) -> dict:
    return {key: value, "Target Plan": target, "Est. Sales": est, "Ach. vs Target Plan": ach}


def test_users_that_cannot_be_built_are_failed_with_their_cause_and_the_others_built(
    built: tuple[dict, pd.DataFrame],
) -> None:
    _, failed = built
    causes = dict(zip(failed["user_id"], failed["error"], strict=True))
    assert set(causes) == {"U2", "U3"}
    assert "sales org SO8 has no T2A data" in causes["U2"]
    assert "sales org SO7" in causes["U3"] and "'east'" in causes["U3"]


def test_lapa00_landing_page(built: tuple[dict, pd.DataFrame]) -> None:
    lapa = built[0]["LAPA00"]
    assert lapa["sender_name"] == "Kim"
    assert lapa["today_date"] == "2026-11-30"  # 08:00 KST on 1 Dec is 18:00 on 30 Nov at GMT-5
    # U1's GSCM rows in SO9: A2 (1000 / 500) and A1 (3000 / 2400); A9 and SO8's A1 are not U1's
    assert lapa["total_target"] == 4000 and lapa["total_est_sales"] == 2900
    assert lapa["total_ach_rate"] == 72.5  # 2900 / 4000 x 100, not 50 + 80 = 130
    assert lapa["total_billing"] == 2400
    # prior-year billing 400 / 1.25 + 2000 / 0.8 = 320 + 2500 = 2820; 2400 / 2820 - 1 = -14.9 %
    assert lapa["total_yoy"] == -14.9
    assert lapa["top5_accounts"] == [
        acc("A2", "Beta", 1000, 500, 50.0),
        acc("A1", "Alpha", 3000, 2400, 80.0),
    ]
    # authorised groups REF and TV (WM excluded): TV 3000 / 2200 = 73.3 %, REF 6000 / 5200 = 86.7 %
    assert lapa["top5_prdgs"] == [
        measures("GSCM P/Group", "TV", 3000, 2200, 73.3),
        measures("GSCM P/Group", "REF", 6000, 5200, 86.7),
    ]
    assert lapa["account_list"] == [
        {"account_cd": "A1", "account_nm": "Alpha"},
        {"account_cd": "A2", "account_nm": "Beta"},
    ]
    # issues of A1/A2 due by 30 Nov: A1 cred_block (29 Nov), A1 del_block (30 Nov); A2's
    # incomplete is due 1 Dec (tomorrow at GMT-5), A3 is not U1's account
    assert (lapa["cnt_cred_block"], lapa["cnt_del_block"], lapa["cnt_incomplete"]) == (1, 1, 0)
    assert (lapa["cnt_unconf_delay"], lapa["cnt_do_delay"]) == (0, 0)


def test_sose00_and_sode00_sold_to_pages(built: tuple[dict, pd.DataFrame]) -> None:
    pages = built[0]
    assert pages["SOSE00"] == {"top5_accounts": pages["LAPA00"]["top5_accounts"]}
    sode = pages["SODE00"]
    assert sode["CUR"] == "USD"
    # November (local month): A2 has only the blocked order of 1 Sep (50); its 15 Dec blocked
    # order is after next month's start
    assert sode["top1_account_order"] == {
        "billed_order": 0.0,
        "open_order": 0.0,
        "blocked_order": 50.0,
        "upcoming_order": 0.0,
    }
    # A1: billed 100 (10 Nov; 10 Oct is last month), open 200 (20 Nov), upcoming 300 (5 Dec)
    assert sode["top2_account_order"] == {
        "billed_order": 100.0,
        "open_order": 200.0,
        "blocked_order": 0.0,
        "upcoming_order": 300.0,
    }
    # A2's groups: REF 3800 / 4000 = 95 %, TV 400 / 1000 = 40 % -> TV, its model TV1-M01
    assert sode["top1_account_top1_prdg"] == [measures("GSCM P/Group", "TV", 1000, 400, 40.0)]
    assert sode["top1_account_top1_prdg_top5_model"] == [
        measures("Material", "TV1-M01", 1000, 400, 40.0)
    ]
    # A1's groups: REF 1400 / 2000 = 70 %, TV 1800 / 2000 = 90 % (WM unauthorised) -> REF
    assert sode["top2_account_top1_prdg"] == [measures("GSCM P/Group", "REF", 2000, 1400, 70.0)]
    assert sode["top2_account_top1_prdg_top5_model"] == [
        measures("Material", "REF1-M01", 1000, 500, 50.0),
        measures("Material", "REF1-M02", 1000, 900, 90.0),
    ]
    assert "top3_account_order" not in sode  # U1 has two accounts


def test_pgse00_and_pgde00_product_group_pages(built: tuple[dict, pd.DataFrame]) -> None:
    pages = built[0]
    assert pages["PGSE00"] == {"top5_prdgs": pages["LAPA00"]["top5_prdgs"]}
    pgde = pages["PGDE00"]
    # TV over A1 and A2: open 200 (A1, 20 Nov), blocked 50 (A2, 1 Sep), upcoming 300 (A1, 5 Dec);
    # A3's billed 1000 is not U1's account
    assert pgde["top1_prdg_order"] == {
        "billed_order": 0.0,
        "open_order": 200.0,
        "blocked_order": 50.0,
        "upcoming_order": 300.0,
    }
    assert pgde["top1_prdg_top1_prd"] == [measures("GSCM Product", "TV-P1", 3000, 2200, 73.3)]
    assert pgde["top1_prdg_top1_prd_top5_model"] == [
        measures("Material", "TV1-M01", 3000, 2200, 73.3)
    ]
    assert pgde["top1_prdg_top5_account"] == [
        acc("A2", "Beta", 1000, 400, 40.0),
        acc("A1", "Alpha", 2000, 1800, 90.0),
    ]
    # REF: REF-P1 (A1: 2000 / 1400 = 70 %) before REF-P2 (A2: 4000 / 3800 = 95 %)
    assert pgde["top2_prdg_order"]["billed_order"] == 100.0
    assert pgde["top2_prdg_order"]["blocked_order"] == 0.0  # the 15 Dec block is next month's
    assert pgde["top2_prdg_top1_prd"] == [measures("GSCM Product", "REF-P1", 2000, 1400, 70.0)]
    assert [m["Material"] for m in pgde["top2_prdg_top1_prd_top5_model"]] == [
        "REF1-M01",
        "REF1-M02",
    ]
    assert [a[ACC] for a in pgde["top2_prdg_top5_account"]] == ["A1", "A2"]


def test_mode00_model_orders_use_the_same_month_window(built: tuple[dict, pd.DataFrame]) -> None:
    mode = built[0]["MODE00"]
    assert mode["CUR"] == "USD"
    (tv,) = mode["top1_account_top1_prdg_top5_model_order"]
    # TV1-M01 over every account: billed 1000 (A3, 2 Nov), open 200, blocked 50, upcoming 300
    # (5 Dec: next month, the same window as for accounts); issues due by 30 Nov: A1 del_block
    # and A3 do_delay (A2's incomplete is due 1 Dec)
    assert tv == {
        "Material": "TV1-M01",
        "billed_order": 1000.0,
        "open_order": 200.0,
        "blocked_order": 50.0,
        "upcoming_order": 300.0,
        "cnt_cred_block": 0,
        "cnt_del_block": 1,
        "cnt_unconf_delay": 0,
        "cnt_do_delay": 1,
        "cnt_incomplete": 0,
    }
    ref = mode["top2_account_top1_prdg_top5_model_order"]
    assert [(m["Material"], m["billed_order"], m["cnt_cred_block"]) for m in ref] == [
        ("REF1-M01", 100.0, 1),
        ("REF1-M02", 0.0, 0),
    ]
    assert [m["Material"] for m in mode["top1_prdg_top1_prd_top5_model_order"]] == ["TV1-M01"]


def test_optr00_order_totals_are_computed(built: tuple[dict, pd.DataFrame]) -> None:
    optr = built[0]["OPTR00"]
    # A1 + A2 in November: billed 100, open 200, blocked 50, upcoming 300
    assert optr == {
        "total_est_sales": 2900.0,
        "total_billed_order": 100.0,
        "total_open_order": 200.0,
        "total_blocked_order": 50.0,
        "total_upcoming_order": 300.0,
        "cnt_cred_block": 1,
        "cnt_del_block": 1,
        "cnt_unconf_delay": 0,
        "cnt_do_delay": 0,
        "cnt_incomplete": 0,
        "CUR": "USD",
    }


def test_a_user_without_rows_gets_empty_pages_and_a_full_landing_page() -> None:
    data = inputs()
    lonely = data.users.iloc[[0]].assign(user_id="U9")
    data = ScenarioInputs(**{**data.__dict__, "users": pd.concat([data.users, lonely])})
    pages, _ = build_pages(data)
    (row,) = pages[pages["user_id"] == "U9"].to_dict("records")
    built = {c.upper(): json.loads(row[c]) for c in row if c != "user_id"}
    assert built["SOSE00"] == {} and built["PGDE00"] == {} and built["MODE00"] == {}
    assert built["LAPA00"]["top5_accounts"] == [] and built["LAPA00"]["total_ach_rate"] is None
    assert built["OPTR00"]["total_billed_order"] == 0.0
    assert missing_keys(built) == []
    assert missing_keys({**built, "LAPA00": {"sender_name": "x"}})[:2] == [
        "LAPA00.today_date",
        "LAPA00.total_target",
    ]
    assert set(REQUIRED_KEYS) == set(built)


def test_pages_written_in_chunks_are_every_user_s_pages(warehouse: WarehouseResource) -> None:
    data = inputs()
    lonely = data.users.iloc[[0]].assign(user_id="U9")
    data = ScenarioInputs(**{**data.__dict__, "users": pd.concat([data.users, lonely])})
    whole, _ = build_pages(data)
    chunks, failed = page_chunks(data, chunk_users=1)
    assert set(failed["user_id"]) == {"U2", "U3"}
    store.ensure_tables(warehouse)
    end = START + dt.timedelta(hours=2)
    # U1 and U9 each in a chunk of their own, both in the one replace of the window
    assert store.write_window(warehouse, chunks, START, end) == 2
    stored = warehouse.read_frame(
        f"SELECT user_id, {', '.join(PAGE_COLUMNS)} FROM user_scenario_result "
        "WHERE window_start = :w ORDER BY user_id",
        {"w": START},
    )
    assert stored["user_id"].tolist() == ["U1", "U9"]
    for page in PAGE_COLUMNS:
        assert stored[page].tolist() == [json.loads(text) for text in whole[page]]
