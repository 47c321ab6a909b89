"""Network tools of a simulated container: ``curl``, ``wget`` (busybox's), ``nslookup``
and ``getent hosts``, over :mod:`sandbox.network`, with the real tools' messages and
exit codes (curl 6 unresolved, 7 refused, 28 timed out, 22 HTTP error with ``-f``,
52 empty reply; wget 1)."""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass

from .exec_io import Event, Input, Out, Proc, Wait
from .exec_shell import Shell
from .fs import FsError

OS_CONNECT_TIMEOUT = 130.0  # seconds until the kernel gives up a dropped connection
DNS_TIMEOUT = 10.0
CURL_AGENT = "curl/8.11.1"
WGET_AGENT = "Wget"


@dataclass(frozen=True)
class Url:
    scheme: str
    host: str
    port: int
    path: str


def parse_url(text: str) -> Url | None:
    m = re.fullmatch(r"(?:(\w+)://)?([^/:?#]+)(?::(\d+))?([/?][^#]*)?(?:#.*)?", text)
    if m is None:
        return None
    scheme = (m.group(1) or "http").lower()
    port = int(m.group(3)) if m.group(3) else 443 if scheme == "https" else 80
    path = m.group(4) or "/"
    return Url(scheme, m.group(2), port, path if path.startswith("/") else "/" + path)


def _resolve(sh: Shell, host: str) -> Generator[Event, str | None, str | None]:
    if sh.net is None:
        return None
    if not sh.net.dns_reachable():
        yield Wait(DNS_TIMEOUT)
        return None
    _, ips = sh.net.lookup(host)
    return ips[0] if ips else None


def _options(argv: list[str], long_values: dict[str, str], long_flags: dict[str, str],
             short_values: str) -> tuple[dict[str, str], str, list[str]]:
    """getopt-style parsing: (options with values by letter, flag letters, operands).
    Long options map to their short letter; ``-ofile``, ``-o file``, ``--opt=v`` and
    ``--opt v`` all work."""
    opts: dict[str, str] = {}
    flags = ""
    operands: list[str] = []
    args = iter(argv[1:])
    for arg in args:
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name in long_values:
                opts[long_values[name]] = value if eq else next(args, "")
            else:
                flags += long_flags.get(name, "")
        elif arg.startswith("-") and len(arg) > 1:
            body = arg[1:]
            for index, ch in enumerate(body):
                if ch in short_values:
                    opts[ch] = body[index + 1:] or next(args, "")
                    break
                flags += ch
        else:
            operands.append(arg)
    return opts, flags, operands


def curl(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    opts, flags, urls = _options(
        argv,
        {"--output": "o", "--max-time": "m", "--connect-timeout": "c", "--request": "X", "--header": "H",
         "--data": "d", "--write-out": "w", "--user-agent": "A"},
        {"--silent": "s", "--show-error": "S", "--fail": "f", "--verbose": "v", "--include": "i", "--head": "I",
         "--location": "L", "--insecure": "k"},
        "omXHdwA")
    silent, show = "s" in flags, "S" in flags or "s" not in flags

    def fail(code: int, message: str) -> Proc:
        if show:
            yield Out(2, f"curl: ({code}) {message}\n")
        return code
    if not urls:
        yield Out(2, "curl: try 'curl --help' or 'curl --manual' for more information\n")
        return 2
    url = parse_url(urls[0])
    if url is None:
        return (yield from fail(3, "URL rejected: Malformed input to a URL function"))
    limit = min(float(opts[k]) for k in "mc" if k in opts) if ("m" in opts or "c" in opts) else None
    ip = yield from _resolve(sh, url.host)
    if ip is None or sh.net is None:
        return (yield from fail(6, f"Could not resolve host: {url.host}"))
    method = opts.get("X") or ("HEAD" if "I" in flags else "POST" if "d" in opts else "GET")
    if "v" in flags:
        yield Out(2, f"*   Trying {ip}:{url.port}...\n")
    outcome = sh.net.request(ip, url.port, method, url.path, opts.get("A", CURL_AGENT))
    if outcome.kind == "timeout":
        if limit is not None:
            yield Wait(limit)
            return (yield from fail(28, f"Connection timed out after {int(limit * 1000) + 1} milliseconds"))
        yield Wait(OS_CONNECT_TIMEOUT)
        return (yield from fail(28, f"Failed to connect to {url.host} port {url.port} after "
                                    f"{int(OS_CONNECT_TIMEOUT * 1000)} ms: Couldn't connect to server"))
    if outcome.kind == "refused":
        return (yield from fail(7, f"Failed to connect to {url.host} port {url.port} after 0 ms: "
                                   f"Couldn't connect to server"))
    reply = outcome.reply
    if reply is None or url.scheme == "https":
        return (yield from fail(52 if reply is None else 35, "Empty reply from server" if reply is None else
                                "OpenSSL/3.3.2: error:0A00010B:SSL routines::wrong version number"))
    head = (f"HTTP/1.1 {reply.status} {reply.reason}\r\n" + (f"Server: {reply.server}\r\n" if reply.server else "")
            + f"Content-Length: {len(reply.body.encode())}\r\n\r\n")
    if "v" in flags:
        yield Out(2, f"* Connected to {url.host} ({ip}) port {url.port}\n> {method} {url.path} HTTP/1.1\n"
                     f"> Host: {url.host}\n> User-Agent: {CURL_AGENT}\n> Accept: */*\n>\n"
                     + "".join(f"< {line}\n" for line in head.strip().split("\r\n")) + "<\n")
    if "f" in flags and reply.status >= 400:
        return (yield from fail(22, f"The requested URL returned error: {reply.status}"))
    body = ("" if method == "HEAD" else reply.body)
    content = (head if "i" in flags or "I" in flags else "") + body
    if not silent and not sh.tty:
        size = len(content.encode())
        yield Out(2, "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"
                     "                                 Dload  Upload   Total   Spent    Left  Speed\n"
                     f"100 {size:>5}  100 {size:>5}    0     0   {size}k      0 --:--:-- --:--:-- --:--:--  "
                     f"{size}k\n")
    target = opts.get("o") or ("" if "O" not in flags else url.path.rstrip("/").rsplit("/", 1)[-1] or "index.html")
    if target and target != "-":
        if target != "/dev/null":
            try:
                sh.fs.write(sh.path(target), content)
            except FsError as exc:
                return (yield from fail(23, f"Failure writing output to destination, passed {len(content)} "
                                            f"returned 0 ({exc})"))
    else:
        yield Out(1, content)
    if "w" in opts:
        yield Out(1, opts["w"].replace("%{http_code}", str(reply.status)).replace("\\n", "\n"))
    return 0


def wget(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    opts, flags, urls = _options(
        argv, {"--output-document": "O", "--timeout": "T", "--header": "H", "--user-agent": "U"},
        {"--quiet": "q", "--spider": "s", "--server-response": "S"}, "OTHUY")
    quiet = "q" in flags
    if not urls:
        yield Out(2, "BusyBox v1.37.0 (2024-09-26 21:31:42 UTC) multi-call binary.\n\n"
                     "Usage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n"
                     "\t[--post-data STR | --post-file FILE] [-Y on/off]\n\t[-P DIR] [-U AGENT] [-T SEC] URL...\n")
        return 1
    url = parse_url(urls[0])
    if url is None:
        yield Out(2, f"wget: not an http or ftp url: {urls[0]}\n")
        return 1
    ip = yield from _resolve(sh, url.host)
    if ip is None or sh.net is None:
        yield Out(2, f"wget: bad address '{url.host}'\n")
        return 1
    if not quiet:
        yield Out(2, f"Connecting to {url.host} ({ip}:{url.port})\n")
    outcome = sh.net.request(ip, url.port, "GET", url.path, opts.get("U", WGET_AGENT))
    if outcome.kind == "timeout":
        if "T" in opts:
            yield Wait(float(opts["T"]))
            yield Out(2, "wget: download timed out\n")
        else:
            yield Wait(OS_CONNECT_TIMEOUT)
            yield Out(2, f"wget: can't connect to remote host ({ip}): Connection timed out\n")
        return 1
    if outcome.kind == "refused":
        yield Out(2, f"wget: can't connect to remote host ({ip}): Connection refused\n")
        return 1
    reply = outcome.reply
    if reply is None:
        yield Out(2, "wget: error getting response: Connection reset by peer\n")
        return 1
    if "S" in flags:
        yield Out(2, f"  HTTP/1.1 {reply.status} {reply.reason}\n")
    if reply.status >= 400:
        yield Out(2, f"wget: server returned error: HTTP/1.1 {reply.status} {reply.reason}\n")
        return 1
    if "s" in flags:
        if not quiet:
            yield Out(2, "remote file exists\n")
        return 0
    target = opts.get("O") or url.path.rstrip("/").rsplit("/", 1)[-1] or "index.html"
    size = len(reply.body.encode())
    bar = f"100% |********************************| {size:>5}  0:00:00 ETA\n"
    if target == "-":
        if not quiet:
            yield Out(2, f"writing to stdout\n-                    {bar}")
        yield Out(1, reply.body)
        if not quiet:
            yield Out(2, "written to stdout\n")
        return 0
    path = sh.path(target)
    try:
        if "O" not in opts and sh.fs.exists(path):
            raise FsError("File exists")
        sh.fs.write(path, reply.body)
    except FsError as exc:
        yield Out(2, f"wget: can't open '{target}': {exc}\n")
        return 1
    if not quiet:
        yield Out(2, f"saving to '{target}'\n{target:<20} {bar}'{target}' saved\n")
    return 0


def nslookup(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    names = [a for a in argv[1:] if not a.startswith("-")]
    if not names:
        yield Out(2, "Usage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n")
        return 1
    header = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n"
    if sh.net is None or not sh.net.dns_reachable():
        yield Wait(DNS_TIMEOUT)
        yield Out(1, ";; connection timed out; no servers could be reached\n\n")
        return 1
    fqdn, ips = sh.net.lookup(names[0])
    if not ips:
        yield Out(1, header + f"** server can't find {names[0]}: NXDOMAIN\n\n")
        return 1
    yield Out(1, header + "".join(f"Name:\t{fqdn}\nAddress: {ip}\n" for ip in ips) + "\n")
    return 0


def getent(sh: Shell, argv: list[str], stdin: Input) -> Proc:
    if len(argv) < 3 or argv[1] not in ("hosts", "ahosts"):
        yield from ()
        return 2 if len(argv) >= 3 else 1
    if sh.net is None or not sh.net.dns_reachable():
        yield Wait(DNS_TIMEOUT)
        return 2
    fqdn, ips = sh.net.lookup(argv[2])
    if not ips:
        return 2
    yield Out(1, "".join(f"{ip:<15} {fqdn}\n" for ip in ips))
    return 0


NET_TOOLS = {"curl": curl, "wget": wget, "nslookup": nslookup, "getent": getent}
