"""Issue 9, items 3 and 10: one canonical email form for the lockout key, the unique constraint and the lookup."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from auth_app._utils import EmailNotAccepted, email_canonical, email_key
from auth_app.models import User

from .conftest import API

PASSWORD = "correct-horse-battery-staple-42"
SPELLINGS = ["missis1@example.com", "mıssıs1@example.com", "miſſiſ1@example.com", "mıſſıſ1@example.com"]


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("Ada@Example.COM", "ada@example.com"),
        ("  ada@example.com ", "ada@example.com"),
        ("ada@BÜCHER.de", "ada@xn--bcher-kva.de"),
        ("ada@xn--bcher-kva.de", "ada@xn--bcher-kva.de"),
        ("ADA@Bücher.DE", "ada@xn--bcher-kva.de"),
    ],
)
def test_canonical_form(given, canonical):
    assert email_canonical(given) == canonical
    assert email_key(given) == canonical


@pytest.mark.parametrize(
    "refused", ["mıssıs1@example.com", "miſſiſ1@example.com", "admİn@example.com", "ädä@example.com", "a@exa_mple.com"]
)
def test_non_ascii_local_parts_and_invalid_domains_have_no_canonical_form(refused):
    with pytest.raises(EmailNotAccepted):
        email_canonical(refused)
    assert email_key(refused).startswith("unaccepted:")  # still one stable lockout key per spelling family


@pytest.mark.django_db(transaction=True)
def test_four_parallel_look_alike_registrations_make_one_account_and_login_never_500s():
    barrier = threading.Barrier(len(SPELLINGS))
    statuses: dict[str, int] = {}

    def register(email: str) -> None:
        barrier.wait(timeout=10)
        response = APIClient().post(f"{API}/register", {"email": email, "password": PASSWORD}, format="json")
        statuses[email] = response.status_code
        connection.close()

    threads = [threading.Thread(target=register, args=(email,)) for email in SPELLINGS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == {SPELLINGS[0]: 201, **{email: 400 for email in SPELLINGS[1:]}}
    assert User.objects.count() == 1
    client = APIClient()
    assert client.post(f"{API}/login", {"email": "MISSIS1@example.com", "password": PASSWORD}).status_code == 200
    for email in SPELLINGS[1:]:
        response = client.post(f"{API}/login", {"email": email, "password": PASSWORD}, format="json")
        assert response.status_code == 401, email  # no account has a look-alike spelling; never a 500
        assert response.json()["code"] == "invalid_credentials"


@pytest.mark.django_db
def test_a_look_alike_registration_is_400_unsupported_email(api_client, user):
    response = api_client.post(f"{API}/register", {"email": "admİn@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "attr": "email",
        "code": "unsupported_email",
        "detail": "The part before @ may only contain ASCII characters.",
    }


@pytest.mark.django_db
def test_an_idna_spelling_of_a_registered_domain_is_taken(api_client):
    first = api_client.post(f"{API}/register", {"email": "ada@bücher.de", "password": PASSWORD}, format="json")
    assert first.status_code == 201
    assert first.json()["user"]["email"] == "ada@xn--bcher-kva.de"
    again = api_client.post(f"{API}/register", {"email": "ADA@xn--BCHER-kva.de", "password": PASSWORD}, format="json")
    assert again.status_code == 409
    login = api_client.post(f"{API}/login", {"email": "Ada@BÜCHER.de", "password": PASSWORD}, format="json")
    assert login.status_code == 200


@pytest.mark.django_db
def test_the_admin_form_stores_the_canonical_form_or_refuses():
    from auth_app.admin import UserChangeAdminForm

    user = User.objects.create_user(email="Ada@Example.com", password=PASSWORD)
    assert user.email == "ada@example.com"
    data = {"email": "Grace@BÜCHER.de", "name": "", "is_active": True, "date_joined": ""}
    form = UserChangeAdminForm(data=data, instance=user)
    assert form.is_valid(), form.errors
    assert form.save().email == "grace@xn--bcher-kva.de"
    form = UserChangeAdminForm(data={**data, "email": "admİn@example.com"}, instance=user)
    assert not form.is_valid()
    assert "email" in form.errors


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_canonicalises_existing_rows_and_keeps_the_oldest_of_a_collision(capsys):
    executor = MigrationExecutor(connection)
    executor.migrate([("auth_app", "0002_sessions_api_keys")])
    old = executor.loader.project_state([("auth_app", "0002_sessions_api_keys")]).apps.get_model("auth_app", "User")
    rows = ["Mixed@Example.COM", "ada@xn--bcher-kva.DE", "ada@BÜCHER.de", "grace@BÜCHER.de", "mıssıs1@example.com"]
    ids = [old.objects.create(email=email, password="!").pk for email in rows]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    emails = dict(User.objects.filter(pk__in=ids).values_list("pk", "email"))
    assert [emails[pk] for pk in ids] == [
        "mixed@example.com",
        "ada@xn--bcher-kva.de",
        "ada@BÜCHER.de",  # a second spelling of one address: left for an operator
        "grace@xn--bcher-kva.de",
        "mıssıs1@example.com",  # no canonical form: left for an operator
    ]
    out = capsys.readouterr().out
    assert [str(pk) in out for pk in ids] == [False, False, True, False, True]


@pytest.mark.django_db
def test_a_legacy_look_alike_row_never_makes_login_ambiguous(api_client):
    """Rows the migration left alone (`mıssıs1@`) must not match `missis1@` (PostgreSQL's UPPER('ı') is 'I')."""
    owner = User.objects.create_user(email="missis1@example.com", password=PASSWORD)
    User.objects.bulk_create([User(email="mıssıs1@example.com", password="!")])  # as an old row, unchecked
    response = api_client.post(f"{API}/login", {"email": "missis1@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["access"]
    assert User.objects.get_by_natural_key("MISSIS1@example.com") == owner
