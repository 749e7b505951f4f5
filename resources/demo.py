"""`make demo`: materialize every asset of every code location on sample data, with some history.

The locations come from workspace.yaml; each location's assets are grouped into stages (upstream
first, one partitions definition per stage) and run with `execute_job` on the Dagster instance in
$DAGSTER_HOME, with the job's own executor (in the demo's own process for the light stages named in
`IN_PROCESS`) and every asset check of the selected assets.

History (`HISTORY`): the last weeks of the inspig report for both groups, the last days of pothole
and every month of the production totals, so that the UI's partition bars, lineage and asset
history mean something; every other partitioned asset gets its latest partition. A stage whose
assets all have a single-run backfill policy runs a range as one run (the range tags a backfill
sets); otherwise one run per partition.

The terminal shows one line per run and the summary table; Dagster's event stream, warnings and
the output of every step process go to `PLATFORM_HOME/logs/demo-<timestamp>.log`. The exit code
is non-zero when a location failed to load, a run failed or a check failed.
"""

import datetime as dt
import importlib
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import dagster as dg
import yaml
from dagster._core.definitions.backfill_policy import BackfillPolicyType
from dagster._core.definitions.reconstruct import ReconstructableRepository

STARTED = time.monotonic()  # the total time printed at the end counts from here
WORKSPACE = Path(__file__).resolve().parent.parent / "workspace.yaml"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
ALL = None  # a history depth: every partition

# Location → asset key (or "*" for every asset of the location) → how many of the latest time
# partitions the demo builds (ALL = every one). Unlisted assets get the latest partition.
HISTORY: dict[str, dict[str, int | None]] = {
    "inspig": {"ts_ins_master": 4},  # the report multi-asset: 4 weeks x both groups
    "pothole": {"*": 7},  # a week of days, one range run
    "production": {"production_monthly_totals": ALL},  # every month of the sample
}
# Location → assets whose stage runs in the demo's own process (the run's `in_process` executor):
# stages of several steps whose step processes, each loading its location, would take longer to
# start than the steps' work on the sample (pothole's Spark session then starts once).
IN_PROCESS: dict[str, set[str]] = {
    "inspig": {"tm_weather"},
    "pothole": {"road_segments", "raw_sensor_data"},
    "production": {"production_archive_dbs"},
    "energy": {
        "nambu_generation",
        "nambu_start_dates",
        "namdong_generation",
        "plant_data_quality",
        "namdong_plants",
    },
}


def workspace_locations(path: Path = WORKSPACE) -> list[tuple[str, str]]:
    """(location name, module name) of every python_module entry of workspace.yaml."""
    entries = yaml.safe_load(path.read_text())["load_from"]
    return [
        (entry["python_module"]["location_name"], entry["python_module"]["module_name"])
        for entry in entries
        if "python_module" in entry
    ]


def location_defs(module_name: str) -> dg.Definitions:
    """The `defs` object a location module exports."""
    return importlib.import_module(module_name).defs


# -- which partitions ---------------------------------------------------------------------------
def latest_keys(partitions_def: dg.PartitionsDefinition, depth: int | None) -> list[str]:
    """The last `depth` keys (ALL: every key) of a definition, oldest first."""
    keys = list(partitions_def.get_partition_keys())
    return keys if depth is ALL else keys[-depth:]


def sample_partition_keys(
    partitions_def: dg.PartitionsDefinition | None, depth: int | None = 1
) -> list[str | None]:
    """Partitions the demo runs.

    The latest `depth` complete time windows (with every key of the other dimensions of a
    multi-partitioned asset), or every key of a static definition.
    """
    if partitions_def is None:
        return [None]
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return list(latest_keys(partitions_def, depth))
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        per_dimension: dict[str, list[str]] = {}
        for dimension in partitions_def.partitions_defs:
            keys = sample_partition_keys(dimension.partitions_def, depth)
            per_dimension[dimension.name] = [k for k in keys if k is not None]
        combos: list[dict[str, str]] = [{}]
        for name, keys in per_dimension.items():
            combos = [{**combo, name: key} for combo in combos for key in keys]
        return [str(dg.MultiPartitionKey(combo)) for combo in combos]
    return list(partitions_def.get_partition_keys())


@dataclass(frozen=True)
class RunPlan:
    """One run of a stage: its partition tags and how it is shown."""

    label: str
    tags: dict[str, str]


def _range(partitions_def: dg.PartitionsDefinition, first: str, last: str) -> RunPlan:
    tags = {RANGE_START_TAG: first, RANGE_END_TAG: last}
    if first == last:
        tags = dict(partitions_def.get_tags_for_partition_key(first))
        return RunPlan(first, tags)
    return RunPlan(f"{first}...{last}", tags)


def plan_runs(
    partitions_def: dg.PartitionsDefinition | None, depth: int | None, single_run: bool
) -> list[RunPlan]:
    """The runs of a stage: one per partition, or one per range when the stage runs ranges.

    A multi-partitioned stage with a time dimension runs a range of that dimension per key of the
    other dimensions (as a backfill of a single-run asset does: `AM7|2026-11-02...AM7|2026-11-23`).
    """
    if partitions_def is None:
        return [RunPlan("(unpartitioned)", {})]
    if single_run and isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        keys = latest_keys(partitions_def, depth)
        return [_range(partitions_def, keys[0], keys[-1])] if keys else []
    if single_run and isinstance(partitions_def, dg.MultiPartitionsDefinition):
        dims = partitions_def.partitions_defs
        time_dims = [
            d for d in dims if isinstance(d.partitions_def, dg.TimeWindowPartitionsDefinition)
        ]
        if len(time_dims) == 1:
            (time_dim,) = time_dims
            others = [d for d in dims if d is not time_dim]
            combos: list[dict[str, str]] = [{}]
            for d in others:
                combos = [
                    {**c, d.name: k} for c in combos for k in d.partitions_def.get_partition_keys()
                ]
            weeks = latest_keys(time_dim.partitions_def, depth)
            if not weeks:
                return []
            return [
                _range(
                    partitions_def,
                    str(dg.MultiPartitionKey({**combo, time_dim.name: weeks[0]})),
                    str(dg.MultiPartitionKey({**combo, time_dim.name: weeks[-1]})),
                )
                for combo in combos
            ]
    return [
        RunPlan(key, dict(partitions_def.get_tags_for_partition_key(key)))
        for key in sample_partition_keys(partitions_def, depth)
        if key is not None
    ]


# -- stages -------------------------------------------------------------------------------------
@dataclass
class Stage:
    """Assets that run together: same partitions definition, upstreams of other stages done."""

    partitions_def: dg.PartitionsDefinition | None
    keys: list[dg.AssetKey]


def plan_stages(defs: dg.Definitions) -> list[Stage]:
    """Order the location's executable assets into stages, upstream stages first.

    A stage holds every asset of one partitions definition whose upstreams are done or in the
    same stage (a run orders its own steps), so a chain of daily assets is one run. The assets
    of a multi-asset that cannot be subset always stay in one stage.
    """
    graph = defs.resolve_asset_graph()
    units: dict[dg.AssetKey, frozenset[dg.AssetKey]] = {}
    for key in graph.executable_asset_keys:  # materializable assets and observable sources
        assets_def = graph.assets_def_for_key(key)
        units[key] = frozenset({key}) if assets_def.can_subset else frozenset(assets_def.keys)
    position = {key: n for n, key in enumerate(graph.toposorted_asset_keys)}
    todo = set(units)
    stages: list[Stage] = []
    while todo:
        by_partitions: dict[object, set[dg.AssetKey]] = {}
        for key in todo:
            by_partitions.setdefault(graph.get(key).partitions_def, set()).add(key)
        candidates: list[Stage] = []
        for pdef, group in by_partitions.items():
            group = set(group)
            changed = True
            while changed:  # drop assets waiting for an asset outside the group
                changed = False
                for key in sorted(group, key=lambda k: k.to_user_string()):
                    if key not in group:
                        continue
                    unit = units[key]
                    upstream = set().union(*(graph.get(k).parent_keys for k in unit)) - unit
                    if (upstream & todo) - group or not unit <= group:
                        group -= unit | {key}
                        changed = True
            if group:  # upstream first within the stage too (names the stage on its line)
                candidates.append(Stage(pdef, sorted(group, key=lambda k: position[k])))
        if not candidates:  # cannot happen in a valid graph; guard against an endless loop
            raise RuntimeError(f"cannot order assets: {sorted(k.to_user_string() for k in todo)}")
        stage = max(candidates, key=lambda s: len(s.keys))
        stages.append(stage)
        todo -= set(stage.keys)
    return stages


def stage_depth(history: Mapping[str, int | None], stage: Stage) -> int | None:
    """How many of the latest partitions the demo builds for a stage (a location's `HISTORY`)."""
    depths = [history[k.to_user_string()] for k in stage.keys if k.to_user_string() in history]
    if "*" in history:
        depths.append(history["*"])
    if not depths:
        return 1
    return ALL if ALL in depths else max(d for d in depths if d is not None)


def runs_ranges(graph: Any, stage: Stage) -> bool:
    """True when every materializable asset of the stage has a single-run backfill policy."""
    policies = [graph.get(k).backfill_policy for k in stage.keys if graph.get(k).is_materializable]
    return bool(policies) and all(
        p is not None
        and p.policy_type == BackfillPolicyType.SINGLE_RUN
        and p.max_partitions_per_run is None
        for p in policies
    )


# -- sample data the stages need before they run --------------------------------------------------
def _write_pothole_sample_days(
    defs: dg.Definitions, stages: list[Stage], history: Mapping[str, int | None]
) -> str | None:
    """Local mode: the raw sample days of the pothole range, so that the observation sees them."""
    from pothole_assets import lake_io

    options, lake = defs.resources.get("pothole"), defs.resources.get("lake")
    if options is None or lake is None or not getattr(options, "samples", False):
        return None
    days = sorted(
        {
            key
            for stage in stages
            if isinstance(stage.partitions_def, dg.TimeWindowPartitionsDefinition)
            for key in latest_keys(stage.partitions_def, stage_depth(history, stage))
        }
    )
    written = [
        day
        for day in days
        if lake_io.ensure_sample_day(
            lake, dt.date.fromisoformat(day), options.sample_readings_per_day
        )
    ]
    return f"sample raw days written: {len(written)} of {len(days)}" if written else None


PREPARE: dict[
    str, Callable[[dg.Definitions, list[Stage], Mapping[str, int | None]], str | None]
] = {
    "pothole": _write_pothole_sample_days,
}


# -- running ------------------------------------------------------------------------------------
@dataclass
class LocationSummary:
    """What the demo did in one location."""

    name: str
    assets: set[dg.AssetKey] = field(default_factory=set)
    partitions: set[str] = field(default_factory=set)
    rows: int = 0
    runs: int = 0
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    runs_failed: list[str] = field(default_factory=list)
    load_error: str | None = None
    has_assets: bool = True
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the location loaded and every run and every check passed."""
        return not self.load_error and not self.runs_failed and not self.checks_failed

    @property
    def status(self) -> str:
        """`ok`, `no assets yet`, `load failed` or `FAILED`."""
        if self.load_error:
            return "load failed"
        if not self.ok:
            return "FAILED"
        return "ok" if self.has_assets else "no assets yet"


def _row_count(metadata: dict) -> int:
    value = metadata.get("dagster/row_count")
    return int(value.value) if value is not None else 0


def _label(keys: Sequence[dg.AssetKey]) -> str:
    names = [k.to_user_string() for k in keys]
    return names[0] if len(names) == 1 else f"{names[0]} +{len(names) - 1}"


def _say(out: TextIO | None, text: str, end: str = "\n") -> None:
    if out is not None:
        out.write(text + end)
        out.flush()


def run_location(
    name: str,
    module_name: str,
    instance: dg.DagsterInstance,
    out: TextIO | None = None,
    history: Mapping[str, int | None] | None = None,
) -> LocationSummary:
    """Materialize every asset of one location for its demo partitions; progress lines to `out`.

    `history` defaults to the location's entry of `HISTORY`.
    """
    history = HISTORY.get(name, {}) if history is None else history
    summary = LocationSummary(name)
    started = time.monotonic()
    try:
        defs = location_defs(module_name)
        stages = plan_stages(defs)
    except Exception as exc:  # a location that does not load must not stop the others
        traceback.print_exc()  # into the log file
        summary.load_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        _say(out, f"[{name}] load failed: {summary.load_error}")
        summary.seconds = time.monotonic() - started
        return summary
    if not stages:
        summary.has_assets = False
        _say(out, f"[{name}] no assets yet")
        return summary
    prepare = PREPARE.get(name)
    if prepare is not None:
        note = prepare(defs, stages, history)
        if note:
            _say(out, f"[{name}] {note}")
    # The same code pointer `dagster asset materialize -m MODULE` uses: every step process of the
    # run re-imports the location module and runs its implicit asset job.
    job = ReconstructableRepository.for_module(
        module_name, "defs", working_directory=str(WORKSPACE.parent)
    ).get_reconstructable_job(defs.resolve_implicit_global_asset_job_def().name)
    graph = defs.resolve_asset_graph()
    for stage in stages:
        plans = plan_runs(
            stage.partitions_def, stage_depth(history, stage), runs_ranges(graph, stage)
        )
        if all(graph.get(k).is_observable for k in stage.keys):
            plans = plans[-1:]  # an observation looks at the source now: once is enough
        for plan in plans:
            _say(out, f"[{name}] {_label(stage.keys)} @ {plan.label} ...", end=" ")
            run_started = time.monotonic()
            in_process = any(k.to_user_string() in IN_PROCESS.get(name, ()) for k in stage.keys)
            verdict = _execute(summary, job, instance, stage, plan, in_process)
            _say(out, f"{verdict} ({time.monotonic() - run_started:.0f} s)")
    summary.seconds = time.monotonic() - started
    return summary


def _execute(
    summary: LocationSummary,
    job: Any,
    instance: dg.DagsterInstance,
    stage: Stage,
    plan: RunPlan,
    in_process: bool = False,
) -> str:
    """Run one plan; add its figures to `summary`; return the verdict shown on the line."""
    run_config = {"execution": {"config": {"in_process": {}}}} if in_process else None
    tags = {"platform/demo": "true", **plan.tags}
    what = f"{_label(stage.keys)} @ {plan.label}"
    summary.runs += 1
    failed_checks = 0
    try:
        with dg.execute_job(
            job, instance=instance, asset_selection=stage.keys, tags=tags, run_config=run_config
        ) as result:
            for event in result.get_asset_materialization_events():
                materialization = event.step_materialization_data.materialization
                summary.assets.add(materialization.asset_key)
                summary.rows += _row_count(dict(materialization.metadata))
                if materialization.partition is not None:
                    summary.partitions.add(materialization.partition)
            for event in result.get_asset_observation_events():
                summary.assets.add(event.asset_observation_data.asset_observation.asset_key)
            for evaluation in result.get_asset_check_evaluations():
                if evaluation.passed:
                    summary.checks_passed += 1
                else:
                    failed_checks += 1
                    summary.checks_failed.append(
                        f"{evaluation.asset_check_key.to_user_string()} @ {plan.label}"
                    )
            if not result.success:
                summary.runs_failed.append(f"{what} (run {result.run_id})")
                return f"FAILED, run {result.run_id}"
    except Exception as exc:
        traceback.print_exc()
        summary.runs_failed.append(f"{what}: {type(exc).__name__}: {exc}".splitlines()[0])
        return f"FAILED: {type(exc).__name__}"
    return f"ok, {failed_checks} check(s) failed" if failed_checks else "ok"


def print_summary(summaries: Sequence[LocationSummary], out: TextIO) -> None:
    """A table: location, assets, partitions, rows, checks passed/failed, seconds, status."""
    header = f"{'location':<12}{'assets':>7}{'partitions':>11}{'runs':>6}{'rows':>12}"
    header += f"{'checks ok':>10}{'failed':>7}{'seconds':>9}  status"
    print("\n" + header, file=out)
    print("-" * len(header), file=out)
    for s in summaries:
        print(
            f"{s.name:<12}{len(s.assets):>7}{len(s.partitions):>11}{s.runs:>6}{s.rows:>12,}"
            f"{s.checks_passed:>10}{len(s.checks_failed):>7}{s.seconds:>9.1f}  {s.status}",
            file=out,
        )
    for s in summaries:
        if s.load_error:
            print(f"{s.name} did not load: {s.load_error}", file=out)
        for failure in s.runs_failed:
            print(f"run failed in {s.name}: {failure}", file=out)
        for check in s.checks_failed:
            print(f"check failed in {s.name}: {check}", file=out)


@contextmanager
def output_to(log_path: Path) -> Iterator[None]:
    """Send this process's stdout/stderr, and those of every process it starts, to `log_path`.

    Both the file descriptors (inherited by the run's step processes, Spark's JVM, warnings) and
    the Python streams (Dagster's console logger of the run) are redirected.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    streams = sys.stdout, sys.stderr
    with open(log_path, "a", buffering=1, encoding="utf-8") as log:
        for fd in (1, 2):
            os.dup2(log.fileno(), fd)
        sys.stdout = sys.stderr = log
        try:
            yield
        finally:
            log.flush()
            sys.stdout, sys.stderr = streams
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)


def run_demo(
    locations: Sequence[tuple[str, str]],
    log_path: Path,
    out: TextIO,
    instance: dg.DagsterInstance | None = None,
    started: float | None = None,
) -> int:
    """Run the locations, the full log in `log_path`, progress and summary on `out`; exit code.

    Without `instance`, the one in $DAGSTER_HOME (loaded inside the redirection: its warnings go
    to the log too). The total time counts from `started` (default: now).
    """
    started = time.monotonic() if started is None else started
    _say(out, f"full log: {log_path}")
    summaries = []
    with output_to(log_path), ExitStack() as stack:
        if instance is None:
            instance = stack.enter_context(dg.DagsterInstance.get())
        for name, module_name in locations:
            summaries.append(run_location(name, module_name, instance, out))
    print_summary(summaries, out)
    print(f"\ntotal {time.monotonic() - started:.0f} s; full log: {log_path}", file=out)
    out.flush()
    return 0 if all(s.ok for s in summaries) else 1


def main(argv: Sequence[str]) -> int:
    """Run the demo for every location (or those named on the command line)."""
    from resources.settings import load_settings

    wanted = set(argv)
    locations = [(n, m) for n, m in workspace_locations() if not wanted or n in wanted]
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_path = load_settings().home / "logs" / f"demo-{stamp}.log"
    # The terminal: a copy of stdout taken before the redirection.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    return run_demo(locations, log_path, out, started=STARTED)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
