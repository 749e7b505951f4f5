"""Columns of a raw sensor file, for the Spark reader and the sample writer (no Dagster)."""

# The measurements, all floating point; NaN in any of them makes a reading unusable.
MEASURE_COLUMNS = (
    "accel_x",
    "accel_y",
    "accel_z",
    "gyro_x",
    "gyro_y",
    "gyro_z",
    "velocity",
    "lon",
    "lat",
    "hdop",
)
# In file order: epoch milliseconds and the trip and vehicle ids first, the satellite count last.
RAW_COLUMNS = ("timestamp", "trip_id", "vehicle_id", *MEASURE_COLUMNS, "satellites")
