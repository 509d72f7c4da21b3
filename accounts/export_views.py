"""Asking for a data export, watching its progress, and downloading it by its signed link."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import MemberRequest, workspace_required
from accounts.exports import (
    export_for_download,
    export_request_personal,
    export_request_workspace,
    export_token,
    exports_fail_stale,
)
from accounts.models import DataExport
from accounts.roles import Capability

SHOWN = 10


def _page(request: HttpRequest, exports: list[DataExport], kind: str) -> HttpResponse:
    rows = [{"export": e, "token": export_token(e)} for e in exports]
    return render(request, "accounts/exports.html", {"rows": rows, "kind": kind, "section": "workspace_settings"})


def _asked(request: HttpRequest) -> None:
    messages.success(request, "Export started: this page shows its progress, and we email you the link when ready.")


@workspace_required(Capability.MANAGE_OWNERS)
@require_http_methods(["GET", "POST"])
def workspace_export(request: MemberRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            export_request_workspace(actor=request.membership)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            _asked(request)
        return redirect("workspace_export")
    exports_fail_stale()  # an interrupted export says so rather than "being built" forever
    exports = DataExport.objects.filter(kind=DataExport.Kind.WORKSPACE, workspace=request.workspace)
    return _page(request, list(exports.select_related("requested_by")[:SHOWN]), "workspace")


@login_required
@require_http_methods(["GET", "POST"])
def personal_export(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            export_request_personal(user=request.user)  # type: ignore[arg-type]
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            _asked(request)
        return redirect("personal_export")
    exports_fail_stale()
    exports = DataExport.objects.filter(kind=DataExport.Kind.PERSONAL, requested_by=request.user)
    return _page(request, list(exports[:SHOWN]), "personal")


@login_required  # any method: an export that is not the requester's is a 404 before anything else
def export_progress(request: HttpRequest, export_id: int) -> HttpResponse:
    """One export's row, which polls itself while the export is being built."""
    exports_fail_stale()
    export = DataExport.objects.filter(pk=export_id, requested_by=request.user).first()
    if export is None:
        raise Http404
    context = {"row": {"export": export, "token": export_token(export)}}
    return render(request, "accounts/partials/export_row.html", context)


@login_required
@require_GET
def export_download(request: HttpRequest, token: str) -> FileResponse:
    try:
        export = export_for_download(user=request.user, token=token)  # type: ignore[arg-type]
    except DataExport.DoesNotExist:
        raise Http404("This link has expired or is not yours.") from None
    if not export.file or not default_storage.exists(export.file.name):
        raise Http404("This export is no longer kept.")
    name = f"postwright-{export.kind}-export-{export.finished_at:%Y%m%d}.zip"
    return FileResponse(default_storage.open(export.file.name, "rb"), as_attachment=True, filename=name)
