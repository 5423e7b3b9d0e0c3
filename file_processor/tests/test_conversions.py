"""Conversions end to end (eager Celery): one real round trip per converter family, plus the job's life."""

from __future__ import annotations

import base64
import csv
import io
import json

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from file_processor.models import ConversionJob, StoredFile
from notifications.selectors import notification_list

from .conftest import problem
from .samples import CSV_TEXT, MARKDOWN_TEXT, bomb_png, image_bytes, jpeg_with_orientation, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def convert(auth_client, django_capture_on_commit_callbacks):
    """`convert(file_id, target, **options) -> (202 response body, finished job row)`, running the task."""

    def run(file_id: str, target: str, expect: int = 202, **options):
        with django_capture_on_commit_callbacks(execute=True):
            response = auth_client.post(
                "/api/v1/files/convert",
                {"file_id": file_id, "target_format": target, "options": options},
                format="json",
            )
        assert response.status_code == expect, response.content
        if expect != 202:
            return response, None
        return response.json(), ConversionJob.objects.get(pk=response.json()["id"])

    return run


def _output(job: ConversionJob) -> bytes:
    assert job.status == "succeeded", (job.error_code, job.error_message)
    assert job.progress == 100
    output = StoredFile.objects.get(pk=str(job.output_id))
    with default_storage.open(output.storage_key, "rb") as handle:
        return handle.read()


def test_jpeg_to_webp_thumbnail_applies_orientation_and_strips_metadata(upload, convert, auth_client):
    source = upload(jpeg_with_orientation((80, 40)), name="cam.jpg", content_type="image/jpeg").json()
    queued, job = convert(source["id"], "webp", width=16)
    assert queued["status"] == "queued"
    image = Image.open(io.BytesIO(_output(job)))
    assert image.format == "WEBP"
    assert image.size == (16, 32)  # 80x40 rotated upright to 40x80, then 16 wide
    assert not image.getexif()
    status = auth_client.get(f"/api/v1/files/{source['id']}/status").json()
    assert status["status"] == "succeeded" and status["output_file_id"] == str(job.output_id)
    assert status["download_url"] == f"/api/v1/files/{job.output_id}/download"
    download = auth_client.get(status["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "image/webp"


@pytest.mark.parametrize("target", ["jpeg", "png", "gif", "tiff", "bmp", "avif"])
def test_png_with_alpha_converts_to_every_image_format(upload, convert, target):
    source = upload(image_bytes("PNG", (30, 20)), name="a.png", content_type="image/png").json()
    _, job = convert(source["id"], target, width=10, height=10, fit="cover")
    image = Image.open(io.BytesIO(_output(job)))
    assert image.size == (10, 10)
    assert (
        image.format
        == {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "tiff": "TIFF", "bmp": "BMP", "avif": "AVIF"}[target]
    )


def test_csv_to_json_and_xlsx(upload, convert):
    source = upload(CSV_TEXT.encode(), name="sales.csv", content_type="text/csv").json()
    _, as_json = convert(source["id"], "json")
    assert json.loads(_output(as_json)) == [
        {"name": "widget", "qty": "3", "price": "2.50"},
        {"name": "gadget", "qty": "10", "price": "0.99"},
    ]
    _, as_xlsx = convert(source["id"], "xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(_output(as_xlsx)), read_only=True).worksheets[0]
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["name", "qty", "price"],
        ["widget", "3", "2.50"],
        ["gadget", "10", "0.99"],
    ]
    assert StoredFile.objects.get(pk=as_xlsx.output_id).original_name == "sales.xlsx"


def test_xlsx_to_csv_and_json_to_csv(upload, convert):
    workbook = upload(xlsx_bytes([["a", "b"], [1, 2.5], [3, None]]), name="book.xlsx").json()
    _, job = convert(workbook["id"], "csv", delimiter="semicolon")
    assert list(csv.reader(io.StringIO(_output(job).decode()), delimiter=";")) == [["a", "b"], ["1", "2.5"], ["3", ""]]
    data = json.dumps([{"x": 1, "y": "two"}, {"x": 3, "z": True}]).encode()
    source = upload(data, name="rows.json", content_type="application/json").json()
    _, job = convert(source["id"], "csv")
    assert list(csv.reader(io.StringIO(_output(job).decode()))) == [
        ["x", "y", "z"],
        ["1", "two", ""],
        ["3", "", "True"],
    ]


def test_markdown_to_html_escapes_raw_html(upload, convert):
    source = upload(MARKDOWN_TEXT.encode(), name="report.md").json()
    _, job = convert(source["id"], "html")
    page = _output(job).decode()
    assert "<h1>Report</h1>" in page and "<em>emphasis</em>" in page
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_markdown_to_pdf_has_the_pages(upload, convert):
    text = "\n\n".join(f"# Chapter {n}\n\n" + "Lorem ipsum dolor sit amet. " * 40 for n in range(6))
    text = text.replace("# Chapter", '<div style="page-break-before: always"></div>\n\n# Chapter')
    source = upload(text.encode(), name="book.md", content_type="text/markdown").json()
    _, job = convert(source["id"], "pdf", page_size="A5")
    pdf = _output(job)
    assert pdf.startswith(b"%PDF")
    assert StoredFile.objects.get(pk=job.output_id).metadata["pages"] >= 3


def test_html_to_pdf_fetches_nothing_but_data_urls(upload, convert, tmp_path):
    local = tmp_path / "local.png"
    local.write_bytes(image_bytes("PNG", (40, 40)))
    inline = base64.b64encode(image_bytes("PNG", (40, 40))).decode()
    pdfs = {}
    for label, src in (
        ("file", f"file://{local}"),
        ("http", "http://127.0.0.1:9/x.png"),
        ("data", f"data:image/png;base64,{inline}"),
    ):
        page = f'<html><body><h1>Hi</h1><img src="{src}"></body></html>'
        source = upload(page.encode(), name=f"{label}.html", content_type="text/html").json()
        _, job = convert(source["id"], "pdf")
        pdfs[label] = _output(job)
        assert pdfs[label].startswith(b"%PDF")
    assert b"/Image" not in pdfs["file"]  # a local file was not read
    assert b"/Image" not in pdfs["http"]
    assert b"/Image" in pdfs["data"]  # data: URLs still work


def test_unsupported_pair_is_422_naming_the_supported_targets(upload, convert):
    source = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
    response, _ = convert(source["id"], "webp", expect=422)
    body = problem(response)
    assert body["code"] == "unsupported_conversion"
    assert body["supported_targets"] == ["json", "xlsx"]
    assert "json, xlsx" in body["detail"]
    assert not ConversionJob.objects.exists()


def test_bad_options_are_400_with_field_errors(upload, convert):
    source = upload(image_bytes("PNG"), name="a.png", content_type="image/png").json()
    response, _ = convert(source["id"], "webp", expect=400, width=0, colour="red")
    attrs = sorted(error["attr"] for error in problem(response)["errors"])
    assert attrs == ["options.colour", "options.width"]


def test_converting_another_users_file_is_404(upload, api_client, other_user, make_access_token):
    source = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_access_token(other_user)}")
    response = api_client.post(
        "/api/v1/files/convert", {"file_id": source["id"], "target_format": "json"}, format="json"
    )
    assert response.status_code == 404


def test_conversions_matrix_lists_pairs_and_option_schemas(auth_client):
    body = auth_client.get("/api/v1/files/conversions").json()
    by_source = {entry["source_type"]: entry for entry in body["conversions"]}
    assert {target["format"] for target in by_source["image/jpeg"]["targets"]} >= {"webp", "avif", "png"}
    webp = next(t for t in by_source["image/jpeg"]["targets"] if t["format"] == "webp")
    assert webp["options"]["properties"]["width"]["maximum"] > 0
    assert {t["format"] for t in by_source["text/csv"]["targets"]} == {"json", "xlsx"}
    assert {t["format"] for t in by_source["text/markdown"]["targets"]} == {"html", "pdf"}


def test_permanent_failure_fails_at_once_and_notifies(upload, convert, settings, user):
    source = upload(image_bytes("PNG", (100, 100)), name="a.png", content_type="image/png").json()
    settings.FILES_MAX_IMAGE_PIXELS = 5000  # tightened after the upload: the converter's own guard fires
    _, job = convert(source["id"], "webp")
    assert job.status == "failed" and job.attempts == 1
    assert job.error_code == "decompression_bomb"
    note = notification_list(user=user).get()
    assert note.kind == "file.conversion_failed" and note.data["job_id"] == str(job.pk)


def test_transient_failure_is_retried_then_succeeds(upload, convert, monkeypatch, user):
    source = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
    real_open = default_storage.open
    failures = {"left": 2}

    def flaky_open(name, mode="rb"):
        if failures["left"]:
            failures["left"] -= 1
            raise OSError("storage hiccup")
        return real_open(name, mode)

    monkeypatch.setattr(default_storage, "open", flaky_open)
    _, job = convert(source["id"], "json")  # eager: the retries run at once, in this process
    assert job.status == "succeeded" and job.attempts == 3
    assert notification_list(user=user).get().kind == "file.converted"


def test_transient_failures_stop_after_max_attempts(upload, convert, monkeypatch, settings):
    settings.FILES_CONVERSION_MAX_ATTEMPTS = 3
    source = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()

    def broken_open(name, mode="rb"):
        raise OSError("storage down")

    monkeypatch.setattr(default_storage, "open", broken_open)
    _, job = convert(source["id"], "json")
    assert job.status == "failed" and job.attempts == 3
    assert job.error_code == "attempts_exhausted"


def test_bomb_png_cannot_be_converted_even_if_stored(user, settings, convert):
    """A bomb that got in under a laxer limit fails permanently at conversion."""
    from file_processor.services import file_store_bytes

    settings.FILES_MAX_IMAGE_PIXELS = 200_000_000
    stored = file_store_bytes(owner=user, content=bomb_png(12_000), filename="b.png")
    settings.FILES_MAX_IMAGE_PIXELS = 50_000_000
    _, job = convert(str(stored.pk), "png")
    assert job.status == "failed" and job.error_code == "decompression_bomb" and job.attempts == 1


def test_a_redelivered_task_does_nothing_twice(upload, convert):
    from file_processor.services import conversion_run

    source = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
    _, job = convert(source["id"], "json")
    files_before = StoredFile.objects.count()
    assert conversion_run(job_id=job.pk) == "skipped"
    assert StoredFile.objects.count() == files_before
    job.refresh_from_db()
    assert job.attempts == 1 and job.status == "succeeded"


def test_a_job_that_keeps_killing_its_worker_is_given_up(upload, user, settings, django_capture_on_commit_callbacks):
    """A job claimed again after its worker died (no retry was recorded) stops at the attempt limit."""
    from file_processor.services import conversion_run, conversion_start

    settings.FILES_CONVERSION_MAX_ATTEMPTS = 2
    source = upload(CSV_TEXT.encode(), name="a.csv", content_type="text/csv").json()
    with django_capture_on_commit_callbacks(execute=False):
        job = conversion_start(user=user, file_id=source["id"], target_format="json")
    ConversionJob.objects.filter(pk=job.pk).update(attempts=2)  # two claims whose workers died mid-job
    assert conversion_run(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.error_code == "attempts_exhausted" and job.attempts == 3 and job.output_id is None


def test_converting_a_missing_file_is_a_documented_404(auth_client, openapi_conformance):
    response = auth_client.post(
        "/api/v1/files/convert",
        {"file_id": "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b", "target_format": "json"},
        format="json",
    )
    assert response.status_code == 404 and problem(response)["code"] == "file_not_found"
    openapi_conformance(response, "/api/v1/files/convert", "post")


def test_a_job_s_times_are_utc_with_z_like_every_other_time_of_the_api(upload, convert, auth_client):
    source = upload(CSV_TEXT.encode(), name="sales.csv", content_type="text/csv").json()
    queued, job = convert(source["id"], "json")
    shown = auth_client.get(f"/api/v1/files/jobs/{job.pk}").json()
    file_shown = auth_client.get(f"/api/v1/files/{source['id']}").json()
    for stamp in (queued["created_at"], shown["created_at"], shown["started_at"], shown["finished_at"]):
        assert stamp.endswith("Z") and "+00:00" not in stamp
    assert file_shown["created_at"].endswith("Z")
