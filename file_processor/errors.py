"""The File Processor's own problem types (rendered as RFC 9457 by common.errors like every other)."""

from common.errors import ApplicationError


class PayloadTooLarge(ApplicationError):
    status = 413
    code = "payload_too_large"
    default_detail = "The file is larger than the upload limit."


class UnsupportedMediaType(ApplicationError):
    status = 415
    code = "unsupported_media_type"
    default_detail = "This type of file is not accepted."


class RangeNotSatisfiable(ApplicationError):
    status = 416
    code = "range_not_satisfiable"
    default_detail = "The requested byte range lies outside the file."


class Unprocessable(ApplicationError):
    """The request is well formed but names something this service cannot do (422)."""

    status = 422
    code = "unprocessable"
    default_detail = "The request cannot be carried out."


class Gone(ApplicationError):
    status = 410
    code = "gone"
    default_detail = "The resource is no longer available."
