"""Reading the upload form without trusting the client: size bounded while the body streams in."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect
from starlette.types import Message

from api.schemas import reject_control_characters
from vidpipe.errors import BadRequest
from vidpipe.mp4 import HEAD_BYTES, is_mp4

# Room for the multipart boundaries and the title around a file of the maximum size.
FORM_OVERHEAD_BYTES = 64 * 1024


class _BodyTooLarge(Exception):
    pass


@dataclass
class UploadForm:
    file: UploadFile
    title: str
    size: int


def _too_large(limit: int) -> BadRequest:
    return BadRequest(f"video_file is too large: the limit is {limit // (1024 * 1024)} MB")


async def read_upload_form(request: Request, max_bytes: int) -> UploadForm:
    """Parse `video_file` and `title`; Starlette spools the file to disk, never into memory.

    The body is cut off as soon as it exceeds the limit, whatever Content-Length says.
    """
    limit = max_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(max_bytes)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise BadRequest("send the upload as multipart/form-data with video_file and title")

    received = 0
    receive = request.receive

    async def bounded_receive() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise _BodyTooLarge
        return message

    bounded = Request(request.scope, bounded_receive)
    try:
        form = await bounded.form(max_files=1, max_fields=10)
    except _BodyTooLarge:
        raise _too_large(max_bytes) from None
    except ClientDisconnect:
        raise BadRequest("the upload was interrupted") from None
    except Exception as exc:  # Starlette raises its own parse errors for malformed multipart
        raise BadRequest(f"malformed multipart form: {exc}") from None

    file = form.get("video_file")
    if not isinstance(file, UploadFile):
        raise BadRequest("video_file is required (an MP4 file)")
    title = form.get("title")
    if not isinstance(title, str) or not title.strip():
        raise BadRequest("title is required")
    title = title.strip()
    if len(title) > 200:
        raise BadRequest("title must be at most 200 characters")
    try:
        reject_control_characters(title)
    except ValueError as exc:
        raise BadRequest(f"title: {exc}") from None

    size = file.size if file.size is not None else _measure(file)
    if size == 0:
        raise BadRequest("video_file is empty")
    if size > max_bytes:
        raise _too_large(max_bytes)
    await file.seek(0)
    head = await file.read(HEAD_BYTES)
    await file.seek(0)
    if not is_mp4(head):
        raise BadRequest("video_file is not an MP4 video")
    return UploadForm(file=file, title=title, size=size)


def _measure(file: UploadFile) -> int:
    file.file.seek(0, 2)
    return file.file.tell()
