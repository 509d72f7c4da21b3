"""What one account receives: the post's parts with that platform's overrides applied."""

from django.core.files.storage import default_storage

from connections.providers.base import ContentPart, MediaItem, PublishRequest
from publishing.media import signed_media_url
from publishing.models import ContentMedia, PostContent, Target


def _media_item(attachment: ContentMedia) -> MediaItem:
    media = attachment.media
    return MediaItem(
        filename=media.original_name,
        mime_type=media.mime_type,
        size=media.size,
        open=lambda name=media.file.name: default_storage.open(name, "rb"),
        public_url=signed_media_url(media),
        alt_text=attachment.alt_text,
        width=media.width,
        height=media.height,
        duration_s=media.duration_s,
    )


def _part(content: PostContent, text: str | None = None) -> ContentPart:
    attachments = tuple(_media_item(a) for a in content.attachments.all())
    return ContentPart(text=content.text if text is None else text, media=attachments)


def build_request(target: Target) -> PublishRequest:
    post = target.post
    override = post.overrides.get(target.account.platform, {})
    contents = list(post.contents.prefetch_related("attachments__media"))
    main = next(c for c in contents if c.kind == PostContent.Kind.MAIN)
    replies = tuple(_part(c) for c in contents if c.kind == PostContent.Kind.REPLY)
    comment = next((c for c in contents if c.kind == PostContent.Kind.FIRST_COMMENT), None)
    return PublishRequest(
        main=_part(main, override.get("text") or None),
        replies=replies,
        first_comment=_part(comment) if comment else None,
        link=post.link,
        options=override.get("options", {}),
        idempotency_key=target.idempotency_key,
    )
