"""Import-by-URL records are pruned once old; their media stay in the library."""

from datetime import timedelta

import time_machine
from django.utils import timezone
from django_q.models import Schedule

from publishing.media import media_imports_prune, media_imports_prune_task
from publishing.models import Media, MediaImport


def _import(workspace, status: str, media=None) -> MediaImport:
    return MediaImport.objects.create(workspace=workspace, url="https://cdn.example/a.jpg", status=status, media=media)


def test_old_imports_go_and_recent_ones_and_their_media_stay(team, settings):
    settings.MEDIA_IMPORT_RETENTION_DAYS = 7
    media = Media.objects.create(
        workspace=team.workspace, file="media/a.jpg", kind="image", mime_type="image/jpeg", size=1, sha256="0" * 64
    )
    with time_machine.travel(timezone.now() - timedelta(days=8)):
        old_ready = _import(team.workspace, MediaImport.Status.READY, media)
        old_stuck = _import(team.workspace, MediaImport.Status.PROCESSING)
    with time_machine.travel(timezone.now() - timedelta(days=6)):
        recent = _import(team.workspace, MediaImport.Status.FAILED)
    assert media_imports_prune_task() == 2
    assert list(MediaImport.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not MediaImport.objects.filter(pk__in=[old_ready.pk, old_stuck.pk]).exists()
    assert Media.objects.filter(pk=media.pk).exists()
    assert media_imports_prune(older_than=timedelta(days=1)) == 1  # recent is 6 days old
    assert not MediaImport.objects.exists()


def test_the_prune_runs_daily(db):
    schedule = Schedule.objects.get(name="prune-media-imports")
    assert (schedule.func, schedule.schedule_type) == ("publishing.media.media_imports_prune_task", Schedule.DAILY)
