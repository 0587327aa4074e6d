"""The alignment core on synthetic activity signals (no audio): FFT offset search and the split DP."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reelkit.post.subs.align import ActivityReference, _c_at, offset_scores, split_fit

DT = 0.01


def _activity(intervals: list[tuple[float, float]], duration: float) -> ActivityReference:
    v = np.zeros(round(duration / DT))
    for a, b in intervals:
        v[max(0, round(a / DT)) : max(0, round(b / DT))] = 1.0
    return ActivityReference(DT, v)


def _exact(
    ref: ActivityReference, starts: np.ndarray, ends: np.ndarray, w: np.ndarray, s: float, o: np.ndarray
) -> float:
    cum = ref.cumulative()
    return float(np.sum(w * (_c_at(ref, cum, s * ends + o) - _c_at(ref, cum, s * starts + o))))


@st.composite
def timelines(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cue starts/ends in the subtitle file and the true offset of each cue (piecewise constant)."""
    n = draw(st.integers(8, 30))
    n_splits = draw(st.integers(0, 2))
    split_at = sorted(
        draw(st.lists(st.integers(3, n - 3), min_size=n_splits, max_size=n_splits, unique=True))
    )
    # every segment holds at least 3 cues: a lone cue at its own offset is worth less than the two split
    # penalties that placing it would cost, so the true placement would not be the optimum
    assume(all(b - a >= 3 for a, b in itertools.pairwise(split_at)))
    offsets = np.zeros(n)
    # offsets within the DP's +/-60 s search: 15 + 2 x 20 at most
    o = draw(st.integers(-150, 150)) / 10  # on the 0.1 s grid
    jumps = {i: draw(st.sampled_from([-1, 1])) * draw(st.integers(50, 200)) / 10 for i in split_at}
    starts, ends = [], []
    t = 1.0
    for i in range(n):
        gap = draw(st.integers(3, 30)) / 10
        if i in jumps:
            o += jumps[i]
            if jumps[i] < 0:  # a cut: the subtitle file has a gap at least as long as the jump
                gap += -jumps[i] + 1.0
        t += gap
        dur = draw(st.integers(8, 30)) / 10
        starts.append(t)
        ends.append(t + dur)
        offsets[i] = o
        t += dur
    return np.array(starts), np.array(ends), offsets


@settings(max_examples=20, deadline=None)
@given(timelines())
def test_split_dp_recovers_piecewise_offsets(tl: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    starts, ends, true_off = tl
    w = np.ones(len(starts))
    placed_true = list(zip(starts + true_off, ends + true_off, strict=True))
    duration = float(max(b for _, b in placed_true)) + 40.0
    shift = max(0.0, -float(min(a for a, _ in placed_true))) + 5.0  # keep the media times positive
    ref = _activity([(a + shift, b + shift) for a, b in placed_true], duration + shift)
    cum = ref.cumulative()
    penalty = 1.0
    res = split_fit(ref, cum, starts, ends, w, 1.0, shift, 60.0, step=0.1, split_penalty=penalty)
    # optimal: never worse than the true placement (which pays one penalty per split)
    n_true_splits = int(np.count_nonzero(np.diff(true_off)))
    true_score = _exact(ref, starts, ends, w, 1.0, true_off + shift) - penalty * n_true_splits
    assert res.score >= true_score - 1e-6
    # and it is the true placement: every cue within one grid step of its true offset
    assert np.max(np.abs(res.offsets - (true_off + shift))) <= 0.1 + 1e-6
    # cues keep their order and do not overlap
    assert np.all(starts[1:] + res.offsets[1:] >= ends[:-1] + res.offsets[:-1] - 1e-9)


@settings(max_examples=12, deadline=None)
@given(timelines(), st.floats(0.5, 20.0))
def test_split_dp_without_evidence_for_splits_keeps_one_offset(
    tl: tuple[np.ndarray, np.ndarray, np.ndarray], penalty: float
) -> None:
    starts, ends, _ = tl
    w = np.ones(len(starts))
    ref = _activity(list(zip(starts + 7.0, ends + 7.0, strict=True)), float(ends.max()) + 60.0)
    res = split_fit(ref, ref.cumulative(), starts, ends, w, 1.0, 0.0, 30.0, step=0.1, split_penalty=penalty)
    assert np.allclose(res.offsets, 7.0, atol=1e-6)


@settings(max_examples=12, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3000), st.integers(30, 400)), min_size=2, max_size=12),
    st.integers(0, 10**6),
)
def test_fft_offset_scores_equal_exact_scores(cues: list[tuple[int, int]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    starts = np.array([a * DT for a, _ in cues])
    ends = np.array([(a + d) * DT for a, d in cues])
    w = rng.uniform(0.1, 1.0, len(cues))
    ref = ActivityReference(DT, rng.uniform(0, 1, 4000))
    offs, corr = offset_scores(ref, starts, ends, w, 1.0, -10.0, 10.0)
    assert offs[0] <= -10.0 + 1e-9 and offs[-1] >= 10.0 - 1e-9
    pick = rng.choice(len(offs), size=min(20, len(offs)), replace=False)
    cum = ref.cumulative()
    for k in pick:
        exact = float(np.sum(w * (_c_at(ref, cum, ends + offs[k]) - _c_at(ref, cum, starts + offs[k]))))
        assert abs(corr[k] - exact) < 1e-6


def test_outside_the_media_counts_as_silence() -> None:
    ref = ActivityReference(DT, np.ones(1000))  # 10 s of speech
    cum = ref.cumulative()
    assert float(_c_at(ref, cum, np.array(10.0))) == 10.0
    # 2 s before zero and 3 s after the end each cost one per second
    assert float(_c_at(ref, cum, np.array(13.0)) - _c_at(ref, cum, np.array(-2.0))) == 10.0 - 5.0


def test_coarsen_keeps_the_last_partial_group() -> None:
    """Seven 10 ms steps coarsened by five: the mean of the first five and of the last two (not dropped)."""
    coarse = ActivityReference(DT, np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0]), 0.5).coarsen(5)
    assert coarse.dt == 5 * DT and coarse.start_s == 0.5
    assert coarse.v.tolist() == pytest.approx([1.0, 0.5])


def test_cues_past_the_end_of_a_short_media_are_kept_not_dropped_as_a_cut_scene() -> None:
    """Media holding the first 100 s of a programme (an excerpt, a cut-short download), 50 cues over about
    215 s at offset +3.5: a dropped cue costs half a cue over silence, so the DP dropped the unheard cues
    as a "cut scene" and jumped, parking a later cue inside the audio. Past the media's end a dropped cue
    costs as much as a kept one: one offset, nothing dropped."""
    rng = np.random.default_rng(7)  # irregular lines, as speech is (a regular beat matches itself shifted)
    starts = 2.0 + np.cumsum(rng.uniform(2.5, 6.0, 50))
    ends = starts + rng.uniform(0.8, 2.2, 50)
    ref = _activity([(a + 3.5, b + 3.5) for a, b in zip(starts, ends, strict=True) if a + 3.5 < 100.0], 100.0)
    w = np.ones(len(starts))
    res = split_fit(ref, ref.cumulative(), starts, ends, w, 1.0, 0.0, 60.0, step=0.1, split_penalty=6.0)
    assert res.dropped is None or not res.dropped.any()
    assert np.allclose(res.offsets, 3.5, atol=1e-6)
