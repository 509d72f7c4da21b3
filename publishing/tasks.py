"""Thin django-q2 tasks: they carry only a target id; the engine decides everything."""

from publishing import engine


def publish_target(target_id: int) -> None:
    engine.target_publish(target_id=target_id)


def reconcile_target(target_id: int) -> None:
    engine.target_reconcile(target_id=target_id)
