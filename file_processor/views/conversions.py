"""Conversions: the supported matrix, starting one (also from a signed inbound webhook), its job, the webhook secret."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from auth_app.authentication import ApiKeyAuthentication

from .. import selectors, services
from ..converters import supported_matrix
from ..serializers import (
    ConversionJobSerializer,
    ConversionMatrixSerializer,
    ConvertRequestSerializer,
    WebhookSecretSerializer,
)
from ._common import CONVERT_ERRORS, JOB_EXAMPLE, TAGS


class ConversionMatrixView(APIView):
    @extend_schema(
        summary="The supported conversions",
        description="Each accepted source type with its target formats and each target's option schema (JSON Schema).",
        tags=TAGS,
        responses={200: ConversionMatrixSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response({"conversions": supported_matrix()})


class ConvertView(APIView):
    @extend_schema(
        summary="Convert one of my files (asynchronous)",
        description=(
            "Queues a job and answers 202 with it (`queued`). Follow it with GET /jobs/{id}, GET /{file_id}/status, "
            "the notification stream (`file.conversion.*` events, then a `file.converted` / "
            "`file.conversion_failed` notification) or a `callback_url` (Standard Webhooks, SSRF-guarded). "
            "An unsupported pair is 422 `unsupported_conversion` naming the supported targets."
        ),
        tags=TAGS,
        request=ConvertRequestSerializer,
        responses={202: ConversionJobSerializer, **CONVERT_ERRORS},
        examples=[
            OpenApiExample(
                "Thumbnail",
                value={
                    "file_id": "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
                    "target_format": "webp",
                    "options": {"width": 1024},
                    "callback_url": "https://example.com/hooks/files",
                },
                request_only=True,
            ),
            JOB_EXAMPLE,
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = ConvertRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.conversion_start(user=request.user, **serializer.validated_data)
        response = Response(ConversionJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = f"/api/v1/files/jobs/{job.pk}"
        return response


class JobDetailView(APIView):
    @extend_schema(
        summary="A conversion job", tags=TAGS, responses={200: ConversionJobSerializer}, examples=[JOB_EXAMPLE]
    )
    def get(self, request: Request, pk: Any) -> Response:
        return Response(ConversionJobSerializer(selectors.job_get(user=request.user, job_id=pk)).data)


class WebhookSecretView(APIView):
    @extend_schema(
        summary="My Standard Webhooks secret",
        description="Verifies completion webhooks sent to my callback URLs; signs my inbound /webhooks/convert calls.",
        tags=TAGS,
        responses={200: WebhookSecretSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response({"secret": services.webhook_secret_for(user_id=request.user.pk)})


class InboundConvertView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    parser_classes: list[Any] = []  # the raw body is what the signature covers

    @extend_schema(
        summary="Start a conversion from automation (API key + Standard Webhooks signature)",
        description=(
            "`X-API-Key` names the user; `webhook-id`, `webhook-timestamp` and `webhook-signature` must sign the raw "
            "body with that user's secret (GET /webhooks/secret), within 5 minutes. The body is a convert request. "
            "A repeated `webhook-id` answers 200 with the job it started (idempotent); a new one 202."
        ),
        tags=TAGS,
        request=ConvertRequestSerializer,
        responses={
            202: ConversionJobSerializer,
            200: ConversionJobSerializer,
            401: OpenApiResponse(description="Missing/invalid API key or signature."),
            **CONVERT_ERRORS,
        },
        examples=[JOB_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        headers = {name.lower(): value for name, value in request.headers.items()}
        job, created = services.inbound_convert(user=request.user, body=request.body, headers=headers)
        return Response(
            ConversionJobSerializer(job).data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        )
