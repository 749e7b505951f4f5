"""Columns of a raw sensor file and the address of one, for the Spark reader and the sample writer.

No Dagster and no Spark here: the code location imports it when it loads.
"""

from dataclasses import dataclass

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


@dataclass(frozen=True)
class RawFile:
    """One raw object: its lake address (`name`), where Spark reads it, and a local copy if any."""

    name: str
    path: str
    local: str | None = None
