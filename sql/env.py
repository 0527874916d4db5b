"""Alembic environment: the engine comes from doc_pipeline (or DOCPIPE_DATABASE_URL on the command line)."""

from alembic import context
from sqlalchemy import create_engine

from doc_pipeline.db.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    from doc_pipeline.settings import get_settings

    engine = create_engine(config.get_main_option("sqlalchemy.url") or get_settings().db_url)

with engine.connect() as connection:
    # our own version table: Dagster's Postgres storage keeps its alembic_version in the same database
    context.configure(connection=connection, target_metadata=Base.metadata, version_table="docpipe_alembic_version",
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
