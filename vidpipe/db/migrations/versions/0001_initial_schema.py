"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 10:24:28.437488
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('city_key', sa.String(length=100), nullable=False),
    sa.Column('country', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('public_videos', sa.Integer(), nullable=False),
    sa.Column('votes_received', sa.BigInteger(), nullable=False),
    sa.Column('first_vote_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index('ix_users_city_ranking', ['city_key', sa.literal_column('votes_received DESC'), 'first_vote_at', 'first_name', 'last_name', 'id'], unique=False, postgresql_where=sa.text('public_videos > 0'), sqlite_where=sa.text('public_videos > 0'))
        batch_op.create_index('ix_users_ranking', [sa.literal_column('votes_received DESC'), 'first_vote_at', 'first_name', 'last_name', 'id'], unique=False, postgresql_where=sa.text('public_videos > 0'), sqlite_where=sa.text('public_videos > 0'))

    op.create_table('videos',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('original_key', sa.String(length=300), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('processed_key', sa.String(length=300), nullable=True),
    sa.Column('poster_key', sa.String(length=300), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('ffmpeg_wall_seconds', sa.Float(), nullable=True),
    sa.Column('votes', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processing_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.create_index('ix_videos_owner', ['owner_id', 'uploaded_at'], unique=False)
        batch_op.create_index('ix_videos_public', ['status', sa.literal_column('votes DESC'), 'processed_at', 'id'], unique=False)
        batch_op.create_index('ix_videos_status_updated', ['status', 'updated_at'], unique=False)

    op.create_table('votes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('video_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['video_id'], ['videos.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'video_id', name='uq_votes_user_video')
    )
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.create_index('ix_votes_video', ['video_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_index('ix_votes_video')

    op.drop_table('votes')
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.drop_index('ix_videos_status_updated')
        batch_op.drop_index('ix_videos_public')
        batch_op.drop_index('ix_videos_owner')

    op.drop_table('videos')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_ranking', postgresql_where=sa.text('public_videos > 0'), sqlite_where=sa.text('public_videos > 0'))
        batch_op.drop_index('ix_users_city_ranking', postgresql_where=sa.text('public_videos > 0'), sqlite_where=sa.text('public_videos > 0'))

    op.drop_table('users')
