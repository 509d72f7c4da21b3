"""/webhooks through the API: webhooks.services with the key as actor, against a real receiver
on loopback, signatures checked with the standardwebhooks verifier (during rotation too)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from tests.api.conftest import assert_problem
from tests.webhooks.conftest import emit, run_pass
from tests.webhooks.receiver import start_receiver
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    r = start_receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(autouse=True)
def _outbox_cursor(db):
    from webhooks import sender

    sender._cursor()


def _create(api, keys, receiver, **extra) -> dict:
    response = api.post("/webhooks", keys.write, {"url": receiver.url, **extra})
    assert response.status_code == 201, response.content
    return response.json()


def _verified(secret: str, received) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


def test_create_shows_the_secret_once_and_deliveries_verify(api, keys, team, receiver):
    created = _create(api, keys, receiver, event_types=["post.published"], description="billing")
    secret = created["signing_secret"]
    assert secret.startswith("whsec_")
    assert created["event_types"] == ["post.published"]
    assert response_lacks(api.get(f"/webhooks/{created['id']}", keys.write), secret)
    assert response_lacks(api.get("/webhooks", keys.write), secret)
    emit(team.workspace, "post.published", subject_id=41)
    emit(team.workspace, "post.failed", subject_id=42)  # not subscribed
    run_pass()
    assert len(receiver.received) == 1
    event = _verified(secret, receiver.received[0])
    assert (event["type"], event["data"]) == ("post.published", {"post_id": 41, "status": "published"})


def response_lacks(response, secret: str) -> bool:
    assert response.status_code == 200, response.content
    return secret not in response.content.decode()


def test_update_events_url_and_pause(api, keys, receiver):
    other = start_receiver()
    try:
        hook = _create(api, keys, receiver)
        changed = api.call("patch", f"/webhooks/{hook['id']}", keys.write,
                           {"url": other.url, "event_types": ["post.failed", "account.connected"]})  # fmt: skip
        assert changed.status_code == 200, changed.content
        assert (changed.json()["url"], changed.json()["event_types"]) == (
            other.url,
            ["post.failed", "account.connected"],
        )
        paused = api.call("patch", f"/webhooks/{hook['id']}", keys.write, {"enabled": False}).json()
        assert paused["enabled"] is False
        assert paused["disabled_reason"] == "Paused by API key ci-bot."
        bad = api.call("patch", f"/webhooks/{hook['id']}", keys.write, {"event_types": ["post.nope"]})
        assert_problem(bad, 422)
    finally:
        other.server.shutdown()
        other.server.server_close()


def test_urls_that_cannot_receive_are_refused(api, keys, settings):
    settings.ALLOW_PRIVATE_NETWORK_URLS = False
    for url in ("https://127.0.0.1/hooks", "http://hooks.example/x", "https://u:p@hooks.example/x"):
        problem = assert_problem(api.post("/webhooks", keys.write, {"url": url}), 422)
        assert problem["errors"][0]["field"] == "url"
    assert not Endpoint.objects.exists()


def test_rotation_signs_with_both_secrets_for_a_day(api, keys, receiver, time_machine):
    hook = _create(api, keys, receiver)
    old = hook["signing_secret"]
    rotated = api.post(f"/webhooks/{hook['id']}/rotate-secret", keys.write)
    assert rotated.status_code == 200, rotated.content
    new = rotated.json()["signing_secret"]
    assert new != old
    assert rotated.json()["webhook"]["previous_secret_expires_at"] is not None
    sent = api.post(f"/webhooks/{hook['id']}/test", keys.write).json()
    assert sent["status"] == "succeeded"
    received = receiver.received[-1]
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    assert _verified(new, received)["type"] == "webhook.test"
    assert _verified(old, received)["type"] == "webhook.test"
    time_machine.move_to(timezone.now() + timedelta(hours=25))
    api.post(f"/webhooks/{hook['id']}/test", keys.write)
    later = receiver.received[-1]
    assert len(later.headers["webhook-signature"].split(" ")) == 1
    assert _verified(new, later)["type"] == "webhook.test"


def test_test_event_and_deliveries_with_attempts(api, keys, team, receiver):
    hook = _create(api, keys, receiver)
    receiver.script = [(500, {})]
    failed = api.post(f"/webhooks/{hook['id']}/test", keys.write).json()
    assert failed["status"] == "failed"
    attempt = failed["attempts"][0]
    assert attempt["status_code"] == 500
    assert attempt["duration_ms"] >= 0
    assert attempt["response_excerpt"] == '{"ok": false}'
    ok = api.post(f"/webhooks/{hook['id']}/test", keys.write).json()
    assert ok["status"] == "succeeded"
    page = api.get(f"/webhooks/{hook['id']}/deliveries?limit=1", keys.write).json()
    assert [d["id"] for d in page["data"]] == [ok["id"]]
    rest = api.get(f"/webhooks/{hook['id']}/deliveries?limit=1&cursor={page['next_cursor']}", keys.write).json()
    assert [d["id"] for d in rest["data"]] == [failed["id"]]
    assert rest["next_cursor"] is None
    assert [
        d["id"] for d in api.get(f"/webhooks/{hook['id']}/deliveries?status=failed", keys.write).json()["data"]
    ] == [failed["id"]]


def test_replay_one_and_all_failed_since(api, keys, team, receiver):
    hook = _create(api, keys, receiver)
    receiver.script = [(503, {}), (503, {})]
    emit(team.workspace, "post.published", subject_id=1)
    emit(team.workspace, "post.failed", subject_id=2)
    run_pass()
    failed = list(Delivery.objects.filter(status=Delivery.Status.FAILED).order_by("pk"))
    assert len(failed) == 2
    one = api.post(f"/webhooks/{hook['id']}/deliveries/{failed[0].pk}/replay", keys.write)
    assert one.status_code == 200, one.content
    assert one.json()["status"] == "pending"
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    queued = api.post(f"/webhooks/{hook['id']}/replay-failed", keys.write, {"since": since}).json()
    assert queued == {"queued": 1}
    run_pass()
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    ids = receiver.ids()
    assert len(ids) == 4
    assert sorted(ids) == sorted([failed[0].message_id, failed[1].message_id] * 2)  # a replay keeps its webhook-id
    assert_problem(api.post(f"/webhooks/{hook['id']}/replay-failed", keys.write, {"since": "yesterday"}), 422)


def test_roles_and_workspaces(api, keys, receiver):
    hook = _create(api, keys, receiver)
    for method, path, body in [
        ("get", "/webhooks", None), ("get", f"/webhooks/{hook['id']}", None),
        ("post", f"/webhooks/{hook['id']}/test", {}), ("post", f"/webhooks/{hook['id']}/rotate-secret", {}),
        ("get", f"/webhooks/{hook['id']}/deliveries", None), ("delete", f"/webhooks/{hook['id']}", None),
    ]:  # fmt: skip
        assert_problem(api.call(method, path, keys.read, body), 403)
        assert_problem(api.call(method, path, keys.expired, body), 401)
        if path != "/webhooks":
            assert_problem(api.call(method, path, keys.outsider, body), 404)
    assert api.get("/webhooks", keys.outsider).json() == {"data": []}
    assert_problem(api.post("/webhooks", keys.read, {"url": receiver.url}), 403)
    assert api.delete(f"/webhooks/{hook['id']}", keys.write).status_code == 204
    assert not Endpoint.objects.exists()
    assert not receiver.received


def test_plan_limit_on_endpoints(api, keys, receiver):
    from accounts.models import Plan

    Plan.objects.update(webhook_endpoints=1)
    _create(api, keys, receiver)
    problem = assert_problem(api.post("/webhooks", keys.write, {"url": receiver.url}), 403, "POSTWRIGHT/PLAN_LIMIT")
    assert "webhook endpoints" in problem["detail"]


def test_event_types_catalogue(api, keys):
    types = {t["type"] for t in api.get("/webhooks/event-types", keys.read).json()}
    assert {"post.published", "post.target.failed", "account.token_expired"} <= types
