"""bench/api.py: what it sends is a valid creation, through the API and through the service alike."""

import subprocess
import sys
from pathlib import Path

from api.keys import api_key_actor
from api.posts import PostCreateIn, _input
from bench import api as bench
from publishing.models import Post
from publishing.services import post_create

ROOT = Path(__file__).resolve().parents[2]


def test_the_bench_creations_are_accepted_by_the_api_and_the_service(db, api, settings):
    settings.EXTRA_CONNECTION_PROVIDERS = {"benchnet": ("Bench network", "bench.fakeplatform.BenchProvider")}
    account, key, token = bench.seed()
    response = api.post("/posts", token, bench.body(account.id, "run", 1), **{"Idempotency-Key": "run-1"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert [c["text"] for c in created["containers"]] == ["bench run post 1", "first comment", "1/ a reply"]
    assert created["status"] == "scheduled"
    assert created["author_id"] is None
    post_input, _origin = _input(PostCreateIn(**bench.body(account.id, "run", 2)))
    direct = post_create(actor=api_key_actor(key), data=post_input)
    assert direct.contents.count() == 3
    assert Post.objects.filter(workspace=account.workspace, status="scheduled").count() == 2
    # A second run starts from a clean workspace of its own.
    bench.seed()
    assert not Post.objects.filter(pk=direct.pk).exists()


def test_percentile_takes_the_nearest_rank():
    assert bench.percentile([], 99) == 0.0
    assert bench.percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert bench.percentile([3.0, 1.0, 2.0], 50) == 2.0


def test_help_names_the_figures_of_the_last_line():
    out = subprocess.run(
        [sys.executable, "bench/api.py", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    for figure in ("api_p99_ms", "api_per_s", "direct_per_s", "ratio", "webhooks_delivered", "webhook_p99_s"):
        assert figure in out.stdout
    assert "--posts" in out.stdout
    assert "--clients" in out.stdout
