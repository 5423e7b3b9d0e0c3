"""Settings for the browser tests' server process: the project's settings with a temporary STATIC_ROOT
(filled by `collectstatic`, as `make run` does) and, by default, the test URL conf with its widgets API.
"""

import os
from pathlib import Path

from config.settings import *  # noqa: F403

STATIC_ROOT = Path(os.environ["BROWSER_TEST_STATIC_ROOT"])
ROOT_URLCONF = os.environ.get("BROWSER_TEST_URLCONF", "common.tests.openapi_urls")
