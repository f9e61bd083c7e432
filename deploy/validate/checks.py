#!/usr/bin/env python3
"""Checks of the deployment files that a JSON schema cannot express.

The schemas (compose-spec, Kubernetes OpenAPI, GitHub workflows) say a file is well formed;
these checks say it is the deployment DESIGN.md and deploy/README.md describe: the compose
services wait for each other, workers scale, the App manifest asks for the right
permissions and events, the gate fails on a regression only, pods run unprivileged.

Usage: checks.py ROOT {compose,app-manifest,workflow,kubernetes,dockerfile}...
Each failure is printed as "FAIL <file>: <what>"; the exit status is 1 if any failed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Callable

import yaml

FAILURES: list[str] = []


def fail(path: Path | str, message: str) -> None:
    FAILURES.append(f"FAIL {path}: {message}")


def check(condition: bool, path: Path | str, message: str) -> bool:
    if not condition:
        fail(path, message)
    return condition


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_yaml_documents(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


# --------------------------------------------------------------------------------------
# docker-compose.yml and deploy/env.example
# --------------------------------------------------------------------------------------

ENV_LINE = re.compile(r"^(?P<key>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z][A-Z0-9_]*)(?P<op>:?[-?+])?[^}]*\}")

# What perf-fixer needs from .env to run as a GitHub App (DESIGN.md, "Command line contract").
REQUIRED_ENV_EXAMPLE_KEYS = {
    "POSTGRES_PASSWORD",
    "PERF_FIXER_PUBLIC_URL",
    "GITHUB_APP_ID",
    "GITHUB_WEBHOOK_SECRET",
    "GITHUB_PRIVATE_KEY_PATH",
    "GITHUB_API_URL",
    "PERF_FIXER_GATE_CHECKS",
    "PERF_FIXER_SANDBOX",
}


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; comments and blank lines skipped; anything else is an error."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = ENV_LINE.match(line)
        if not check(match is not None, path, f"line {number} is not KEY=VALUE: {raw!r}"):
            continue
        assert match is not None
        key = match["key"]
        check(key not in values, path, f"line {number}: {key} is set twice")
        values[key] = match["value"]
    return values


def depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return {name: {"condition": "service_started"} for name in raw}
    return {name: (spec or {}) for name, spec in raw.items()}


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def command(service: dict[str, Any]) -> list[str]:
    raw = service.get("command") or []
    return raw.split() if isinstance(raw, str) else [str(part) for part in raw]


def check_compose(root: Path) -> None:
    path = root / "docker-compose.yml"
    env_path = root / "deploy" / "env.example"
    compose = load_yaml(path)
    env_example = parse_env_file(env_path)

    missing = REQUIRED_ENV_EXAMPLE_KEYS - env_example.keys()
    check(not missing, env_path, f"missing settings: {', '.join(sorted(missing))}")

    services: dict[str, Any] = compose.get("services") or {}
    for name in ("postgres", "migrate", "server", "worker"):
        check(name in services, path, f"no `{name}` service")
    if FAILURES:
        return

    # Every dependency names a service; conditions are the ones that make start-up ordered.
    for name, service in services.items():
        for target in depends_on(service):
            check(target in services, path, f"{name} depends on unknown service {target}")

    # Named volumes are declared.
    declared_volumes = set((compose.get("volumes") or {}).keys())
    for name, service in services.items():
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source", "")
            if source and not source.startswith((".", "/", "~", "$")):
                check(source in declared_volumes, path, f"{name} uses undeclared volume {source}")

    postgres = services["postgres"]
    check(str(postgres.get("image", "")).startswith("postgres:16"), path, "postgres is not postgres:16")
    test = " ".join(map(str, (postgres.get("healthcheck") or {}).get("test", [])))
    check("pg_isready" in test, path, "postgres has no pg_isready healthcheck")
    check(
        any(str(v).split(":", 1)[0] in declared_volumes for v in postgres.get("volumes") or []),
        path,
        "postgres keeps its data in no named volume",
    )

    migrate = services["migrate"]
    check(command(migrate) == ["migrate"], path, "migrate does not run `perf-fixer migrate`")
    check(str(migrate.get("restart")) == "no", path, 'migrate must have restart: "no"')
    check(
        depends_on(migrate).get("postgres", {}).get("condition") == "service_healthy",
        path,
        "migrate does not wait for a healthy postgres",
    )

    for name, expected in (("server", ["serve"]), ("worker", ["worker"])):
        service = services[name]
        check(command(service) == expected, path, f"{name} does not run `perf-fixer {expected[0]}`")
        check(
            depends_on(service).get("migrate", {}).get("condition") == "service_completed_successfully",
            path,
            f"{name} does not wait for migrate to complete successfully",
        )
        env = environment(service)
        check(
            env.get("DATABASE_URL", "").startswith("postgres://") and "@postgres:5432/" in env.get("DATABASE_URL", ""),
            path,
            f"{name} DATABASE_URL does not point at the postgres service",
        )
        check(".env" in (service.get("env_file") or []), path, f"{name} does not read .env")

    server = services["server"]
    check(environment(server).get("PERF_FIXER_WORKERS") == "0", path, "server must run no in-process workers (PERF_FIXER_WORKERS=0)")
    check(environment(server).get("PERF_FIXER_LISTEN", "").startswith("0.0.0.0:8080"), path, "server must listen on 0.0.0.0:8080")
    check(any(str(p).endswith(":8080") for p in server.get("ports") or []), path, "server does not publish port 8080")

    worker = services["worker"]
    check(not worker.get("ports"), path, "worker publishes ports: it could not scale past one replica")
    check("container_name" not in worker, path, "worker has a container_name: it could not scale")
    security = set(worker.get("security_opt") or [])
    check({"seccomp=unconfined", "systempaths=unconfined"} <= security, path, "worker lacks what bubblewrap needs (seccomp/systempaths unconfined)")
    check(not worker.get("privileged"), path, "worker must not be privileged")

    # Every variable the file interpolates without a default is documented in env.example.
    text = path.read_text(encoding="utf-8")
    for match in INTERPOLATION.finditer(text):
        name, op = match["name"], match["op"] or ""
        if "-" not in op:
            check(name in env_example, path, f"${{{name}}} has no default and is not in {env_path.name}")

    # The key directory that is mounted exists, and keeps keys out of git.
    secrets_dir = root / "deploy" / "secrets"
    check((secrets_dir / ".gitignore").is_file(), secrets_dir, "missing .gitignore that keeps private keys out of git")


# --------------------------------------------------------------------------------------
# deploy/github-app.yml
# --------------------------------------------------------------------------------------

MANIFEST_KEYS = {
    "name", "url", "hook_attributes", "redirect_url", "callback_urls", "setup_url",
    "description", "public", "default_events", "default_permissions",
    "request_oauth_on_install", "setup_on_update",
}
EXPECTED_PERMISSIONS = {
    "checks": "write",
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "metadata": "read",
}
EXPECTED_EVENTS = {"check_run", "issue_comment", "pull_request"}
# GitHub sends these to every App; a manifest cannot subscribe to them.
IMPLICIT_EVENTS = {"installation", "installation_repositories"}


def check_app_manifest(root: Path) -> None:
    path = root / "deploy" / "github-app.yml"
    manifest = load_yaml(path)
    if not check(isinstance(manifest, dict), path, "not a mapping"):
        return
    unknown = set(manifest) - MANIFEST_KEYS
    check(not unknown, path, f"keys GitHub's manifest does not know: {', '.join(sorted(unknown))}")
    for key in ("name", "url", "hook_attributes", "redirect_url", "public", "default_permissions", "default_events"):
        check(key in manifest, path, f"missing `{key}`")
    check(isinstance(manifest.get("name"), str) and 0 < len(manifest["name"]) <= 34, path, "name must be 1-34 characters")
    check(str(manifest.get("url", "")).startswith("https://"), path, "url must be https")
    hook = manifest.get("hook_attributes") or {}
    check(str(hook.get("url", "")).endswith("/webhooks/github"), path, "hook_attributes.url must end with /webhooks/github")
    check(str(manifest.get("redirect_url", "")).endswith("/setup/callback"), path, "redirect_url must end with /setup/callback")
    check(manifest.get("public") is False, path, "public must be false")
    check(manifest.get("default_permissions") == EXPECTED_PERMISSIONS, path, f"default_permissions must be {EXPECTED_PERMISSIONS}")
    events = manifest.get("default_events") or []
    check(set(events) == EXPECTED_EVENTS, path, f"default_events must be {sorted(EXPECTED_EVENTS)}")
    check(len(events) == len(set(events)), path, "default_events lists an event twice")
    check(not (set(events) & IMPLICIT_EVENTS), path, "installation events cannot be subscribed to; GitHub sends them anyway")


# --------------------------------------------------------------------------------------
# deploy/workflows/gate-perf.yml
# --------------------------------------------------------------------------------------


def check_workflow(root: Path) -> None:
    path = root / "deploy" / "workflows" / "gate-perf.yml"
    workflow = load_yaml(path)
    # YAML 1.1 reads a bare `on:` key as the boolean True.
    triggers = workflow.get("on", workflow.get(True))
    trigger_names = set(triggers) if isinstance(triggers, (dict, list)) else {triggers}
    check("pull_request" in trigger_names, path, "does not run on pull_request")
    check("pull_request_target" not in trigger_names, path, "pull_request_target would run untrusted code with secrets")

    permissions = workflow.get("permissions")
    check(isinstance(permissions, dict), path, "no top-level least-privilege `permissions:`")
    if isinstance(permissions, dict):
        writes = [scope for scope, level in permissions.items() if level == "write"]
        check(not writes, path, f"asks for write access it does not need: {writes}")

    jobs = workflow.get("jobs") or {}
    gates = [job for job in jobs.values() if job.get("name") == "gate:perf"]
    if not check(len(gates) == 1, path, "exactly one job must be named `gate:perf` (the check-run name)"):
        return
    job = gates[0]
    if isinstance(job.get("permissions"), dict):
        check("write" not in job["permissions"].values(), path, "gate job asks for write access")
    steps = job.get("steps") or []

    checkout = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@")]
    check(bool(checkout) and checkout[0].get("with", {}).get("fetch-depth") == 0, path, "checkout must use fetch-depth: 0")

    compare = [s for s in steps if "perf-fixer compare" in str(s.get("run", ""))]
    if check(len(compare) == 1, path, "no single step runs `perf-fixer compare`"):
        step = compare[0]
        script = str(step["run"])
        env = {k: str(v) for k, v in (step.get("env") or {}).items()}
        text = script + " " + " ".join(f"{k}={v}" for k, v in env.items())
        check("github.event.pull_request.base.sha" in text, path, "compare does not use the pull request's base SHA")
        check("github.event.pull_request.head.sha" in text, path, "compare does not use the pull request's head SHA")
        for flag in ("--repo", "--base", "--head", "--json", "--markdown"):
            check(flag in script, path, f"compare is run without {flag}")
        check("GITHUB_STEP_SUMMARY" in script, path, "the report does not reach the job summary")
        check(re.search(r"^\s*3\)[\s\S]*?exit 3", script, re.M) is not None, path, "exit 3 (regression) does not fail the step")
        five = re.search(r"^\s*5\)([\s\S]*?);;", script, re.M)
        check(five is not None and "exit" not in five.group(1), path, "exit 5 (inconclusive) must pass, visibly")
        check(re.search(r"set \+e", script) is not None, path, "compare's exit code is not captured (set +e)")

    upload = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    check(
        bool(upload) and "perf.json" in str(upload[0].get("with", {}).get("path", "")),
        path,
        "perf.json is not uploaded as an artifact",
    )
    if upload:
        check("always()" in str(upload[0].get("if", "")), path, "the report must be uploaded when the gate fails too")


# --------------------------------------------------------------------------------------
# deploy/kubernetes/
# --------------------------------------------------------------------------------------

IMAGE_UID = 10001


def pod_spec(resource: dict[str, Any]) -> dict[str, Any] | None:
    kind = resource.get("kind")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return resource["spec"]["template"]["spec"]
    if kind == "CronJob":
        return resource["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def check_kubernetes(root: Path) -> None:
    directory = root / "deploy" / "kubernetes"
    applied = sorted(directory.glob("*.yaml"))
    examples = sorted((directory / "examples").glob("*.yaml"))
    check(bool(applied), directory, "no manifests")

    resources: list[tuple[Path, dict[str, Any]]] = []
    for path in applied + examples:
        for doc in load_yaml_documents(path):
            resources.append((path, doc))

    def named(kind: str) -> dict[str, tuple[Path, dict[str, Any]]]:
        return {doc["metadata"]["name"]: (p, doc) for p, doc in resources if doc.get("kind") == kind}

    # The example Secret is never applied by `kubectl apply -f deploy/kubernetes/`.
    for path in applied:
        for doc in load_yaml_documents(path):
            check(doc.get("kind") != "Secret", path, "a Secret among applied manifests would overwrite the real one")
            check(doc.get("metadata", {}).get("namespace", "perf-fixer") == "perf-fixer" or doc.get("kind") == "Namespace", path, "resource outside the perf-fixer namespace")
    secrets = named("Secret")
    configmaps = named("ConfigMap")
    check("perf-fixer" in secrets, directory, "no example Secret `perf-fixer` in examples/")
    secret_keys = set((secrets.get("perf-fixer", (None, {}))[1].get("stringData") or {}).keys())
    for _, (path, secret) in secrets.items():
        for key, value in (secret.get("stringData") or {}).items():
            check("REPLACE_ME" in str(value), path, f"example Secret key {key} holds something other than a placeholder")

    workloads = {(p, doc["metadata"]["name"]): doc for p, doc in resources if pod_spec(doc) is not None}
    components: dict[str, dict[str, Any]] = {}
    for (path, name), workload in workloads.items():
        spec = pod_spec(workload)
        assert spec is not None
        component = workload["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component", name)
        components[component] = workload
        where = f"{path.name} {workload['kind']}/{name}"
        pod_security = spec.get("securityContext") or {}
        check(pod_security.get("runAsNonRoot") is True, where, "pod must set runAsNonRoot: true")
        check(pod_security.get("runAsUser") == IMAGE_UID, where, f"runAsUser must be the image's uid {IMAGE_UID}")
        check(spec.get("automountServiceAccountToken") is False, where, "service account token must not be mounted")
        check("seccompProfile" in pod_security, where, "no seccompProfile")
        volume_names = {v["name"] for v in spec.get("volumes") or []}
        for volume in spec.get("volumes") or []:
            if "secret" in volume:
                for item in volume["secret"].get("items") or []:
                    check(item["key"] in secret_keys, where, f"volume {volume['name']} uses Secret key {item['key']} the example lacks")
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            cwhere = f"{where} container {container['name']}"
            security = container.get("securityContext") or {}
            check(security.get("allowPrivilegeEscalation") is False, cwhere, "allowPrivilegeEscalation must be false")
            check(security.get("capabilities", {}).get("drop") == ["ALL"], cwhere, "must drop ALL capabilities")
            check(not security.get("capabilities", {}).get("add"), cwhere, "adds capabilities")
            check(not security.get("privileged"), cwhere, "privileged")
            resources_spec = container.get("resources") or {}
            check("cpu" in (resources_spec.get("requests") or {}) and "memory" in (resources_spec.get("requests") or {}), cwhere, "no cpu/memory requests")
            check("memory" in (resources_spec.get("limits") or {}), cwhere, "no memory limit")
            check(container.get("args", [None])[0] in {"serve", "worker", "migrate"}, cwhere, "does not run a perf-fixer service subcommand")
            for mount in container.get("volumeMounts") or []:
                check(mount["name"] in volume_names, cwhere, f"mounts undeclared volume {mount['name']}")
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    check(ref["name"] in secrets, cwhere, f"{env['name']} refers to unknown Secret {ref['name']}")
                    check(ref["key"] in secret_keys, cwhere, f"{env['name']} uses Secret key {ref['key']} the example lacks")
            for source in container.get("envFrom") or []:
                if "configMapRef" in source:
                    check(source["configMapRef"]["name"] in configmaps, cwhere, "envFrom names an unknown ConfigMap")
            if security.get("readOnlyRootFilesystem") is True:
                mounts = {m["mountPath"] for m in container.get("volumeMounts") or []}
                check("/tmp" in mounts, cwhere, "read-only root filesystem without a writable /tmp")

    for component in ("server", "worker", "migrate"):
        check(component in components, directory, f"no workload for the {component}")
    if FAILURES:
        return

    server = components["server"]
    container = pod_spec(server)["containers"][0]  # type: ignore[index]
    where = "server Deployment"
    check(container.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", where, "liveness probe must be /healthz")
    check(container.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", where, "readiness probe must be /readyz")
    check(container.get("securityContext", {}).get("readOnlyRootFilesystem") is True, where, "server root filesystem must be read-only")
    server_env = {e["name"]: e.get("value") for e in container.get("env") or []}
    check(server_env.get("PERF_FIXER_WORKERS") == "0", where, "server must run no in-process workers")
    check(str(server_env.get("PERF_FIXER_LISTEN", "")).startswith("0.0.0.0:"), where, "server must listen on all interfaces")
    check(pod_spec(server)["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where, "server must use the RuntimeDefault seccomp profile")  # type: ignore[index]

    worker = components["worker"]
    check(server["kind"] == "Deployment" and worker["kind"] == "Deployment", directory, "server and worker must be Deployments")
    check(isinstance(worker["spec"].get("replicas"), int), "worker Deployment", "replicas not set")
    wcontainer = pod_spec(worker)["containers"][0]  # type: ignore[index]
    requests = wcontainer["resources"].get("requests", {})
    limits = wcontainer["resources"].get("limits", {})
    check(
        requests.get("cpu") == limits.get("cpu") and requests.get("memory") == limits.get("memory"),
        "worker Deployment",
        "requests must equal limits (Guaranteed QoS, for CPU pinning)",
    )
    check(re.fullmatch(r"\d+", str(limits.get("cpu", ""))) is not None, "worker Deployment", "CPU must be whole cores to be pinned")
    check(bool(pod_spec(worker).get("nodeSelector")), "worker Deployment", "no nodeSelector for benchmark nodes")  # type: ignore[union-attr]

    migrate = components["migrate"]
    check(migrate["kind"] == "Job", directory, "migration must be a Job")

    policies = [doc for _, doc in resources if doc.get("kind") == "NetworkPolicy"]
    selected = {
        (p["spec"].get("podSelector", {}).get("matchLabels") or {}).get("app.kubernetes.io/component", "*"): p
        for p in policies
    }
    check("*" in selected, directory, "no default-deny NetworkPolicy")
    if "server" in selected:
        spec = selected["server"]["spec"]
        ports = {port.get("port") for rule in spec.get("ingress") or [] for port in rule.get("ports") or []}
        check(ports == {8080}, "server NetworkPolicy", "ingress must be TCP 8080 only")
        ports = {port.get("port") for rule in spec.get("egress") or [] for port in rule.get("ports") or []}
        check(ports == {53, 5432, 443}, "server NetworkPolicy", f"egress must be DNS, Postgres and 443 only, not {sorted(ports)}")
    else:
        fail(directory, "no NetworkPolicy for the server")
    if "worker" in selected:
        spec = selected["worker"]["spec"]
        check("Ingress" in spec.get("policyTypes", []) and not spec.get("ingress"), "worker NetworkPolicy", "workers must accept no ingress")
        ports = {port.get("port") for rule in spec.get("egress") or [] for port in rule.get("ports") or []}
        check(ports == {53, 5432, 443}, "worker NetworkPolicy", f"egress must be DNS, Postgres and 443 only, not {sorted(ports)}")
    else:
        fail(directory, "no NetworkPolicy for the workers")

    images = {c["image"] for w in workloads.values() for c in pod_spec(w)["containers"]}  # type: ignore[index]
    check(len(images) == 1, directory, f"workloads use different images: {sorted(images)}")


# --------------------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------------------

RUNTIME_PACKAGES = {"git", "ca-certificates", "bubblewrap", "valgrind", "linux-perf", "build-essential", "pkg-config", "libssl3"}


def check_dockerfile(root: Path) -> None:
    path = root / "Dockerfile"
    text = path.read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", joined, re.M | re.I)
    check(len(stages) >= 2, path, "not a multi-stage build")
    check(any(image.startswith("rust:") for image, _ in stages), path, "builder is not a rust: image")
    check(stages[-1][0].startswith("debian:") and "slim" in stages[-1][0], path, "runtime is not debian slim")
    check("cargo build --release --locked -p perf-fixer" in joined, path, "does not build perf-fixer with --release --locked")
    runtime = joined[joined.rfind("\nFROM ") :]
    installs = " ".join(re.findall(r"apt-get install ([^&\n]*)", runtime)) + " "
    for package in sorted(RUNTIME_PACKAGES):
        check(re.search(rf"\s{re.escape(package)}\s", installs) is not None, path, f"runtime does not apt-get install {package}")
    check("rustup-init" in runtime, path, "runtime has no rustup-managed toolchain")
    users = re.findall(r"^USER\s+(\S+)", runtime, re.M)
    check(bool(users) and users[-1] not in {"root", "0", "0:0"}, path, "the image does not end as a non-root user")
    check(re.search(r"^HEALTHCHECK\s", runtime, re.M) is not None, path, "no HEALTHCHECK")
    entry = re.search(r"^ENTRYPOINT\s+(\[.*\])", runtime, re.M)
    check(entry is not None and '"perf-fixer"' in entry.group(1), path, "ENTRYPOINT does not run perf-fixer")
    check(re.search(r'^CMD\s+\["serve"\]', runtime, re.M) is not None, path, 'CMD is not ["serve"]')
    for name in ("PERF_FIXER_WORKDIR=/var/lib/perf-fixer", "PERF_FIXER_LISTEN=0.0.0.0:8080", "HOME=/home/perf-fixer"):
        check(name in runtime, path, f"runtime does not set {name}")

    ignore = root / ".dockerignore"
    patterns = [line.strip() for line in ignore.read_text(encoding="utf-8").splitlines()]
    check("target/" in patterns or "target" in patterns, ignore, "target/ is not excluded")
    check(".env" in patterns, ignore, ".env (secrets) is not excluded")


CHECKS: dict[str, Callable[[Path], None]] = {
    "compose": check_compose,
    "app-manifest": check_app_manifest,
    "workflow": check_workflow,
    "kubernetes": check_kubernetes,
    "dockerfile": check_dockerfile,
}


def main(argv: list[str]) -> int:
    if len(argv) < 3 or any(name not in CHECKS for name in argv[2:]):
        print(f"usage: {argv[0]} ROOT {{{','.join(CHECKS)}}}...", file=sys.stderr)
        return 2
    root = Path(argv[1])
    for name in argv[2:]:
        before = len(FAILURES)
        try:
            CHECKS[name](root)
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError, IndexError) as error:
            fail(name, f"could not be checked: {type(error).__name__}: {error}")
        status = "ok" if len(FAILURES) == before else "FAILED"
        print(f"  {name}: {status}")
    for line in FAILURES:
        print(line, file=sys.stderr)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
