"""initial schema: documents, pages, fields, tables, step checkpoints, audit logs, reprocess tasks, reviews

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _doc_fk() -> sa.Column:
    return sa.Column("doc_id", sa.String(64), sa.ForeignKey("documents.doc_id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("doc_id", sa.String(64), primary_key=True),
        sa.Column("raw_key", sa.String(512), nullable=False, unique=True),
        sa.Column("raw_version", sa.String(128)),
        sa.Column("source_name", sa.String(512)),
        sa.Column("source", sa.String(64)),
        sa.Column("media_type", sa.String(64)),
        sa.Column("sha256", sa.String(64)),
        sa.Column("size", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("error", sa.Text),
        sa.Column("current_step", sa.String(32)),
        sa.Column("kind", sa.String(16)),
        sa.Column("doc_type", sa.String(32), index=True),
        sa.Column("doc_type_hint", sa.String(32)),
        sa.Column("applicant_id", sa.String(128), index=True),
        sa.Column("owner", sa.String(128), index=True),
        sa.Column("page_count", sa.Integer),
        sa.Column("flagged", sa.Boolean, nullable=False, index=True),
        sa.Column("flag_reasons", sa.JSON),
        sa.Column("processing_seconds", sa.Float),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "pages",
        sa.Column("doc_id", sa.String(64), sa.ForeignKey("documents.doc_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("page_no", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("width", sa.Float, nullable=False),
        sa.Column("height", sa.Float, nullable=False),
        sa.Column("rotation", sa.Integer, nullable=False),
        sa.Column("image_key", sa.String(512)),
        sa.Column("text", sa.Text),
        sa.Column("word_count", sa.Integer),
        sa.Column("mean_conf", sa.Float),
        sa.Column("engine", sa.String(32)),
    )
    op.create_table(
        "fields",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _doc_fk(),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("normalized", sa.JSON),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("page_no", sa.Integer),
        sa.Column("bbox", sa.JSON),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("evidence", sa.Text),
        sa.Column("run_id", sa.String(64)),
        sa.UniqueConstraint("doc_id", "name", "ordinal", name="uq_fields_doc_name_ordinal"),
    )
    op.create_index("ix_fields_doc_id", "fields", ["doc_id"])
    op.create_table(
        "tables",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _doc_fk(),
        sa.Column("table_index", sa.Integer, nullable=False),
        sa.Column("page_no", sa.Integer, nullable=False),
        sa.Column("bbox", sa.JSON),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("n_cols", sa.Integer, nullable=False),
        sa.Column("csv_key", sa.String(512), nullable=False),
        sa.Column("method", sa.String(32)),
        sa.UniqueConstraint("doc_id", "table_index", name="uq_tables_doc_index"),
    )
    op.create_index("ix_tables_doc_id", "tables", ["doc_id"])
    op.create_table(
        "step_checkpoints",
        sa.Column("doc_id", sa.String(64), sa.ForeignKey("documents.doc_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("step", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("started_at", TZ),
        sa.Column("finished_at", TZ),
        sa.Column("seconds", sa.Float),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
    )
    op.create_table(
        "audit_logs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", TZ, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("role", sa.String(32)),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("doc_id", sa.String(64)),
        sa.Column("detail", sa.JSON),
        sa.Column("ip", sa.String(64)),
    )
    op.create_index("ix_audit_doc_ts", "audit_logs", ["doc_id", "ts"])
    op.create_table(
        "reprocess_tasks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _doc_fk(),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("reason", sa.String(64)),
        sa.Column("requested_by", sa.String(128)),
        sa.Column("run_id", sa.String(64)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_reprocess_tasks_doc_id", "reprocess_tasks", ["doc_id"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _doc_fk(),
        sa.Column("reviewer", sa.String(128), nullable=False),
        sa.Column("decisions", sa.JSON, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_index("ix_reviews_doc_id", "reviews", ["doc_id"])


def downgrade() -> None:
    for name in ("reviews", "reprocess_tasks", "audit_logs", "step_checkpoints", "tables", "fields", "pages",
                 "documents"):
        op.drop_table(name)
