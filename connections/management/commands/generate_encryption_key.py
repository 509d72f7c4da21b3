from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a new key for POSTWRIGHT_ENCRYPTION_KEYS (put it first, then run rotate_encryption_keys)."

    def handle(self, *args: str, **options: object) -> None:
        self.stdout.write(Fernet.generate_key().decode())
