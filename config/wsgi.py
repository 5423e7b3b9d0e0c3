"""WSGI entry point (gunicorn): Django, with static files answered in front of it (common/static.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from common.static import static_files_wsgi  # noqa: E402

application = static_files_wsgi(get_wsgi_application())
