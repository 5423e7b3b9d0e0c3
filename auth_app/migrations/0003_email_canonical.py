"""Store every existing address in its canonical form (auth_app._utils.email_canonical).

A frozen copy of the rule at the time of writing (migrations must not change when the app code does):
ASCII local part lower-cased, domain IDNA-encoded with UTS #46. A row whose address has no canonical
form (a non-ASCII local part), or whose canonical form another row already holds (`ada@BÜCHER.de`
beside `ada@xn--bcher-kva.de`), is left as it is and listed on stdout: no login can reach it any more
(lookups use the canonical form), and an operator decides by hand (rename it in the admin or delete it).
Of a clash, the row already holding the address in another case keeps it, otherwise the oldest.
"""

import re

import idna
from django.db import migrations
from django.db.models.functions import Lower

_ASCII_LOCAL_RE = re.compile(r"^[\x21-\x7e]+$")


def _canonical(email):
    local, sep, domain = (email or "").strip().rpartition("@")
    if not sep or not local or not domain or not _ASCII_LOCAL_RE.match(local):
        return None
    try:
        ascii_domain = idna.encode(domain, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    return f"{local.lower()}@{ascii_domain.lower()}"


def canonicalise(apps, schema_editor):
    User = apps.get_model("auth_app", "User")
    rows = [(pk, email, _canonical(email)) for pk, email in User.objects.order_by("created_at", "pk").values_list("pk", "email")]
    # A row already holding the address in another case keeps it; otherwise the oldest row wins.
    rows.sort(key=lambda row: row[2] is None or row[1].lower() != row[2])
    for pk, email, canonical in rows:
        if canonical == email:
            continue
        clash = canonical is not None and (
            User.objects.annotate(folded=Lower("email")).filter(folded=canonical).exclude(pk=pk).exists()
        )
        if canonical is None or clash:
            print(f"\n  auth_app 0003: user {pk} keeps the non-canonical address {email!r}; resolve it by hand")
            continue
        User.objects.filter(pk=pk).update(email=canonical)


class Migration(migrations.Migration):
    dependencies = [("auth_app", "0002_sessions_api_keys")]

    operations = [migrations.RunPython(canonicalise, migrations.RunPython.noop)]
