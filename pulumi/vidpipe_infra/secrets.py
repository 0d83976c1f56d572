"""The database password and the JWT signing key, generated once and kept in Secrets Manager.

The tasks receive them through the ECS `secrets` field (valueFrom = the secret's ARN), so they
never appear as plain environment values in a task definition. In the Pulumi state they are
stored as secrets (encrypted).
"""

from __future__ import annotations

import pulumi_aws as aws
import pulumi_random as random

import pulumi


class Secrets(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("vidpipe:infra:Secrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # Alphanumeric only: RDS forbids '/', '@', '"' and spaces in master passwords, and the
        # value is merged into a URL by the application.
        self.db_password = random.RandomPassword(
            f"{name}-db-password", length=32, special=False, opts=child
        )
        jwt_key = random.RandomPassword(f"{name}-jwt-secret", length=64, special=False, opts=child)

        self.db_password_secret = aws.secretsmanager.Secret(
            f"{name}-db-password",
            description="vidpipe PostgreSQL master password (VIDPIPE_DATABASE_PASSWORD)",
            opts=child,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-db-password-value",
            secret_id=self.db_password_secret.id,
            secret_string=self.db_password.result,
            opts=child,
        )
        self.jwt_secret = aws.secretsmanager.Secret(
            f"{name}-jwt-secret",
            description="vidpipe JWT signing key (VIDPIPE_JWT_SECRET)",
            opts=child,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-jwt-secret-value",
            secret_id=self.jwt_secret.id,
            secret_string=jwt_key.result,
            opts=child,
        )
        self.register_outputs({})
