-- Runs once, on the first start of an empty data volume. Dagster gets its own database: Dagster and the
-- doc-pipeline metadata DB both keep Alembic state in a table named alembic_version, so they must not share one.
CREATE DATABASE dagster;
