"""The one settings object for the API, the poller and the CLI.

Every value comes from an environment variable with the same name locally and in the ECS task
definitions (see docs/architecture.md). The cloud and local modes differ only in these values.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDPIPE_", extra="ignore")

    database_url: str = "sqlite:///./data/vidpipe.db"
    # Injected from Secrets Manager in the cloud so the URL itself carries no secret.
    database_password: SecretStr | None = None
    # PostgreSQL connections per process: pool_size kept open, up to max_overflow more under load.
    # The Pulumi stack sizes them so every task at its maximum count fits the instance's
    # max_connections.
    db_pool_size: int = Field(default=5, gt=0)
    db_max_overflow: int = Field(default=5, ge=0)

    jwt_secret: SecretStr = SecretStr("change-me-local-only-secret-key-32b")
    jwt_ttl_seconds: int = Field(default=3600, gt=0)

    bucket: str = "vidpipe-media"
    jobs_queue_url: str = ""
    status_queue_url: str = ""
    dlq_url: str = ""
    # Where the poller answers operators' commands (`vidpipe retry`, `vidpipe dlq redrive`).
    replies_queue_url: str = ""
    state_machine_arn: str = ""

    max_upload_bytes: int = 100 * 1024 * 1024
    presign_expiry_seconds: int = Field(default=900, gt=0)
    # Seconds after which an upload whose SQS message was never confirmed is re-sent by the sweeper.
    resend_after_seconds: int = 60

    max_running_executions: int = Field(default=4, gt=0)
    # The poller re-counts RUNNING executions (ListExecutions) this often, and when a run it
    # answered ends: ListExecutions' account-wide refill is 2 per second in most regions.
    running_count_refresh_seconds: float = Field(default=15.0, gt=0)

    @property
    def sqlalchemy_url(self) -> str:
        url = make_url(self.database_url)
        if self.database_password is not None:
            url = url.set(password=self.database_password.get_secret_value())
        return url.render_as_string(hide_password=False)


@lru_cache
def get_settings() -> Settings:
    return Settings()
