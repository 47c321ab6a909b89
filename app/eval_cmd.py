"""``kai eval``: run the eval tasks, write results.jsonl, summary.md and report.html, and
(``--baseline DIR``) fail when the run is worse than a committed one. ``kai eval compare A B``
lists the tasks that regressed or improved between two runs.

Exit codes: 0 done (and the gate held), 1 an error, 2 usage, 4 the gate failed, 130 interrupted
(Ctrl-C or SIGTERM: the runs that finished are written, with their summary and report).
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from evals.runner import EvalOptions

EXIT_GATE = 4
EXIT_INTERRUPTED = 130
RERUNS = 2  # a regressed task is flaky, not a regression, only when every one of these passes
PROVIDERS = ("offline", "scripted", "gemini", "openai", "openai-compatible")
DEFAULT_TASKS = Path(__file__).resolve().parents[1] / "evals" / "tasks"


def _split(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t.strip() for v in value for t in v.split(",") if t.strip())


@click.group(name="eval", invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--tasks", "task_paths", multiple=True, type=click.Path(path_type=Path),
              help=f"task files or folders (repeatable; default {DEFAULT_TASKS})")
@click.option("--provider", type=click.Choice(PROVIDERS), default="offline", show_default=True,
              help="scripted replays each task's ideal calls (tests the tasks and the harness)")
@click.option("--model", help="the provider's model (default: the provider's default)")
@click.option("--repeat", type=click.IntRange(1, 100), default=1, show_default=True,
              help="runs per task (pass@k and pass^k for k up to this)")
@click.option("--jobs", type=click.IntRange(1, 16), default=1, show_default=True,
              help="tasks run in parallel, each on its own sandbox")
@click.option("--tags", multiple=True, callback=_split, metavar="TAG[,TAG]", help="only tasks with one of these tags")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="where results.jsonl, summary.md and report.html go (default .kai/evals/<run>)")
@click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="run on this cluster as it is, one task after another (default: kai's own sandboxes, "
                   "reset before each task)")
@click.option("--baseline", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="a committed run (evals/baseline): exit 4 on any safety violation, on a task that passed "
                   "there and fails here, or on a lower success rate")
@click.pass_context
def eval_(ctx: click.Context, task_paths: tuple[Path, ...], provider: str, model: str | None, repeat: int, jobs: int,
          tags: tuple[str, ...], out: Path | None, kubeconfig: Path | None, baseline: Path | None) -> None:
    """Score how accurately kai turns prompts into the right guarded calls."""
    if ctx.invoked_subcommand is not None:
        return
    from evals import loader
    from evals.runner import EvalOptions

    tasks = loader.load(task_paths or (DEFAULT_TASKS,), tags)
    if not tasks:
        raise click.UsageError("no tasks to run" + (f" with tags {', '.join(tags)}" if tags else ""))
    if kubeconfig is not None and jobs > 1:
        click.secho("note: on a given cluster tasks run one after another (--jobs 1)", err=True, fg="yellow")
        jobs = 1
    folder = out or Path(".kai/evals") / f"{provider}-{model or 'default'}".replace("/", "_")
    options = EvalOptions(tasks=tasks, out=folder, provider=provider, model=model, repeat=repeat, jobs=jobs,
                          kubeconfig=kubeconfig)
    rows, interrupted = _run(options)
    code = _finish(options, rows, None if interrupted else baseline)
    sys.exit(EXIT_INTERRUPTED if interrupted else code)


def _run(options: EvalOptions) -> tuple[list[dict[str, Any]], bool]:
    """The rows of the runs that finished, and whether Ctrl-C or SIGTERM cut the run short."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from evals.runner import run

    err = Console(stderr=True, highlight=False)
    total = len(options.tasks) * options.repeat
    rows: list[dict[str, Any]] = []
    with Progress(TextColumn("[bold]eval"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=err, transient=False) as progress:
        bar = progress.add_task("", total=total)
        failed = 0

        def seen(row: dict[str, Any]) -> None:
            nonlocal failed
            rows.append(row)
            if not row["success"]:
                failed += 1
                why = row.get("error") or next((c["detail"] for c in row["checks"] if not c["ok"]), "") or (
                    row["violations"][0]["detail"] if row["violations"] else "")
                progress.console.print(f"[red]✗[/] {row['task']}: {row['status']} {why}", markup=True,
                                       highlight=False)
            progress.update(bar, advance=1, description=f"{failed} failed")

        async def main() -> None:
            task = asyncio.current_task()
            assert task is not None
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)  # as Ctrl-C: stop cleanly
            await run(options, seen)

        try:
            asyncio.run(main())
        except (KeyboardInterrupt, asyncio.CancelledError):
            err.print(f"interrupted: {len(rows)} of {total} runs finished; writing what finished")
            return rows, True
    return rows, False


def _finish(options: EvalOptions, rows: list[dict[str, Any]], baseline: Path | None) -> int:
    from dataclasses import replace

    from evals.gate import judge, rejudge
    from evals.report import write_report
    from evals.summary import render_summary, write_summary

    folder = options.out
    if not rows:
        click.echo("no run finished")
        return 1
    write_summary(rows, folder / "summary.md")
    write_report(rows, folder / "report.html")
    sections = render_summary(rows).split("\n## ")
    click.echo("\n## ".join(sections[:2]).rstrip())  # the title and the headline table
    click.echo(f"\nwrote {folder / 'results.jsonl'}, {folder / 'summary.md'}, {folder / 'report.html'}")
    if baseline is None:
        return 0
    verdict = judge(rows, baseline)
    if verdict.regressed and len(rows) == len(options.tasks) * options.repeat:  # a whole run: confirm them
        click.echo(f"running the {len(verdict.regressed)} regressed task(s) {RERUNS} times more")
        again, interrupted = _run(replace(options, tasks=[t for t in options.tasks if t.id in verdict.regressed],
                                          repeat=RERUNS, out=folder / "rerun"))
        if interrupted:
            return EXIT_INTERRUPTED
        verdict = rejudge(verdict, rows, again, baseline)
    click.echo(verdict.render())
    return 0 if verdict.ok else EXIT_GATE


@eval_.command()
@click.argument("run_a", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.argument("run_b", type=click.Path(path_type=Path, file_okay=False, exists=True))
def compare(run_a: Path, run_b: Path) -> None:
    """List the tasks that regressed or improved from RUN_A to RUN_B (folders with results.jsonl)."""
    from evals.compare import compare_runs, render_comparison

    click.echo(render_comparison(compare_runs(run_a, run_b)))
