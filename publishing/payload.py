"""What one account receives: the post's parts with that platform's overrides applied."""

from django.db.models import prefetch_related_objects

from connections.providers.base import ContentPart, MediaItem, PublishRequest
from connections.providers.media_rules import MediaRules
from connections.registry import get_provider
from publishing.media import media_item
from publishing.models import ContentMedia, PostContent, Target


def _media_item(attachment: ContentMedia, rules: MediaRules) -> MediaItem:
    # The platform's fitting copy of an image when its rules ask for one (see media.media_item).
    media = attachment.media
    return media_item(media, alt_text=attachment.alt_text, rule=rules.rule_for(media.kind))


def _part(content: PostContent, rules: MediaRules, text: str | None = None) -> ContentPart:
    attachments = tuple(_media_item(a, rules) for a in content.attachments.all())
    return ContentPart(text=content.text if text is None else text, media=attachments)


def build_request(target: Target) -> PublishRequest:
    post = target.post
    override = post.overrides.get(target.account.platform, {})
    if "contents" not in getattr(post, "_prefetched_objects_cache", {}):  # a worker's batch reads them at once
        prefetch_related_objects([post], "contents__attachments__media")
    contents = list(post.contents.all())
    provider, options = get_provider(target.account.platform), override.get("options", {})
    rules = provider.format_media_rules(account=target.account.public_state(), options=options)
    main = next(c for c in contents if c.kind == PostContent.Kind.MAIN)
    replies = tuple(_part(c, rules) for c in contents if c.kind == PostContent.Kind.REPLY)
    comment = next((c for c in contents if c.kind == PostContent.Kind.FIRST_COMMENT), None)
    return PublishRequest(
        main=_part(main, rules, override.get("text") or None),
        replies=replies,
        first_comment=_part(comment, rules) if comment else None,
        link=post.link,
        options=options,
        idempotency_key=target.idempotency_key,
    )
