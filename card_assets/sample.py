"""Deterministic sample data of the card sources: the ERP tables and T2A's answers.

Both are generated from the same per-org rules (seeded by org code, and by month for T2A), so the
accounts and product groups of the sample users are those the sample T2A answers about.
"""

import datetime as dt
import zlib
from typing import Any

import numpy as np
import pandas as pd

from card_assets import t2a

PRODUCT_GROUPS = ["MNT", "NPC", "REF", "WM", "TV", "AC"]
ORG_PROFILES = [  # currency, GMT offset
    ("KRW", "+9"),
    ("USD", "-5"),
    ("EUR", "+1"),
    ("INR", "+5.5"),
    ("BRL", "-3"),
    ("JPY", "+9"),
    ("GBP", "0"),
    ("AUD", "+10"),
]
ACCOUNTS_PER_ORG = 30
ISSUE_TYPES = ["cred_block", "del_block", "unconf_delay", "do_delay", "incomplete"]
ORDER_TYPES = ["billed", "open", "blocked"]


def _rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32("|".join(map(str, parts)).encode()))


def org_codes(count: int) -> list[str]:
    """Codes of the first `count` sample sales orgs."""
    return [f"SO{n:03d}" for n in range(1, count + 1)]


def org_profile(org: str) -> tuple[str, str]:
    """(currency, GMT offset) of a sample org."""
    return ORG_PROFILES[int(org[2:]) % len(ORG_PROFILES)]


def org_accounts(org: str) -> list[tuple[str, str]]:
    """(account code, name) of a sample org's sold-to accounts."""
    base = int(org[2:]) * 1000
    return [(str(base + n), f"{org} Retail {n:02d}") for n in range(1, ACCOUNTS_PER_ORG + 1)]


def account_portfolio(org: str, account: str) -> list[tuple[str, str, str]]:
    """(product group, product, material) an account buys: four groups, 2 products, 2-3 models."""
    rng = _rng("portfolio", org, account)
    groups = rng.choice(PRODUCT_GROUPS, size=4, replace=False)
    items = []
    for group in sorted(groups):
        for p in (1, 2):
            for m in range(1, int(rng.integers(2, 4)) + 1):
                items.append((str(group), f"{group}-P{p}", f"{group}{p}-M{m:02d}"))
    return items


def _measures(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    target = np.round(rng.uniform(1_000, 50_000, size), 0)
    target[rng.random(size) < 0.05] = 0.0
    est = np.round(target * rng.uniform(0.4, 1.3, size), 0)
    est[target == 0] = np.round(rng.uniform(0, 5_000, int((target == 0).sum())), 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ach = np.where(target > 0, np.round(est / target * 100, 1), 0.0)
    return target, est, ach


def t2a_answer(kind: str, org: str, period: str) -> tuple[list[str], list[list[Any]]]:
    """The sample T2A rows (unfiltered, unsorted) of one org and month `YYYYMM`."""
    rng = _rng(kind, org, period)
    if kind == "material":
        items = [
            (acc, *item) for acc, _ in org_accounts(org) for item in account_portfolio(org, acc)
        ]
        target, est, ach = _measures(rng, len(items))
        headers = t2a.COLUMNS["material"][1:]
        rows = [
            [acc, acc, group, product, material, target[i], est[i], ach[i]]
            for i, (acc, group, product, material) in enumerate(items)
        ]
        return headers, rows
    accounts = [acc for acc, _ in org_accounts(org)]
    target, est, ach = _measures(rng, len(accounts))
    billing = np.round(est * rng.uniform(0.5, 1.0, len(accounts)), 0)
    growth = np.round(rng.uniform(-30, 40, len(accounts)), 1)
    headers = t2a.COLUMNS["gscm"][1:]
    rows = [
        [acc, target[i], est[i], ach[i], billing[i], growth[i]] for i, acc in enumerate(accounts)
    ]
    return headers, rows


def t2a_body_for_query(query: dict) -> str:
    """The sample source's answer to a filled T2A request (as a T2A server would send it)."""
    kind = {"SALES_ORG": "material", "SALES_TOTAL": "gscm"}[query["query"]]
    filters = query["filters"]
    headers, rows = t2a_answer(kind, filters["Sales Org"][0], filters["Period"])
    return t2a.longform_body(headers, rows)


def erp_frames(orgs: int, users: int, around: dt.date) -> dict[str, pd.DataFrame]:
    """The sample ERP tables: orgs, users and their accounts and groups, orders, issues.

    Orders and issues are dated within three months either side of `around`.
    """
    codes = org_codes(orgs)
    org_rows = [
        {
            "sales_org_cd": c,
            "ai_use_yn": "Y",
            "currency": org_profile(c)[0],
            "gmt_offset": org_profile(c)[1],
        }
        for c in codes
    ]
    user_rows, account_rows, group_rows = [], [], []
    for n in range(users):
        org = codes[n % len(codes)]
        user_id = f"U{n + 1:05d}"
        rng = _rng("user", user_id)
        user_rows.append(
            {
                "user_id": user_id,
                "user_name": f"Sales Rep {n + 1}",
                "sales_org_cd": org,
                "noti_yn": "N" if n % 17 == 16 else "Y",
            }
        )
        accounts = org_accounts(org)
        for i in sorted(rng.choice(len(accounts), size=int(rng.integers(3, 7)), replace=False)):
            account_rows.append(
                {"user_id": user_id, "account_cd": accounts[i][0], "account_nm": accounts[i][1]}
            )
        for group in sorted(
            rng.choice(PRODUCT_GROUPS, size=int(rng.integers(3, 6)), replace=False)
        ):
            group_rows.append({"user_id": user_id, "product_group": str(group)})
    order_rows, issue_rows = [], []
    for org in codes:
        for acc, _ in org_accounts(org):
            rng = _rng("orders", acc)
            portfolio = account_portfolio(org, acc)
            for k in range(12):
                group, _, material = portfolio[int(rng.integers(len(portfolio)))]
                order_rows.append(
                    {
                        "order_no": f"{acc}-{k:02d}",
                        "account_cd": acc,
                        "product_group": group,
                        "material": material,
                        "order_type": ORDER_TYPES[int(rng.integers(3))],
                        "order_date": around + dt.timedelta(days=int(rng.integers(-90, 91))),
                        "amount": float(np.round(rng.uniform(100, 20_000), 0)),
                    }
                )
            for k in range(int(rng.integers(0, 4))):
                _, _, material = portfolio[int(rng.integers(len(portfolio)))]
                issue_rows.append(
                    {
                        "order_no": f"{acc}-I{k}",
                        "account_cd": acc,
                        "material": material,
                        "issue_type": ISSUE_TYPES[int(rng.integers(5))],
                        "rdd_date": around + dt.timedelta(days=int(rng.integers(-30, 31))),
                    }
                )
    return {
        "sales_orgs": pd.DataFrame(org_rows),
        "ai_users": pd.DataFrame(user_rows),
        "user_accounts": pd.DataFrame(account_rows),
        "user_product_groups": pd.DataFrame(group_rows),
        "orders": pd.DataFrame(order_rows),
        "order_issues": pd.DataFrame(issue_rows),
    }
