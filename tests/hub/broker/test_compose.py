"""The production-shaped stack: docker-compose.yml, Prometheus and Grafana files hang together.

No Docker engine runs here, so these tests read the files and check what ``docker compose``
would rely on: services, images, ports, environment, dependencies and health checks.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from hub.settings import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
DEPLOY = REPO_ROOT / "deploy"
SISI_SERVICES = ("topics", "schema-registry", "hub")
METRICS = (
    "sisi_items_accepted_total",
    "sisi_items_rejected_total",
    "sisi_delivery_lag_seconds",
    "sisi_curp_validity_ratio",
    "sisi_last_delivery_timestamp_seconds",
    "sisi_messages_replayed_total",
    "sisi_messages_unauthenticated_total",
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = compose["services"]
    return result


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return command if isinstance(command, list) else command.split()


def _depends(service: dict[str, Any]) -> dict[str, str]:
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return dict.fromkeys(depends, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in depends.items()}


def test_the_stack_has_the_services_an_operator_expects(services: dict[str, Any]) -> None:
    assert {"kafka", "postgres", "schema-registry", "hub", "prometheus", "grafana"} <= set(services)
    assert "portal" not in services  # comes with the portal issue


def test_kafka_is_apache_kafka_in_kraft_mode_with_a_healthcheck(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@kafka:9093"
    assert "CONTROLLER" in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
    assert "INTERNAL://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "zookeeper" not in json.dumps(kafka).lower()
    assert "kafka-broker-api-versions" in " ".join(kafka["healthcheck"]["test"])
    assert any(str(port).endswith(":9094") for port in kafka["ports"])


def test_postgres_is_16_with_a_healthcheck(services: dict[str, Any]) -> None:
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert postgres["environment"]["POSTGRES_DB"] == "sisi"


@pytest.mark.parametrize("name", SISI_SERVICES)
def test_sisi_services_share_the_image_and_point_at_the_stack(
    services: dict[str, Any], name: str
) -> None:
    service = services[name]
    assert service["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    assert _command(service)[0] == "sisi"
    env = service["environment"]
    assert env["SISI_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["SISI_DATABASE_URL"].startswith("postgresql+psycopg://sisi:")
    assert env["SISI_DATABASE_URL"].endswith("@postgres:5432/sisi")
    assert env["SISI_SCHEMA_REGISTRY_URL"] == "http://schema-registry:8081"
    assert any(volume.endswith(":/app/agreements:ro") for volume in service["volumes"])


def test_commands_and_dependencies(services: dict[str, Any]) -> None:
    assert _command(services["schema-registry"])[:3] == ["sisi", "schemas", "serve"]
    assert _command(services["topics"])[:3] == ["sisi", "broker", "--topics-only"]
    assert _command(services["hub"]) == ["sisi", "hub"]
    assert _depends(services["topics"]) == {"kafka": "service_healthy"}
    assert _depends(services["hub"]) == {
        "kafka": "service_healthy",
        "postgres": "service_healthy",
        "schema-registry": "service_healthy",
        "topics": "service_completed_successfully",
    }
    assert _depends(services["schema-registry"])["postgres"] == "service_healthy"


def test_hub_workers_are_replicated_and_scalable(services: dict[str, Any]) -> None:
    hub = services["hub"]
    assert hub["deploy"]["replicas"] == 2
    # a published host port or a container_name would make `--scale hub=N` fail
    assert "ports" not in hub
    assert "container_name" not in hub
    assert "9100" in [str(port) for port in hub["expose"]]


def test_every_dependency_and_volume_is_declared(compose: dict[str, Any]) -> None:
    services = compose["services"]
    named_volumes = set(compose.get("volumes", {}))
    for name, service in services.items():
        for dependency in _depends(service):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/", "$")):
                if source.startswith("./"):
                    assert (REPO_ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in named_volumes, f"{name}: volume {source} not declared"


def test_prometheus_scrapes_every_hub_worker_and_the_registry(services: dict[str, Any]) -> None:
    mounted = {v.split(":")[0] for v in services["prometheus"]["volumes"]}
    assert "./deploy/prometheus/prometheus.yml" in mounted
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    hub_sd = jobs["sisi-hub"]["dns_sd_configs"][0]
    assert hub_sd["names"] == ["hub"] and hub_sd["port"] == 9100
    assert jobs["sisi-schema-registry"]["static_configs"][0]["targets"] == ["schema-registry:8081"]


def test_grafana_is_provisioned_with_prometheus_and_the_compliance_dashboard() -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    source = datasources["datasources"][0]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((provisioning / "dashboards" / "sisi.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"

    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "compliance.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    joined = "\n".join(expressions)
    for metric in METRICS:
        assert metric in joined, f"no panel uses {metric}"
    assert "by (agreement, reason)" in joined
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert variables == {"agreement", "level", "state"}
    for expression in expressions:
        for variable in variables:
            assert f"${variable}" in expression
        assert expression.count("(") == expression.count(")"), expression
    panel_ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids))
    uids = {
        target["datasource"]["uid"] for panel in dashboard["panels"] for target in panel["targets"]
    }
    assert uids == {source["uid"]}


#: A PromQL aggregation and the index of its opening parenthesis (group 0 ends on it).
_AGGREGATION = re.compile(r"\b(sum|max|min|avg|count)\s+(?:(by|without)\s*\(([^)]*)\)\s*)?\(")


def _innermost_aggregation(expression: str, position: int) -> tuple[str, str, str] | None:
    """The aggregation whose parentheses enclose ``position`` most closely, as (op, by, labels)."""
    for match in reversed(list(_AGGREGATION.finditer(expression, 0, position))):
        inside = expression[match.end() : position]
        if inside.count("(") >= inside.count(")"):  # still open at ``position``
            return match.group(1), match.group(2) or "", match.group(3) or ""
    return None


def test_the_dashboard_counts_each_figure_once_whatever_the_workers(
    services: dict[str, Any],
) -> None:
    """Every hub worker exports the same database-wide totals (hub.compliance.metrics): with
    ``replicas: 2`` a ``sum`` over the raw series doubles every figure. Each series must first be
    reduced across workers (``max without (instance)``, or ``max``/``min``/``avg`` by labels that
    leave ``instance`` out); only then may a panel add up agreements or reasons."""
    assert services["hub"]["deploy"]["replicas"] >= 2  # what the rule protects against
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "compliance.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    checked = 0
    for expression in expressions:
        for series in re.finditer(r"\bsisi_[a-z_]+\b", expression):
            around = _innermost_aggregation(expression, series.start())
            assert around is not None, f"{series.group()} sin agregar entre workers: {expression}"
            op, how, labels = around
            names = {label.strip() for label in labels.split(",")}
            if how == "without":
                assert op == "max" and "instance" in names, expression
            else:
                assert op in ("max", "min", "avg"), f"suma los workers: {expression}"
                assert "instance" not in names, expression
            checked += 1
    assert checked >= len(expressions)
    # the rule itself: a sum straight over the series is caught, a sum after the max is not
    doubled = "sum by (agreement) (rate(sisi_items_accepted_total[5m]))"
    assert _innermost_aggregation(doubled, doubled.index("sisi_"))[0] == "sum"  # type: ignore[index]
    once = "sum by (agreement) (max without (instance) (rate(sisi_items_accepted_total[5m])))"
    assert _innermost_aggregation(once, once.index("sisi_")) == ("max", "without", "instance")
    titles = [panel["title"] for panel in dashboard["panels"]]
    assert not any("p95" in title for title in titles), titles  # the lag gauge is no percentile


def test_dockerfile_builds_the_project_on_python_311_slim() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert "pip install" in dockerfile and "COPY pyproject.toml" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    for copied in ("hub", "producers", "consumers", "avro_schemas", "agreements"):
        assert re.search(rf"^COPY {copied} {copied}$", dockerfile, re.MULTILINE)
        assert (REPO_ROOT / copied).is_dir()


def test_docker_compose_config_accepts_the_file_when_compose_is_available() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no hay cliente docker")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("el cliente docker no trae el plugin compose")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_every_dashboard_metric_is_one_the_hub_exports() -> None:
    """A panel over a series nobody exports shows nothing; guard the names against the collector."""
    import re

    from hub.compliance.metrics import METRIC_NAMES

    dashboard = (DEPLOY / "grafana" / "dashboards" / "compliance.json").read_text()
    used = set(re.findall(r"\bsisi_[a-z_]+\b", dashboard))
    assert used, "the dashboard queries no sisi_* metric"
    assert used <= set(METRIC_NAMES), sorted(used - set(METRIC_NAMES))
