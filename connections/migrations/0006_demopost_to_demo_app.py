# The Demo network's model moved to its own app (connections/providers/demo, label "demo"), which
# keeps the table: here it only leaves this app's state, and no row is touched.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("connections", "0005_oauth_app_plural")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="DemoPost")]),
    ]
