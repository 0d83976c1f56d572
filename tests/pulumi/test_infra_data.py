"""RDS (private, encrypted, sized from config), the two secrets and how tasks receive them,
the media bucket (private, blocked, encrypted, no CORS) and the queues."""

from __future__ import annotations

import json

from sqlalchemy.engine import make_url

from .harness import REPO, Stack, example_config

# AWS's published trust store for RDS, fetched into the images at build time.
RDS_TRUST_STORE = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"

SECRET_ENV = {"VIDPIPE_DATABASE_PASSWORD", "VIDPIPE_JWT_SECRET"}


def test_rds_is_private_encrypted_postgres_sized_from_config(configured):
    stack, cfg = configured
    (db,) = stack.of_type("aws:rds/instance:Instance")
    inputs = db.inputs
    assert inputs["publiclyAccessible"] is False
    assert inputs["storageEncrypted"] is True
    assert inputs["engine"] == "postgres"
    assert inputs["instanceClass"] == cfg["dbInstanceClass"]
    assert inputs["allocatedStorage"] == cfg["dbAllocatedStorage"]
    assert inputs["multiAz"] is cfg["dbMultiAz"]
    assert inputs["backupRetentionPeriod"] == cfg["dbBackupRetentionDays"]
    assert inputs["dbName"] == "vidpipe" and inputs["username"] == "vidpipe"


def _password(stack: Stack, name: str) -> str:
    return stack.one("random:index/randomPassword:RandomPassword", name).outputs["result"]


def test_secret_values_come_from_generated_passwords(stack):
    db_password = _password(stack, "vidpipe-db-password")
    versions = {
        v.inputs["secretId"]: v.inputs["secretString"]
        for v in stack.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    }
    assert versions == {
        "vidpipe-db-password-id": db_password,
        "vidpipe-jwt-secret-id": _password(stack, "vidpipe-jwt-secret"),
    }
    (db,) = stack.of_type("aws:rds/instance:Instance")
    assert db.inputs["password"] == db_password


def test_tasks_get_secrets_only_through_the_ecs_secrets_field(stack):
    secret_arn = {
        name: stack.one("aws:secretsmanager/secret:Secret", f"vidpipe-{name}").outputs["arn"]
        for name in ("db-password", "jwt-secret")
    }
    expected = {
        "vidpipe-api": {
            "VIDPIPE_DATABASE_PASSWORD": secret_arn["db-password"],
            "VIDPIPE_JWT_SECRET": secret_arn["jwt-secret"],
        },
        # The poller signs no tokens; it receives only the database password.
        "vidpipe-poller": {"VIDPIPE_DATABASE_PASSWORD": secret_arn["db-password"]},
        "vidpipe-transcode": {},
    }
    values = {_password(stack, "vidpipe-db-password"), _password(stack, "vidpipe-jwt-secret")}
    for task, secrets in expected.items():
        container = stack.container(task)
        assert {s["name"]: s["valueFrom"] for s in container["secrets"]} == secrets, task
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert not SECRET_ENV & env.keys(), task
        definitions = stack.one("aws:ecs/taskDefinition:TaskDefinition", task).inputs[
            "containerDefinitions"
        ]
        assert not any(value in definitions for value in values), f"secret value in {task}"


def test_database_url_carries_no_password_and_verifies_the_server(stack):
    (db,) = stack.of_type("aws:rds/instance:Instance")
    for task in ("vidpipe-api", "vidpipe-poller"):
        env = {e["name"]: e["value"] for e in stack.container(task)["environment"]}
        url = make_url(env["VIDPIPE_DATABASE_URL"])
        assert (url.drivername, url.username, url.password) == (
            "postgresql+psycopg",
            "vidpipe",
            None,
        )
        assert (url.host, url.port, url.database) == (db.outputs["address"], 5432, "vidpipe")
        assert url.query["sslmode"] == "verify-full"
        # The CA bundle the images carry, where libpq is told to find it.
        for dockerfile in ("Dockerfile.api", "Dockerfile.job"):
            text = (REPO / dockerfile).read_text()
            assert f"{RDS_TRUST_STORE} {url.query['sslrootcert']}" in text, dockerfile
            assert f"ENV PGSSLROOTCERT={url.query['sslrootcert']}" in text, dockerfile


def test_rds_keeps_deletion_protection_and_a_final_snapshot_by_default(configured):
    stack, cfg = configured
    (db,) = stack.of_type("aws:rds/instance:Instance")
    assert db.inputs["deletionProtection"] is cfg["dbDeletionProtection"]
    assert db.inputs["skipFinalSnapshot"] is False
    assert db.inputs["finalSnapshotIdentifier"] == "vidpipe-test-final"
    assert example_config()["dbDeletionProtection"] is True


def test_replies_queue_keeps_answers_five_minutes(stack):
    replies = stack.one("aws:sqs/queue:Queue", "vidpipe-replies").inputs
    assert replies["messageRetentionSeconds"] == 300
    assert replies["sqsManagedSseEnabled"] is True
    poller = {e["name"]: e["value"] for e in stack.container("vidpipe-poller")["environment"]}
    url = stack.one("aws:sqs/queue:Queue", "vidpipe-replies").outputs["url"]
    assert poller["VIDPIPE_REPLIES_QUEUE_URL"] == url == stack.outputs["repliesQueueUrl"]


def test_bucket_is_private_blocked_and_encrypted(stack):
    (bucket,) = stack.of_type("aws:s3/bucket:Bucket")
    bucket_id = f"{bucket.name}-id"
    (block,) = stack.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert block.inputs == {
        "bucket": bucket_id,
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    (sse,) = stack.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    assert sse.inputs["bucket"] == bucket_id
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in (
        "AES256",
        "aws:kms",
    )
    (ownership,) = stack.of_type("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    assert "acl" not in bucket.inputs and "policy" not in bucket.inputs


def test_bucket_policy_only_denies_insecure_transport(stack):
    (policy,) = stack.of_type("aws:s3/bucketPolicy:BucketPolicy")
    statements = policy.json("policy")["Statement"]
    assert [s["Effect"] for s in statements] == ["Deny"]
    assert statements[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_no_cors_because_nothing_uploads_to_s3_from_a_browser(stack):
    assert not [r for r in stack.resources if "Cors" in r.type]
    (bucket,) = stack.of_type("aws:s3/bucket:Bucket")
    assert "corsRules" not in bucket.inputs


def test_jobs_queue_redrives_to_the_dlq_after_max_receive_count(configured):
    stack, cfg = configured
    jobs = stack.one("aws:sqs/queue:Queue", "vidpipe-jobs")
    dlq = stack.one("aws:sqs/queue:Queue", "vidpipe-dlq")
    assert json.loads(jobs.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": dlq.outputs["arn"],
        "maxReceiveCount": cfg["jobsMaxReceiveCount"],
    }
    (allow,) = stack.of_type("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")
    assert allow.inputs["queueUrl"] == dlq.outputs["url"]
    assert json.loads(allow.inputs["redriveAllowPolicy"])["sourceQueueArns"] == [
        jobs.outputs["arn"]
    ]


def test_queue_timeouts_follow_the_poller(configured):
    stack, cfg = configured
    jobs = stack.one("aws:sqs/queue:Queue", "vidpipe-jobs").inputs
    status = stack.one("aws:sqs/queue:Queue", "vidpipe-status").inputs
    assert jobs["visibilityTimeoutSeconds"] == cfg["jobsVisibilityTimeoutSeconds"]
    assert status["visibilityTimeoutSeconds"] == cfg["statusVisibilityTimeoutSeconds"]
    # The poller long-polls; the queues' default wait matches so an empty receive is cheap.
    assert jobs["receiveWaitTimeSeconds"] == status["receiveWaitTimeSeconds"] == 20
    # A job message outlives every retry, so it ends in the DLQ rather than expiring.
    assert (
        jobs["messageRetentionSeconds"]
        > cfg["jobsMaxReceiveCount"] * cfg["jobsVisibilityTimeoutSeconds"]
    )
    for name in ("vidpipe-jobs", "vidpipe-status", "vidpipe-dlq"):
        assert stack.one("aws:sqs/queue:Queue", name).inputs["sqsManagedSseEnabled"] is True
