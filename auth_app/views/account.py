"""The caller's profile and password."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services, throttles
from ..authentication import JWTAuthentication
from ..permissions import IsBearerAuthenticated, IsBearerForWrites, bearer_claims
from ..serializers import (
    DetailSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from ._common import BEARER_ONLY, EXAMPLE_USER, TAGS, example

RESET_ACCEPTED = "If an account exists for this address, a reset link has been sent to it."


class MeView(APIView):
    permission_classes = [IsBearerForWrites]

    @extend_schema(
        tags=TAGS,
        summary="The caller's account",
        responses={200: UserSerializer},
        examples=[example("Account", EXAMPLE_USER, status="200")],
    )
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        tags=TAGS,
        summary="Edit the caller's account",
        auth=BEARER_ONLY,  # type: ignore[arg-type]  # drf-spectacular takes requirement dicts here
        description=(
            "Changes `name` and/or `email` (unique without regard to case). Changing `email` needs "
            "`current_password` (wrong guesses count towards the account's login lockout); the old address "
            "gets a notice and every other session ends. The password is never changed here (sending "
            "`password` is a 400); use `POST /api/v1/auth/password/change`. Needs a Bearer token. A request "
            "that sends `email` draws on the same per-IP budget as registration (`AUTH_REGISTER_RATE_PER_IP`), "
            "since both can tell whether an address is registered."
        ),
        request=UserUpdateSerializer,
        responses={
            200: UserSerializer,
            400: OpenApiResponse(description="`validation_error` (e.g. no `current_password`) or `wrong_password`."),
            409: OpenApiResponse(description="`email_taken`: another account has this address."),
            429: OpenApiResponse(
                description="`rate_limited`: too many wrong passwords, or too many email changes from the IP."
            ),
        },
        examples=[
            example("Rename", {"name": "Ada King"}, request=True),
            example(
                "New email",
                {"email": "ada.king@example.com", "current_password": "correct-horse-battery-staple"},
                request=True,
            ),
            example("Updated", {**EXAMPLE_USER, "name": "Ada King"}, status="200"),
        ],
    )
    def patch(self, request: Request) -> Response:
        serializer = UserUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "email" in serializer.validated_data:
            # 409 `email_taken` tells whether an address is registered, like registration does: the same budget.
            throttles.throttle_ip(request._request, policy="register", rate_setting="AUTH_REGISTER_RATE_PER_IP")
        claims = bearer_claims(request)
        user = services.user_update(
            user=request.user,  # type: ignore[arg-type]
            keep_sid=claims.sid if claims else None,
            **serializer.validated_data,
        )
        return Response(UserSerializer(user).data)


class PasswordChangeView(APIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsBearerAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="Change the password",
        description=(
            "Needs the current password (wrong guesses count towards the account's login lockout). Every "
            "other session of the account ends (their access tokens are refused at once) and every API key "
            "is revoked; the session of this request stays."
        ),
        request=PasswordChangeSerializer,
        responses={204: OpenApiResponse(description="Changed; other sessions ended.")},
        examples=[
            example(
                "Change",
                {"current_password": "correct-horse-battery-staple", "new_password": "another-long-passphrase-7"},
                request=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claims = bearer_claims(request)
        services.user_password_change(
            user=request.user,  # type: ignore[arg-type]
            current_password=serializer.validated_data["current_password"],
            new_password=serializer.validated_data["new_password"],
            keep_sid=claims.sid if claims else None,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        summary="Ask for a password-reset link",
        description=(
            "Mails a link (valid `PASSWORD_RESET_TIMEOUT` seconds) when an active account has this address. "
            "The answer is the same whether or not it does. Limited per client IP and per address."
        ),
        request=PasswordResetSerializer,
        responses={202: DetailSerializer},
        examples=[
            example("Address", {"email": "ada@example.com"}, request=True),
            example("Accepted", {"detail": RESET_ACCEPTED}, status="202"),
        ],
    )
    def post(self, request: Request) -> Response:
        throttles.throttle_ip(request._request, policy="password-reset", rate_setting="AUTH_PASSWORD_RESET_RATE_PER_IP")
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = serializer.validated_data["email"]
        throttles.throttle_email(
            request._request,
            policy="password-reset-email",
            rate_setting="AUTH_PASSWORD_RESET_RATE_PER_EMAIL",
            email=email,
        )
        services.password_reset_request(email=email)
        return Response({"detail": RESET_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        summary="Set a new password from a reset link",
        description=(
            "Takes `uid` and `token` from the mailed link. Every session of the account ends and every API "
            "key is revoked."
        ),
        request=PasswordResetConfirmSerializer,
        responses={204: OpenApiResponse(description="Password set; log in again.")},
        examples=[
            example(
                "Confirm",
                {
                    "uid": "N2QwZjRiNGUtM2MxYS00ZjdlLTlhNTktMGM2YThmMWIyZDNl",
                    "token": "c5k2ab-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                    "new_password": "another-long-passphrase-7",
                },
                request=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        throttles.throttle_ip(
            request._request, policy="password-reset-confirm", rate_setting="AUTH_PASSWORD_RESET_RATE_PER_IP"
        )
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_confirm(**serializer.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
