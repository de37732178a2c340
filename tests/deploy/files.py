"""The deployment files as the tests read them: compose, Prometheus, Grafana, the dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "mdmflow.json"
_METRIC = re.compile(r"\b((?:mdmflow|temporal)_[a-z0-9_]+)\b")


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text())
    assert isinstance(data, dict)
    return data


def dashboard_exprs() -> list[str]:
    return [str(t["expr"]) for panel in dashboard()["panels"] for t in panel["targets"]]


def dashboard_metrics(prefix: str) -> set[str]:
    """Every metric the dashboard queries whose name starts with ``prefix``."""
    found = {m for expr in dashboard_exprs() for m in _METRIC.findall(expr)}
    return {m for m in found if m.startswith(prefix)}
