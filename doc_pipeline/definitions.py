"""The Dagster code location: `dagster dev -w workspace.yaml` or `dagster definitions validate -m doc_pipeline.definitions`."""

from dagster import Definitions, in_process_executor, load_assets_from_modules

from doc_pipeline.assets import (field_model, fields, index_docs, layout_blocks, ocr_text, page_images, raw_pdf,
                                 tables)
from doc_pipeline.jobs import document_job
from doc_pipeline.resources import DocPipelineResource
from doc_pipeline.sensors import canceled_runs_sensor, raw_files_sensor, reprocess_sensor

defs = Definitions(
    assets=load_assets_from_modules([raw_pdf, page_images, layout_blocks, ocr_text, tables, fields, index_docs,
                                     field_model]),
    jobs=[document_job],
    sensors=[raw_files_sensor, reprocess_sensor, canceled_runs_sensor],
    resources={"docpipe": DocPipelineResource()},
    executor=in_process_executor,
)
