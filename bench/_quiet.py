"""Run config that keeps Dagster's event stream out of benchmark output (warnings still show)."""

QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
