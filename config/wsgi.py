"""The WSGI application: Django behind the same body limits as the ASGI path (common.wsgi), with static
files answered in front of Django (common/static.py)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from common.wsgi import RequestGuardWSGI, get_wsgi_application

django_wsgi_app = get_wsgi_application()

from common.static import static_files_wsgi  # noqa: E402

application = RequestGuardWSGI(static_files_wsgi(django_wsgi_app))
