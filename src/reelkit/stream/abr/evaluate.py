"""Running algorithms by name over trace sets: one function for the CLI, the benchmark and the tests,
k-fold splits over trace files for learned policies, and the comparison plot."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelkit._files import atomic_path
from reelkit.errors import ConfigError
from reelkit.executor import Executor, SerialExecutor
from reelkit.progress import SILENT, Progress
from reelkit.stream.abr.base import AbrPolicy, Video
from reelkit.stream.abr.optimal import optimal_plan
from reelkit.stream.abr.qoe import QoE, get_qoe
from reelkit.stream.abr.registry import is_optimal, make_policy
from reelkit.stream.abr.sim import PENSIEVE, RunResult, Session, SimConfig, simulate
from reelkit.stream.abr.traces import Trace

__all__ = [
    "OPTIMAL_BASELINES",
    "OptimalTask",
    "SimTask",
    "kfold_splits",
    "plot_comparison",
    "run_algorithm",
    "run_optimal",
]


@dataclass(frozen=True)
class OptimalTask:
    """One trace for the offline optimum (picklable for process executors)."""

    trace: Trace
    video: Video
    qoe: str
    config: SimConfig
    time_step_s: float
    buffer_step_s: float


@dataclass(frozen=True)
class SimTask:
    """One trace for one policy (picklable for process executors)."""

    policy: AbrPolicy
    trace: Trace
    video: Video
    qoe: QoE
    config: SimConfig


def _simulate_one(task: SimTask) -> Session:
    # a copy per task: tasks on threads of one process must not share a policy's state between reset and
    # the last chunk (simulate resets it, so a session does not depend on the others or their order)
    return simulate(copy.deepcopy(task.policy), task.trace, task.video, qoe=task.qoe, config=task.config)


#: the policies whose plans the offline optimum is never below (achievable plans; fugu with its shipped model)
OPTIMAL_BASELINES = ("robustmpc", "mpc", "bola", "bba", "rate", "fugu")


def _optimal_one(task: OptimalTask) -> Session:
    # the fixed policies' sessions are achievable: the best one prunes the DP, and is the answer where the
    # DP's merged cells lost a path that beats it (fugu 56.70 against the DP's 56.65 on one Pensieve trace)
    q = get_qoe(task.qoe)
    known = []
    for name in OPTIMAL_BASELINES:
        try:
            policy = make_policy(name)
            if isinstance(getattr(policy, "qoe", None), QoE):  # planners plan with the QoE they are scored on
                policy.qoe = q  # type: ignore[attr-defined]
            known.append(simulate(policy, task.trace, task.video, qoe=q, config=task.config))
        except ConfigError:  # a policy this video is beyond (MPC over more than 16 levels): not a bound
            continue
    best_known = max(known, key=lambda s: s.qoe_sum, default=None)
    dp = optimal_plan(
        task.trace,
        task.video,
        qoe=q,
        config=task.config,
        time_step_s=task.time_step_s,
        buffer_step_s=task.buffer_step_s,
        lower_bound=None if best_known is None else best_known.qoe_sum,
    ).session
    return dp if best_known is None or dp.qoe_sum >= best_known.qoe_sum else best_known


def run_optimal(
    traces: Sequence[Trace],
    video: Video,
    *,
    qoe: str | QoE = "lin",
    config: SimConfig = PENSIEVE,
    time_step_s: float = 1.0,
    buffer_step_s: float = 0.5,
    executor: Executor | None = None,
    progress: Progress = SILENT,
) -> RunResult:
    """The offline optimum on every trace (see :mod:`reelkit.stream.abr.optimal` for the cells): per trace the
    better of the DP's plan and the plans of :data:`OPTIMAL_BASELINES`, so it is never below any of them."""
    q = get_qoe(qoe).name
    ex = executor if executor is not None else SerialExecutor()
    t0 = time.perf_counter()
    tasks = [OptimalTask(t, video, q, config, time_step_s, buffer_step_s) for t in traces]
    sessions = ex.map(_optimal_one, tasks, progress=progress, description="offline optimum")
    return RunResult("optimal", list(sessions), time.perf_counter() - t0)


def run_algorithm(
    name: str,
    traces: Sequence[Trace],
    video: Video,
    *,
    model: str | Path | None = None,
    qoe: str | QoE = "lin",
    config: SimConfig = PENSIEVE,
    progress: Progress = SILENT,
    executor: Executor | None = None,
    policy: AbrPolicy | None = None,
) -> RunResult:
    """Simulate algorithm ``name`` (any :func:`make_policy` name, or ``optimal``) on every trace, one task
    per trace through ``executor`` (in this process by default); MPC-type planners plan with the QoE they
    are scored on. ``policy``: a fresh policy already made for ``name`` (so that its model file is not
    loaded again); each task simulates a copy of it."""
    if is_optimal(name):
        return run_optimal(traces, video, qoe=qoe, config=config, progress=progress, executor=executor)
    if policy is None:
        policy = make_policy(name, model=model)
    q = get_qoe(qoe)
    if isinstance(getattr(policy, "qoe", None), QoE):  # planners optimise the metric they are scored on
        policy.qoe = q  # type: ignore[attr-defined]
    ex = executor if executor is not None else SerialExecutor()
    t0 = time.perf_counter()
    tasks = [SimTask(policy, tr, video, q, config) for tr in traces]
    sessions = ex.map(_simulate_one, tasks, progress=progress, description=f"simulating {name}")
    return RunResult(name, list(sessions), time.perf_counter() - t0)


def kfold_splits(n: int, k: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, test) index pairs over ``n`` trace files, shuffled with ``seed``."""
    if k < 2 or k > n:
        raise ConfigError(f"need 2 <= folds <= traces ({n}); got {k}")
    perm = np.random.default_rng(seed).permutation(n)
    folds = np.array_split(perm, k)
    return [
        (np.sort(np.concatenate([f for j, f in enumerate(folds) if j != i])), np.sort(folds[i]))
        for i in range(k)
    ]


def plot_comparison(
    results: Sequence[RunResult], out: str | Path, *, trace_names: Sequence[str] = ()
) -> Path:
    """QoE-per-chunk CDF per algorithm, and bitrate / buffer / throughput over time for ``trace_names``
    (default: the trace with the median QoE of the first algorithm). Written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not results:
        raise ConfigError("nothing to plot")
    names = list(trace_names)
    if not names:
        first = results[0]
        q = first.per_trace()
        names = [first.sessions[int(np.argsort(q)[len(q) // 2])].trace]
    fig, axes = plt.subplots(1 + 3 * len(names), 1, figsize=(9, 3 + 6 * len(names)), squeeze=False)
    ax = axes[0, 0]
    for r in results:
        q = np.sort(r.per_trace())
        ax.plot(q, np.arange(1, len(q) + 1) / len(q), label=f"{r.algo} (mean {q.mean():.3f})")
    ax.set_xlabel("QoE per chunk")
    ax.set_ylabel("CDF over traces")
    ax.legend(fontsize=8)
    for ti, tname in enumerate(names):
        a_br, a_buf, a_tp = axes[1 + 3 * ti, 0], axes[2 + 3 * ti, 0], axes[3 + 3 * ti, 0]
        for r in results:
            s = next((s for s in r.sessions if s.trace == tname), None)
            if s is None:
                raise ConfigError(f"trace {tname!r} is not in the compared set")
            a_br.step(s.time_s, s.bitrate_kbps, where="pre", label=r.algo)
            a_buf.plot(s.time_s, s.buffer_s, label=r.algo)
            a_tp.plot(s.time_s, s.throughput_mbps, label=r.algo)
        a_br.set_title(tname, fontsize=9)
        a_br.set_ylabel("bitrate (kbps)")
        a_buf.set_ylabel("buffer (s)")
        a_tp.set_ylabel("throughput (Mbit/s)")
        a_tp.set_xlabel("time (s)")
        a_br.legend(fontsize=7)
    fig.tight_layout()
    p = Path(out)
    try:
        with atomic_path(p, ".png") as tmp:
            fig.savefig(tmp, dpi=90, format="png")
    finally:
        plt.close(fig)
    return p
