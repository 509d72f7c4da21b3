#!/usr/bin/env python
"""Video benchmark: TikTok and YouTube uploads resumed after worker kills, beside a text load.

The mixed load of bench/dispatch.py (text targets on the bench network), plus VIDEOS posts of
VIDEO_MB each, alternately to TikTok and YouTube, published by the real providers against local
fakes of their APIs (bench/fakevideo.py: TikTok's chunked FILE_UPLOAD and status polls,
YouTube's resumable session with its 308 and Range). With --kill-workers the media cluster, the
text cluster and the dispatcher are SIGKILLed at random and restarted, as a supervisor would.

It prints the bytes the fakes received against the files' sizes (the issue asks for at most
1.05 times), videos made twice (none allowed), and the text posts' lateness (p99 at most 2 s).
The last line printed is one JSON object.

    .venv/bin/python bench/videos.py --videos 10 --video-mb 500 --targets 1000 --spread 120 --kill-workers
    .venv/bin/python bench/videos.py --videos 2 --video-mb 12 --targets 20 --spread 5 --kill-workers  # a quick look
"""

import argparse
import json
import os
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dispatch import (  # noqa: E402 (the path above first)
    Chaos,
    add_engine_arguments,
    create_targets,
    percentile,
    reset_state,
    run_engine,
    setup_django,
    shift_dues,
    video_file,
)

MB = 1024 * 1024
PLATFORM_OPTIONS = {
    "tiktok": {"privacy_level": "SELF_ONLY"},  # the only level the fake (an unaudited app) offers
    "youtube": {"privacy": "private", "made_for_kids": "no"},
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=10, help="video posts, alternately TikTok and YouTube")
    parser.add_argument("--video-mb", type=int, default=500, help="size of each video in MB (default 500)")
    parser.add_argument("--targets", type=int, default=1000, help="text posts due meanwhile (default 1000)")
    parser.add_argument("--spread", type=float, default=120, help="seconds over which the text posts fall due")
    parser.add_argument("--latency-ms", type=float, default=50, help="fake latency per request (default 50)")
    parser.add_argument("--processing-s", type=float, default=10, help="platform processing time per video")
    parser.add_argument("--tiktok-chunk-mb", type=int, default=10, help="TikTok chunk size (5 to 64, default 10)")
    parser.add_argument("--youtube-chunk-mb", type=int, default=8, help="YouTube chunk size in MiB (default 8)")
    parser.add_argument("--kill-every", type=float, default=12, help="mean seconds between kills (default 12)")
    parser.add_argument("--warmup", type=float, default=15, help="seconds for the processes to start (default 15)")
    add_engine_arguments(parser, media_workers=2, timeout=900)
    return parser.parse_args()


def create_video_posts(n: int, megabytes: int, start: datetime) -> None:
    """One account each (TikTok paces inits per creator), due over the first five seconds."""
    from accounts.models import User, Workspace
    from connections.models import SocialAccount
    from publishing.models import ContentMedia, Media, Post, PostContent, Target

    workspace = Workspace.objects.get(name="bench")
    user = User.objects.get(email="bench@example.com")
    for i in range(n):
        platform = "tiktok" if i % 2 == 0 else "youtube"
        account = SocialAccount.objects.create(
            workspace=workspace, platform=platform, external_id=f"bench-{platform}-{i}", username=f"@bench{i}",
            secrets={"access_token": "x", "quota_project": "bench"},
        )  # fmt: skip
        due = start + timedelta(seconds=5 * i / max(1, n))
        post = Post.objects.create(workspace=workspace, author=user, status="scheduled", scheduled_at=due,
                                   overrides={platform: {"options": PLATFORM_OPTIONS[platform]}})  # fmt: skip
        content = PostContent.objects.create(post=post, text=f"bench video {i}", position=0, kind="main")
        media = Media.objects.create(
            workspace=workspace, file=video_file(i, megabytes), kind="video", sha256=f"{i:064x}",
            original_name=f"video-{i}.mp4", mime_type="video/mp4", size=megabytes * MB, width=1080, height=1920,
        )  # fmt: skip
        ContentMedia.objects.create(content=content, media=media)
        Target.objects.create(workspace=workspace, post=post, account=account, status="scheduled", due_at=due,
                              next_attempt_at=due, lane="media")  # fmt: skip


def forget_video_accounts() -> None:
    from connections.models import QuotaUsage, SocialAccount

    SocialAccount.objects.filter(external_id__startswith="bench-").delete()
    QuotaUsage.objects.filter(holder="bench").delete()


def chaos_plan(every: float) -> Chaos:
    """Mostly the media cluster (mid-chunk, no clean-up), else the text cluster or the dispatcher.
    Each restarted process needs a few seconds to start: kills closer than that stop all progress."""

    def pick() -> str:
        roll = random.random()  # noqa: S311
        return "media" if roll < 0.5 else "qcluster" if roll < 0.8 else "dispatch"

    return Chaos(pick=pick, pause=lambda: random.uniform(0.5 * every, 1.5 * every))  # noqa: S311


def main() -> None:
    args = parse_args()
    # Before Django starts, so the dispatcher and workers (which inherit the environment) read them.
    os.environ["TIKTOK_UPLOAD_CHUNK_BYTES"] = str(args.tiktok_chunk_mb * 1_000_000)
    os.environ["YOUTUBE_UPLOAD_CHUNK_BYTES"] = str(args.youtube_chunk_mb * MB)
    os.environ["YOUTUBE_QUOTA_UNITS_PER_DAY"] = str(10**9)  # quota pacing is tested elsewhere
    os.environ["BENCH_VIDEO_URL"] = "http://127.0.0.1:1"  # replaced below, once the fakes listen
    setup_django(args)
    from bench import fakeplatform, fakevideo
    from publishing.models import Target

    text_server, text_ledger = fakeplatform.serve(latency_ms=args.latency_ms, fault_rate=0)
    video_server, video_ledger = fakevideo.serve(latency_ms=args.latency_ms, processing_s=args.processing_s)
    os.environ["BENCH_PLATFORM_URL"] = f"http://127.0.0.1:{text_server.server_address[1]}"
    os.environ["BENCH_VIDEO_URL"] = f"http://127.0.0.1:{video_server.server_address[1]}"
    reset_state(args)  # the targets first: they hold on to the accounts
    forget_video_accounts()
    for i in range(args.videos):
        video_file(i, args.video_mb)
    warmup = args.warmup
    create_targets(args.targets, args.spread, datetime.now(UTC), 1)
    create_video_posts(args.videos, args.video_mb, datetime.now(UTC))
    start = shift_dues(datetime.now(UTC) + timedelta(seconds=warmup))
    print(f"{args.videos} videos of {args.video_mb} MB and {args.targets} text posts due from {start:%H:%M:%S}",
          flush=True)  # fmt: skip

    plan = chaos_plan(args.kill_every) if args.kill_workers else None
    run = run_engine(("qcluster", "dispatch", "media"), start=start,
                     until=start.timestamp() + args.spread + args.timeout, plan=plan)  # fmt: skip

    texts = list(Target.objects.filter(lane="default").values_list("idempotency_key", "due_at", "status"))
    videos = list(Target.objects.filter(lane="media").values_list("account__platform", "status", "status_reason"))
    lateness = [text_ledger.arrivals[key] - due.timestamp() for key, due, _s in texts if key in text_ledger.arrivals]
    sizes = {name: sum(args.video_mb * MB for p, _s, _r in videos if p == name) for name in PLATFORM_OPTIONS}
    sent = dict(video_ledger.bytes_received)
    total_size, total_sent = sum(sizes.values()), sum(sent.values())
    text_server.shutdown()
    video_server.shutdown()
    result = {
        "videos": args.videos,
        "video_mb": args.video_mb,
        "videos_published": sum(1 for _p, status, _r in videos if status == "published"),
        "videos_made": sum(video_ledger.videos.values()),
        "video_duplicates": video_ledger.duplicates,
        "bytes_sent": sent,
        "bytes_of_files": sizes,
        "bytes_ratio": round(total_sent / total_size, 4) if total_size else None,
        "video_states": sorted({f"{p}: {s} {r}".strip() for p, s, r in videos if s != "published"}),
        "text_targets": args.targets,
        "text_published": sum(1 for _k, _d, status in texts if status == "published"),
        "text_duplicates": text_ledger.duplicates,
        "lateness_p50_s": round(percentile(lateness, 50), 3),
        "lateness_p99_s": round(percentile(lateness, 99), 3),
        "lateness_max_s": round(max(lateness), 3) if lateness else None,
        "unfinished": run.remaining,
        "kills": {name: run.kills.count(name) for name in ("media", "qcluster", "dispatch")},
        "cpu_s": round(run.cpu_s, 2),  # from the first due time on, start-up apart (as bench/dispatch.py)
        "worker_peak_rss_mb": round(run.peak_rss_mb, 1),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"bytes sent {total_sent:,} for {total_size:,} of video (x{result['bytes_ratio']}); "
          f"videos made {result['videos_made']} of {args.videos}, duplicates {result['video_duplicates']}")  # fmt: skip
    print(f"text lateness p50 {result['lateness_p50_s']}s p99 {result['lateness_p99_s']}s; kills {result['kills']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
