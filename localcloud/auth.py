"""The local AWS answers only requests signed with the stack's credentials.

Moto answers everything by default, and its server sends `Access-Control-Allow-Origin: *`: any
process on the machine, and any web page the player's browser opens, could list and read the
bucket, and `/moto-api/data.json` dumps every resource. So the moto server is wrapped in
`SigV4Guard`, which recomputes each request's AWS Signature Version 4 with botocore's own signer
and the stack's secret and refuses (403) anything else:
- `Authorization: AWS4-HMAC-SHA256 ...` headers (every SDK client: the API, the poller, the local
  Fargate runner and its tasks, the operator CLI, and the Step Functions interpreter, which moto
  has sign with fixed dummy keys: `interpreter_credentials` gives it the stack's);
- presigned URLs (`X-Amz-Signature` in the query, what the API hands players), until they expire;
- nothing under `/moto-api/` (moto's reset, state and dashboard endpoints; this process calls them
  in-process).

Why not moto's own IAM authentication (`INITIAL_NO_AUTH_ACTION_COUNT`): in moto 5.2.5 it reads the
`Authorization` header unconditionally, so presigned URLs fail; `/moto-api/` stays open; and it
evaluates IAM policies on every request. Why not only binding to loopback: the default already
is 127.0.0.1, and the threat is what runs there (other local users, browser pages).

The credentials are random per data directory, kept in `<data_dir>/aws-credentials.json`
(mode 0600), so a restarted stack, its `local.env` and the URLs it handed out keep working.
S3 request bodies are not re-hashed against `x-amz-content-sha256` (the signature covers the
declared hash; AWS also checks the body).
"""

from __future__ import annotations

import hmac
import io
import json
import os
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=15)  # what AWS allows between X-Amz-Date and its clock
MAX_PRESIGN = timedelta(days=7)  # SigV4's longest presigned URL


@dataclass(frozen=True)
class StackCredentials:
    access_key_id: str
    secret_access_key: str

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }


def load_or_create(data_dir: Path) -> StackCredentials:
    """The data directory's credentials, created (random, mode 0600) on first use."""
    path = Path(data_dir) / "aws-credentials.json"
    if path.exists():
        saved = json.loads(path.read_text())
        return StackCredentials(saved["access_key_id"], saved["secret_access_key"])
    alphabet = string.ascii_uppercase + string.digits
    created = StackCredentials(
        access_key_id="AKIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
        secret_access_key=secrets.token_urlsafe(30),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_suffix(".part"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(
            {
                "access_key_id": created.access_key_id,
                "secret_access_key": created.secret_access_key,
            },
            f,
        )
    os.replace(path.with_suffix(".part"), path)
    return created


class Refused(Exception):
    pass


class SigV4Guard:
    """WSGI middleware: pass on requests signed with `credentials`, answer 403 to the rest."""

    def __init__(self, app: Callable, credentials: StackCredentials):
        self.app = app
        self.credentials = credentials
        self._botocore = Credentials(credentials.access_key_id, credentials.secret_access_key)

    def __call__(self, environ: dict, start_response: Callable):
        try:
            if environ.get("PATH_INFO", "").startswith("/moto-api"):
                raise Refused("moto's own endpoints are not served")
            self.verify(environ)
        except Refused as exc:
            body = (
                "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>"
                f"<Message>{exc}</Message></Error>"
            ).encode()
            start_response(
                "403 Forbidden",
                [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self.app(environ, start_response)

    # --- verification ----------------------------------------------------------------------

    def verify(self, environ: dict) -> None:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        path, _, query = raw.partition("?")
        params = dict(parse_qsl(query, keep_blank_values=True))
        header = _header(environ, "authorization")
        if header:
            self._verify_header(environ, path, query, header)
        elif params.get("X-Amz-Algorithm") == ALGORITHM and "X-Amz-Signature" in params:
            self._verify_query(environ, path, query, params)
        else:
            raise Refused("the request is not signed with the stack's credentials")

    def _verify_header(self, environ: dict, path: str, query: str, header: str) -> None:
        algorithm, _, rest = header.partition(" ")
        fields = dict(part.strip().partition("=")[::2] for part in rest.split(",") if "=" in part)
        if algorithm != ALGORITHM or not {"Credential", "SignedHeaders", "Signature"} <= set(
            fields
        ):
            raise Refused("unsupported authorization")
        timestamp = _header(environ, "x-amz-date")
        if not timestamp:
            raise Refused("no X-Amz-Date")
        when = _parse_time(timestamp)
        if abs(datetime.now(UTC) - when) > MAX_SKEW:
            raise Refused("the request time is too far from the server's")
        service, region = self._scope(fields["Credential"], timestamp)
        signed = fields["SignedHeaders"].split(";")
        headers = self._signed_headers(environ, signed)
        body = b""
        if "x-amz-content-sha256" not in headers:
            body = _read_body(environ)  # hashed into the signature (small API calls)
        auth_cls = S3SigV4Auth if service == "s3" else SigV4Auth
        expected = self._signature(
            auth_cls(self._botocore, service, region),
            environ,
            path,
            query,
            headers,
            timestamp,
            body,
        )
        if not hmac.compare_digest(expected, fields["Signature"]):
            raise Refused("the signature does not match")

    def _verify_query(self, environ: dict, path: str, query: str, params: dict) -> None:
        timestamp = params.get("X-Amz-Date", "")
        service, region = self._scope(params.get("X-Amz-Credential", ""), timestamp)
        try:
            expires = timedelta(seconds=int(params.get("X-Amz-Expires", "")))
        except ValueError:
            raise Refused("bad X-Amz-Expires") from None
        when = _parse_time(timestamp)
        now = datetime.now(UTC)
        if expires > MAX_PRESIGN or now > when + expires or when - now > MAX_SKEW:
            raise Refused("the presigned URL has expired")
        unsigned = "&".join(p for p in query.split("&") if not p.startswith("X-Amz-Signature="))
        headers = self._signed_headers(environ, params.get("X-Amz-SignedHeaders", "").split(";"))
        signer = (S3SigV4QueryAuth if service == "s3" else SigV4QueryAuth)(
            self._botocore, service, region
        )
        expected = self._signature(signer, environ, path, unsigned, headers, timestamp)
        if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
            raise Refused("the signature does not match")

    def _scope(self, credential: str, timestamp: str) -> tuple[str, str]:
        parts = credential.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise Refused("bad credential scope")
        key, date, region, service, _ = parts
        if not hmac.compare_digest(key, self.credentials.access_key_id):
            raise Refused("unknown access key")
        if date != timestamp[:8]:
            raise Refused("the credential scope's date does not match X-Amz-Date")
        return service, region

    @staticmethod
    def _signed_headers(environ: dict, names: list[str]) -> dict[str, str]:
        if "host" not in names:
            raise Refused("the host header must be signed")
        headers = {}
        for name in names:
            value = _header(environ, name)
            if value is None:
                raise Refused(f"signed header {name} is missing")
            headers[name] = value
        return headers

    @staticmethod
    def _signature(auth, environ, path, query, headers, timestamp, body=b"") -> str:
        """What botocore signs for this request (the client's own computation, redone)."""
        url = f"http://{headers['host']}{path}" + (f"?{query}" if query else "")
        request = AWSRequest(
            method=environ["REQUEST_METHOD"], url=url, headers=headers, data=body or None
        )
        request.context["timestamp"] = timestamp
        canonical = auth.canonical_request(request)
        return auth.signature(auth.string_to_sign(request, canonical), request)


def _header(environ: dict, name: str) -> str | None:
    key = name.upper().replace("-", "_")
    if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        key = "HTTP_" + key
    return environ.get(key)


def _parse_time(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise Refused("bad X-Amz-Date") from None


def _read_body(environ: dict) -> bytes:
    """Read the body to hash it, and put it back for moto."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def sign_interpreter_with(credentials: StackCredentials) -> Callable[[], None]:
    """Moto's Step Functions interpreter calls ECS and SQS over HTTP with fixed keys ("ak"/"sk");
    have it sign with the stack's credentials instead (in this process). Returns the undo."""
    import boto3
    from moto.stepfunctions.parser.asl.utils import boto_client

    class _Boto3:
        @staticmethod
        def client(*args, **kwargs):
            kwargs["aws_access_key_id"] = credentials.access_key_id
            kwargs["aws_secret_access_key"] = credentials.secret_access_key
            return boto3.client(*args, **kwargs)

    previous = boto_client.boto3
    boto_client.boto3 = _Boto3()

    def undo() -> None:
        boto_client.boto3 = previous

    return undo
