"""The web system's HTTP API (pig3.1 calls it on port 8001), served by Starlette under uvicorn.

`GET /health`, `POST /api/etl/run-farm` (launches `inspig_farm_report_job` through the Dagster
GraphQL API and answers from the run's metadata) and `GET /api/etl/status/{farm_no}` (reads the
view `vw_ins_week_status` of the farm database), with the original's paths, bodies and fields.
"""
