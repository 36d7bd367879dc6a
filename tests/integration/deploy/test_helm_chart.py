"""The Helm chart, linted and rendered by a real helm, keeps its deployment promises.

helm comes from `scripts/helm.sh` (built from the Go module proxy, cached); in CI a
helm that cannot be built fails these tests, elsewhere they skip. The chart declares
Neo4j's chart as an optional dependency that CI cannot fetch, and helm refuses to lint
or render a chart whose declared dependency is missing (even when disabled), so unless
`helm dependency build helm/opsgraph` has been run the chart is checked from a copy
whose Chart.yaml lacks only the `dependencies` block.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.settings import load_settings as load_agent_settings
from api.settings import ENV_PREFIX, ServerSettings, load_settings
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "helm" / "opsgraph"
ALL_ON = CHART / "ci" / "all-on-values.yaml"
RELEASE, NAMESPACE = "og", "ops"
WORKLOAD_KINDS = ("Deployment", "DaemonSet", "StatefulSet", "Job")
# Env names that carry credentials and so must come from a Secret, never a literal.
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|COMMUNITY|AUTH|KEY$")

Manifest = dict[str, Any]


@pytest.fixture(scope="session")
def helm() -> str:
    try:
        built = subprocess.run([str(ROOT / "scripts" / "helm.sh")], capture_output=True,
                               text=True, timeout=1800, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        require_service("helm", "scripts/helm.sh (needs Go and the Go module proxy)", exc)
        raise
    if built.returncode != 0:
        reason = (built.stderr.strip().splitlines() or ["no output"])[-1]
        require_service("helm", "scripts/helm.sh (needs Go and the Go module proxy)", reason)
    return built.stdout.strip()


@pytest.fixture(scope="session")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The chart itself when its dependencies are fetched, else a copy without them."""
    if any((CHART / "charts").glob("neo4j*")):
        return CHART
    copy = tmp_path_factory.mktemp("chart") / "opsgraph"
    shutil.copytree(CHART, copy, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
    metadata = yaml.safe_load((copy / "Chart.yaml").read_text())
    metadata.pop("dependencies")
    (copy / "Chart.yaml").write_text(yaml.safe_dump(metadata, sort_keys=False))
    return copy


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm, *args], capture_output=True, text=True, timeout=120,
                          check=False)


def render(helm: str, chart: Path, *args: str) -> list[Manifest]:
    result = run_helm(helm, "template", RELEASE, str(chart), "--namespace", NAMESPACE, *args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session", params=["defaults", "all-on"])
def manifests(request: pytest.FixtureRequest, helm: str, chart: Path) -> list[Manifest]:
    values = ["-f", str(chart / "ci" / "all-on-values.yaml")] if request.param == "all-on" else []
    return render(helm, chart, *values)


# ---- walking the rendered manifests ----

def of_kind(manifests: list[Manifest], *kinds: str) -> list[Manifest]:
    return [doc for doc in manifests if doc["kind"] in kinds]


def pod_spec(workload: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Manifest) -> Iterator[dict[str, Any]]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def component(workload: Manifest) -> str:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels["app.kubernetes.io/component"]


def workload(manifests: list[Manifest], name: str) -> Manifest:
    for doc in of_kind(manifests, *WORKLOAD_KINDS):
        if component(doc) == name:
            return doc
    raise AssertionError(f"no {name} workload rendered")


def main_container(manifests: list[Manifest], name: str) -> dict[str, Any]:
    found: dict[str, Any] = pod_spec(workload(manifests, name))["containers"][0]
    return found


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


# ---- chart metadata and lint ----

def test_neo4j_is_an_optional_dependency_from_its_official_repository() -> None:
    metadata = yaml.safe_load((CHART / "Chart.yaml").read_text())
    (neo4j,) = [dep for dep in metadata["dependencies"] if dep["name"] == "neo4j"]
    assert neo4j["repository"] == "https://helm.neo4j.com/neo4j"
    assert neo4j["condition"] == "neo4j.enabled"
    assert yaml.safe_load((CHART / "values.yaml").read_text())["neo4j"]["enabled"] is False


@pytest.mark.parametrize("values", ["defaults", "all-on"])
def test_lint_strict_is_clean(helm: str, chart: Path, values: str) -> None:
    extra = ["-f", str(chart / "ci" / "all-on-values.yaml")] if values == "all-on" else []
    result = run_helm(helm, "lint", "--strict", str(chart), *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout, result.stdout
    assert "[ERROR]" not in result.stdout, result.stdout


def undocumented_values_keys(text: str) -> list[str]:
    """Keys of a values file without a comment line right above them.

    A `# --` comment documents its key's whole value, so what is nested under it (a
    probe, a resources block, example list entries) is that value, not more keys; a
    plain `#` comment introduces a section whose keys are checked one by one.
    """
    lines = text.splitlines()
    undocumented: list[str] = []
    skip_deeper_than: int | None = None
    for number, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if skip_deeper_than is not None:
            if not line.strip() or indent > skip_deeper_than:
                continue
            skip_deeper_than = None
        key = re.match(r"^\s*[A-Za-z_][\w.-]*:(.*)$", line)
        if not key:
            continue
        comment = number
        while comment > 0 and lines[comment - 1].strip().startswith("#"):
            comment -= 1
        if comment == number:
            undocumented.append(f"values.yaml:{number + 1}: {line.strip()}")
        documents_value = lines[comment].strip().startswith("# --")
        rest = key.group(1).strip()
        if re.fullmatch(r"[|>][-+]?", rest) or (documents_value and not rest):
            skip_deeper_than = indent
    return undocumented


def test_every_values_key_is_documented() -> None:
    assert undocumented_values_keys((CHART / "values.yaml").read_text()) == []
    assert undocumented_values_keys("# a section\na:\n  # -- doc\n  b: 1\n  c: 2\n") == [
        "values.yaml:5: c: 2"]


def test_all_on_values_switch_every_toggle_on() -> None:
    all_on = yaml.safe_load(ALL_ON.read_text())
    for path in ("dispatcher.separate", "poller.enabled", "poller.traps.enabled",
                 "agent.enabled", "ingress.enabled", "serviceMonitor.enabled",
                 "networkPolicy.enabled", "server.autoscaling.enabled", "serviceModel.import"):
        node: Any = all_on
        for part in path.split("."):
            node = node[part]
        assert node is True, path


# ---- what every rendered manifest must keep ----

def test_all_on_renders_every_optional_part(helm: str, chart: Path) -> None:
    rendered = render(helm, chart, "-f", str(chart / "ci" / "all-on-values.yaml"))
    kinds = {doc["kind"] for doc in rendered}
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress", "ServiceMonitor",
            "NetworkPolicy", "DaemonSet", "Job"} <= kinds
    assert {component(doc) for doc in of_kind(rendered, "Deployment")} == {
        "server", "dispatcher", "poller"}
    traps = [svc for svc in of_kind(rendered, "Service")
             if any(port["protocol"] == "UDP" for port in svc["spec"]["ports"])]
    assert [port["port"] for svc in traps for port in svc["spec"]["ports"]] == [162]


def test_server_probes_liveness_and_readiness_endpoints(manifests: list[Manifest]) -> None:
    server = main_container(manifests, "server")
    assert server["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert server["readinessProbe"]["httpGet"]["path"] == "/readyz"
    port_names = {port["name"] for port in server["ports"]}
    assert server["livenessProbe"]["httpGet"]["port"] in port_names
    assert server["readinessProbe"]["httpGet"]["port"] in port_names


def test_long_running_containers_have_probes(manifests: list[Manifest]) -> None:
    for doc in of_kind(manifests, "Deployment", "DaemonSet"):
        for container in pod_spec(doc)["containers"]:
            assert "livenessProbe" in container, f"{doc['metadata']['name']}/{container['name']}"


def test_every_container_has_requests_and_limits(manifests: list[Manifest]) -> None:
    for doc in of_kind(manifests, *WORKLOAD_KINDS):
        for container in containers(doc):
            where = f"{doc['metadata']['name']}/{container['name']}"
            resources = container.get("resources", {})
            assert {"cpu", "memory"} <= set(resources.get("requests", {})), where
            assert {"cpu", "memory"} <= set(resources.get("limits", {})), where


def test_every_pod_runs_non_root_with_a_read_only_root(manifests: list[Manifest]) -> None:
    # The agent DaemonSet included: it needs the node's PID and network namespaces and
    # read-only host mounts, not root, capabilities or a writable image.
    for doc in of_kind(manifests, *WORKLOAD_KINDS):
        pod = pod_spec(doc)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        tmp = {volume["name"]: volume for volume in pod["volumes"]}["tmp"]
        assert "emptyDir" in tmp
        for container in containers(doc):
            where = f"{doc['metadata']['name']}/{container['name']}"
            security = container["securityContext"]
            assert security["runAsNonRoot"] is True, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert "privileged" not in security, where
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], where


def test_only_the_agent_reaches_into_the_node(manifests: list[Manifest]) -> None:
    for doc in of_kind(manifests, *WORKLOAD_KINDS):
        pod = pod_spec(doc)
        host_paths = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
        if component(doc) != "agent":
            assert not pod.get("hostPID"), doc["metadata"]["name"]
            assert not pod.get("hostNetwork"), doc["metadata"]["name"]
            assert host_paths == {}, doc["metadata"]["name"]
            continue
        assert {"/proc", "/sys"} <= set(host_paths.values())
        for mount in pod["containers"][0]["volumeMounts"]:
            if mount["name"] in host_paths and mount["name"] != "spool":
                assert mount.get("readOnly") is True, mount


def test_workload_selectors_match_their_pod_labels(manifests: list[Manifest]) -> None:
    for doc in of_kind(manifests, "Deployment", "DaemonSet", "StatefulSet"):
        selector = doc["spec"]["selector"]["matchLabels"]
        assert selects(selector, doc["spec"]["template"]["metadata"]["labels"]), doc["metadata"]


def test_services_and_budgets_select_rendered_pods(manifests: list[Manifest]) -> None:
    pods = of_kind(manifests, "Deployment", "DaemonSet", "StatefulSet")
    for service in of_kind(manifests, "Service"):
        selector = service["spec"]["selector"]
        targets = [doc for doc in pods
                   if selects(selector, doc["spec"]["template"]["metadata"]["labels"])]
        assert targets, f"Service {service['metadata']['name']} selects no pods"
        for port in service["spec"]["ports"]:
            container_ports = {(p["name"], p.get("protocol", "TCP"))
                               for doc in targets for c in pod_spec(doc)["containers"]
                               for p in c.get("ports", [])}
            assert (port["targetPort"], port["protocol"]) in container_ports, port
    for budget in of_kind(manifests, "PodDisruptionBudget"):
        selector = budget["spec"]["selector"]["matchLabels"]
        assert any(selects(selector, doc["spec"]["template"]["metadata"]["labels"])
                   for doc in pods), budget["metadata"]["name"]
    deployments = {doc["metadata"]["name"] for doc in of_kind(manifests, "Deployment")}
    for hpa in of_kind(manifests, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments


def test_agents_report_to_the_release_server(helm: str, chart: Path) -> None:
    rendered = render(helm, chart, "-f", str(chart / "ci" / "all-on-values.yaml"))
    agent = env_of(main_container(rendered, "agent"))
    server_service = next(svc for svc in of_kind(rendered, "Service")
                          if svc["metadata"]["name"].endswith("-server"))
    url = agent["OPSGRAPH_AGENT_SERVER_URL"]["value"]
    assert url == (f"http://{server_service['metadata']['name']}.{NAMESPACE}.svc:"
                   f"{server_service['spec']['ports'][0]['port']}")
    # Each node's token is a file from the token Secret, named after the node.
    token_file = agent["OPSGRAPH_AGENT_TOKEN_FILE"]["value"]
    assert agent["OPSGRAPH_AGENT_AGENT_ID"]["value"] == "$(NODE_NAME)"
    assert token_file.endswith("/$(NODE_NAME)")
    pod = pod_spec(workload(rendered, "agent"))
    mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
    secrets = [v["name"] for v in pod["volumes"] if "secret" in v]
    assert any(token_file.startswith(mounts[name] + "/") for name in secrets)


def test_the_agent_accepts_the_daemonset_settings(helm: str, chart: Path) -> None:
    rendered = render(helm, chart, "-f", str(chart / "ci" / "all-on-values.yaml"))
    container = main_container(rendered, "agent")
    env = {name: item["value"].replace("$(NODE_NAME)", "node-1")
           for name, item in env_of(container).items() if "value" in item}
    env.pop("OPSGRAPH_AGENT_TOKEN_FILE")  # a file only the pod has
    settings = load_agent_settings(environ=env)
    assert settings.agent_id == "node-1"
    assert settings.metrics_listen is not None
    assert settings.metrics_listen.port == container["ports"][0]["containerPort"]
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    assert mounts["host-proc"] == f"{settings.root_path}/proc"
    assert mounts["host-sys"] == f"{settings.root_path}/sys"
    assert settings.spool_path.parent == Path(mounts["spool"])


# ---- secrets ----

def test_secret_values_never_appear_outside_secrets(helm: str, chart: Path) -> None:
    sentinel = "s3ntinel-Pa55"
    rendered = render(helm, chart, "--set", "store.type=neo4j",
                      "--set", "store.neo4j.uri=bolt://neo4j.example:7687",
                      "--set", f"store.neo4j.password={sentinel}",
                      "--set", f"ticketing.credentials.JIRA_API_TOKEN={sentinel}")
    holders = [doc["kind"] for doc in rendered if sentinel in yaml.safe_dump(doc)]
    assert holders == ["Secret", "Secret"]
    server = main_container(rendered, "server")
    password = env_of(server)["OPSGRAPH_NEO4J_PASSWORD"]
    assert "value" not in password
    assert password["valueFrom"]["secretKeyRef"]["key"] == "password"


def test_credentials_reach_containers_only_through_secret_references(
        manifests: list[Manifest]) -> None:
    for doc in of_kind(manifests, *WORKLOAD_KINDS):
        for container in containers(doc):
            for name, item in env_of(container).items():
                if SECRET_NAME.search(name) and not name.endswith("_FILE"):
                    assert "secretKeyRef" in item.get("valueFrom", {}), (doc["metadata"], name)
            for source in container.get("envFrom", []):
                assert set(source) <= {"secretRef", "configMapRef"}, source


# ---- the server's settings ----

def server_environment(manifests: list[Manifest], files: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the server container's OPSGRAPH_* variables into this process's environment,
    with the files the chart renders (ConfigMaps) written under `files` and the *_FILE
    variables pointing there; a file from a ConfigMap the chart does not render (an
    existing one) is left unset, and values from Secrets get a stand-in."""
    server = main_container(manifests, "server")
    mounts = {mount["mountPath"]: mount["name"] for mount in server["volumeMounts"]}
    volumes = {volume["name"]: volume
               for volume in pod_spec(workload(manifests, "server"))["volumes"]}
    rendered = {doc["metadata"]["name"]: doc["data"] for doc in of_kind(manifests, "ConfigMap")}
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    for name, item in env_of(server).items():
        if not name.startswith(ENV_PREFIX):
            continue
        value = item.get("value", "from-a-secret")
        if name.endswith("_FILE"):
            path = Path(value)
            config_map = volumes[mounts[str(path.parent)]]["configMap"]["name"]
            if config_map not in rendered:
                continue
            local = files / path.parent.name / path.name
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_text(rendered[config_map][path.name])
            value = str(local)
        monkeypatch.setenv(name, value)


def test_every_server_setting_is_set_from_values(request: pytest.FixtureRequest,
                                                  manifests: list[Manifest]) -> None:
    """Each ServerSettings field arrives as OPSGRAPH_<FIELD>. With every toggle on, all of
    them are set; by default, a setting whose default is None (a file, Neo4j credentials)
    may stay unset."""
    server = env_of(main_container(manifests, "server"))
    fields = ServerSettings.model_fields
    optional = {name for name, field in fields.items() if field.default is None}
    all_on = request.node.callspec.params["manifests"] == "all-on"
    expected = {f"{ENV_PREFIX}{name.upper()}" for name in fields
                if all_on or name not in optional}
    assert expected <= set(server), f"not set by the chart: {sorted(expected - set(server))}"


def test_the_server_accepts_the_settings_and_files_it_is_given(
        manifests: list[Manifest], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.app import create_app

    server_environment(manifests, tmp_path, monkeypatch)
    settings = load_settings()
    server = main_container(manifests, "server")
    port = next(p["containerPort"] for p in server["ports"] if p["name"] == "http")
    assert settings.listen_port == port
    assert settings.listen_host == "0.0.0.0"
    # The app factory reads the rules, routing and policy files as the pod would.
    app = create_app(settings, ticking=False)
    if settings.rules_file is not None:
        assert app.state.rules.rules, "the rules file mounted by default holds no rules"


def test_every_opsgraph_role_gets_the_same_settings(helm: str, chart: Path) -> None:
    rendered = render(helm, chart, "-f", str(chart / "ci" / "all-on-values.yaml"))
    settings = {name for name in env_of(main_container(rendered, "server"))
                if name.startswith(ENV_PREFIX)}
    for role in ("dispatcher", "poller"):
        assert settings <= set(env_of(main_container(rendered, role))), role


def test_default_install_keeps_sqlite_on_one_claim(helm: str, chart: Path) -> None:
    manifests = render(helm, chart)
    server = main_container(manifests, "server")
    url = env_of(server)["OPSGRAPH_STORE_URL"]["value"]
    mounts = {m["name"]: m["mountPath"] for m in server["volumeMounts"]}
    assert url == f"sqlite:///{mounts['data']}/opsgraph.db"
    claims = [doc for doc in manifests if doc["kind"] == "PersistentVolumeClaim"]
    assert len(claims) == 1
    assert workload(manifests, "server")["spec"]["strategy"]["type"] == "Recreate"


# ---- refusals ----

@pytest.mark.parametrize(("values", "message"), [
    (["--set", "server.replicas=2"],
     "store.type=sqlite keeps the CMDB in one file on one volume, so only one opsgraph pod "
     "may use it: server.replicas must be 1 (got 2); use store.type=neo4j"),
    (["--set", "server.autoscaling.enabled=true"],
     "server.autoscaling.enabled needs store.type=neo4j"),
    (["--set", "store.type=neo4j"], "store.type=neo4j needs store.neo4j.uri"),
    (["--set", "store.type=neo4j", "--set", "store.neo4j.uri=bolt://db:7687"],
     "store.type=neo4j needs credentials"),
    (["--set", "settings.store_url=sqlite:///x.db"], "settings.store_url is set by the chart"),
    (["--set", "store.type=neo4j", "--set", "neo4j.enabled=true",
      "--set", "store.neo4j.existingSecret=a", "--set", "neo4j.neo4j.passwordFromSecret=b"],
     "named in both store.neo4j.existingSecret and neo4j.neo4j.passwordFromSecret"),
    (["--set", "agent.enabled=true"], "agent.enabled=true needs agent.tokenSecret"),
])
def test_unusable_values_fail_with_the_fix(helm: str, chart: Path, values: list[str],
                                           message: str) -> None:
    result = run_helm(helm, "template", RELEASE, str(chart), *values)
    assert result.returncode != 0
    assert message in result.stderr, result.stderr
