import json
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, QuerySet
from django.db.models.functions import Left
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize, truncatechars
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import (
    AuthedRequest,
    MemberRequest,
    get_workspace_object_and_membership_or_404,
    get_workspace_object_or_404,
    workspace_required,
)
from accounts.actors import Actor
from accounts.confirm import confirmation_page
from accounts.models import Membership, Workspace
from accounts.roles import Capability, role_allows
from accounts.services import invitations_for_user
from accounts.templatetags.when import clock, moment, short_moment
from analytics import queries as analytics_queries
from connections.avatars import avatar_key
from connections.errors import ProviderError
from connections.models import SocialAccount
from connections.providers.base import ComposerNote, PreviewLook, Provider
from connections.providers.media_rules import DOCUMENT, AspectFit, format_bytes
from connections.registry import get_provider, platform_choices, starter_hints
from publishing import listing, services, uploads
from publishing.composer import AccountCheck
from publishing.forms import ComposerForm, PostingSlotForm, is_id
from publishing.history import post_history
from publishing.home import home_for
from publishing.inputs import PartInput, problems_of
from publishing.media import media_from_token, media_store, media_thumb_url
from publishing.models import Media, MediaUpload, Post, PostContent, PostingSlot, Target, TargetPart
from publishing.queries import (
    CHIPS_PER_HOUR,
    CalendarFilter,
    local_midnight,
    month_grid,
    post_status_shown,
    posts_by_local_day,
    posts_by_local_hour,
    posts_in_local_hour,
)
from publishing.scheduling import local_to_utc
from publishing.threads import SplitError


@workspace_required()
@require_GET
def calendar_hour(request: MemberRequest) -> HttpResponse:
    """The rest of one week slot's posts, for its "+N more" (htmx): the grid draws one per hour."""
    hour = request.GET.get("hour", "")
    if not hour.isdigit() or int(hour) > 23:
        return HttpResponseBadRequest("Pick an hour from 0 to 23.")
    day = _parse_day(request.GET.get("date"), request.zone)
    only, _ = _calendar_filter(request)
    chips, total = posts_in_local_hour(request.workspace, day, int(hour), zone=request.zone, only=only)
    left = max(0, total - CHIPS_PER_HOUR - len(chips))
    return render(request, "publishing/partials/hour_more.html", {"posts": chips, "left": left, "date": day})


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    """The home page: pending invitations for anyone; for a member, what goes out next, what needs
    them, account health and the first steps left."""
    context: dict[str, Any] = {"invitations": invitations_for_user(request.user)}
    if request.membership is not None:
        context["home"] = home_for(actor=Actor.of(request.membership))
    return render(request, "accounts/dashboard.html", context)


def _parse_day(value: str | None, zone: ZoneInfo) -> date:
    """A day from the query string; today when missing, malformed or outside a sane range."""
    today = timezone.localdate(timezone=zone)
    try:
        day = date.fromisoformat(value) if value else today
    except ValueError:
        return today
    return day if date(1900, 1, 1) <= day <= date(2200, 12, 31) else today


def _calendar_filter(request: MemberRequest) -> tuple[CalendarFilter, str]:
    """The account and platform the calendar is narrowed to (unknown values are ignored), and
    the query string that keeps them on the calendar's other links."""
    account = request.GET.get("account", "")
    platform = request.GET.get("platform", "")
    only = CalendarFilter(
        account_id=int(account) if is_id(account) else None,
        platform=platform if platform in dict(platform_choices()) else "",
    )
    kept = {name: value for name, value in (("account", account), ("platform", only.platform)) if value}
    if only.account_id is None:
        kept.pop("account", None)
    return only, urlencode(kept)


@workspace_required()
def calendar(request: MemberRequest) -> HttpResponse:
    zone = request.zone
    day = _parse_day(request.GET.get("date"), zone)
    view = "week" if request.GET.get("view") == "week" else "month"
    only, filter_query = _calendar_filter(request)
    if view == "week":
        start = day - timedelta(days=day.weekday())
        weeks = [[start + timedelta(days=i) for i in range(7)]]
        previous, following = start - timedelta(days=7), start + timedelta(days=7)
    else:
        weeks = month_grid(day)
        previous = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
        following = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    accounts = SocialAccount.objects.filter(workspace=request.workspace).only("id", "platform", "username")
    context = {"view": view, "day": day, "today": timezone.localdate(timezone=zone), "previous": previous,
               "following": following, "only": only, "also": f"&{filter_query}" if filter_query else "",
               "accounts": accounts,
               "platforms": sorted({(a.platform, a.get_platform_display()) for a in accounts})}  # fmt: skip
    if view == "week":
        days = weeks[0]
        slots = posts_by_local_hour(request.workspace, days[0], days[-1], zone=zone, only=only)
        context["days"] = days
        context["hours"] = [
            (hour, [(d, *slots.get((d, hour), ([], 0))) for d in days]) for hour in range(24)
        ]  # fmt: skip
    else:
        posts = posts_by_local_day(request.workspace, weeks[0][0], weeks[-1][-1], zone=zone, only=only)
        context["weeks"] = [[(d, *posts.get(d, ([], 0))) for d in week] for week in weeks]
    return render(request, "publishing/calendar.html", context)


@login_required
def post_preview(request: AuthedRequest, post_id: int) -> HttpResponse:
    """What a calendar chip shows on hover or focus: the text, where it goes, its time, and (for
    an editor, on a post not yet out) the reschedule form that stands in for dragging."""
    post = get_workspace_object_or_404(request, Post, pk=post_id)
    main = post.contents.filter(kind=PostContent.Kind.MAIN).first()
    attachment = main.attachments.select_related("media").order_by("position").first() if main else None
    targets = post.targets.select_related("account").only(
        "id", "post_id", "status", "account__id", "account__platform", "account__username"
    )
    status, status_label = post_status_shown(post, list(targets))
    movable = (
        post.status == Post.Status.SCHEDULED
        and request.membership is not None
        and role_allows(request.membership.role, Capability.EDIT_CONTENT)
    )
    local = timezone.localtime(post.scheduled_at) if post.scheduled_at else None
    context = {"post": post, "text": main.text if main else "", "targets": targets, "status": status,
               "status_label": status_label, "thumb": media_thumb_url(attachment.media) if attachment else "",
               "movable": movable, "local": local}  # fmt: skip
    return render(request, "publishing/partials/post_preview.html", context)


def _list_filters(request: MemberRequest) -> tuple[QuerySet[Post], list[str]]:
    """The workspace's posts narrowed by account and local dates (not by tab), and any complaint."""
    posts = Post.objects.filter(workspace=request.workspace)
    problems = []
    account = request.GET.get("account", "")
    if is_id(account):
        posts = listing.for_account(posts, int(account))
    for bound, lookup in (("from", "scheduled_at__gte"), ("to", "scheduled_at__lt")):
        value = request.GET.get(bound)
        if value:
            try:
                day = date.fromisoformat(value) + timedelta(days=1 if bound == "to" else 0)
                if not date(1900, 1, 1) <= day <= date(2200, 12, 31):
                    raise ValueError
            except (ValueError, OverflowError):
                problems.append(f"'{value}' is not a date we can use (YYYY-MM-DD, years 1900 to 2200).")
                continue
            posts = posts.filter(**{lookup: local_midnight(day, request.zone)})
    return posts, problems


def _tab_of(request: MemberRequest) -> listing.Tab:
    slug = request.GET.get("tab", "")
    if slug in listing.TAB_BY_SLUG:
        return listing.TAB_BY_SLUG[slug]
    status = request.GET.get("status", "")  # older links filtered by one status
    return next((tab for tab in listing.TABS if status in tab.statuses), listing.TABS[0])


def _cursor_of(request: MemberRequest, tab: listing.Tab, name: str) -> listing.Cursor | None:
    value = request.GET.get(name, "")
    if not value:
        return None
    try:
        return listing.Cursor.decode(value, by_time=tab.by_time)
    except listing.BadCursor:
        messages.error(request, "That page link is incomplete, so here is the first page.")
        return None


@workspace_required()
def post_list(request: MemberRequest) -> HttpResponse:
    """Tabs by status with their counts; pages by keyset (see publishing/listing.py)."""
    posts, problems = _list_filters(request)
    for problem in problems:
        messages.error(request, problem)
    tab = _tab_of(request)
    after, before = _cursor_of(request, tab, "after"), _cursor_of(request, tab, "before")
    page = listing.page_of(posts, tab, after=after, before=before if after is None else None)
    counts = listing.tab_counts(posts)
    accounts = SocialAccount.objects.filter(workspace=request.workspace).only("id", "platform", "username")
    keep = request.GET.copy()
    for name in ("after", "before", "page", "status", "tab"):
        keep.pop(name, None)
    filters = keep.urlencode()
    context = {
        "page": page, "tab": tab, "tabs": [(t, counts[t.slug]) for t in listing.TABS], "accounts": accounts,
        "count_cap": listing.COUNT_CAP,
        "filters": request.GET, "filtered": bool(keep), "query": f"{filters}&tab={tab.slug}" if filters else
        f"tab={tab.slug}", "filter_query": filters, "next_path": request.get_full_path(),
    }  # fmt: skip
    return render(request, "publishing/post_list.html", context)


BULK_MAX = listing.PAGE_SIZE
BULK_ACTIONS = {  # (question, button, what happens)
    "reschedule": ("Move {n} to {when}?", "Move them", "Posts on their way or published stay where they are."),
    "cancel": ("Cancel {n}?", "Cancel them", "Nothing more of them will be published; each can be restored."),
    "delete": (
        "Delete {n}?",
        "Delete them",
        "They are removed for good. Published posts stay as their record; "
        "imported posts are removed from Postwright only and stay on their platforms.",
    ),
}
BULK_LISTED = 10  # posts the confirmation names; the rest are counted
# An option with more choices than this (an account's subscribed communities) gets a box to narrow it.
FILTER_CHOICES_OVER = 12


def _bulk_posts(request: AuthedRequest, membership: Membership) -> list[Post]:
    ids = [int(v) for v in request.POST.getlist("posts") if is_id(v)]
    if not ids:
        raise ValidationError("Select at least one post first.")
    if len(ids) > BULK_MAX:
        raise ValidationError(f"Select at most {BULK_MAX} posts at a time.")
    # Others' ids are simply not found: a bulk action never reaches outside the workspace.
    return list(Post.objects.filter(workspace=membership.workspace, pk__in=ids).order_by("scheduled_at", "id"))


def _bulk_moment(request: AuthedRequest, post: Post) -> datetime:
    """The new time of one post: the chosen day, at the chosen time or at its own time of day."""
    day = date.fromisoformat(request.POST.get("date", ""))
    own = timezone.localtime(post.scheduled_at, request.zone).time() if post.scheduled_at else None
    at = time.fromisoformat(request.POST["time"]) if request.POST.get("time") else own
    if at is None:
        raise ValidationError("A draft has no time of its own: pick a time as well.")
    return local_to_utc(day, at, request.zone)


def _bulk_question(request: AuthedRequest, action: str, posts: list[Post]) -> dict[str, Any]:
    title, button, message = BULK_ACTIONS[action]
    n = f"{len(posts)} post{pluralize(len(posts))}"
    when = request.POST.get("date", "")
    if request.POST.get("time"):
        when += f" at {request.POST['time']}"
    else:
        when += " (each at its own time of day)"
    return {"title": title.format(n=n, when=when), "button": button, "message": message}


def _bulk_apply(request: AuthedRequest, membership: Membership, action: str, posts: list[Post]) -> str:
    done, refused = 0, Counter[str]()
    for post in posts:
        try:
            if action == "reschedule":
                services.post_reschedule(actor=membership, post=post, at=_bulk_moment(request, post))
            elif action == "cancel":
                services.post_cancel(actor=membership, post=post)
            else:
                services.post_discard(actor=membership, post=post)
            done += 1
        except ValidationError as exc:
            refused[exc.messages[0]] += 1
    verb = {"reschedule": "moved", "cancel": "canceled", "delete": "deleted"}[action]
    summary = f"{done} post{pluralize(done)} {verb}."
    for reason, count in refused.items():
        summary += f" {count} not: {reason}"
    return summary


@login_required
@require_POST
def post_bulk(request: AuthedRequest) -> HttpResponse:
    """Reschedule, cancel or delete the selected posts, each through its service, after a
    confirmation page that says how many and what happens."""
    membership = request.membership
    if membership is None:
        raise Http404
    back = url_has_allowed_host_and_scheme(request.POST.get("next", ""), allowed_hosts={request.get_host()})
    back_to = request.POST["next"] if back else reverse("posts")
    action = request.POST.get("action", "")
    try:
        Actor.of(membership).require(Capability.EDIT_CONTENT, "Viewers cannot change posts.")
        if action not in BULK_ACTIONS:
            raise ValidationError("Pick what to do with the selected posts.")
        posts = _bulk_posts(request, membership)
        if not posts:
            raise ValidationError("None of the selected posts is in this workspace any more.")
        if action == "reschedule":
            _bulk_moment(request, posts[0])  # a bad date or time is refused before asking
    except ValueError:
        messages.error(request, "Give the date as YYYY-MM-DD and the time as HH:MM or HH:MM:SS.")
        return redirect(back_to)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect(back_to)
    carry = ("action", "posts", "date", "time", "next")
    question = _bulk_question(request, action, posts)
    ask = confirmation_page(request, back=back_to, carry=carry, details=_post_labels(posts), **question)
    if ask:
        return ask
    messages.info(request, _bulk_apply(request, membership, action, posts))
    return redirect(back_to)


def _post_labels(posts: list[Post]) -> list[str]:
    """ "Tue 3 Mar, 10:30: Launch day…" for the first few, in one query, and how many more."""
    listed = posts[:BULK_LISTED]
    mains = PostContent.objects.filter(post__in=listed, kind=PostContent.Kind.MAIN).order_by()
    texts = dict(mains.values_list("post_id", Left("text", 61)))
    lines = [
        f"{moment(p.scheduled_at) if p.scheduled_at else 'No time yet'}: "
        f"{truncatechars(texts.get(p.pk, ''), 60) or '(media only)'}"
        for p in listed
    ]
    return lines + ([f"and {len(posts) - len(listed)} more"] if len(posts) > len(listed) else [])


@login_required
def post_detail(request: AuthedRequest, post_id: int) -> HttpResponse:
    post = get_workspace_object_or_404(request, Post.objects.select_related("author"), pk=post_id)
    targets = _targets_with_parts(post)
    contents = post.contents.prefetch_related("attachments__media")
    context = {
        "post": post, "targets": targets, "contents": contents, "poll": _should_poll(post),
        "published_at": max((t.finished_at for t in targets if t.status == Target.Status.PUBLISHED and t.finished_at),
                            default=None),
        "shown_status": post_status_shown(post, targets),
        "history": post_history(post, targets),
        "numbers": _post_numbers(post, targets),
    }  # fmt: skip
    return render(request, "publishing/post_detail.html", context)


def _post_numbers(post: Post, targets: list[Target]) -> list[dict[str, Any]]:
    """Each published target's latest numbers and their growth since publishing (two queries,
    none for a post that has not gone out)."""
    if post.status not in (Post.Status.PUBLISHED, Post.Status.PARTIAL):
        return []
    growth = analytics_queries.post_growth(post.pk, post.workspace)
    shown = []
    for target in targets:
        found = growth.get(target.pk)
        if found is None:
            continue
        labels = [timezone.localtime(p["at"]).strftime("%d %b %H:%M") for p in found.points]
        chart = {"kind": "line", "labels": labels, "datasets": [
            {"label": "Engagement", "data": [p["engagement"] for p in found.points]},
            {"label": "Views", "data": [p["views"] for p in found.points]},
        ]}  # fmt: skip
        shown.append({"target": target, "latest": found.latest, "points": found.points, "chart": chart,
                      "chart_id": f"growth-{target.pk}"})  # fmt: skip
    return shown


def _targets_with_parts(post: Post) -> list[Target]:
    parts = TargetPart.objects.defer("state").order_by("position")
    return list(
        post.targets.select_related("account").defer("account__secrets").prefetch_related(Prefetch("parts", parts))
        .order_by("id")
    )  # fmt: skip


def _should_poll(post: Post) -> bool:
    """Keep the page live while the post is on its way (or about to be), not for next month's."""
    if post.status == Post.Status.PUBLISHING:
        return True
    soon = timezone.now() + timedelta(minutes=15)
    return post.status == Post.Status.SCHEDULED and post.scheduled_at is not None and post.scheduled_at < soon


@login_required
def post_targets(request: AuthedRequest, post_id: int) -> HttpResponse:
    """The targets table alone: the post page polls it while the post is on its way."""
    post = get_workspace_object_or_404(request, Post, pk=post_id)
    targets = _targets_with_parts(post)
    context = {
        "post": post,
        "targets": targets,
        "poll": _should_poll(post),
        "shown_status": post_status_shown(post, targets),
    }
    response = render(request, "publishing/partials/targets.html", context)
    if request.htmx and not context["poll"]:
        # The post has settled: reload the page once so its header and actions match.
        response["HX-Refresh"] = "true"
    return response


def _composer_context(form: ComposerForm, post: Post | None = None) -> dict[str, Any]:
    accounts = list(form.account_choices())
    saved = post.overrides if post else {}
    platforms = [
        {
            "id": platform,
            "name": get_provider(platform).name,
            "text": saved.get(platform, {}).get("text", ""),
            "options": [
                {"name": name, "label": label, "choices": choices,
                 "moment": name in get_provider(platform).moment_options,
                 "input": dict(get_provider(platform).typed_options).get(name, ""),
                 "value": _shown_value(get_provider(platform), name, form, saved.get(platform, {}).get(
                     "options", {}).get(name, choices[0][0] if choices else "")),
                 **_shown_for(platform, name)}
                for name, label, choices in _composer_options(platform, accounts, saved.get(platform, {}))
            ],
            "notes": _composer_notes(platform, accounts),
        }
        for platform in sorted({account.platform for account in accounts})
    ]  # fmt: skip
    hints = [] if accounts else starter_hints()
    documents = [account.id for account in accounts if _takes_documents(account)]
    return {"form": form, "post": post, "accounts": accounts, "platforms": platforms, "starter_hints": hints,
            "filter_choices_over": FILTER_CHOICES_OVER, "document_accounts": documents}  # fmt: skip


def _takes_documents(account: SocialAccount) -> bool:
    """Whether the account's rules take a PDF: the upload box offers PDFs only once one such is picked."""
    rules = get_provider(account.platform).format_media_rules(account=account.public_state(), options={})
    return rules.rule_for(DOCUMENT) is not None


def _shown_for(platform: str, name: str) -> dict[str, str]:
    """For an option shown only for some choices of another: that one's field name and values;
    for one whose choices each belong to a choice of another: that one's field name."""
    provider = get_provider(platform)
    shown: dict[str, str] = {}
    for option, controller, values in provider.option_shown_for:
        if option == name:
            shown = {"shown_when": f"option_{platform}_{controller}", "shown_values": " ".join(values)}
    for option, controller in provider.option_choices_follow:
        if option == name:
            shown["choices_follow"] = f"option_{platform}_{controller}"
    return shown


def _composer_options(
    platform: str, accounts: list[SocialAccount], saved: dict[str, Any]
) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """The platform's options, those listed from an account (boards) read live from each of the
    page's accounts of the platform. An account the platform will not answer for lists nothing,
    and a saved choice stays offered, so editing a post never silently drops it."""
    provider = get_provider(platform)
    chosen = saved.get("options", {}) if isinstance(saved.get("options"), dict) else {}
    options = []
    for name, label, choices in provider.composer_options:
        if name in provider.account_options:
            live = dict(choices)
            for account in accounts:
                if account.platform == platform:
                    live.update(_account_choices(provider, account, name))
            if isinstance(chosen.get(name), str) and chosen[name] not in live:
                live[chosen[name]] = chosen[name]
            choices = tuple(live.items())
        options.append((name, label, choices))
    return options


def _shown_value(provider: Provider, name: str, form: ComposerForm, value: Any) -> Any:
    """A saved moment option as the datetime-local value the author reads, in their zone."""
    if name not in provider.moment_options or not isinstance(value, str) or not value:
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.astimezone(form.zone).strftime("%Y-%m-%dT%H:%M") if moment.tzinfo else value


@dataclass(frozen=True)
class ShownNote:
    """A composer note as drawn: its avatar served from this site (img-src is 'self' only), by
    an opaque key the avatar view checks against what the provider returned, never a URL."""

    text: str
    image_src: str = ""


def _composer_notes(platform: str, accounts: list[SocialAccount]) -> list[ShownNote]:
    """What the platform asks shown for each of the page's accounts (who posts, its rules);
    an account the platform will not answer for shows nothing here."""
    provider = get_provider(platform)
    notes: list[ComposerNote] = []
    shown: list[ShownNote] = []
    for account in accounts:
        if account.platform != platform:
            continue
        try:
            found = [note for note in provider.composer_notes(account=account.state()) if note not in notes]
        except ProviderError:
            continue
        notes += found
        shown += [ShownNote(note.text, _avatar_src(account, note.image_url)) for note in found]
    return shown


def _avatar_src(account: SocialAccount, url: str) -> str:
    if not url:
        return ""
    return reverse("account_avatar", args=[account.pk, avatar_key(account.pk, url)])


def _account_choices(provider: Provider, account: SocialAccount, name: str) -> tuple[tuple[str, str], ...]:
    try:
        return provider.composer_choices(account=account.state(), name=name)
    except ProviderError:
        return ()  # shown as an empty list; the Accounts page reports the account's trouble


def _save(actor: Membership, form: ComposerForm, post: Post | None) -> Post:
    if post is None:
        return services.post_create(actor=actor, data=form.post_input())
    return services.post_update(actor=actor, post=post, data=form.post_input())


def _typed_or_saved(form: ComposerForm, post: Post | None) -> tuple[list[str], list[dict[str, Any]]]:
    """Replies and main-post attachments to show: what the author typed when the form comes back
    with errors (nothing typed is lost), else what the post being edited has saved."""
    if form.is_bound:
        replies = form.replies()
        chosen = [(a.media_id, a.alt_text) for a in form.parts()[0].attachments]
    elif post is not None:
        replies = list(post.contents.filter(kind=PostContent.Kind.REPLY).values_list("text", flat=True))
        main = post.contents.filter(kind=PostContent.Kind.MAIN).first()
        chosen = list(main.attachments.values_list("media_id", "alt_text")) if main else []
    else:
        return [], []
    media = Media.objects.in_bulk([media_id for media_id, _alt in chosen])
    attachments = [
        {"id": media_id, "name": media[media_id].original_name, "alt_text": alt,
         "url": media_thumb_url(media[media_id]), "kind": media[media_id].kind,
         "duration": media[media_id].duration_label}
        for media_id, alt in chosen
        if media_id in media and media[media_id].workspace_id == form.workspace.id
    ]  # fmt: skip
    return replies, attachments


def _compose_response(request: HttpRequest, actor: Membership, form: ComposerForm, post: Post | None) -> HttpResponse:
    """Save what the form read and go to the post, or show the form again with every problem."""
    if request.method == "POST" and form.is_valid():
        try:
            post = _save(actor, form, post)
        except ValidationError as exc:
            form.show_problems(problems_of(exc))
        else:
            messages.success(request, _saved_message(post))
            return redirect("post_detail", post_id=post.pk)
    elif request.method == "POST":
        # Part of the form could not be read: still list what the services say of the rest.
        form.show_problems(services.post_validate(actor=actor, data=form.post_input(), post=post))
    context = _composer_context(form, post)
    context["needs_approval"] = services.needs_approval(Actor.of(actor))  # "Submit for approval"
    context["replies"], context["attachments"] = _typed_or_saved(form, post)
    context["submit_label"] = submit_label(form, actor)
    return render(request, "publishing/compose.html", context, status=400 if form.errors else 200)


def _saved_message(post: Post) -> str:
    if post.status == Post.Status.AWAITING_APPROVAL:
        return "Submitted for approval: it goes out once an admin or owner approves it."
    if post.status == Post.Status.DRAFT or post.scheduled_at is None:  # only a draft has no time
        return "Draft saved."
    if post.scheduled_at <= timezone.now():
        return "Publishing now — follow it below."
    return f"Scheduled for {moment(post.scheduled_at)} ({timezone.get_current_timezone_name()})."


@workspace_required(Capability.EDIT_CONTENT)
@require_http_methods(["GET", "POST"])
def compose(request: MemberRequest) -> HttpResponse:
    initial = _chosen_slot(request) if request.method == "GET" else {}
    form = ComposerForm(request.POST or None, workspace=request.workspace, zone=request.zone, initial=initial)
    return _compose_response(request, request.membership, form, None)


def _chosen_slot(request: MemberRequest) -> dict[str, Any]:
    """A time picked on the calendar (``?date=2031-05-05&time=10:00``), to schedule there; a date
    alone is that day at the next full hour of the day, or 09:00 on another day."""
    try:
        day = date.fromisoformat(request.GET.get("date", ""))
        at = time.fromisoformat(request.GET["time"]) if request.GET.get("time") else None
    except ValueError:
        return {}
    if not date(1900, 1, 1) <= day <= date(2200, 12, 31):
        return {}
    if at is None:
        now = timezone.localtime(timezone=request.zone)
        at = time(min(now.hour + 1, 23)) if day == now.date() else time(9)
    return {"when": "schedule", "date": day, "time": at}


def _initial_data(post: Post) -> dict[str, Any]:
    contents = list(post.contents.all())
    main = next(c for c in contents if c.kind == PostContent.Kind.MAIN)
    comment = next((c.text for c in contents if c.kind == PostContent.Kind.FIRST_COMMENT), "")
    local = timezone.localtime(post.scheduled_at) if post.scheduled_at else None
    return {
        "accounts": [t.account_id for t in post.targets.all()],
        "text": main.text,
        "first_comment": comment,
        "link": post.link,
        "when": "schedule" if local else "draft",
        "date": local.date() if local else None,
        # Seconds kept: saving an untouched form must not move the post.
        "time": local.time().replace(microsecond=0) if local else None,
    }


@login_required
@require_http_methods(["GET", "POST"])
def post_edit(request: AuthedRequest, post_id: int) -> HttpResponse:
    post, membership = get_workspace_object_and_membership_or_404(
        request, Post, capability=Capability.EDIT_CONTENT, pk=post_id
    )
    form = ComposerForm(request.POST or None, workspace=post.workspace, zone=request.zone, initial=_initial_data(post))
    return _compose_response(request, membership, form, post)


def submit_label(form: ComposerForm, actor: Membership) -> str:
    """What the composer's main button will do: "Schedule for Tue 10:30", "Publish now",
    "Add to queue — Wed 09:00" or "Save draft"."""
    kind = form["when"].value()
    if kind in ("now", "schedule", "queue") and services.needs_approval(Actor.of(actor)):
        return "Submit for approval"  # it waits for an admin or owner, whatever time it asks for
    if kind == "now":
        return "Publish now"
    if kind == "schedule":
        at = form.timing.moment if form.timing is not None else _initial_moment(form)
        return f"Schedule for {short_moment(at)}" if at else "Schedule"
    if kind == "queue":
        ids = [int(v) for v in form.data.getlist("accounts") if is_id(v)] if form.is_bound else []
        slot = services.post_queue_preview(actor=actor, account_ids=ids) if ids else None
        return f"Add to queue — {short_moment(slot)}" if slot else "Add to queue"
    return "Save draft"


def _initial_moment(form: ComposerForm) -> datetime | None:
    """The time an unbound form opens with (a post being edited, a slot picked on the calendar)."""
    day, at = form["date"].value(), form["time"].value()
    if form.is_bound or not isinstance(day, date) or not isinstance(at, time):
        return None
    try:
        return local_to_utc(day, at, form.zone)
    except ValidationError:
        return None


@dataclass(frozen=True)
class PreviewImage:
    """One picture of a preview, with how its shape fits that account's platform."""

    url: str
    fit: AspectFit | None = None

    @property
    def frame(self) -> tuple[str, str] | None:
        """The kept part as percentages of width and height, for the frame drawn over the image."""
        if self.fit is None or self.fit.kept is None:
            return None
        width, height = self.fit.kept
        return f"{width * 100:.1f}", f"{height * 100:.1f}"


@dataclass(frozen=True)
class PreviewVideo:
    """The main post's video as the network shows it: its cover frame in the player's frame
    ("portrait", 9:16, or "landscape", 16:9), with a play badge and its duration. A video of the
    other shape is letterboxed inside, as the players do, rather than cropped."""

    url: str
    name: str
    duration: str
    frame: str
    letterboxed: bool


@dataclass(frozen=True)
class NetworkPreview:
    """One account's preview, drawn the way its network shows posts."""

    check: AccountCheck
    look: PreviewLook
    name: str
    initial: str
    images: list[PreviewImage]
    replies: list[str]
    comment: str
    video: PreviewVideo | None = None


def _network_previews(form: ComposerForm, checks: list[AccountCheck]) -> list[NetworkPreview]:
    return network_previews(form.workspace, form.parts(), checks)


def network_previews(
    workspace: Workspace, parts: Sequence[PartInput], checks: list[AccountCheck]
) -> list[NetworkPreview]:
    """Each account's preview in its network's look (the composer's panel, the review queue)."""
    ids = [a.media_id for a in parts[0].attachments] if parts else []
    fields = ("id", "kind", "original_name", "width", "height", "duration_s", "cover")
    media = Media.objects.filter(workspace=workspace, id__in=ids).only(*fields).in_bulk()
    video = next((media[i] for i in ids if i in media and media[i].kind == Media.Kind.VIDEO), None)
    # A video post shows its video; the other files (a YouTube thumbnail) are not drawn beside it.
    shown = [] if video else [(i, media_thumb_url(media[i])) for i in ids if i in media][:4]
    replies = [p.text for p in parts if p.kind == PostContent.Kind.REPLY]
    comment = next((p.text for p in parts if p.kind == PostContent.Kind.FIRST_COMMENT), "")
    previews = []
    for check in checks:
        name = check.account.display_name or check.account.username
        previews.append(NetworkPreview(
            check=check, look=get_provider(check.account.platform).preview_look, name=name,
            initial=name.lstrip("@")[:1].upper() or "?", replies=replies, comment=comment,
            images=[PreviewImage(url, check.image_fits.get(i)) for i, url in shown],
            video=_preview_video(video, check.video_frame) if video else None,
        ))  # fmt: skip
    return previews


def _preview_video(video: Media, frame: str) -> PreviewVideo:
    """``frame`` as the composer's check chose it (composer.video_frame: the format's, else the
    video's own shape); a video of the other shape is letterboxed in it."""
    portrait = bool(video.width and video.height and video.height > video.width)
    # Until the library has made its cover frame (a large upload still being inspected), the
    # frame is drawn empty: the cover URL would answer with the video file itself.
    url = media_thumb_url(video) if video.cover else ""
    return PreviewVideo(url=url, name=video.original_name, duration=video.duration_label,
                        frame=frame, letterboxed=portrait != (frame == "portrait"))  # fmt: skip


@workspace_required(Capability.EDIT_CONTENT)
@require_POST
def compose_check(request: MemberRequest) -> HttpResponse:
    """Live counters and network previews for the composer (HTMX), measured by the server's own
    rules, and the main button's words for what it will do."""
    form = ComposerForm(request.POST, workspace=request.workspace, zone=request.zone)
    form.is_valid()
    checks = services.post_preview(actor=request.membership, data=form.post_input())
    main = form.parts()[0]
    # An account with nothing to receive is not "ready", even though no limit is broken.
    empty = not main.text.strip() and not main.attachments
    context = {"form": form, "previews": _network_previews(form, checks), "empty": empty,
               "link": getattr(form, "cleaned_data", {}).get("link", ""),
               "submit_label": submit_label(form, request.membership),
               "split_offers": _split_offers(checks)}  # fmt: skip
    return render(request, "publishing/partials/checks.html", context)


def _split_offers(checks: list[AccountCheck]) -> set[int]:
    """The accounts whose main post is over its limit on a platform that threads: each preview
    offers "Split into a thread" there."""
    return {
        check.account.pk
        for check in checks
        if check.parts and check.parts[0].over and get_provider(check.account.platform).offers_thread_split
    }


@workspace_required(Capability.EDIT_CONTENT)
@require_POST
def compose_split(request: MemberRequest) -> HttpResponse:
    """The composer's "Split into a thread": the text the account would receive (its platform's
    own text, else the main text) as parts, computed and measured here by the rules the services
    check on submit; the page puts them in the main box and the thread's reply boxes."""
    account_id = request.POST.get("split_account", "")
    if not is_id(account_id):
        return JsonResponse({"error": "Pick the account whose text to split."}, status=400)
    account = get_workspace_object_or_404(request, SocialAccount, capability=Capability.EDIT_CONTENT, pk=account_id)
    field = f"override_{account.platform}"
    if not request.POST.get(field, "").strip():
        field = "text"
    try:
        parts = services.thread_split(actor=request.membership, account=account, text=request.POST.get(field, ""),
                                      numbered=bool(request.POST.get("split_numbered")))  # fmt: skip
    except SplitError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"field": field, "parts": parts})


def _act_on_post(
    request: AuthedRequest,
    post_id: int,
    action: Callable[[Membership, Post], object],
    *,
    confirm: dict[str, Any] | None = None,
) -> HttpResponse:
    post, membership = get_workspace_object_and_membership_or_404(
        request, Post, capability=Capability.EDIT_CONTENT, pk=post_id
    )
    back = reverse("post_detail", args=[post.pk])
    if confirm and (ask := confirmation_page(request, back=back, **confirm)):
        return ask
    try:
        action(membership, post)
    except (ValidationError, PermissionDenied) as exc:
        message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
        if request.htmx:
            return HttpResponse(message, status=409)
        messages.error(request, message)
    return redirect("post_detail", post_id=post.pk)


@login_required
@require_POST
def post_cancel(request: AuthedRequest, post_id: int) -> HttpResponse:
    def cancel(actor: Membership, post: Post) -> None:
        services.post_cancel(actor=actor, post=post)
        messages.success(request, "Canceled. Nothing more will be published for this post.")

    ask = {"title": "Cancel this post?", "button": "Cancel post",
           "message": "Nothing more of it will be published. You can restore it as a draft afterwards."}  # fmt: skip
    return _act_on_post(request, post_id, cancel, confirm=ask)


@login_required
@require_POST
def post_restore(request: AuthedRequest, post_id: int) -> HttpResponse:
    def restore(actor: Membership, post: Post) -> None:
        services.post_restore(actor=actor, post=post)
        messages.success(request, "Restored as a draft. Pick a time to schedule it again.")

    return _act_on_post(request, post_id, restore)


@login_required
@require_POST
def post_remove_imported(request: AuthedRequest, post_id: int) -> HttpResponse:
    """Remove an imported post from Postwright, where it stays on its platform; only with
    ``at_platforms=1`` (its own button, its own confirmation) is it deleted there as well."""
    post, membership = get_workspace_object_and_membership_or_404(
        request, Post, capability=Capability.EDIT_CONTENT, pk=post_id
    )
    if post.origin != Post.Origin.IMPORTED:
        messages.error(request, "Only imported posts are removed this way.")
        return redirect("post_detail", post_id=post.pk)
    at_platforms = request.POST.get("at_platforms") == "1"
    try:
        outcome = services.post_delete(actor=membership, post=post, imported_at_platforms=at_platforms)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("post_detail", post_id=post.pk)
    if not outcome.deleted:
        messages.error(request, "Still live on a platform: " + " ".join(outcome.kept.values()))
        return redirect("post_detail", post_id=post.pk)
    done = (
        "Deleted from its platform and from Postwright."
        if at_platforms
        else "Removed from Postwright. It stays on its platform."
    )
    messages.success(request, done)
    return redirect("posts")


@login_required
@require_POST
def post_duplicate(request: AuthedRequest, post_id: int) -> HttpResponse:
    post, membership = get_workspace_object_and_membership_or_404(
        request, Post, capability=Capability.EDIT_CONTENT, pk=post_id
    )
    copy = services.post_duplicate(actor=membership, post=post)
    messages.success(request, "Copied as a new draft: change what you like, then schedule it.")
    return redirect("post_edit", post_id=copy.pk)


def _target_action(request: AuthedRequest, target_id: int, action: Callable[..., object], done: str) -> HttpResponse:
    target, membership = get_workspace_object_and_membership_or_404(
        request, Target.objects.select_related("account"), capability=Capability.EDIT_CONTENT, pk=target_id
    )
    try:
        action(actor=membership, target=target)
        messages.success(request, done)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect("post_detail", post_id=target.post_id)


@login_required
@require_POST
def target_retry(request: AuthedRequest, target_id: int) -> HttpResponse:
    return _target_action(request, target_id, services.target_retry, "Retrying now.")


@login_required
@require_POST
def target_mark_published(request: AuthedRequest, target_id: int) -> HttpResponse:
    return _target_action(request, target_id, services.target_mark_published, "Marked as published.")


def _media_json(item: Media) -> dict[str, Any]:
    return {
        "id": item.pk, "name": item.original_name, "kind": item.kind, "url": media_thumb_url(item),
        "width": item.width, "height": item.height, "size": item.size, "duration_s": item.duration_s,
        "duration": item.duration_label, "status": item.status, "error": item.error,
        "status_url": reverse("media_status", args=[item.pk]),
    }  # fmt: skip


@workspace_required(Capability.EDIT_CONTENT)
@require_POST
def media_upload(request: MemberRequest) -> HttpResponse:
    """One request per file (small images, scripts); the browser uses the chunked endpoints."""
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": "Choose a file to upload."}, status=400)
    try:
        item = media_store(actor=request.membership, upload=upload)
    except ValidationError as exc:
        return JsonResponse({"error": exc.messages[0]}, status=400)
    return JsonResponse(_media_json(item))


def _upload_json(upload: MediaUpload) -> dict[str, Any]:
    return {
        "id": str(upload.pk), "name": upload.name, "size": upload.size, "offset": upload.offset,
        "chunk_size": settings.MEDIA_UPLOAD_CHUNK_BYTES,
        "url": reverse("media_upload_chunks", args=[upload.pk]),
        "finish_url": reverse("media_upload_finish", args=[upload.pk]),
    }  # fmt: skip


@workspace_required(Capability.EDIT_CONTENT)
@require_POST
def media_upload_create(request: MemberRequest) -> HttpResponse:
    """Start a chunked upload: name, size and type of the file, as form fields or JSON."""
    try:
        data = json.loads(request.body) if request.content_type == "application/json" else request.POST
        name, size, mime_type = str(data.get("name", "")), data.get("size", ""), str(data.get("type", ""))
        size = int(size) if str(size).isdecimal() else -1
        if size < 0:
            raise ValidationError("Give the file's size in bytes.")
        upload = uploads.upload_create(actor=request.membership, name=name, size=size, mime_type=mime_type)
    except (ValueError, AttributeError):
        return JsonResponse({"error": "Send name, size and type as JSON or form fields."}, status=400)
    except ValidationError as exc:
        return JsonResponse({"error": exc.messages[0]}, status=400)
    return JsonResponse(_upload_json(upload), status=201)


def _refused(exc: uploads.ChunkRefused) -> JsonResponse:
    response = JsonResponse({"error": exc.message, "offset": exc.offset}, status=exc.status)
    response["Upload-Offset"] = str(exc.offset)
    return response


@login_required
@require_http_methods(["GET", "PUT", "PATCH", "DELETE"])
def media_upload_chunks(request: AuthedRequest, upload_id: uuid.UUID) -> HttpResponse:
    """GET: how many bytes the server has (to resume); PUT or PATCH: the next chunk, placed by
    its Content-Range; DELETE: give up."""
    upload, membership = get_workspace_object_and_membership_or_404(
        request, MediaUpload, capability=Capability.EDIT_CONTENT, pk=upload_id
    )
    if request.method == "DELETE":
        uploads.upload_discard(upload=upload)
        return HttpResponse(status=204)
    if request.method in ("PUT", "PATCH"):
        length = request.headers.get("Content-Length", "")
        try:
            uploads.upload_write_chunk(
                actor=membership, upload=upload, content_range=request.headers.get("Content-Range", ""),
                body=request, length=int(length) if length.isdecimal() else None,
            )  # fmt: skip
        except uploads.ChunkRefused as exc:
            return _refused(exc)
    response = JsonResponse(_upload_json(upload))
    response["Upload-Offset"] = str(upload.offset)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def media_upload_finish(request: AuthedRequest, upload_id: uuid.UUID) -> HttpResponse:
    upload, membership = get_workspace_object_and_membership_or_404(
        request, MediaUpload, capability=Capability.EDIT_CONTENT, pk=upload_id
    )
    try:
        item = uploads.upload_finish(actor=membership, upload=upload)
    except uploads.ChunkRefused as exc:
        return _refused(exc)
    except ValidationError as exc:
        return JsonResponse({"error": exc.messages[0]}, status=400)
    return JsonResponse(_media_json(item))


@login_required
def media_status(request: AuthedRequest, media_id: int) -> HttpResponse:
    """What the uploader polls while a video is inspected (processing, then ready or failed).
    Another's or an impossible id is a 404 whatever the method; only then is the method checked."""
    item = get_workspace_object_or_404(request, Media, pk=media_id)
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    response = JsonResponse(_media_json(item))
    response["Cache-Control"] = "no-store"
    return response


@login_required
def media_preview(request: AuthedRequest, media_id: int) -> HttpResponseBase:
    item = get_workspace_object_or_404(request, Media, pk=media_id)
    # A PDF is the author's file, not ours to render inside this site's origin: it is downloaded.
    document = item.kind == Media.Kind.DOCUMENT
    return FileResponse(item.file.open("rb"), content_type=item.mime_type, as_attachment=document,
                        filename=item.original_name if document else "")  # fmt: skip


@login_required
def media_cover(request: AuthedRequest, media_id: int) -> HttpResponseBase:
    """A video's cover frame (an image's own file: one URL works for every thumbnail)."""
    item = get_workspace_object_or_404(request, Media, pk=media_id)
    if not item.cover:
        return FileResponse(item.file.open("rb"), content_type=item.mime_type)
    response = FileResponse(item.cover.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_GET
def media_signed(request: HttpRequest, token: str) -> HttpResponseBase:
    """Public but unguessable and expiring: for platforms that fetch media by URL."""
    try:
        item = media_from_token(token)
    except Media.DoesNotExist:
        raise Http404 from None
    response = FileResponse(item.file.open("rb"), content_type=item.mime_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


@workspace_required()
def media_library(request: MemberRequest) -> HttpResponse:
    items = Media.objects.filter(workspace=request.workspace).order_by("-created_at")
    if request.GET.get("pick") == "1":  # the composer's picker: a button per attachable file, nothing else
        attachable = items.filter(status=Media.Status.READY)[:200]
        return render(request, "publishing/partials/media_picker.html", {"items": attachable})
    template = "publishing/partials/media_grid.html" if request.htmx else "publishing/media_library.html"
    can_upload = role_allows(request.membership.role, Capability.EDIT_CONTENT)
    max_upload = format_bytes(settings.MEDIA_MAX_UPLOAD_BYTES)
    context = {"items": items[:200], "can_upload": can_upload, "max_upload": max_upload}
    return render(request, template, context)


@login_required
@require_POST
def post_reschedule(request: AuthedRequest, post_id: int) -> HttpResponse:
    """Drag and drop on the calendar: a new day (keeping the time of day) or a new date and time."""
    post, membership = get_workspace_object_and_membership_or_404(
        request, Post, capability=Capability.EDIT_CONTENT, pk=post_id
    )
    zone = request.zone
    try:
        day = date.fromisoformat(request.POST.get("date", ""))
        current = timezone.localtime(post.scheduled_at, zone).time() if post.scheduled_at else None
        at = time.fromisoformat(request.POST["time"]) if request.POST.get("time") else current
        if at is None:
            raise ValidationError("Pick a time for this draft.")
        if request.POST.get("hour"):
            # Dropped on an hour of the week grid: that hour, the same minutes and seconds.
            at = at.replace(hour=int(request.POST["hour"]))
        publish_at = local_to_utc(day, at, zone)
        services.post_reschedule(actor=membership, post=post, at=publish_at)
    except ValueError:
        return HttpResponse("Give the date as YYYY-MM-DD and the time as HH:MM or HH:MM:SS.", status=400)
    except ValidationError as exc:
        return HttpResponse(exc.messages[0], status=409)
    response = HttpResponse(f"Moved to {moment(publish_at)} ({zone.key}).")
    response["X-Post-Clock"] = clock(publish_at)  # the chip's new label, as the calendar shows times
    return response


@workspace_required()
def queue_slots(request: MemberRequest) -> HttpResponse:
    """Each account's weekly posting slots: "Add to queue" takes the next free one."""
    accounts = (
        SocialAccount.objects.filter(workspace=request.workspace)
        .exclude(status=SocialAccount.Status.DISCONNECTED)
        .prefetch_related("posting_slots")
        .order_by("platform", "username")
    )
    return render(request, "publishing/queue_slots.html", {"accounts": accounts, "form": PostingSlotForm()})


@login_required
@require_POST
def queue_slot_add(request: AuthedRequest, account_id: int) -> HttpResponse:
    account, membership = get_workspace_object_and_membership_or_404(
        request, SocialAccount, capability=Capability.EDIT_CONTENT, pk=account_id
    )
    form = PostingSlotForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a day and a time for the slot.")
    else:
        days = list(range(7)) if form.cleaned_data["weekday"] == "all" else [int(form.cleaned_data["weekday"])]
        services.posting_slot_add(actor=membership, account=account, weekdays=days, at=form.cleaned_data["time"])
        messages.success(request, f"Slot added for {account.username}.")
    return redirect("queue_slots")


@login_required
@require_POST
def queue_slot_remove(request: AuthedRequest, slot_id: int) -> HttpResponse:
    slot, membership = get_workspace_object_and_membership_or_404(
        request, PostingSlot.objects.select_related("account"), capability=Capability.EDIT_CONTENT,
        pk=slot_id, workspace_path="account__workspace",
    )  # fmt: skip
    services.posting_slot_remove(actor=membership, slot=slot)
    messages.success(request, "Slot removed.")
    return redirect("queue_slots")
