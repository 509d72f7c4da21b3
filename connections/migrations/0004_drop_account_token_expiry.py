# A separate migration from the data move: PostgreSQL refuses to alter a table in the same
# transaction that updated its rows under deferred foreign-key checks.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("connections", "0003_grants_data")]

    operations = [migrations.RemoveField(model_name="socialaccount", name="token_expires_at")]
