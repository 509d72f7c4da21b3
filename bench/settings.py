"""Settings for the dispatch benchmark: production settings plus the local fake platform."""

import os

os.environ.setdefault("DEBUG", "true")  # bench/dispatch.py runs with DEBUG off and its own keys

from config.settings import *  # noqa: F403

EXTRA_CONNECTION_PROVIDERS = {"benchnet": ("Bench network", "bench.fakeplatform.BenchProvider")}
if os.environ.get("BENCH_VIDEO_URL"):  # bench/videos.py: the real TikTok and YouTube, at its fakes
    EXTRA_CONNECTION_PROVIDERS |= {
        "tiktok": ("TikTok", "bench.fakevideo.BenchTikTok"),
        "youtube": ("YouTube", "bench.fakevideo.BenchYouTube"),
    }
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Short leases so that, with --kill-workers, a target a killed worker held is recovered within the run.
PUBLISH_QUEUE_LEASE_SECONDS = int(os.environ.get("BENCH_QUEUE_LEASE", 8))
PUBLISH_DEADLINE_SECONDS = int(os.environ.get("BENCH_DEADLINE", 8))
PUBLISH_RECONCILE_INTERVAL_SECONDS = 3
PUBLISH_BATCH_SIZE = int(os.environ.get("BENCH_BATCH", 8))
PUBLISH_WORKERS_TOTAL = int(os.environ.get("BENCH_WORKERS", 8))  # the one cluster's workers
RUN_ID = os.environ.get("BENCH_RUN_ID", "x")
PUBLISH_MEDIA_CLUSTER = f"media-{RUN_ID}"  # started by the benchmark with Q_CLUSTER_NAME=media-<run>
Q_CLUSTER = {
    **Q_CLUSTER,  # noqa: F405
    "name": f"bench-{RUN_ID}",  # a queue of its own per run
    "workers": int(os.environ.get("BENCH_WORKERS", 8)),
    "queue_limit": int(os.environ.get("BENCH_WORKERS", 8)),
    "timeout": 30,
    "retry": 40,
    "save_limit": -1,  # no success rows: the benchmark measures dispatch, not result storage
    "ack_failures": True,
    "sync": False,
    "ALT_CLUSTERS": {
        PUBLISH_MEDIA_CLUSTER: {"workers": int(os.environ.get("Q_MEDIA_WORKERS", 2)), "timeout": 600, "retry": 660}
    },
}
