"""The workspace's audit log for its owners and admins: browse, filter, and export as CSV."""

import csv
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import MemberRequest, workspace_required
from accounts.audit import ACTIONS
from accounts.models import AuditRecord, Membership
from accounts.roles import Capability

PAGE_SIZE = 50
CSV_COLUMNS = ["time", "action", "actor", "object_type", "object_id", "object", "ip", "user_agent", "details"]


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None  # a mistyped date filters nothing rather than failing


def _filtered(request: MemberRequest) -> tuple[QuerySet[AuditRecord], dict[str, str]]:
    records = AuditRecord.objects.filter(workspace_id=request.workspace.pk).select_related("actor_user")
    chosen = {key: request.GET.get(key, "").strip() for key in ("action", "actor", "since", "until")}
    if chosen["action"] in ACTIONS:
        records = records.filter(action=chosen["action"])
    if chosen["actor"]:
        records = records.filter(actor_label__icontains=chosen["actor"])
    zone = request.zone
    if since := _day(chosen["since"]):
        records = records.filter(created_at__gte=datetime.combine(since, time.min, tzinfo=zone))
    if until := _day(chosen["until"]):
        records = records.filter(created_at__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone))
    return records, chosen


def _rows(records: QuerySet[AuditRecord]) -> Iterator[list[str]]:
    yield CSV_COLUMNS
    for record in records.iterator(chunk_size=500):
        yield [
            record.created_at.isoformat(), record.action, record.actor_label, record.object_type, record.object_id,
            record.object_label, record.ip or "", record.user_agent, str(record.details or ""),
        ]  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv(records: QuerySet[AuditRecord]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    # Formula-looking cells are quoted with a leading apostrophe, so a spreadsheet never runs them.
    rows = ([f"'{cell}" if cell[:1] in ("=", "+", "-", "@") else cell for cell in row] for row in _rows(records))
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="audit-log.csv"'
    return response


@workspace_required(Capability.MANAGE_SETTINGS)
@require_GET
def audit_log(request: MemberRequest) -> HttpResponseBase:
    records, chosen = _filtered(request)
    if request.GET.get("format") == "csv":
        return _csv(records)
    page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
    for record in page:
        record.action_label = ACTIONS.get(record.action, record.action)  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    members = Membership.objects.filter(workspace=request.workspace).select_related("user").order_by("id")
    context = {
        "page": page, "chosen": chosen, "actions": ACTIONS, "query": query.urlencode(),
        "members": [m.user.email for m in members], "section": "workspace_settings",
    }  # fmt: skip
    response: HttpResponse = render(request, "accounts/audit_log.html", context)
    return response
