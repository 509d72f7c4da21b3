"""Keys, problem details, request ids, Idempotency-Key and rate limits: what every endpoint shares."""

import hashlib
import os
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import RequestFactory
from django.utils import timezone

from accounts.plans import plan_of
from api import ratelimit
from api.idempotency import _fingerprint, api_records_prune
from api.models import ApiKey, IdempotencyRecord, RateCounter
from publishing.models import Post
from tests.api.conftest import assert_problem, make_key

pytestmark = pytest.mark.django_db


def post_body(accounts, text="Hello"):
    return {"containers": [{"text": text}], "accounts": [a.id for a in accounts]}


# --- Keys and authentication ------------------------------------------------------------------


def test_keys_are_stored_hashed_and_shown_once(team):
    token = make_key(team.workspace)
    key = ApiKey.objects.get()
    assert token.startswith("pw_live_")
    assert len(token) > 40
    assert key.prefix == token[:16]
    assert key.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(ApiKey.objects.values().get())


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "Send your API key"),
        ("Basic dXNlcjpwYXNz", "Send your API key"),
        ("Bearer ", "Send your API key"),
        ("Bearer nonsense", "not a Postwright API key"),
        ("Bearer pw_live_" + "x" * 43, "Unknown API key"),
    ],
)
def test_missing_or_malformed_keys_are_401_problems(api, team, header, detail):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = api.client.get("/api/v1/posts", **extra)
    body = assert_problem(response, 401, "POSTWRIGHT/UNAUTHORIZED")
    assert detail in body["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_key_with_a_right_prefix_and_a_wrong_secret_is_refused(api, team):
    token = make_key(team.workspace)
    forged = token[:16] + ("A" if token[16] != "A" else "B") + token[17:]
    assert "Unknown API key" in assert_problem(api.get("/posts", forged), 401)["detail"]


def test_revoked_key_stops_at_once(api, keys, team):
    assert api.get("/posts", keys.write).status_code == 200
    owner = team.client("owner")
    key = ApiKey.objects.get(prefix=keys.write[:16])
    assert owner.post(f"/settings/api-keys/{key.pk}/revoke/").status_code == 302
    assert "revoked" in assert_problem(api.get("/posts", keys.write), 401)["detail"]


def test_expired_key(api, keys):
    assert "expired" in assert_problem(api.get("/posts", keys.expired), 401)["detail"]


def test_last_used_time_and_ip_are_recorded(api, keys):
    api.client.get("/api/v1/posts", HTTP_AUTHORIZATION=f"Bearer {keys.read}", REMOTE_ADDR="203.0.113.9")
    key = ApiKey.objects.get(prefix=keys.read[:16])
    assert key.last_used_ip == "203.0.113.9"
    assert timezone.now() - key.last_used_at < timedelta(seconds=5)


# --- Problems and request ids ----------------------------------------------------------------


def test_unknown_paths_and_wrong_methods_are_problems(api, keys):
    assert_problem(api.get("/nowhere", keys.read), 404, "POSTWRIGHT/NOT_FOUND")
    response = api.delete("/posts", keys.write)
    body = assert_problem(response, 405, "POSTWRIGHT/METHOD_NOT_ALLOWED")
    assert "GET" in response["Allow"]
    assert "DELETE" in body["detail"]


def test_a_crash_still_answers_problem_json(api, keys, demo_accounts, monkeypatch):
    created = api.post("/posts", keys.write, post_body(demo_accounts)).json()

    def boom(post):
        raise RuntimeError("bug")

    monkeypatch.setattr("api.posts.post_out", boom)
    body = assert_problem(api.get(f"/posts/{created['id']}", keys.read), 500, "POSTWRIGHT/INTERNAL")
    assert "bug" not in body["detail"]  # internals are logged, not told


def test_request_id_is_echoed_when_sane_and_made_otherwise(api, keys):
    assert api.get("/posts", keys.read, **{"X-Request-Id": "abc-123"})["X-Request-Id"] == "abc-123"
    made = api.get("/posts", keys.read, **{"X-Request-Id": "bad id\twith spaces"})["X-Request-Id"]
    assert made != "bad id\twith spaces"
    assert len(made) == 32
    problem = api.get("/posts/1", keys.read, **{"X-Request-Id": "req-9"})
    assert problem.json()["request_id"] == "req-9"
    assert problem["X-Request-Id"] == "req-9"
    assert api.client.get("/healthz")["X-Request-Id"]  # the dashboard's responses carry one too


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_same_key_same_body_replays_the_stored_response(api, keys, demo_accounts):
    first = api.post("/posts", keys.write, post_body(demo_accounts), **{"Idempotency-Key": "k-1"})
    again = api.post("/posts", keys.write, post_body(demo_accounts), **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert "Idempotent-Replayed" not in first
    assert Post.objects.count() == 1


def test_same_key_different_body_is_422(api, keys, demo_accounts):
    api.post("/posts", keys.write, post_body(demo_accounts), **{"Idempotency-Key": "k-2"})
    other = api.post("/posts", keys.write, post_body(demo_accounts, "Other"), **{"Idempotency-Key": "k-2"})
    assert_problem(other, 422, "POSTWRIGHT/IDEMPOTENCY_KEY_REUSED")
    assert Post.objects.count() == 1


def test_same_key_while_the_first_runs_is_409(api, keys, demo_accounts):
    request = RequestFactory().post("/api/v1/posts", data=post_body(demo_accounts), content_type="application/json")
    key = ApiKey.objects.get(prefix=keys.write[:16])
    IdempotencyRecord.objects.create(api_key=key, key="k-3", fingerprint=_fingerprint(request))
    response = api.post("/posts", keys.write, post_body(demo_accounts), **{"Idempotency-Key": "k-3"})
    assert_problem(response, 409, "POSTWRIGHT/IDEMPOTENCY_KEY_IN_PROGRESS")
    assert not Post.objects.exists()


def test_validation_failures_are_not_stored(api, keys, demo_accounts):
    bad = api.post("/posts", keys.write, post_body(demo_accounts, " "), **{"Idempotency-Key": "k-4"})
    assert_problem(bad, 422, "POSTWRIGHT/VALIDATION")
    assert not IdempotencyRecord.objects.exists()
    fixed = api.post("/posts", keys.write, post_body(demo_accounts, "Fixed"), **{"Idempotency-Key": "k-4"})
    assert fixed.status_code == 201


def test_keys_are_scoped_per_api_key(api, keys, team, demo_accounts):
    other = make_key(team.workspace, name="second")
    api.post("/posts", keys.write, post_body(demo_accounts), **{"Idempotency-Key": "shared"})
    response = api.post("/posts", other, post_body(demo_accounts, "Other"), **{"Idempotency-Key": "shared"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Post.objects.count() == 2


def test_key_too_long_is_400(api, keys, demo_accounts):
    response = api.post("/posts", keys.write, post_body(demo_accounts), **{"Idempotency-Key": "x" * 256})
    assert_problem(response, 400, "POSTWRIGHT/BAD_REQUEST")


def test_records_are_kept_for_the_retention_and_then_pruned(api, keys, demo_accounts, settings):
    settings.API_IDEMPOTENCY_RETENTION_HOURS = 24
    api.post("/posts", keys.write, post_body(demo_accounts), **{"Idempotency-Key": "k-5"})
    assert api_records_prune()["idempotency_records"] == 0
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert api_records_prune()["idempotency_records"] == 1
    assert not IdempotencyRecord.objects.exists()


# --- Rate limits ---------------------------------------------------------------------------------


def _limit(team, per_minute: int) -> None:
    plan = plan_of(team.workspace)
    plan.api_requests_per_minute = per_minute
    plan.save()


@time_machine.travel(datetime(2026, 12, 1, 12, 0, 15, tzinfo=UTC), tick=False)
def test_rate_limit_headers_and_429(api, keys, team):
    _limit(team, 2)
    first = api.get("/posts", keys.read)
    assert first["X-RateLimit-Limit"] == "2"
    assert first["X-RateLimit-Remaining"] == "1"
    assert first["X-RateLimit-Reset"] == "45"
    assert first["RateLimit-Policy"] == '"default";q=2;w=60'
    assert first["RateLimit"] == '"default";r=1;t=45'
    assert api.get("/posts", keys.read)["X-RateLimit-Remaining"] == "0"
    refused = api.get("/posts", keys.read)
    assert_problem(refused, 429, "POSTWRIGHT/RATE_LIMITED")
    assert refused["Retry-After"] == "45"
    assert refused["X-RateLimit-Remaining"] == "0"
    # Another key of the same workspace has its own budget.
    assert api.get("/posts", keys.write).status_code == 200


def test_the_window_turns_every_minute(api, keys, team):
    _limit(team, 1)
    with time_machine.travel(datetime(2026, 12, 1, 12, 0, 59, tzinfo=UTC), tick=False):
        assert api.get("/posts", keys.read).status_code == 200
        assert api.get("/posts", keys.read).status_code == 429
    with time_machine.travel(datetime(2026, 12, 1, 12, 1, 0, tzinfo=UTC), tick=False):
        assert api.get("/posts", keys.read).status_code == 200


def test_database_counter_is_one_atomic_upsert_per_request():
    assert ratelimit.rate_count(key="k", now=120.5) == (1, 60)
    assert ratelimit.rate_count(key="k", now=150.0) == (2, 30)
    assert ratelimit.rate_count(key="k", now=180.0) == (1, 60)
    assert RateCounter.objects.get(key="k", minute=2).count == 2
    assert ratelimit.rate_counters_prune(now=300.0) == 2


@pytest.mark.skipif(not os.environ.get("REDIS_TEST_URL"), reason="REDIS_TEST_URL not set (CI sets it)")
def test_redis_counter_is_shared(settings):
    settings.API_RATE_LIMIT_REDIS_URL = os.environ["REDIS_TEST_URL"]
    key = f"test-{os.getpid()}-{datetime.now(UTC).timestamp()}"
    assert ratelimit.rate_count(key=key, now=60.0) == (1, 60)
    assert ratelimit.rate_count(key=key, now=90.0) == (2, 30)
    assert not RateCounter.objects.exists()


def test_no_limit_means_no_rate_headers(api, keys, team):
    _limit(team, 0)
    plan = plan_of(team.workspace)
    plan.api_requests_per_minute = None
    plan.save()
    response = api.get("/posts", keys.read)
    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response
