"""The review queue, approving or sending back a submitted post, and the post's comment thread.
The services decide (publishing/approvals.py); these views only read forms and show answers."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.access import AuthedRequest, MemberRequest, get_workspace_object_and_membership_or_404, workspace_required
from accounts.roles import Capability
from publishing import approvals, services
from publishing.inputs import problems_of
from publishing.models import Post
from publishing.views import network_previews

QUEUE_LIMIT = 50


def _message(exc: ValidationError | PermissionDenied) -> str:
    return problems_of(exc)[0].message if isinstance(exc, ValidationError) else str(exc)


@workspace_required(Capability.APPROVE_POSTS)
@require_GET
def approval_queue(request: MemberRequest) -> HttpResponse:
    """Every post waiting for a reviewer, each with what each network will receive."""
    posts = list(approvals.approval_queue(actor=request.membership).select_related("author")[:QUEUE_LIMIT])
    reviews = []
    for post in posts:
        data = approvals.post_input_of(post)
        checks = services.post_preview(actor=request.membership, data=data)
        reviews.append({"post": post, "previews": network_previews(request.workspace, data.parts, checks)})
    return render(request, "publishing/approval_queue.html", {"reviews": reviews, "section": "approvals"})


@login_required
@require_POST
def post_approve(request: AuthedRequest, post_id: int) -> HttpResponse:
    post, membership = get_workspace_object_and_membership_or_404(
        request, Post, capability=Capability.APPROVE_POSTS, pk=post_id
    )
    passed, note, seen = (request.POST.get(name, "") for name in ("passed", "note", "seen"))
    try:
        approvals.post_approve(actor=membership, post=post, passed=passed, note=note, seen=seen)
    except ValidationError as exc:
        if any(problem.code == "time_passed" for problem in problems_of(exc)):
            # Asked, not assumed: the reviewer picks "now" or "the next free slot".
            context = {"post": post, "note": note, "seen": seen}
            return render(request, "publishing/approval_passed.html", context, status=409)
        messages.error(request, _message(exc))
    except PermissionDenied as exc:
        messages.error(request, _message(exc))
        return redirect("post_detail", post_id=post.pk)
    else:
        messages.success(request, "Approved: the post is scheduled.")
    return redirect("post_detail", post_id=post.pk)


@login_required
@require_POST
def post_request_changes(request: AuthedRequest, post_id: int) -> HttpResponse:
    post, membership = get_workspace_object_and_membership_or_404(
        request, Post, capability=Capability.APPROVE_POSTS, pk=post_id
    )
    try:
        approvals.post_request_changes(actor=membership, post=post, comment=request.POST.get("comment", ""))
    except ValidationError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, "Sent back to the author with your comment.")
    return redirect("post_detail", post_id=post.pk)


@login_required
@require_POST
def post_comment(request: AuthedRequest, post_id: int) -> HttpResponse:
    post, membership = get_workspace_object_and_membership_or_404(request, Post, pk=post_id)
    try:
        approvals.post_comment_add(actor=membership, post=post, body=request.POST.get("body", ""))
    except ValidationError as exc:
        messages.error(request, _message(exc))
    return redirect(reverse("post_detail", args=[post.pk]) + "#comments")
