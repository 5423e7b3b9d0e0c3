"""Print `<access token> <user id>` for the yardstick's bench user (created on first use).

Runs with the measured project's settings and database; opens a session through the auth service,
exactly as a login does after the password check (no Argon2, no login rate limit spent), and deletes
the bench user's notifications left by earlier runs.
"""

import os
import sys

sys.path.insert(0, os.getcwd())
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402

from auth_app.models import User  # noqa: E402
from auth_app.services.sessions import auth_session_start  # noqa: E402
from notifications.models import Notification  # noqa: E402

EMAIL = os.environ.get("BENCH_EMAIL", "yardstick@example.com")

user = User.objects.filter(email=EMAIL).first()
if user is None:
    user = User.objects.create_user(email=EMAIL, password=None, name="Yardstick")
# The bench user's notifications from earlier runs go: the unread count must count the same rows
# (none but those this run writes) in every run, or it measures how many runs came before.
Notification.objects.filter(recipient=user).delete()
if connection.vendor == "postgresql":
    # ... and the rows deleted must not linger either: until autovacuum runs, every count walks the
    # dead index entries of all earlier runs (65,000 after a few runs: 0.6 ms a count in PostgreSQL).
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(Notification._meta.db_table)}")
pair = auth_session_start(user=user, user_agent="yardstick")
print(pair["access"], user.pk)
