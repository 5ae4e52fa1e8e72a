"""The chart through Redis Sentinel (externalRedis.sentinel): what it renders for every client
(docqueue's URL, kombu's form for Flower and the celery-exporter, KEDA's redis-sentinel scaler,
egress to the sentinels), and the rendered environment run for real: API, worker and beat
against a password-protected master, replica and three password-protected sentinels, with
Flower started the way the chart starts it."""

import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from docqueue.redis_url import parse_sentinel_url, redis_client
from docqueue_devstack.processes import Process, free_port, http_ok, wait_until
from docqueue_devstack.sentinel import MASTER_NAME, SentinelCluster
from docqueue_devstack.stack import Stack
from tests.chart.render import env_of, named, render
from tests.conftest import TEST_ENV
from tests.support.documents import make_pdf
from tests.support.http import submit, wait_terminal
from tests.support.keys import tenant_key

SENTINEL_SETS = [
    "redis.enabled=false",
    "externalRedis.existingSecret=managed-redis",
    "externalRedis.sentinel.enabled=true",
    "externalRedis.sentinel.existingSecret=managed-sentinel",
    "worker.autoscaling.keda.enabled=true",
]


def rendered(hosts: list[str], master: str = "prod") -> list[Any]:
    sets = [*SENTINEL_SETS, f"externalRedis.sentinel.masterName={master}"]
    sets += [f"externalRedis.sentinel.hosts[{i}]={host}" for i, host in enumerate(hosts)]
    return render(sets=sets)


def container(resources: list[Any], name: str) -> dict[str, Any]:
    spec: dict[str, Any] = named(resources, "Deployment", name)["spec"]["template"]["spec"]
    return spec["containers"][0]  # type: ignore[no-any-return]


def test_every_service_gets_the_sentinel_url_and_the_sentinel_password() -> None:
    resources = rendered(["sentinel-0.sentinel:26379", "sentinel-1.sentinel", "10.0.0.3:26380"])
    for name in ("docqueue-api", "docqueue-worker", "docqueue-beat", "docqueue-webhooks"):
        env = env_of(container(resources, name))
        url = env["DOCQUEUE_REDIS_URL"]
        target = parse_sentinel_url(url.replace("$(REDIS_PASSWORD)", "pw"))
        assert target.sentinels == (
            ("sentinel-0.sentinel", 26379),
            ("sentinel-1.sentinel", 26379),
            ("10.0.0.3", 26380),
        )
        assert (target.master_name, target.password) == ("prod", "pw")
        assert env["DOCQUEUE_REDIS_SENTINEL_PASSWORD"]["secretKeyRef"]["name"] == "managed-sentinel"
    assert env_of(container(resources, "docqueue-api"))["DOCQUEUE_REDIS_REPLICA_ACKS"] == "1"


def test_flower_and_the_celery_exporter_get_kombus_form_and_the_master_name() -> None:
    resources = rendered(["s0:26379", "s1:26379"])
    kombu_url = "sentinel://:$(REDIS_PASSWORD)@s0:26379/0;sentinel://:$(REDIS_PASSWORD)@s1:26379/0"
    flower = container(resources, "docqueue-flower")
    assert env_of(flower)["CELERY_BROKER_URL"] == kombu_url
    assert flower["command"] == ["celery", "--config", "docqueue_flower_celeryconfig", "flower"]
    config = named(resources, "ConfigMap", "docqueue-flower")["data"]["docqueue_flower_celeryconfig.py"]
    assert 'broker_transport_options = {"master_name": "prod"}' in config
    exporter = container(resources, "docqueue-celery-exporter")
    assert env_of(exporter)["CELERY_BROKER_URL"] == kombu_url
    assert "--broker-transport-option=master_name=prod" in exporter["args"]


def test_keda_uses_its_redis_sentinel_scaler_with_both_passwords() -> None:
    resources = rendered(["s0:26379", "s1:26380"])
    triggers = named(resources, "ScaledObject", "docqueue-worker")["spec"]["triggers"]
    assert triggers
    for trigger in triggers:
        assert trigger["type"] == "redis-sentinel"
        assert trigger["metadata"]["addresses"] == "s0:26379, s1:26380"
        assert trigger["metadata"]["sentinelMaster"] == "prod"
        assert "address" not in trigger["metadata"]
    auth = named(resources, "TriggerAuthentication", "docqueue-worker")["spec"]["secretTargetRef"]
    assert {ref["parameter"]: ref["name"] for ref in auth} == {
        "password": "managed-redis",
        "sentinelPassword": "managed-sentinel",
    }


def test_egress_reaches_the_sentinels_and_the_masters_port() -> None:
    resources = rendered(["s0:26379", "s1:26380"])
    policy = named(resources, "NetworkPolicy", "docqueue-worker")
    ports = {port["port"] for rule in policy["spec"]["egress"] for port in rule.get("ports", [])}
    assert {6379, 26379, 26380} <= ports


def test_no_sentinel_hosts_is_refused() -> None:
    with pytest.raises(Exception, match=r"externalRedis\.sentinel\.hosts is required"):
        render(sets=SENTINEL_SETS)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Any:
    password, sentinel_password = secrets.token_hex(16), secrets.token_hex(16)
    with SentinelCluster(
        tmp_path_factory.mktemp("sentinel"), password=password, sentinel_password=sentinel_password
    ).start() as started:
        yield started


def fill(value: str, cluster: SentinelCluster) -> str:
    assert cluster.password
    assert cluster.sentinel_password
    return value.replace("$(REDIS_PASSWORD)", cluster.password).replace(
        "$(REDIS_SENTINEL_PASSWORD)", cluster.sentinel_password
    )


def test_api_worker_beat_and_flower_run_on_the_rendered_environment(
    cluster: SentinelCluster, tmp_path: Path
) -> None:
    resources = rendered([f"127.0.0.1:{sentinel.port}" for sentinel in cluster.sentinels], MASTER_NAME)
    env = env_of(container(resources, "docqueue-worker"))
    redis_url = fill(env["DOCQUEUE_REDIS_URL"], cluster)
    assert env["DOCQUEUE_REDIS_SENTINEL_PASSWORD"]["secretKeyRef"]["name"] == "managed-sentinel"
    sentinel_password = cluster.sentinel_password
    assert sentinel_password is not None
    children = {**TEST_ENV, "DOCQUEUE_REDIS_SENTINEL_PASSWORD": sentinel_password}
    stack = Stack(redis_url=redis_url, run_dir=tmp_path, env=children)
    flower: Process | None = None
    try:
        _, api_url = stack.start_api()
        stack.start_worker(concurrency=1)
        stack.start_beat()
        key = tenant_key(redis_client(redis_url, sentinel_password))
        with httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
            task = wait_terminal(api, submit(api, make_pdf(2), "sentinel.pdf"))
            assert task["state"] == "succeeded", task
        # Flower as the chart runs it: `celery --config <the ConfigMap's module> flower`.
        config_dir = tmp_path / "flower-config"
        config_dir.mkdir()
        data = named(resources, "ConfigMap", "docqueue-flower")["data"]
        for filename, text in data.items():
            (config_dir / filename).write_text(text)
        flower_spec = container(resources, "docqueue-flower")
        port = free_port()
        flower_env = {
            **stack.base_env(),
            "PYTHONPATH": str(config_dir),
            "CELERY_BROKER_URL": fill(env_of(flower_spec)["CELERY_BROKER_URL"], cluster),
            "REDIS_SENTINEL_PASSWORD": sentinel_password,
            "FLOWER_BASIC_AUTH": "admin:flower-test",
        }
        argv = [sys.executable, "-m", *flower_spec["command"], "--address=127.0.0.1", f"--port={port}"]
        flower = Process("flower", argv, flower_env, tmp_path / "flower.log").start()
        workers_api = f"http://127.0.0.1:{port}/api/workers?refresh=1"
        assert wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthcheck"), timeout_s=30), (
            flower.log_tail()
        )

        def sees_the_worker() -> bool:
            try:
                answer = httpx.get(workers_api, timeout=10, auth=("admin", "flower-test"))
                return bool(answer.json())
            except (httpx.HTTPError, ValueError):
                return False

        assert wait_until(sees_the_worker, timeout_s=30), flower.log_tail()
    finally:
        if flower is not None:
            flower.stop()
        stack.stop()


# --- the bundled Sentinel StatefulSet (redis.architecture=sentinel) ---------------------------

BUNDLED = ["redis.architecture=sentinel", "worker.autoscaling.keda.enabled=true"]
NODE_HOSTS = [f"docqueue-redis-node-{i}.docqueue-redis-headless.docqueue.svc" for i in range(3)]


def test_the_bundled_sentinel_mode_runs_three_pods_each_a_redis_and_a_sentinel() -> None:
    resources = render(sets=BUNDLED)
    names = {(r["kind"], r["metadata"]["name"]) for r in resources}
    assert ("StatefulSet", "docqueue-redis") not in names, "the standalone Redis must not run too"
    assert ("Service", "docqueue-redis") not in names, "a ClusterIP over all pods would reach replicas"
    nodes = named(resources, "StatefulSet", "docqueue-redis-node")
    spec = nodes["spec"]
    assert spec["replicas"] == 3
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "8Gi"
    pod = spec["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["redis", "sentinel"]
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    assert anti["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "redis"
    redis_container, sentinel_container = pod["containers"]
    assert redis_container["readinessProbe"]["exec"]["command"] == ["sh", "/scripts/redis-ready.sh"]
    assert env_of(sentinel_container)["QUORUM"] == "2"
    assert env_of(sentinel_container)["DOWN_AFTER_MS"] == "5000"
    pdb = named(resources, "PodDisruptionBudget", "docqueue-redis-node")
    assert pdb["spec"]["maxUnavailable"] == 1
    headless = named(resources, "Service", "docqueue-redis-headless")
    assert {port["port"] for port in headless["spec"]["ports"]} == {6379, 26379}
    assert headless["spec"]["clusterIP"] == "None"


def test_the_bundled_mode_points_every_client_at_its_sentinels() -> None:
    resources = render(sets=BUNDLED)
    env = env_of(container(resources, "docqueue-api"))
    target = parse_sentinel_url(env["DOCQUEUE_REDIS_URL"].replace("$(REDIS_PASSWORD)", "pw"))
    assert [host for host, _ in target.sentinels] == NODE_HOSTS
    assert target.master_name == "docqueue"
    # The bundled sentinels take the Redis password.
    assert env["DOCQUEUE_REDIS_SENTINEL_PASSWORD"]["secretKeyRef"]["name"] == "docqueue-redis"
    assert env["DOCQUEUE_REDIS_REPLICA_ACKS"] == "1"
    triggers = named(resources, "ScaledObject", "docqueue-worker")["spec"]["triggers"]
    assert {t["type"] for t in triggers} == {"redis-sentinel"}
    assert triggers[0]["metadata"]["addresses"] == ", ".join(f"{host}:26379" for host in NODE_HOSTS)
    auth = named(resources, "TriggerAuthentication", "docqueue-worker")["spec"]["secretTargetRef"]
    assert {ref["parameter"] for ref in auth} == {"password", "sentinelPassword"}


def test_the_bundled_redis_pods_talk_to_each_other_and_nothing_else() -> None:
    resources = render(sets=BUNDLED)
    policy = named(resources, "NetworkPolicy", "docqueue-redis")["spec"]
    ingress_ports = [{p["port"] for p in rule["ports"]} for rule in policy["ingress"]]
    assert {6379, 26379} in ingress_ports
    assert [{p["port"] for p in rule["ports"]} for rule in policy["egress"]] == [{6379, 26379}]
    assert (
        policy["egress"][0]["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "redis"
    )
    dns = named(resources, "NetworkPolicy", "docqueue-dns")["spec"]["podSelector"]["matchExpressions"]
    assert "redis" in next(e["values"] for e in dns if e["key"] == "app.kubernetes.io/component")
    worker = named(resources, "NetworkPolicy", "docqueue-worker")["spec"]["egress"]
    assert any({6379, 26379} <= {p["port"] for p in rule.get("ports", [])} for rule in worker)


def test_the_bundled_start_scripts_are_valid_shell(tmp_path: Path) -> None:
    data = named(render(sets=BUNDLED), "ConfigMap", "docqueue-redis-node")["data"]
    assert set(data) == {"lib.sh", "redis.sh", "sentinel.sh", "redis-ready.sh"}
    for name, text in data.items():
        script = tmp_path / name
        script.write_text(text)
        checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, f"{name}: {checked.stderr}"
    assert "sentinel announce-hostnames yes" in data["sentinel.sh"]
    assert "--replica-announce-ip" in data["redis.sh"]


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["redis.sentinel.replicas=2"], "minimum: got 2, want 3"),
        (["redis.sentinel.quorum=4"], "cannot exceed"),
        (["redis.sentinel.replicaAcks=3"], "must be below"),
    ],
)
def test_unsafe_bundled_sentinel_values_are_refused(sets: list[str], message: str) -> None:
    with pytest.raises(Exception, match=message):
        render(sets=[*BUNDLED, *sets])


def test_soft_anti_affinity_prefers_other_nodes() -> None:
    resources = render(sets=[*BUNDLED, "redis.sentinel.podAntiAffinity=soft"])
    pod = named(resources, "StatefulSet", "docqueue-redis-node")["spec"]["template"]["spec"]
    preferred = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert preferred[0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
