"""Every ABR policy through one conformance suite; BBA and robustMPC against hand cases and against a
plain re-implementation of Pensieve's ``sim/fixed_env.py`` + ``test/mpc.py`` written here."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from reelkit.errors import ConfigError, UserInputError
from reelkit.progress import SILENT
from reelkit.stream.abr import AbrPolicy, Observation, Video, available_policies, load_video_dir, make_policy
from reelkit.stream.abr.algos import BBA, RobustMPC, mpc_plan
from reelkit.stream.abr.sim import simulate, simulate_levels
from reelkit.stream.abr.stochastic import StochasticMPC
from reelkit.stream.abr.traces import Trace, load_traces
from reelkit.testing.executors import ReverseExecutor

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "abr"
LADDER = np.array([300.0, 750.0, 1200.0, 1850.0, 2850.0, 4300.0])


def synthetic_video(seed: int = 0, n: int = 49) -> Video:
    rng = np.random.default_rng(seed)
    base = LADDER * 4.0 / 8.0 * 1000.0
    return Video(LADDER, 4.0, base[:, None] * rng.uniform(0.8, 1.2, size=(1, n)))


def synthetic_trace(seed: int, mean: float = 1.5, n: int = 400) -> Trace:
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.5, 1.5, size=n))
    t = np.concatenate([[0.0], t])
    bw = np.clip(rng.lognormal(np.log(mean), 0.7, size=n + 1), 0.05, None)
    outage = rng.random(n + 1) < 0.05
    bw[outage] = 0.02
    return Trace(t, bw, name=f"syn{seed}")


@pytest.fixture(scope="module")
def tiny_fugu_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    video = synthetic_video()
    pol = StochasticMPC.train(
        [synthetic_trace(s) for s in range(4)], video.with_session(48), episodes=1, epochs=2, horizon=5
    )
    path = tmp_path_factory.mktemp("fugu") / "fugu.npz"
    pol.save(path)
    return path


def _make(name: str, model: Path) -> AbrPolicy:
    return make_policy(name, model=model if name in ("fugu",) else None)


POLICIES = [p for p in available_policies() if p != "best"]


@pytest.mark.parametrize("name", POLICIES)
class TestConformance:
    def test_levels_in_range_and_deterministic(self, name: str, tiny_fugu_model: Path) -> None:
        video = synthetic_video()
        for seed in range(3):
            tr = synthetic_trace(seed)
            a = simulate(_make(name, tiny_fugu_model), tr, video)
            b = simulate(_make(name, tiny_fugu_model), tr, video)
            assert a.levels.min() >= 0 and a.levels.max() < video.n_levels
            assert a.levels[0] == 1  # first chunk at level 1
            assert np.array_equal(a.levels, b.levels)
            assert len(a.levels) == 48

    def test_reset_clears_state(self, name: str, tiny_fugu_model: Path) -> None:
        video = synthetic_video()
        pol = _make(name, tiny_fugu_model)
        first = simulate(pol, synthetic_trace(1), video)
        simulate(pol, synthetic_trace(7, mean=0.4), video)  # some history in between
        again = simulate(pol, synthetic_trace(1), video)
        assert np.array_equal(first.levels, again.levels)

    def test_per_step_matches_simulator(self, name: str, tiny_fugu_model: Path) -> None:
        video = synthetic_video().with_session(48)
        sess = simulate(_make(name, tiny_fugu_model), synthetic_trace(2), video)
        pol = _make(name, tiny_fugu_model)
        pol.reset(video)
        assert pol.choose(Observation(0, 0, 0.0, 1.0, 0.0)) == 1
        for k in range(1, len(sess.levels)):
            obs = Observation(
                k,
                int(sess.levels[k - 1]),
                float(sess.chunk_bytes[k - 1]),
                float(sess.download_s[k - 1]),
                float(sess.buffer_s[k - 1]),
                float(sess.rebuffer_s[k - 1]),
            )
            assert pol.choose(obs) == sess.levels[k], f"chunk {k}"

    def test_single_level_ladder(self, name: str, tiny_fugu_model: Path) -> None:
        video = Video.constant_bitrate([500.0], 4.0, 10)
        if name == "fugu":
            return  # its model is for the synthetic ladder; covered above
        s = simulate(_make(name, tiny_fugu_model), synthetic_trace(0), video)
        assert np.all(s.levels == 0)
        # chunk 0 at start level 1 clipped to the one-level ladder (a player asks for it too)
        pol = _make(name, tiny_fugu_model)
        pol.reset(video)
        assert pol.choose(Observation(0, 0, 0.0, 0.0, 0.0)) == 0


def test_training_is_seeded(tiny_fugu_model: Path, tmp_path: Path) -> None:
    video = synthetic_video()
    pol = StochasticMPC.train(
        [synthetic_trace(s) for s in range(4)], video.with_session(48), episodes=1, epochs=2, horizon=5
    )
    pol.save(tmp_path / "again.npz")
    with np.load(tiny_fugu_model) as a, np.load(tmp_path / "again.npz") as b:
        assert a.files == b.files
        for k in a.files:
            assert np.array_equal(a[k], b[k]), k


def test_training_fits_the_fade_on_its_training_traces() -> None:
    """``train`` keeps the fade with the best mean QoE over its own training traces (evaluation mode), the
    shorter one on ties; one candidate is taken as given; no candidates, or a negative one, is refused."""
    video = synthetic_video().with_session(48)
    traces = [synthetic_trace(s, mean=m) for s, m in ((0, 2.0), (1, 3.5), (2, 1.5))]
    kw = dict(episodes=1, epochs=2, horizon=5)
    pol = StochasticMPC.train(traces, video, smooth_fades=(0, 4, 24), **kw)  # type: ignore[arg-type]
    means = {}
    for fade in (0, 4, 24):
        p = pol.fresh()
        p.smooth_fade_chunks = fade
        means[fade] = float(np.mean([simulate(p, tr, video).qoe_sum for tr in traces]))
    best = max(means.values())
    assert pol.smooth_fade_chunks == min(f for f, m in means.items() if m == best)
    assert len(set(means.values())) > 1  # the candidates really differ on these traces
    assert StochasticMPC.train(traces, video, smooth_fades=(12,), **kw).smooth_fade_chunks == 12  # type: ignore[arg-type]
    for bad in ((), (-1, 8)):
        with pytest.raises(ConfigError, match="smooth_fades"):
            StochasticMPC.train(traces, video, smooth_fades=bad, **kw)  # type: ignore[arg-type]


def test_training_plays_sessions_of_the_videos_length(monkeypatch: pytest.MonkeyPatch) -> None:
    """``abr train --chunks 12`` collected and fitted its fade on sessions of the simulator's default 48
    chunks."""
    import reelkit.stream.abr.stochastic as stochastic_mod
    import reelkit.stream.abr.ttp as ttp_mod

    lengths: list[int] = []

    def recording(*args: object, **kwargs: object) -> object:
        session = simulate(*args, **kwargs)  # type: ignore[arg-type]
        lengths.append(len(session.levels))
        return session

    monkeypatch.setattr(ttp_mod, "simulate", recording)
    monkeypatch.setattr(stochastic_mod, "simulate", recording)
    traces = [synthetic_trace(s) for s in (0, 1)]
    StochasticMPC.train(
        traces,
        synthetic_video().with_session(12),
        episodes=1,
        epochs=2,
        horizon=5,
        members=1,
        smooth_fades=(0, 4),
    )
    assert lengths and set(lengths) == {12}


def test_unknown_policy() -> None:
    with pytest.raises(UserInputError, match="unknown ABR algorithm"):
        make_policy("nope")


def test_best_loads_shipped_model() -> None:
    pol = make_policy("best")
    video = synthetic_video()
    s = simulate(pol, synthetic_trace(0), video)
    assert s.levels.max() < 6


@pytest.mark.parametrize(
    ("buffer_s", "level"),
    [(0.0, 0), (4.99, 0), (5.0, 0), (7.0, 1), (9.0, 2), (14.99, 4), (15.0, 5), (40.0, 5)],
)
def test_bba_hand_cases(buffer_s: float, level: int) -> None:
    pol = BBA()
    pol.reset(synthetic_video())
    assert pol.choose(Observation(3, 2, 1e6, 1.0, buffer_s)) == level


def test_rate_based_reads_mbyteps_as_8000_kbps_and_takes_a_rung_equal_to_it() -> None:
    """Pins kbps = MB/s x 8000 and bitrate <= forecast: 0.35 MB/s = 2800 kbps carries 1850 (x 8192 read
    2867: 2850), 0.15 MB/s = 1200 kbps carries 1200 exactly, 0.35625 MB/s = 2850 kbps carries 2850."""
    from reelkit.stream.abr.algos import RateBased

    video = Video.constant_bitrate(LADDER, 4.0, 10)
    for chunk_bytes, level in ((350_000.0, 3), (150_000.0, 2), (356_250.0, 4)):
        pol = RateBased()
        pol.reset(video)
        assert pol.choose(Observation(1, 1, chunk_bytes, 1.0, 4.0)) == level


def test_ewma_weighs_the_newest_sample_by_alpha() -> None:
    """Pins the EWMA by hand: 1 then 2 MB/s gives 0.3 * 2 + 0.7 * 1 = 1.3 (fast), 0.1 * 2 + 0.9 * 1 = 1.1
    (slow); ``dual`` takes the lower."""
    from reelkit.stream.abr.predictors import Ewma

    for dual, want in ((False, 1.3), (True, 1.1)):
        p = Ewma(dual=dual)
        p.update(1.0)
        p.update(2.0)
        assert p.predict() == pytest.approx(want)


def test_make_predictor_harmonic_is_robustmpcs_last_five() -> None:
    """Pins make_predictor('harmonic') to the harmonic mean of the last 5 samples: after 100, 1, 2, 4, 4, 4
    MB/s it is 5 / (1 + 1/2 + 3/4) = 20/9 (the 100 has left the window); 'ewma' is the default Ewma."""
    from reelkit.stream.abr.predictors import Ewma, HarmonicMean, make_predictor

    for name in ("harmonic", "HM"):
        p = make_predictor(name)
        assert isinstance(p, HarmonicMean) and p.predict() is None
        for v in (100.0, 1.0, 2.0, 4.0, 4.0, 4.0):
            p.update(v)
        assert p.predict() == pytest.approx(20 / 9)
    assert isinstance(make_predictor("ewma"), Ewma)
    with pytest.raises(ConfigError, match="unknown predictor"):
        make_predictor("median")


def test_mpc_takes_make_predictors_names_and_refuses_others() -> None:
    """MPC(predictor=...) read every name but 'harmonic' as EWMA ('hm', 'HARMONIC', 'bogus' all gave an Ewma);
    it takes make_predictor's names and refuses an unknown one."""
    from reelkit.stream.abr.algos import MPC
    from reelkit.stream.abr.predictors import Ewma, HarmonicMean

    for name in ("harmonic", "hm", "HARMONIC"):
        assert isinstance(MPC(predictor=name).predictor, HarmonicMean), name
    assert isinstance(MPC(predictor="EWMA").predictor, Ewma)
    with pytest.raises(ConfigError, match="unknown predictor 'bogus'; choose harmonic or ewma"):
        MPC(predictor="bogus")


def test_robustmpc_hand_cases() -> None:
    video = Video.constant_bitrate(LADDER, 4.0, 49).with_session(48)
    # plenty of bandwidth and buffer: top level
    assert mpc_plan(video, 5, 5, 30.0, 10.0) == 5
    # 1 MB/s and no buffer: every level above 1850 kbps stalls
    assert mpc_plan(video, 5, 0, 0.0, 0.3) == 0
    # robust discount: after a 2x overestimate the forecast halves
    pol = RobustMPC()
    pol.reset(video)
    pol.choose(Observation(1, 1, 2e6, 1.0, 4.0))  # 2 MB/s
    pol.choose(Observation(2, 1, 1e6, 1.0, 4.0))  # 1 MB/s: error |hm - 1| / 1
    hm = 2.0 / (1 / 2.0 + 1 / 1.0)
    assert pol.errors[-1] == pytest.approx(1.0)
    assert pol.estimates[-1] == pytest.approx(hm)


def test_mpc_plan_looks_ahead_only_over_the_chunks_left_in_the_session() -> None:
    """Pins mpc_plan's horizon to the session (6 of 10 chunks), not the file: the session's last chunk
    (index 5) after the top rung with 8 s of buffer at 0.3 MB/s takes the top (2.15 MB in 7.17 s, no stall);
    planning 5 chunks past it, as if the file's chunks were played, steps down to level 4 (each later top
    chunk would stall)."""
    video = Video.constant_bitrate(LADDER, 4.0, 10)
    assert mpc_plan(video.with_session(6), 5, 5, 8.0, 0.3) == 5
    assert mpc_plan(video, 5, 5, 8.0, 0.3) == 4


def test_robustmpc_reset_forgets_the_last_sessions_errors() -> None:
    """Pins reset() clearing robustMPC's error window: a session that ended on a 10x overestimate (error
    |2 - 0.2| / 0.2 = 9) left the next session's first forecast divided by 10; after reset it is 2 MB/s."""
    video = Video.constant_bitrate(LADDER, 4.0, 49).with_session(48)
    pol = RobustMPC()
    pol.reset(video)
    fresh = pol.choose(Observation(1, 1, 2e6, 1.0, 8.0))
    for k, b in ((2, 2e6), (3, 0.2e6)):
        pol.choose(Observation(k, 1, b, 1.0, 8.0))
    assert pol.errors[-1] == pytest.approx(9.0)
    pol.reset(video)
    assert pol.choose(Observation(1, 1, 2e6, 1.0, 8.0)) == fresh == 5 and pol.errors == [0.0]


def test_mpc_weighs_at_most_max_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the plan limit as inclusive: with MAX_PLANS = 8, 2 levels over 3 chunks (8 plans) are weighed
    and 3 over 2 (9) refused; the shipped limit is 16**5 (a 16-rung ladder over 5 chunks)."""
    from reelkit.stream.abr import algos

    assert algos.MAX_PLANS == 16**5
    algos.level_combos.cache_clear()
    monkeypatch.setattr(algos, "MAX_PLANS", 8)
    try:
        assert algos.level_combos(2, 3).shape == (8, 3)
        with pytest.raises(ConfigError, match="would weigh 9 plans"):
            algos.level_combos(3, 2)
    finally:
        algos.level_combos.cache_clear()


@pytest.mark.parametrize("algo", ["mpc", "robustmpc"])
def test_mpc_does_not_read_past_the_last_chunk(algo: str) -> None:
    """A session of every chunk: the one-ahead look-up read size 0 past the end on the last decision,
    every plan tied, and the tie went to the top rung (a 23 s stall on a 0.6 Mbit/s line)."""
    from reelkit.stream.abr.traces import Trace

    video = Video.constant_bitrate(LADDER, 4.0, 12)
    assert video.session_chunks == video.n_chunks == 12
    trace = Trace(np.arange(0.0, 400.0), np.full(400, 0.6), name="0.6 Mbit/s")
    levels = simulate(make_policy(algo), trace, video).levels.tolist()
    assert max(levels) <= 1, levels  # 0.6 Mbit/s carries 300 kbps (and 750 with a buffer), never 4300


# ---- reference: a plain re-implementation of fixed_env.py + test/mpc.py (errors reset per video) ----


def _ref_env_chunk(
    st: dict[str, float], cooked_time: list[float], cooked_bw: list[float], size: float
) -> tuple:
    delay = 0.0
    sent = 0.0
    while True:
        throughput = cooked_bw[int(st["ptr"])] * 1000000.0 / 8.0
        duration = cooked_time[int(st["ptr"])] - st["last"]
        payload = throughput * duration * 0.95
        if sent + payload > size:
            frac = (size - sent) / throughput / 0.95
            delay += frac
            st["last"] += frac
            break
        sent += payload
        delay += duration
        st["last"] = cooked_time[int(st["ptr"])]
        st["ptr"] += 1
        if st["ptr"] >= len(cooked_bw):
            st["ptr"] = 1
            st["last"] = 0
    delay *= 1000.0
    delay += 80
    rebuf = max(delay - st["buffer"], 0.0)
    st["buffer"] = max(st["buffer"] - delay, 0.0)
    st["buffer"] += 4000.0
    if st["buffer"] > 60000.0:
        sleep = np.ceil((st["buffer"] - 60000.0) / 500.0) * 500.0
        st["buffer"] -= sleep
        while True:
            duration = cooked_time[int(st["ptr"])] - st["last"]
            if duration > sleep / 1000.0:
                st["last"] += sleep / 1000.0
                break
            sleep -= duration * 1000.0
            st["last"] = cooked_time[int(st["ptr"])]
            st["ptr"] += 1
            if st["ptr"] >= len(cooked_bw):
                st["ptr"] = 1
                st["last"] = 0
    return delay, st["buffer"] / 1000.0, rebuf / 1000.0


def test_sleeping_at_the_buffer_cap_moves_the_trace_clock() -> None:
    """Pins fixed_env.py's sleep loop: at the 60 s cap the player sleeps and the trace clock moves on, so the
    next chunk meets the 0.2 Mbit/s half of a 10 s square wave (a clock held still kept it in the fast half:
    robustMPC's QoE on Pensieve's video went 170.55 -> 198.55). Every chunk as the reference above."""
    t = np.arange(0.0, 400.0)
    bw = np.where((t // 10) % 2 == 0, 0.2, 30.0)
    video = Video.constant_bitrate(LADDER, 4.0, 48)
    levels = np.array([1] + [0, 2, 1, 3] * 11 + [0, 0, 0])
    s = simulate_levels(levels, Trace(t, bw, name="square"), video)
    st = {"ptr": 1, "last": 0.0, "buffer": 0.0}
    ref = np.array(
        [_ref_env_chunk(st, t.tolist(), bw.tolist(), float(video.sizes[q, k])) for k, q in enumerate(levels)]
    )
    assert (s.sleep_s > 0).sum() > 10  # the buffer reaches the cap again and again
    np.testing.assert_allclose(s.download_s, ref[:, 0] / 1000.0, rtol=1e-9)
    np.testing.assert_allclose(s.buffer_s, ref[:, 1], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(s.rebuffer_s, ref[:, 2], rtol=1e-9, atol=1e-9)
    assert (s.download_s > 6.0).sum() == 7  # the chunks that met the slow half of the wave


def _ref_robustmpc_qoe(trace: Trace, video: Video) -> float:
    bitrates = [int(b) for b in video.bitrates_kbps]
    cooked_time, cooked_bw = trace.times_s.tolist(), trace.mbps.tolist()

    def size(q: int, index: int) -> float:
        return float(video.sizes[q, index]) if 0 <= index < video.n_chunks else 0.0

    combos = list(itertools.product(range(6), repeat=5))
    st = {"ptr": 1, "last": cooked_time[0], "buffer": 0.0}
    bit_rate = last_bit_rate = 1
    past_bw: list[float] = []
    past_errors: list[float] = []
    past_ests: list[float] = []
    rewards = []
    for counter in range(48):
        delay, buffer_size, rebuf = _ref_env_chunk(st, cooked_time, cooked_bw, size(bit_rate, counter))
        reward = (
            bitrates[bit_rate] / 1000.0
            - 4.3 * rebuf
            - abs(bitrates[bit_rate] - bitrates[last_bit_rate]) / 1000.0
        )
        rewards.append(reward)
        last_bit_rate = bit_rate
        bw = size(bit_rate, counter) / delay / 1000.0
        curr_error = abs(past_ests[-1] - bw) / float(bw) if past_ests else 0
        past_errors.append(curr_error)
        past_bw.append(bw)
        harmonic = 1.0 / (sum(1 / float(x) for x in past_bw[-5:]) / len(past_bw[-5:]))
        future_bw = harmonic / (1 + float(max(past_errors[-5:])))
        past_ests.append(harmonic)
        last_index = counter + 1
        length = min(5, 48 - last_index)
        max_reward, send = -100000000.0, 0
        for full in combos:
            combo = full[:length]
            curr_rebuf, curr_buffer, bsum, smooth, lq = 0.0, buffer_size, 0, 0, bit_rate
            for pos, cq in enumerate(combo):
                download = (size(cq, last_index + pos + 1) / 1000000.0) / future_bw
                if curr_buffer < download:
                    curr_rebuf += download - curr_buffer
                    curr_buffer = 0
                else:
                    curr_buffer -= download
                curr_buffer += 4
                bsum += bitrates[cq]
                smooth += abs(bitrates[cq] - bitrates[lq])
                lq = cq
            r = bsum / 1000.0 - 4.3 * curr_rebuf - smooth / 1000.0
            if r >= max_reward:
                max_reward, send = r, combo[0] if combo else 0
        bit_rate = send
    return float(sum(rewards[1:48]))


def _reference_cases() -> list[tuple[Trace, Video]]:
    cases = [(synthetic_trace(s, mean=m), synthetic_video(s)) for s, m in ((11, 1.2), (12, 3.0))]
    if DATA.is_dir():
        trs = load_traces(DATA / "train_traces")
        vid = load_video_dir(DATA / "video")
        cases += [(trs[i], vid) for i in (0,)]
    return cases


@pytest.mark.slow
@pytest.mark.parametrize("case", range(3))
def test_robustmpc_matches_reference(case: int) -> None:
    cases = _reference_cases()
    if case >= len(cases):
        pytest.skip(f"{DATA} not present")
    trace, video = cases[case]
    ours = simulate(RobustMPC(), trace, video).qoe_sum
    assert ours == pytest.approx(_ref_robustmpc_qoe(trace, video), abs=1e-6)


def test_run_algorithm_plans_with_the_qoe_it_scores() -> None:
    """Pins run_algorithm's planners to the QoE they are scored on: robustmpc under hd plays as
    RobustMPC(qoe='hd') does, not as the lin-planning default (which differs on this trace)."""
    from reelkit.stream.abr.evaluate import run_algorithm

    video, trace = synthetic_video(0), synthetic_trace(0)
    got = run_algorithm("robustmpc", [trace], video, qoe="hd").sessions[0]
    want = simulate(RobustMPC(qoe="hd"), trace, video, qoe="hd")
    lin_planned = simulate(RobustMPC(), trace, video, qoe="hd")
    assert not np.array_equal(want.levels, lin_planned.levels)  # the case tells the two apart
    assert np.array_equal(got.levels, want.levels) and got.qoe_sum == pytest.approx(want.qoe_sum)


@pytest.mark.parametrize("name", POLICIES)
def test_run_algorithm_maps_the_traces_through_the_executor(name: str, tiny_fugu_model: Path) -> None:
    """Every algorithm's traces are tasks of the executor (only the optimum's were; the rest ran in a loop
    here whatever executor was given), and a session is the same run last first as a fresh policy's alone."""
    from reelkit.stream.abr.evaluate import run_algorithm

    video = synthetic_video(0)
    traces = [synthetic_trace(s, n=80) for s in range(4)]
    ex = ReverseExecutor()
    got = run_algorithm(name, traces, video, policy=_make(name, tiny_fugu_model), executor=ex)
    assert ex.calls == [(f"simulating {name}", 4)]
    for tr, s in zip(traces, got.sessions, strict=True):
        want = simulate(_make(name, tiny_fugu_model), tr, video)
        assert s.trace == tr.name and np.array_equal(s.levels, want.levels)
        assert s.qoe_sum == want.qoe_sum


def test_the_comparison_plot_draws_the_median_trace_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pins plot_comparison's default trace: the one with the median QoE of the first algorithm (of 3)."""
    from matplotlib.axes import Axes

    from reelkit.stream.abr.evaluate import plot_comparison, run_algorithm

    titles: list[str] = []
    real = Axes.set_title

    def set_title(ax: Axes, label: str, *args: object, **kwargs: object) -> object:
        titles.append(label)
        return real(ax, label, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Axes, "set_title", set_title)
    res = run_algorithm("bba", [synthetic_trace(s, n=80) for s in range(3)], synthetic_video(0))
    q = res.per_trace()
    assert len(set(q.tolist())) == 3  # a strict median
    plot_comparison([res], tmp_path / "c.png")
    assert titles == [res.sessions[int(np.argsort(q)[1])].trace]


def test_kfold_splits_partition_the_traces_and_allow_leave_one_out() -> None:
    """Pins kfold_splits: k = n is leave-one-out (each trace tested once, trained on the rest); 5 into 2
    folds is 3 + 2; k > n and k < 2 are refused."""
    from reelkit.stream.abr.evaluate import kfold_splits

    loo = kfold_splits(3, 3, seed=1)
    assert sorted(int(te[0]) for _, te in loo) == [0, 1, 2] and all(len(te) == 1 for _, te in loo)
    for tr, te in loo:
        assert sorted([*tr.tolist(), *te.tolist()]) == [0, 1, 2]
    assert sorted(len(te) for _, te in kfold_splits(5, 2)) == [2, 3]
    for n, k in ((3, 4), (3, 1)):
        with pytest.raises(ConfigError, match="folds"):
            kfold_splits(n, k)


class _SureThroughput:
    """A predictor certain of one throughput (``mbyteps``), whatever the history: the planner's arithmetic
    can then be checked by hand."""

    def __init__(self, mbyteps: float) -> None:
        self.hm = mbyteps
        self.centers = np.zeros(1)  # one bin, at hm * exp(0)

    def rows(self, tputs: object, downloads: object, sizes: np.ndarray) -> tuple[np.ndarray, float]:
        return np.zeros((sizes.size, 1)), self.hm

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.ones((x.shape[0], 1))


def _two_level_video(sizes: list[list[float]]) -> Video:
    return Video(np.array([1000.0, 2000.0]), 4.0, np.array(sizes))


def _fugu_choice(pol: StochasticMPC, video: Video, index: int, last: int, buffer_s: float) -> int:
    pol.reset(video)
    return pol.choose(Observation(index, last, 1e6, 1.0, buffer_s, 0.0))


@pytest.mark.parametrize(
    ("buffer_s", "rebuf_weight", "smooth_weight", "level"),
    [(0.5, 1.0, 1.0, 0), (0.6, 1.0, 1.0, 1), (0.6, 2.0, 1.0, 0), (0.5, 1.0, 3.0, 1)],
)
def test_fugu_last_chunk_by_hand(
    buffer_s: float, rebuf_weight: float, smooth_weight: float, level: int
) -> None:
    """Pins the one-step plan (lin QoE): at 1 MB/s, from 2 Mbit/s, 0.5 MB at 1 Mbit/s scores 1 - smooth_weight
    x |1 - 2| and 1 MB at 2 Mbit/s scores 2 - 4.3 rebuf_weight x (1 s - buffer); 2 wins above 0.535 s of
    buffer (above 0.767 s at rebuf_weight 2), and always when a switch costs x3."""
    video = _two_level_video([[0.5e6, 0.5e6], [1e6, 1e6]])
    pol = StochasticMPC(_SureThroughput(1.0), rebuf_weight=rebuf_weight, smooth_weight=smooth_weight)  # type: ignore[arg-type]
    assert _fugu_choice(pol, video, 1, 1, buffer_s) == level


@pytest.mark.parametrize(("next_high_bytes", "level"), [(1e6, 1), (40e6, 0)])
def test_fugu_plans_on_the_next_chunks_own_size(next_high_bytes: float, level: int) -> None:
    """Pins the two-step plan on each chunk's own size: from 1 Mbit/s with 10 s of buffer at 1 MB/s, stepping
    up twice scores (2 - 1) + 2 against 1 + 1 for staying; when the next 2 Mbit/s chunk is 40 MB (a 27 s
    stall), staying (2) beats up-then-down (1 + 0)."""
    video = _two_level_video([[0.5e6, 0.5e6, 0.5e6], [1e6, 1e6, next_high_bytes]])
    pol = StochasticMPC(_SureThroughput(1.0))  # type: ignore[arg-type]
    assert _fugu_choice(pol, video, 1, 0, 10.0) == level


def test_fugu_carries_the_buffer_between_planned_steps() -> None:
    """Pins the buffer after a planned chunk (buffer - download + chunk): 1 and 3 Mbit/s, 1 MB/s, 1 s of
    buffer; up-up-up scores (3 - 2) + 3 + 3 = 7 with 7 s left for a 3.75 MB third chunk, above low-up-up's 5;
    leaving out each later chunk's 4 s makes up-up-up stall 0.75 s (3.775) and low-up-up 0.25 s (3.925)."""
    sizes = [[0.5e6, 0.5e6, 0.5e6, 0.5e6], [1e6, 1e6, 1e6, 3.75e6]]
    video = Video(np.array([1000.0, 3000.0]), 4.0, np.array(sizes))
    pol = StochasticMPC(_SureThroughput(1.0))  # type: ignore[arg-type]
    assert _fugu_choice(pol, video, 1, 0, 1.0) == 1


@pytest.mark.parametrize(("terminal_weight", "level"), [(3.0, 1), (5.0, 0)])
def test_fugu_values_the_buffer_left_by_terminal_weight_per_second(
    terminal_weight: float, level: int
) -> None:
    """Pins the end-of-horizon value (terminal_weight x seconds of buffer): last chunk from 2 Mbit/s with 10 s
    at 1 MB/s, 1 Mbit/s scores 0 + 13.5 w and 2 Mbit/s 2 + 13 w; staying up wins below w = 4."""
    video = _two_level_video([[0.5e6, 0.5e6], [1e6, 1e6]])
    pol = StochasticMPC(_SureThroughput(1.0), terminal_weight=terminal_weight)  # type: ignore[arg-type]
    assert _fugu_choice(pol, video, 1, 1, 10.0) == level


def test_fugu_plans_the_fade_with_the_chunks_left_this_one_included(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the chunks left the fade is given: of 10 chunks with an 8-chunk fade from x3, chunk 2 plans x3
    (8 left), chunk 6 x2 (4 left) and the last, chunk 9, x1.25 (1 left)."""
    import reelkit.stream.abr.stochastic as stochastic_mod

    seen: list[float] = []

    def spy(*args: object) -> int:
        seen.append(float(args[5]))  # type: ignore[arg-type]
        return 0

    monkeypatch.setattr(stochastic_mod, "_smpc", spy)
    video = _two_level_video([[0.5e6] * 10, [1e6] * 10])
    pol = StochasticMPC(_SureThroughput(1.0), smooth_weight=3.0, smooth_fade_chunks=8)  # type: ignore[arg-type]
    for index in (2, 6, 9):
        _fugu_choice(pol, video, index, 0, 10.0)
    assert seen == [3.0, 2.0, 1.25]


def test_a_fresh_fugu_keeps_every_setting() -> None:
    """Pins fresh() (each service session's policy): the same predictor and every planning setting."""
    pol = StochasticMPC(
        _SureThroughput(1.0),  # type: ignore[arg-type]
        horizon=7,
        buffer_step_s=0.25,
        qoe="log",
        buffer_cap_s=30.0,
        terminal_weight=0.5,
        smooth_weight=2.5,
        rebuf_weight=0.75,
        smooth_fade_chunks=6,
    )
    again = pol.fresh()
    assert again.predictor is pol.predictor
    keys = ("horizon", "buffer_step_s", "buffer_cap_s", "terminal_weight", "smooth_weight", "rebuf_weight",
            "smooth_fade_chunks")  # fmt: skip
    assert [getattr(again, k) for k in keys] == [7, 0.25, 30.0, 0.5, 2.5, 0.75, 6]
    assert again.qoe.name == "log"


def test_fade_fit_keeps_the_shortest_of_the_tied_best(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the fade fit's choice: the highest mean QoE, the shorter fade on a tie (8 and 16 tie at 1)."""
    import types

    import reelkit.stream.abr.stochastic as stochastic_mod

    def scored(pol: StochasticMPC, *args: object, **kwargs: object) -> object:
        return types.SimpleNamespace(qoe_sum=1.0 if pol.smooth_fade_chunks in (8, 16) else 0.0)

    monkeypatch.setattr(stochastic_mod, "simulate", scored)
    pol = StochasticMPC(_SureThroughput(1.0))  # type: ignore[arg-type]
    video = _two_level_video([[0.5e6], [1e6]])
    assert pol._best_fade([Trace.constant(1.0)] * 2, video, (24, 16, 8, 0), SILENT) == 8


def test_fugu_planning_weights_round_trip_and_act(tiny_fugu_model: Path, tmp_path: Path) -> None:
    """The planner's penalty weights survive save/load; a heavy switch penalty plans fewer switches."""
    base = StochasticMPC.load(tiny_fugu_model)
    heavy = StochasticMPC(base.predictor, horizon=5, smooth_weight=50.0, rebuf_weight=0.5)
    heavy.save(tmp_path / "heavy.npz")
    again = StochasticMPC.load(tmp_path / "heavy.npz")
    assert (again.smooth_weight, again.rebuf_weight) == (50.0, 0.5)
    video = synthetic_video()
    switches_base = sum(simulate(base, synthetic_trace(s), video).switches for s in range(3))
    switches_heavy = sum(simulate(again, synthetic_trace(s), video).switches for s in range(3))
    assert switches_heavy <= switches_base
    assert switches_heavy <= 3  # staying put is almost always worth 50x the switch cost


def test_shipped_model_uses_the_tuned_planner_weight() -> None:
    from reelkit.stream.abr.stochastic import SMOOTH_FADE_CANDIDATES, TUNED_SMOOTH_WEIGHT

    pol = make_policy("best")
    assert isinstance(pol, StochasticMPC)
    assert pol.smooth_weight == TUNED_SMOOTH_WEIGHT
    assert pol.rebuf_weight == 1.0
    assert pol.smooth_fade_chunks in SMOOTH_FADE_CANDIDATES[1:]  # fitted on the training traces: a fade


def test_switch_surcharge_fades_over_the_last_chunks(tiny_fugu_model: Path, tmp_path: Path) -> None:
    """x3 planned switch cost until the last 8 chunks, then linearly down to the true cost (x1); the fade
    survives save/load, an old file without it loads without fade, and a negative fade is refused."""
    base = StochasticMPC.load(tiny_fugu_model)
    pol = StochasticMPC(base.predictor, smooth_weight=3.0, smooth_fade_chunks=8)
    weights = [pol.planned_smooth_weight(n) for n in (48, 9, 8, 6, 4, 2, 1, 0)]
    assert weights == [3.0, 3.0, 3.0, 2.5, 2.0, 1.5, 1.25, 1.0]
    no_fade = StochasticMPC(base.predictor, smooth_weight=3.0)
    assert no_fade.planned_smooth_weight(1) == 3.0
    pol.save(tmp_path / "fade.npz")
    assert StochasticMPC.load(tmp_path / "fade.npz").smooth_fade_chunks == 8
    assert pol.fresh().smooth_fade_chunks == 8
    from reelkit.stream.abr.ttp import load_npz, save_npz

    arrays, meta = load_npz(tmp_path / "fade.npz", "fugu")
    del meta["smooth_fade_chunks"]  # a file written before the fade existed
    save_npz(tmp_path / "old.npz", arrays, meta)
    assert StochasticMPC.load(tmp_path / "old.npz").smooth_fade_chunks == 0
    with pytest.raises(ConfigError, match="smooth_fade_chunks"):
        StochasticMPC(base.predictor, smooth_fade_chunks=-1)


def test_fading_switch_cost_spends_the_buffer_at_the_end() -> None:
    """With the shipped predictor and a heavy planned switch cost (x6), fading it over the last 16 chunks
    makes the policy step up near the end: higher levels in the last 8 chunks and less buffer left unused
    when the session ends, over 12 synthetic traces."""
    best = make_policy("best")
    assert isinstance(best, StochasticMPC)
    video = synthetic_video()
    traces = [synthetic_trace(s, mean=m) for s in range(6) for m in (2.0, 3.5)]

    def run(fade: int) -> tuple[float, float]:
        pol = StochasticMPC(best.predictor, smooth_weight=6.0, smooth_fade_chunks=fade)
        ss = [simulate(pol, tr, video) for tr in traces]
        last8 = float(np.mean([x.levels[-8:].mean() for x in ss]))
        return last8, float(np.mean([x.buffer_s[-1] for x in ss]))

    (lv0, buf0), (lv1, buf1) = run(0), run(16)
    assert lv1 > lv0 + 0.05
    assert buf1 < buf0 - 1.0


def test_ensemble_predictor_averages_members_and_round_trips(tmp_path: Path) -> None:
    """Two members trained on different sessions: the ensemble's distribution is their mean, it saves and
    loads (no pickle) to the same predictions, and a one-member model still loads as before."""
    from reelkit.stream.abr.ttp import EnsembleDistribution, ThroughputDistribution

    video = synthetic_video()
    pol = StochasticMPC.train(
        [synthetic_trace(s) for s in range(3)],
        video.with_session(48),
        episodes=1,
        epochs=2,
        horizon=5,
        members=2,
    )
    ens = pol.predictor
    assert isinstance(ens, EnsembleDistribution) and len(ens.members) == 2
    rows, _ = ens.rows([1.0, 0.5, 0.8], [1.0, 2.0, 1.5], video.sizes[:, :5])
    a, b = (m.predict(rows) for m in ens.members)
    assert not np.allclose(a, b)  # different seeds and sessions
    np.testing.assert_allclose(ens.predict(rows), (a + b) / 2.0)
    np.testing.assert_allclose(ens.predict(rows).sum(axis=1), 1.0)
    pol.save(tmp_path / "ens.npz")
    again = StochasticMPC.load(tmp_path / "ens.npz")
    assert isinstance(again.predictor, EnsembleDistribution)
    np.testing.assert_allclose(again.predictor.predict(rows), ens.predict(rows))
    with np.load(tmp_path / "ens.npz", allow_pickle=False) as z:
        assert int(z["ttp_members"]) == 2
    single = StochasticMPC(ens.members[0], horizon=5)
    single.save(tmp_path / "one.npz")
    loaded = StochasticMPC.load(tmp_path / "one.npz").predictor
    assert isinstance(loaded, ThroughputDistribution)
    np.testing.assert_allclose(loaded.predict(rows), a)


def test_lags_past_the_trained_range_are_asked_as_the_last_trained_lag() -> None:
    """Pins the lag input of a 5-chunk horizon on a model trained on lags 0..2: 0, 1, 2, 2, 2 per level."""
    from reelkit.stream.abr.ttp import N_FEATURES, ThroughputDistribution

    dist = ThroughputDistribution(None, np.linspace(-3, 1.5, 24), max_lag=3)  # type: ignore[arg-type]
    rows, hm = dist.rows([1.0, 2.0], [1.0, 0.5], np.full((2, 5), 1e6))
    assert hm == pytest.approx(4.0 / 3.0)  # the harmonic mean of 1 and 2 MB/s
    assert rows[:, N_FEATURES].tolist() == [0.0, 1.0, 2.0, 2.0, 2.0] * 2


def test_throughput_labels_are_one_hot_smoothed_onto_their_neighbours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pins the training targets: 0.9 on the bin of ln(tput / hm), 0.05 on each neighbour (the edge bin keeps
    its outer share), rows summing to 1; chunk k's label is ln(tput k / the harmonic mean of the 5 before it),
    binned to the nearest of 24 bins over [-3, 1.5]."""
    import reelkit.stream.abr.ttp as ttp_mod

    seen: list[np.ndarray] = []

    def capture(x: np.ndarray, t: np.ndarray, **kwargs: object) -> None:
        seen.append(t)

    monkeypatch.setattr(ttp_mod, "train_softmax", capture)
    video = synthetic_video().with_session(12)
    (session,) = ttp_mod.collect_sessions([synthetic_trace(3)], video, episodes=1)
    ttp_mod.ThroughputDistribution.fit([session], max_lag=1)
    (t,) = seen
    np.testing.assert_allclose(t.sum(axis=1), 1.0)
    tp = session.chunk_bytes / session.download_s
    for k in range(1, len(tp)):  # row k - 1: chunk k, against the harmonic mean of the 5 before it
        last5 = tp[max(k - 5, 0) : k]
        label = np.log(tp[k] * np.mean(1.0 / last5))
        b = int(np.clip(np.rint((label + 3.0) / (4.5 / 23)), 0, 23))
        want = np.zeros(24)
        want[b] += 0.9
        want[max(b - 1, 0)] += 0.05
        want[min(b + 1, 23)] += 0.05
        np.testing.assert_allclose(t[k - 1], want, err_msg=f"chunk {k}")


def test_history_and_session_features_by_hand() -> None:
    """Pins the predictor's inputs: ln(tput / hm) and a presence mask right-aligned in 8 slots, ln hm (the
    harmonic mean of the last 5: 3 / (1 + 1/2 + 1/4) = 12/7), ln of the LAST download; session features
    e^0..e^5: 6/48 chunks, 0 - mean(1..5) = -3, and the population std of 0..5, sqrt(35/12)."""
    from reelkit.stream.abr.ttp import history_features, session_features

    f, hm = history_features([1.0, 2.0, 4.0], [0.5, 1.0, 2.0])
    assert hm == pytest.approx(12 / 7)
    np.testing.assert_allclose(
        f[:8], [0, 0, 0, 0, 0, *np.log(np.array([1.0, 2.0, 4.0]) * 7 / 12)], atol=1e-12
    )
    assert f[8:16].tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    assert f[16] == pytest.approx(np.log(12 / 7)) and f[17] == pytest.approx(np.log(2.0))
    sf = session_features(np.exp(np.arange(6.0)))
    np.testing.assert_allclose(sf, [6 / 48, -3.0, np.sqrt(35 / 12)])


def test_an_ensemble_of_three_is_the_mean_not_the_median() -> None:
    """Pins the ensemble's average: members saying [1, 0], [0, 1], [0, 1] give [1/3, 2/3] (the median would
    give [0, 1]; with two members the two agree)."""
    from reelkit.stream.abr.ttp import EnsembleDistribution

    class _Fixed:
        def __init__(self, p: list[float]) -> None:
            self.p, self.max_lag, self.centers = np.array([p]), 1, np.array([0.0, 1.0])

        def predict(self, x: np.ndarray) -> np.ndarray:
            return self.p

    ens = EnsembleDistribution([_Fixed([1.0, 0.0]), _Fixed([0.0, 1.0]), _Fixed([0.0, 1.0])])  # type: ignore[list-item]
    np.testing.assert_allclose(ens.predict(np.zeros((1, 1))), [[1 / 3, 2 / 3]])


def test_mlp_first_adam_step_descends_the_cross_entropy_gradient() -> None:
    """Pins train_softmax's backpropagation: Adam's first step moves each first-layer weight by -lr * sign of
    the cross-entropy's gradient, here taken by central differences (tanh' = 1 - h^2 on the way back)."""
    from reelkit.stream.abr.mlp import Mlp, softmax, train_softmax

    rng = np.random.default_rng(7)
    x = rng.normal(size=(64, 3))
    t = softmax(rng.normal(size=(64, 3)) * 2)
    lr = 1e-3
    net = train_softmax(x, t, hidden=(4,), epochs=1, batch=64, lr=lr, l2=0.0, seed=0)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    init = Mlp.init([3, 4, 3], np.random.default_rng(0), mean, scale)  # the net train_softmax started from

    def loss(w0: np.ndarray) -> float:
        p = softmax(np.tanh((x - mean) / scale @ w0 + init.bs[0]) @ init.ws[1] + init.bs[1])
        return float(-np.mean(np.sum(t * np.log(p), axis=1)))

    grad = np.zeros_like(init.ws[0])
    for idx in np.ndindex(grad.shape):
        e = np.zeros_like(grad)
        e[idx] = 1e-6
        grad[idx] = (loss(init.ws[0] + e) - loss(init.ws[0] - e)) / 2e-6
    assert np.abs(grad).min() > 1e-4  # every sign is clear
    np.testing.assert_allclose(net.ws[0] - init.ws[0], -lr * np.sign(grad), rtol=1e-3)


def test_ensemble_members_must_share_bins() -> None:
    from reelkit.errors import ModelFormatError
    from reelkit.stream.abr.ttp import EnsembleDistribution, ThroughputDistribution

    net = StochasticMPC.train(
        [synthetic_trace(0)], synthetic_video().with_session(48), episodes=1, epochs=1, horizon=5, members=1
    ).predictor
    assert isinstance(net, ThroughputDistribution)
    other = ThroughputDistribution(net.net, net.centers[::2].copy(), net.max_lag)
    with pytest.raises(ModelFormatError, match="share their bins"):
        EnsembleDistribution([net, other])
    with pytest.raises(ModelFormatError, match="at least one"):
        EnsembleDistribution([])


def test_registry_knows_the_optimum_and_the_learned_names() -> None:
    from reelkit.stream.abr.registry import is_optimal, takes_model

    assert all(is_optimal(n) for n in ("optimal", "OPT", "offline-optimal"))
    assert not any(is_optimal(n) for n in ("robustmpc", "best", "fugu"))
    assert all(takes_model(n) for n in ("fugu", "best", "smpc", "Stochastic-MPC"))
    assert not any(takes_model(n) for n in ("bba", "rmpc", "optimal"))


def test_mpc_ewma_is_robust_mpc_on_an_ewma_forecast() -> None:
    """Pins the registry's mpc_ewma: robust MPC (forecast discounted by its past error) on the EWMA
    predictor; it plays as MPC(predictor='ewma', robust=True), not as the plain MPC on the same forecast."""
    from reelkit.stream.abr.algos import MPC
    from reelkit.stream.abr.predictors import Ewma

    pol = make_policy("mpc_ewma")
    assert pol.name == "mpc_ewma" and isinstance(pol, MPC) and isinstance(pol.predictor, Ewma)
    video, trace = synthetic_video(0), synthetic_trace(0)
    got = simulate(pol, trace, video).levels
    plain = simulate(MPC(predictor="ewma", robust=False), trace, video).levels
    assert not np.array_equal(got, plain)  # the case tells the two apart
    assert np.array_equal(got, simulate(MPC(predictor="ewma", robust=True), trace, video).levels)


def test_bola_floors_a_buffer_target_as_dash_js_does() -> None:
    """A buffer target at or under the minimum buffer made gamma*p infinite and every score NaN (always the
    bottom rung, silently), one just over it jumped bottom to top; min_buffer_s=0 divided by zero."""
    from reelkit.stream.abr.algos import Bola

    video = Video.constant_bitrate([300, 750, 1200, 1850, 2850, 4300], 4.0, 10)

    def levels(policy: Bola) -> list[int]:
        policy.reset(video)
        return [policy.choose(Observation(3, 1, 1e5, 1.0, b)) for b in (0.0, 5.0, 12.0, 16.0, 20.0, 50.0)]

    default = levels(Bola())
    assert levels(Bola(buffer_target_s=8.0)) == levels(Bola(buffer_target_s=10.0)) == default  # floor 22 s
    assert default == sorted(default) and len(set(default)) > 2 and default[-1] == 5
    assert levels(Bola(buffer_target_s=40.0)) != default
    for bad in ({"min_buffer_s": 0.0}, {"buffer_target_s": -1.0}):
        with pytest.raises(ConfigError, match="BOLA needs"):
            Bola(**bad)  # type: ignore[arg-type]


def test_bola_levels_follow_dash_js_formulas() -> None:
    """Pins BOLA-BASIC with dash.js's parameters on Pensieve's ladder: u_m = ln(b_m / 300) + 1, target
    max(12, 10 + 2 x 6) = 22 s, gp = ln(4300 / 300) / (22 / 10 - 1) = 2.2188, V = 10 / gp = 4.5069, level =
    argmax (V (u_m + gp) - buffer) / b_m. By hand at 12 s: level 0 scores (4.5069 x 3.2188 - 12) / 300 =
    0.00836, level 1 (4.5069 x 4.1351 - 12) / 750 = 0.00885, level 2 0.00730: level 1; at 22 s level 5 scores
    (4.5069 x 5.8814 - 22) / 4300 = 0.00105 against level 4's 0.00093: the top from the 22 s target up."""
    from reelkit.stream.abr.algos import Bola

    video = Video.constant_bitrate(LADDER, 4.0, 10)
    pol = Bola()
    pol.reset(video)
    buffers = (0.0, 5.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 30.0)
    levels = [pol.choose(Observation(3, 1, 1e5, 1.0, b)) for b in buffers]
    assert levels == [0, 0, 0, 1, 1, 2, 3, 4, 5, 5]


def test_rate_based_takes_the_highest_rung_under_the_harmonic_mean() -> None:
    """Pins the rule with no headroom: 0.33 MB/s = 2640 kbps carries 1850 (level 3), not 2850; 0.2 MB/s =
    1600 kbps carries 1200 (level 2); after 0.5 and 0.25 MB/s the harmonic mean is 1/3 MB/s = 2667 kbps:
    level 3 (a 1.2x headroom read levels 4, 3 and 4)."""
    from reelkit.stream.abr.algos import RateBased

    video = Video.constant_bitrate(LADDER, 4.0, 10)
    for mbyteps, level in ((0.33, 3), (0.2, 2)):
        pol = RateBased()
        pol.reset(video)
        assert pol.choose(Observation(0, 1, 0.0, 0.0, 0.0)) == 1  # the start level
        assert pol.choose(Observation(1, 1, mbyteps * 1e6, 1.0, 4.0)) == level
    pol = RateBased()
    pol.reset(video)
    pol.choose(Observation(1, 1, 0.5e6, 1.0, 4.0))
    assert pol.choose(Observation(2, 1, 0.25e6, 1.0, 4.0)) == 3
