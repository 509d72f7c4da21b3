#!/usr/bin/env python
"""Meta benchmark: do Facebook, Instagram and Threads posts go out once, none lost, through kills?

POSTS posts due over SPREAD seconds, in turn to a Facebook Page (a text post and a reply,
which Facebook makes a comment on it), an Instagram account (one image, through a container
and media_publish) and a Threads account (a text post and a reply, each a container and
threads_publish), published by the real providers, dispatcher and django-q2 workers against a
local fake Graph API (bench/fakemeta.py, reached through META_GRAPH_URL and META_THREADS_API_URL).
--fault-rate refuses a share of creates with Meta's transient error (a retry), --lose-rate makes
a share but loses its answer (a look-up). With --kill-workers the worker cluster and the
dispatcher are SIGKILLed at random and restarted, as a supervisor would.

Counted on the fake's side: every object made, per text (each part's text holds the post's
number), so two feed posts, two comments or two media_publish (threads_publish) calls for one
part are duplicates, and a part never made is lost. Lateness is from due time to the main part's
creation. The last line printed is one JSON object.

    .venv/bin/python bench/meta.py --posts 300 --spread 60 --kill-workers
    .venv/bin/python bench/meta.py --posts 300 --spread 60 --kill-workers --fault-rate 0.1 --lose-rate 0.1
    .venv/bin/python bench/meta.py --posts 24 --spread 8 --kill-workers --kill-every 6 --redis-url orm  # a quick look
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
)

PAGE_ID, IG_ID, THREADS_ID = "1234567890", "17841405822304914", "25100000000000001"
PLATFORMS = ("facebook", "instagram", "threads")
# The smallest valid JPEG header and end: the fake accepts the signed URL without fetching it.
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000") + bytes(64) + bytes.fromhex("ffd9")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=300, help="posts, in turn Facebook, Instagram, Threads")
    parser.add_argument("--spread", type=float, default=60, help="seconds over which they fall due (default 60)")
    parser.add_argument("--latency-ms", type=float, default=50, help="fake latency per request (default 50)")
    parser.add_argument("--processing-s", type=float, default=0, help="Instagram container processing time")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of creates refused, nothing made")
    parser.add_argument("--lose-rate", type=float, default=0.0, help="share of creates made, answer lost")
    parser.add_argument("--kill-every", type=float, default=8, help="mean seconds between kills (default 8)")
    parser.add_argument("--warmup", type=float, default=10, help="seconds for the processes to start (default 10)")
    add_engine_arguments(parser, media_workers=1, timeout=180)  # no media cluster here
    return parser.parse_args()


def platform_of(i: int) -> str:
    return PLATFORMS[i % len(PLATFORMS)]


def part_texts(i: int) -> list[str]:
    """What each part of post i says: the key the fake counts it under. Facebook and Threads
    posts have a reply (a comment, a reply thread); the Instagram post is one image."""
    platform = platform_of(i)
    if platform == "instagram":
        return [f"meta bench {i} instagram"]
    return [f"meta bench {i} {platform}", f"meta bench {i} {platform} reply"]


def create_meta_posts(n: int, spread: float, start: datetime) -> None:
    """The accounts as a Facebook Login consent leaves them (a Page token; the Instagram
    account knows its Page), and the posts with their targets."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from accounts.models import User, Workspace
    from connections.models import SocialAccount
    from publishing.models import ContentMedia, Media, Post, PostContent, Target

    workspace = Workspace.objects.get(name="bench")
    user = User.objects.get(email="bench@example.com")
    page = SocialAccount.objects.create(workspace=workspace, platform="facebook", external_id=PAGE_ID,
                                        username="Bench Page", secrets={"access_token": "EAAbenchpage"})  # fmt: skip
    ig = SocialAccount.objects.create(workspace=workspace, platform="instagram", external_id=IG_ID, username="bench",
                                      secrets={"access_token": "EAAbenchpage"}, extra={"page_id": PAGE_ID})  # fmt: skip
    threads = SocialAccount.objects.create(workspace=workspace, platform="threads", external_id=THREADS_ID,
                                           username="bench", secrets={"access_token": "THbench"})  # fmt: skip
    accounts = {"facebook": page, "instagram": ig, "threads": threads}
    name = "bench/meta.jpg"
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(JPEG))
    step = spread / n if n else 0
    for i in range(n):
        due = start + timedelta(seconds=i * step)
        post = Post.objects.create(workspace=workspace, author=user, status="scheduled", scheduled_at=due)
        for position, text in enumerate(part_texts(i)):
            content = PostContent.objects.create(post=post, text=text, position=position,
                                                 kind="main" if position == 0 else "reply")  # fmt: skip
            if platform_of(i) == "instagram":
                media = Media.objects.create(
                    workspace=workspace, file=name, kind="image", sha256=f"{i:064x}", original_name=f"bench-{i}.jpg",
                    mime_type="image/jpeg", size=len(JPEG), width=1080, height=1080,
                )  # fmt: skip
                ContentMedia.objects.create(content=content, media=media)
        Target.objects.create(workspace=workspace, post=post, account=accounts[platform_of(i)],
                              status="scheduled", due_at=due, next_attempt_at=due)  # fmt: skip


def chaos_plan(every: float) -> Chaos:
    """Mostly the worker cluster (mid-request, no clean-up: answers are lost), else the dispatcher."""
    return Chaos(
        pick=lambda: "qcluster" if random.random() < 0.7 else "dispatch",  # noqa: S311
        pause=lambda: random.uniform(0.5 * every, 1.5 * every),  # noqa: S311
    )


def tally(ledger, n: int) -> dict[str, int]:
    """Parts expected, made (once or more), lost; duplicates as the fake counted them."""
    expected = [text for i in range(n) for text in part_texts(i)]
    made = sum(1 for text in expected if ledger.created[text])
    return {"parts_expected": len(expected), "parts_created": made, "lost": len(expected) - made,
            "duplicates": ledger.duplicates, "publish_again": ledger.publish_again}  # fmt: skip


def main() -> None:
    args = parse_args()
    from bench import fakemeta

    server, ledger = fakemeta.serve(latency_ms=args.latency_ms, processing_s=args.processing_s,
                                    fault_rate=args.fault_rate, lose_rate=args.lose_rate)  # fmt: skip
    # Before Django starts, so the dispatcher and workers (which inherit the environment) read it.
    os.environ["META_GRAPH_URL"] = f"http://127.0.0.1:{server.server_address[1]}"
    os.environ["META_THREADS_API_URL"] = os.environ["META_GRAPH_URL"]  # one fake serves both hosts
    os.environ["META_APPSECRET_PROOF"] = "false"
    os.environ.setdefault("SITE_URL", "http://127.0.0.1:8000")  # only signs the image URLs
    setup_django(args)
    from publishing.models import Target

    reset_state(args)
    create_targets(0, 0, datetime.now(UTC), 1)  # the bench user and workspace
    create_meta_posts(args.posts, args.spread, datetime.now(UTC))
    start = shift_dues(datetime.now(UTC) + timedelta(seconds=args.warmup))
    print(f"{args.posts} Meta posts due from {start:%H:%M:%S} over {args.spread:g}s; {args.workers} workers",
          flush=True)  # fmt: skip

    plan = chaos_plan(args.kill_every) if args.kill_workers else None
    run = run_engine(("qcluster", "dispatch"), start=start, until=start.timestamp() + args.spread + args.timeout,
                     plan=plan)  # fmt: skip
    server.shutdown()

    targets = list(Target.objects.filter(post__contents__position=0)
                   .values_list("post__contents__text", "due_at", "status", "status_reason"))  # fmt: skip
    lateness = [ledger.arrivals[text] - due.timestamp() for text, due, _s, _r in targets if text in ledger.arrivals]
    result = {
        "posts": args.posts,
        "spread_s": args.spread,
        "workers": args.workers,
        "broker": "orm" if args.redis_url == "orm" else "redis",
        "published": sum(1 for _t, _d, status, _r in targets if status == "published"),
        **tally(ledger, args.posts),
        "refused": ledger.refused,
        "answers_lost": ledger.answers_lost,
        "states": sorted({f"{s} {r}".strip() for _t, _d, s, r in targets if s != "published"}),
        "lateness_p50_s": round(percentile(lateness, 50), 3),
        "lateness_p99_s": round(percentile(lateness, 99), 3),
        "lateness_max_s": round(max(lateness), 3) if lateness else None,
        "unfinished": run.remaining,
        "kills": {"worker": run.kills.count("qcluster"), "dispatcher": run.kills.count("dispatch")},
        "worker_peak_rss_mb": round(run.peak_rss_mb, 1),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"parts made {result['parts_created']} of {result['parts_expected']}; "
          f"duplicates {result['duplicates']}; lost {result['lost']}; "
          f"lateness p50 {result['lateness_p50_s']}s p99 {result['lateness_p99_s']}s")  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
