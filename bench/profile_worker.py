#!/usr/bin/env python
"""Where a worker's CPU goes: publish N due targets in this process, with no queue in between.

Uses the dispatch benchmark's database, fake platform and settings; claims the targets with the
real dispatcher function, then runs the worker side once per claimed batch. Prints CPU and
queries per target, then the top of a cProfile (by cumulative time) unless --no-profile.

    .venv/bin/python bench/profile_worker.py --targets 300 --parts 1 --database-url ...
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, default=300)
    parser.add_argument("--parts", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--batch", type=int, default=8, help="targets per task (PUBLISH_BATCH_SIZE)")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="pstats order: cumulative or tottime")
    parser.add_argument("--dump", help="also write the profile to this file")
    parser.add_argument("--queries", action="store_true", help="list the query shapes per target")
    parser.add_argument("--threads", action="store_true", help="deliver a batch in threads, as workers do")
    args = parser.parse_args()
    args.workers, args.spread, args.media_workers = 1, 0, 1
    from bench import dispatch

    if args.database_url:
        dispatch.DEFAULT_DB = args.database_url
    args.database_url = args.database_url or dispatch.DEFAULT_DB
    dispatch.setup_django(args)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.fakeplatform import serve
    from publishing import engine

    server, ledger = serve(latency_ms=args.latency_ms, fault_rate=0)
    os.environ["BENCH_PLATFORM_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
    dispatch.reset_state(args)
    dispatch.create_targets(args.targets, 0, datetime.now(UTC), args.parts)
    engine.enqueue_publish = lambda batches: claimed.extend(batches)  # keep the tasks here
    claimed: list = []
    claim_started = time.process_time()
    while engine.targets_claim_due(limit=200):
        pass
    claim_cpu = time.process_time() - claim_started
    if not args.threads:  # the batch's targets one after the other, so the profile sees them all

        class Inline:
            """Runs each target at once in this thread; the window's futures are done when made."""

            map = staticmethod(map)

            @staticmethod
            def submit(fn, *args):
                future = Future()
                future.set_result(fn(*args))
                return future

        engine._pool = Inline
    profiler = cProfile.Profile(time.process_time)  # CPU, not wall time: the machine is shared
    started, thread_started, wall_started = time.process_time(), time.thread_time(), time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        if not args.no_profile:
            profiler.enable()
        ids = [target_id for target_id, _lane in claimed]
        for i in range(0, len(ids), args.batch):
            engine.targets_publish(target_ids=ids[i : i + args.batch])
        profiler.disable()
    cpu, wall = time.process_time() - started, time.perf_counter() - wall_started
    # This thread alone: without the fake platform's server thread (it runs in this process).
    engine_cpu = time.thread_time() - thread_started
    n = max(1, len(claimed))
    print(f"{len(ledger.creates)} parts created, {ledger.duplicates} duplicates, {len(ledger.creates) / wall:.1f}/s")
    print(f"claim: {claim_cpu * 1000 / n:.2f} ms CPU per target")
    print(f"publish: {cpu * 1000 / n:.2f} ms CPU per target (profiler on: {not args.no_profile}), "
          f"{len(queries) / n:.1f} queries per target")  # fmt: skip
    if not args.threads:
        print(f"publish, this thread only (no fake platform): {engine_cpu * 1000 / n:.2f} ms CPU per target")
    if args.queries:
        import collections
        import re

        shapes = collections.Counter(re.sub(r"\b\d+\b|'[^']*'", "?", q["sql"])[:150] for q in queries.captured_queries)
        for shape, count in shapes.most_common(40):
            print(f"{count / n:6.2f}  {shape}")
    if not args.no_profile:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
        if args.dump:
            profiler.dump_stats(args.dump)  # for pstats' callers and callees
    server.shutdown()


if __name__ == "__main__":
    main()
