from django.apps import AppConfig
from django.db.models.signals import post_migrate


def ensure_schedules(sender: object, **kwargs: object) -> None:
    from django_q.models import Schedule

    # Chunked uploads nobody finished: their part files would otherwise fill the disk.
    Schedule.objects.update_or_create(
        name="expire-media-uploads",
        defaults={"func": "publishing.uploads.uploads_expire_task", "schedule_type": Schedule.HOURLY},
    )
    # Records of imports by URL (GET /media/imports/{id}): followed for a while, then of no use.
    Schedule.objects.update_or_create(
        name="prune-media-imports",
        defaults={"func": "publishing.media.media_imports_prune_task", "schedule_type": Schedule.DAILY},
    )


class PublishingConfig(AppConfig):
    name = "publishing"
    verbose_name = "Publishing"

    def ready(self) -> None:
        post_migrate.connect(ensure_schedules, sender=self)
