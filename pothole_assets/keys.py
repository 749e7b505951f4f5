"""Names of the pothole assets, their group, and the pool of the Spark step (no Dagster).

The materialized views are named after their tables in `schema.py`.
"""

GROUP = "pothole"
# Steps that hold the Spark cluster; the instances limit the pool to one step at a time.
SPARK_POOL = "spark_cluster"

RAW = "raw_sensor_data"
STAGE1 = "stage1_anomaly_detected"
STAGE2 = "stage2_spatial_clustering"
ROAD_SEGMENTS = "road_segments"
SPEED_BUMPS = "speed_bumps"
ROAD_GRADE = "segment_road_grade"
COMPLAINTS = "pothole_complaints"
SEGMENTS = "pothole_segments"
ADDRESS = "segment_address"
REPORT = "daily_pothole_report"
