"""The WSGI application: Django behind the same body limits as the ASGI path (common.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_wsgi_app = get_wsgi_application()

from common.wsgi import RequestGuardWSGI  # noqa: E402

application = RequestGuardWSGI(django_wsgi_app)
