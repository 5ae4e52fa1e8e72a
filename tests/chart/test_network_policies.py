"""The NetworkPolicies allow exactly the flows the stack needs: evaluated the way Kubernetes
does (a pod selected by any policy of a type allows only the union of their rules)."""

from itertools import product
from typing import Any

import pytest

from tests.chart.render import Resource, by_kind, named, pod_templates, render

Labels = dict[str, str]


def selects(selector: dict[str, Any], labels: Labels) -> bool:
    """A label selector ({} selects every pod)."""
    if not (selector.get("matchLabels") or {}).items() <= labels.items():
        return False
    for expression in selector.get("matchExpressions") or []:
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and value in expression["values"]:
            return False
        if expression["operator"] == "Exists" and value is None:
            return False
    return True


OUTSIDE = "outside"  # the label value of a public address outside the cluster


def peer_matches(peers: list[dict[str, Any]] | None, labels: Labels) -> bool:
    """Whether `labels` (a pod of this release, or OUTSIDE: a public address) is among `peers`
    (absent: everyone). Pod CIDRs are private, so ipBlocks that except them match only OUTSIDE."""
    if peers is None:
        return True
    if labels.get("app.kubernetes.io/name") == OUTSIDE:
        return any("ipBlock" in peer for peer in peers)
    return any(
        "podSelector" in peer and "namespaceSelector" not in peer and selects(peer["podSelector"], labels)
        for peer in peers
    )


def port_matches(ports: list[dict[str, Any]] | None, port: int) -> bool:
    return ports is None or any(p.get("port") == port for p in ports)


def allowed(policies: list[Resource], kind: str, pod: Labels, other: Labels, port: int) -> bool:
    """Egress from `pod` to `other`:`port` (kind Egress), or ingress into `pod` from `other` (Ingress)."""
    selecting = [
        p for p in policies if kind in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], pod)
    ]
    if not selecting:
        return True
    field, peer_key = ("egress", "to") if kind == "Egress" else ("ingress", "from")
    return any(
        peer_matches(rule.get(peer_key), other) and port_matches(rule.get("ports"), port)
        for policy in selecting
        for rule in policy["spec"].get(field) or []
    )


def pods(resources: list[Resource]) -> dict[str, Labels]:
    return {
        t["metadata"]["labels"]["app.kubernetes.io/component"]: t["metadata"]["labels"]
        for _, t in pod_templates(resources)
    }


def flows(resources: list[Resource]) -> set[tuple[str, str, int]]:
    """Every (source, destination, port) between the release's pods that both sides allow."""
    policies = by_kind(resources, "NetworkPolicy")
    components = pods(resources)
    ports = {
        (name, p["containerPort"])
        for _, t in pod_templates(resources)
        for name in [t["metadata"]["labels"]["app.kubernetes.io/component"]]
        for c in t["spec"]["containers"]
        for p in c.get("ports", [])
    }
    return {
        (source, destination, port)
        for (source, source_labels), (destination, port) in product(components.items(), ports)
        if source != destination
        and allowed(policies, "Egress", source_labels, components[destination], port)
        and allowed(policies, "Ingress", components[destination], source_labels, port)
    }


REDIS_CLIENTS = {"api", "worker", "webhooks", "beat", "flower", "celery-exporter", "test"}


def test_only_the_needed_flows_between_components() -> None:
    # Strict peers, so "anyone may reach the API" does not also mean every pod of the release.
    resources = render(
        sets=[
            "networkPolicy.ingressFrom[0].namespaceSelector.matchLabels.name=ingress",
            "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.name=monitoring",
        ]
    )
    assert flows(resources) == {(client, "redis", 6379) for client in REDIS_CLIENTS} | {("test", "api", 8000)}


def test_redis_connects_nowhere_and_its_clients_only_to_what_they_need() -> None:
    resources = render()
    policies = by_kind(resources, "NetworkPolicy")
    components = pods(resources)
    anywhere: Labels = {"app.kubernetes.io/name": OUTSIDE}
    assert not allowed(policies, "Egress", components["redis"], anywhere, 53)
    for name in REDIS_CLIENTS:
        assert allowed(policies, "Egress", components[name], anywhere, 53), f"{name} needs DNS"
    # Webhooks: only the webhooks worker goes to the outside world, and only on 443; the pods
    # that parse untrusted documents cannot reach the internet.
    outbound = [name for name in components if allowed(policies, "Egress", components[name], anywhere, 443)]
    assert outbound == ["webhooks"]
    webhooks = next(
        r
        for p in policies
        if p["metadata"]["name"] == "docqueue-webhooks"
        for r in p["spec"]["egress"]
        if "to" in r and "ipBlock" in r["to"][0]
    )
    assert "169.254.0.0/16" in webhooks["to"][0]["ipBlock"]["except"], "never the cloud metadata endpoint"
    assert "10.0.0.0/8" in webhooks["to"][0]["ipBlock"]["except"], "never into the cluster"


def test_without_a_webhooks_worker_the_document_worker_delivers_webhooks() -> None:
    resources = render(sets=["webhooks.enabled=false"])
    policies = by_kind(resources, "NetworkPolicy")
    components = pods(resources)
    outside: Labels = {"app.kubernetes.io/name": OUTSIDE}
    assert [n for n in components if allowed(policies, "Egress", components[n], outside, 443)] == ["worker"]


def container_env(resources: list[Resource], deployment: str, name: str) -> list[dict[str, Any]]:
    spec = named(resources, "Deployment", deployment)["spec"]["template"]["spec"]
    env: list[dict[str, Any]] = next(c for c in spec["containers"] if c["name"] == name)["env"]
    return env


def test_sources_open_the_document_workers_egress_only_when_enabled() -> None:
    """URL sources are off by default (a source_url is refused 422 and no document worker reaches
    the internet); on, the document workers reach public addresses on 443 and the allowed
    intranet networks, never the cluster or the metadata endpoint."""
    env = {e["name"]: e.get("value") for e in container_env(render(), "docqueue-worker", "worker")}
    assert env["DOCQUEUE_SOURCE_URLS_ENABLED"] == "false"
    resources = render(
        sets=["config.sources.enabled=true", "config.sources.allowedNetworks=10.20.0.0/16\\, 192.168.7.9/32"]
    )
    policies = by_kind(resources, "NetworkPolicy")
    components = pods(resources)
    outside: Labels = {"app.kubernetes.io/name": OUTSIDE}
    outbound = sorted(n for n in components if allowed(policies, "Egress", components[n], outside, 443))
    assert outbound == ["webhooks", "worker"]
    worker = next(p for p in policies if p["metadata"]["name"] == "docqueue-worker")
    [rule] = [r for r in worker["spec"]["egress"] if "to" in r and "ipBlock" in r["to"][0]]
    assert "169.254.0.0/16" in rule["to"][0]["ipBlock"]["except"]
    assert [peer["ipBlock"]["cidr"] for peer in rule["to"][1:]] == ["10.20.0.0/16", "192.168.7.9/32"]
    env = {e["name"]: e.get("value") for e in container_env(resources, "docqueue-worker", "worker")}
    assert env["DOCQUEUE_SOURCE_URLS_ENABLED"] == "true"
    assert env["DOCQUEUE_SOURCE_ALLOWED_NETWORKS"] == "10.20.0.0/16, 192.168.7.9/32"


def test_a_default_deny_covers_every_pod() -> None:
    resources = render()
    deny = next(
        p for p in by_kind(resources, "NetworkPolicy") if p["metadata"]["name"] == "docqueue-default-deny"
    )
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny["spec"]
    assert "egress" not in deny["spec"]
    for name, labels in pods(resources).items():
        assert selects(deny["spec"]["podSelector"], labels), name


def test_keda_may_read_redis_and_prometheus_may_scrape() -> None:
    resources = render(sets=["redis.metrics.enabled=true"])
    redis = next(p for p in by_kind(resources, "NetworkPolicy") if p["metadata"]["name"] == "docqueue-redis")
    peers = [peer for rule in redis["spec"]["ingress"] for peer in rule.get("from", [])]
    assert {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}},
        "podSelector": {"matchLabels": {"app": "keda-operator"}},
    } in peers
    metrics_rule = next(rule for rule in redis["spec"]["ingress"] if rule["ports"][0]["port"] == 9121)
    assert "from" not in metrics_rule  # metricsFrom empty: any scraper


@pytest.mark.parametrize(
    ("sets", "port"),
    [
        (["storage.type=s3", "storage.s3.bucket=b"], 443),
        (["storage.type=s3", "storage.s3.bucket=b", "storage.s3.endpoint=http://minio.storage:9000"], 9000),
    ],
)
def test_s3_storage_opens_the_endpoint_port(sets: list[str], port: int) -> None:
    resources = render(sets=sets)
    policies = by_kind(resources, "NetworkPolicy")
    components = pods(resources)
    outside: Labels = {"app.kubernetes.io/name": OUTSIDE}
    for name in ("api", "worker", "beat"):
        assert allowed(policies, "Egress", components[name], outside, port), name
    assert not allowed(policies, "Egress", components["flower"], outside, port)
