"""bench/analytics.py's pieces: the fake platform's rate-limited metrics endpoint, the bench
provider reading it, and the figures the last line names."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench import analytics as bench
from bench import fakeplatform
from connections.errors import ErrorClass, ProviderError
from connections.providers.base import AccountState

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def platform(monkeypatch):
    monkeypatch.setattr(fakeplatform, "RATE_LIMIT", 2)
    server, ledger = fakeplatform.serve(latency_ms=0, fault_rate=0)
    monkeypatch.setenv("BENCH_PLATFORM_URL", f"http://127.0.0.1:{server.server_address[1]}")
    yield ledger
    server.shutdown()


def test_the_metrics_endpoint_answers_per_post_and_limits_each_account(platform):
    provider = fakeplatform.BenchProvider()
    reader = AccountState(external_id="reader-0", username="@r", secrets={})
    first = provider.fetch_metrics(account=reader, platform_post_ids=["m1", "m2"])
    assert set(first) == {"m1", "m2"}
    assert first["m1"].impressions == fakeplatform.post_counts("m1")["view_count"]
    provider.fetch_metrics(account=reader, platform_post_ids=["m3"])
    with pytest.raises(ProviderError) as caught:
        provider.fetch_metrics(account=reader, platform_post_ids=["m4"])
    assert caught.value.error_class == ErrorClass.RATE
    assert caught.value.retry_after > 0
    other = AccountState(external_id="reader-1", username="@o", secrets={})
    assert provider.fetch_metrics(account=other, platform_post_ids=["m1"])  # the limit is per account
    assert (platform.rate_limited, platform.metric_calls_total, platform.metric_ids_read) == (1, 3, 4)


def test_the_most_calls_in_any_window():
    assert bench.max_in_window([0, 1, 2, 10, 11], 5) == 3
    assert bench.max_in_window([], 5) == 0


def test_help_names_the_figures_of_the_last_line():
    out = subprocess.run(
        [sys.executable, "bench/analytics.py", "--help"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    for figure in ("synced", "rate_limited", "publish_lateness_p99_s", "analytics_page_p95_ms", "--targets"):
        assert figure in out.stdout
