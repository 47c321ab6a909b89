"""The container shell and its filesystem, played without a cluster."""

from __future__ import annotations

import pytest

from sandbox.kubelet.exec_io import Input, Out, Wait, play
from sandbox.kubelet.exec_shell import Shell
from sandbox.kubelet.fs import FileSystem, FsError, ReadOnlyVolume, Volume
from sandbox.kubelet.shell import Context, program_steps
from sandbox.kubelet.steps import Exit, Forever, Log, Sleep


@pytest.fixture
def sh() -> Shell:
    fs = FileSystem(Volume({"etc/hostname": "box\n"}))
    fs.mkdir("/tmp", force=True)
    fs.mount("/etc/config", ReadOnlyVolume({"app.conf": "a=1\nb=2\n"}))
    return Shell({"HOSTNAME": "box", "COLOR": "blue"}, fs)


def run(sh: Shell, script: str, stdin: str = "") -> tuple[int, str, str]:
    code, events = play(sh.run(script, Input()), stdin)
    out = "".join(e.text for e in events if isinstance(e, Out) and e.fd == 1)
    err = "".join(e.text for e in events if isinstance(e, Out) and e.fd == 2)
    return code, out, err


@pytest.mark.parametrize(("script", "expected"), [
    ("echo $COLOR", "blue\n"),
    ('echo "a  b" c', "a  b c\n"),
    ("echo 'no $COLOR'", "no $COLOR\n"),
    ("X=5; echo $((X * 2)) $(hostname) `whoami`", "10 box root\n"),
    ("echo ${MISSING:-fallback}", "fallback\n"),
    ("false && echo never; false || echo or; true && echo and", "or\nand\n"),
    ("for i in 1 2 3; do echo n$i; done | head -n 2", "n1\nn2\n"),
    ("if [ -f /etc/config/app.conf ]; then echo yes; else echo no; fi", "yes\n"),
    ("cat /etc/config/app.conf | grep b", "b=2\n"),
    ("printf 'x\\ny\\nz\\n' | wc -l", "3\n"),
    ("cd /tmp && echo hi > a && echo ho >> a && cat a && pwd", "hi\nho\n/tmp\n"),
    ("printenv COLOR; env | grep COLOR", "blue\nCOLOR=blue\n"),
    ("sh -c 'echo $0 $1' zero one", "zero one\n"),
    ("mkdir -p /a/b && touch /a/b/f && ls /a/b", "f\n"),
    ("echo x | tr a-z A-Z", "X\n"),
    ("echo err 1>&2 2>/dev/null", ""),
])
def test_scripts(sh: Shell, script: str, expected: str) -> None:
    code, out, _ = run(sh, script)
    assert (code, out) == (0, expected)


def test_not_found_is_127_as_sh_says(sh: Shell) -> None:
    assert run(sh, "foo") == (127, "", "sh: foo: not found\n")


def test_exit_code_and_status(sh: Shell) -> None:
    assert run(sh, "exit 3")[0] == 3
    assert run(sh, "cat /nope; echo $?")[1:] == ("1\n", "cat: can't open '/nope': No such file or directory\n")


def test_read_only_mount(sh: Shell) -> None:
    code, _, err = run(sh, "echo x > /etc/config/new")
    assert code == 1
    assert err == "sh: can't create /etc/config/new: Read-only file system\n"
    assert run(sh, "rm /etc/config/app.conf")[2] == "rm: can't remove '/etc/config/app.conf': Read-only file system\n"


def test_interactive_reads_lines(sh: Shell) -> None:
    code, events = play(sh.repl(Input(), tty=False), "echo one\ncd /tmp\npwd\nexit 4\necho never\n")
    assert code == 4
    assert "".join(e.text for e in events if isinstance(e, Out)) == "one\n/tmp\n"


def test_interactive_tty_prompts_and_continues(sh: Shell) -> None:
    _, events = play(sh.repl(Input(), tty=True), "if true\nthen echo in\nfi\n")
    assert "".join(e.text for e in events if isinstance(e, Out)) == "/ # > > in\n/ # "


def test_sleep_waits(sh: Shell) -> None:
    _, events = play(sh.run("sleep 2; echo done", Input()))
    assert events == [Wait(2.0), Out(1, "done\n")]


def test_bash_and_dash_messages() -> None:
    fs = FileSystem(Volume())
    assert run(Shell({}, fs, image="nginx"), "foo")[2] == "sh: 1: foo: not found\n"
    assert run(Shell({}, fs, image="nginx", flavor="bash"), "foo")[2] == "bash: foo: command not found\n"
    assert run(Shell({}, fs, image="busybox"), "bash")[0] == 127


def test_filesystem_errors() -> None:
    fs = FileSystem(Volume())
    with pytest.raises(FsError, match="No such file"):
        fs.read("/missing")
    with pytest.raises(FsError, match="No such file"):
        fs.write("/no/dir/file", "x")
    fs.mount("/data", Volume())
    assert fs.listdir("/") == ["data"]
    fs.write("/data/f", "x")
    with pytest.raises(FsError, match="Directory not empty"):
        fs.rmdir("/data")
    with pytest.raises(FsError, match="busy"):
        fs.remove("/data", recursive=True)


def test_program_steps_keep_their_shape() -> None:
    ctx = Context({"NAME": "kai"}, {"/etc/cfg/a": "x\n"})
    assert list(program_steps(["sh", "-c", "echo hi $NAME; exit 2"], ctx, python_image=False)) == [
        Log("hi kai"), Exit(2)]
    steps = list(program_steps(["sh", "-c", "echo start; while true; do echo tick; sleep 5; done"], ctx,
                               python_image=False))
    assert steps == [Log("start"), Forever(("tick",), 5.0)]
    assert list(program_steps(["cat", "/etc/cfg/a"], ctx, python_image=False)) == [Log("x"), Exit(0)]
    assert list(program_steps(["sleep", "10"], ctx, python_image=False)) == [Sleep(10.0), Exit(0)]
    assert list(program_steps(["nope"], ctx, python_image=False)) == [Log("sh: nope: not found"), Exit(127)]
