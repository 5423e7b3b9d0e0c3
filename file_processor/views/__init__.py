"""REST views of the File Processor API: parse, call one service or selector, render."""

from .conversions import ConversionMatrixView, ConvertView, InboundConvertView, JobDetailView, WebhookSecretView
from .files import AnyAccept, DownloadView, FileDetailView, FileListView, FileStatusView
from .uploads import DirectUploadCompleteView, DirectUploadView, SignedUrlView, UploadView

__all__ = [
    "AnyAccept",
    "ConversionMatrixView",
    "ConvertView",
    "DirectUploadCompleteView",
    "DirectUploadView",
    "DownloadView",
    "FileDetailView",
    "FileListView",
    "FileStatusView",
    "InboundConvertView",
    "JobDetailView",
    "SignedUrlView",
    "UploadView",
    "WebhookSecretView",
]
