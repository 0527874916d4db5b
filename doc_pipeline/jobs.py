from dagster import AssetSelection, define_asset_job, in_process_executor

# in-process: one interpreter per run with models loaded once, instead of a new process per step
document_job = define_asset_job(
    "process_document", selection=AssetSelection.groups("ingest", "understand", "extract", "publish"),
    executor_def=in_process_executor,
    description="Every stage for one document partition.")
