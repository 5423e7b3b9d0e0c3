"""Request and response shapes of the File Processor API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.strict import ModelSerializer, Serializer

from .models import ConversionJob, StoredFile
from .services.conversions import job_payload


class StoredFileSerializer(ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Download link (also what Uppy's XHR uploader reads).")

    class Meta:
        model = StoredFile
        fields = [
            "id",
            "original_name",
            "size",
            "sha256",
            "mime_type",
            "declared_mime_type",
            "origin",
            "metadata",
            "created_at",
            "expires_at",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, obj: StoredFile) -> str:
        return f"/api/v1/files/{obj.pk}/download"


class UploadSerializer(Serializer):
    file = serializers.FileField(help_text="The file (multipart field `file`).")


class SignedUrlRequestSerializer(Serializer):
    filename = serializers.CharField(max_length=1024)
    content_type = serializers.CharField(max_length=127)
    size = serializers.IntegerField(min_value=1)


class SignedUrlSerializer(Serializer):
    method = serializers.ChoiceField(choices=["PUT", "POST"])
    url = serializers.CharField()
    fields = serializers.DictField(child=serializers.CharField())  # type: ignore[assignment]  # Uppy's name
    headers = serializers.DictField(child=serializers.CharField())
    expires_at = serializers.DateTimeField()
    max_size = serializers.IntegerField()


class ConvertRequestSerializer(Serializer):
    file_id = serializers.UUIDField()
    target_format = serializers.CharField(max_length=16)
    options = serializers.DictField(required=False, default=dict)
    callback_url = serializers.CharField(max_length=2048, required=False, allow_blank=True, default="")


class JobErrorSerializer(Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ConversionJobSerializer(Serializer):
    id = serializers.UUIDField()
    file_id = serializers.UUIDField()
    target_format = serializers.CharField()
    options = serializers.DictField()
    status = serializers.ChoiceField(choices=["queued", "processing", "succeeded", "failed"])
    progress = serializers.IntegerField(min_value=0, max_value=100)
    attempts = serializers.IntegerField()
    error = JobErrorSerializer(allow_null=True)
    output_file_id = serializers.UUIDField(allow_null=True)
    download_url = serializers.CharField(allow_null=True)
    callback_url = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: ConversionJob) -> dict[str, Any]:
        return job_payload(instance)


class ConversionTargetSerializer(Serializer):
    format = serializers.CharField()
    output_type = serializers.CharField()
    options = serializers.DictField(help_text="JSON Schema of the options object.")


class ConversionSourceSerializer(Serializer):
    source_type = serializers.CharField()
    family = serializers.CharField()
    targets = ConversionTargetSerializer(many=True)


class ConversionMatrixSerializer(Serializer):
    conversions = ConversionSourceSerializer(many=True)


class WebhookSecretSerializer(Serializer):
    secret = serializers.CharField()
