"""The compose stack's monitoring, checked without a Docker engine: every file it mounts exists,
the Prometheus and Grafana files parse and agree with the compose services (names, ports,
paths), and the dashboard only queries the data source Grafana is given.

That the metric names the dashboard queries are real is checked against live endpoints in
tests/bridge/test_metrics.py and tests/test_worker_metrics.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.deploy.files import COMPOSE, ROOT, dashboard, dashboard_exprs, load_yaml


def services() -> dict[str, Any]:
    found: dict[str, Any] = load_yaml(COMPOSE)["services"]
    return found


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    """(host path, container path) of the service's bind mounts (named volumes left out)."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        if source.startswith(("./", "../", "/")):
            mounts.append(((ROOT / source).resolve(), target))
    return mounts


def port_of(listen: str) -> int:
    return int(listen.rpartition(":")[2])


def test_every_mounted_file_exists() -> None:
    mounted = [m for s in services().values() for m in bind_mounts(s)]
    assert len(mounted) >= 5, mounted
    for source, target in mounted:
        assert source.exists(), f"{source} (mounted at {target}) is missing"
        assert source.is_relative_to(ROOT), f"{source} is outside the repository"


def test_prometheus_scrapes_every_bridge_and_worker_on_their_ports() -> None:
    stack = services()
    mounts = {target: source for source, target in bind_mounts(stack["prometheus"])}
    target = "/etc/prometheus/prometheus.yml"
    assert f"--config.file={target}" in stack["prometheus"]["command"]
    config_path = mounts[target]
    config = load_yaml(config_path)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    expected = {
        "mdmflow-bridge": ("bridge", port_of(stack["bridge"]["environment"]["MDMFLOW_LISTEN"])),
        "mdmflow-worker": (
            "worker",
            port_of(stack["worker"]["environment"]["MDMFLOW_WORKER_METRICS_LISTEN"]),
        ),
    }
    assert set(jobs) == set(expected)
    for name, (service, port) in expected.items():
        [sd] = jobs[name]["dns_sd_configs"]
        assert sd["names"] == [service], f"{name} must resolve the {service} service's replicas"
        assert sd["type"] == "A"
        assert sd["port"] == port, f"{name} scrapes {sd['port']}, the service serves {port}"
        assert jobs[name].get("metrics_path", "/metrics") == "/metrics"
    interval = str(config["global"]["scrape_interval"])
    assert interval.endswith("s")
    assert int(interval[:-1]) > 0


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard() -> None:
    stack = services()
    mounts = {target: source for source, target in bind_mounts(stack["grafana"])}
    provisioning = mounts["/etc/grafana/provisioning"]
    [datasource] = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    prometheus_port = stack["prometheus"]["ports"][0].split(":")[1]
    assert datasource["type"] == "prometheus"
    assert datasource["url"] == f"http://prometheus:{prometheus_port}"
    [provider] = load_yaml(provisioning / "dashboards" / "mdmflow.yml")["providers"]
    dashboards_dir = mounts[provider["options"]["path"]]
    assert sorted(p.name for p in dashboards_dir.iterdir()) == ["mdmflow.json"]
    home = stack["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{provider['options']['path']}/mdmflow.json"

    board = dashboard()
    assert board["uid"] == "mdmflow"
    for panel in board["panels"]:
        assert panel["targets"], panel["title"]
        for source in [panel["datasource"], *(t["datasource"] for t in panel["targets"])]:
            assert source == {"type": "prometheus", "uid": datasource["uid"]}, panel["title"]


def test_the_dashboard_shows_what_operators_asked_for() -> None:
    exprs = "\n".join(dashboard_exprs())
    for wanted in [
        "mdmflow_webhooks_total",
        "mdmflow_intake_pending",
        "mdmflow_intake_oldest_pending_age_seconds",
        "mdmflow_workflow_starts_total",
        "temporal_workflow_task_schedule_to_start_latency_bucket",
        "temporal_activity_execution_failed_total",
    ]:
        assert wanted in exprs, wanted
    ids = [panel["id"] for panel in dashboard()["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
