from django.db import migrations

# name: (connected accounts, members, scheduled posts a month, API requests a minute, webhook endpoints)
PLANS = {
    "Free": (10, 10, 1000, 60, 2),
    "Starter": (25, 5, 2000, 120, 5),
    "Pro": (100, 20, 20000, 600, 20),
    "Agency": (None, None, None, 3000, 100),
}
FIELDS = ("connected_accounts", "members", "scheduled_posts_per_month", "api_requests_per_minute", "webhook_endpoints")


def seed(apps, schema_editor):
    Plan = apps.get_model("accounts", "Plan")
    for name, limits in PLANS.items():
        Plan.objects.update_or_create(
            name=name, defaults={"is_default": name == "Free", **dict(zip(FIELDS, limits, strict=False))}
        )


def unseed(apps, schema_editor):
    apps.get_model("accounts", "Plan").objects.filter(name__in=PLANS, workspaces=None).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_plans")]
    operations = [migrations.RunPython(seed, unseed)]
