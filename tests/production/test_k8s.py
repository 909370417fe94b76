"""Kubernetes: the Job specs dagster-k8s would launch for our steps, and the Helm values.

No cluster: the specs are built by dagster-k8s's own pieces, in the order its step handler
(``K8sStepHandler._get_container_context`` then ``launch_step``) uses them: the run launcher as
the chart configures it, the code location's container context (image, env, secrets, volumes,
passed to runs by ``includeConfigInLaunchedRuns``), then the step's ``dagster-k8s/config`` tag.
Every Job built, and the Kubernetes-typed parts of the Helm values, are checked offline against
the Kubernetes API schema that kubernetes-validate bundles.
"""

from pathlib import Path

import dagster as dg
import kubernetes_validate
import pytest
import yaml
from dagster_k8s import K8sRunLauncher
from kubernetes.client import ApiClient

from factory_assets.execution import GPU_NODE_SELECTOR
from factory_assets.private_api import first_step, job_origin, k8s_step_job
from tests.conftest import ROOT

VALUES = yaml.safe_load((ROOT / "deploy" / "k8s" / "values.yaml").read_text())
DEPLOYMENT = VALUES["dagster-user-deployments"]["deployments"][0]
IMAGE = "registry.example.com/factory/factory:0123abc"
PYTHON = "/usr/local/bin/python"  # the image's interpreter, as its code server reports it
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: none}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""
# The Kubernetes API the manifests must satisfy: 1.36, the API of the pinned kubernetes client
# (36.x; dagster-k8s builds its V1Job models with it), and 1.37, the newest schema that
# kubernetes-validate 1.37.0 bundles. Strict: a field the API does not know is an error, because
# the API server would drop it silently (a misspelt nodeSelector schedules the pod anywhere).
K8S_VERSIONS = ("1.36", "1.37")


def _k8s_errors(manifest: dict) -> list[str]:
    """The first schema error of ``manifest`` under each of K8S_VERSIONS; empty when it is valid."""
    errors = []
    for version in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            errors.append(f"{version} {where}: {error.message}")
    return errors


def _manifest(job) -> dict:  # noqa: ANN001 (V1Job)
    """The Job as dagster-k8s sends it to the API server (camelCase keys, no nulls)."""
    return ApiClient().sanitize_for_serialization(job)


def _launcher(tmp_path: Path) -> K8sRunLauncher:
    """The run launcher as the chart writes it into the instance from values.yaml."""
    config = VALUES["runLauncher"]["config"]["k8sRunLauncher"]
    camel = {"containerConfig", "podSpecConfig", "jobSpecConfig"}
    run_k8s_config = {
        "".join("_" + c.lower() if c.isupper() else c for c in key): value
        for key, value in config["runK8sConfig"].items()
        if key in camel
    }
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    return K8sRunLauncher(
        service_account_name="factory-dagster",
        instance_config_map="factory-dagster-instance",
        postgres_password_secret=VALUES["global"]["postgresqlSecretName"],
        dagster_home=VALUES["global"]["dagsterHome"],
        load_incluster_config=False,  # a dummy kubeconfig: nothing is contacted
        kubeconfig_file=str(tmp_path / "kubeconfig"),
        job_namespace="factory",
        env_secrets=[s["name"] for s in config["envSecrets"]],
        run_k8s_config=run_k8s_config,
    )


def _run(job_name: str) -> dg.DagsterRun:
    """A run of our code location as the user code deployment reports its origin."""
    container_context = {
        "k8s": {
            "env": DEPLOYMENT["env"],
            "env_secrets": [s["name"] for s in DEPLOYMENT["envSecrets"]],
            "volumes": DEPLOYMENT["volumes"],
            "volume_mounts": DEPLOYMENT["volumeMounts"],
        }
    }
    module = DEPLOYMENT["dagsterApiGrpcArgs"][1]
    origin = job_origin(
        job_name, module, python=PYTHON, image=IMAGE, container_context=container_context
    )
    return dg.DagsterRun(job_name=job_name, job_code_origin=origin)


def _step_job(defs: dg.Definitions, asset: str, tmp_path: Path):  # noqa: ANN202 (V1Job)
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(asset)}
    )
    return k8s_step_job(_run(job.name), first_step(job), _launcher(tmp_path), IMAGE)


def _common(job) -> tuple:  # noqa: ANN001
    assert _k8s_errors(_manifest(job)) == []
    pod = job.spec.template.spec
    container = pod.containers[0]
    assert container.image == IMAGE
    assert list(container.args[:5]) == [PYTHON, "-m", "dagster", "api", "execute_step"]
    assert "factory-env" in {e.secret_ref.name for e in container.env_from if e.secret_ref}
    env = {e.name: e for e in container.env}
    assert env["FACTORY_EXECUTOR"].value == "k8s"
    assert env["DAGSTER_PG_PASSWORD"].value_from.secret_key_ref.name == "dagster-postgresql-secret"
    assert {v.name for v in pod.volumes} >= {"factory-data"}
    return pod, container


def test_training_step_gets_a_gpu_node(defs, tmp_path) -> None:  # noqa: ANN001
    pod, container = _common(_step_job(defs, "flights_model", tmp_path))
    assert container.resources.limits["nvidia.com/gpu"] == "1"
    assert container.resources.requests["nvidia.com/gpu"] == "1"
    assert container.resources.requests["memory"] == "16Gi"
    assert pod.node_selector == GPU_NODE_SELECTOR
    assert any(t.key == "nvidia.com/gpu" for t in pod.tolerations)


@pytest.mark.parametrize("asset", ["raw_flights", "fct_flights"])
def test_ingest_and_dbt_steps_stay_small_on_any_node(defs, tmp_path, asset) -> None:  # noqa: ANN001
    pod, container = _common(_step_job(defs, asset, tmp_path))
    resources = {**container.resources.requests, **container.resources.limits}
    assert "nvidia.com/gpu" not in resources
    assert container.resources.requests == {"cpu": "500m", "memory": "1Gi"}
    assert not pod.node_selector and not pod.tolerations


def _container(manifest: dict) -> dict:
    return manifest["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("breakage", "where"),
    [
        (lambda job: _container(job).pop("name"), "spec.template.spec.containers.0:"),
        (lambda job: job["spec"].update(backoffLimit="never"), "spec.backoffLimit:"),
        (lambda job: _container(job)["resources"].update(limits=["1"]), "resources.limits:"),
        (
            lambda job: job["spec"]["template"]["spec"].update(nodeSelecter={"gpu": "true"}),
            "spec.template.spec: Additional properties",
        ),
    ],
    ids=["container-without-name", "backoff-limit-not-int", "limits-not-map", "unknown-field"],
)
def test_a_broken_job_manifest_is_rejected(defs, tmp_path, breakage, where) -> None:  # noqa: ANN001
    manifest = _manifest(_step_job(defs, "raw_flights", tmp_path))
    breakage(manifest)
    errors = _k8s_errors(manifest)
    assert len(errors) == len(K8S_VERSIONS), errors
    assert all(where in error for error in errors), errors


def _values_manifests(values: dict) -> dict[str, dict]:
    """The Kubernetes-typed values of each chart component, in the objects the chart renders.

    The chart's own ``values.schema.json`` is not in any package and is not vendored here; the
    fields it types as Kubernetes objects (EnvVar, Volume, VolumeMount, ResourceRequirements,
    SecretEnvSource, and the run launcher's ``runK8sConfig`` pieces) are checked against the
    Kubernetes schema instead, each placed where the chart and dagster-k8s put it.
    """

    def pod(name: str, component: dict) -> dict:
        container = {
            "name": name,
            "image": IMAGE,
            "env": component.get("env", []),
            "envFrom": [{"secretRef": secret} for secret in component.get("envSecrets", [])],
            "resources": component.get("resources", {}),
            "volumeMounts": component.get("volumeMounts", []),
        }
        spec = {"containers": [container], "volumes": component.get("volumes", [])}
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}

    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    run_config = launcher["runK8sConfig"]
    run_pod = pod("run-worker", launcher)["spec"]
    run_pod["containers"][0].update(run_config.get("containerConfig", {}))
    run_pod.update(run_config.get("podSpecConfig", {}), restartPolicy="Never")
    run_job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "run-worker"},
        "spec": {**run_config.get("jobSpecConfig", {}), "template": {"spec": run_pod}},
    }
    manifests = {
        "webserver": pod("webserver", values["dagsterWebserver"]),
        "daemon": pod("daemon", values["dagsterDaemon"]),
        "run-worker": run_job,
    }
    for deployment in values["dagster-user-deployments"]["deployments"]:
        manifests[deployment["name"]] = pod(deployment["name"], deployment)
    return manifests


def test_helm_values_fit_the_kubernetes_schema() -> None:
    manifests = _values_manifests(VALUES)
    assert set(manifests) == {"webserver", "daemon", "run-worker", "factory"}
    assert {name: _k8s_errors(manifest) for name, manifest in manifests.items()} == {
        name: [] for name in manifests
    }


def test_a_misspelt_helm_value_is_rejected() -> None:
    values = yaml.safe_load((ROOT / "deploy" / "k8s" / "values.yaml").read_text())
    values["dagster-user-deployments"]["deployments"][0]["volumeMounts"][0]["mountpath"] = "/x"
    values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["jobSpecConfig"] = {
        "ttlSecondsAfterFinished": "1d"
    }
    errors = {name: _k8s_errors(manifest) for name, manifest in _values_manifests(values).items()}
    assert all("volumeMounts.0: Additional properties" in error for error in errors["factory"])
    assert all("spec.ttlSecondsAfterFinished: '1d'" in error for error in errors["run-worker"])
    assert errors["webserver"] == errors["daemon"] == []


def test_factory_executor_selects_step_pods(monkeypatch) -> None:  # noqa: ANN001
    from factory_assets.defs.resources import executor

    assert executor().name == "multiprocess"
    monkeypatch.setenv("FACTORY_EXECUTOR", "k8s")
    assert executor().name == "k8s"
    monkeypatch.setenv("FACTORY_EXECUTOR", "in_process")
    assert executor().name == "in_process"


def test_helm_values_name_what_the_cluster_needs() -> None:
    assert DEPLOYMENT["dagsterApiGrpcArgs"] == ["--module-name", "factory_assets.definitions"]
    assert DEPLOYMENT["image"]["repository"].endswith("/factory")
    assert DEPLOYMENT["includeConfigInLaunchedRuns"]["enabled"] is True
    assert {"name": "FACTORY_EXECUTOR", "value": "k8s"} in DEPLOYMENT["env"]
    assert VALUES["runLauncher"]["type"] == "K8sRunLauncher"
    assert VALUES["postgresql"]["enabled"] is False and VALUES["postgresql"]["postgresqlHost"]
    assert not VALUES["postgresql"]["postgresqlPassword"]  # the password lives in a secret
    daemon = VALUES["dagsterDaemon"]
    assert daemon["enabled"] and daemon["runMonitoring"]["enabled"]
    assert daemon["runMonitoring"]["freeSlotsAfterRunEndSeconds"] > 0
    assert daemon["runCoordinator"]["type"] == "QueuedRunCoordinator"
    assert daemon["runCoordinator"]["config"]["queuedRunCoordinator"]["maxConcurrentRuns"] == 4
    assert VALUES["concurrency"]["pools"]["defaultLimit"] == 1
    assert VALUES["telemetry"]["enabled"] is False


def test_production_instance_keeps_the_embedded_pools_and_secrets_out() -> None:
    embedded = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    prod = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    assert prod["concurrency"]["runs"] == embedded["concurrency"]["runs"]
    pools, same = prod["concurrency"]["pools"], embedded["concurrency"]["pools"]
    assert {k: pools[k] for k in ("default_limit", "granularity")} == same
    assert prod["telemetry"] == {"enabled": False}
    db = prod["storage"]["postgres"]["postgres_db"]
    assert all(set(value) == {"env"} for value in db.values())  # credentials: env vars only
    assert prod["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert prod["run_monitoring"]["free_slots_after_run_end_seconds"] > 0
    assert "storage" not in embedded  # the default tier stays zero-server: SQLite in its home


def test_helm_values_put_the_lake_catalog_in_postgres_and_its_files_in_object_storage() -> None:
    """The k8s warehouse is a DuckLake: a Postgres catalog (password from libpq's PGPASSWORD in
    a secret, never the conninfo) and an s3:// data path; no DuckDB file on a shared volume."""
    from factory_assets.lib.lake import Lake

    env = {e["name"]: e.get("value") for e in DEPLOYMENT["env"]}
    lake = Lake.parse(env["FACTORY_WAREHOUSE"], env["FACTORY_WAREHOUSE_DATA"])
    assert lake.kind == "postgres" and "password" not in lake.catalog
    assert lake.data_path.startswith("s3://")
    assert f"host={VALUES['postgresql']['postgresqlHost']}" in lake.catalog
