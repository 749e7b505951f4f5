"""The set-based scenario engine: every user's seven card pages of a window in one pass.

Plain logic (no Dagster). The frames of the window (merged Material and GSCM extracts, the ERP's
users, accounts, product groups, orders and issues) are joined and grouped once for all users;
only the final JSON of each user is assembled per user. `build_pages` of a one-user
`ScenarioInputs` is the same logic for a single user (the benchmark's baseline).

Rules (the original's, with its errors corrected):
- a user sees the GSCM and Material rows of their own sales org and sold-to accounts, Material
  rows only for their authorised product groups;
- `top5_accounts` are the user's first five GSCM rows in extract order (worst achievement first);
  every other "top" list groups rows, sums Target Plan and Est. Sales, and ranks by achievement
  ascending, target descending, estimated sales ascending;
- every achievement rate is a ratio, Est. Sales / Target Plan x 100 (None without a target), never
  a sum of percentages; `total_yoy` is the growth of the summed billing over the summed prior-year
  billing implied by each row's Growth(%) Y-1;
- dates are the window start in the org's local time (its GMT offset, timezone-aware): orders of
  the local month are billed / open, blocked ones are those dated before next month, upcoming ones
  are open orders of next month (the same month window for accounts, product groups and
  materials); an issue counts when its requested delivery date is on or before the local day;
- material order figures and issue counts are over all accounts (as the original's per-model
  lookups); OPTR00's order totals are over all of the user's accounts.
"""

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import orjson
import pandas as pd

from card_assets import window
from card_assets.schema import PAGES
from card_assets.t2a import (
    ACCOUNT,
    ACH,
    BILLING,
    EST,
    GROWTH,
    MATERIAL,
    ORG,
    PGROUP,
    PRODUCT,
    TARGET,
)

NAME = "GSCM Account Name"
ORDER_COLUMNS = ["billed_order", "open_order", "blocked_order", "upcoming_order"]
ISSUE_COLUMNS = [
    "cnt_cred_block",
    "cnt_del_block",
    "cnt_unconf_delay",
    "cnt_do_delay",
    "cnt_incomplete",
]
TOP = 5
# Users per page chunk of `page_chunks`: a chunk's rows are sent to PostgreSQL (which parses their
# JSONB) while the next chunk is assembled.
PAGE_CHUNK_USERS = 500
# Keys every built page must hold (a page without data is `{}`, except LAPA00 and OPTR00).
REQUIRED_KEYS: dict[str, list[str]] = {
    "LAPA00": [
        "sender_name", "today_date", "total_target", "total_est_sales", "total_ach_rate",
        "total_billing", "total_yoy", "top5_accounts", "top5_prdgs", "account_list",
        *ISSUE_COLUMNS,
    ],
    "SOSE00": ["top5_accounts"],
    "SODE00": ["top5_accounts", "CUR"],
    "PGSE00": ["top5_prdgs"],
    "PGDE00": ["top5_prdgs", "CUR"],
    "MODE00": ["CUR"],
    "OPTR00": [
        "total_est_sales", "total_billed_order", "total_open_order", "total_blocked_order",
        "total_upcoming_order", *ISSUE_COLUMNS, "CUR",
    ],
}  # fmt: skip
ALWAYS_BUILT = ("LAPA00", "OPTR00")


@dataclass(frozen=True)
class ScenarioInputs:
    """The window's data, as frames.

    users (user_id, user_name, sales_org_cd, currency, gmt_offset), their accounts (user_id,
    account_cd, account_nm) and product groups (user_id, product_group), the merged extracts,
    orders (account_cd, product_group, material, order_type, order_date, amount) and issues
    (account_cd, material, issue_type, rdd_date).
    """

    window_start: dt.datetime
    users: pd.DataFrame
    accounts: pd.DataFrame
    groups: pd.DataFrame
    material: pd.DataFrame
    gscm: pd.DataFrame
    orders: pd.DataFrame
    issues: pd.DataFrame
    present_orgs: frozenset[str] = field(default_factory=frozenset)

    def for_users(self, user_ids: Iterable[str]) -> "ScenarioInputs":
        """The same window restricted to some users (the other frames are left whole)."""
        ids = set(user_ids)
        return replace(
            self,
            users=self.users[self.users["user_id"].isin(ids)],
            accounts=self.accounts[self.accounts["user_id"].isin(ids)],
            groups=self.groups[self.groups["user_id"].isin(ids)],
        )


def ratio(est: Any, target: Any) -> Any:
    """Est. Sales / Target Plan x 100, rounded to 0.1; NaN where there is no target."""
    est, target = np.asarray(est, dtype=float), np.asarray(target, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.round(np.where(target != 0, est / target * 100, np.nan), 1)


def ranked(rows: pd.DataFrame, keys: list[str], column: str, n: int) -> pd.DataFrame:
    """Per `keys`, the `n` worst `column` groups (sums of target and sales, their ratio), `rank`."""
    if rows.empty:
        return pd.DataFrame(columns=[*keys, column, TARGET, EST, ACH, "rank"])
    grouped = rows.groupby([*keys, column], sort=False, as_index=False)[[TARGET, EST]].sum()
    grouped[ACH] = ratio(grouped[EST], grouped[TARGET])
    grouped = grouped.sort_values(
        [*keys, ACH, TARGET, EST],
        ascending=[True] * len(keys) + [True, False, True],
        na_position="last",
        kind="mergesort",
    )
    grouped["rank"] = grouped.groupby(keys, sort=False).cumcount() + 1
    return grouped[grouped["rank"] <= n].reset_index(drop=True)


def _column(series: pd.Series) -> list[Any]:
    values = series.tolist()  # Python scalars
    if series.dtype.kind == "f" and series.isna().any():
        return [None if v != v else v for v in values]
    return values


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """Rows of `columns` as dicts of Python scalars (NaN as None, which JSON can hold)."""
    values = [_column(frame[c]) for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)]


def _grouped(frame: pd.DataFrame, keys: list[str], columns: list[str]) -> dict[Any, list[dict]]:
    """Records of `columns` bucketed by the `keys` values (a tuple when several), rank order."""
    if frame.empty:
        return {}
    order = [*keys, "rank"] if "rank" in frame else keys
    frame = frame.sort_values(order, kind="mergesort")
    records = _records(frame, columns)
    codes = frame.groupby(keys, sort=False).ngroup().to_numpy()
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)]
    firsts = frame.iloc[starts]
    labels = (
        firsts[keys[0]].tolist()
        if len(keys) == 1
        else list(zip(*(firsts[k].tolist() for k in keys), strict=True))
    )
    return {
        label: records[s:e]
        for label, s, e in zip(labels, starts.tolist(), ends.tolist(), strict=True)
    }


def validate_users(inputs: ScenarioInputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(users that can be built, with their local dates; failures: user_id, error)."""
    users = inputs.users.drop_duplicates("user_id").reset_index(drop=True)
    errors: list[str | None] = []
    local_days: list[dt.date | None] = []
    for org, currency, offset in zip(
        users["sales_org_cd"], users["currency"], users["gmt_offset"], strict=True
    ):
        error, day = None, None
        if org not in inputs.present_orgs:
            error = f"sales org {org} has no T2A data in this window (its extract failed)"
        elif not isinstance(currency, str) or not currency.strip():
            error = f"sales org {org} has no currency in the ERP"
        else:
            try:
                day = window.local_time(inputs.window_start, offset).date()
            except ValueError as exc:
                error = f"sales org {org}: {exc}"
        errors.append(error)
        local_days.append(day)
    users["error"] = errors
    users["local_date"] = pd.to_datetime(pd.Series(local_days, dtype=object))
    failed = users[users["error"].notna()][["user_id", "error"]].reset_index(drop=True)
    good = users[users["error"].isna()].drop(columns="error").reset_index(drop=True)
    months = [window.month_starts(d.date()) for d in good["local_date"]]
    for i, name in enumerate(("month_start", "next_month", "after_next")):
        good[name] = pd.to_datetime(pd.Series([m[i] for m in months], dtype=object))
    return good, failed


def order_amounts(orders: pd.DataFrame, months: pd.DataFrame) -> pd.DataFrame:
    """Billed, open, blocked and upcoming amounts per month start, account, group and material."""
    keys = ["account_cd", "product_group", "material"]
    if orders.empty or months.empty:
        return pd.DataFrame(columns=["month_start", *keys, *ORDER_COLUMNS])
    day = pd.to_datetime(orders["order_date"])
    kind, amount = orders["order_type"], orders["amount"].astype(float)
    parts = []
    for start, following, after in months.drop_duplicates().itertuples(index=False):
        this_month = (day >= start) & (day < following)
        masks = {
            "billed_order": (kind == "billed") & this_month,
            "open_order": (kind == "open") & this_month,
            "blocked_order": (kind == "blocked") & (day < following),
            "upcoming_order": (kind == "open") & (day >= following) & (day < after),
        }
        frame = orders[keys].copy()
        for column, mask in masks.items():
            frame[column] = np.where(mask, amount, 0.0)
        summed = frame.groupby(keys, as_index=False, sort=False)[ORDER_COLUMNS].sum()
        summed.insert(0, "month_start", start)
        parts.append(summed)
    return pd.concat(parts, ignore_index=True)


def issue_counts(issues: pd.DataFrame, days: pd.Series, key: str) -> pd.DataFrame:
    """Issues due on or before each local day, by type, per `key` (account_cd or material)."""
    columns = ["local_date", key, *ISSUE_COLUMNS]
    if issues.empty or days.empty:
        return pd.DataFrame(columns=columns)
    rdd = pd.to_datetime(issues["rdd_date"])
    parts = []
    for day in days.drop_duplicates():
        due = issues[rdd <= day]
        counts = pd.crosstab(due[key], "cnt_" + due["issue_type"])
        counts = counts.reindex(columns=ISSUE_COLUMNS, fill_value=0).reset_index()
        counts.insert(0, "local_date", day)
        parts.append(counts)
    return pd.concat(parts, ignore_index=True)[columns]


def _filled(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame[columns] = frame[columns].fillna(0)
    counts = [c for c in columns if c in ISSUE_COLUMNS]
    frame[counts] = frame[counts].astype(int)
    return frame


PAGE_FRAME_COLUMNS = ["user_id", *(p.lower() for p in PAGES)]


def build_pages(inputs: ScenarioInputs) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pages: user_id and the seven pages as JSON text; failures: user_id, error)."""
    chunks, failed = page_chunks(inputs, chunk_users=max(len(inputs.users), 1))
    return pd.concat(list(chunks), ignore_index=True), failed


def page_chunks(
    inputs: ScenarioInputs, chunk_users: int = PAGE_CHUNK_USERS
) -> tuple[Iterator[pd.DataFrame], pd.DataFrame]:
    """(the pages of `build_pages` in frames of `chunk_users` users, built lazily; failures).

    The users are validated and the ranked frames computed at once; each chunk's pages are
    assembled only when the iterator reaches it (at least one frame, empty when no user is left).
    """
    users, failed = validate_users(inputs)
    frames = _ranked_frames(inputs, users)
    return _assemble(users, frames, chunk_users), failed


def _ranked_frames(inputs: ScenarioInputs, users: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Every grouped and ranked frame the pages are made of, for all users at once."""
    u = users[["user_id", "sales_org_cd", "local_date", "month_start"]]
    ua = (
        inputs.accounts.drop_duplicates(["user_id", "account_cd"])
        .merge(u, on="user_id")
        .rename(columns={"sales_org_cd": ORG, "account_cd": ACCOUNT, "account_nm": NAME})
    )
    gscm = inputs.gscm.assign(pos=np.arange(len(inputs.gscm))).merge(ua, on=[ORG, ACCOUNT])
    gscm = gscm.sort_values(["user_id", "pos"], kind="mergesort")
    gscm["rank"] = gscm.groupby("user_id").cumcount() + 1
    top_accounts = gscm[gscm["rank"] <= TOP].copy()
    top_accounts[ACH] = ratio(top_accounts[EST], top_accounts[TARGET])
    prior = gscm[BILLING] / (1 + gscm[GROWTH] / 100)
    totals = (
        gscm.assign(prior=prior)
        .groupby("user_id")[[TARGET, EST, BILLING, "prior"]]
        .sum()
        .reindex(users["user_id"], fill_value=0.0)
    )
    groups = inputs.groups.rename(columns={"product_group": PGROUP}).drop_duplicates()
    mat = inputs.material.merge(ua, on=[ORG, ACCOUNT]).merge(groups, on=["user_id", PGROUP])
    top_groups = ranked(mat, ["user_id"], PGROUP, TOP)

    acc_rows = mat.merge(
        top_accounts[["user_id", ACCOUNT, "rank"]].rename(columns={"rank": "acc_rank"}),
        on=["user_id", ACCOUNT],
    )
    acc_top1 = ranked(acc_rows, ["user_id", "acc_rank"], PGROUP, 1)
    acc_models = ranked(
        acc_rows.merge(
            acc_top1[["user_id", "acc_rank", PGROUP]], on=["user_id", "acc_rank", PGROUP]
        ),
        ["user_id", "acc_rank"],
        MATERIAL,
        TOP,
    )
    pg_rows = mat.merge(
        top_groups[["user_id", PGROUP, "rank"]].rename(columns={"rank": "pg_rank"}),
        on=["user_id", PGROUP],
    )
    pg_top1 = ranked(pg_rows, ["user_id", "pg_rank"], PRODUCT, 1)
    pg_models = ranked(
        pg_rows.merge(pg_top1[["user_id", "pg_rank", PRODUCT]], on=["user_id", "pg_rank", PRODUCT]),
        ["user_id", "pg_rank"],
        MATERIAL,
        TOP,
    )
    pg_accounts = ranked(pg_rows, ["user_id", "pg_rank"], ACCOUNT, TOP).merge(
        ua[["user_id", ACCOUNT, NAME]], on=["user_id", ACCOUNT], how="left"
    )

    sales = {
        "totals": totals,
        "top_accounts": top_accounts,
        "top_groups": top_groups,
        "acc_top1": acc_top1,
        "acc_models": acc_models,
        "pg_top1": pg_top1,
        "pg_models": pg_models,
        "pg_accounts": pg_accounts,
        "account_list": inputs.accounts.drop_duplicates(["user_id", "account_cd", "account_nm"]),
    }
    return {**sales, **_order_frames(inputs, users, ua, sales)}


def _order_frames(
    inputs: ScenarioInputs,
    users: pd.DataFrame,
    ua: pd.DataFrame,
    sales: dict[str, pd.DataFrame],
) -> dict[str, pd.DataFrame]:
    """Order amounts and issue counts of the users' accounts, top groups and top models."""
    u = users[["user_id", "sales_org_cd", "local_date", "month_start"]]
    top_accounts, top_groups = sales["top_accounts"], sales["top_groups"]
    months = users[["month_start", "next_month", "after_next"]]
    amounts = order_amounts(inputs.orders, months)
    by_account = amounts.groupby(["month_start", "account_cd"], as_index=False)[ORDER_COLUMNS].sum()
    by_group = amounts.groupby(["month_start", "account_cd", "product_group"], as_index=False)[
        ORDER_COLUMNS
    ].sum()
    by_material = amounts.groupby(["month_start", "material"], as_index=False)[ORDER_COLUMNS].sum()
    acc_issues = issue_counts(inputs.issues, users["local_date"], "account_cd")
    mat_issues = issue_counts(inputs.issues, users["local_date"], "material")

    ua_keys = ua.rename(columns={ACCOUNT: "account_cd"})
    user_orders = (
        _filled(
            ua_keys.merge(by_account, on=["month_start", "account_cd"], how="left"), ORDER_COLUMNS
        )
        .groupby("user_id")[ORDER_COLUMNS]
        .sum()
    )
    user_issues = (
        _filled(
            ua_keys.merge(acc_issues, on=["local_date", "account_cd"], how="left"), ISSUE_COLUMNS
        )
        .groupby("user_id")[ISSUE_COLUMNS]
        .sum()
    )
    acc_orders = _filled(
        top_accounts.rename(columns={ACCOUNT: "account_cd"}).merge(
            by_account, on=["month_start", "account_cd"], how="left"
        ),
        ORDER_COLUMNS,
    )
    pg_orders = (
        _filled(
            ua_keys.merge(
                top_groups[["user_id", PGROUP, "rank"]].rename(columns={PGROUP: "product_group"}),
                on="user_id",
            ).merge(by_group, on=["month_start", "account_cd", "product_group"], how="left"),
            ORDER_COLUMNS,
        )
        .groupby(["user_id", "rank"], as_index=False)[ORDER_COLUMNS]
        .sum()
    )

    def model_orders(models: pd.DataFrame) -> pd.DataFrame:
        frame = models.merge(u[["user_id", "month_start", "local_date"]], on="user_id")
        frame = frame.merge(
            by_material.rename(columns={"material": MATERIAL}),
            on=["month_start", MATERIAL],
            how="left",
        ).merge(
            mat_issues.rename(columns={"material": MATERIAL}),
            on=["local_date", MATERIAL],
            how="left",
        )
        return _filled(frame, [*ORDER_COLUMNS, *ISSUE_COLUMNS])

    return {
        "acc_model_orders": model_orders(sales["acc_models"]),
        "pg_model_orders": model_orders(sales["pg_models"]),
        "user_orders": user_orders,
        "user_issues": user_issues,
        "acc_orders": acc_orders,
        "pg_orders": pg_orders,
    }


def _dumps(page: dict[str, Any]) -> str:
    """Compact JSON text of a page (UTF-8 kept, not escaped)."""
    return orjson.dumps(page).decode()


def _round(value: float, digits: int = 2) -> float:
    return round(float(value), digits)


def _assemble(
    users: pd.DataFrame, f: dict[str, pd.DataFrame], chunk_users: int
) -> Iterator[pd.DataFrame]:
    """The seven pages of every user, as JSON text, from the ranked frames, by `chunk_users`."""
    measures = [TARGET, EST, ACH]
    top_accounts = _grouped(f["top_accounts"], ["user_id"], [ACCOUNT, NAME, *measures])
    top_groups = _grouped(f["top_groups"], ["user_id"], [PGROUP, *measures])
    acc_top1 = _grouped(f["acc_top1"], ["user_id", "acc_rank"], [PGROUP, *measures])
    acc_models = _grouped(f["acc_models"], ["user_id", "acc_rank"], [MATERIAL, *measures])
    order_keys = [MATERIAL, *ORDER_COLUMNS, *ISSUE_COLUMNS]
    acc_model_orders = _grouped(f["acc_model_orders"], ["user_id", "acc_rank"], order_keys)
    pg_top1 = _grouped(f["pg_top1"], ["user_id", "pg_rank"], [PRODUCT, *measures])
    pg_models = _grouped(f["pg_models"], ["user_id", "pg_rank"], [MATERIAL, *measures])
    pg_model_orders = _grouped(f["pg_model_orders"], ["user_id", "pg_rank"], order_keys)
    pg_accounts = _grouped(f["pg_accounts"], ["user_id", "pg_rank"], [ACCOUNT, NAME, *measures])
    acc_orders = _grouped(f["acc_orders"], ["user_id", "rank"], ORDER_COLUMNS)
    pg_orders = _grouped(
        f["pg_orders"].assign(rank=f["pg_orders"]["rank"]), ["user_id", "rank"], ORDER_COLUMNS
    )
    account_lists = _grouped(f["account_list"], ["user_id"], ["account_cd", "account_nm"])
    totals = f["totals"].to_dict("index")
    user_orders = f["user_orders"].to_dict("index")
    user_issues = f["user_issues"].to_dict("index")
    no_orders = dict.fromkeys(ORDER_COLUMNS, 0.0)
    no_issues = dict.fromkeys(ISSUE_COLUMNS, 0)

    out: list[dict[str, Any]] = []
    for position, user in enumerate(users.itertuples(index=False)):
        if position and position % chunk_users == 0:
            yield pd.DataFrame(out, columns=PAGE_FRAME_COLUMNS)
            out = []
        uid = user.user_id
        cur = user.currency
        t = totals[uid]
        issues = user_issues.get(uid, no_issues)
        counts = {c: int(issues[c]) for c in ISSUE_COLUMNS}
        amounts = user_orders.get(uid, no_orders)
        orders = {f"total_{c}": _round(amounts[c]) for c in ORDER_COLUMNS}
        accounts, groups = top_accounts.get(uid, []), top_groups.get(uid, [])
        prior = t["prior"]
        lapa = {
            "sender_name": user.user_name if isinstance(user.user_name, str) else uid,
            "today_date": user.local_date.date().isoformat(),
            "total_target": _round(t[TARGET]),
            "total_est_sales": _round(t[EST]),
            "total_ach_rate": None if not t[TARGET] else _round(t[EST] / t[TARGET] * 100, 1),
            "total_billing": _round(t[BILLING]),
            "total_yoy": None if not prior else _round((t[BILLING] / prior - 1) * 100, 1),
            "top5_accounts": accounts,
            "top5_prdgs": groups,
            "account_list": account_lists.get(uid, []),
            **counts,
        }
        sode: dict[str, Any] = {}
        if accounts:
            sode = {"top5_accounts": accounts, "CUR": cur}
            for i in range(1, len(accounts) + 1):
                sode[f"top{i}_account_order"] = (acc_orders.get((uid, i)) or [None])[0]
                sode[f"top{i}_account_top1_prdg"] = acc_top1.get((uid, i), [])
                sode[f"top{i}_account_top1_prdg_top5_model"] = acc_models.get((uid, i), [])
        pgde: dict[str, Any] = {}
        if groups:
            pgde = {"top5_prdgs": groups, "CUR": cur}
            for i in range(1, len(groups) + 1):
                pgde[f"top{i}_prdg_order"] = (pg_orders.get((uid, i)) or [None])[0]
                pgde[f"top{i}_prdg_top1_prd"] = pg_top1.get((uid, i), [])
                pgde[f"top{i}_prdg_top1_prd_top5_model"] = pg_models.get((uid, i), [])
                pgde[f"top{i}_prdg_top5_account"] = pg_accounts.get((uid, i), [])
        mode: dict[str, Any] = {}
        if accounts or groups:
            mode = {"CUR": cur}
            for i in range(1, len(accounts) + 1):
                mode[f"top{i}_account_top1_prdg_top5_model_order"] = acc_model_orders.get(
                    (uid, i), []
                )
            for i in range(1, len(groups) + 1):
                mode[f"top{i}_prdg_top1_prd_top5_model_order"] = pg_model_orders.get((uid, i), [])
        optr = {"total_est_sales": lapa["total_est_sales"], **orders, **counts, "CUR": cur}
        pages = {
            "LAPA00": lapa,
            "SOSE00": {"top5_accounts": accounts} if accounts else {},
            "SODE00": sode,
            "PGSE00": {"top5_prdgs": groups} if groups else {},
            "PGDE00": pgde,
            "MODE00": mode,
            "OPTR00": optr,
        }
        out.append(
            {
                "user_id": uid,
                **{p.lower(): _dumps(pages[p]) for p in PAGES},
            }
        )
    yield pd.DataFrame(out, columns=PAGE_FRAME_COLUMNS)


def missing_keys(pages: dict[str, dict]) -> list[str]:
    """`PAGE.key` of every required key a user's built pages lack (empty pages may be `{}`)."""
    missing = []
    for page, keys in REQUIRED_KEYS.items():
        content = pages.get(page)
        if content is None or (not content and page not in ALWAYS_BUILT):
            if content is None:
                missing.append(page)
            continue
        missing.extend(f"{page}.{key}" for key in keys if key not in content)
    return missing
