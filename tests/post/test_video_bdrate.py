"""BD-rate on hand-computed curves, the convex hull, rung selection and the Lagrangian shot allocation."""

from __future__ import annotations

import itertools
import math

import pytest

from reelkit.errors import ConfigError, InfeasibleError
from reelkit.post.video.bdrate import bd_quality, bd_rate
from reelkit.post.video.ladder import (
    RDPoint,
    RungRule,
    convex_hull,
    fixed_ladder_specs,
    grid_sizes,
    select_rungs,
)
from reelkit.post.video.shots import ShotOption, lagrangian_choice, operating_points, optimize

Q = [30.0, 35.0, 40.0, 45.0]


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_constant_rate_ratio_is_exact(method: str) -> None:
    rates = [100.0, 200.0, 400.0, 800.0]
    assert bd_rate(rates, Q, [0.8 * r for r in rates], Q, method=method) == pytest.approx(-0.2, abs=1e-12)
    assert bd_rate(rates, Q, [1.5 * r for r in rates], Q, method=method) == pytest.approx(0.5, abs=1e-12)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_linear_log_rates_with_partial_overlap(method: str) -> None:
    # anchor: log10 R = 2 + 0.05 Q on Q 30..50; test: log10 R = 1.8 + 0.055 Q on Q 32..52.
    # overlap [32, 50]; mean difference = -0.2 + 0.005 * 41 = 0.005 -> BD-rate = 10**0.005 - 1
    qa = [30.0, 35.0, 40.0, 45.0, 50.0]
    qt = [32.0, 37.0, 42.0, 47.0, 52.0]
    ra = [10 ** (2 + 0.05 * q) for q in qa]
    rt = [10 ** (1.8 + 0.055 * q) for q in qt]
    assert bd_rate(ra, qa, rt, qt, method=method) == pytest.approx(10**0.005 - 1, abs=1e-9)


def test_cubic_is_exact_for_polynomial_curves() -> None:
    # anchor log10 R = 1 + 0.001 Q^2, test log10 R = 0.5 + 0.03 Q, both on Q 30..45:
    # (1/15) * integral_30^45 (-0.5 + 0.03 Q - 0.001 Q^2) dQ = (-7.5 + 16.875 - 21.375) / 15 = -0.8
    ra = [10 ** (1 + 0.001 * q * q) for q in Q]
    rt = [10 ** (0.5 + 0.03 * q) for q in Q]
    assert bd_rate(ra, Q, rt, Q, method="cubic") == pytest.approx(10**-0.8 - 1, abs=1e-9)
    # pchip interpolates the quadratic closely but not exactly
    assert bd_rate(ra, Q, rt, Q, method="pchip") == pytest.approx(10**-0.8 - 1, abs=5e-3)


def test_equal_points_count_the_same_in_any_order() -> None:
    """A saturated curve (two points at VMAF 100): the cheapest is kept whatever the order given (a CRF
    sweep in rising-CRF order gave -0.198 where rising-rate order gave -0.100)."""
    fixed = ([90, 180, 360, 720], [60, 80, 100, 100])
    up = bd_rate([100, 200, 400, 800], [60, 80, 100, 100], *fixed)
    down = bd_rate([800, 400, 200, 100], [100, 100, 80, 60], *fixed)
    assert up == pytest.approx(-0.1) and down == pytest.approx(up)
    # equal rates: the better quality counts, in any order
    assert bd_quality([100, 100, 400], [50, 60, 90], [100, 400], [60, 90]) == pytest.approx(0.0, abs=1e-12)
    assert bd_quality([100, 100, 400], [60, 50, 90], [100, 400], [60, 90]) == pytest.approx(0.0, abs=1e-12)


def test_bd_quality_and_errors() -> None:
    rates = [100.0, 200.0, 400.0, 800.0]
    assert bd_quality(rates, Q, rates, [q + 1.5 for q in Q]) == pytest.approx(1.5, abs=1e-12)
    with pytest.raises(ConfigError, match="do not overlap"):
        bd_rate(rates, Q, rates, [q + 100 for q in Q])
    with pytest.raises(ConfigError):
        bd_rate([100.0, -1.0], [1.0, 2.0], [100.0, 200.0], [1.0, 2.0])
    with pytest.raises(ConfigError, match="4 points"):
        bd_rate(rates[:3], Q[:3], rates[:3], Q[:3], method="cubic")


def test_a_one_point_curve_is_refused_as_too_short() -> None:
    """A curve of one encode is refused for its length (not reported as curves that do not overlap)."""
    with pytest.raises(ConfigError, match="anchor: a rate-quality curve needs at least 2 points"):
        bd_rate([300.0], [50.0], [100.0, 400.0], [40.0, 60.0])
    with pytest.raises(ConfigError, match="test: a rate-quality curve needs at least 2 points"):
        bd_quality([100.0, 400.0], [40.0, 60.0], [200.0], [50.0])


def test_curves_that_only_touch_or_start_at_zero_rate_have_no_bd_rate() -> None:
    """Curves sharing one quality (or rate) and a zero rate are refused, not returned as nan."""
    with pytest.raises(ConfigError, match="do not overlap"):
        bd_rate([100, 200, 400], [30, 35, 40], [100, 200, 400], [40, 45, 50])
    with pytest.raises(ConfigError, match="do not overlap"):
        bd_quality([100, 200], [30, 40], [200, 400], [35, 45])
    with pytest.raises(ConfigError, match="positive"):
        bd_rate([0.0, 200.0, 400.0], [30, 35, 40], [100.0, 200.0, 400.0], [30, 35, 40])


def test_cubic_bd_rate_of_a_cubic_curve() -> None:
    """VCEG-M33's fit is a cubic: anchor log10 R = 2 + 1e-4 (Q - 30)^3, test log10 R = 2, on Q 30..45:
    mean difference = -(1e-4 / 15) * 15^4 / 4 = -0.084375. The Q are unevenly spaced: at even spacing a
    least-squares quadratic happens to have the same integral."""
    q = [30.0, 33.0, 40.0, 45.0]
    ra = [10 ** (2 + 1e-4 * (x - 30) ** 3) for x in q]
    assert bd_rate(ra, q, [100.0] * 4, q, method="cubic") == pytest.approx(10**-0.084375 - 1, abs=1e-9)


def test_bd_quality_keeps_the_test_curves_best_quality_at_a_rate() -> None:
    """Of the test curve's two points at 100 kbps the better (60) counts, as for the anchor: no gain."""
    assert bd_quality([100, 400], [60, 90], [100, 100, 400], [50, 60, 90]) == pytest.approx(0.0, abs=1e-12)
    assert bd_quality([100, 400], [60, 90], [100, 100, 400], [60, 50, 90]) == pytest.approx(0.0, abs=1e-12)


def test_convex_hull_hand_case() -> None:
    pts = [
        RDPoint(100, 40),
        RDPoint(150, 41),  # below the chord 100 -> 200
        RDPoint(200, 60),
        RDPoint(250, 58),  # dominated (more bits, less quality)
        RDPoint(400, 75),
        RDPoint(500, 76),  # below the chord 400 -> 800
        RDPoint(800, 90),
        RDPoint(800, 85),  # same rate, worse
    ]
    hull = convex_hull(pts)
    assert [(p.rate, p.quality) for p in hull] == [(100, 40), (200, 60), (400, 75), (800, 90)]
    slopes = [(b.quality - a.quality) / (b.rate - a.rate) for a, b in itertools.pairwise(hull)]
    assert all(s1 > s2 for s1, s2 in itertools.pairwise(slopes))
    assert convex_hull([]) == []


def test_select_rungs_rule() -> None:
    hull = [
        RDPoint(r, q)
        for r, q in [
            (100, 40),
            (160, 52),
            (230, 60),
            (300, 66),
            (400, 72),
            (700, 84),
            (1000, 91),
            (1400, 95.5),
            (2500, 98),
        ]
    ]
    rungs = select_rungs(hull, RungRule(top_vmaf=95, min_kbps=145, step=6, min_ratio=1.3, max_rungs=8))
    # bottom: first >= 145 kbps (160); top: first with VMAF >= 95 (1400); steps of >= 6 VMAF in between
    assert [p.rate for p in rungs] == [160, 230, 300, 400, 700, 1000, 1400]
    # a stricter bitrate spacing drops rungs, keeping the top
    rungs2 = select_rungs(hull, RungRule(step=6, min_ratio=1.8))
    assert [p.rate for p in rungs2] == [160, 300, 700, 1400]
    assert select_rungs([]) == []
    # an easy title: everything from 145 kbps up is past VMAF 95, so the rule alone gives one rung; the
    # dearest point below the floor at least 1.3x cheaper becomes the second
    easy = [RDPoint(r, q) for r, q in [(40, 70), (110, 85), (142.8, 88.6), (1180, 97), (2000, 98)]]
    assert [p.rate for p in select_rungs(easy)] == [142.8, 1180]
    assert [p.rate for p in select_rungs(easy[3:])] == [1180]  # nothing cheaper to add


def test_convex_hull_drops_collinear_and_flat_points() -> None:
    """A point on the chord of its neighbours is not on the hull (slopes fall strictly), nor is a dearer point
    of equal quality (the Pareto front keeps strictly better ones)."""
    assert convex_hull([RDPoint(100, 40), RDPoint(200, 50), RDPoint(300, 60)]) == [
        RDPoint(100, 40),
        RDPoint(300, 60),
    ]
    assert convex_hull([RDPoint(100, 40), RDPoint(200, 60), RDPoint(400, 60)]) == [
        RDPoint(100, 40),
        RDPoint(200, 60),
    ]


def test_select_rungs_boundaries_by_hand() -> None:
    """Each clause of the rule on a hand case: the next level is step above the rung taken (not above the
    last level); min_kbps and min_ratio are inclusive; more rungs than max_rungs are spread evenly."""
    flat = RungRule(min_ratio=1.0)
    # 160 (50) -> level 56 -> 200 (60) -> level 66 -> 400 (70) -> level 76 -> the top; 250 (63) is skipped
    hull = [RDPoint(r, q) for r, q in [(160, 50), (200, 60), (250, 63), (400, 70), (1000, 96)]]
    assert [p.rate for p in select_rungs(hull, flat)] == [160, 200, 400, 1000]
    # a point at exactly min_kbps is the bottom rung
    hull = [RDPoint(r, q) for r, q in [(100, 40), (145, 50), (300, 70), (1000, 96)]]
    assert [p.rate for p in select_rungs(hull)] == [145, 300, 1000]
    # 250 / 200 is exactly min_ratio 1.25: both rungs stay
    hull = [RDPoint(r, q) for r, q in [(200, 60), (250, 70), (1000, 96)]]
    assert [p.rate for p in select_rungs(hull, RungRule(min_ratio=1.25))] == [200, 250, 1000]
    # ten rungs to four: indexes round(i * 9 / 3) = 0, 3, 6, 9
    hull = [RDPoint(150 + 100 * i, 50 + 5 * i) for i in range(10)]
    rule = RungRule(top_vmaf=100, step=1, min_ratio=1.0, max_rungs=4)
    assert [p.rate for p in select_rungs(hull, rule)] == [150, 450, 750, 1050]


def test_select_rungs_edges_of_top_spread_and_second_rung() -> None:
    """Edges by hand: VMAF == top_vmaf is the top, 9 rungs spread to 4 by round(), min_ratio inclusive."""
    hull = [RDPoint(r, q) for r, q in [(160, 50), (400, 80), (1000, 95.0), (2000, 97)]]
    assert [p.rate for p in select_rungs(hull, RungRule(min_ratio=1.0))] == [160, 400, 1000]
    hull = [RDPoint(150 + 100 * i, 50 + 5 * i) for i in range(9)]
    rule = RungRule(top_vmaf=100, step=1, min_ratio=1.0, max_rungs=4)
    # 9 hull points spread to 4: indices round(i * 8 / 3) for i = 0..3 are 0, 3, 5, 8
    assert [p.rate for p in select_rungs(hull, rule)] == [150, 450, 650, 950]
    # 125 kbps is both the top (VMAF 96) and the bottom (first >= 120 kbps); 100 * 1.25 = 125 exactly
    hull = [RDPoint(r, q) for r, q in [(100, 85), (125, 96), (300, 98)]]
    assert [p.rate for p in select_rungs(hull, RungRule(min_kbps=120, min_ratio=1.25))] == [100, 125]


def test_grid_and_fixed_ladder_sizes() -> None:
    assert grid_sizes(1280, 720, (1080, 720, 360)) == [(1280, 720), (640, 360)]
    assert grid_sizes(640, 272, (1080, 720, 240)) == [(640, 272), (564, 240)]
    specs = fixed_ladder_specs(1280, 720)
    assert [(s.width, s.height, s.bitrate_kbps) for s in specs][:3] == [
        (416, 234, 145),
        (640, 360, 365),
        (768, 432, 730),
    ]
    assert max(s.height for s in specs) == 720 and len(specs) == 7


def test_grid_widths_round_to_the_nearest_even() -> None:
    """1000x562 at 240 lines: 427.05 px wide rounds to the nearest even width, 428 (not 426)."""
    assert grid_sizes(1000, 562, (240,)) == [(1000, 562), (428, 240)]


def test_a_portrait_grid_reads_heights_as_the_short_side() -> None:
    """A 1080x1920 phone video's grid has the fixed ladder's upright sizes (720x1280, 540x960, 360x640), as
    a 1920x1080 source's has them lying down; it had 608x1080, 404x720, ... (the heights as its height)."""
    portrait = grid_sizes(1080, 1920, (1080, 720, 540, 360))
    assert portrait == [(1080, 1920), (720, 1280), (540, 960), (360, 640)]
    assert portrait == [(h, w) for w, h in grid_sizes(1920, 1080, (1080, 720, 540, 360))]
    fixed = {(s.width, s.height) for s in fixed_ladder_specs(1080, 1920)}
    assert {(720, 1280), (540, 960), (360, 640)} <= fixed & set(portrait)


def _shot(frames: int, pts: list[tuple[float, float]]) -> list[ShotOption]:
    return [ShotOption(bits, vmaf, frames) for bits, vmaf in pts]


def test_lagrangian_choice_hand_case() -> None:
    # two shots of 10 frames; value = frames * VMAF
    a = _shot(10, [(100, 50), (200, 80), (400, 90)])  # slopes 3.0, 0.5
    b = _shot(10, [(100, 60), (200, 70), (400, 95)])  # hull: (100,60), (400,95): slope 3.5/3 = 1.1667
    # λ = 1: a takes 200 (slope 3 > 1, 0.5 < 1); b takes 400 (1.1667 > 1)
    assert [o.bits for o in lagrangian_choice([a, b], 1.0)] == [200, 400]
    # λ = 2: a keeps 200; b falls to 100
    assert [o.bits for o in lagrangian_choice([a, b], 2.0)] == [200, 100]
    fps = 10.0  # 20 frames = 2 s: kbps = bits / 2 / 1000
    budget = optimize([a, b], fps=fps, target_kbps=0.3)  # 600 bits
    assert [o.bits for o in budget.choice] == [200, 400] and budget.bits == 600
    assert budget.vmaf == pytest.approx((80 + 95) / 2)
    tight = optimize([a, b], fps=fps, target_kbps=0.15)  # 300 bits: a 200 + b 100
    assert [o.bits for o in tight.choice] == [200, 100]
    target = optimize([a, b], fps=fps, target_vmaf=75)  # 200 + 100 gives 70, so b must take 400
    assert target.vmaf >= 75 and target.bits == 600
    best = optimize([a, b], fps=fps, target_vmaf=92.5)
    assert [o.bits for o in best.choice] == [400, 400]
    with pytest.raises(InfeasibleError):
        optimize([a, b], fps=fps, target_kbps=0.05)
    with pytest.raises(InfeasibleError):
        optimize([a, b], fps=fps, target_vmaf=99)
    curve = operating_points([a, b], fps)
    rates = [p.bits for p in curve]
    assert rates == sorted(rates, reverse=True) and rates[0] == 800 and rates[-1] == 200
    assert all(math.isfinite(p.vmaf) for p in curve)


def test_operating_points_reach_every_hull_point() -> None:
    # one shot: the Lagrangian curve is exactly its hull, even where slopes are equal up to rounding
    pts = [(39.0, 11.17), (74.0, 26.33), (143.0, 44.29), (179.0, 50.81), (270.0, 62.98), (338.0, 68.57)]
    shot = _shot(30, [(b * 1000, v) for b, v in pts])
    curve = operating_points([shot], fps=30.0)
    assert sorted(round(a.bits / 1000) for a in curve) == [39, 74, 143, 179, 270, 338]
