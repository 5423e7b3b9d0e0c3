"""Signed direct uploads: a single-use, expiring URL for one object of declared size and type.

Locally the URL is `PUT /api/v1/files/uploads/direct/<token>`: the token is a `TimestampSigner`
signature of a nonce row's id, and the row is marked used by one atomic UPDATE, so it works once.
With S3 configured the answer is a presigned POST with a `content-length-range` condition (Uppy's
`@uppy/aws-s3` shape `{method, url, fields, headers}`) for a staging key the server chose, and
`POST /uploads/direct/<token>/complete` registers the object once it is there.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from common.errors import Conflict, FieldError, PermissionDenied, ValidationFailed
from common.serialization import format_datetime

from ..errors import Gone, PayloadTooLarge, UnsupportedMediaType
from ..inspection import filename_sanitise, normalise_mime
from ..models import DirectUploadToken, FileOrigin, StoredFile
from ..uploads import HashedUpload, stream_to_temp
from .files import file_store, storage_delete_quietly, storage_key_new

SALT = "file_processor.direct-upload"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def direct_upload_start(*, user: Any, filename: str, content_type: str, size: int, base_url: str) -> dict[str, Any]:
    """Reserve a key and return how to upload to it (PUT locally, presigned POST on S3)."""
    limit = int(settings.FILES_MAX_UPLOAD_BYTES)
    if size > limit:
        raise PayloadTooLarge(f"The declared size {size} is larger than the limit of {limit} bytes.")
    if size < 1:
        raise ValidationFailed(errors=[FieldError(attr="size", code="invalid", detail="size must be at least 1.")])
    declared = normalise_mime(content_type)
    allowed = {normalise_mime(item) for item in settings.FILES_ALLOWED_MIME_TYPES}
    if declared not in allowed:
        raise UnsupportedMediaType(f"{declared} is not accepted; accepted: {', '.join(sorted(allowed))}.")
    ttl = int(settings.FILES_SIGNED_UPLOAD_TTL_SECONDS)
    token = DirectUploadToken.objects.create(
        owner=user,
        filename=filename_sanitise(filename),
        content_type=declared,
        size=size,
        storage_key=storage_key_new(),
        expires_at=timezone.now() + timedelta(seconds=ttl),
    )
    if settings.FILES_S3_BUCKET:
        return _s3_presigned_post(token, ttl)
    signed = _signer().sign(str(token.nonce))
    return {
        "method": "PUT",
        "url": f"{base_url.rstrip('/')}/api/v1/files/uploads/direct/{signed}",
        "fields": {},
        "headers": {"Content-Type": declared},
        "expires_at": format_datetime(token.expires_at),
        "max_size": size,
    }


def _s3_presigned_post(token: DirectUploadToken, ttl: int) -> dict[str, Any]:
    import boto3

    client = boto3.client(
        "s3",
        region_name=settings.FILES_S3_REGION or None,
        endpoint_url=settings.FILES_S3_ENDPOINT_URL or None,
        aws_access_key_id=settings.FILES_S3_ACCESS_KEY_ID or None,
        aws_secret_access_key=settings.FILES_S3_SECRET_ACCESS_KEY or None,
    )
    post = client.generate_presigned_post(
        Bucket=settings.FILES_S3_BUCKET,
        Key=token.storage_key,
        Fields={"Content-Type": token.content_type},
        Conditions=[["content-length-range", 1, token.size], {"Content-Type": token.content_type}],
        ExpiresIn=ttl,
    )
    return {
        "method": "POST",
        "url": post["url"],
        "fields": post["fields"],
        "headers": {},
        "expires_at": format_datetime(token.expires_at),
        "max_size": token.size,
    }


def _token_claim(signed: str) -> DirectUploadToken:
    """The token's row, marked used by this call (one atomic UPDATE), or the reason it cannot be used."""
    try:
        nonce = _signer().unsign(signed, max_age=timedelta(seconds=int(settings.FILES_SIGNED_UPLOAD_TTL_SECONDS)))
    except signing.SignatureExpired as exc:
        raise Gone("This upload URL has expired; ask for a new one.", code="upload_url_expired") from exc
    except signing.BadSignature as exc:
        raise PermissionDenied("This upload URL is not valid.", code="upload_url_invalid") from exc
    now = timezone.now()
    claimed = DirectUploadToken.objects.filter(nonce=nonce, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now
    )
    row = DirectUploadToken.objects.select_related("owner").filter(nonce=nonce).first()
    if row is None:
        raise PermissionDenied("This upload URL is not valid.", code="upload_url_invalid")
    if not claimed:
        if row.used_at is not None:
            raise Conflict("This upload URL has been used already; each works once.", code="upload_url_used")
        raise Gone("This upload URL has expired; ask for a new one.", code="upload_url_expired")
    return row


def direct_upload_receive(*, signed: str, read: Any, content_length: int | None) -> StoredFile:
    """Take the body of `PUT /uploads/direct/<token>`: exactly the declared size, then the usual checks.

    The token is spent by the first request that presents it, whatever the outcome.
    """
    token = _token_claim(signed)
    if content_length is not None and content_length > token.size:
        raise PayloadTooLarge(f"The body is {content_length} bytes; this URL accepts {token.size}.")
    return _token_store(token, stream_to_temp(read, max_bytes=token.size), storage_key=token.storage_key)


def _token_store(token: DirectUploadToken, upload: HashedUpload, *, storage_key: str | None) -> StoredFile:
    """Check that the upload is exactly the signed size, store it (usual checks) and link it to the token."""
    with upload:
        if upload.size != token.size:
            raise ValidationFailed(
                f"The upload is {upload.size} bytes; this URL was signed for exactly {token.size}.",
                code="size_mismatch",
            )
        with transaction.atomic():
            stored = file_store(
                owner=token.owner,
                fp=upload,
                size=upload.size,
                sha256=upload.sha256,
                head=upload.head,
                filename=token.filename,
                declared_type=token.content_type,
                origin=FileOrigin.DIRECT,
                storage_key=storage_key,
            )
            DirectUploadToken.objects.filter(pk=token.pk).update(file=stored)
    return stored


def direct_upload_complete(*, signed: str) -> StoredFile:
    """S3 mode: register what the client POSTed to the presigned staging key (`POST .../complete`).

    The staging object is read back, checked like any upload and stored under a new server-chosen key;
    the staging key is deleted either way, so a second POST to the (still valid) presigned form after
    completion changes nothing that was validated. The token works once here too.
    """
    if not settings.FILES_S3_BUCKET:
        raise Conflict("Completion is for S3 direct uploads; locally the PUT stores the file.", code="not_s3")
    token = _token_claim(signed)
    try:
        try:
            handle = default_storage.open(token.storage_key, "rb")
        except Exception as exc:  # boto3's ClientError, FileNotFoundError: nothing was uploaded
            raise Conflict("Nothing was uploaded to this URL.", code="upload_missing") from exc
        with handle:
            upload = stream_to_temp(handle.read, max_bytes=token.size)
        return _token_store(token, upload, storage_key=None)  # a new key: the staging one stays writable
    finally:
        storage_delete_quietly(token.storage_key)
