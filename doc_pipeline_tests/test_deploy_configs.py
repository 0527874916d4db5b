"""The production configuration files load and validate: dagster.yaml (against a real Postgres), the
docker-compose file (docker-compose config), the Kubernetes manifests (kubernetes-validate, strict), the Helm
values (our JSON schema), the Grafana dashboard, and sample_env.sh against the settings classes.

Nothing here starts containers or a cluster: no Docker engine, no Kubernetes and no OpenSearch exist here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
K8S = ROOT / "deploy" / "k8s"
HELM = ROOT / "deploy" / "helm"
K8S_VERSION = "1.30.0"  # oldest Kubernetes we claim to support

PG = dict(host="127.0.0.1", port=5432, user="postgres", password="")


# ---------------------------------------------------------------------------------------------------------
# dagster.yaml


@pytest.fixture
def throwaway_pg_db(pg_url, pg_server):
    """A fresh database on the test Postgres (conftest), as its name; PG points at that server."""
    PG.update(host=pg_server[0], port=pg_server[1], user=pg_server[2])
    return pg_url.rsplit("/", 1)[1]


def test_production_dagster_yaml_loads_with_postgres(tmp_path, monkeypatch, throwaway_pg_db):
    from dagster import DagsterInstance
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres import PostgresRunStorage, PostgresScheduleStorage

    from doc_pipeline.dagster_postgres_storage import CachedPostgresEventLogStorage

    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    monkeypatch.setenv("DAGSTER_PG_HOST", PG["host"])
    monkeypatch.setenv("DAGSTER_PG_PORT", str(PG["port"]))
    monkeypatch.setenv("DAGSTER_PG_USER", PG["user"])
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", PG["password"])
    monkeypatch.setenv("DAGSTER_PG_DB", throwaway_pg_db)
    instance = DagsterInstance.get()
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, CachedPostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        # the database named by the env var is the one in use, and it really stores things
        for storage in (instance.run_storage, instance.event_log_storage, instance.schedule_storage):
            assert f"/{throwaway_pg_db}" in storage.postgres_url
        instance.run_storage.set_cursor_values({"docpipe/test": "ok"})
        assert instance.run_storage.get_cursor_values({"docpipe/test"}) == {"docpipe/test": "ok"}
        assert instance.get_runs_count() == 0

        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        assert queue.max_concurrent_runs == 8
        assert instance.run_coordinator.dequeue_interval_seconds == 1  # runs of a burst follow each other
        assert {"key": "docpipe/paid_ocr", "value": "true", "limit": 2} in queue.tag_concurrency_limits
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert instance.run_retries_retry_on_asset_or_op_failure is False
        assert instance.telemetry_enabled is False
    finally:
        instance.dispose()


def test_production_dagster_yaml_requires_env_vars(tmp_path, monkeypatch):
    from dagster import DagsterInstance
    from dagster._core.errors import DagsterInvalidConfigError

    shutil.copy(ROOT / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    for v in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"):
        monkeypatch.delenv(v, raising=False)
    with pytest.raises(DagsterInvalidConfigError, match="DAGSTER_PG_"):
        DagsterInstance.get()


def _commented_block(text: str, marker: str) -> dict:
    """Uncomment the `# run_launcher:` block that follows `marker` and parse it."""
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if marker in ln)
    begin = next(i for i in range(start, len(lines)) if lines[i].startswith("# run_launcher:"))
    block = []
    for ln in lines[begin:]:
        if not ln.startswith("# ") or (block and ln.strip() == "#"):
            break
        block.append(ln[2:])
    return yaml.safe_load("\n".join(block))


@pytest.mark.parametrize("marker,module,cls", [
    ("# Docker:", "dagster_docker", "DockerRunLauncher"),
    ("# Kubernetes:", "dagster_k8s.launcher", "K8sRunLauncher"),
])
def test_commented_run_launcher_choices_are_valid_yaml(marker, module, cls):
    block = _commented_block((ROOT / "dagster.yaml").read_text(), marker)["run_launcher"]
    assert block["module"] == module and block["class"] == cls
    assert isinstance(block["config"], dict) and block["config"]


def test_no_secrets_in_dagster_yaml():
    doc = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    for storage in ("run_storage", "event_log_storage", "schedule_storage"):
        db = doc[storage]["config"]["postgres_db"]
        for key in ("hostname", "port", "username", "password", "db_name"):
            assert set(db[key]) == {"env"}, f"{storage}: {key} must come from an environment variable"


# ---------------------------------------------------------------------------------------------------------
# docker


def _compose_binary() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def _compose_config(env_file: str | None) -> subprocess.CompletedProcess:
    binary = _compose_binary()
    if binary is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed: cannot run "
                    "`docker-compose config` (apt-get install -y docker-compose)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCPIPE_", "POSTGRES_", "MINIO_", "AWS_"))}
    if env_file:
        env["DOCPIPE_ENV_FILE"] = env_file
    return subprocess.run([*binary, "-p", "docpipe", "-f", str(DOCKER / "docker-compose.yml"), "config"],
                          capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture(scope="module")
def compose() -> dict:
    proc = _compose_config("docpipe.env.example")
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def test_compose_config_is_valid_and_complete(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "minio", "minio-init", "opensearch", "migrate", "code-server",
                             "webserver", "daemon", "api"}
    for name in ("postgres", "minio", "opensearch", "code-server", "webserver", "daemon", "api"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    dep = {name: {k: v["condition"] for k, v in s.get("depends_on", {}).items()} for name, s in services.items()}
    assert dep["migrate"] == {"postgres": "service_healthy"}
    assert dep["minio-init"] == {"minio": "service_healthy"}
    assert dep["code-server"] == {"migrate": "service_completed_successfully",
                                  "minio-init": "service_completed_successfully", "opensearch": "service_healthy"}
    assert dep["api"]["migrate"] == "service_completed_successfully"
    assert dep["daemon"]["code-server"] == dep["webserver"]["code-server"] == "service_healthy"
    assert services["migrate"]["command"] == ["doc-pipeline", "migrate"]
    assert services["code-server"]["command"] == ["dagster", "code-server", "start", "-m", "doc_pipeline.definitions",
                                                  "-h", "0.0.0.0", "-p", "4000"]
    assert {"pgdata", "miniodata", "osdata"} <= set(compose["volumes"])


def test_compose_pipeline_env(compose):
    api_env = compose["services"]["api"]["environment"]
    for name in ("code-server", "daemon", "webserver", "migrate"):
        assert compose["services"][name]["environment"] == api_env
    assert api_env["DOCPIPE_STORAGE"] == "s3"
    assert api_env["DOCPIPE_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert api_env["DOCPIPE_SEARCH_BACKEND"] == "opensearch"
    assert api_env["DOCPIPE_OPENSEARCH_URL"] == "http://opensearch:9200"
    assert api_env["DAGSTER_PG_DB"] == "dagster"
    # secrets arrive from the env file (placeholders here), and the DB URL points at the compose Postgres
    assert api_env["DOCPIPE_JWT_SECRET"].startswith("change-me")
    assert api_env["DOCPIPE_DATABASE_URL"].endswith("@postgres:5432/docpipe")
    assert api_env["AWS_SECRET_ACCESS_KEY"] == api_env["MINIO_ROOT_PASSWORD"]
    os_env = compose["services"]["opensearch"]["environment"]
    assert os_env["discovery.type"] == "single-node" and os_env["DISABLE_SECURITY_PLUGIN"] == "true"


def test_compose_fails_without_the_secrets_env_file():
    proc = _compose_config("does-not-exist.env")
    assert proc.returncode != 0
    assert "does-not-exist.env" in (proc.stderr + proc.stdout)


def test_compose_file_holds_no_secrets_and_pins_images():
    text = (DOCKER / "docker-compose.yml").read_text()
    doc = yaml.safe_load(text)
    assert "change-me" not in text
    for name, svc in doc["services"].items():
        env = svc.get("environment", {})
        for key, value in (env.items() if isinstance(env, dict) else []):
            if re.search(r"PASSWORD|SECRET|ACCESS_KEY|JWT", key):
                pytest.fail(f"{name}: secret-looking variable {key} set in the compose file: use the env file")
        image = svc.get("image", "")
        if image and not image.startswith("${"):
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image tag ({image})"


def test_env_example_lists_every_secret_with_placeholders():
    pairs = dict(ln.split("=", 1) for ln in (DOCKER / "docpipe.env.example").read_text().splitlines()
                 if ln and not ln.startswith("#"))
    assert set(pairs) == {"POSTGRES_PASSWORD", "DAGSTER_PG_PASSWORD", "DOCPIPE_DATABASE_URL", "MINIO_ROOT_USER",
                          "MINIO_ROOT_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                          "DOCPIPE_JWT_SECRET", "DOCPIPE_WEBHOOK_SECRET"}
    for key in ("POSTGRES_PASSWORD", "DAGSTER_PG_PASSWORD", "MINIO_ROOT_PASSWORD", "DOCPIPE_JWT_SECRET",
                "DOCPIPE_WEBHOOK_SECRET", "AWS_SECRET_ACCESS_KEY"):
        assert pairs[key].startswith("change-me"), f"{key} must be an obvious placeholder"
    assert "docpipe.env" in (DOCKER / ".gitignore").read_text().split()


def _dockerfile(name: str) -> str:
    return (DOCKER / name).read_text()


@pytest.mark.parametrize("name", ["Dockerfile.api", "Dockerfile.worker"])
def test_dockerfiles_pinned_base_and_non_root(name):
    text = _dockerfile(name)
    assert "ARG PYTHON_IMAGE=python:3.11-slim-bookworm" in text and "FROM ${PYTHON_IMAGE}" in text
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "pip install --no-deps -e ." in text and "COPY sql ./sql" in text  # migrations ship with the code
    assert (DOCKER / f"{name}.dockerignore").exists()
    assert re.search(r"^\s+PYTHONUTF8=1 \\$", text, re.M)  # file encoding independent of the C locale


def test_worker_dockerfile_has_ocr_system_packages():
    text = _dockerfile("Dockerfile.worker")
    for pkg in ("tesseract-ocr", "tesseract-ocr-eng", "tesseract-ocr-osd", "ghostscript", "qpdf", "poppler-utils",
                "unpaper"):
        assert re.search(rf"\s{re.escape(pkg)}(\s|\\)", text), pkg
    assert "OMP_THREAD_LIMIT=1" in text
    prefix = re.search(r"TESSDATA_PREFIX=(\S+)", text).group(1)
    assert prefix == "/usr/share/tesseract-ocr/5/tessdata"
    if Path("/etc/debian_version").read_text().startswith("12"):  # same Debian release as the image
        assert (Path(prefix) / "eng.traineddata").exists()
    assert '"dagster", "code-server", "start", "-m", "doc_pipeline.definitions"' in text


def test_worker_image_compiles_the_models_into_its_cache(tmp_path):
    """The worker image runs the layout model and RapidOCR once at build time so that their compiled OpenVINO
    models ship in DOCPIPE_MODEL_CACHE_DIR (owned by the runtime user). The Dockerfile's own command, run here."""
    import os
    import subprocess
    import sys

    text = _dockerfile("Dockerfile.worker")
    cache = re.search(r"DOCPIPE_MODEL_CACHE_DIR=(\S+)", text).group(1)
    assert re.search(rf"chown -R docpipe:docpipe [^\n]*\$\{{DOCPIPE_MODEL_CACHE_DIR\}}", text), "runtime user owns it"
    joined = text.replace("\\\n", "")  # the shell sees one line per RUN
    snippet = re.search(r'RUN DOCPIPE_HOME=\S+ python -c "([^"]+)"', joined).group(1)
    env = {**os.environ, "DOCPIPE_HOME": str(tmp_path / "home"), "DOCPIPE_MODEL_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", snippet], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "models compiled" in out.stdout, out.stderr[-2000:]
    blobs = list((tmp_path / "cache").rglob("*.blob"))
    assert len(blobs) >= 4, "layout + PP-OCR det/rec/cls blobs"
    assert {b.parent.name for b in blobs} <= {"f32", "bf16"}, "one folder per precision (core.inference)"
    assert list((tmp_path / "cache").glob("lexicon-*.txt")), "Tesseract's word list, decoded once"
    assert cache.startswith("/")


def test_grafana_dashboard():
    dash = json.loads((DOCKER / "grafana-dashboard.json").read_text())
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
    for metric in ("docs_processed_total", "ocr_failures_total", "avg_processing_seconds",
                   "percent_flagged_for_review", "docpipe_processing_seconds_bucket"):
        assert metric in exprs
    assert "histogram_quantile(0.95" in exprs
    assert "sum(" not in exprs  # every API replica reports the same DB-wide numbers: aggregate with max()
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    assert dash["uid"] and dash["templating"]["list"][0]["type"] == "datasource"


# ---------------------------------------------------------------------------------------------------------
# Kubernetes manifests and Helm values


def _k8s_docs() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((path.name, doc))
    return out


def test_k8s_manifests_validate_strictly():
    kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    docs = _k8s_docs()
    kinds = {d["kind"] for _, d in docs}
    assert {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "Job"} <= kinds
    for name, doc in docs:
        kv.validate(doc, K8S_VERSION, strict=True)  # raises ValidationError with the path of the problem


def test_k8s_validator_rejects_a_broken_manifest():
    kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    deploy = next(d for _, d in _k8s_docs() if d["kind"] == "Deployment")
    broken = json.loads(json.dumps(deploy))
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["pathh"] = "/health"
    with pytest.raises(kv.ValidationError):
        kv.validate(broken, K8S_VERSION, strict=True)


def test_k8s_api_wiring():
    docs = {(d["kind"], d["metadata"]["name"]): d for _, d in _k8s_docs()}
    deploy = docs[("Deployment", "docpipe-api")]
    pod = deploy["spec"]["template"]
    container = pod["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/health"
    env_from = {next(iter(k for k in e if k.endswith("Ref"))): next(iter(e.values()))["name"] for e in container["envFrom"]}
    assert ("ConfigMap", env_from["configMapRef"]) in docs  # the ConfigMap we ship
    assert env_from["secretRef"] == "docpipe-secrets"  # created outside git
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    svc = docs[("Service", "docpipe-api")]
    assert svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    hpa = docs[("HorizontalPodAutoscaler", "docpipe-api")]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "docpipe-api"}
    assert hpa["spec"]["minReplicas"] >= 2
    assert docs[("Job", "docpipe-migrate")]["spec"]["template"]["spec"]["containers"][0]["command"] == \
        ["doc-pipeline", "migrate"]
    config = docs[("ConfigMap", "docpipe-config")]["data"]
    assert not [k for k in config if re.search(r"PASSWORD|SECRET|DATABASE_URL", k)], "secrets belong in the Secret"


@pytest.fixture(scope="module")
def helm_values() -> dict:
    return yaml.safe_load((HELM / "values.yaml").read_text())


@pytest.fixture(scope="module")
def helm_schema() -> dict:
    schema = json.loads((HELM / "values.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def test_helm_values_match_schema(helm_values, helm_schema):
    errors = sorted(jsonschema.Draft202012Validator(helm_schema).iter_errors(helm_values), key=str)
    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)
    ucd = helm_values["dagster-user-deployments"]["deployments"][0]
    assert ucd["codeServerArgs"] == ["-m", "doc_pipeline.definitions"]
    assert helm_values["runLauncher"]["type"] == "K8sRunLauncher"
    assert helm_values["postgresql"]["enabled"] is False
    limits = helm_values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert {"key": "docpipe/paid_ocr", "value": "true", "limit": 2} in limits
    # the ConfigMap the run pods and code server read is the one shipped in deploy/k8s
    shipped = {d["metadata"]["name"] for _, d in _k8s_docs() if d["kind"] == "ConfigMap"}
    assert {m["name"] for m in ucd["envConfigMaps"]} <= shipped
    assert {m["name"] for m in helm_values["runLauncher"]["config"]["k8sRunLauncher"]["envConfigMaps"]} <= shipped


@pytest.mark.parametrize("path,value", [
    (("postgresql", "enabled"), True),
    (("postgresql", "postgresqlPassword"), "hunter2"),
    (("dagster-user-deployments", "deployments", 0, "image", "tag"), "latest"),
    (("runLauncher", "type"), "CeleryK8sRunLauncher"),
    (("dagsterDaemon", "runCoordinator", "config", "queuedRunCoordinator", "maxConcurrentRun"), 5),
    (("telemetry", "enabled"), True),
])
def test_helm_schema_rejects_wrong_values(helm_values, helm_schema, path, value):
    broken = json.loads(json.dumps(helm_values))
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert list(jsonschema.Draft202012Validator(helm_schema).iter_errors(broken))


# ---------------------------------------------------------------------------------------------------------
# environment variable reference


def _documented_vars() -> set[str]:
    return set(re.findall(r"^# export ([A-Z][A-Z0-9_]*)=", (ROOT / "sample_env.sh").read_text(), re.M))


def _settings_vars() -> set[str]:
    from doc_pipeline.auth import AuthSettings
    from doc_pipeline.notify import WebhookSettings
    from doc_pipeline.settings import Settings

    names = set()
    for cls in (Settings, AuthSettings, WebhookSettings):
        prefix = cls.model_config["env_prefix"]
        names |= {f"{prefix}{f}".upper() for f in cls.model_fields}
    return names


def test_sample_env_documents_every_setting():
    missing = _settings_vars() - _documented_vars()
    assert not missing, f"add to sample_env.sh: {sorted(missing)}"


def test_deploy_files_use_only_known_docpipe_variables():
    known = _settings_vars() | _documented_vars()
    used = set()
    for path in (DOCKER / "docker-compose.yml", DOCKER / "docpipe.env.example", K8S / "configmap.yaml"):
        used |= set(re.findall(r"\b(DOCPIPE_[A-Z0-9_]+)\b", path.read_text()))
    used -= {"DOCPIPE_ENV_FILE", "DOCPIPE_WORKER_IMAGE", "DOCPIPE_API_IMAGE"}  # compose's own knobs
    assert not used - known, f"typo or undocumented variable: {sorted(used - known)}"


def test_embedded_instance_queues_one_run_more_than_cores_and_dequeues_every_second(docpipe_home):
    """A burst's runs overlap one run's process start-up with the others' work (docs/PERFORMANCE.md)."""
    import os

    from dagster import DagsterInstance
    from dagster._core.run_coordinator import QueuedRunCoordinator

    from doc_pipeline.instance import ensure_dagster_home

    ensure_dagster_home()
    instance = DagsterInstance.get()
    try:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == (os.cpu_count() or 1) + 1
        # a burst is spread over one run per core (measured faster than cores + 1); the spare slot is for retries
        from doc_pipeline.settings import get_settings

        assert get_settings().run_slots_resolved == (os.cpu_count() or 1)
        assert instance.run_coordinator.dequeue_interval_seconds == 1
        # a burst's runs are launched side by side, not one spawned process after the other
        assert instance.run_coordinator.dequeue_use_threads
    finally:
        instance.dispose()


def test_production_and_helm_run_coordinators_launch_runs_side_by_side(helm_values):
    dagster_yaml = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert dagster_yaml["run_coordinator"]["config"]["dequeue_use_threads"] is True
    assert helm_values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["dequeueUseThreads"]


def test_run_slots_match_each_deployments_concurrent_run_limit(compose, helm_values):
    """The raw/ sensor spreads a burst over DOCPIPE_RUN_SLOTS runs: it must be the run coordinator's limit, or a
    burst leaves run slots idle (too few runs) or starts more run processes than can run."""
    dagster_yaml = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    assert int(compose["services"]["daemon"]["environment"]["DOCPIPE_RUN_SLOTS"]) == \
        dagster_yaml["run_coordinator"]["config"]["max_concurrent_runs"]
    config = yaml.safe_load((ROOT / "deploy" / "k8s" / "configmap.yaml").read_text())["data"]
    assert int(config["DOCPIPE_RUN_SLOTS"]) == helm_values["dagsterDaemon"]["runCoordinator"]["config"][
        "queuedRunCoordinator"]["maxConcurrentRuns"]
    # a k8s run is its own pod with its own cores; compose runs are processes on one host
    assert config["DOCPIPE_RUNS_SHARE_CORES"] == "false"
    assert compose["services"]["daemon"]["environment"].get("DOCPIPE_RUNS_SHARE_CORES", "true") == "true"


def test_deployments_turn_on_dagsters_batched_event_writes(helm_values):
    """The compose env and the k8s ConfigMap (read by code server, run pods and the daemon that creates the runs)
    set DAGSTER_EVENT_BATCH_SIZE (docs/PERFORMANCE.md item 58)."""
    compose = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    configmap = yaml.safe_load((K8S / "configmap.yaml").read_text())
    assert int(compose["x-docpipe-env"]["DAGSTER_EVENT_BATCH_SIZE"]) > 0
    assert int(configmap["data"]["DAGSTER_EVENT_BATCH_SIZE"]) > 0
    assert {"name": configmap["metadata"]["name"]} in helm_values["dagsterDaemon"]["envConfigMaps"]
