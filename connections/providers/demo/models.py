import secrets

from django.conf import settings
from django.db import models

from connections.providers.base import PublishedItem


def new_demo_post_id() -> str:
    return secrets.token_hex(8)


class DemoPost(models.Model):
    """The Demo network's own storage: what a real platform would hold on its side."""

    account_external_id = models.CharField(max_length=255)
    post_id = models.CharField(max_length=32, unique=True, default=new_demo_post_id)
    idempotency_key = models.CharField(max_length=255)
    text = models.TextField()
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table it had when it lived in the connections app: moving the model kept the data.
        db_table = "connections_demopost"
        constraints = [
            models.UniqueConstraint(fields=["account_external_id", "idempotency_key"], name="demo_idempotency")
        ]

    def __str__(self) -> str:
        return f"demo post {self.post_id}"

    @property
    def url(self) -> str:
        return f"{settings.SITE_URL}/demo/{self.account_external_id}/{self.post_id}"

    @staticmethod
    def as_item(post: "DemoPost") -> PublishedItem:
        return PublishedItem(platform_post_id=post.post_id, url=post.url)
