"""videos.progress, video_runs (what each processing run cost)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 20:00:00

Operators (users.is_operator) came with 0002; this revision adds the progress of the current
attempt and one row per finished run with its resources and estimated price.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress", sa.Integer(), nullable=True))
    op.create_table(
        "video_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("video_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wall_seconds", sa.Float(), nullable=True),
        sa.Column("cpu_seconds", sa.Float(), nullable=True),
        sa.Column("peak_memory_mb", sa.Float(), nullable=True),
        sa.Column("input_bytes", sa.BigInteger(), nullable=True),
        sa.Column("output_bytes", sa.BigInteger(), nullable=True),
        sa.Column("task_vcpu", sa.Float(), nullable=True),
        sa.Column("task_memory_gb", sa.Float(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("video_id", "attempt", name="uq_video_runs_attempt"),
    )
    op.create_index("ix_video_runs_finished", "video_runs", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_video_runs_finished", table_name="video_runs")
    op.drop_table("video_runs")
    with op.batch_alter_table("videos", schema=None) as batch_op:
        batch_op.drop_column("progress")
