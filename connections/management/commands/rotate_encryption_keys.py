"""Re-encrypt every stored secret under the newest key of POSTWRIGHT_ENCRYPTION_KEYS."""

from allauth.mfa.models import Authenticator
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Field, Model

from accounts.mfa import authenticator_secrets_map
from connections.models import ConnectSession, Grant, InstanceApp, OAuthApp, SocialAccount
from connections.vault import VaultError, reencrypt
from publishing.models import TargetPart, UploadSession

ENCRYPTED = [
    (Grant, "secrets"),
    (TargetPart, "state"),
    (UploadSession, "state"),
    (SocialAccount, "secrets"),
    (ConnectSession, "secrets"),
    (OAuthApp, "client_secret"),
    (InstanceApp, "client_secret"),
]


class Command(BaseCommand):
    help = (
        "Re-encrypt all tokens, app passwords, client secrets and two-factor secrets under the newest key. "
        "Put the new key first in POSTWRIGHT_ENCRYPTION_KEYS, run this, then drop the old key. "
        "Each row is rewritten on its own, so the command is safe to interrupt and re-run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows read per query (default 500).")

    def handle(self, *args: str, batch_size: int, **options: object) -> None:
        try:
            for model, field in ENCRYPTED:
                self._rotate(model, field, batch_size)
            self._rotate_mfa(batch_size)
        except VaultError as exc:
            raise CommandError(str(exc)) from None  # rows done so far stay done; re-run once fixed
        self.stdout.write(self.style.SUCCESS("All secrets are encrypted under the newest key."))

    def _rotate(self, model: type[Model], field: str, batch_size: int) -> None:
        # Work on the raw ciphertext so nothing is decrypted into Python objects we might log.
        table = model._meta.db_table
        found = model._meta.get_field(field)
        if not isinstance(found, Field):  # ENCRYPTED names columns; a relation here is a bug in that list
            raise CommandError(f"{model.__name__}.{field} is not a column")
        column = found.column
        total = model._default_manager.count()
        done, last_pk = 0, 0
        quote = connection.ops.quote_name
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id, {quote(column)} FROM {quote(table)} WHERE id > %s ORDER BY id LIMIT %s",  # noqa: S608
                    [last_pk, batch_size],
                )
                rows = cursor.fetchall()
            if not rows:
                break
            for pk, ciphertext in rows:
                if ciphertext:
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute(
                            f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE id = %s AND {quote(column)} = %s",  # noqa: S608
                            [reencrypt(ciphertext), pk, ciphertext],
                        )
                last_pk = pk
                done += 1
            self.stdout.write(f"{model._meta.verbose_name_plural}: {done}/{total}")
        self.stdout.write(f"{model._meta.verbose_name_plural}: {done}/{total} done")

    def _rotate_mfa(self, batch_size: int) -> None:
        # allauth keeps its secrets inside a JSON column beside plain fields (used_mask...), so
        # each row is locked and rewritten whole rather than patched as raw text.
        pks = list(Authenticator.objects.order_by("pk").values_list("pk", flat=True))
        for done, pk in enumerate(pks, start=1):
            with transaction.atomic():
                authenticator = Authenticator.objects.select_for_update().filter(pk=pk).first()
                if authenticator is not None:
                    authenticator.data = authenticator_secrets_map(
                        kind=authenticator.type, data=authenticator.data, transform=reencrypt
                    )
                    authenticator.save(update_fields=["data"])
            if done % batch_size == 0 or done == len(pks):
                self.stdout.write(f"two-factor authenticators: {done}/{len(pks)}")
