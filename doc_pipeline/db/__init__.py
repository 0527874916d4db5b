from doc_pipeline.db.models import (AuditLog, Base, Document, FieldRow, PageRow, ReprocessTask, Review,
                                    StepCheckpoint, TableRow)
from doc_pipeline.db.session import Database, get_database

__all__ = ["AuditLog", "Base", "Database", "Document", "FieldRow", "PageRow", "ReprocessTask", "Review",
           "StepCheckpoint", "TableRow", "get_database"]
