"""public_revision: the change counter of the public list and the rankings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 01:10:00

One row, bumped with every vote and every newly processed video, so each API process keeps its
cached public pages until they really change (api/routes/public.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "public_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(table, [{"id": 1, "revision": 0}])


def downgrade() -> None:
    op.drop_table("public_revision")
