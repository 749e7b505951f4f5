"""PostgreSQL tables and materialized views of the pothole serving layer."""

import sqlalchemy as sa

metadata = sa.MetaData()

# Fact table, range-partitioned by month on `date`; partitions are created as dates arrive.
pothole_segments = sa.Table(
    "pothole_segments",
    metadata,
    sa.Column("s_id", sa.String(50), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("centroid_lon", sa.Float, nullable=False),
    sa.Column("centroid_lat", sa.Float, nullable=False),
    sa.Column("impact_count", sa.Integer, nullable=False),
    sa.Column("total_count", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    postgresql_partition_by="RANGE (date)",
)
sa.Index("idx_pothole_date", pothole_segments.c.date.desc())
sa.Index("idx_pothole_segment", pothole_segments.c.s_id)
sa.Index("idx_pothole_date_segment", pothole_segments.c.date.desc(), pothole_segments.c.s_id)
sa.Index("idx_pothole_impact", pothole_segments.c.impact_count.desc())

segment_address = sa.Table(
    "segment_address",
    metadata,
    sa.Column("s_id", sa.String(50), primary_key=True),
    sa.Column("road_name", sa.String(200)),
    sa.Column("district", sa.String(100)),
    sa.Column("centroid_lon", sa.Float),
    sa.Column("centroid_lat", sa.Float),
    sa.Column("source", sa.String(20)),
    sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
)

pothole_complaints = sa.Table(
    "pothole_complaints",
    metadata,
    sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
    sa.Column("create_dt", sa.Date, nullable=False),
    sa.Column("event_lat", sa.Float, nullable=False),
    sa.Column("event_lon", sa.Float, nullable=False),
    sa.Column("nearest_s_id", sa.String(50)),
    sa.Column("distance_m", sa.Float),
    sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    sa.UniqueConstraint("create_dt", "event_lat", "event_lon", name="uq_complaint_event"),
)
sa.Index("idx_complaint_segment", pothole_complaints.c.nearest_s_id)
sa.Index("idx_complaint_date", pothole_complaints.c.create_dt.desc())

segment_road_grade = sa.Table(
    "segment_road_grade",
    metadata,
    sa.Column("s_id", sa.String(50), primary_key=True),
    sa.Column("link_id", sa.String(50), nullable=False),
    sa.Column("road_grade", sa.Integer, nullable=False),
    sa.CheckConstraint("road_grade BETWEEN 1 AND 5", name="ck_road_grade_range"),
)

# One row per report date that was mailed successfully: a retry or re-execution of a range does not
# mail those days again (unless the run asks for `resend`).
pothole_report_sent = sa.Table(
    "pothole_report_sent",
    metadata,
    sa.Column("report_date", sa.Date, primary_key=True),
    sa.Column("recipients", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("destination", sa.Text, nullable=False),
    sa.Column("top_rows", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("sent_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
)

# -- materialized views --------------------------------------------------------------------------
# Each view keeps every date (not only the latest), so that the views
# and the report of day D show day D, and a backfilled day reports that day.
HEATMAP = "mvw_dashboard_heatmap"
WEEKLY_STATS = "mvw_dashboard_weekly_stats"
REPAIR_PRIORITY = "mvw_dashboard_repair_priority"

VIEW_SQL: dict[str, tuple[str, str]] = {
    HEATMAP: (
        """
        SELECT ps.date, ps.s_id, sa.road_name, sa.district, ps.centroid_lon, ps.centroid_lat,
               ps.total_count, ps.impact_count,
               CASE WHEN ps.total_count > 0
                    THEN ROUND(ps.impact_count::numeric * 100 / ps.total_count, 2)
                    ELSE 0 END AS risk_rate
        FROM pothole_segments ps
        LEFT JOIN segment_address sa ON sa.s_id = ps.s_id
        """,
        "(s_id, date)",
    ),
    # One row per segment and day; the weekly view of day D is `date BETWEEN D - 6 AND D`.
    WEEKLY_STATS: (
        """
        SELECT ps.date,
               EXTRACT(ISODOW FROM ps.date)::int AS dow_num,
               TRIM(TO_CHAR(ps.date, 'Day')) AS day_of_week,
               ps.s_id, sa.road_name, ps.total_count, ps.impact_count
        FROM pothole_segments ps
        LEFT JOIN segment_address sa ON sa.s_id = ps.s_id
        """,
        "(s_id, date)",
    ),
    # Per day D: D's impacts, complaints filed up to D, road grade (3 when unknown).
    REPAIR_PRIORITY: (
        """
        WITH sensor AS (
            SELECT date, s_id, SUM(impact_count) AS total_impacts,
                   SUM(total_count) AS total_traffic,
                   MIN(centroid_lat) AS centroid_lat, MIN(centroid_lon) AS centroid_lon
            FROM pothole_segments GROUP BY date, s_id
        ),
        complaints AS (
            SELECT s.date, s.s_id, COUNT(c.id) AS complaint_count
            FROM sensor s
            JOIN pothole_complaints c ON c.nearest_s_id = s.s_id AND c.create_dt <= s.date
            GROUP BY s.date, s.s_id
        ),
        scored AS (
            SELECT s.date, s.s_id, s.total_traffic, s.total_impacts,
                   s.centroid_lat, s.centroid_lon,
                   COALESCE(c.complaint_count, 0) AS complaint_count,
                   s.total_impacts * 1.0 + COALESCE(c.complaint_count, 0) * 50.0
                     + COALESCE(g.road_grade, 3) * 10.0 AS priority_score
            FROM sensor s
            LEFT JOIN complaints c ON c.date = s.date AND c.s_id = s.s_id
            LEFT JOIN segment_road_grade g ON g.s_id = s.s_id
        )
        SELECT sc.date, sc.s_id, sa.road_name, sa.district,
               COALESCE(sa.centroid_lat, sc.centroid_lat) AS centroid_lat,
               COALESCE(sa.centroid_lon, sc.centroid_lon) AS centroid_lon,
               sc.total_traffic, sc.total_impacts, sc.complaint_count, sc.priority_score,
               RANK() OVER (PARTITION BY sc.date ORDER BY sc.priority_score DESC) AS priority_rank
        FROM scored sc
        LEFT JOIN segment_address sa ON sa.s_id = sc.s_id
        """,
        "(date, s_id)",
    ),
}
