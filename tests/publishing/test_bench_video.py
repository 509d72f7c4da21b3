"""The benchmark's fake platform and provider: a video upload resumes where the platform has it."""

import io
import time

import pytest

from bench import fakeplatform
from connections.providers.base import (
    AccountState,
    ContentPart,
    MediaItem,
    MemoryUploads,
    PartRequest,
    Pending,
    PublishedItem,
    PublishRequest,
)

SIZE = 10_500  # eleven chunks of 1,000 bytes, the last one short


class DiesAfter(MemoryUploads):
    """An upload store whose worker is killed while saving the n-th time: the platform already
    holds the chunk that save was for, the store does not."""

    def __init__(self, saves: int) -> None:
        super().__init__()
        self.saves_left = saves

    def save(self, key, state) -> None:
        if self.saves_left == 0:
            raise SystemExit("killed")
        self.saves_left -= 1
        super().save(key, state)


@pytest.fixture
def platform(monkeypatch):
    server, ledger = fakeplatform.serve(latency_ms=0, fault_rate=0, processing_s=0.3)
    monkeypatch.setenv("BENCH_PLATFORM_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setattr(fakeplatform, "UPLOAD_CHUNK_BYTES", 1000)
    yield ledger
    server.shutdown()


def _part(uploads) -> tuple[PublishRequest, PartRequest]:
    data = bytes(range(256)) * (SIZE // 256 + 1)
    video = MediaItem(filename="v.mp4", mime_type="video/mp4", size=SIZE, kind="video",
                      open=lambda: io.BytesIO(data[:SIZE]))  # fmt: skip
    content = ContentPart(text="a video", media=(video,))
    request = PublishRequest(main=content, idempotency_key="k1")
    return request, PartRequest(index=0, kind="main", content=content, key="k1", uploads=uploads)


def _publish(request, part):
    account = AccountState(external_id="bench", username="@bench", secrets={})
    return fakeplatform.BenchProvider().publish_part(account=account, request=request, part=part)


def test_a_killed_upload_resumes_at_the_platforms_offset_and_publishes_once(platform):
    store = DiesAfter(saves=4)  # the session, then three chunks saved; killed saving the fourth
    with pytest.raises(SystemExit):
        _publish(*_part(store))
    assert store.sessions["video-0"]["offset"] == 3000  # the store lags: the platform has 4000
    store.saves_left = 100  # the successor
    answer = _publish(*_part(store))
    assert isinstance(answer, Pending)  # uploaded and finished; the platform is processing
    assert (platform.bytes_received, platform.bytes_again) == (SIZE, 0)
    assert isinstance(_publish(*_part(store)), Pending)  # still processing: asked again, nothing sent
    time.sleep(0.35)
    published = _publish(*_part(store))
    assert isinstance(published, PublishedItem)
    assert platform.creates == {"k1": 1}
    assert platform.video_posts == {"k1"}
    assert platform.bytes_received == SIZE
