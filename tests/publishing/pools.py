"""The engine's worker-thread pool, made for one test and closed after it."""

import os
import threading

from django.db import connections

from publishing import engine


def close_worker_pool() -> None:
    """Close this process's pool, each of its threads closing its own database connections first
    (the test database cannot be dropped while they are open)."""
    pool = engine._pools.pop(os.getpid(), None)
    if pool is not None:
        barrier = threading.Barrier(pool._max_workers)  # one call on each thread of the pool
        list(pool.map(lambda _: (barrier.wait(5), connections.close_all()), range(pool._max_workers)))
        pool.shutdown()
