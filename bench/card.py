"""Card speed: 5,000 users over 200 sales orgs, one window.

- Stage 1: `sales_org_material` + `sales_org_gscm` (the extract step) with the sample T2A answers
  served by a local HTTP server that answers each call after 100 ms (400 calls), with the default
  `MAX_WORKERS_SALES`. The answers are serialised before the timing (the server shares the
  client's process). Target ≤ 15 s.
- Stage 2: `user_scenario_result` for every user, including the PostgreSQL write: the asset's
  own time, and the set-based engine + write alone against a one-user-at-a-time loop over the
  same logic (each user's pages built alone and upserted alone), measured in the same run on a
  sample of users. Targets ≥ 500 users/s and ≥ 10 ×.

Server: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else a temporary embedded PostgreSQL.
The last line is the ratio.
"""

import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
from _quiet import QUIET_RUN_CONFIG as QUIET
from benchdb import bench_database_url, fresh_schema

from card_assets import sample, scenario, store
from card_assets.assets.cards import load_inputs, user_scenario_result
from card_assets.assets.extracts import sales_org_extracts
from card_assets.assets.merge import window_data
from card_assets.sources import CardOptions, ErpDbResource, T2AResource
from card_assets.window import window_bounds
from resources.lake import LakeResource
from resources.settings import PlatformSettings
from resources.warehouse import WarehouseResource, dispose_engines

ORGS, USERS = 200, 5_000
DELAY = 0.1
WINDOW = "2026-12-02-14:00"
LOOP_USERS = 100


def serve(bodies: dict[tuple[str, str], bytes]) -> ThreadingHTTPServer:
    """A T2A stand-in answering every POST after DELAY seconds with its prepared body."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            body = bodies[(query["query"], query["filters"]["Sales Org"][0])]
            time.sleep(DELAY)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    start, end = window_bounds(WINDOW)
    workers = PlatformSettings().max_workers_sales
    with bench_database_url() as url, fresh_schema(url, "bench_card") as schema:
        warehouse = WarehouseResource(url=url, search_path=schema)
        erp = ErpDbResource(
            warehouse=warehouse, local_schema=f"{schema}_erp", sample_orgs=ORGS, sample_users=USERS
        )
        erp.get_engine()  # the sample ERP, generated before the timing
        period = "202612"
        bodies = {
            (query, org): sample.t2a_body_for_query(
                {"query": query, "filters": {"Sales Org": [org], "Period": period}}
            ).encode()
            for query in ("SALES_ORG", "SALES_TOTAL")
            for org in sample.org_codes(ORGS)
        }
        server = serve(bodies)
        resources = {
            "warehouse": warehouse,
            "erp_db": erp,
            "lake": LakeResource(local_root=tempfile.mkdtemp(prefix="card-bench-")),
            "t2a": T2AResource(url=f"http://127.0.0.1:{server.server_port}"),
            "card": CardOptions(max_workers_sales=workers),
        }
        try:
            began = time.perf_counter()
            result = dg.materialize(
                [sales_org_extracts], partition_key=WINDOW, resources=resources, run_config=QUIET
            )
            stage1 = time.perf_counter() - began
            assert result.success
            dg.materialize(
                [window_data], partition_key=WINDOW, resources=resources, run_config=QUIET
            )
            result = dg.materialize(
                [user_scenario_result], partition_key=WINDOW, resources=resources, run_config=QUIET
            )
            assert result.success
            (event,) = result.get_asset_materialization_events()
            meta = event.materialization.metadata
            asset_rows, asset_s = meta["dagster/row_count"].value, meta["elapsed_s"].value

            inputs = load_inputs(erp, resources["lake"], start)
            began = time.perf_counter()
            chunks, _ = scenario.page_chunks(inputs)
            written = store.write_window(warehouse, chunks, start, end)
            set_s = time.perf_counter() - began
            set_rate = written / set_s

            ids = inputs.users["user_id"].tolist()[:: len(inputs.users) // LOOP_USERS][:LOOP_USERS]
            began = time.perf_counter()
            for user_id in ids:
                one, _ = scenario.build_pages(inputs.for_users([user_id]))
                one.insert(1, "window_start", start)
                warehouse.upsert(one, "user_scenario_result", ["user_id", "window_start"])
            loop_rate = len(ids) / (time.perf_counter() - began)
        finally:
            server.shutdown()
            dispose_engines(schema)
            dispose_engines(f"{schema}_erp")
            warehouse.execute(f'DROP SCHEMA IF EXISTS "{schema}_erp" CASCADE')
            dispose_engines(schema)
    print(f"orgs: {ORGS}, users: {USERS:,} ({len(inputs.users):,} with notifications on)")
    print(
        f"Stage 1 extract: {stage1:.1f} s for {2 * ORGS} T2A calls of {DELAY * 1000:.0f} ms, "
        f"MAX_WORKERS_SALES={workers} (target ≤ 15 s)"
    )
    print(
        f"Stage 2 asset: {asset_rows:,} users in {asset_s:.1f} s = {asset_rows / asset_s:,.0f} "
        "users/s (ERP and lake reads, engine, PostgreSQL write; target ≥ 500)"
    )
    print(f"Stage 2 set-based engine + write: {set_rate:,.0f} users/s")
    print(f"Stage 2 one user at a time ({len(ids)} users): {loop_rate:,.1f} users/s")
    print(f"Stage 2 ratio: {set_rate / loop_rate:,.0f} × (target ≥ 10 ×)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
