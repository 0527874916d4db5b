"""escalation_spend: paid cloud-OCR pages per document and day (the escalation budget ledger)

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "escalation_spend",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("doc_id", sa.String(64), nullable=False),
        sa.Column("vendor", sa.String(32), nullable=False),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_escalation_spend_day", "escalation_spend", ["day"])
    op.create_index("ix_escalation_spend_doc", "escalation_spend", ["doc_id"])


def downgrade() -> None:
    op.drop_index("ix_escalation_spend_doc", table_name="escalation_spend")
    op.drop_index("ix_escalation_spend_day", table_name="escalation_spend")
    op.drop_table("escalation_spend")
