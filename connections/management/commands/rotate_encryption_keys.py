"""Re-encrypt every stored secret under the newest key of POSTWRIGHT_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction

from connections.models import ConnectSession, Grant, InstanceApp, OAuthApp, SocialAccount
from connections.vault import reencrypt

ENCRYPTED = [
    (Grant, "secrets"),
    (SocialAccount, "secrets"),
    (ConnectSession, "secrets"),
    (OAuthApp, "client_secret"),
    (InstanceApp, "client_secret"),
]


class Command(BaseCommand):
    help = (
        "Re-encrypt all tokens, app passwords and client secrets under the newest key. "
        "Put the new key first in POSTWRIGHT_ENCRYPTION_KEYS, run this, then drop the old key. "
        "Each row is rewritten on its own, so the command is safe to interrupt and re-run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500, help="Rows read per query (default 500).")

    def handle(self, *args, batch_size: int, **options) -> None:
        for model, field in ENCRYPTED:
            self._rotate(model, field, batch_size)
        self.stdout.write(self.style.SUCCESS("All secrets are encrypted under the newest key."))

    def _rotate(self, model, field: str, batch_size: int) -> None:
        # Work on the raw ciphertext so nothing is decrypted into Python objects we might log.
        table = model._meta.db_table
        column = model._meta.get_field(field).column
        total = model.objects.count()
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
