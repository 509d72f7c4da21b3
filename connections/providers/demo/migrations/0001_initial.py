# The model that was connections.DemoPost, taken over with its table (connections_demopost) and
# rows as they are: the state is created here, the database is left alone. Its content type
# (and with it the admin permissions and log entries that point to it) is relabelled, not
# recreated.

import django.db.models.deletion
from django.db import migrations, models

import connections.providers.demo.models


def relabel_content_type(apps, schema_editor, *, old: str = "connections", new: str = "demo") -> None:
    content_types = apps.get_model("contenttypes", "ContentType").objects.using(schema_editor.connection.alias)
    if not content_types.filter(app_label=new, model="demopost").exists():
        content_types.filter(app_label=old, model="demopost").update(app_label=new)


def relabel_back(apps, schema_editor) -> None:
    relabel_content_type(apps, schema_editor, old="demo", new="connections")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("connections", "0006_demopost_to_demo_app"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DemoPost",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("account_external_id", models.CharField(max_length=255)),
                        (
                            "post_id",
                            models.CharField(
                                default=connections.providers.demo.models.new_demo_post_id, max_length=32, unique=True
                            ),
                        ),
                        ("idempotency_key", models.CharField(max_length=255)),
                        ("text", models.TextField()),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "parent",
                            models.ForeignKey(
                                blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to="demo.demopost"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "connections_demopost",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("account_external_id", "idempotency_key"), name="demo_idempotency"
                            )
                        ],
                    },
                ),
            ]
        ),
        migrations.RunPython(relabel_content_type, relabel_back),
    ]
