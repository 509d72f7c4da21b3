"""Thin django-q2 tasks: they carry only the run's id; analytics/imports.py decides the rest."""

from analytics import imports


def import_posts(run_id: int) -> None:
    imports.import_run(run_id=run_id)
