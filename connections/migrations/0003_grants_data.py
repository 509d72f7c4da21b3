"""One grant per existing account: its tokens and expiry move from the account to the grant.

Before grants, every account held a full copy of its consent's tokens; each becomes the only
account of a grant of its own (accounts that shared a consent cannot be told apart afterwards,
and the next reconnect gathers them). Reversible: the tokens go back to the accounts.
"""

from django.db import migrations

# An account's status as its grant's: a disconnected account's consent was revoked.
GRANT_STATUS = {"active": "active", "needs_reconnect": "needs_reconnect", "disconnected": "revoked"}


def move_secrets_to_grants(apps, schema_editor) -> None:
    SocialAccount = apps.get_model("connections", "SocialAccount")
    Grant = apps.get_model("connections", "Grant")
    for account in SocialAccount.objects.filter(grant__isnull=True).iterator(chunk_size=500):
        account.grant = Grant.objects.create(
            workspace_id=account.workspace_id,
            platform=account.platform,
            secrets=account.secrets,
            expires_at=account.token_expires_at,
            status=GRANT_STATUS.get(account.status, "active"),
            created_by_id=account.connected_by_id,
        )
        account.secrets = {}
        account.save(update_fields=["grant", "secrets"])


def move_secrets_to_accounts(apps, schema_editor) -> None:
    SocialAccount = apps.get_model("connections", "SocialAccount")
    Grant = apps.get_model("connections", "Grant")
    for account in SocialAccount.objects.filter(grant__isnull=False).select_related("grant").iterator(chunk_size=500):
        account.secrets = {**account.grant.secrets, **account.secrets}
        account.token_expires_at = account.grant.expires_at
        account.grant = None
        account.save(update_fields=["grant", "secrets", "token_expires_at"])
    Grant.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("connections", "0002_grants")]

    operations = [migrations.RunPython(move_secrets_to_grants, move_secrets_to_accounts)]
