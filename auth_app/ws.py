"""Placeholder: replaced by the Auth API work (issue 3)."""

from channels.auth import AuthMiddlewareStack


def WebSocketAuthMiddleware(inner):  # type: ignore[no-untyped-def]  # noqa: N802
    return AuthMiddlewareStack(inner)
