from django.db import migrations
from django.db.models import Max


def start_at_the_end_of_the_outbox(apps, schema_editor):
    # Events written before webhooks existed have no endpoint to go to: start after them, so
    # the first sender does not wait out the gaps of an old outbox.
    Event = apps.get_model("events", "Event")
    OutboxCursor = apps.get_model("webhooks", "OutboxCursor")
    last = Event.objects.aggregate(last=Max("seq"))["last"] or 0
    OutboxCursor.objects.get_or_create(name="global", defaults={"seq": last})


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial"), ("events", "0001_outbox")]

    operations = [migrations.RunPython(start_at_the_end_of_the_outbox, migrations.RunPython.noop)]
