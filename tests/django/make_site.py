"""Make a Django site's database as django-rest-registration leaves it.

Used by the import tests (tests/it/django.rs): real Django migrates the
database, creates users through its own hashers (`make_password`, one per
hasher of PASSWORD_HASHERS), a DRF token per active user, and signs a
registration link and a reset link with django-rest-registration's signers,
as the site would have mailed them before the move. It prints what the test
needs to check, as JSON, on stdout.

    python make_site.py --secret-key KEY (--sqlite PATH | --postgres URL)
"""

import argparse
import hashlib
import json
import sys
from datetime import timedelta
from urllib.parse import urlparse

import django
from django.conf import settings

HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]


def configure(args):
    if args.sqlite:
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": args.sqlite}
    else:
        url = urlparse(args.postgres)
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.path.lstrip("/"),
            "USER": url.username or "postgres",
            "PASSWORD": url.password or "",
            "HOST": url.hostname or "127.0.0.1",
            "PORT": str(url.port or 5432),
        }
    settings.configure(
        SECRET_KEY=args.secret_key,
        USE_TZ=True,
        DATABASES={"default": database},
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "rest_framework.authtoken",
            "rest_registration",
        ],
        PASSWORD_HASHERS=HASHERS,
        REST_REGISTRATION={
            "REGISTER_VERIFICATION_URL": "https://front.test/verify-user/",
            "RESET_PASSWORD_VERIFICATION_URL": "https://front.test/reset-password/",
            "REGISTER_EMAIL_VERIFICATION_URL": "https://front.test/verify-email/",
            "VERIFICATION_FROM_EMAIL": "no-reply@front.test",
        },
    )
    django.setup()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret-key", required=True)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--sqlite")
    where.add_argument("--postgres")
    args = parser.parse_args()
    configure(args)

    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils.module_loading import import_string
    from rest_framework.authtoken.models import Token
    from rest_registration.signers.register import RegisterSigner
    from rest_registration.signers.reset_password import ResetPasswordSigner

    call_command("migrate", verbosity=0)

    site = {"users": [], "skipped": []}
    for path in HASHERS:
        algorithm = import_string(path).algorithm
        password = f"old {algorithm} pässword"
        user = User.objects.create(
            username=f"{algorithm}_user",
            email=f"{algorithm}@example.org",
            first_name="Moved",
            last_name=algorithm,
            password=make_password(password, hasher=algorithm),
        )
        user.last_login = user.date_joined + timedelta(hours=1)
        user.save(update_fields=["last_login"])
        token = Token.objects.create(user=user)
        site["users"].append(
            {
                "id": user.pk,
                "username": user.username,
                "email": user.email,
                "password": password,
                "hasher": user.password.split("$", 1)[0],
                "first_name": user.first_name,
                "last_name": user.last_name,
                "date_joined": int(user.date_joined.timestamp()),
                "last_login": int(user.last_login.timestamp()),
                "token": token.key,
            }
        )

    unusable = User.objects.create(username="unusable_user", email="unusable@example.org")
    unusable.set_unusable_password()
    unusable.save()
    site["unusable"] = {"id": unusable.pk, "username": unusable.username}

    # Registered, not yet verified: DRR keeps `is_active` false until the
    # mailed link is followed.
    pending = User.objects.create(
        username="pending_user",
        email="pending@example.org",
        is_active=False,
        password=make_password("pending pass 1"),
    )
    site["verify"] = {
        "username": pending.username,
        "password": "pending pass 1",
        "link": RegisterSigner({"user_id": str(pending.pk)}).get_signed_data(),
    }
    reset_for = site["users"][0]
    site["reset"] = {
        "username": reset_for["username"],
        "link": ResetPasswordSigner({"user_id": str(reset_for["id"])}).get_signed_data(),
    }

    # Rows that cannot move: a legacy hash, and an address another user has
    # (Django does not keep addresses unique).
    legacy = User.objects.create(
        username="legacy_user",
        email="legacy@example.org",
        password="md5$salt$" + hashlib.md5(b"saltpw").hexdigest(),
    )
    twin = User.objects.create(
        username="twin_user",
        email=site["users"][0]["email"],
        password=make_password("twin pass 1"),
    )
    Token.objects.create(user=twin)
    site["skipped"] = [legacy.pk, twin.pk]
    site["tokens"] = Token.objects.count()
    site["total"] = User.objects.count()
    json.dump(site, sys.stdout)


if __name__ == "__main__":
    main()
