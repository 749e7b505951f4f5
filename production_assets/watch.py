"""Change detection with a stabilisation rule, evaluated one tick at a time (no sleeping).

A file's change is acted on once its (mtime, size) signature, WAL included, differs from the last
handled one and has then stayed the same through `checks` consecutive checks at least `wait_s`
seconds apart. A change seen while the file is still being written restarts the count but is never
forgotten: the handled signature only moves when a stable state is acted on. Plain Python: no
Dagster imports.
"""

import json
import sqlite3
from dataclasses import asdict, dataclass, field

from production_assets.databases import DatabaseFileError, DbLayout, signature
from production_assets.summaries import changed_months, month_fingerprints

STABILIZATION_CHECKS = 3
STABILIZATION_WAIT_S = 5.0
MAX_STABILIZATION_RESTARTS = 5

Signature = list[int]  # see databases.signature


@dataclass
class FileWatch:
    """Per-file state kept in the sensor cursor."""

    handled: Signature | None = None  # signature last acted on
    observed: Signature | None = None  # pending signature being confirmed
    confirmations: int = 0
    last_check: float = 0.0
    restarts: int = 0

    def to_json(self) -> dict:
        """JSON-able form for the cursor."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> "FileWatch":
        """Inverse of `to_json` (tolerates a missing entry)."""
        return cls(**data) if data else cls()

    @property
    def pending(self) -> bool:
        """True while a change waits for the file to settle."""
        return self.observed is not None


def advance(
    watch: FileWatch,
    sig: tuple[int, ...] | None,
    now: float,
    checks: int = STABILIZATION_CHECKS,
    wait_s: float = STABILIZATION_WAIT_S,
) -> tuple[FileWatch, str]:
    """One check of one file: returns the new state and what happened.

    Events: `unchanged`, `pending` (a change is settling), `unstable` (still changing after
    MAX_STABILIZATION_RESTARTS restarts; kept pending), `stable` (act on it now), `missing`;
    `evaluate` adds `vanished` for an archive that is no longer in the folder.
    """
    state = FileWatch(**asdict(watch))
    if sig is None:
        state.observed, state.confirmations, state.restarts = None, 0, 0
        return state, "missing"
    current = list(sig)
    if state.observed is None:
        if current == state.handled:
            return state, "unchanged"
        state.observed, state.confirmations, state.last_check = current, 0, now
        return state, "pending"
    if current != state.observed:
        state.observed, state.confirmations, state.last_check = current, 0, now
        state.restarts += 1
        return state, "unstable" if state.restarts > MAX_STABILIZATION_RESTARTS else "pending"
    if now - state.last_check >= wait_s:
        state.confirmations += 1
        state.last_check = now
    if state.confirmations < checks:
        return state, "pending"
    changed = current != state.handled
    state.handled, state.observed, state.confirmations, state.restarts = current, None, 0, 0
    return state, "stable" if changed else "unchanged"


@dataclass
class WatchOutcome:
    """Result of one evaluation over every database file."""

    cursor: str
    fired: list[str]
    changed_months: list[str]
    events: dict[str, str]
    errors: dict[str, str]
    # Archives seen before and no longer in the folder; their months are not requested.
    vanished: list[str] = field(default_factory=list)
    newly_vanished: list[str] = field(default_factory=list)  # of those, gone since the last tick


def evaluate(
    cursor: str | None,
    layout: DbLayout,
    now: float,
    checks: int = STABILIZATION_CHECKS,
    wait_s: float = STABILIZATION_WAIT_S,
    busy_timeout_s: float = 5.0,
) -> WatchOutcome:
    """One sensor tick: advance every file's stabilisation and find the months whose data changed.

    The cursor holds, per file, the stabilisation state and the month digests of the last settled
    state with the date range it was computed for. Digests are recomputed only for a file whose
    change just settled or whose range moved (an archive appeared or went away).
    """
    state = json.loads(cursor) if cursor else {}
    old_watch: dict[str, dict] = state.get("files", {})
    old_prints: dict[str, dict] = state.get("fingerprints", {})
    new_watch: dict[str, dict] = {}
    new_prints: dict[str, dict] = {}
    events: dict[str, str] = {}
    errors: dict[str, str] = {}
    fired: list[str] = []
    for db in layout.files:
        previous = FileWatch.from_json(old_watch.get(db.name))
        watch, event = advance(previous, signature(db.path), now, checks, wait_s)
        events[db.name] = event
        kept = old_prints.get(db.name)
        bounds = [db.start, db.end]
        needs_digest = event == "stable" or (
            not watch.pending and event != "missing" and (kept is None or kept["range"] != bounds)
        )
        if needs_digest:
            try:
                new_prints[db.name] = {
                    "range": bounds,
                    "months": month_fingerprints(db, busy_timeout_s),
                }
                if event == "stable":
                    fired.append(db.name)
            except (DatabaseFileError, sqlite3.Error) as exc:
                # Not acted on: forget that this state was handled so it is taken up again.
                errors[db.name] = str(exc)
                watch.handled = previous.handled
                if kept is not None:
                    new_prints[db.name] = kept
        elif kept is not None:
            new_prints[db.name] = kept
        new_watch[db.name] = watch.to_json()
    # An archive that disappeared keeps its state: its months must not look emptied (the summaries
    # refuse to rebuild them without it), and if it comes back unchanged nothing is requested.
    present = {db.name for db in layout.files}
    vanished = sorted(name for name in old_watch if name not in present)
    for name in vanished:
        new_watch[name] = old_watch[name]
        if name in old_prints:
            new_prints[name] = old_prints[name]
        events[name] = "vanished"
    months = changed_months(
        {k: v["months"] for k, v in old_prints.items()},
        {k: v["months"] for k, v in new_prints.items()},
    )
    new_cursor = json.dumps(
        {"files": new_watch, "fingerprints": new_prints, "vanished": vanished}, sort_keys=True
    )
    newly = [name for name in vanished if name not in state.get("vanished", [])]
    return WatchOutcome(new_cursor, fired, months, events, errors, vanished, newly)
