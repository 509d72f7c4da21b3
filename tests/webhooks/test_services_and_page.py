"""Who may manage webhooks, tenancy, URL checks, the page (secret shown once), replay, retention."""

import socket
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook

from accounts.models import Membership
from tests.fixtures import assert_role_gate
from tests.test_csp import InlineCode
from tests.webhooks.conftest import emit, run_pass
from webhooks import services
from webhooks.models import Delivery, Endpoint


def test_editors_cannot_manage_webhooks(team, receiver):
    with pytest.raises(PermissionDenied):
        services.endpoint_create(actor=team.membership("editor"), url=receiver.url)
    assert not Endpoint.objects.exists()


def test_another_workspaces_endpoint_is_not_found_by_services(team, endpoint):
    theirs = Membership.objects.get(workspace=team.other_workspace)
    with pytest.raises(Endpoint.DoesNotExist):
        services.endpoint_update(actor=theirs, endpoint=endpoint, description="mine now")
    with pytest.raises(Endpoint.DoesNotExist):
        services.endpoint_rotate_secret(actor=theirs, endpoint=endpoint)
    with pytest.raises(Endpoint.DoesNotExist):
        services.endpoint_get(actor=theirs, endpoint_id=endpoint.pk)
    assert list(services.deliveries_list(actor=theirs)) == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Enter the URL"),
        ("ftp://example.com/x", "starting with https://"),
        ("https://user:pw@example.com/x", "credentials"),
        ("http://example.com/x", "only https://"),
        ("https://127.0.0.1/x", "private or local"),
        ("https://hooks.internal/x", "private or local"),
        ("https://[::1]:99999/x", "not a valid URL"),
    ],
)
def test_urls_that_cannot_receive_webhooks_in_production_are_refused(team, settings, monkeypatch, url, message):
    settings.ALLOW_PRIVATE_NETWORK_URLS = False
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host == "hooks.internal":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.1.4", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(ValidationError, match=message):
        services.endpoint_create(actor=team.membership("admin"), url=url)


def test_unknown_event_types_are_refused(team, receiver):
    with pytest.raises(ValidationError, match=r"Unknown event type: post\.exploded"):
        services.endpoint_create(actor=team.membership("admin"), url=receiver.url, event_types=["post.exploded"])


def test_the_secret_is_encrypted_at_rest(team, endpoint):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_endpoint WHERE id = %s", [endpoint.pk])
        (stored,) = cursor.fetchone()
    assert endpoint.plain_secret not in stored
    assert Endpoint.objects.get().secret == endpoint.plain_secret


def test_the_page_is_for_admins_and_others_endpoints_are_404(team, endpoint):
    assert_role_gate(team, reverse("webhook_detail", args=[endpoint.pk]), lowest="admin")
    assert_role_gate(team, reverse("webhook_list"), lowest="admin", object_url=False)
    delivery_url = reverse("webhook_deliveries", args=[endpoint.pk])
    assert team.client("outsider").get(delivery_url).status_code == 404


def test_create_shows_the_secret_once_and_never_again(team, receiver):
    admin = team.client("admin")
    response = admin.post(reverse("webhook_list"), {"url": receiver.url, "event_types": ["post.published"]})
    assert response.status_code == 201
    endpoint = Endpoint.objects.get()
    assert endpoint.secret in response.content.decode()
    assert endpoint.event_types == ["post.published"]
    page = admin.get(reverse("webhook_detail", args=[endpoint.pk])).content.decode()
    assert endpoint.secret not in page
    assert endpoint.secret[-4:] in page  # the hint
    parser = InlineCode()
    parser.feed(response.content.decode() + page)
    assert parser.found == []  # the CSP forbids inline script and style


def test_a_bad_url_on_the_page_is_a_clear_400(team):
    response = team.client("admin").post(reverse("webhook_list"), {"url": "ftp://nope"})
    assert response.status_code == 400
    assert "starting with https://" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_rotate_on_the_page_shows_the_new_secret_and_keeps_the_old_one_signing(team, endpoint):
    response = team.client("admin").post(reverse("webhook_rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret in response.content.decode()
    assert endpoint.signing_secrets() == [endpoint.secret, endpoint.plain_secret]


def test_the_test_event_is_sent_at_once_and_shown(team, endpoint, receiver):
    response = team.client("admin").post(reverse("webhook_test", args=[endpoint.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    (got,) = receiver.received
    assert Webhook(endpoint.plain_secret).verify(got.body, got.headers)["type"] == "webhook.test"
    assert "webhook.test" in response.content.decode()
    assert "Test event delivered" in response.content.decode()


def test_replay_one_and_all_failed_since_a_time(team, endpoint, receiver):
    receiver.script = [(500, {})] * 2
    first, second = emit(team.workspace, subject_id=1), emit(team.workspace, subject_id=2)
    run_pass()
    assert Delivery.objects.filter(status=Delivery.Status.FAILED).count() == 2
    Delivery.objects.filter(event=first).update(created_at=timezone.now() - timedelta(days=2))
    admin = team.membership("admin")
    assert (
        services.deliveries_replay_failed(actor=admin, endpoint=endpoint, since=timezone.now() - timedelta(hours=1))
        == 1
    )
    run_pass()
    assert Delivery.objects.get(event=second).status == Delivery.Status.SUCCEEDED
    old = Delivery.objects.get(event=first)
    response = team.client("admin").post(reverse("delivery_replay", args=[old.pk]))
    assert response.status_code == 302
    run_pass()
    old.refresh_from_db()
    assert old.status == Delivery.Status.SUCCEEDED
    assert receiver.ids().count(first.public_id) == 2  # the failed try and the replay share the id
    assert team.client("outsider").post(reverse("delivery_replay", args=[old.pk])).status_code == 404


def test_a_disabled_endpoint_can_be_enabled_again(team, endpoint):
    client = team.client("admin")
    client.post(reverse("webhook_toggle", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    with pytest.raises(ValidationError, match="Enable the endpoint first"):
        services.deliveries_replay_failed(actor=team.membership("admin"), endpoint=endpoint, since=timezone.now())
    client.post(reverse("webhook_toggle", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert endpoint.disabled_reason == ""


def test_delete_removes_the_endpoint_and_its_deliveries(team, endpoint, receiver):
    emit(team.workspace)
    run_pass()
    team.client("admin").post(reverse("webhook_delete", args=[endpoint.pk]))
    assert not Endpoint.objects.exists()
    assert not Delivery.objects.exists()


def test_retention_deletes_finished_logs_older_than_the_setting(team, endpoint, receiver, settings):
    settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 30
    receiver.script = [(500, {})]
    for n in range(3):
        emit(team.workspace, subject_id=n + 1)
    run_pass()  # one failed (still retrying), two delivered
    Delivery.objects.update(created_at=timezone.now() - timedelta(days=31))
    recent = emit(team.workspace, subject_id=9)
    run_pass()
    call_command("webhooks_prune")
    left = Delivery.objects.all()
    assert {d.status for d in left if d.event_id != recent.pk} == {Delivery.Status.FAILED}
    assert left.filter(event=recent).exists()


def test_a_disabled_endpoint_gets_no_test_event(team, endpoint, receiver):
    services.endpoint_update(actor=team.membership("admin"), endpoint=endpoint, enabled=False)
    response = team.client("admin").post(reverse("webhook_test", args=[endpoint.pk]), headers={"HX-Request": "true"})
    assert "Enable the endpoint first" in response.content.decode()
    assert receiver.received == []
    assert not Delivery.objects.exists()


def test_the_sender_command_delivers_in_one_pass(team, endpoint, receiver, capsys):
    event = emit(team.workspace)
    call_command("webhooks_send", "--once")
    assert receiver.ids() == [event.public_id]
    assert "queued 1, sent 1: 1 delivered, 0 failed" in capsys.readouterr().out


def test_the_plan_limits_webhook_endpoints_with_its_own_words(team, receiver):
    from accounts.models import Plan

    plan = Plan.objects.create(name="Tiny", webhook_endpoints=1)
    team.workspace.plan = plan
    team.workspace.save()
    admin = team.membership("admin")
    services.endpoint_create(actor=admin, url=receiver.url)
    with pytest.raises(ValidationError) as caught:
        services.endpoint_create(actor=admin, url=receiver.url + "second")
    assert f"The {plan.name} plan allows 1" in str(caught.value)
    assert Endpoint.objects.count() == 1
