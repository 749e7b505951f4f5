"""`python -m inspig_assets.web_api [--host H] [--port P]`: serve the web API under uvicorn.

`--create-view` instead (re)creates `vw_ins_week_status` in the farm database and exits (once per
Oracle database, by a user allowed to create views; locally the service creates it itself).
"""

import argparse
import logging

import uvicorn
from starlette.applications import Starlette

from inspig_assets import schema as t
from inspig_assets.web_api.app import create_app
from inspig_assets.web_api.launcher import FarmReportLauncher
from resources.farm_db import FarmDbResource
from resources.settings import PlatformSettings, load_settings
from resources.warehouse import WarehouseResource

LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"


def farm_db_from(settings: PlatformSettings) -> FarmDbResource:
    """The farm database of the settings: Oracle, or locally the warehouse schema pigplan."""
    warehouse = WarehouseResource(
        url=settings.warehouse_url, embedded_dir=str(settings.home / "pg")
    )
    return FarmDbResource(oracle_url=settings.inspig_oracle_url, warehouse=warehouse)


def app_from(settings: PlatformSettings) -> Starlette:
    """The web API of the settings (DAGSTER_WEBSERVER_URL, INSPIG_WEB_API_RUN_TIMEOUT)."""
    settings.require("inspig")
    farm_db = farm_db_from(settings)

    def prepare() -> None:
        if not farm_db.is_oracle:
            with farm_db.begin() as conn:
                t.create_all(conn)

    return create_app(
        FarmReportLauncher(settings.webserver_url),
        farm_db.get_engine,
        run_timeout_s=settings.inspig_web_api_run_timeout,
        prepare=prepare,
    )


def main(argv: list[str] | None = None) -> None:
    """Serve the API, or create the status view."""
    parser = argparse.ArgumentParser(prog="python -m inspig_assets.web_api")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--create-view", action="store_true", help="create vw_ins_week_status")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    settings = load_settings()
    if args.create_view:
        with farm_db_from(settings).begin() as conn:
            t.create_week_status_view(conn, replace=True)
        print(f"created {t.WEEK_STATUS_VIEW}")
        return
    uvicorn.run(app_from(settings), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
