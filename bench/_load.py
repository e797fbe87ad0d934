"""A small closed-loop load generator: N clients (threads, one keep-alive
connection each) request a path back to back for a number of seconds; the
latencies of the answers are the figures. The server is another process
(gunicorn), so the GIL of this one bounds only how fast requests are sent."""

import dataclasses
import statistics
import threading
import time

import httpx


@dataclasses.dataclass(frozen=True)
class LoadResult:
    path: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    per_second: float

    def line(self, reference: "LoadResult | None" = None) -> str:
        ratio = f"{self.p95_ms / reference.p95_ms:5.1f}×" if reference and reference.p95_ms else "     "
        return (
            f"{self.path:<48} {self.requests:>7} {self.errors:>6} {self.p50_ms:>8.1f} {self.p95_ms:>8.1f} "
            f"{ratio} {self.max_ms:>8.1f} {self.per_second:>8.1f}"
        )


HEADER = (
    f"{'path':<48} {'requests':>7} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'ref×':>6} {'max ms':>8} {'req/s':>8}"
)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run_load(base: str, path: str, *, headers: dict[str, str], clients: int = 8, seconds: float = 30) -> LoadResult:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client() -> None:
        mine, bad = [], 0
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            http.get(path)  # warm the connection and the worker
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    status = http.get(path).status_code
                except httpx.HTTPError:
                    status = 0
                elapsed = (time.perf_counter() - started) * 1000
                if status == 200:
                    mine.append(elapsed)
                else:
                    bad += 1
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return LoadResult(
        path=path,
        requests=len(latencies),
        errors=errors[0],
        p50_ms=statistics.median(latencies) if latencies else 0.0,
        p95_ms=percentile(latencies, 0.95),
        max_ms=max(latencies, default=0.0),
        per_second=len(latencies) / wall if wall else 0.0,
    )
