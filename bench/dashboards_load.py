"""The managers' dashboards under load: gunicorn with the production settings
(3 workers), 8 concurrent clients per page for a number of seconds, as a store
manager and as the group admin, beside the reference (a bare view doing one
indexed query) measured on the same server in the same run.

    .venv/bin/python bench/dashboards_load.py --db crm_bench_group             # after bench/fill_group.py
    .venv/bin/python bench/dashboards_load.py --db crm_bench_group --seconds 10

Target (issue 13): every dashboard page p95 under 200 ms. The database must
hold the rollups (``manage.py build_rollups --full``, or bench/rollups_night.py).
Prints one table; not a test (pytest does not collect it).

The KPI pages can keep their rendered figures per nightly run
(``CRM_KPI_CACHE_SECONDS``): off by default here, so the figures are the pages'
own work; ``--cache 600`` measures them served from the cache (Redis) instead."""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._load import HEADER, run_load
from bench._server import REFERENCE_PATH, gunicorn, login

PAGES = [
    "/analytics/",
    "/analytics/retention/",
    "/analytics/care/",
    "/analytics/advisors/",
    "/analytics/value/",
    "/analytics/tiers/",
    "/analytics/complaints/",
    "/analytics/surveys/",
    "/analytics/campaigns/",
    "/analytics/customers/?metric=visits",
]
TARGET_P95_MS = 200.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="crm_bench_group")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--users", default="manager,admin", help="comma-separated logins (password demo1234)")
    parser.add_argument("--password", default="demo1234")
    parser.add_argument("--pages", default="", help="comma-separated paths instead of the default list")
    parser.add_argument(
        "--cache", type=int, default=0, help="CRM_KPI_CACHE_SECONDS of the server (0: the figures are not cached)"
    )
    args = parser.parse_args()
    # The server's settings read it (bench._settings); gunicorn inherits this environment.
    os.environ["CRM_KPI_CACHE_SECONDS"] = str(args.cache)
    pages = [p for p in args.pages.split(",") if p] or PAGES
    with gunicorn(args.db) as base:
        for username in args.users.split(","):
            headers = login(base, username, args.password)
            reference = run_load(base, REFERENCE_PATH, headers=headers, clients=args.clients, seconds=args.seconds)
            cached = f", KPI figures cached {args.cache} s" if args.cache else ", nothing cached"
            print(f"\n{args.db} as {username}: {args.clients} clients, {args.seconds:.0f} s per page{cached}")
            print(HEADER)
            print(reference.line())
            over = []
            for page in pages:
                result = run_load(base, page, headers=headers, clients=args.clients, seconds=args.seconds)
                print(result.line(reference), flush=True)
                if result.errors or result.p95_ms > TARGET_P95_MS:
                    over.append(page)
            verdict = "all under" if not over else f"over or failing: {', '.join(over)}"
            print(f"target p95 < {TARGET_P95_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
