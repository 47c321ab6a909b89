"""What commands inside pods reach: each container's filesystem (a root of its own,
lost on restart; emptyDir volumes shared by the pod's containers; ConfigMap, Secret
and service-account files read-only; PersistentVolumeClaim volumes kept in the
sandbox's SQLite file by claim uid), the pod network, and the shell built over them.

One :class:`World` per kubelet (:func:`world_of`); the pod runner hands it to the
commands it plays, and exec sessions find it through the server's kubelet.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from ..network import Network
from . import catalog
from .config import ConfigError, environment, files
from .exec_shell import Shell
from .fs import FileSystem, ReadOnlyVolume, StoredVolume, Volume, forget_volumes

if TYPE_CHECKING:
    from .node import Kubelet
    from .runner import PodRunner

Obj = dict[str, Any]
NGINX_INDEX = """<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
"""
IMAGE_FILES = {
    "nginx": {"usr/share/nginx/html/index.html": NGINX_INDEX,
              "usr/share/nginx/html/50x.html": "<!DOCTYPE html>\n<html>\n<head>\n<title>Error</title>\n</head>\n"
                                               "<body>\n<h1>An error occurred.</h1>\n</body>\n</html>\n",
              "etc/nginx/nginx.conf": "user  nginx;\nworker_processes  auto;\n\nevents {\n    worker_connections"
                                      "  1024;\n}\n\nhttp {\n    include /etc/nginx/conf.d/*.conf;\n}\n"},
    "httpd": {"usr/local/apache2/htdocs/index.html": "<html><body><h1>It works!</h1></body></html>\n"},
}
WORKDIRS = {"todo-backend": "/app", "todo-frontend": "/app", "postgres": "/", "redis": "/data"}
OS_RELEASE = {"busybox": "", "alpine": 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.21.0\n',
              "ubuntu": 'PRETTY_NAME="Ubuntu 24.04.1 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\n'}
DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class ContainerFiles:
    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet
        self.store = kubelet.registry.store
        self._roots: dict[tuple[str, str], tuple[str, Volume]] = {}
        self._empty: dict[tuple[str, str], Volume] = {}
        self._claims: dict[str, StoredVolume] = {}

    def _prune(self) -> None:
        alive = {r.uid for r in self.kubelet.runners()}
        for table in (self._roots, self._empty):
            for key in [k for k in table if k[0] not in alive]:
                del table[key]
        claims = {str(c["metadata"].get("uid")) for c in self.store.list("persistentvolumeclaims")}
        if set(self._claims) - claims:
            self._claims = {k: v for k, v in self._claims.items() if k in claims}
            forget_volumes(self.store.db, {f"pvc:{uid}" for uid in claims})

    def filesystem(self, runner: PodRunner, container: str) -> FileSystem:
        self._prune()
        pod = runner.pod() or {"metadata": {"name": runner.name, "namespace": runner.namespace}}
        spec = container_spec(pod, container)
        state = runner.container(container)
        image = catalog.parse(state.image if state else spec.get("image", "")).repository
        cid = state.container_id if state else ""
        known = self._roots.get((runner.uid, container))
        if known is None or known[0] != cid:
            known = (cid, root_volume(image, pod, runner.pod_ip))
            self._roots[(runner.uid, container)] = known
        fs = FileSystem(known[1])
        namespace = runner.namespace
        volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
        for mount in spec.get("volumeMounts") or []:
            volume = volumes.get(mount.get("name")) or {}
            path = str(mount.get("mountPath", ""))
            shared: Volume | None = None
            if "emptyDir" in volume:
                shared = self._empty.setdefault((runner.uid, str(mount.get("name"))), Volume())
            elif "persistentVolumeClaim" in volume:
                claim_name = volume["persistentVolumeClaim"].get("claimName", "")
                claim = self.store.get("persistentvolumeclaims", namespace, claim_name)
                uid = str((claim or {}).get("metadata", {}).get("uid") or f"{namespace}/{claim_name}")
                if uid not in self._claims:
                    self._claims[uid] = StoredVolume(self.store.db, f"pvc:{uid}")
                shared = self._claims[uid]
            elif "hostPath" in volume:
                shared = self._empty.setdefault(("node", str(volume["hostPath"].get("path"))), Volume())
            if shared is not None:
                if mount.get("readOnly"):
                    view = Volume()
                    view.files, view.dirs, view.read_only = shared.files, shared.dirs, True
                    shared = view
                fs.mount(path, shared)
                continue
            try:
                found = files(self.store, pod, {"volumeMounts": [mount]})
            except ConfigError:
                continue
            if mount.get("subPath"):
                for file_path, text in found.items():
                    known[1].files[file_path.strip("/")] = text
                continue
            prefix = path.rstrip("/") + "/"
            fs.mount(path, ReadOnlyVolume({k[len(prefix):]: v for k, v in found.items() if k.startswith(prefix)}))
        if (pod.get("spec") or {}).get("automountServiceAccountToken", True) is not False:
            fs.mount(SA_DIR, ReadOnlyVolume({"namespace": namespace, "ca.crt": "-----BEGIN CERTIFICATE-----\n"
                                             "MIIBsandbox\n-----END CERTIFICATE-----\n",
                                             "token": "eyJhbGciOiJSUzI1NiJ9.sandbox.token"}))
        return fs


def container_spec(pod: Obj, name: str) -> Obj:
    spec = pod.get("spec") or {}
    return next((c for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
                 if c.get("name") == name), {})


def root_volume(image: str, pod: Obj, pod_ip: str) -> Volume:
    name = str(pod["metadata"]["name"])
    namespace = str(pod["metadata"].get("namespace", ""))
    hostname = str((pod.get("spec") or {}).get("hostname") or name)
    base = {
        "etc/hostname": hostname + "\n",
        "etc/hosts": f"# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                     f"ip6-loopback\n{pod_ip}\t{hostname}\n",
        "etc/resolv.conf": f"nameserver 10.96.0.10\nsearch {namespace}.svc.cluster.local svc.cluster.local "
                           f"cluster.local\noptions ndots:5\n",
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        "etc/os-release": OS_RELEASE.get(image, DEBIAN),
        **IMAGE_FILES.get(image, {}),
    }
    volume = Volume({k: v for k, v in base.items() if v})
    for folder in ("bin", "dev", "home", "proc", "root", "run", "sbin", "sys", "tmp", "usr/bin", "usr/local/bin",
                   "var/log", "lib", "mnt", "opt", "srv", WORKDIRS.get(image, "/").strip("/")):
        parts = folder.split("/")
        for index in range(len(parts)):
            volume.dirs.add("/".join(parts[: index + 1]))
    volume.dirs.discard("")
    volume.dirs.add("")
    return volume


class World:
    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet
        self.files = ContainerFiles(kubelet)
        self.network = Network(kubelet, self.files.filesystem)

    def shell(self, runner: PodRunner, container: str, env: dict[str, str] | None = None) -> Shell:
        pod = runner.pod() or {"metadata": {"name": runner.name, "namespace": runner.namespace}}
        spec = container_spec(pod, container)
        state = runner.container(container)
        image = catalog.parse(state.image if state else spec.get("image", "")).repository
        if env is None:
            try:
                env = environment(self.kubelet.registry.store, pod, spec)
            except ConfigError:
                env = {"HOSTNAME": runner.name, "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
        env = {**env, "HOME": env.get("HOME", "/root")}
        cwd = posixpath.normpath(str(spec.get("workingDir") or WORKDIRS.get(image, "/")))
        fs = self.files.filesystem(runner, container)
        if not fs.is_dir(cwd):
            fs.mkdir(cwd, parents=True, force=True)
        return Shell(env, fs, image=image, net=self.network.client(runner.namespace, runner.pod_ip), cwd=cwd)


_worlds: dict[int, World] = {}


def world_of(kubelet: Kubelet) -> World:
    found = _worlds.get(id(kubelet))
    if found is None or found.kubelet is not kubelet:
        found = _worlds[id(kubelet)] = World(kubelet)
    return found


def forget(kubelet: Kubelet) -> None:
    """Drop the world of a kubelet that stopped."""
    found = _worlds.get(id(kubelet))
    if found is not None and found.kubelet is kubelet:
        del _worlds[id(kubelet)]
