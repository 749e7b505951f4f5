"""Run options of the weekly report: the groups, run modes and the TA_SYS_CONFIG gate."""

from dataclasses import dataclass

DAY_GB = "WEEK"
GROUPS = ("AM7", "PM2")
TEST_FARMS = (1387, 2807, 848, 4223, 1013)
COMPLETE, ERROR, READY, RUNNING = "COMPLETE", "ERROR", "READY", "RUNNING"
# TA_SYS_CONFIG.INS_SCHEDULE_YN values that let a scheduled run build reports (T: test batch).
GATE_OPEN = ("Y", "T")


def gate_open(gate: str | None) -> bool:
    """Whether a scheduled run may build reports under the TA_SYS_CONFIG gate `gate`."""
    return gate in GATE_OPEN


class RunRefused(ValueError):
    """Options that would delete data outside test mode, or are otherwise contradictory."""


@dataclass(frozen=True)
class RunOptions:
    """Run config of the weekly report (see the asset's config schema for meanings)."""

    test_mode: bool = False
    farm_list: tuple[int, ...] | None = None
    exclude_farms: tuple[int, ...] = ()
    init_week: bool = False
    init_all: bool = False
    dry_run: bool = False
    job_nm: str = "INSPIG_WEEKLY"

    def validate(self) -> None:
        """Refuse deletions outside test mode."""
        if (self.init_week or self.init_all) and not self.test_mode:
            flag = "init_all" if self.init_all else "init_week"
            raise RunRefused(
                f"{flag} deletes report data and is only allowed together with test_mode=true; "
                "production runs never delete (re-materializing builds missing or ERROR farms only)"
            )

    @property
    def target_list(self) -> tuple[int, ...] | None:
        """Farms to restrict to: farm_list, or the test farms in test mode, else None (all)."""
        if self.farm_list:
            return tuple(self.farm_list)
        return TEST_FARMS if self.test_mode else None
