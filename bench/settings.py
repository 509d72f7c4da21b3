"""Settings for the dispatch benchmark: production settings plus the local fake platform."""

import os

os.environ.setdefault("DEBUG", "true")

from config.settings import *  # noqa: F403

EXTRA_CONNECTION_PROVIDERS = {"benchnet": ("Bench network", "bench.fakeplatform.BenchProvider")}
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Short leases so that, with --kill-workers, a target a killed worker held is recovered within the run.
PUBLISH_QUEUE_LEASE_SECONDS = int(os.environ.get("BENCH_QUEUE_LEASE", 8))
PUBLISH_DEADLINE_SECONDS = int(os.environ.get("BENCH_DEADLINE", 8))
PUBLISH_RECONCILE_INTERVAL_SECONDS = 3
Q_CLUSTER = {
    **Q_CLUSTER,  # noqa: F405
    "name": f"bench-{os.environ.get('BENCH_RUN_ID', 'x')}",  # a queue of its own per run
    "workers": int(os.environ.get("BENCH_WORKERS", 8)),
    "timeout": 30,
    "retry": 40,
    "save_limit": -1,  # no success rows: the benchmark measures dispatch, not result storage
    "ack_failures": True,
    "sync": False,
}
