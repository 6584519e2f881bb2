"""Account lifecycle and administration: roles, verification, suspension, account
tokens, the mail outbox and the admin audit log.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN, not a batch rebuild: SQLite adds them in place,
    # so users keeps its AUTOINCREMENT.
    op.add_column(
        "users", sa.Column("role", sa.String(length=16), server_default="USER", nullable=False)
    )
    op.add_column(
        "users",
        sa.Column("email_verified", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("users", sa.Column("suspended_at", Timestamp, nullable=True))
    op.create_table(
        "account_tokens",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("user_id", BigIntId, nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("new_email", sa.String(length=320), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("used_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    op.create_index(op.f("ix_account_tokens_expires_at"), "account_tokens", ["expires_at"])
    op.create_index("ix_account_tokens_user_purpose", "account_tokens", ["user_id", "purpose"])
    op.create_table(
        "outbox_messages",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("user_id", BigIntId, nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column("body_html", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("sent_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_outbox_messages_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(
        "ix_outbox_messages_due", "outbox_messages", ["status", "next_attempt_at", "id"]
    )
    op.create_table(
        "admin_audit",
        sa.Column("id", BigIntId, nullable=False),
        sa.Column("actor_id", BigIntId, nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target_id", BigIntId, nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_audit")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_admin_audit_target_id"), "admin_audit", ["target_id"])


def downgrade() -> None:
    op.drop_table("admin_audit")
    op.drop_table("outbox_messages")
    op.drop_table("account_tokens")
    columns = ("suspended_at", "email_verified", "role")
    if op.get_bind().dialect.name != "sqlite":
        for column in columns:
            op.drop_column("users", column)
        return
    # SQLite rebuilds the table to drop columns: it must keep its AUTOINCREMENT.
    with op.batch_alter_table(
        "users", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        for column in columns:
            batch.drop_column(column)
