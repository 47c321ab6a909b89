"""The images the simulated nodes can pull, and how the program in each behaves:
which ports and HTTP paths it serves, what it logs, its memory use, whether it runs
forever. An image not in the catalog, or a tag the repository does not have, fails to
pull with the messages a real container runtime gives."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace

from .. import timefmt
from .steps import Exit, Forever, Log, Serve, Sleep, Step

# Tags real repositories carry: versions like 1, 1.25, 1.25.3, with variants such as
# -alpine, -slim, -bookworm (one after another: 3.12-slim-bookworm); and the usual names.
_VARIANT = r"(alpine(\d+(\.\d+)?)?|slim|bookworm|bullseye|trixie|jammy|noble|focal|perl|otel|musl|glibc|uclibc)"
VERSION_TAG = re.compile(rf"^(latest|stable|mainline|lts|{_VARIANT}|v?\d+(\.\d+){{0,2}}(-{_VARIANT})*)$")


@dataclass(frozen=True)
class Program:
    """A simulated program."""

    start: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    paths: tuple[str, ...] = ("/",)  # HTTP paths answered 200 ("*": any)
    bodies: dict[str, str] = field(default_factory=dict)  # path -> response body
    memory_mi: int = 16
    cpu_m: int = 2
    tick: tuple[str, ...] = ()
    tick_every: float = 0.0
    shell: bool = False  # a shell image: the container's command/args say what runs
    access_log: str = ""  # a line logged per HTTP request: {ip} {method} {path} {status} {reason} {agent}
    crash: tuple[str, ...] = ("panic: runtime error: invalid memory address or nil pointer dereference",
                              "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a2b1c]")

    def steps(self, faults: frozenset[str] = frozenset()) -> list[Step]:
        """What the program does, as the faults on its pod change it."""
        start: list[Step] = [Log(line) for line in self.start]
        if "crashloop" in faults:
            return [*start[:2], *(Log(line) for line in self.crash), Exit(1)]
        if "slow-start" in faults:
            start.append(Sleep(180.0))
        return [*start, Serve(), Forever(self.tick, self.tick_every)]


HEALTH = ('{"status":"healthy","version":"1.0.0","timestamp":"{now}",'
          '"checks":{"database":{"status":"healthy"}}}')

NGINX = Program(
    start=("/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration",
           "/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/",
           "/docker-entrypoint.sh: Configuration complete; ready for start up",
           "{date} [notice] 1#1: using the \"epoll\" event method",
           "{date} [notice] 1#1: start worker processes"),
    ports=(80,), paths=("/", "/index.html"), memory_mi=8,
    crash=('{date} [emerg] 1#1: host not found in upstream "backend" in /etc/nginx/conf.d/default.conf:14',
           'nginx: [emerg] host not found in upstream "backend" in /etc/nginx/conf.d/default.conf:14'),
    access_log='{ip} - - [{clf}] "{method} {path} HTTP/1.1" {status} 615 "-" "{agent}" "-"',
)
HTTPD = Program(
    start=("AH00558: httpd: Could not reliably determine the server's fully qualified domain name",
           "[mpm_event:notice] [pid 1:tid 1] AH00489: Apache/2.4.62 (Unix) configured -- resuming normal "
           "operations"),
    ports=(80,), paths=("/",), memory_mi=12,
    access_log='{ip} - - [{clf}] "{method} {path} HTTP/1.1" {status} 45',
)
REDIS = Program(
    start=("1:C {redis_date} * oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
           "1:M {redis_date} * Ready to accept connections tcp"),
    ports=(6379,), paths=(), memory_mi=10,
)
POSTGRES = Program(
    start=("PostgreSQL init process complete; ready for start up.",
           "{date} UTC [1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432",
           "{date} UTC [1] LOG:  database system is ready to accept connections"),
    ports=(5432,), paths=(), memory_mi=60,
)
MYSQL = Program(
    start=("[Note] [Entrypoint]: Entrypoint script for MySQL Server started.",
           "[System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. Version: '8.4.3'  "
           "socket: '/var/run/mysqld/mysqld.sock'  port: 3306  MySQL Community Server - GPL."),
    ports=(3306, 33060), paths=(), memory_mi=360,
)
SHELL = Program(shell=True, paths=(), memory_mi=1)
TODO_BACKEND = Program(
    start=("INFO:     Started server process [1]",
           "INFO:     Waiting for application startup.",
           "INFO:     Database connection pool created",
           "INFO:     Application startup complete.",
           "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)"),
    ports=(8000,), paths=("/health", "/docs", "/openapi.json", "/api/todos"),
    bodies={"/health": HEALTH, "/api/todos": "[]"}, memory_mi=120, cpu_m=25,
    crash=("ERROR:    Traceback (most recent call last):",
           '  File "/app/app/database.py", line 18, in init_db',
           "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at \"db\" "
           "(10.96.0.12), port 5432 failed: Connection refused",
           "\tIs the server running on that host and accepting TCP/IP connections?",
           "ERROR:    Application startup failed. Exiting."),
    access_log='INFO:     {ip}:0 - "{method} {path} HTTP/1.1" {status} {reason}',
)
TODO_FRONTEND = Program(
    start=("  \u25b2 Next.js 14.2.3",
           "  - Local:        http://localhost:3000",
           "  - Network:      http://0.0.0.0:3000",
           "",
           " \u2713 Starting...",
           " \u2713 Ready in 312ms"),
    ports=(3000,), paths=("*",), memory_mi=150, cpu_m=20,
    crash=(" \u2a2f Failed to start server",
           "Error: listen EADDRINUSE: address already in use 0.0.0.0:3000",
           "    at Server.setupListenHandle [as _listen2] (node:net:1817:16) {",
           "  code: 'EADDRINUSE',", "}"),
)
PYTHON = Program(shell=True, paths=(), memory_mi=10)


@dataclass(frozen=True)
class Repository:
    program: Program
    tags: re.Pattern[str] = VERSION_TAG
    pullable: bool = True  # False: only on nodes it was loaded into, as `minikube image load` does


LOCAL_TAGS = re.compile(r"^(v1\.[0-2]|latest)$")

CATALOG: dict[str, Repository] = {
    "nginx": Repository(NGINX),
    "nginx-unprivileged": Repository(replace(NGINX, ports=(8080, 8443))),
    "httpd": Repository(HTTPD),
    "redis": Repository(REDIS),
    "postgres": Repository(POSTGRES),
    "mysql": Repository(MYSQL),
    "busybox": Repository(SHELL),
    "alpine": Repository(SHELL),
    "ubuntu": Repository(SHELL),
    "debian": Repository(SHELL),
    "python": Repository(PYTHON),
    "todo-backend": Repository(TODO_BACKEND, LOCAL_TAGS, pullable=False),
    "todo-frontend": Repository(TODO_FRONTEND, LOCAL_TAGS, pullable=False),
}

# What the seed's Minikube node has loaded: `minikube image load todo-*:v1.0` and later tags.
PRELOADED = tuple(f"docker.io/library/{repo}:v1.{n}" for repo in ("todo-backend", "todo-frontend")
                  for n in range(3))


@dataclass(frozen=True)
class Image:
    reference: str  # as written in the pod spec
    repository: str  # the catalog name, e.g. "nginx"
    full: str  # docker.io/library/nginx:1.25
    tag: str

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.full.encode()).hexdigest()


class PullError(Exception):
    """The image cannot be pulled; the message is the runtime's."""


def parse(reference: str) -> Image:
    name, _, tag = reference.rpartition(":") if ":" in reference.rsplit("/", 1)[-1] else (reference, "", "")
    tag = tag or "latest"
    if "@" in name:
        name = name.split("@", 1)[0]
    parts = name.split("/")
    if len(parts) == 1:
        full = f"docker.io/library/{name}"
    elif "." in parts[0] or ":" in parts[0] or parts[0] == "localhost":
        full = name
    else:
        full = f"docker.io/{name}"
    return Image(reference, parts[-1], f"{full}:{tag}", tag)


def _denied(image: Image) -> PullError:
    return PullError(
        f'failed to pull and unpack image "{image.full}": failed to resolve reference "{image.full}": '
        f"pull access denied, repository does not exist or may require authorization: server message: "
        f"insufficient_scope: authorization failed")


def resolve(reference: str, *, present: bool, policy: str) -> tuple[Image, Program, bool]:
    """The image, its program, and whether it had to be pulled; PullError when it cannot be had."""
    image = parse(reference)
    repo = CATALOG.get(image.repository)
    if present and policy != "Always" and repo is not None:
        return image, repo.program, False
    if policy == "Never":
        raise PullError(f'Container image "{reference}" is not present with pull policy of Never')
    if repo is None or not repo.pullable:
        raise _denied(image)
    if not repo.tags.match(image.tag):
        raise PullError(
            f'failed to pull and unpack image "{image.full}": failed to resolve reference "{image.full}": '
            f"{image.full}: not found")
    return image, repo.program, True


_FIELDS = re.compile(r"\{(\w+)\}")


def render(line: str, **values: str) -> str:
    """A program's log or body template with its fields filled: {date}, {now}, {clf},
    {redis_date}, {ip} (the client), and any given."""
    now = timefmt.now()
    known = {"date": now.strftime("%Y/%m/%d %H:%M:%S"), "now": timefmt.rfc3339(now),
             "clf": now.strftime("%d/%b/%Y:%H:%M:%S +0000"), "redis_date": now.strftime("%d %b %Y %H:%M:%S.000"),
             "ip": "10.244.0.1", **values}
    return _FIELDS.sub(lambda m: known.get(m.group(1), m.group(0)), line)
