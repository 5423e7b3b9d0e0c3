"""Writes of the File Processor API. Other apps call only what is re-exported here.

- files: store an upload (validated before it reaches storage), delete, expire.
- direct: signed direct uploads (local single-use PUT, or an S3 presigned POST).
- conversions: start a job, run it (the Celery task's body), report progress.
- webhooks: Standard Webhooks completion deliveries.
- inbound: the signed inbound trigger.
"""

from .conversions import conversion_run, conversion_start
from .direct import direct_upload_complete, direct_upload_receive, direct_upload_start
from .files import file_delete, file_store, file_store_bytes, files_expire, files_incoming_sweep
from .inbound import inbound_convert
from .webhooks import webhook_deliver, webhook_secret_for

__all__ = [
    "conversion_run",
    "conversion_start",
    "direct_upload_complete",
    "direct_upload_receive",
    "direct_upload_start",
    "file_delete",
    "file_store",
    "file_store_bytes",
    "files_expire",
    "files_incoming_sweep",
    "inbound_convert",
    "webhook_deliver",
    "webhook_secret_for",
]
