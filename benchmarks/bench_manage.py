"""Time the local ledger and the manage client on a large usage history.

Run: python benchmarks/bench_manage.py [--requests N]
Prints: ledger writes per second (each a recorded, charged request), the local engine's time to
answer /requests (one page), /usage/breakdown and /billing/breakdown over N requests, and the
client's time to build the requests DataFrame of N rows.
"""
from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

from starlette.testclient import TestClient

from dgnb.local.app import create_app
from dgnb.local.ledger import iso
from dgnb.local.routes.manage import routes
from dgnb.api.manage import requests_frame


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    n = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(data_dir=tmp)
        app.router.routes.extend(routes())
        ledger = app.state.engine.ledger
        admin = ledger.authenticate(f"Token {ledger.admin_key}")
        now = datetime.now(timezone.utc)
        started = time.perf_counter()
        for i in range(n):
            ledger.record_request(request_id=str(uuid.uuid4()), principal=admin, duration=30.0 + i % 60, channels=1,
                                  model="whisper-tiny.en", features=["punctuate", "diarize"][: 1 + i % 2],
                                  tags=["bench"], created=iso(now - timedelta(minutes=i)))
        write = time.perf_counter() - started
        print(f"ledger: {n / write:,.0f} recorded+charged requests/s")
        client = TestClient(app, headers={"Authorization": f"Token {ledger.admin_key}"})
        pid = ledger.default_project_id
        for label, path, params in [
            ("GET /requests (1000 rows)", f"/v1/projects/{pid}/requests", {"limit": 1000}),
            ("GET /usage/breakdown by models", f"/v1/projects/{pid}/usage/breakdown", {"grouping": "models"}),
            ("GET /billing/breakdown by accessor", f"/v1/projects/{pid}/billing/breakdown", {"grouping": "accessor"}),
        ]:
            started = time.perf_counter()
            r = client.get(path, params=params)
            assert r.status_code == 200, r.text
            print(f"{label}: {(time.perf_counter() - started) * 1000:.0f} ms")
        pages = [client.get(f"/v1/projects/{pid}/requests", params={"limit": 1000, "page": p}).json()
                 for p in range((n + 999) // 1000)]
        started = time.perf_counter()
        df = requests_frame(pages)
        print(f"client: requests DataFrame of {len(df):,} rows in {(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
