"""Print a bench run: a table per scenario, then the RATIO block.

The ratios are the result; the absolute numbers only say how busy the machine was. Each
target ratio is printed next to its target with PASS or FAIL, as measured; ratios without a
target follow as context.
"""

from __future__ import annotations

from bench.deployed import OURS, ROLES
from bench.measure import CoreLoad, FanOutResult, RoundsResult, bare_fleet_mean
from bench.ratios import checks, context, median_or_none, pair_ratios
from bench.run import INTAKE_PAIRS, BenchResults

OVERLOAD = f"{'WFT>5s':>8}{'WFT lost':>9}{'deferred':>9}{'act redo':>9}"


def _core(core: CoreLoad) -> str:
    counts = (core.slow_tasks, core.lost_tasks, core.deferred_webhooks, core.redone_activities)
    return "".join(f"{n:>{w}}" for n, w in zip(counts, (8, 9, 9, 9), strict=True))


def _num(value: float | None, fmt: str = ".2f") -> str:
    return "n/a" if value is None else format(value, fmt)


DEPLOYED = "as deployed: every part its own process, a fresh server per side and pair"
SHARED = "all in one process (worker, bridge, devices, driver), for reference"


def _pair(r: RoundsResult | None, paired: bool) -> str:
    """The pair column: deployed rows name their pair; in-process rows (one each) leave it."""
    if not paired:
        return f"{'':>4}"
    return f"{'pair':>4}" if r is None else f"{r.pair + 1:>4}"


def _steps_rows(rows: list[RoundsResult], overload: bool) -> list[str]:
    lines = [
        f"{_pair(None, not overload)}{'devices':>8}  {'side':<10}{'rounds':>8}{'s':>9}"
        f"{'rounds/s':>10}{'events/wf':>10}{'failed':>8}{OVERLOAD if overload else ''}",
    ]
    for r in sorted(rows, key=lambda r: (r.devices, r.pair)):
        lines.append(
            f"{_pair(r, not overload)}{r.devices:>8}  {r.name:<10}{r.rounds:>8}{r.seconds:>9.2f}"
            f"{r.rounds_per_s:>10.1f}{r.events_per_workflow:>10.1f}{r.failures:>8}"
            f"{_core(r.core) if overload else ''}"
        )
    return lines


def _pairs_line(label: str, ratios: list[float | None]) -> str:
    cells = " ".join(_num(r) for r in ratios)
    return f"  {label}: mdmflow/bare by pair {cells}; median {_num(median_or_none(ratios))}"


def _steps_table(results: BenchResults) -> list[str]:
    k = results.config.steps
    lines = [f"(a) {k} steps in ONE workflow per device vs the bare {k}-step loop"]
    if results.steps:
        lines += [DEPLOYED, *_steps_rows(results.steps, overload=False)]
        lines += [
            _pairs_line(f"@{n}", pair_ratios(results.steps, "bare", devices=n))
            for n in results.config.step_devices
        ]
    if results.shared_steps:
        lines += [SHARED, *_steps_rows(results.shared_steps, overload=True)]
    lines += [
        "a round = one step (enqueue/activity + answer/signal); s = first start to last close;",
        "events/wf = history events per workflow",
    ]
    return lines


def _restart_rows(rows: list[RoundsResult], overload: bool) -> list[str]:
    lines = [
        f"{_pair(None, not overload)}  {'scenario':<19}{'rounds':>7}{'s':>8}{'rounds/s':>10}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'failed':>8}{OVERLOAD if overload else ''}",
    ]
    for r in sorted(rows, key=lambda r: r.pair):
        lines.append(
            f"{_pair(r, not overload)}  {r.name:<19}{r.rounds:>7}{r.seconds:>8.2f}"
            f"{r.rounds_per_s:>10.1f}{r.p50_ms:>9.0f}{r.p95_ms:>9.0f}{r.failures:>8}"
            f"{_core(r.core) if overload else ''}"
        )
    return lines


def _restart_table(results: BenchResults) -> list[str]:
    cfg = results.config
    title = f"(b) start -> step -> complete, {cfg.devices} devices x {cfg.rounds} runs back to back"
    lines = [title]
    if results.restart:
        lines += [DEPLOYED, *_restart_rows(results.restart, overload=False)]
        lines.append(_pairs_line("(b)", pair_ratios(results.restart, "bare-restart")))
    if results.shared_restart:
        lines += [SHARED, *_restart_rows(results.shared_restart, overload=True)]
    lines += ["a round = start call to result."]
    if results.shared_restart:
        lines += [
            "mdmflow-no-intake: the same bridge with an intake that commits nothing (bench",
            f"only); it and mdmflow ran interleaved, {INTAKE_PAIRS} times each, summed.",
        ]
    return lines


def _fleet_table(results: BenchResults) -> list[str]:
    lines = [
        f"(c) fleet start of {results.config.fleet}",
        f"{'side':<13}{'wfs':>7}{'start s':>9}{'starts/s':>10}{'all done s':>12}{'events/wf':>10}"
        f"{'peak RSS MB':>13}{'failed':>8}{OVERLOAD}",
    ]
    for f in results.fleets:
        lines.append(
            f"{f.name:<13}{f.workflows:>7}{f.start_seconds:>9.2f}{f.starts_per_s:>10.1f}"
            f"{f.complete_seconds:>12.2f}{f.events_per_workflow:>10.1f}{f.peak_rss_mb:>13.0f}"
            f"{f.failures:>8}"
            f"{_core(f.core)}"
        )
    lines += [
        "start s: until every start was accepted; all done s: until the last closed.",
        "mdmflow: one start_workflows call (the synchronous start path, answered once all are",
        "started); fan-out: the same IDs in one POST body to the bridge, answered 202, started",
        "by the fan-out workflow (start s: from the POST to the fan-out's result).",
    ]
    for f in results.fleets:
        if isinstance(f, FanOutResult):
            lines += _fan_out_lines(results, f)
    return lines


def _fan_out_lines(results: BenchResults, fan: FanOutResult) -> list[str]:
    bare = bare_fleet_mean(results.fleets, "starts_per_s", fan.name)
    ratio = (
        f", {fan.starts_per_s / bare:.2f}x bare's {bare:.1f} (mean of the runs around it)"
        if bare
        else ""
    )
    lines = [
        f"fan-out: POST of {fan.workflows} IDs answered 202 in {fan.answer_seconds:.3f} s; "
        f"{fan.started} started ({fan.already_running} already running) in "
        f"{fan.start_seconds:.2f} s by {fan.fan_out_runs} fan-out runs: "
        f"{fan.starts_per_s:.1f} starts/s{ratio}; all done {fan.complete_seconds:.2f} s",
    ]
    for read in fan.status:
        counts = ", ".join(f"{n} {state}" for state, n in read.counts.items() if n)
        lines.append(
            f"GET /v1/instances/{{id}} ({read.when}): {read.seconds:.3f} s; total {read.total} "
            f"{'=' if read.matches else '!='} visibility count {read.visibility} ({counts})"
        )
    return lines


def _parked_table(results: BenchResults) -> list[str]:
    lines = [
        f"(d) memory per parked device, {results.config.parked} parked "
        "(worker and server each a separate process, fresh server per side)",
        f"{'side':<10}{'parked':>8}{'park s':>9}{'server KiB':>12}{'worker KiB':>12}"
        f"{'SQLite KiB':>12}  quiet",
    ]
    for p in results.parked:
        lines.append(
            f"{p.name:<10}{p.workflows:>8}{p.park_seconds:>9.1f}{p.server_kib:>12.1f}"
            f"{p.worker_kib:>12.1f}{p.db_kib:>12.1f}  {'yes' if p.settled else 'NO'}"
        )
    lines += [
        "KiB per parked workflow: RSS growth of the Temporal server and of the worker process,",
        "and growth of Temporal's SQLite file + WAL, from before the starts to after all parked.",
        "mdmflow: devinfolog on unenrolled devices (enqueue taken, push fails, no answer);",
        "bare: a one-round workflow whose step ran, waiting on a signal that never comes.",
    ]
    return lines


def _latency_table(results: BenchResults) -> list[str]:
    cfg = results.config
    lines = [
        f"(e) latency at N=1: {cfg.latency_runs} runs of {cfg.latency_steps} sequential steps",
        f"{'side':<10}{'samples':>8}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}",
    ]
    for r in results.latency:
        lines.append(
            f"{r.name:<10}{len(r.latencies):>8}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{r.failures:>8}"
        )
    lines.append(
        "mdmflow: the device starts posting its report -> the next enqueue reaches the MDM "
        "server; bare: signal call -> next activity starts"
    )
    return lines


def _cpu_table(results: BenchResults) -> list[str]:
    lines = [
        "CPU per round by process during (a) and (b) as deployed, summed over the pairs",
        f"{'side':<10}{'rounds':<9}{'rounds':>7}{'s':>7}{'rounds/s':>9}   ms CPU per round: "
        + "".join(f"{role:>10}" for role in ROLES)
        + f"{'ours':>8}{'all':>8}",
    ]
    for c in results.cpu:
        cells = "".join(f"{_num(c.ms_per_round(role), '.1f'):>10}" for role in ROLES)
        ours = c.total_ms_per_round(OURS)
        total = c.total_ms_per_round(ROLES)
        flag = "" if c.settled else "  (not quiet at the end)"
        lines.append(
            f"{c.name:<10}{c.scenario:<9}{c.rounds:>7}{c.seconds:>7.1f}{c.rounds_per_s:>9.1f}"
            f"{'':19}{cells}{ours:>8.1f}{total:>8.1f}{flag}"
        )
    lines += [
        "ours = server + worker + bridge (what an operator runs); simulator = the simulated",
        "devices' own cost; driver = this process (starts, results; the bare side's signals).",
    ]
    return lines


def as_text(results: BenchResults) -> str:
    cfg = results.config
    lines = [
        f"mdmflow bench: Temporal dev server on SQLite (WAL); app database {results.database}; "
        f"scenarios {', '.join(sorted(cfg.only))}",
    ]
    tables = [
        (results.latency, _latency_table),
        (results.steps + results.shared_steps, _steps_table),
        (results.restart + results.shared_restart, _restart_table),
        (results.fleets, _fleet_table),
        (results.parked, _parked_table),
        (results.cpu, _cpu_table),
    ]
    for rows, table in tables:
        if rows:
            lines += ["", *table(results)]
    if results.failed:
        lines += ["", "FAILED (their figures are missing; the traceback is on stderr):"]
        lines += [f"  {name}: {reason}" for name, reason in results.failed.items()]
    lines += ["", f"RATIO {'':<48}{'measured':>9}  {'target':<8}"]
    for check in checks(results):
        target = f"{check.op} {check.target:g}".replace(">=", "≥").replace("<=", "≤")
        value = _num(check.value, ".0f" if check.op == "==" else ".2f")
        lines.append(f"      {check.label:<48}{value:>9}  {target:<8}{check.verdict}")
    for label, ratio, note in context(results):
        lines.append(f"      {label:<48}{_num(ratio):>9}  {note}")
    lines += [
        "",
        "Overload counts (in-process scenarios only): WFT>5s = workflow tasks over 5 s; WFT lost =",
        "timed out and redone; deferred = webhooks the bridge could not deliver inline within",
        "5 s (left to its relay's backoff); act redo = activity attempts failed or timed out",
        "and done again (under load: a missed 5 s heartbeat). Their tracebacks are not printed.",
        "time by scenario: "
        + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in results.seconds.items()),
    ]
    return "\n".join(line.rstrip() for line in lines)
