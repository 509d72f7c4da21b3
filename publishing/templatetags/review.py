"""The review box and comment thread of a post's page, as one tag, so the page's view needs no
change to show them: ``{% post_review post %}``."""

from typing import Any

from django import template

from publishing.approvals import content_version
from publishing.models import Post

register = template.Library()


@register.inclusion_tag("publishing/partials/review.html", takes_context=True)
def post_review(context: template.Context, post: Post) -> dict[str, Any]:
    comments = post.comments.select_related("author").order_by("id")
    return {
        "post": post,
        "version": content_version(post),  # the approve form refuses a post changed after this
        "comments": list(comments),
        "can": context.get("can", {}),
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
    }
