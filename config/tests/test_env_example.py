"""Every environment variable the settings read is documented in .env.example."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# env_int("NAME", ...), env.str("NAME", ...), env.db_url_config(...): every reader in config/settings/.
READER = r"env(?:_int|_seconds|_url|_rate|\.str|\.bool|\.int|\.float|\.list|\.db_url_config)?"
READ = re.compile(READER + r'\(\s*"([A-Z][A-Z0-9_]+)"')


def test_every_variable_read_by_settings_is_in_env_example():
    source = "\n".join(path.read_text() for path in sorted((ROOT / "config" / "settings").glob("*.py")))
    read = set(READ.findall(source))
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "the pattern found no variables: update it with the settings' readers"
    assert sorted(read - documented) == []
