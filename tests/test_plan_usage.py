"""The settings page shows the workspace's plan, usage against each limit and what happens at the
limit, counted as the services count before they refuse."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Plan
from accounts.plan_usage import plan_usage
from accounts.services import invitation_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seeded_plans")]


def _row(page: str, label: str) -> str:
    match = re.search(rf'<tr data-limit="{label}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, label
    return match.group(0)


def test_the_page_shows_usage_against_each_limit(team, demo_accounts):
    Plan.objects.filter(name="Free").update(connected_accounts=2, members=10, webhook_endpoints=None)
    page = team.client("admin").get(reverse("workspace_settings")).content.decode()
    assert "Plan: Free" in page
    accounts = _row(page, "connected accounts")
    assert "2 of 2" in accounts
    assert "at the limit" in accounts
    assert "Connecting another account is refused" in accounts
    assert "4 of 10" in _row(page, "members")
    assert "0 (no limit)" in _row(page, "webhook endpoints")


def test_usage_counts_what_the_services_refuse_on(team):
    Plan.objects.filter(name="Free").update(members=5)
    invitation_create(actor=team.membership("admin"), email="new@example.com", role="editor")
    _plan, rows = plan_usage(team.workspace)
    members = next(usage for usage, _ in rows if usage.label == "members")
    assert (members.used, members.limit, members.at_limit) == (5, 5, True)
    with pytest.raises(ValidationError):
        invitation_create(actor=team.membership("admin"), email="more@example.com", role="editor")


def test_no_plan_means_no_limits(team):
    Plan.objects.update(is_default=False)
    plan, rows = plan_usage(team.workspace)
    assert plan is None
    assert all(usage.limit is None and not usage.at_limit for usage, _ in rows)
    assert "nothing is limited" in team.client("owner").get(reverse("workspace_settings")).content.decode()
