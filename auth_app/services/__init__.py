"""Writes of the Auth API. Other apps and tests may call these; views stay thin around them."""

from .accounts import (
    email_change_notice_send,
    password_reset_confirm,
    password_reset_email_send,
    password_reset_request,
    user_authenticate,
    user_credentials_revoke,
    user_login,
    user_password_change,
    user_register,
    user_update,
)
from .api_keys import api_key_authenticate, api_key_create, api_key_revoke, api_keys_revoke, principal_for_api_key
from .sessions import (
    auth_session_logout,
    auth_session_refresh,
    auth_session_revoke,
    auth_session_start,
    auth_sessions_purge_expired,
    auth_sessions_revoke_all,
    user_streams_recheck,
)

__all__ = [
    "api_key_authenticate",
    "api_key_create",
    "api_key_revoke",
    "api_keys_revoke",
    "auth_session_logout",
    "auth_session_refresh",
    "auth_session_revoke",
    "auth_session_start",
    "auth_sessions_purge_expired",
    "auth_sessions_revoke_all",
    "email_change_notice_send",
    "password_reset_confirm",
    "password_reset_email_send",
    "password_reset_request",
    "principal_for_api_key",
    "user_authenticate",
    "user_credentials_revoke",
    "user_login",
    "user_password_change",
    "user_register",
    "user_streams_recheck",
    "user_update",
]
