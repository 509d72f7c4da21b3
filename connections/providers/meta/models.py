import secrets

from django.db import models


def new_confirmation_code() -> str:
    # Unguessable: the status page is public (Meta shows its link to the user), so the code is its key.
    return secrets.token_urlsafe(12)


class DataDeletionRequest(models.Model):
    """A user's request, relayed by Meta's data-deletion callback, to delete what we hold about
    them. Kept without the user's id (it is what was deleted): only what the status page shows."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        COMPLETED = "completed", "Completed"

    platform = models.CharField(max_length=32)
    confirmation_code = models.CharField(max_length=32, unique=True, default=new_confirmation_code)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    accounts_erased = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.platform} data deletion {self.confirmation_code} ({self.status})"
