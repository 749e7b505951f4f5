"""`make demo`: materialize every asset of every code location for its sample partitions.

The locations come from workspace.yaml; each location's assets are grouped into stages (upstream
first, one partitions definition per stage) and run with `execute_job` on the Dagster instance in
$DAGSTER_HOME, with the job's own executor and every asset check of the selected assets. A summary
per location is printed and the exit code is non-zero when a run or a check failed.
"""

import importlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.definitions.reconstruct import ReconstructableRepository

WORKSPACE = Path(__file__).resolve().parent.parent / "workspace.yaml"


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


def sample_partition_keys(partitions_def: dg.PartitionsDefinition | None) -> list[str | None]:
    """Partitions the demo runs.

    The latest complete time window (with every key of the other dimensions of a multi-partitioned
    asset), or every key of a static definition.
    """
    if partitions_def is None:
        return [None]
    if isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        last = partitions_def.get_last_partition_key()
        return [last] if last else []
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        per_dimension: dict[str, list[str]] = {}
        for dimension in partitions_def.partitions_defs:
            keys = sample_partition_keys(dimension.partitions_def)
            per_dimension[dimension.name] = [k for k in keys if k is not None]
        combos: list[dict[str, str]] = [{}]
        for name, keys in per_dimension.items():
            combos = [{**combo, name: key} for combo in combos for key in keys]
        return [str(dg.MultiPartitionKey(combo)) for combo in combos]
    return list(partitions_def.get_partition_keys())


@dataclass
class Stage:
    """Assets that run together: same partitions definition, upstreams already done."""

    partitions_def: dg.PartitionsDefinition | None
    keys: list[dg.AssetKey]


def plan_stages(defs: dg.Definitions) -> list[Stage]:
    """Order the location's executable assets into stages, upstream stages first.

    The assets of a multi-asset that cannot be subset always stay in one stage.
    """
    graph = defs.resolve_asset_graph()
    units: dict[dg.AssetKey, frozenset[dg.AssetKey]] = {}
    for key in graph.executable_asset_keys:  # materializable assets and observable sources
        assets_def = graph.assets_def_for_key(key)
        units[key] = frozenset({key}) if assets_def.can_subset else frozenset(assets_def.keys)
    todo = set(units)
    stages: list[Stage] = []
    while todo:
        ready = set()
        for key in todo:
            unit = units[key]
            upstream = set().union(*(graph.get(k).parent_keys for k in unit)) - unit
            if not upstream & todo:
                ready |= unit
        if not ready:  # cannot happen in a valid graph; guard against an endless loop
            raise RuntimeError(f"cannot order assets: {sorted(k.to_user_string() for k in todo)}")
        by_partitions: dict[object, Stage] = {}
        for key in sorted(ready, key=lambda k: k.to_user_string()):
            pdef = graph.get(key).partitions_def
            by_partitions.setdefault(pdef, Stage(pdef, [])).keys.append(key)
        # Run one partitions definition per pass so that later passes see their upstreams.
        stage = max(by_partitions.values(), key=lambda s: len(s.keys))
        stages.append(stage)
        todo -= set(stage.keys)
    return stages


@dataclass
class LocationSummary:
    """What the demo did in one location."""

    name: str
    assets: set[dg.AssetKey] = field(default_factory=set)
    partitions: set[str] = field(default_factory=set)
    rows: int = 0
    checks_passed: int = 0
    checks_failed: int = 0
    runs_failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every run and every check passed."""
        return not self.runs_failed and not self.checks_failed


def _row_count(metadata: dict) -> int:
    value = metadata.get("dagster/row_count")
    return int(value.value) if value is not None else 0


def run_location(
    name: str, module_name: str, instance: dg.DagsterInstance, log: bool = True
) -> LocationSummary:
    """Materialize every asset of one location for its sample partitions."""
    summary = LocationSummary(name)
    started = time.monotonic()
    defs = location_defs(module_name)
    stages = plan_stages(defs)
    if not stages:
        if log:
            print(f"[{name}] no assets yet")
        return summary
    # The same code pointer `dagster asset materialize -m MODULE` uses: every step process of the
    # run re-imports the location module and runs its implicit asset job.
    job = ReconstructableRepository.for_module(
        module_name, "defs", working_directory=str(WORKSPACE.parent)
    ).get_reconstructable_job(defs.resolve_implicit_global_asset_job_def().name)
    for stage in stages:
        for partition in sample_partition_keys(stage.partitions_def):
            tags = {"platform/demo": "true"}
            if partition is not None and stage.partitions_def is not None:
                tags.update(stage.partitions_def.get_tags_for_partition_key(partition))
            label = ", ".join(k.to_user_string() for k in stage.keys)
            if log:
                print(f"[{name}] {label} @ {partition or '(unpartitioned)'}", flush=True)
            with dg.execute_job(
                job, instance=instance, asset_selection=stage.keys, tags=tags
            ) as result:
                for event in result.get_asset_materialization_events():
                    materialization = event.step_materialization_data.materialization
                    summary.assets.add(materialization.asset_key)
                    summary.rows += _row_count(dict(materialization.metadata))
                for event in result.get_asset_observation_events():
                    summary.assets.add(event.asset_observation_data.asset_observation.asset_key)
                for evaluation in result.get_asset_check_evaluations():
                    if evaluation.passed:
                        summary.checks_passed += 1
                    else:
                        summary.checks_failed += 1
                        print(f"  check failed: {evaluation.asset_check_key.to_user_string()}")
                if partition is not None:
                    summary.partitions.add(partition)
                if not result.success:
                    summary.runs_failed.append(f"{label} @ {partition} (run {result.run_id})")
    summary.seconds = time.monotonic() - started
    return summary


def print_summary(summaries: Sequence[LocationSummary]) -> None:
    """A table: location, assets, partitions, rows, checks passed/failed, seconds, status."""
    header = f"{'location':<12}{'assets':>8}{'partitions':>12}{'rows':>12}"
    header += f"{'checks ok':>11}{'failed':>8}{'seconds':>9}  status"
    print("\n" + header)
    print("-" * len(header))
    for s in summaries:
        print(
            f"{s.name:<12}{len(s.assets):>8}{len(s.partitions):>12}{s.rows:>12,}"
            f"{s.checks_passed:>11}{s.checks_failed:>8}{s.seconds:>9.1f}  "
            f"{'ok' if s.ok else 'FAILED'}"
        )
    for s in summaries:
        for failure in s.runs_failed:
            print(f"run failed in {s.name}: {failure}")


def main(argv: Sequence[str]) -> int:
    """Run the demo for every location (or those named on the command line)."""
    wanted = set(argv)
    locations = [(n, m) for n, m in workspace_locations() if not wanted or n in wanted]
    summaries = []
    with dg.DagsterInstance.get() as instance:
        for name, module_name in locations:
            summaries.append(run_location(name, module_name, instance))
    print_summary(summaries)
    return 0 if all(s.ok for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
