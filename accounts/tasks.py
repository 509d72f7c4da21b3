from accounts.health import WORKER, heartbeat_record


def worker_heartbeat() -> None:
    """Scheduled every minute: proves the scheduler, the broker and a worker all run."""
    heartbeat_record(WORKER)
