from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_schedules(sender, **kwargs) -> None:
    from django_q.models import Schedule

    # Idempotency records past their retention and rate counters of past minutes.
    Schedule.objects.update_or_create(
        name="prune-api-records",
        defaults={"func": "api.idempotency.api_records_prune", "schedule_type": Schedule.HOURLY},
    )


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Developer API"

    def ready(self) -> None:
        post_migrate.connect(ensure_schedules, sender=self)
