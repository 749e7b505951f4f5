"""KOSPO backfill speed: a year of `nambu_generation` for 31 plant units in one run.

- A local HTTP server answers in the KOSPO XML shape (resultCode 800, `<items><item>`, `totalCnt`
  paging of 100 rows) after 50 ms per call, with the sample source's values.
- The asset runs over 2025-01-01 … 2025-12-31 as one run (its single-run backfill policy) with
  `dg.materialize`; the server counts the calls. Target: ≤ 31 × pages needed (31 × 4), ≤ 30 s.
  The client fetches `KospoResource.concurrency` (4) units at a time; the server's answers are
  computed before the timing (it shares the client's process and GIL).
- Upsert rate: the warehouse's upsert (COPY into staging + merge) of the year's rows into an empty
  table, against a raw COPY of the same rows already serialised as CSV, into the same table
  shape, in the same run (best of three). Target ≥ 0.5 ×.

Server: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else a temporary embedded PostgreSQL.
The last line is the upsert figure.
"""

import datetime as dt
import functools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import dagster as dg
import sqlalchemy as sa
from _quiet import QUIET_RUN_CONFIG as QUIET
from benchdb import bench_database_url, best_seconds, fresh_schema, raw_copy

from energy_assets import sample, store
from energy_assets.assets.nambu import nambu_generation
from energy_assets.plants import NAMBU_UNITS
from energy_assets.sources import KospoResource
from resources.copy_format import csv_chunks
from resources.warehouse import WarehouseResource

FIRST, LAST = dt.date(2025, 1, 1), dt.date(2025, 12, 31)
DELAY = 0.05
PAGE = 100


def page_xml(items: list[dict[str, str]], total: int) -> bytes:
    """A KOSPO answer in the recorded shape."""
    body = "".join(
        "<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>" for item in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><response><header>'
        "<resultCode>800</resultCode><resultMsg>NORMAL_SERVICE.</resultMsg></header><body>"
        f"<items>{body}</items><numOfRows>{PAGE}</numOfRows><totalCnt>{total}</totalCnt>"
        "</body></response>"
    ).encode()


# The server shares the client's process (and its GIL): its answers are computed once, before
# the timed run, so the wall time is the client's.
@functools.cache
def answer(gencd: str, hogi: int, first: dt.date, last: dt.date) -> list[dict[str, str]]:
    """The recorded answer of a range (computed once: the server's cost is not the client's)."""
    return sample.kospo_items(gencd, hogi, first, last, dt.date(2026, 1, 5))


class Kospo(BaseHTTPRequestHandler):
    """Answers after DELAY seconds; counts calls."""

    calls = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        with Kospo.lock:
            Kospo.calls += 1
        time.sleep(DELAY)
        q = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        first = dt.datetime.strptime(q["strSdate"], "%Y%m%d").date()
        last = dt.datetime.strptime(q["strEdate"], "%Y%m%d").date()
        items = answer(q["strOrgCd"], int(q["strHoki"]), first, last)
        size, page = int(q["numOfRows"]), int(q["pageNo"])
        data = page_xml(items[(page - 1) * size : page * size], len(items))
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Kospo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/kospo"
    with bench_database_url() as db, fresh_schema(db, "bench_energy") as schema:
        warehouse = WarehouseResource(url=db, search_path=schema)
        kospo = KospoResource(service_key="bench", url=url, pause_seconds=0, page_size=PAGE)
        for unit in NAMBU_UNITS:  # what the server will answer, prepared outside the timing
            answer(unit.gencd, unit.hogi, FIRST, LAST)
        started = time.perf_counter()
        result = dg.materialize(
            [nambu_generation],
            resources={"warehouse": warehouse, "kospo": kospo},
            run_config=QUIET,
            tags={
                "dagster/asset_partition_range_start": FIRST.isoformat(),
                "dagster/asset_partition_range_end": LAST.isoformat(),
            },
        )
        wall = time.perf_counter() - started
        assert result.success
        days = (LAST - FIRST).days + 1
        pages = -(-days // PAGE)
        rows = warehouse.read_frame("SELECT * FROM nambu_generation")
        print(f"units: {len(NAMBU_UNITS)}, days: {days}, rows: {len(rows):,}")
        print(
            f"api calls: {Kospo.calls} (target ≤ {len(NAMBU_UNITS)} × {pages} = "
            f"{len(NAMBU_UNITS) * pages})"
        )
        print(f"backfill wall time: {wall:.1f} s (target ≤ 30 s)")

        engine = warehouse.get_engine()
        frame = rows[[c for c in rows.columns]]
        data = b"".join(bytes(chunk) for chunk in csv_chunks(frame, 100_000))
        columns = ", ".join(f'"{c}"' for c in frame.columns)

        def reset() -> None:
            with engine.begin() as conn:
                conn.execute(sa.text("TRUNCATE nambu_generation"))

        upsert = best_seconds(
            3,
            reset,
            lambda: warehouse.upsert(frame, "nambu_generation", ["datetime", "gencd", "hogi"]),
        )
        copy = best_seconds(
            3,
            reset,
            lambda: raw_copy(
                engine, f"COPY nambu_generation ({columns}) FROM STDIN (FORMAT csv)", data
            ),
        )
        store.ensure_tables(warehouse)
        up_rate, copy_rate = len(frame) / upsert, len(frame) / copy
        print(f"raw COPY: {copy_rate:,.0f} rows/s")
        print(f"upsert rows/s: {up_rate:,.0f} ({up_rate / copy_rate:.2f} ×, target ≥ 0.5 ×)")
    server.shutdown()


if __name__ == "__main__":
    main()
