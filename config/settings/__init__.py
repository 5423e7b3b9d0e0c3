"""Django settings, read from the environment in one place per topic.

`base` holds the platform (core, database, Redis, Celery, REST framework, HTTP security, logging);
each app's own settings live in a module of their own, star-imported here, with a section of the
same name in `.env.example` listing every variable and its default. Adding an app adds one module
and one import line (docs/adding-an-app.md).
"""

from config.settings.auth import *  # noqa: F403
from config.settings.base import *  # noqa: F403
from config.settings.notifications import *  # noqa: F403
from config.settings.outbound import *  # noqa: F403
from config.settings.serving import *  # noqa: F403
