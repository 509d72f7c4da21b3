from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services
from accounts.access import get_workspace_object_and_membership_or_404, workspace_required
from accounts.adapters import INVITATION_SESSION_KEY
from accounts.confirm import confirmation_page
from accounts.forms import InvitationForm, PreferencesForm, RoleForm, WorkspaceForm, WorkspaceSettingsForm
from accounts.health import process_health
from accounts.models import Invitation, Membership, Notification, hash_token
from accounts.plan_usage import plan_usage
from accounts.roles import Capability, assignable_roles, role_allows
from accounts.timezones import browser_zone


def _first_error(exc: ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return exc.messages[0]
    return str(exc) or "You do not have permission to do that."


@login_required
def workspace_list(request: HttpRequest) -> HttpResponse:
    memberships = request.user.memberships.select_related("workspace").order_by("workspace__name")
    return render(request, "accounts/workspace_list.html", {"memberships": memberships})


@login_required
@require_http_methods(["GET", "POST"])
def workspace_create(request: HttpRequest) -> HttpResponse:
    known = browser_zone(request)
    form = WorkspaceForm(request.POST or None, initial={"timezone": known or "UTC"})
    if not known:
        form.fields["timezone"].widget.attrs["data-browser-default"] = ""  # app.js fills it in
    if request.method == "POST" and form.is_valid():
        workspace = services.workspace_create(
            owner=request.user, name=form.cleaned_data["name"], timezone_name=form.cleaned_data["timezone"]
        )
        messages.success(request, f"Created {workspace.name}. You are now working in it.")
        return redirect("dashboard")
    return render(request, "accounts/workspace_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_POST
def workspace_switch(request: HttpRequest, workspace_id: int) -> HttpResponse:
    try:
        workspace = services.workspace_switch(user=request.user, workspace_id=workspace_id)
    except services.Workspace.DoesNotExist:
        raise Http404 from None
    messages.success(request, f"Switched to {workspace.name}.")
    return redirect("dashboard")


@workspace_required(Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def workspace_settings(request: HttpRequest) -> HttpResponse:
    form = WorkspaceSettingsForm(request.POST or None, instance=request.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            services.workspace_update(
                actor=request.membership,
                name=form.cleaned_data["name"],
                timezone_name=form.cleaned_data["timezone"],
                approval_policy=form.cleaned_data["approval_policy"] or None,
            )
        except ValidationError as exc:
            form.add_error(None, exc)  # keyed by the model's fields, which are the form's
        else:
            messages.success(request, "Workspace settings saved.")
            return redirect("workspace_settings")
    plan, usage = plan_usage(request.workspace)
    context = {"form": form, "plan": plan, "usage": usage}
    return render(request, "accounts/settings.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_update_preferences(
            user=request.user, name=form.cleaned_data["name"], timezone_name=form.cleaned_data["timezone"]
        )
        messages.success(request, "Preferences saved.")
        return redirect("preferences")
    context = {"form": form, "browser_zone": browser_zone(request)}
    return render(request, "accounts/preferences.html", context, status=400 if form.errors else 200)


def _members_context(request: HttpRequest, invite_form: InvitationForm | None = None) -> dict:
    workspace = request.workspace
    roles = assignable_roles(request.membership.role)
    return {
        "members": workspace.memberships.select_related("user").order_by("user__email"),
        "invitations": workspace.invitations.pending().select_related("invited_by"),
        "invite_form": invite_form or InvitationForm(allowed_roles=roles),
        "assignable_roles": roles,
    }


@workspace_required()
def members(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/members.html", _members_context(request))


def _refusal_status(exc: ValidationError | PermissionDenied) -> int:
    return 400 if isinstance(exc, ValidationError) else 403


def _members_page(request: HttpRequest, *, status: int) -> HttpResponse:
    """A refused change answers with its status (not a redirect that reads as success), on the
    members page with the reason shown."""
    if request.membership is None:
        return redirect("dashboard")
    return render(request, "accounts/members.html", _members_context(request), status=status)


@workspace_required(Capability.MANAGE_MEMBERS)
@require_POST
def invitation_create(request: HttpRequest) -> HttpResponse:
    form = InvitationForm(request.POST, allowed_roles=assignable_roles(request.membership.role))
    if form.is_valid():
        try:
            invitation, _token = services.invitation_create(
                actor=request.membership, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
            )
        except ValidationError as exc:
            form.add_error(None, exc if hasattr(exc, "error_dict") else {"email": exc.messages})
        except PermissionDenied as exc:
            form.add_error("role", _first_error(exc))
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            form = None
    context = _members_context(request, invite_form=form)
    status = 400 if form is not None else 200
    if request.htmx:
        return render(request, "accounts/partials/invitations_panel.html", context, status=status)
    if form is None:
        return redirect("members")
    return render(request, "accounts/members.html", context, status=status)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation, actor = get_workspace_object_and_membership_or_404(
        request, Invitation, capability=Capability.MANAGE_MEMBERS, pk=invitation_id
    )
    try:
        services.invitation_revoke(actor=actor, invitation=invitation)
        messages.success(request, f"Invitation to {invitation.email} revoked.")
    except ValidationError as exc:
        messages.error(request, _first_error(exc))
    return redirect("members")


@login_required
@require_POST
def member_role(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership, actor = get_workspace_object_and_membership_or_404(
        request, Membership.objects.select_related("user"), capability=Capability.MANAGE_MEMBERS, pk=membership_id
    )
    form = RoleForm(request.POST)
    status = 200
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
        status = 400
    else:
        try:
            services.membership_change_role(actor=actor, membership=membership, role=form.cleaned_data["role"])
            messages.success(request, f"{membership.user.email} is now {membership.get_role_display().lower()}.")
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, _first_error(exc))
            status = _refusal_status(exc)
    if request.htmx:
        membership.refresh_from_db()
        context = {"member": membership, "assignable_roles": assignable_roles(actor.role)}
        return render(request, "accounts/partials/member_row.html", context, status=status)
    if status != 200:
        return _members_page(request, status=status)
    return redirect("members")


@login_required
@require_POST
def member_remove(request: HttpRequest, membership_id: int) -> HttpResponse:
    # Leaving needs no management right; removing someone else is checked by the service.
    membership, actor = get_workspace_object_and_membership_or_404(
        request, Membership.objects.select_related("user", "workspace"), pk=membership_id
    )
    leaving = membership.user_id == request.user.pk
    if not leaving and not role_allows(actor.role, Capability.MANAGE_MEMBERS):
        raise PermissionDenied  # no confirm step for what the service would refuse anyway
    ask = confirmation_page(request, **_remove_question(membership, leaving=leaving))
    if ask:
        return ask
    try:
        services.membership_remove(actor=actor, membership=membership)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _first_error(exc))
        return _members_page(request, status=_refusal_status(exc))
    if membership.user_id == request.user.pk:
        messages.success(request, f"You left {membership.workspace.name}.")
        return redirect("dashboard")
    messages.success(request, f"{membership.user.email} was removed from {membership.workspace.name}.")
    return redirect("members")


def _remove_question(membership: Membership, *, leaving: bool) -> dict:
    workspace = membership.workspace.name
    if leaving:
        return {"title": f"Leave {workspace}?", "button": "Leave", "back": reverse("members"),
                "message": "You lose access to its posts and accounts until someone invites you again."}  # fmt: skip
    return {"title": f"Remove {membership.user.email}?", "button": "Remove", "back": reverse("members"),
            "message": f"They will lose access to {workspace} until someone invites them again."}  # fmt: skip


def _answer_invitation(request: HttpRequest, invitation: Invitation) -> HttpResponse | None:
    """Apply an accept/decline answer; None when the page should be shown again with the error."""
    answer = request.POST.get("answer")
    try:
        if answer == "accept":
            services.invitation_accept(invitation=invitation, user=request.user)
            messages.success(request, f"Welcome to {invitation.workspace.name}!")
        elif answer == "decline":
            services.invitation_decline(invitation=invitation, user=request.user)
            messages.info(request, f"You declined the invitation to {invitation.workspace.name}.")
        else:
            messages.error(request, "Choose accept or decline.")
            return None
    except ValidationError as exc:
        messages.error(request, _first_error(exc))
        return None
    request.session.pop(INVITATION_SESSION_KEY, None)
    return redirect("dashboard")


@require_http_methods(["GET", "POST"])
def invitation_detail(request: HttpRequest, token: str) -> HttpResponse:
    invitation = get_object_or_404(
        Invitation.objects.select_related("workspace", "invited_by"), token_hash=hash_token(token)
    )
    if invitation.status == "revoked":
        # Withdrawn: whoever holds the link learns nothing, not even which workspace it was for.
        return render(request, "accounts/invitation_void.html", status=404)
    if not request.user.is_authenticated:
        if invitation.status == "pending":
            # Remembered so signup stays open for this visitor even when signups are closed.
            request.session[INVITATION_SESSION_KEY] = token
    elif request.method == "POST":
        response = _answer_invitation(request, invitation)
        if response is not None:
            return response
    return render(request, "accounts/invitation.html", {"invitation": invitation})


@login_required
@require_POST
def invitation_answer(request: HttpRequest, invitation_id: int) -> HttpResponse:
    """Answer from the dashboard, where the invitee sees invitations sent to their verified emails."""
    invitation = next((i for i in services.invitations_for_user(request.user) if i.pk == invitation_id), None)
    if invitation is None:
        raise Http404
    return _answer_invitation(request, invitation) or redirect("dashboard")


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    items = Notification.objects.visible_to(request.user).select_related("workspace")[:100]
    return render(request, "accounts/notifications.html", {"notifications": items})


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    Notification.objects.visible_to(request.user).filter(read_at=None).update(read_at=timezone.now())
    return redirect("notifications")


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and uptime checks: 200 when the database answers and a worker is alive."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    processes = process_health()
    healthy = not any(p.missing for p in processes)
    status = "ok" if all(p.alive for p in processes) else ("starting" if healthy else "degraded")
    body = {
        "status": status,
        "database": "ok",
        "processes": {
            p.name: {
                "alive": p.alive,
                "starting": p.starting,
                "last_seen": p.last_seen.isoformat() if p.last_seen else None,
            }
            for p in processes
        },
    }
    return JsonResponse(body, status=200 if healthy else 503)


# --- Public legal pages ----------------------------------------------------------------------
