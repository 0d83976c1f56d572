"""The one settings object for the API, the poller and the CLI.

Every value comes from an environment variable with the same name locally and in the ECS task
definitions (see docs/architecture.md). The cloud and local modes differ only in these values.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

MIN_JWT_SECRET_LENGTH = 32
# The development default earlier versions shipped: published, so never a key.
KNOWN_WEAK_JWT_SECRETS = frozenset({"change-me-local-only-secret-key-32b"})


class MissingJwtSecret(RuntimeError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDPIPE_", extra="ignore")

    database_url: str = "sqlite:///./data/vidpipe.db"
    # Injected from Secrets Manager in the cloud so the URL itself carries no secret.
    database_password: SecretStr | None = None
    # PostgreSQL connections per process: pool_size kept open, up to max_overflow more under load.
    # The API also keeps db_read_pool_size for the reads it makes on the event loop (the own-video
    # read). The Pulumi stack sizes them so every task at its maximum count fits the instance's
    # max_connections.
    db_pool_size: int = Field(default=5, gt=0)
    db_max_overflow: int = Field(default=5, ge=0)
    db_read_pool_size: int = Field(default=8, gt=0)

    # No default: a default in the repository would let anyone forge tokens for a server started
    # without the variable. `vidpipe up` generates one per data directory (localcloud.secrets).
    jwt_secret: SecretStr | None = None
    jwt_ttl_seconds: int = Field(default=3600, gt=0)

    bucket: str = "vidpipe-media"
    jobs_queue_url: str = ""
    status_queue_url: str = ""
    dlq_url: str = ""
    # Where the poller answers operators' commands (`vidpipe retry`, `vidpipe dlq redrive`).
    replies_queue_url: str = ""
    state_machine_arn: str = ""
    # Where the state machine publishes the completion events (docs/messages.md); the local cloud
    # delivers them to webhook_url when it is set (`vidpipe up --webhook URL`).
    event_bus_name: str = ""
    webhook_url: str = ""

    max_upload_bytes: int = 100 * 1024 * 1024
    presign_expiry_seconds: int = Field(default=900, gt=0)
    # Origin (scheme://host[:port]) the browser loads media from, for the API's CSP; when unset
    # it is taken from a presigned URL's host.
    media_origin: str | None = None
    # How long one API process may serve a cached page of the public list or the rankings that
    # another process (API task, poller) has since changed: it re-reads the public revision at
    # most this often. The bound on a vote's or a newly processed video's visibility across
    # tasks (a vote is visible at once in its own process). 0 turns the cache off. See
    # docs/benchmarks.md.
    public_cache_seconds: float = Field(default=1.0, ge=0, le=300)
    # Threads that hash passwords (sign-ins, sign-ups) in one process; more hashes wait their
    # turn. Each thread keeps argon2's 7 MiB, and hashing beyond the cores adds no throughput:
    # on the thread pool's 40 threads, a burst of sign-ins took an API process past 512 MiB.
    password_hash_concurrency: int = Field(default=2, gt=0)
    # Seconds after which an upload whose SQS message was never confirmed is re-sent by the sweeper.
    resend_after_seconds: int = 60

    max_running_executions: int = Field(default=4, gt=0)
    # The poller re-counts RUNNING executions (ListExecutions) this often, and when a run it
    # answered ends: ListExecutions' account-wide refill is 2 per second in most regions.
    running_count_refresh_seconds: float = Field(default=15.0, gt=0)

    # How many proxies in front of the API append to X-Forwarded-For / set X-Forwarded-Proto
    # (1 behind the ALB). 0 trusts neither header: the client address is the socket's peer.
    trusted_proxy_count: int = Field(default=0, ge=0)

    # Estimated price of a transcode run (docs/costs.md). AWS Fargate On-Demand, Linux/X86,
    # US East (N. Virginia, us-east-1), from https://aws.amazon.com/fargate/pricing/ as published
    # on 2026-11-28: USD per vCPU-hour and per GB-hour, billed per second with a one-minute
    # minimum. Other regions cost more: set that region's two prices.
    fargate_vcpu_hour_usd: float = Field(default=0.04048, ge=0)
    fargate_gb_hour_usd: float = Field(default=0.004445, ge=0)

    @field_validator("jwt_secret")
    @classmethod
    def _strong_jwt_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if secret in KNOWN_WEAK_JWT_SECRETS or len(secret) < MIN_JWT_SECRET_LENGTH:
            raise ValueError(
                f"VIDPIPE_JWT_SECRET must be a private random value of at least "
                f"{MIN_JWT_SECRET_LENGTH} characters"
            )
        return value

    def jwt_key(self) -> str:
        """The token signing key; refuses to work without one."""
        if self.jwt_secret is None:
            raise MissingJwtSecret(
                "VIDPIPE_JWT_SECRET is not set: set it to a private random value "
                "(`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return self.jwt_secret.get_secret_value()

    @property
    def sqlalchemy_url(self) -> str:
        url = make_url(self.database_url)
        if self.database_password is not None:
            url = url.set(password=self.database_password.get_secret_value())
        return url.render_as_string(hide_password=False)


@lru_cache
def get_settings() -> Settings:
    return Settings()
