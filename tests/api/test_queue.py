"""/queue/slots and /queue/next-slot, through the same services and scheduler as the dashboard."""

from datetime import UTC, datetime

import pytest
import time_machine

from publishing.models import PostingSlot
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.django_db


@time_machine.travel(datetime(2026, 12, 1, 9, 0, tzinfo=UTC), tick=False)  # a Tuesday; Paris is UTC+1
def test_slots_and_the_next_free_one(api, keys, demo_accounts):
    alpha, _beta = demo_accounts
    body = {"account_id": alpha.id, "weekdays": [1, 3], "time": "14:30"}
    assert_problem(api.post("/queue/slots", keys.read, body), 403)
    created = api.post("/queue/slots", keys.write, body)
    assert created.status_code == 201, created.content
    assert [(s["weekday"], s["time"]) for s in created.json()] == [(1, "14:30"), (3, "14:30")]
    assert len(api.get(f"/queue/slots?account={alpha.id}", keys.read).json()) == 2
    assert api.get("/queue/slots", keys.outsider).json() == []
    nxt = api.get(f"/queue/next-slot?accounts={alpha.id}", keys.read).json()
    assert nxt == {"scheduled_at": "2026-12-01T13:30:00Z", "timezone": "Europe/Paris"}
    # A post queued takes it; the next one moves on to Thursday.
    post = api.post("/posts", keys.write, {"containers": [{"text": "q"}], "accounts": [alpha.id], "queue": True})
    assert post.json()["scheduled_at"] == "2026-12-01T13:30:00Z"
    assert api.get(f"/queue/next-slot?accounts={alpha.id}", keys.read).json()["scheduled_at"] == "2026-12-03T13:30:00Z"


def test_no_slots_and_other_workspaces(api, keys, demo_accounts):
    alpha = demo_accounts[0]
    problem = assert_problem(api.get(f"/queue/next-slot?accounts={alpha.id}", keys.read), 422)
    assert problem["errors"][0]["field"] == "accounts"
    assert "no posting slots" in problem["detail"]
    assert_problem(api.get(f"/queue/next-slot?accounts={alpha.id}", keys.outsider), 404)
    assert_problem(api.post("/queue/slots", keys.outsider, {"account_id": alpha.id, "weekdays": [0], "time": "09:00"}),
                   404)  # fmt: skip
    bad_day = {"account_id": alpha.id, "weekdays": [9], "time": "09:00"}
    assert assert_problem(api.post("/queue/slots", keys.write, bad_day), 422)["errors"][0]["field"] == "weekdays"


def test_remove_a_slot(api, keys, demo_accounts):
    from datetime import time

    slot = PostingSlot.objects.create(account=demo_accounts[0], weekday=0, time=time(9))
    assert_problem(api.delete(f"/queue/slots/{slot.pk}", keys.outsider), 404)
    assert_problem(api.delete(f"/queue/slots/{slot.pk}", keys.read), 403)
    assert api.delete(f"/queue/slots/{slot.pk}", keys.write).status_code == 204
    assert not PostingSlot.objects.exists()
