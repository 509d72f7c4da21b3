from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.access import AuthedRequest, get_workspace_object_and_membership_or_404, workspace_required
from accounts.actors import Actor
from accounts.roles import Capability
from analytics import imports
from analytics.models import ImportRun
from connections.models import SocialAccount


@workspace_required()
def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "analytics/overview.html")


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
