"""Warehouse (PostgreSQL) tables of the production summaries."""

import sqlalchemy as sa

metadata = sa.MetaData()

# One row per month and item; the month is the first day of the month (KST business dates).
production_monthly_totals = sa.Table(
    "production_monthly_totals",
    metadata,
    sa.Column("month", sa.Date, primary_key=True),
    sa.Column("item_code", sa.String(50), primary_key=True),
    sa.Column("item_name", sa.String(200)),
    sa.Column("total_production", sa.Float, nullable=False),
    sa.Column("batch_count", sa.Integer, nullable=False),
    sa.Column("avg_batch_size", sa.Float, nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
)

# Rows that cannot be placed in a month, kept aside with their reason, under the month their raw
# date names (month_store.rejected_month).
production_rejected_records = sa.Table(
    "production_rejected_records",
    metadata,
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("source_file", sa.String(100), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("production_date", sa.Text),
    sa.Column("item_code", sa.String(50)),
    sa.Column("good_quantity", sa.Float),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
)

# Per month over every item: total, batches and the weighted average batch size.
MONTHLY_VIEW_SQL = """
CREATE OR REPLACE VIEW production_monthly_totals_by_month AS
SELECT month,
       SUM(total_production) AS total_production,
       SUM(batch_count) AS batch_count,
       SUM(total_production) / NULLIF(SUM(batch_count), 0) AS avg_batch_size
FROM production_monthly_totals
GROUP BY month
"""

# Which files each month's totals were computed from, with the rows each contributed: a file that
# served a month and is gone later is named instead of its months being rebuilt without it.
production_monthly_sources = sa.Table(
    "production_monthly_sources",
    metadata,
    sa.Column("month", sa.Date, primary_key=True),
    sa.Column("source_file", sa.String(100), primary_key=True),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
)
