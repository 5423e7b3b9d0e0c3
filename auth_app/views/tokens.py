"""Register, login, refresh, logout, logout-all."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import Unauthenticated
from common.http import NoStoreMixin

from .. import services, throttles
from ..authentication import JWTAuthentication
from ..devices import DEVICE_HEADER, device_cookie_set
from ..permissions import IsBearerAuthenticated, bearer_claims
from ..serializers import (
    LoginResponseSerializer,
    LoginSerializer,
    LogoutSerializer,
    RefreshSerializer,
    RegisterResponseSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from ._common import EXAMPLE_DEVICE_TOKEN, EXAMPLE_REFRESH, EXAMPLE_TOKENS, EXAMPLE_USER, TAGS, client_meta, example

CREDENTIALS_CHALLENGE = 'Bearer realm="api"'


class RegisterView(NoStoreMixin, APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        summary="Create an account",
        description=(
            "Creates the account and its first session. Django's password validators apply (length, "
            "common, numeric, similarity). Limited per client IP (`AUTH_REGISTER_RATE_PER_IP`)."
        ),
        request=RegisterSerializer,
        responses={
            201: RegisterResponseSerializer,
            409: OpenApiResponse(description="`email_taken`: the address is already registered (any case)."),
        },
        examples=[
            example(
                "New account",
                {"email": "ada@example.com", "password": "correct-horse-battery-staple", "name": "Ada Lovelace"},
                request=True,
            ),
            example("Created", {**EXAMPLE_TOKENS, "user": EXAMPLE_USER}, status="201"),
        ],
    )
    def post(self, request: Request) -> Response:
        throttles.throttle_ip(request._request, policy="register", rate_setting="AUTH_REGISTER_RATE_PER_IP")
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user, tokens = services.user_register(**serializer.validated_data, **client_meta(request))
        return Response({**tokens, "user": UserSerializer(user).data}, status=status.HTTP_201_CREATED)


class LoginView(NoStoreMixin, APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        summary="Log in",
        description=(
            "Opens a new session and returns its token pair. Every failure is the same 401 "
            "`invalid_credentials`, whether or not the account exists. Each attempt is counted against the "
            "account before the password is checked (a successful one is given back): after "
            "`AUTH_LOGIN_FAILURES_PER_ACCOUNT` failures (default 5 per 5 minutes, parallel attempts included) "
            "logins for the account from clients without its device token are 429 until the window ends, "
            "even with the right password; `AUTH_LOGIN_FAILURES_PER_ACCOUNT_IP` limits each (account, IP) "
            "and `AUTH_LOGIN_RATE_PER_IP` (default 10 per minute) each client IP.\n\n"
            "**Device token**: a successful login returns `device_token` (and sets the HttpOnly cookie "
            f"`auth_device`). Send it back in the `{DEVICE_HEADER}` header (or the cookie) on later logins "
            "of the same account: that client is then exempt from the account-wide lockout (strangers' "
            "failures cannot keep it out) and limited per device instead (`AUTH_LOGIN_FAILURES_PER_DEVICE`). "
            "A new password invalidates every device token of the account."
        ),
        request=LoginSerializer,
        responses={
            200: LoginResponseSerializer,
            401: OpenApiResponse(description="`invalid_credentials`: wrong email or password."),
            429: OpenApiResponse(description="`rate_limited`: too many attempts for the account or from the IP."),
        },
        examples=[
            example(
                "Credentials", {"email": "ada@example.com", "password": "correct-horse-battery-staple"}, request=True
            ),
            example("Token pair", {**EXAMPLE_TOKENS, "device_token": EXAMPLE_DEVICE_TOKEN}, status="200"),
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            _user, tokens = services.user_login(request=request._request, **serializer.validated_data)
        except Unauthenticated as exc:
            exc.headers.setdefault("WWW-Authenticate", CREDENTIALS_CHALLENGE)
            raise
        response = Response(tokens)
        device_cookie_set(response, tokens["device_token"])
        return response


class RefreshView(NoStoreMixin, APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        summary="Rotate the refresh token",
        description=(
            "Returns a new pair and retires the presented refresh token. Of concurrent refreshes with "
            "one token exactly one succeeds. Replaying a retired refresh token later than "
            "`JWT_REFRESH_REUSE_GRACE_SECONDS` (default 10) after its rotation revokes the whole session. "
            "Limited per client IP (`AUTH_REFRESH_RATE_PER_IP`)."
        ),
        request=RefreshSerializer,
        responses={
            200: TokenPairSerializer,
            401: OpenApiResponse(description="`invalid_token`: invalid, expired, retired or revoked refresh token."),
        },
        examples=[
            example("Refresh token", {"refresh": EXAMPLE_REFRESH}, request=True),
            example("New pair", EXAMPLE_TOKENS, status="200"),
        ],
    )
    def post(self, request: Request) -> Response:
        throttles.throttle_ip(request._request, policy="refresh", rate_setting="AUTH_REFRESH_RATE_PER_IP")
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            tokens = services.auth_session_refresh(refresh_token=serializer.validated_data["refresh"])
        except Unauthenticated as exc:
            exc.headers.setdefault("WWW-Authenticate", CREDENTIALS_CHALLENGE)
            raise
        return Response(tokens)


class LogoutView(APIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsBearerAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="Log out",
        description=(
            "Ends the session of the Bearer access token: its refresh token stops working and its access "
            "tokens are refused from the next request on. With `refresh`, that token's session (if it is "
            "yours) ends too."
        ),
        request=LogoutSerializer,
        responses={204: OpenApiResponse(description="Logged out.")},
        examples=[example("With the refresh token", {"refresh": EXAMPLE_REFRESH}, request=True)],
    )
    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claims = bearer_claims(request)
        assert claims is not None  # noqa: S101 - IsBearerAuthenticated guarantees it
        services.auth_session_logout(
            user=request.user,  # type: ignore[arg-type]
            claims=claims,
            refresh_token=serializer.validated_data.get("refresh"),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsBearerAuthenticated]

    @extend_schema(
        tags=TAGS,
        summary="Log out everywhere",
        description="Ends every session of the caller, this one included.",
        request=None,
        responses={204: OpenApiResponse(description="All sessions ended.")},
    )
    def post(self, request: Request) -> Response:
        services.auth_sessions_revoke_all(user=request.user, reason="logout_all")  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
