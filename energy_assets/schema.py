"""Tables of the energy location (SQLAlchemy Core; timestamps are timestamptz, interval start)."""

import sqlalchemy as sa

metadata = sa.MetaData()
TS = sa.DateTime(timezone=True)

weather_asos = sa.Table(
    "weather_asos",
    metadata,
    sa.Column("timestamp", TS, nullable=False),
    sa.Column("station_id", sa.Integer, nullable=False),
    sa.Column("station_name", sa.String(50)),
    sa.Column("temperature", sa.Float),
    sa.Column("humidity", sa.Float),
    sa.Column("solar_radiation", sa.Float),
    sa.PrimaryKeyConstraint("timestamp", "station_id"),
)
weather_asos_imputed = sa.Table(
    "weather_asos_imputed",
    metadata,
    sa.Column("timestamp", TS, nullable=False),
    sa.Column("station_id", sa.Integer, nullable=False),
    sa.Column("station_name", sa.String(50)),
    sa.Column("temperature", sa.Float),
    sa.Column("temperature_method", sa.String(20), nullable=False),
    sa.Column("humidity", sa.Float),
    sa.Column("humidity_method", sa.String(20), nullable=False),
    sa.Column("solar_radiation", sa.Float),
    sa.Column("row_absent", sa.Boolean, nullable=False),
    sa.PrimaryKeyConstraint("timestamp", "station_id"),
)
nambu_generation = sa.Table(
    "nambu_generation",
    metadata,
    sa.Column("datetime", TS, nullable=False),
    sa.Column("gencd", sa.String(20), nullable=False),
    sa.Column("hogi", sa.Integer, nullable=False),
    sa.Column("plant_name", sa.String(200)),
    sa.Column("generation", sa.Float),
    sa.Column("daily_total", sa.Float),
    sa.Column("daily_avg", sa.Float),
    sa.Column("daily_max", sa.Float),
    sa.Column("daily_min", sa.Float),
    sa.PrimaryKeyConstraint("datetime", "gencd", "hogi"),
    sa.Index("ix_nambu_generation_unit", "gencd", "hogi", "datetime"),
)
namdong_generation = sa.Table(
    "namdong_generation",
    metadata,
    sa.Column("datetime", TS, nullable=False),
    sa.Column("plant", sa.String(100), nullable=False),
    sa.Column("unit", sa.Integer, nullable=False),
    sa.Column("plant_name", sa.String(120), nullable=False),
    sa.Column("hour", sa.Integer, nullable=False),  # the source's label 1..24 (hour-ending)
    sa.Column("generation", sa.Float),
    sa.PrimaryKeyConstraint("datetime", "plant", "unit"),
    sa.Index("ix_namdong_generation_name", "plant_name", "datetime"),
)
nambu_plants = sa.Table(
    "nambu_plants",
    metadata,
    sa.Column("gencd", sa.String(20), nullable=False),
    sa.Column("hogi", sa.Integer, nullable=False),
    sa.Column("plant_name", sa.String(200), nullable=False),
    sa.Column("address", sa.String(200)),
    sa.Column("capacity_kw", sa.Float),
    sa.Column("latitude", sa.Float),
    sa.Column("longitude", sa.Float),
    sa.Column("coord_source", sa.String(30)),
    sa.PrimaryKeyConstraint("gencd", "hogi"),
)
namdong_plants = sa.Table(
    "namdong_plants",
    metadata,
    sa.Column("plant_name", sa.String(120), primary_key=True),
    sa.Column("base_name", sa.String(100), nullable=False),
    sa.Column("unit", sa.Integer, nullable=False),
    sa.Column("address", sa.String(200)),
    sa.Column("capacity_kw", sa.Float),
    sa.Column("latitude", sa.Float),
    sa.Column("longitude", sa.Float),
    sa.Column("coord_source", sa.String(30)),
)
nambu_start_dates = sa.Table(
    "nambu_start_dates",
    metadata,
    sa.Column("gencd", sa.String(20), nullable=False),
    sa.Column("hogi", sa.Integer, nullable=False),
    sa.Column("start_date", sa.Date),
    sa.Column("calls", sa.Integer, nullable=False),
    sa.Column("probed_at", TS, nullable=False),
    sa.PrimaryKeyConstraint("gencd", "hogi"),
)
plant_data_quality = sa.Table(
    "plant_data_quality",
    metadata,
    sa.Column("operator", sa.String(10), nullable=False),
    sa.Column("plant_key", sa.String(120), nullable=False),  # gencd/hogi or plant/unit
    sa.Column("day", sa.Date, nullable=False),  # the graded day: the window ends on it
    sa.Column("plant_name", sa.String(200), nullable=False),
    sa.Column("hourly_valid", sa.Boolean, nullable=False),
    sa.Column("daily_valid", sa.Boolean, nullable=False),
    sa.Column("data_quality", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("days", sa.Integer, nullable=False),
    sa.Column("window_start", sa.Date),
    sa.Column("window_end", sa.Date),
    sa.PrimaryKeyConstraint("operator", "plant_key", "day"),
)
