"""The Analytics page and its exports: read-only, scoped to the current workspace, in its zone.

The page runs a fixed number of queries (see analytics/queries.py) whatever the number of posts;
exports stream their rows in chunks."""

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.access import AuthedRequest, MemberRequest, get_workspace_object_and_membership_or_404, workspace_required
from accounts.actors import Actor
from accounts.roles import Capability
from analytics import imports, queries
from analytics.models import ImportRun
from analytics.queries import Scope
from connections.models import SocialAccount
from connections.registry import platform_choices
from publishing.forms import is_id


@dataclass(frozen=True)
class Filters:
    preset: str  # a key of RANGE_PRESETS or "custom"
    first_day: date
    last_day: date
    account: SocialAccount | None
    platform: str
    metric: str

    def query(self) -> str:
        """The filters as a query string, for the export buttons."""
        parts = [f"range={self.preset}", f"from={self.first_day}", f"to={self.last_day}"]
        if self.account:
            parts.append(f"account={self.account.pk}")
        if self.platform:
            parts.append(f"platform={self.platform}")
        return "&".join(parts)


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _range(request: MemberRequest, today: date) -> tuple[str, date, date]:
    """The chosen days in the workspace's zone: a preset ending today, or from/to as given."""
    preset = request.GET.get("range", queries.DEFAULT_RANGE)
    if preset != "custom":
        days = queries.RANGE_PRESETS.get(preset)
        if days is None:
            preset, days = queries.DEFAULT_RANGE, queries.RANGE_PRESETS[queries.DEFAULT_RANGE]
        return preset, today - timedelta(days=days - 1), today
    first, last = _day(request.GET.get("from", "")), _day(request.GET.get("to", ""))
    problem = ""
    if first is None or last is None:
        problem = "Choose both days of a custom range (from and to)."
    elif first > last:
        problem = "The range must start before it ends."
    elif (last - first).days >= queries.MAX_RANGE_DAYS:
        problem = "Choose a range of at most three years."
    if problem or first is None or last is None:
        messages.error(request, f"{problem} Showing the last 30 days.")
        return queries.DEFAULT_RANGE, today - timedelta(days=29), today
    return preset, first, last


def _filters(request: MemberRequest, accounts: list[SocialAccount]) -> Filters:
    preset, first, last = _range(request, timezone.localdate())
    account = None
    wanted = request.GET.get("account", "")
    if wanted:
        # Only this workspace's accounts are choices: any other id is a 404, never its numbers.
        account = next((a for a in accounts if is_id(wanted) and a.pk == int(wanted)), None)
        if account is None:
            raise Http404
    platform = request.GET.get("platform", "")
    if platform and platform not in {a.platform for a in accounts}:
        platform = ""
    metric = request.GET.get("metric", "engagement")
    if metric not in queries.TOP_METRICS:
        metric = "engagement"
    return Filters(preset, first, last, account, platform, metric)


def _scope(request: MemberRequest, filters: Filters, accounts: list[SocialAccount]) -> Scope:
    chosen: tuple[int, ...] | None = None
    if filters.account:
        chosen = (filters.account.pk,)
    elif filters.platform:
        chosen = tuple(a.pk for a in accounts if a.platform == filters.platform)
    return Scope(request.workspace, request.zone, filters.first_day, filters.last_day, chosen)


def _accounts(request: MemberRequest) -> list[SocialAccount]:
    return list(
        SocialAccount.objects.filter(workspace=request.workspace)
        .only("id", "platform", "username", "workspace_id")
        .order_by("platform", "username")
    )


def _chart(kind: str, labels: list[str], datasets: list[tuple[str, list[Any]]], **extra: Any) -> dict[str, Any]:
    """What static/js/analytics.js draws: plain data, no options from the server."""
    return {"kind": kind, "labels": labels, "datasets": [{"label": n, "data": d} for n, d in datasets], **extra}


@workspace_required()
def overview(request: MemberRequest) -> HttpResponse:
    accounts = _accounts(request)
    filters = _filters(request, accounts)
    scope = _scope(request, filters, accounts)
    names = dict(platform_choices())
    points = queries.daily(scope)
    totals = queries.overall(points)
    platforms = queries.per_platform(scope, {a.pk: a.platform for a in accounts}, names)
    followers = queries.followers(scope)
    labels = [p.label for p in points]
    charts = {
        "posts": _chart("bar", labels, [("Posts published", [p.totals.posts for p in points])]),
        "engagement": _chart(
            "line", labels, [("Engagement", [p.totals.engagement for p in points]),
                             ("Views", [p.totals.views for p in points])],
        ),
        "followers": _chart("line", [d for d, _ in followers], [("Followers", [n for _, n in followers])]),
        "platforms": _chart(
            "bar", [row.name for row in platforms], [("Engagement", [row.totals.engagement for row in platforms]),
                                                      ("Posts", [row.totals.posts for row in platforms])],
        ),
    }  # fmt: skip
    context = {
        "accounts": accounts,
        "platform_names": sorted({(a.platform, names.get(a.platform, a.platform)) for a in accounts}),
        "filters": filters,
        "presets": [("7d", "7 days"), ("30d", "30 days"), ("90d", "90 days"), ("12m", "12 months")],
        "metrics": queries.TOP_METRICS,
        "points": points,
        "totals": totals,
        "platforms": platforms,
        "followers": followers,
        "top": queries.top_posts(scope, filters.metric),
        "heat": queries.best_times(scope),
        "hours": range(24),
        "charts": charts,
        "zone": request.zone,
        "export_query": filters.query(),
    }
    return render(request, "analytics/overview.html", context)


class _Echo:
    """A file-like that hands back what csv.writer writes, so each row streams as it is made."""

    def write(self, value: str) -> str:
        return value


def _csv_stream(fields: tuple[str, ...], rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    writer = csv.DictWriter(_Echo(), fieldnames=fields)
    yield writer.writeheader()
    for row in rows:
        yield writer.writerow(row)


def _json_stream(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield "["
    for n, row in enumerate(rows):
        yield ("," if n else "") + json.dumps(row)
    yield "]\n"


def streamed(name: str, fields: tuple[str, ...], rows: Iterator[dict[str, Any]], fmt: str) -> StreamingHttpResponse:
    if fmt == "json":
        response = StreamingHttpResponse(_json_stream(rows), content_type="application/json")
        filename = f"{name}.json"
    else:
        response = StreamingHttpResponse(_csv_stream(fields, rows), content_type="text/csv; charset=utf-8")
        filename = f"{name}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export_scope(request: MemberRequest) -> tuple[Scope, Filters, str]:
    accounts = _accounts(request)
    filters = _filters(request, accounts)
    fmt = "json" if request.GET.get("format") == "json" else "csv"
    return _scope(request, filters, accounts), filters, fmt


@require_GET
@workspace_required()
def export_posts(request: MemberRequest) -> StreamingHttpResponse:
    scope, filters, fmt = _export_scope(request)
    rows = queries.post_export_rows(scope)
    return streamed(f"posts-{filters.first_day}-{filters.last_day}", queries.POST_EXPORT_FIELDS, rows, fmt)


@require_GET
@workspace_required()
def export_accounts(request: MemberRequest) -> StreamingHttpResponse:
    scope, filters, fmt = _export_scope(request)
    rows = queries.account_export_rows(scope)
    return streamed(f"accounts-{filters.first_day}-{filters.last_day}", queries.ACCOUNT_EXPORT_FIELDS, rows, fmt)


# --- Importing past posts --------------------------------------------------------------------


@login_required
@require_POST
def import_start(request: AuthedRequest, account_id: int) -> HttpResponse:
    """The Accounts page's "Import past posts": queue the run, show its progress in place."""
    account, membership = get_workspace_object_and_membership_or_404(
        request, SocialAccount, capability=Capability.MANAGE_CONNECTIONS, pk=account_id
    )
    run: ImportRun | None = None
    error = ""
    try:
        run = imports.import_start(actor=Actor.of(membership), account=account)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.htmx:
        return _status(request, account, run, error=error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Importing the past posts of {account.username}; this page shows its progress.")
    return redirect("connections")


@login_required  # any method: another workspace's run is a 404 before anything else
def import_progress(request: AuthedRequest, run_id: int) -> HttpResponse:
    """One run's status, which polls itself while the run is under way."""
    run, _membership = get_workspace_object_and_membership_or_404(
        request, ImportRun.objects.select_related("account"), pk=run_id
    )
    return _status(request, run.account, run)


@login_required
@require_POST
def import_cancel(request: AuthedRequest, run_id: int) -> HttpResponse:
    run, membership = get_workspace_object_and_membership_or_404(
        request, ImportRun.objects.select_related("account"), capability=Capability.MANAGE_CONNECTIONS, pk=run_id
    )
    imports.import_cancel(actor=Actor.of(membership), run=run)
    run.refresh_from_db()
    if request.htmx:
        return _status(request, run.account, run)
    messages.info(request, f"Stopped importing the posts of {run.account.username}; what it found stays.")
    return redirect("connections")


def _status(request: HttpRequest, account: SocialAccount, run: ImportRun | None, *, error: str = "") -> HttpResponse:
    imports.accounts_mark_imports([account])
    context = {"account": account, "run": run, "import_error": error}
    return render(request, "analytics/partials/import_status.html", context)
