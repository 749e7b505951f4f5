"""The ten weekly-report processors: TS_INS_WEEK_SUB rows and TS_INS_WEEK columns for one farm.

Each processor is a plain function of (FarmData, RunContext, results so far) that returns the
rows it writes under its GUBUN and the TS_INS_WEEK columns it sets. Nothing here touches a database.
"""

from collections.abc import Callable

from inspig_assets.model import FarmData, RunContext
from inspig_assets.processors.base import Done, ProcessorResult
from inspig_assets.processors.breeding import (
    farrowing_processor,
    mating_processor,
    weaning_processor,
)
from inspig_assets.processors.herd import alert_processor, config_processor, modon_processor
from inspig_assets.processors.losses import accident_processor, culling_processor
from inspig_assets.processors.schedule import schedule_processor
from inspig_assets.processors.shipment import shipment_processor

__all__ = ["PROCESSORS", "Done", "Processor", "ProcessorResult"]

Processor = Callable[[FarmData, RunContext, dict[str, ProcessorResult]], ProcessorResult]

# Run order and the class names written to TS_INS_JOB_LOG.PROC_NM.
PROCESSORS: tuple[tuple[str, str, Processor], ...] = (
    ("config", "ConfigProcessor", config_processor),
    ("alert", "AlertProcessor", alert_processor),
    ("modon", "ModonProcessor", modon_processor),
    ("mating", "MatingProcessor", mating_processor),
    ("farrowing", "FarrowingProcessor", farrowing_processor),
    ("weaning", "WeaningProcessor", weaning_processor),
    ("accident", "AccidentProcessor", accident_processor),
    ("culling", "CullingProcessor", culling_processor),
    ("shipment", "ShipmentProcessor", shipment_processor),
    ("schedule", "ScheduleProcessor", schedule_processor),
)
