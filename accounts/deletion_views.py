"""Deleting the workspace (owners; with a grace period and undo) and deleting one's account."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.access import MemberRequest, workspace_required
from accounts.deletion import user_delete, workspace_delete_request, workspace_delete_undo
from accounts.roles import Capability


@workspace_required(Capability.MANAGE_OWNERS)
@require_http_methods(["GET", "POST"])
def workspace_delete(request: MemberRequest) -> HttpResponse:
    error, status = "", 200
    if request.method == "POST":
        try:
            if request.POST.get("undo"):
                workspace_delete_undo(actor=request.membership)
                messages.success(request, "Deletion undone: the workspace stays, and publishing goes on.")
            else:
                workspace_delete_request(actor=request.membership, confirm_name=request.POST.get("confirm_name", ""))
                messages.warning(request, "The workspace will be deleted at the end of the grace period.")
        except ValidationError as exc:
            error, status = exc.messages[0], 400
        else:
            return redirect("workspace_delete")
    request.workspace.refresh_from_db()
    context = {"workspace": request.workspace, "error": error, "section": "workspace_settings"}
    return render(request, "accounts/workspace_delete.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    error, status = "", 200
    if request.method == "POST":
        try:
            user_delete(user=request.user, password=request.POST.get("password", ""),  # type: ignore[arg-type]
                        confirm_email=request.POST.get("confirm_email", ""))  # fmt: skip
        except ValidationError as exc:
            error, status = exc.messages[0], 400
        else:
            logout(request)
            messages.success(request, "Your account and its data are deleted.")
            return redirect("account_login")
    context = {"error": error, "has_password": request.user.has_usable_password()}
    return render(request, "accounts/account_delete.html", context, status=status)
