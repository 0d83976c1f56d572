"""Domain errors; the API maps each to its HTTP status (api/errors.py)."""


class VidpipeError(Exception):
    """Base class: the message is the human readable reason returned to the client."""


class BadRequest(VidpipeError):
    pass


class Unauthorized(VidpipeError):
    pass


class Forbidden(VidpipeError):
    pass


class NotFound(VidpipeError):
    pass


class Unavailable(VidpipeError):
    """A dependency (database, S3, SQS) did not answer; the client may retry."""


class TooManyRequests(VidpipeError):
    """The caller must wait `retry_after` seconds (login throttling)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
