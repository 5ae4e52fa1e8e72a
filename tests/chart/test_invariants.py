"""Invariants of the rendered chart, for every values file in ci/."""

import base64
import re
from typing import Any

import pytest

from docqueue.redis_url import is_sentinel_url, parse_sentinel_url
from docqueue_api.settings import ApiSettings
from docqueue_beat.settings import BeatSettings
from docqueue_worker.settings import WorkerSettings
from tests.chart.conftest import ci_values_ids
from tests.chart.render import (
    CHART,
    Resource,
    by_kind,
    env_of,
    is_test_hook,
    named,
    pod_templates,
    render,
)

ALL = pytest.mark.parametrize("stem", ci_values_ids())
# Every values file but the one that switches KEDA off (test_without_keda_the_worker_has_a_cpu_hpa).
WITH_KEDA = pytest.mark.parametrize("stem", [s for s in ci_values_ids() if s != "keda-off-values"])
PRIORITY_SEPARATOR = "\x06\x16"


def container(resources: list[Resource], deployment: str, name: str) -> Resource:
    spec = named(resources, "Deployment", deployment)["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] if c["name"] == name)


@WITH_KEDA
def test_keda_lists_are_exactly_the_queues_the_worker_consumes(
    stem: str, rendered: dict[str, list[Resource]]
) -> None:
    resources = rendered[stem]
    scaled = by_kind(resources, "ScaledObject")
    assert len(scaled) == 1
    worker_env = env_of(container(resources, "docqueue-worker", "worker"))
    queues = worker_env["DOCQUEUE_QUEUES"].split(",")
    lists = [trigger["metadata"]["listName"] for trigger in scaled[0]["spec"]["triggers"]]
    base = [name for name in lists if PRIORITY_SEPARATOR not in name]
    assert base == queues
    for name in lists:
        queue, _, step = name.partition(PRIORITY_SEPARATOR)
        assert queue in queues
        assert step in ("", "3", "6", "9")
    assert scaled[0]["spec"]["scaleTargetRef"]["name"] == "docqueue-worker"


def test_keda_follows_a_changed_queue_value() -> None:
    resources = render(
        sets=["worker.queues={documents,bulk}", "worker.autoscaling.keda.countPriorityLists=true"]
    )
    worker_env = env_of(container(resources, "docqueue-worker", "worker"))
    assert worker_env["DOCQUEUE_QUEUES"] == "documents,bulk"
    lists = [t["metadata"]["listName"] for t in by_kind(resources, "ScaledObject")[0]["spec"]["triggers"]]
    assert lists == [
        f"{q}{suffix}"
        for q in ("documents", "bulk")
        for suffix in ("", "\x06\x163", "\x06\x166", "\x06\x169")
    ]


@WITH_KEDA
def test_keda_reads_the_same_redis_with_the_same_secret(
    stem: str, rendered: dict[str, list[Resource]]
) -> None:
    resources = rendered[stem]
    worker = container(resources, "docqueue-worker", "worker")
    password_ref = env_of(worker)["REDIS_PASSWORD"]["secretKeyRef"]
    auth = named(resources, "TriggerAuthentication", "docqueue-worker")["spec"]["secretTargetRef"]
    assert {"parameter": "password", "name": password_ref["name"], "key": password_ref["key"]} in auth
    url = env_of(worker)["DOCQUEUE_REDIS_URL"]
    triggers = by_kind(resources, "ScaledObject")[0]["spec"]["triggers"]
    if is_sentinel_url(url):
        # The same sentinels and master, through KEDA's redis-sentinel scaler.
        target = parse_sentinel_url(url.replace("$(REDIS_PASSWORD)", "pw"))
        for trigger in triggers:
            assert trigger["type"] == "redis-sentinel"
            assert trigger["metadata"]["addresses"] == ", ".join(f"{h}:{p}" for h, p in target.sentinels)
            assert trigger["metadata"]["sentinelMaster"] == target.master_name
            assert trigger["metadata"]["databaseIndex"] == str(target.db)
        return
    host_port, db = re.match(r"rediss?://[^@]*@([^/]+)/(\d+)", url).groups()  # type: ignore[union-attr]
    for trigger in triggers:
        assert trigger["type"] == "redis"
        assert trigger["metadata"]["address"] == host_port
        assert trigger["metadata"]["databaseIndex"] == db
        assert trigger["authenticationRef"]["name"] == "docqueue-worker"
        assert (trigger["metadata"].get("enableTLS") == "true") == url.startswith("rediss://")


def test_webhooks_are_consumed_exactly_once(rendered: dict[str, list[Resource]]) -> None:
    """The webhooks queue (its list is named `callbacks`): by the webhooks worker (threads) when it
    is on, else by the document workers."""
    for stem, resources in rendered.items():
        consumers = [
            c["name"]
            for _, t in pod_templates(resources)
            for c in t["spec"]["containers"]
            if "callbacks" in str(env_of(c).get("DOCQUEUE_QUEUES", "")).split(",")
        ]
        assert consumers == (["worker"] if stem == "keda-off-values" else ["webhooks"]), stem
    webhooks = container(rendered["default-values"], "docqueue-webhooks", "webhooks")
    assert "--pool=threads" in webhooks["args"]
    with pytest.raises(RuntimeError, match="must not include callbacks"):
        render(sets=["worker.queues={documents,callbacks}"])


def test_without_keda_the_worker_has_a_cpu_hpa(rendered: dict[str, list[Resource]]) -> None:
    resources = rendered["keda-off-values"]
    assert not by_kind(resources, "ScaledObject")
    assert not by_kind(resources, "TriggerAuthentication")
    hpa = named(resources, "HorizontalPodAutoscaler", "docqueue-worker")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "docqueue-worker",
    }
    assert hpa["spec"]["minReplicas"] >= 1
    assert "replicas" not in named(resources, "Deployment", "docqueue-worker")["spec"]


@ALL
def test_the_worker_grace_period_outlasts_its_longest_task(
    stem: str, rendered: dict[str, list[Resource]]
) -> None:
    resources = rendered[stem]
    pod = named(resources, "Deployment", "docqueue-worker")["spec"]["template"]["spec"]
    env = env_of(pod["containers"][0])
    hard_limit_s = int(env["DOCQUEUE_TASK_TIME_LIMIT_S"])
    soft_shutdown_s = int(env["DOCQUEUE_WORKER_SOFT_SHUTDOWN_TIMEOUT_S"])
    assert pod["terminationGracePeriodSeconds"] > hard_limit_s + soft_shutdown_s


def test_the_grace_period_follows_the_time_limit() -> None:
    resources = render(sets=["config.taskSoftTimeLimitSeconds=1700", "config.taskTimeLimitSeconds=1800"])
    pod = named(resources, "Deployment", "docqueue-worker")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > 1800 + 30


def test_unsafe_time_limits_are_refused_at_render_time() -> None:
    with pytest.raises(RuntimeError, match="visibilityTimeoutSeconds must exceed"):
        render(sets=["config.taskTimeLimitSeconds=3500", "config.taskSoftTimeLimitSeconds=3000"])


@ALL
def test_beat_is_a_single_replica_replaced_by_recreate(
    stem: str, rendered: dict[str, list[Resource]]
) -> None:
    resources = rendered[stem]
    beat = named(resources, "Deployment", "docqueue-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    targets = [
        r["spec"]["scaleTargetRef"]["name"]
        for r in resources
        if r["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    ]
    assert "docqueue-beat" not in targets
    template = (CHART / "templates/beat/beat-deployment.yaml").read_text()
    assert "RedBeat's lock" in template
    assert "second replica would be safe" in template


@ALL
def test_every_container_has_probes_resources_and_a_locked_down_security_context(
    stem: str, rendered: dict[str, list[Resource]]
) -> None:
    for owner, template in pod_templates(rendered[stem]):
        pod = template["spec"]
        where = f"{stem}: {owner['kind']}/{owner['metadata']['name']}"
        assert pod["automountServiceAccountToken"] is False, where
        pod_security = pod.get("securityContext", {})
        for c in pod["containers"] + pod.get("initContainers", []):
            at = f"{where} container {c['name']}"
            security = {**pod_security, **c.get("securityContext", {})}
            assert security.get("runAsNonRoot") is True, at
            assert security.get("runAsUser", 0) != 0, at
            assert security.get("readOnlyRootFilesystem") is True, at
            assert security.get("allowPrivilegeEscalation") is False, at
            assert security.get("capabilities", {}).get("drop") == ["ALL"], at
            assert security.get("seccompProfile", {}).get("type") == "RuntimeDefault", at
            resources = c.get("resources", {})
            assert resources.get("requests", {}).get("cpu"), at
            assert resources.get("requests", {}).get("memory"), at
            assert resources.get("limits", {}).get("memory"), at
            if is_test_hook(owner):
                continue  # a one-shot test container: it runs to completion, probes mean nothing
            assert "livenessProbe" in c, at
            assert "readinessProbe" in c or "startupProbe" in c, at


@ALL
def test_writable_paths_are_only_tmp_and_data(stem: str, rendered: dict[str, list[Resource]]) -> None:
    # /sentinel: the emptyDir where a bundled Sentinel rewrites its own configuration file.
    allowed = {"/tmp", "/data", "/var/lib/docqueue/blobs", "/sentinel"}
    for owner, template in pod_templates(rendered[stem]):
        for c in template["spec"]["containers"]:
            for mount in c.get("volumeMounts", []):
                if not mount.get("readOnly"):
                    assert mount["mountPath"] in allowed, (owner["metadata"]["name"], mount)


def secret_values(resources: list[Resource]) -> dict[str, str]:
    return {
        f"{s['metadata']['name']}/{key}": base64.b64decode(value).decode()
        for s in by_kind(resources, "Secret")
        for key, value in (s.get("data") or {}).items()
    } | {
        f"{s['metadata']['name']}/{k}": v
        for s in by_kind(resources, "Secret")
        for k, v in (s.get("stringData") or {}).items()
    }


def test_no_secret_holds_a_default_password(rendered: dict[str, list[Resource]]) -> None:
    values_text = (CHART / "values.yaml").read_text()
    first, second = secret_values(render()), secret_values(render())
    passwords = {k: v for k, v in first.items() if not k.endswith("/username")}
    assert set(passwords) == {"docqueue-redis/redis-password", "docqueue-flower/password"}
    for key, value in passwords.items():
        assert len(value) >= 32, key
        assert value != second[key], f"{key} is the same on every install: a default password"
        assert value not in values_text, key
    for stem, resources in rendered.items():
        for key, value in secret_values(resources).items():
            if not key.endswith("/username"):
                assert len(value) >= 32, (stem, key)
                assert value not in values_text, (stem, key)
    assert secret_values(rendered["everything-on-values"]) == {}, "existing Secrets only: nothing generated"


@ALL
def test_no_password_is_written_into_an_env_var(stem: str, rendered: dict[str, list[Resource]]) -> None:
    for _, template in pod_templates(rendered[stem]):
        for c in template["spec"]["containers"]:
            for item in c.get("env", []):
                value = item.get("value", "")
                if "://" in value and "@" in value:
                    assert ":$(REDIS_PASSWORD)@" in value, (c["name"], item["name"])
                if re.search(r"PASSWORD|SECRET|AUTH", item["name"]) and item["name"] != "FLOWER_BASIC_AUTH":
                    assert "valueFrom" in item, (c["name"], item["name"])


@ALL
def test_services_select_exactly_their_pods_and_ports(stem: str, rendered: dict[str, list[Resource]]) -> None:
    resources = rendered[stem]
    workloads = [(owner, t) for owner, t in pod_templates(resources) if not is_test_hook(owner)]
    for service in by_kind(resources, "Service"):
        selector = service["spec"]["selector"]
        matching = [
            (owner, t) for owner, t in workloads if selector.items() <= t["metadata"]["labels"].items()
        ]
        assert len(matching) == 1, (
            f"{stem}: Service {service['metadata']['name']} selects {len(matching)} workloads"
        )
        owner, template = matching[0]
        port_names = {p["name"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, (service["metadata"]["name"], port)
        if owner["kind"] == "StatefulSet" and service["spec"].get("clusterIP") == "None":
            assert owner["spec"]["serviceName"] == service["metadata"]["name"]
        selector_of_owner = owner.get("spec", {}).get("selector", {}).get("matchLabels", {})
        assert selector_of_owner.items() <= template["metadata"]["labels"].items()


@ALL
def test_every_docqueue_variable_is_a_setting_the_process_reads(
    stem: str, rendered: dict[str, list[Resource]]
) -> None:
    known: dict[str, set[str]] = {
        "api": {f"DOCQUEUE_{f.upper()}" for f in ApiSettings.model_fields},
        "worker": {f"DOCQUEUE_{f.upper()}" for f in WorkerSettings.model_fields}
        # Read by docqueue_worker.liveness; DOCQUEUE_METRICS_PORT by the worker's metrics server.
        | {"DOCQUEUE_LIVENESS_INTERVAL_S", "DOCQUEUE_LIVENESS_MAX_AGE_S", "DOCQUEUE_METRICS_PORT"},
        "beat": {f"DOCQUEUE_{f.upper()}" for f in BeatSettings.model_fields},
    }
    known["webhooks"] = known["worker"]
    for name, names in known.items():
        if name == "webhooks" and stem == "keda-off-values":
            continue  # no webhooks worker there: the document workers deliver webhooks
        env = env_of(container(rendered[stem], f"docqueue-{name}", name))
        unknown = {var for var in env if var.startswith("DOCQUEUE_")} - names
        assert not unknown, f"{stem}: {name} is given variables nothing reads: {unknown}"


@ALL
def test_images_are_pinned(stem: str, rendered: dict[str, list[Resource]]) -> None:
    for _, template in pod_templates(rendered[stem]):
        for c in template["spec"]["containers"]:
            image: str = c["image"]
            tag = image.rsplit(":", 1)[-1]
            assert ":" in image, image
            assert tag not in ("", "latest"), image


def test_storage_urls_follow_the_storage_type(rendered: dict[str, list[Resource]]) -> None:
    def storage(stem: str) -> dict[str, Any]:
        return env_of(container(rendered[stem], "docqueue-worker", "worker"))

    default = storage("default-values")
    assert default["DOCQUEUE_STORAGE_URL"] == "redis://:$(REDIS_PASSWORD)@docqueue-redis:6379/0"
    s3 = storage("s3-storage-values")
    assert s3["DOCQUEUE_STORAGE_URL"] == (
        "s3://docqueue-blobs/prod/docqueue?endpoint_url=https%3A%2F%2Fminio.storage.svc%3A9000"
        "&region=eu-west-1&addressing_style=path"
    )
    assert s3["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "docqueue-s3", "key": "access-key-id"}}
    assert s3["AWS_SECRET_ACCESS_KEY"] == {
        "secretKeyRef": {"name": "docqueue-s3", "key": "secret-access-key"}
    }
    irsa = storage("everything-on-values")
    assert "AWS_ACCESS_KEY_ID" not in irsa, "no existingSecret: the pod's cloud identity is used"


def test_external_redis_with_tls(rendered: dict[str, list[Resource]]) -> None:
    resources = rendered["external-redis-tls-values"]
    assert not by_kind(resources, "StatefulSet")
    for name in ("api", "worker", "beat"):
        c = container(resources, f"docqueue-{name}", name)
        url = env_of(c)["DOCQUEUE_REDIS_URL"]
        assert url == (
            "rediss://docqueue:$(REDIS_PASSWORD)@docqueue.redis.cache.example.net:6380/2"
            "?ssl_cert_reqs=required&ssl_ca_certs=/etc/docqueue/redis-ca/ca.crt"
        )
        assert env_of(c)["REDIS_PASSWORD"] == {"secretKeyRef": {"name": "managed-redis", "key": "password"}}
        assert {"name": "redis-ca", "mountPath": "/etc/docqueue/redis-ca", "readOnly": True} in c[
            "volumeMounts"
        ]
    auth = named(resources, "TriggerAuthentication", "docqueue-worker")["spec"]["secretTargetRef"]
    assert {"parameter": "ca", "name": "managed-redis-ca", "key": "ca.crt"} in auth


def test_redis_of_our_own_is_durable_and_never_evicts(defaults: list[Resource]) -> None:
    redis = named(defaults, "StatefulSet", "docqueue-redis")
    args = redis["spec"]["template"]["spec"]["containers"][0]["args"]
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    assert pairs["--appendonly"] == "yes"
    assert pairs["--appendfsync"] == "everysec"
    assert pairs["--maxmemory-policy"] == "noeviction"
    assert pairs["--requirepass"] == "$(REDIS_PASSWORD)"
    assert redis["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "8Gi"


@ALL
def test_docqueue_containers_name_redis_in_one_variable(
    stem: str, rendered: dict[str, list[Resource]]
) -> None:
    # docqueue.redis_url refuses DOCQUEUE_REDIS_URL and REDIS_URL set to different URLs: the chart
    # sets only the first, so a platform's own REDIS_URL (extraEnv) is the one thing that could clash.
    checked = 0
    for _, pod in pod_templates(rendered[stem]):
        for c in pod["spec"].get("containers", []) + pod["spec"].get("initContainers", []):
            env = env_of(c)
            if "DOCQUEUE_REDIS_URL" in env:
                checked += 1
                assert "REDIS_URL" not in env, f"{c['name']} sets both Redis URL variables"
    assert checked >= 3, "api, worker and beat read DOCQUEUE_REDIS_URL"


def test_format_ocr_and_chunking_settings_reach_every_service() -> None:
    resources = render(
        sets=[
            "config.chunkBy=tokens",
            "config.maxUnpackedBytes=1073741824",
            "config.ocrDpi=200",
            "config.ocrMaxPixels=20000000",
        ]
    )
    for deployment, name in (("docqueue-api", "api"), ("docqueue-worker", "worker")):
        env = env_of(container(resources, deployment, name))
        assert env["DOCQUEUE_CHUNK_BY"] == "tokens"
        assert env["DOCQUEUE_MAX_UNPACKED_BYTES"] == "1073741824"
        assert (env["DOCQUEUE_OCR_DPI"], env["DOCQUEUE_OCR_MAX_PIXELS"]) == ("200", "20000000")


def test_split_and_fair_share_values_reach_every_service() -> None:
    """config.splitMinPages and splitPagesPerPart decide in the worker; the API reads
    tenantMaxPagesInFlight; the chart's defaults are the settings' defaults."""
    defaults = {"DOCQUEUE_SPLIT_MIN_PAGES": "128", "DOCQUEUE_SPLIT_PAGES_PER_PART": "64"}
    worker = WorkerSettings()
    assert (str(worker.split_min_pages), str(worker.split_pages_per_part)) == tuple(defaults.values())
    for sets, expected in (
        ([], {**defaults, "DOCQUEUE_TENANT_MAX_PAGES_IN_FLIGHT": "0"}),
        (
            ["config.splitMinPages=0", "config.splitPagesPerPart=16", "config.tenantMaxPagesInFlight=5000"],
            {
                "DOCQUEUE_SPLIT_MIN_PAGES": "0",
                "DOCQUEUE_SPLIT_PAGES_PER_PART": "16",
                "DOCQUEUE_TENANT_MAX_PAGES_IN_FLIGHT": "5000",
            },
        ),
    ):
        resources = render(sets=sets)
        for deployment, name in (("docqueue-worker", "worker"), ("docqueue-api", "api")):
            env = env_of(container(resources, deployment, name))
            assert {key: env.get(key) for key in expected} == expected, (deployment, sets)


def test_the_bulk_lane_can_run_in_a_worker_deployment_of_its_own() -> None:
    """worker.bulk.separate: docqueue-worker-bulk consumes documents.bulk (large uploads and the
    parts of split documents) and KEDA scales it on that list alone; the worker keeps the rest.
    Both are covered by the PodDisruptionBudgets, the worker NetworkPolicy and Redis's ingress."""
    resources = render(sets=["worker.bulk.separate=true", "worker.bulk.maxReplicas=20"])
    queues = {
        deployment: env_of(container(resources, deployment, name))["DOCQUEUE_QUEUES"]
        for deployment, name in (("docqueue-worker", "worker"), ("docqueue-worker-bulk", "worker"))
    }
    assert queues == {"docqueue-worker": "documents", "docqueue-worker-bulk": "documents.bulk"}
    scaled = {item["metadata"]["name"]: item["spec"] for item in by_kind(resources, "ScaledObject")}
    assert set(scaled) == {"docqueue-worker", "docqueue-worker-bulk"}
    lists = {name: [t["metadata"]["listName"] for t in spec["triggers"]] for name, spec in scaled.items()}
    assert lists == {"docqueue-worker": ["documents"], "docqueue-worker-bulk": ["documents.bulk"]}
    assert scaled["docqueue-worker-bulk"]["scaleTargetRef"]["name"] == "docqueue-worker-bulk"
    assert (
        scaled["docqueue-worker-bulk"]["minReplicaCount"],
        scaled["docqueue-worker-bulk"]["maxReplicaCount"],
    ) == (0, 20)
    assert {pdb["metadata"]["name"] for pdb in by_kind(resources, "PodDisruptionBudget")} >= set(scaled)
    policy = named(resources, "NetworkPolicy", "docqueue-worker")["spec"]["podSelector"]
    assert policy["matchExpressions"][0]["values"] == ["worker", "worker-bulk"]
    redis_from = str(named(resources, "NetworkPolicy", "docqueue-redis")["spec"]["ingress"])
    assert "worker-bulk" in redis_from
    # One Deployment consuming both lanes, by default.
    default = render()
    assert [
        d["metadata"]["name"] for d in by_kind(default, "Deployment") if "worker" in d["metadata"]["name"]
    ] == ["docqueue-worker"]
