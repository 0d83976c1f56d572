"""The media bucket: private, public access blocked, encrypted, TLS only.

Keys live under two prefixes (docs/architecture.md): `uploads/<video_id>.mp4` written by the API,
`processed/<video_id>/` written by the transcode job. IAM policies grant per prefix. No CORS:
browsers never talk to S3 directly except through presigned GETs, which need none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi_aws as aws

import pulumi

from .config import StackConfig

UPLOADS_PREFIX = "uploads/"
PROCESSED_PREFIX = "processed/"


@dataclass
class StorageArgs:
    """Inputs of `Storage`: the stack config (bucketForceDestroy)."""

    cfg: StackConfig


class Storage(pulumi.ComponentResource):
    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        cfg = args.cfg
        super().__init__("vidpipe:infra:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.bucket = aws.s3.Bucket(
            f"{name}-media", force_destroy=cfg.bucket_force_destroy, opts=child
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-media-pab",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        # ACLs disabled: access is decided by IAM alone.
        aws.s3.BucketOwnershipControls(
            f"{name}-media-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-media-sse",
            bucket=self.bucket.id,
            rules=[
                {
                    # SSE-S3: encrypted at rest without a KMS key policy every role would need.
                    "apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"},
                    "bucket_key_enabled": True,
                }
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-media-lifecycle",
            bucket=self.bucket.id,
            rules=[
                {
                    # A crashed multipart upload would otherwise be billed forever.
                    "id": "abort-incomplete-multipart",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 2},
                }
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-media-tls-only",
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(lambda arn: json.dumps(tls_only_policy(arn))),
            # The public access block must exist first so this deny-only policy is never judged
            # against an unblocked bucket.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        self.register_outputs({"bucket": self.bucket.bucket})


def tls_only_policy(bucket_arn: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
