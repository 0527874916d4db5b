"""Prometheus metrics computed from the metadata DB at scrape time, so the figures are right whichever process
(Dagster run worker, sensor, API replica) did the work."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import and_, case, func, or_, select

from doc_pipeline.db import Document, StepCheckpoint

BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


class PipelineCollector(Collector):
    def __init__(self, database_getter):
        self._db = database_getter  # called per scrape: settings may change (tests) and the DB may be down

    def collect(self):
        db = self._db()
        with db.session() as s:
            by_status = dict(s.execute(select(Document.status, func.count()).group_by(Document.status)).all())
            processed = by_status.get("done", 0)
            flagged = s.scalar(select(func.count()).select_from(Document)
                               .where(Document.flagged.is_(True), Document.status == "done")) or 0
            ocr_failed_ids = select(StepCheckpoint.doc_id).where(StepCheckpoint.step == "ocr_text",
                                                                 StepCheckpoint.status == "failed")
            ocr_failures = s.scalar(select(func.count()).select_from(Document).where(
                or_(Document.doc_id.in_(ocr_failed_ids),
                    and_(Document.status == "failed", Document.current_step == "ocr_text")))) or 0
            timed = Document.processing_seconds.is_not(None)
            row = s.execute(select(func.count(), func.coalesce(func.sum(Document.processing_seconds), 0.0),
                                   *[func.coalesce(func.sum(case((Document.processing_seconds <= b, 1), else_=0)), 0)
                                     for b in BUCKETS]).where(timed)).one()
        n_timed, sum_seconds, bucket_counts = int(row[0]), float(row[1]), [int(x) for x in row[2:]]

        yield CounterMetricFamily("docs_processed", "Documents processed to the end (status done)", value=processed)
        yield CounterMetricFamily("ocr_failures", "Documents whose ocr_text step failed", value=ocr_failures)
        failed = CounterMetricFamily("docpipe_documents_failed", "Documents that ended failed", value=by_status.get("failed", 0))
        yield failed
        g = GaugeMetricFamily("docpipe_documents", "Documents by status", labels=["status"])
        for status, n in sorted(by_status.items()):
            g.add_metric([status], n)
        yield g
        yield GaugeMetricFamily("avg_processing_seconds", "Mean end-to-end processing seconds per document",
                                value=sum_seconds / n_timed if n_timed else 0.0)
        yield GaugeMetricFamily("percent_flagged_for_review", "Share of processed documents flagged for review (%)",
                                value=100.0 * flagged / processed if processed else 0.0)
        yield HistogramMetricFamily("docpipe_processing_seconds", "End-to-end processing seconds per document",
                                    buckets=[(str(b), c) for b, c in zip(BUCKETS, bucket_counts)] + [("+Inf", n_timed)],
                                    sum_value=sum_seconds)
