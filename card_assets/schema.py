"""Tables of the card location: the warehouse's results and dead letters, and the ERP's tables.

The ERP tables are declared once, lower-case (SQLAlchemy maps them to Oracle's upper case); in
local mode they live in the warehouse schema `erp` with a sample.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

PAGES = ["LAPA00", "SOSE00", "SODE00", "PGSE00", "PGDE00", "MODE00", "OPTR00"]
PAGE_COLUMNS = [page.lower() for page in PAGES]

# -- warehouse ----------------------------------------------------------------------------------
warehouse_metadata = sa.MetaData()

user_scenario_result = sa.Table(
    "user_scenario_result",
    warehouse_metadata,
    sa.Column("user_id", sa.Text, primary_key=True),
    sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
    *(sa.Column(column, pg.JSONB, nullable=False) for column in PAGE_COLUMNS),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Index("idx_user_scenario_result_user_id", "user_id"),
    sa.Index("idx_user_scenario_result_created_at", "created_at"),
)

card_dead_letters = sa.Table(
    "card_dead_letters",
    warehouse_metadata,
    sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("stage", sa.Text, primary_key=True),  # material, gscm or scenario
    sa.Column("item", sa.Text, primary_key=True),  # a sales org code or a user id
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
)

LATEST_VIEW = "user_scenario_latest"
LATEST_VIEW_SQL = f"""
CREATE OR REPLACE VIEW {LATEST_VIEW} AS
SELECT DISTINCT ON (user_id) *
FROM user_scenario_result
ORDER BY user_id, window_start DESC, created_at DESC
"""

# -- ERP ------------------------------------------------------------------------------------------
erp_metadata = sa.MetaData()

sales_orgs = sa.Table(
    "sales_orgs",
    erp_metadata,
    sa.Column("sales_org_cd", sa.String(10), primary_key=True),
    sa.Column("ai_use_yn", sa.String(1), nullable=False),
    sa.Column("currency", sa.String(5)),
    sa.Column("gmt_offset", sa.String(10)),
)
ai_users = sa.Table(  # the notification watch list
    "ai_users",
    erp_metadata,
    sa.Column("user_id", sa.String(40), primary_key=True),
    sa.Column("user_name", sa.String(100)),
    sa.Column("sales_org_cd", sa.String(10), nullable=False),
    sa.Column("noti_yn", sa.String(1), nullable=False),
)
user_accounts = sa.Table(
    "user_accounts",
    erp_metadata,
    sa.Column("user_id", sa.String(40), primary_key=True),
    sa.Column("account_cd", sa.String(20), primary_key=True),
    sa.Column("account_nm", sa.String(100)),
)
user_product_groups = sa.Table(
    "user_product_groups",
    erp_metadata,
    sa.Column("user_id", sa.String(40), primary_key=True),
    sa.Column("product_group", sa.String(20), primary_key=True),
)
orders = sa.Table(  # order_type: billed, open or blocked; order_date: billing or delivery date
    "orders",
    erp_metadata,
    sa.Column("order_no", sa.String(30), primary_key=True),
    sa.Column("account_cd", sa.String(20), nullable=False),
    sa.Column("product_group", sa.String(20), nullable=False),
    sa.Column("material", sa.String(40), nullable=False),
    sa.Column("order_type", sa.String(10), nullable=False),
    sa.Column("order_date", sa.Date, nullable=False),
    sa.Column("amount", sa.Numeric(18, 2), nullable=False),
)
order_issues = sa.Table(  # open operational issues with the order's requested delivery date
    "order_issues",
    erp_metadata,
    sa.Column("order_no", sa.String(30), primary_key=True),
    sa.Column("account_cd", sa.String(20), nullable=False),
    sa.Column("material", sa.String(40), nullable=False),
    sa.Column("issue_type", sa.String(20), nullable=False),
    sa.Column("rdd_date", sa.Date, nullable=False),
)
ERP_TABLES = [sales_orgs, ai_users, user_accounts, user_product_groups, orders, order_issues]
