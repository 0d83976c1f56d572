"""The local AWS answers only requests signed with the stack's credentials (issue 9): an unsigned
read of an object, a wrong key or a tampered presigned URL is refused; the presigned URLs the API
hands players, and every SDK client of the stack, keep working."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud import auth
from vidpipe import storage

# Boots a local cloud: `make test` runs these after the quick ones.
pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_the_local_aws_requires_the_stacks_credentials(pipeline_factory, tmp_path):
    p = pipeline_factory("ok")
    vid = p.video(body=b"the upload")  # signed SDK calls work (and the pipeline runs on them)
    key = f"uploads/{vid}.mp4"
    endpoint = p.stack.endpoint_url
    assert _get(f"{endpoint}/{p.settings.bucket}/{key}")[0] == 403  # unsigned
    # moto refused that one by the object's ACL, but served it with any signature-ish query
    forged = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0"
    assert _get(f"{endpoint}/{p.settings.bucket}/{key}?{forged}")[0] == 403
    assert _get(f"{endpoint}/{p.settings.bucket}")[0] == 403  # unsigned listing
    assert _get(f"{endpoint}/moto-api/data.json")[0] == 403  # moto's dump of everything

    url = storage.presigned_get(key, p.settings)
    assert _get(url) == (200, b"the upload")
    assert _get(url.replace(key, "uploads/another.mp4"))[0] == 403  # another object
    assert _get(url.replace("X-Amz-Expires=", "X-Amz-Expires=9"))[0] == 403  # longer validity

    with pytest.raises(ClientError) as refused:
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=p.stack.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key="not-the-secret",
        ).get_object(Bucket=p.settings.bucket, Key=key)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    # Random per data directory, kept there (a restart keeps local.env and old URLs working).
    saved = json.loads((tmp_path / "data" / "aws-credentials.json").read_text())
    assert saved["access_key_id"] == p.stack.env["AWS_ACCESS_KEY_ID"] != "local"
    assert auth.load_or_create(tmp_path / "data") == auth.load_or_create(tmp_path / "data")
    assert auth.load_or_create(tmp_path / "other") != auth.load_or_create(tmp_path / "data")
    assert (tmp_path / "data" / "local.env").stat().st_mode & 0o077 == 0
    p.wait_status(vid, ("processed",))  # the interpreter and the job signed with them too
