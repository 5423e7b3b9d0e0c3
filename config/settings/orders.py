"""Orders API settings. Its variables are the "Orders API" section of `.env.example`."""

from typing import cast

from config.env import env, env_int, env_rate, env_seconds
from config.settings.base import CELERY_BEAT_SCHEDULE, REQUEST_BODY_LIMITS, SPECTACULAR_SETTINGS

# Amount bounds, in minor units: one unit price and an order's total (Stripe's own maximum is
# 99,999,999 minor units for most currencies). Larger is 400 `amount_too_large`.
ORDERS_MAX_AMOUNT = env_int("ORDERS_MAX_AMOUNT", 99_999_999)
ORDERS_MAX_QUANTITY = env_int("ORDERS_MAX_QUANTITY", 10_000)
ORDERS_MAX_ITEMS = env_int("ORDERS_MAX_ITEMS", 100)
# Tax added to the subtotal, in basis points (1/100 of a percent), rounded half up; 0 = no tax.
ORDERS_TAX_RATE_BPS = env_int("ORDERS_TAX_RATE_BPS", 0, minimum=0)
ORDERS_SHIPPING_NOTES_MAX_CHARS = env_int("ORDERS_SHIPPING_NOTES_MAX_CHARS", 2000)
# Idempotency-Key on POST /orders: how long a first response is replayed, whether the header is
# required, and after how many seconds a request that never finished (a crashed worker) may be retried.
ORDERS_IDEMPOTENCY_TTL_SECONDS = env_int("ORDERS_IDEMPOTENCY_TTL_SECONDS", 24 * 3600)
ORDERS_IDEMPOTENCY_KEY_REQUIRED = env.bool("ORDERS_IDEMPOTENCY_KEY_REQUIRED", default=False)
ORDERS_IDEMPOTENCY_LOCK_SECONDS = env_int("ORDERS_IDEMPOTENCY_LOCK_SECONDS", 60)
ORDERS_IDEMPOTENCY_PURGE_BATCH_SIZE = env_int("ORDERS_IDEMPOTENCY_PURGE_BATCH_SIZE", 1000)

# Stripe webhooks: signing secrets (comma-separated while rotating), the timestamp tolerance in both
# directions, the intake's own rate limit per IP, its body limit, and the retry schedule.
STRIPE_WEBHOOK_SECRET = env.list("STRIPE_WEBHOOK_SECRET", default=[])
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)
ORDERS_STRIPE_WEBHOOK_RATE = env_rate("ORDERS_STRIPE_WEBHOOK_RATE", "6000/1m")
ORDERS_STRIPE_WEBHOOK_MAX_BODY_BYTES = env_int("ORDERS_STRIPE_WEBHOOK_MAX_BODY_BYTES", 512 * 1024)
ORDERS_WEBHOOK_MAX_ATTEMPTS = env_int("ORDERS_WEBHOOK_MAX_ATTEMPTS", 6)
ORDERS_WEBHOOK_RETRY_BASE_SECONDS = env_seconds("ORDERS_WEBHOOK_RETRY_BASE_SECONDS", 30.0)
ORDERS_WEBHOOK_RETRY_MAX_SECONDS = env_seconds("ORDERS_WEBHOOK_RETRY_MAX_SECONDS", 1800.0)

REQUEST_BODY_LIMITS["/api/v1/orders/webhooks/stripe"] = ORDERS_STRIPE_WEBHOOK_MAX_BODY_BYTES

CELERY_BEAT_SCHEDULE["orders-idempotency-purge"] = {
    "task": "orders.tasks.idempotency_keys_purge_task",
    "schedule": 3600.0,
}

# Several models have a `status` field; name each choice set once in the schema.
cast(dict[str, str], SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).update(
    {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "PaymentStatusEnum": "orders.models.PaymentStatus",
        "JobStatusEnum": "common.jobs.JobStatus",
    }
)
