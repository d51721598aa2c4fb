"""Make a dj-rest-auth site's database as django-allauth leaves it.

Used by the import test of the rest-auth dialect (tests/it/django.rs): real
Django migrates the database with allauth's account app, creates users
with their `EmailAddress` rows (one confirmed, two accounts sharing an
unconfirmed address, a staff account), a DRF token each, and makes the
links the site would have mailed before the move with allauth's own code:
a confirmation key (`EmailConfirmationHMAC`) and a password-reset uid and
token (`user_pk_to_url_str`, `EmailAwarePasswordResetTokenGenerator`). It
prints what the test needs to check, as JSON, on stdout.

    python make_allauth_site.py --secret-key KEY --sqlite PATH
"""

import argparse
import json
import sys

import django
from django.conf import settings


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--sqlite", required=True)
    args = parser.parse_args()
    settings.configure(
        SECRET_KEY=args.secret_key,
        USE_TZ=True,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": args.sqlite}},
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sites",
            "rest_framework",
            "rest_framework.authtoken",
            "allauth",
            "allauth.account",
        ],
        SITE_ID=1,
        MIDDLEWARE=["allauth.account.middleware.AccountMiddleware"],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
        ACCOUNT_LOGIN_METHODS={"username", "email"},
        ACCOUNT_EMAIL_VERIFICATION="mandatory",
        ACCOUNT_SIGNUP_FIELDS=["email*", "username*", "password1*", "password2*"],
    )
    django.setup()

    from allauth.account.forms import EmailAwarePasswordResetTokenGenerator
    from allauth.account.models import EmailAddress, EmailConfirmationHMAC
    from allauth.account.utils import user_pk_to_url_str
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    call_command("migrate", verbosity=0)

    def account(username, email, verified, staff=False):
        password = f"old {username} pässword"
        user = User.objects.create_user(username, email, password, is_staff=staff)
        address = EmailAddress.objects.create(
            user=user, email=email, verified=verified, primary=True
        )
        token = Token.objects.create(user=user)
        return {
            "id": user.pk,
            "username": username,
            "email": email,
            "password": password,
            "address_id": address.pk,
            "verified": verified,
            "staff": staff,
            "token": token.key,
        }

    ada = account("ada", "ada@example.org", True, staff=True)
    # A second, unconfirmed address of ada's: allauth's reset token covers it.
    second = EmailAddress.objects.create(
        user_id=ada["id"], email="ada.second@example.org", verified=False, primary=False
    )
    bob = account("bob", "shared@example.org", False)
    carol = account("carol", "shared@example.org", False)
    user = User.objects.get(pk=ada["id"])
    site = {
        "users": [ada, bob, carol],
        "second_address": second.pk,
        "confirm": {
            "username": bob["username"],
            "key": EmailConfirmationHMAC(EmailAddress.objects.get(pk=bob["address_id"])).key,
        },
        "reset": {
            "username": ada["username"],
            "uid": user_pk_to_url_str(user),
            "token": EmailAwarePasswordResetTokenGenerator().make_token(user),
        },
        "addresses": EmailAddress.objects.count(),
    }
    json.dump(site, sys.stdout)


if __name__ == "__main__":
    main()
