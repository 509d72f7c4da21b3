"""Thin django-q2 tasks: they carry only target ids; the engine decides everything."""

from publishing import engine


def publish_targets(target_ids: list[int]) -> None:
    engine.targets_publish(target_ids=target_ids)


def publish_target(target_id: int) -> None:  # tasks enqueued before batches existed
    engine.target_publish(target_id=target_id)


def reconcile_target(target_id: int) -> None:
    engine.target_reconcile(target_id=target_id)
