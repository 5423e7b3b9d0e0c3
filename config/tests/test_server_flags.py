"""Every place that starts a server passes our limits to it and keeps its proxy-header handling off.

uvicorn's own default trusts X-Forwarded-For from 127.0.0.1 (a loopback client then picks its own IP)
and takes 16 MiB WebSocket frames; granian (the WSGI tier) has no proxy-header handling at all.
common.net.client_ip, BEHIND_HTTPS_PROXY and WS_MAX_MESSAGE_BYTES are the rules here.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTERS = ["Makefile", "deploy/serve.sh"]  # the image (Dockerfile, fly.toml) starts deploy/serve.sh


def _uvicorn_commands(text: str) -> list[str]:
    joined = text.replace("\\\n", " ")
    variable = re.search(r"^UVICORN_LIMITS\s*:?=\s*(.+)$", joined, re.MULTILINE)  # the Makefile's shared flags
    if variable:
        joined = joined.replace("$(UVICORN_LIMITS)", variable.group(1))
    return [line for line in joined.splitlines() if re.search(r"uvicorn\S* config\.asgi:application", line)]


@pytest.mark.parametrize("name", STARTERS)
def test_uvicorn_runs_without_proxy_headers_and_with_the_frame_limit(name):
    commands = _uvicorn_commands((ROOT / name).read_text())
    assert commands, f"{name} no longer starts uvicorn here: update STARTERS"
    for command in commands:
        assert "--no-proxy-headers" in command, command
        assert "--proxy-headers " not in command and "--forwarded-allow-ips" not in command, command
        assert re.search(r"--ws-max-size[ =]\S*WS_MAX_MESSAGE_BYTES", command), command


def test_the_image_and_fly_start_the_role_script():
    assert 'CMD ["deploy/serve.sh"]' in (ROOT / "Dockerfile").read_text()
    assert 'web = "deploy/serve.sh"' in (ROOT / "deploy/fly.toml").read_text()


def test_the_rest_tier_serves_the_wsgi_application_with_granian():
    script = (ROOT / "deploy/serve.sh").read_text().replace("\\\n", " ")
    rest = next(line for line in script.splitlines() if "granian" in line and "exec" in line)
    assert "--interface wsgi" in rest and rest.rstrip(" ;").endswith("config.wsgi:application"), rest
    assert "--blocking-threads" in rest, rest  # one database connection per thread, bounded
    assert "WEB_ROLE=rest" in (ROOT / "Makefile").read_text()  # make serve-rest runs the same line


def test_deploy_files_without_a_command_use_the_images():
    for name in ["deploy/render.yaml", "deploy/railway.json", "compose.yaml"]:
        text = (ROOT / name).read_text()
        assert not _uvicorn_commands(text), f"{name} starts uvicorn itself: add it to STARTERS"
        assert "granian --" not in text, f"{name} starts granian itself: use WEB_ROLE"


def test_the_asgi_application_refuses_kept_database_connections():
    """Django's ASGI handler closes connections per request, not per thread: DB_CONN_MAX_AGE is WSGI-only."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/none",
        "DB_CONN_MAX_AGE": "300",
        "SECRET_KEY": "x" * 50,
        "DJANGO_READ_DOT_ENV": "false",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import config.asgi"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "DB_CONN_MAX_AGE must be 0 under ASGI" in result.stderr


def test_only_the_rest_role_keeps_database_connections():
    script = (ROOT / "deploy/serve.sh").read_text()
    rest, asgi = script.split("  all | streams)")
    assert 'DB_CONN_MAX_AGE="${DB_CONN_MAX_AGE:-300}"' in rest
    assert "export DB_CONN_MAX_AGE=0" in asgi
