from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_schedules(sender: object, **kwargs: object) -> None:
    from django_q.models import Schedule

    jobs = {
        "refresh-expiring-tokens": ("connections.tasks.refresh_expiring_tokens", 5),
        "expire-connect-sessions": ("connections.tasks.expire_connect_sessions", 60),
        "warn-expiring-consents": ("connections.tasks.warn_expiring_consents", 60),
    }
    for name, (func, minutes) in jobs.items():
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes}
        )


class ConnectionsConfig(AppConfig):
    name = "connections"
    verbose_name = "Social account connections"

    def ready(self) -> None:
        post_migrate.connect(ensure_schedules, sender=self)
