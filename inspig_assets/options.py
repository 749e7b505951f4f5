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
    init_every_farm: bool = False
    dry_run: bool = False
    job_nm: str = "INSPIG_WEEKLY"

    def validate(self) -> None:
        """Refuse deletions outside test mode, and farm lists that would not mean what they say.

        - `init_week` / `init_all` delete, so they need `test_mode`; they delete the rows of the
          target list only (farm_list, or the test farms), unless `init_every_farm` is also set.
        - `farm_list` belongs to test mode (an operation run builds every subscribed farm), and an
          empty list is refused rather than read as "all farms".
        """
        for flag, on in (
            ("init_all", self.init_all),
            ("init_week", self.init_week),
            ("init_every_farm", self.init_every_farm),
        ):
            if on and not self.test_mode:
                raise RunRefused(
                    f"{flag} deletes report data and is only allowed together with test_mode=true; "
                    "production runs never delete (re-materializing builds missing or ERROR "
                    "farms only)"
                )
        if self.init_every_farm and not (self.init_all or self.init_week):
            raise RunRefused("init_every_farm widens init_week or init_all; set one of them too")
        if self.farm_list is not None and not self.test_mode:
            raise RunRefused(
                "farm_list is a test-mode option: an operation run builds every subscribed farm; "
                "set test_mode=true to run a list of farms"
            )
        if self.farm_list is not None and not self.farm_list:
            raise RunRefused(
                "farm_list is empty; leave it out to use the test farms "
                f"{','.join(map(str, TEST_FARMS))}, or name the farms"
            )

    @property
    def deletion_farms(self) -> tuple[int, ...] | None:
        """Farms whose rows init_week / init_all delete; None = every farm (init_every_farm)."""
        return None if self.init_every_farm else self.target_list

    @property
    def target_list(self) -> tuple[int, ...] | None:
        """Farms to restrict to: farm_list, or the test farms in test mode, else None (all)."""
        if self.farm_list:
            return tuple(self.farm_list)
        return TEST_FARMS if self.test_mode else None
