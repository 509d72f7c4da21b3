# Encrypt the two-factor secrets allauth stored in plaintext before accounts.mfa.MFAAdapter.

from django.db import migrations


def _rewrite(apps, encrypted: bool) -> None:
    from accounts.mfa import authenticator_secrets_map, is_encrypted
    from connections import vault

    def forward(value: str) -> str:
        return value if is_encrypted(value) else vault.encrypt(value)

    def backward(value: str) -> str:
        return vault.decrypt(value) if is_encrypted(value) else value

    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.all().iterator():
        data = authenticator_secrets_map(
            kind=authenticator.type, data=authenticator.data, transform=forward if encrypted else backward
        )
        if data != authenticator.data:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


def encrypt_secrets(apps, schema_editor) -> None:
    _rewrite(apps, encrypted=True)


def decrypt_secrets(apps, schema_editor) -> None:
    _rewrite(apps, encrypted=False)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_secrets, decrypt_secrets)]
