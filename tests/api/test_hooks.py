"""/hooks: Zapier and Make REST hooks are webhook endpoints of one event type."""

import pytest

from tests.api.conftest import assert_problem
from tests.webhooks.conftest import emit, run_pass
from tests.webhooks.receiver import start_receiver
from webhooks.catalogue import EXAMPLES, PUBLIC_TYPES
from webhooks.models import Endpoint

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


def test_subscribe_receive_unsubscribe(api, keys, team, receiver):
    response = api.post("/hooks", keys.write, {"target_url": receiver.url, "event": "post.published"})
    assert response.status_code == 201, response.content
    hook = response.json()
    assert (hook["event"], hook["target_url"]) == ("post.published", receiver.url)
    assert Endpoint.objects.get(pk=hook["id"]).rest_hook
    emit(team.workspace, "post.published", subject_id=5)
    emit(team.workspace, "post.failed", subject_id=6)
    run_pass()
    assert len(receiver.received) == 1
    assert [h["id"] for h in api.get("/hooks", keys.write).json()] == [hook["id"]]
    assert api.delete(f"/hooks/{hook['id']}", keys.write).status_code == 204
    assert not Endpoint.objects.exists()


def test_only_hooks_are_unsubscribed_here(api, keys, receiver):
    plain = api.post("/webhooks", keys.write, {"url": receiver.url}).json()
    assert_problem(api.delete(f"/hooks/{plain['id']}", keys.write), 404)
    assert api.get("/hooks", keys.write).json() == []
    assert Endpoint.objects.filter(pk=plain["id"]).exists()


def test_refusals_name_the_hook_fields(api, keys, receiver, settings):
    problem = assert_problem(api.post("/hooks", keys.write, {"target_url": receiver.url, "event": "post.nope"}), 422)
    assert problem["errors"][0]["field"] == "event"
    settings.ALLOW_PRIVATE_NETWORK_URLS = False
    problem = assert_problem(api.post("/hooks", keys.write, {"target_url": receiver.url, "event": "post.failed"}), 422)
    assert problem["errors"][0]["field"] == "target_url"
    assert_problem(api.post("/hooks", keys.read, {"target_url": receiver.url, "event": "post.failed"}), 403)
    assert_problem(api.post("/hooks", keys.expired, {"target_url": receiver.url, "event": "post.failed"}), 401)
    hook = Endpoint.objects.create(workspace=keys_workspace(api, keys), url="https://hooks.example/z",
                                   event_types=["post.failed"], secret="whsec_x", rest_hook=True)  # fmt: skip
    assert_problem(api.delete(f"/hooks/{hook.pk}", keys.outsider), 404)
    assert_problem(api.delete(f"/hooks/{hook.pk}", keys.read), 403)


def keys_workspace(api, keys):
    from api.models import ApiKey

    return ApiKey.objects.get(prefix=keys.write[:16]).workspace


def test_samples_are_recent_events_or_an_example(api, keys, team):
    example = api.get("/hooks/samples/post.published", keys.read).json()
    assert example == [{"id": "evt_example", "type": "post.published", "timestamp": "2030-01-15T09:30:00Z",
                        "data": {"post_id": 1, "status": "published"}}]  # fmt: skip
    first = emit(team.workspace, "post.published", subject_id=8)
    second = emit(team.workspace, "post.published", subject_id=9)
    emit(team.other_workspace, "post.published", subject_id=10)
    samples = api.get("/hooks/samples/post.published", keys.read).json()
    assert [s["id"] for s in samples] == [second.public_id, first.public_id]
    assert samples[0]["data"] == {"post_id": 9, "status": "published"}
    assert_problem(api.get("/hooks/samples/post.nope", keys.read), 422)
    assert set(EXAMPLES) == set(PUBLIC_TYPES)  # every type has its example
