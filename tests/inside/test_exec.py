"""kubectl exec, attach and run -i against a sandbox with controllers: the container
shell, its files and volumes, the pod network and NetworkPolicies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import control
from tests.conftest import Kubectl, kubectl_for, wait_for

BOX = """
apiVersion: v1
kind: Pod
metadata: {name: box, labels: {app: box}}
spec:
  containers:
  - name: box
    image: busybox
    command: ["sh", "-c", "echo started; sleep 3600"]
    env: [{name: COLOR, value: blue}]
    volumeMounts: [{name: cfg, mountPath: /etc/config}]
  volumes: [{name: cfg, configMap: {name: cfg}}]
"""
KEEPER = """
apiVersion: v1
kind: Pod
metadata: {name: keeper}
spec:
  containers:
  - name: keeper
    image: busybox
    command: ["sleep", "3600"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
"""
PVC = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
"""
DENY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-frontend}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {role: frontend}}}]
"""


@pytest.fixture(scope="module")
def k(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kubectl]:
    state = tmp_path_factory.mktemp("inside")
    running = control.up(state)
    kubectl = kubectl_for(running.kubeconfig, tmp_path_factory.mktemp("kubecache"))
    kubectl("create", "configmap", "cfg", "--from-literal=app.conf=hello-config")
    kubectl("apply", "-f", "-", stdin=BOX)
    kubectl("create", "deployment", "web", "--image=nginx")
    kubectl("expose", "deployment", "web", "--port=80")
    kubectl("wait", "--for=condition=Ready", "pod/box", "--timeout=60s")
    kubectl("wait", "--for=condition=Available", "deployment/web", "--timeout=60s")
    yield kubectl
    control.down(state)


def test_exec_reads_env_and_mounted_configmap(k: Kubectl) -> None:
    assert k("exec", "box", "--", "printenv", "COLOR") == "blue\n"
    assert k("exec", "box", "--", "cat", "/etc/config/app.conf") == "hello-config"
    assert k("exec", "box", "--", "sh", "-c", "echo $COLOR; ls /etc/config") == "blue\napp.conf\n"


def test_writing_a_read_only_mount_fails(k: Kubectl) -> None:
    proc = k.run("exec", "box", "--", "sh", "-c", "echo x > /etc/config/new", check=False)
    assert proc.returncode == 1
    assert "sh: can't create /etc/config/new: Read-only file system" in proc.stderr


def test_exit_codes(k: Kubectl) -> None:
    proc = k.run("exec", "box", "--", "sh", "-c", "echo out; exit 3", check=False)
    assert (proc.returncode, proc.stdout) == (3, "out\n")
    assert "command terminated with exit code 3" in proc.stderr
    proc = k.run("exec", "box", "--", "sh", "-c", "foo", check=False)
    assert proc.returncode == 127
    assert "sh: foo: not found" in proc.stderr


def test_errors_are_the_servers(k: Kubectl) -> None:
    proc = k.run("exec", "nopod", "--", "true", check=False)
    assert proc.returncode == 1
    assert 'pods "nopod" not found' in proc.stderr


def test_interactive_stdin(k: Kubectl) -> None:
    proc = k.run("exec", "-i", "box", "--", "sh", stdin="echo hi from stdin\ncd /tmp\npwd\ncat > f\n",
                 check=False)
    assert (proc.returncode, proc.stdout) == (0, "hi from stdin\n/tmp\n")
    assert k("exec", "-i", "box", "--", "sh", "-c", "cat > /tmp/in; wc -l < /tmp/in", stdin="a\nb\n") == "2\n"


def test_files_on_a_claim_survive_the_pod(k: Kubectl) -> None:
    k("apply", "-f", "-", stdin=PVC)
    k("apply", "-f", "-", stdin=KEEPER)
    k("wait", "--for=condition=Ready", "pod/keeper", "--timeout=60s")
    k("exec", "keeper", "--", "sh", "-c", "echo kept > /data/note; echo lost > /tmp/note")
    k("delete", "pod", "keeper", "--wait=true")
    k("apply", "-f", "-", stdin=KEEPER)
    k("wait", "--for=condition=Ready", "pod/keeper", "--timeout=60s")
    assert k("exec", "keeper", "--", "cat", "/data/note") == "kept\n"
    assert k.run("exec", "keeper", "--", "cat", "/tmp/note", check=False).returncode == 1


def test_run_wget_to_a_service_then_a_policy_blocks_it(k: Kubectl) -> None:
    command = ["run", "-i", "--rm", "--restart=Never", "--image=busybox", "t", "--",
               "wget", "-qO-", "-T", "2", "http://web"]
    proc = k.run(*command, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "<title>Welcome to nginx!</title>" in proc.stdout
    wait_for(lambda: "t" not in k("get", "pods", "-o", "name").replace("pod/", "").split(), timeout=20)
    assert '"GET / HTTP/1.1" 200' in k("logs", "deployment/web")
    k("apply", "-f", "-", stdin=DENY)
    try:
        proc = k.run(*command, check=False)
        assert proc.returncode == 1
        assert "wget: download timed out" in proc.stdout + proc.stderr
        allowed = k.run("run", "-i", "--rm", "--restart=Never", "--image=busybox", "--labels=role=frontend", "t2",
                        "--", "wget", "-qO-", "-T", "2", "http://web", check=False)
        assert allowed.returncode == 0 and "Welcome to nginx!" in allowed.stdout
    finally:
        k("delete", "networkpolicy", "web-from-frontend")


def test_attach_follows_the_container(k: Kubectl) -> None:
    k("run", "ticker", "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo one; sleep 20; echo two")
    k("wait", "--for=condition=Ready", "pod/ticker", "--timeout=60s")
    proc = k.run("attach", "ticker", check=False)
    assert (proc.returncode, proc.stdout) == (0, "two\n"), proc.stderr


STATEFUL = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: busybox
        command: ["sleep", "3600"]
        volumeMounts: [{name: data, mountPath: /var/lib/db}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


def test_statefulset_data_survives_its_pod(k: Kubectl) -> None:
    k("apply", "-f", "-", stdin=STATEFUL)
    k("rollout", "status", "statefulset/db", "--timeout=60s")
    assert k.json("get", "pvc", "data-db-0")["status"]["phase"] == "Bound"
    k("exec", "db-0", "--", "sh", "-c", "echo 'row 1' > /var/lib/db/table; echo 'row 2' >> /var/lib/db/table")
    before = k.json("get", "pod", "db-0")["metadata"]["uid"]
    k("delete", "pod", "db-0")
    wait_for(lambda: k.run("get", "pod", "db-0", check=False).returncode == 0 and
             k.json("get", "pod", "db-0")["metadata"]["uid"] != before, 30)
    k("wait", "--for=condition=Ready", "pod/db-0", "--timeout=60s")
    assert k("exec", "db-0", "--", "cat", "/var/lib/db/table").splitlines() == ["row 1", "row 2"]
