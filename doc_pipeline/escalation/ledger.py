"""Paid-page budget ledger: one row per real (non-cached, non-mock) vendor call. Migration: sql/versions/0002."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Protocol

from sqlalchemy import Date, DateTime, Float, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from doc_pipeline.db.models import Base, utcnow


class EscalationSpend(Base):
    __tablename__ = "escalation_spend"
    __table_args__ = (Index("ix_escalation_spend_day", "day"), Index("ix_escalation_spend_doc", "doc_id"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # no FK to documents: money spent stays on the books when a document is deleted
    doc_id: Mapped[str] = mapped_column(String(64))
    vendor: Mapped[str] = mapped_column(String(32))
    pages: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float)
    content_hash: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)  # UTC day the budget is charged to
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


class Ledger(Protocol):
    def pages_spent_on(self, day: date) -> int: ...

    def pages_spent_for(self, doc_id: str) -> int: ...

    def record(self, doc_id: str, vendor: str, pages: int, cost_usd: float, content_hash: str,
               day: date | None = None) -> None: ...


class BudgetLedger:
    """The ledger on the metadata DB (doc_pipeline.db.Database)."""

    def __init__(self, database):
        self.database = database

    def pages_spent_on(self, day: date) -> int:
        with self.database.session() as s:
            return int(s.scalar(select(func.coalesce(func.sum(EscalationSpend.pages), 0))
                                .where(EscalationSpend.day == day)) or 0)

    def pages_spent_for(self, doc_id: str) -> int:
        with self.database.session() as s:
            return int(s.scalar(select(func.coalesce(func.sum(EscalationSpend.pages), 0))
                                .where(EscalationSpend.doc_id == doc_id)) or 0)

    def cost_on(self, day: date) -> float:
        with self.database.session() as s:
            return float(s.scalar(select(func.coalesce(func.sum(EscalationSpend.cost_usd), 0.0))
                                  .where(EscalationSpend.day == day)) or 0.0)

    def record(self, doc_id: str, vendor: str, pages: int, cost_usd: float, content_hash: str,
               day: date | None = None) -> None:
        with self.database.session() as s:
            s.add(EscalationSpend(doc_id=doc_id, vendor=vendor, pages=pages, cost_usd=round(cost_usd, 6),
                                  content_hash=content_hash, day=day or utc_today()))

    def rows(self, doc_id: str | None = None) -> list[EscalationSpend]:
        with self.database.session() as s:
            q = select(EscalationSpend).order_by(EscalationSpend.id)
            if doc_id:
                q = q.where(EscalationSpend.doc_id == doc_id)
            return list(s.scalars(q))


class MemoryLedger:
    """In-memory ledger (tests, dry runs)."""

    def __init__(self):
        self.entries: list[dict] = []

    def pages_spent_on(self, day: date) -> int:
        return sum(e["pages"] for e in self.entries if e["day"] == day)

    def pages_spent_for(self, doc_id: str) -> int:
        return sum(e["pages"] for e in self.entries if e["doc_id"] == doc_id)

    def record(self, doc_id: str, vendor: str, pages: int, cost_usd: float, content_hash: str,
               day: date | None = None) -> None:
        self.entries.append({"doc_id": doc_id, "vendor": vendor, "pages": pages, "cost_usd": cost_usd,
                             "content_hash": content_hash, "day": day or utc_today()})
