"""The docker compose stack, checked without a Docker engine: valid YAML, every service buildable
or pulled, every volume declared, every host path present, and the environment variables it sets
are the ones the code reads (and valid Airflow config options)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
AIRFLOW_SERVICES = {"airflow-init", "api-server", "scheduler", "dag-processor", "triggerer"}
_DEFAULT = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::?-(?P<default>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def interpolate(text: str) -> str:
    """Compose-style ``${VAR:-default}`` with an empty environment (``$$`` is a literal ``$``)."""
    return _DEFAULT.sub(lambda m: m.group("default") or "", text.replace("$$", "\0")).replace("\0", "$")


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def names_read_by_code() -> set[str]:
    """CHATKPI_* variables that the library, plugins or DAGs read."""
    names: set[str] = set()
    for folder in ("kpi_transforms", "plugins", "dags"):
        for file in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"[\"'](CHATKPI_[A-Z0-9_]+)[\"']", file.read_text(encoding="utf-8")))
    return names


def test_services(compose):
    services = compose["services"]
    assert AIRFLOW_SERVICES | {"airflow-db", "warehouse", "metabase"} <= set(services)
    for name in AIRFLOW_SERVICES:
        assert env_of(services[name])["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert services[name]["build"] == "." and services[name]["image"].startswith("chatkpi-airflow:")
    assert {services[n].get("command") for n in AIRFLOW_SERVICES - {"airflow-init"}} == {
        "api-server", "scheduler", "dag-processor", "triggerer",
    }
    assert services["metabase"]["profiles"] == ["bi"]
    assert all("profiles" not in s for n, s in services.items() if n != "metabase")
    assert services["airflow-db"]["image"].startswith("postgres:") and services["warehouse"]["image"].startswith("postgres:")


def test_every_service_has_an_image_or_a_build(compose):
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, name
        if "build" in service:
            build = service["build"]
            context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            assert (context / dockerfile).is_file(), name
        else:
            assert re.fullmatch(r"[\w./-]+:[\w.-]+", service["image"]), f"{name}: pin an image tag"


def test_depends_on_names_services(compose):
    services = compose["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on") or {}:
            assert dependency in services, f"{name} depends on unknown {dependency}"
    init = services["airflow-init"]
    assert "airflow db migrate" in init["command"][-1]
    assert "airflow pools set chatkpi_warehouse" in init["command"][-1]
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_volumes_are_declared_and_host_paths_exist(compose):
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in compose["services"].items():
        for volume in service.get("volumes") or []:
            source = interpolate(volume if isinstance(volume, str) else volume["source"]).split(":")[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: host path {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
    assert used == declared, f"declared but unused: {declared - used}"


def test_chatkpi_variables_match_the_code(compose):
    read = names_read_by_code()
    assert {"CHATKPI_CONFIG", "CHATKPI_WAREHOUSE_URL", "CHATKPI_LANDING_DIR", "CHATKPI_STAGE_DIR"} <= read
    env = env_of(compose["services"]["scheduler"])
    set_here = {k for k in env if k.startswith("CHATKPI_")}
    assert {"CHATKPI_CONFIG", "CHATKPI_WAREHOUSE_URL", "CHATKPI_LANDING_DIR"} <= set_here
    assert set_here <= read, f"set but never read: {set_here - read}"
    dockerfile_vars = set(re.findall(r"\b(CHATKPI_[A-Z0-9_]+)=", DOCKERFILE.read_text(encoding="utf-8")))
    assert dockerfile_vars and dockerfile_vars <= read
    assert env["CHATKPI_WAREHOUSE_URL"].startswith("postgresql+psycopg2://") and "@warehouse:5432/" in env["CHATKPI_WAREHOUSE_URL"]
    # the paths the variables name are mounted into the containers
    mounts = [interpolate(v).split(":")[1] for v in compose["services"]["scheduler"]["volumes"]]
    assert any(env["CHATKPI_CONFIG"].startswith(m + "/") for m in mounts)
    assert env["CHATKPI_LANDING_DIR"] in mounts
    assert any(env["CHATKPI_STAGE_DIR"].startswith(m + "/") for m in mounts)
    host_config = interpolate(next(v for v in compose["services"]["scheduler"]["volumes"] if "/opt/chatkpi/config" in v)).split(":")[0]
    assert (ROOT / host_config / Path(env["CHATKPI_CONFIG"]).name).is_file()


def test_airflow_variables_are_real_config_options(compose):
    spec = importlib.util.find_spec("airflow")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("apache-airflow is not installed")
    config_yml = Path(next(iter(spec.submodule_search_locations))) / "config_templates" / "config.yml"
    options = {
        (section, option)
        for section, body in yaml.safe_load(config_yml.read_text(encoding="utf-8")).items()
        for option in (body.get("options") or {})
    }
    for name, service in compose["services"].items():
        for key in env_of(service):
            if key.startswith("AIRFLOW__"):
                section, option = key.removeprefix("AIRFLOW__").lower().split("__", 1)
                assert (section, option) in options, f"{name}: {key} is not an Airflow config option"
    env = env_of(compose["services"]["scheduler"])
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api-server:8080/execution/"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@airflow-db:5432/airflow")


def test_dockerfile_matches_the_lock():
    text = DOCKERFILE.read_text(encoding="utf-8")
    (base,) = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert base == "apache/airflow:3.3.2-python3.11"
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert re.search(r"^apache-airflow==3\.3\.2$", lock, re.M), "the image tag and the locked Airflow differ"
    assert "pip install --no-cache-dir -r /opt/chatkpi/requirements.lock" in text
    for folder in ("dags", "plugins", "sql", "kpi_transforms"):
        assert re.search(rf"^COPY .*\b{folder} ", text, re.M), f"{folder}/ is not copied"
        assert (ROOT / folder).is_dir()
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".venv" in ignored and ".git" in ignored
    assert not {"dags", "plugins", "sql", "kpi_transforms", "requirements.lock"} & set(ignored)


# -- the Compose Specification, secrets, ports, volume ownership (issue 16) --------------------

SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"
INIT_ENV = ROOT / "deploy" / "init-env.sh"
_REQUIRED = re.compile(r"\$\{(?P<name>[A-Z0-9_]+):\?[^}]*\}")
_ANY = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<op>:?[-?])?(?P<arg>[^}]*)\}")


def interpolate_with(text: str, env: dict[str, str]) -> str:
    """Compose interpolation: ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` (an unset
    required variable raises, as ``docker compose config`` does); ``$$`` is a literal ``$``."""

    def one(m: re.Match) -> str:
        name, op, arg = m.group("name"), m.group("op") or "", m.group("arg")
        value = env.get(name)
        if op.endswith("?") and not value:
            raise KeyError(f"required variable {name} is missing: {arg}")
        if op.endswith("-") and not value:
            return arg
        return value or ""

    return _ANY.sub(one, text.replace("$$", "\0")).replace("\0", "$")


@pytest.fixture(scope="module")
def generated_env(tmp_path_factory) -> dict[str, str]:
    """The .env that deploy/init-env.sh writes, read back."""
    import subprocess

    target = tmp_path_factory.mktemp("compose-env") / ".env"
    subprocess.run(["bash", str(INIT_ENV), str(target)], check=True, capture_output=True, timeout=30)
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    pairs = [line.split("=", 1) for line in target.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return dict(pairs)


def test_compose_file_follows_the_compose_specification(compose, generated_env):
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    for label, document in (
        ("as written", compose),
        ("interpolated with deploy/init-env.sh's .env", yaml.safe_load(interpolate_with(COMPOSE.read_text(encoding="utf-8"), generated_env))),
    ):
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        assert not errors, f"{label}: " + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5])
    # the validator does reject a broken file (a port must be a string or a number, not a map)
    broken = json.loads(json.dumps(compose))
    broken["services"]["warehouse"]["ports"] = [{"published": {"bad": 1}, "target": 5432}]
    assert list(validator.iter_errors(broken))
    assert "compose-spec" in (SCHEMA.parent / "SOURCE.md").read_text(encoding="utf-8")


def test_compose_needs_the_generated_secrets_and_has_none_of_its_own(compose, generated_env):
    text = COMPOSE.read_text(encoding="utf-8")
    required = {m.group("name") for m in _REQUIRED.finditer(text)}
    assert required == {"AIRFLOW_DB_PASSWORD", "CHATKPI_WAREHOUSE_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_FERNET_KEY"}
    assert required <= set(generated_env), "deploy/init-env.sh must write every required variable"
    with pytest.raises(KeyError, match="AIRFLOW_DB_PASSWORD"):
        interpolate_with(text, {})  # without .env compose refuses to start: no default password
    for name in ("airflow-db", "warehouse"):
        assert _REQUIRED.fullmatch(str(env_of(compose["services"][name])["POSTGRES_PASSWORD"]))
    env = env_of(compose["services"]["scheduler"])
    for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY"):
        assert _REQUIRED.fullmatch(env[key]), key
    assert ":airflow@" not in text and ":chatkpi@" not in text and "change-me" not in text
    done = yaml.safe_load(interpolate_with(text, generated_env))
    url = env_of(done["services"]["scheduler"])["CHATKPI_WAREHOUSE_URL"]
    assert url == f"postgresql+psycopg2://chatkpi:{generated_env['CHATKPI_WAREHOUSE_PASSWORD']}@warehouse:5432/chatkpi"
    assert len(generated_env["AIRFLOW_FERNET_KEY"]) == 44 and generated_env["AIRFLOW_UID"].isdigit()
    # the secrets never reach the image or git
    assert ".env" in (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "/.env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_no_port_is_published_on_all_interfaces_by_default(compose, generated_env):
    done = yaml.safe_load(interpolate_with(COMPOSE.read_text(encoding="utf-8"), generated_env))
    published = [(name, port) for name, service in done["services"].items() for port in service.get("ports") or []]
    assert {name for name, _ in published} == {"warehouse", "api-server", "metabase"}
    for name, port in published:
        assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert ("warehouse", "127.0.0.1:5433:5432") in published
    opened = yaml.safe_load(interpolate_with(COMPOSE.read_text(encoding="utf-8"), {**generated_env, "CHATKPI_BIND_ADDRESS": "0.0.0.0"}))
    assert opened["services"]["warehouse"]["ports"] == ["0.0.0.0:5433:5432"]  # an explicit choice


def test_volumes_are_writable_by_tasks_running_as_the_airflow_uid(compose):
    """A named volume starts as a copy of the image's folder at its mount point (owner and mode
    included); a folder the image lacks is created root-owned, and tasks running as
    ${AIRFLOW_UID}:0 could not write their stage folders."""
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    made = set(re.findall(r"(/opt/airflow/[\w/]+)", dockerfile))
    assert {"/opt/airflow/lake/_stage", "/opt/airflow/reports"} <= made
    assert re.search(r"chown -R airflow:0 /opt/airflow/lake /opt/airflow/reports", dockerfile)
    assert re.search(r"chmod -R g\+rwX,g\+s /opt/airflow/lake /opt/airflow/reports", dockerfile)
    declared = set(compose["volumes"])
    scheduler = compose["services"]["scheduler"]
    assert scheduler["user"] == "${AIRFLOW_UID:-50000}:0"
    for volume in scheduler["volumes"]:
        source, target = volume.split(":")[:2]
        if source in declared and target.startswith("/opt/airflow/") and target != "/opt/airflow/logs":
            assert target in made, f"{target} is mounted from volume {source} but the image does not create it"
    env = env_of(scheduler)
    assert env["CHATKPI_STAGE_DIR"].startswith("/opt/airflow/lake/") and env["CHATKPI_REPORTS_DIR"] == "/opt/airflow/reports"
    init = compose["services"]["airflow-init"]
    assert init["user"] == "0:0"
    assert 'chown -R "${AIRFLOW_UID:-50000}:0" /opt/airflow/lake /opt/airflow/reports /opt/airflow/logs' in init["command"][-1]
