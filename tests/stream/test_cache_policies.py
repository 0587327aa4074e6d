"""Conformance suite every cache policy passes, hand-computed cases, and the offline bounds."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelkit.errors import ConfigError, ReelkitWarning
from reelkit.stream.cache import (
    CachePolicy,
    RequestTrace,
    available_policies,
    make_policy,
    offline_upper_bound,
    simulate,
    warmup_requests,
)
from reelkit.stream.cache.policies import BeladySizeConfig

ALL = available_policies()


def _trace(ids: list[int] | np.ndarray, sizes: list[int] | np.ndarray | None = None) -> RequestTrace:
    ids = np.asarray(ids)
    sz = np.ones(len(ids), np.int64) if sizes is None else np.asarray(sizes)
    return RequestTrace.from_arrays(np.arange(len(ids), dtype=float), ids, sz)


def _random_trace(seed: int, n: int = 3000, n_obj: int = 300, unit: bool = False) -> RequestTrace:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_obj + 1) ** 0.8
    ids = rng.choice(n_obj, size=n, p=p / p.sum())
    osz = rng.integers(1, 200, size=n_obj)
    return _trace(ids, None if unit else osz[ids])


@pytest.mark.parametrize("seed", [-1, -2, 2**64, 2**70])
def test_belady_size_refuses_a_seed_outside_0_to_2_64(seed: int) -> None:
    """The kernel's uint64 cast of the seed (a float) gave -1, -2, 2^64 and 2^70 one run; they are refused,
    as synth and trace refuse a negative seed (make_policy refuses 2.5 as no whole number, the config too)."""
    with pytest.raises(ConfigError, match=r"belady-size: seed must be >= 0 and below 2\^64"):
        make_policy("belady-size", seed=seed)
    for bad in (seed, 2.5):
        with pytest.raises(ConfigError, match="seed must be >= 0"):
            BeladySizeConfig(seed=bad)  # type: ignore[arg-type]


def test_belady_size_seeds_past_2_53_stay_apart() -> None:
    """One float parameter made seeds 2^53 and 2^53 + 1 one sampler; the seed goes to the kernel in exact
    32-bit halves (low, high): 2^53 + 1 is (1, 2^21), and the two seeds sample differently (1383 and 1381
    hits on a 3000-request trace at 5%, 4 samples); 2^64 - 1 is taken."""
    tr = _random_trace(0)
    assert make_policy("belady-size", n_samples=8, seed=2**53 + 1).params(tr).tolist() == [8.0, 1.0, 2.0**21]
    hits = [
        simulate(tr, make_policy("belady-size", n_samples=4, seed=s), "5%").hits
        for s in (2**53, 2**53 + 1, 2**64 - 1)
    ]
    assert hits == [1383, 1381, 1372]


def test_registry_names() -> None:
    for name in ("lru", "fifo", "lfu", "arc", "s3fifo", "sieve", "gdsf", "tinylfu", "belady", "belady-size"):
        assert name in ALL
        pol = make_policy(name)
        assert isinstance(pol, CachePolicy) and pol.name == name
    assert all(n == n.lower() for n in ALL)
    with pytest.raises(ConfigError, match="unknown cache policy"):
        make_policy("LRU2")
    with pytest.raises(ConfigError, match="unknown parameter"):
        make_policy("lru", nope=1)
    assert make_policy("lfu", aging=True).config.aging
    assert make_policy("lfuda").config.aging
    assert make_policy("belady").config.bypass is False  # libCacheSim's Belady, as the checks call it
    assert make_policy("belady-bypass").config.bypass is True


def test_config_fields_reach_the_kernels_and_their_documented_ranges_hold() -> None:
    """Pins belady-size's seed as the kernel's sampler seed (its low and high 32 bits), and tinylfu's window
    ratio range [0, 1): no window (plain TinyLFU admission in front of the SLRU) is a valid config."""
    tr = _trace([1, 2, 1])
    assert make_policy("belady-size", n_samples=8, seed=7).params(tr).tolist() == [8.0, 7.0, 0.0]
    assert make_policy("tinylfu", window_ratio=0).params(tr).tolist()[0] == 0.0
    with pytest.raises(ConfigError, match="window_ratio in"):
        make_policy("tinylfu", window_ratio=1)


class TestConformance:
    """Invariants every policy must keep, on variable-size and unit-size traces."""

    @pytest.mark.parametrize("name", ALL)
    @pytest.mark.parametrize("frac", [0.0, 0.02, 0.1, 0.5])
    def test_capacity_and_counts(self, name: str, frac: float) -> None:
        tr = _random_trace(1)
        cap = int(tr.working_set_bytes() * frac)
        res = simulate(tr, name, cap)
        run = make_policy(name).run(tr, cap)
        # never holds more than the capacity
        assert run.max_occupied_bytes <= cap
        # hit + miss counts are consistent
        hits = res.hit_mask
        assert res.hits == int(hits.sum()) and res.measured_requests == tr.n_requests
        assert res.bytes_hit == int(tr.sizes[hits].sum())
        assert 0.0 <= res.hit_ratio <= 1.0 and 0.0 <= res.byte_hit_ratio <= 1.0
        # a first request can never hit
        first = np.zeros(tr.n_requests, bool)
        first[np.unique(tr.objects, return_index=True)[1]] = True
        assert not hits[first].any()
        if cap == 0:
            assert res.hits == 0
        # deterministic
        again = simulate(tr, name, cap)
        assert np.array_equal(again.hit_mask, hits)

    @pytest.mark.parametrize("name", ALL)
    def test_objects_larger_than_cache_never_admitted(self, name: str) -> None:
        # object 9 is larger than the whole cache and is requested over and over
        ids = [9, 1, 9, 2, 9, 1, 9, 2, 9, 9]
        sizes = [50 if i == 9 else 3 for i in ids]
        tr = _trace(ids, sizes)
        res = simulate(tr, name, 40)
        big = tr.original_ids[tr.objects] == 9
        assert not res.hit_mask[big].any()
        assert res.max_occupied_bytes <= 40

    @pytest.mark.parametrize("name", [n for n in ALL if n != "s3fifo"])  # s3fifo: its small queue caps it
    def test_an_object_as_large_as_the_cache_is_admitted(self, name: str) -> None:
        """Pins "fits" as size <= capacity (libCacheSim's): a 10-byte object in a 10-byte cache is kept."""
        res = simulate(_trace([1, 1], [10, 10]), name, 10)
        assert res.hit_mask.tolist() == [False, True]

    @pytest.mark.parametrize("name", ALL)
    def test_everything_fits(self, name: str) -> None:
        # a cache as large as the working set misses only the first request of each object ...
        tr = _random_trace(2, n=2000, n_obj=100)
        res = simulate(tr, name, tr.working_set_bytes() * 20)
        if name in ("s3fifo", "tinylfu"):
            # ... except where admission is probationary (S3-FIFO's small queue, TinyLFU's window)
            assert res.hit_ratio > 0.9
        else:
            assert res.hits == tr.n_requests - tr.n_objects


class TestHandCases:
    def test_lru_unit_size(self) -> None:
        # capacity 2: A B A C B A -> A, B miss; A hit; C evicts B (LRU); B miss evicts A; A miss
        tr = _trace([1, 2, 1, 3, 2, 1])
        assert simulate(tr, "lru", 2).hit_mask.tolist() == [False, False, True, False, False, False]
        # capacity 3 holds everything after warm-up
        assert simulate(tr, "lru", 3).hit_mask.tolist() == [False, False, True, False, True, True]

    def test_lru_vs_fifo(self) -> None:
        # A B A C A: LRU keeps A (recently used) and evicts B; FIFO evicts A (oldest)
        tr = _trace([1, 2, 1, 3, 1])
        assert simulate(tr, "lru", 2).hit_mask.tolist() == [False, False, True, False, True]
        assert simulate(tr, "fifo", 2).hit_mask.tolist() == [False, False, True, False, False]

    def test_lru_bytes(self) -> None:
        # sizes 6, 4, 5 with 10 bytes: inserting C (5) evicts A (6) only, so B still hits
        tr = _trace([1, 2, 3, 2], [6, 4, 5, 4])
        assert simulate(tr, "lru", 10).hit_mask.tolist() == [False, False, False, True]
        # A, B, C of 3 bytes then D of 7: D evicts A and B (LRU order); C hits, B misses
        tr = _trace([1, 2, 3, 4, 3, 2], [3, 3, 3, 7, 3, 3])
        assert simulate(tr, "lru", 10).hit_mask.tolist() == [False] * 4 + [True, False]
        tr = _trace([1, 2, 2, 3, 2], [6, 4, 4, 4, 4])
        assert simulate(tr, "lru", 10).hit_mask.tolist() == [False, False, True, False, True]

    def test_lfu_keeps_frequent(self) -> None:
        # A is read three times; B, C, D once each: LFU with 2 slots keeps A throughout
        tr = _trace([1, 1, 1, 2, 3, 4, 1])
        assert simulate(tr, "lfu", 2).hit_mask.tolist()[-1] is True
        assert simulate(tr, "lru", 2).hit_mask.tolist()[-1] is False

    def test_lfuda_hand_traced(self) -> None:
        """Pins LFU-DA's priority on a hit as L + count with the current L (Arlitt et al.), room for two:
        B C A A C D A. A evicts B (L = 1); A's and C's hits put both at 1 + 2 = 3; D evicts the older, A."""
        tr = _trace([2, 3, 1, 1, 3, 0, 1])
        assert simulate(tr, "lfuda", 2).hit_mask.astype(int).tolist() == [0, 0, 0, 1, 1, 0, 0]

    def test_arc_hand_traced(self) -> None:
        """Pins ARC's target p (Megiddo & Modha, unit sizes, room for two) on E A A B E A E: B sends E to
        B1; E's ghost hit raises p to 1 and A goes from T2 to B2; A's ghost hit lowers p to 0, so B leaves
        T1 and E, kept in T2, hits. (p moving by min(|B2|/|B1|, 1), or up on a B2 hit, lost E's hit.)"""
        tr = _trace([4, 1, 1, 2, 4, 1, 4])
        assert simulate(tr, "arc", 2).hit_mask.astype(int).tolist() == [0, 0, 1, 0, 0, 0, 1]
        # the tie |T1| = p on a B2 ghost hit evicts from T1, and a full directory (2c) drops B2's LRU; both
        # as libCacheSim's ARC on these traces
        tr = _trace([3, 2, 2, 4, 1, 3, 3, 4, 2, 5, 1])
        assert simulate(tr, "arc", 3).hit_mask.astype(int).tolist() == [0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]
        tr = _trace([5, 3, 0, 3, 1, 0, 1, 4, 5, 5, 3, 5])
        assert simulate(tr, "arc", 2).hit_mask.astype(int).tolist() == [0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0]
        # in bytes, p stops at the capacity (4): left to climb past it, it took longer to come down and
        # request 12's hit was lost (libCacheSim's ARC also has 5 hits here)
        ids = [4, 5, 4, 4, 1, 3, 2, 2, 1, 5, 2, 4, 2, 4]
        tr = _trace(ids, [{4: 3, 3: 2}.get(i, 1) for i in ids])
        assert simulate(tr, "arc", 4).hit_mask.nonzero()[0].tolist() == [2, 3, 7, 12, 13]

    def test_sieve_hand(self) -> None:
        # capacity 3: A B C, A hit (visited); D evicts B (A is visited and spared); B misses, A still hits
        tr = _trace([1, 2, 3, 1, 4, 2, 1])
        assert simulate(tr, "sieve", 3).hit_mask.tolist() == [False] * 3 + [True, False, False, True]

    def test_sieve_hand_wraps_to_the_tail(self) -> None:
        """Pins the hand's wrap from the head back to the tail (Zhang et al.; libCacheSim's Sieve has 3 hits
        here too), room for two: A B A B C B. C's hand clears A's and B's visited bits, passes the head and
        wraps to the tail, A, which goes: B hits. Wrapping to the head evicted B."""
        tr = _trace([1, 2, 1, 2, 3, 2])
        assert simulate(tr, "sieve", 2).hit_mask.astype(int).tolist() == [0, 0, 1, 1, 0, 1]

    def test_belady_unit_size(self) -> None:
        # capacity 2: A B C A B -> on C, MIN evicts nothing useful... A and B are both reused; C is not:
        # with bypass C is not admitted and both later requests hit
        tr = _trace([1, 2, 3, 1, 2])
        assert simulate(tr, "belady-bypass", 2).hits == 2
        assert simulate(tr, make_policy("belady", bypass=True), 2).hits == 2
        # without bypass (belady: libCacheSim's, which `cache simulate --policy belady` must agree with)
        # C must go in and evict B (the further of A, B): only A hits
        assert simulate(tr, "belady", 2).hits == 1
        assert simulate(tr, make_policy("belady-bypass", bypass=False), 2).hits == 1

    def test_belady_refusing_an_object_evicts_nothing(self) -> None:
        # A B C B C A, sizes 5 5 8 5 8 5, 10 bytes: C (next at 4) would need A (next at 5) and B (next
        # at 3) out; B is wanted before C, so C is refused. It used to evict A first, then refuse C, and
        # lose A's hit at the end.
        tr = _trace([1, 2, 3, 2, 3, 1], [5, 5, 8, 5, 8, 5])
        assert simulate(tr, "belady-bypass", 10).hit_mask.tolist() == [False, False, False, True, False, True]
        # the size-aware variant: the same waste on A B C B E E C E E E E E A (A, B 5 bytes, C 8, E 1)
        ids = [1, 2, 3, 2, 5, 5, 3, 5, 5, 5, 5, 5, 1]
        tr = _trace(ids, [{1: 5, 2: 5, 3: 8, 5: 1}[i] for i in ids])
        assert simulate(tr, "belady-bypass", 10).hits == simulate(tr, "belady-size", 10).hits == 8

    def test_belady_bypass_caches_no_object_never_requested_again(self) -> None:
        """Pins bypass refusing an object never requested again even when it fits: A B A (3, 4, 3 bytes) in
        10 bytes holds A alone, 3 bytes at most (admitting B where there was room held 7)."""
        assert simulate(_trace([1, 2, 1], [3, 4, 3]), "belady-bypass", 10).max_occupied_bytes == 3

    def test_belady_size_scores_by_distance_from_now(self) -> None:
        """Pins the newcomer's score as size x (next request - now), a tie refusing it: B A C C A B, two unit
        objects, C (next in 1) displaces B (next in 3), as MIN does; scored by its absolute index (3) it tied
        B and was refused."""
        tr = _trace([2, 1, 3, 3, 1, 2])
        assert simulate(tr, "belady-size", 2).hit_mask.astype(int).tolist() == [0, 0, 0, 1, 1, 0]
        # a tie refuses the newcomer: A (2 bytes, next in 3) and B (3 bytes, next in 2) score 6 each when B
        # comes to a 4-byte cache holding A, so B is refused and A hits
        tr = _trace([1, 2, 3, 2, 1], [2, 3, 1, 3, 2])
        assert simulate(tr, "belady-size", 4).hit_mask.astype(int).tolist() == [0, 0, 0, 0, 1]

    @pytest.mark.parametrize("n_samples", [1, 128])
    def test_belady_size_evicts_an_object_never_requested_again_first(self, n_samples: int) -> None:
        """Pins the score of a cached object that is never requested again as infinite, whether all the
        cached objects are scanned (128) or sampled (1): A A C C B B (B 2 bytes, the others 1), room for 2.
        A and C are done after their hits, so B (next in 1, score 2) evicts both and hits; scored as size x
        (trace end - now) = 2, they tied B, which was refused."""
        tr = _trace([1, 1, 3, 3, 2, 2], [1, 1, 1, 1, 2, 2])
        for seed in range(3):
            pol = make_policy("belady-size", n_samples=n_samples, seed=seed)
            assert simulate(tr, pol, 2).hit_mask.astype(int).tolist() == [0, 1, 0, 1, 0, 1]

    def test_belady_size_scans_every_object_when_the_samples_would_cover_them(self) -> None:
        """Pins the scan of all cached objects when there are at most n_samples of them: A B C A C B, two
        unit objects and n_samples = 2. C (next in 2) displaces B (next in 3), not A (next in 1), for every
        seed; sampling 2 of the 2 with replacement picked A twice for some seeds and refused C."""
        tr = _trace([1, 2, 3, 1, 3, 2])
        for seed in range(8):
            pol = make_policy("belady-size", n_samples=2, seed=seed)
            assert simulate(tr, pol, 2).hit_mask.astype(int).tolist() == [0, 0, 0, 1, 1, 0], seed

    def test_gdsf_prefers_small(self) -> None:
        # many small objects and a few large ones, equally popular: GDSF (cost 1 per object) spends the space
        # on the small ones and gets more object hits than LRU
        rng = np.random.default_rng(0)
        ids = rng.integers(0, 60, size=4000)
        sizes = np.where(ids < 10, 20, 1)
        tr = _trace(ids, sizes)
        assert simulate(tr, "gdsf", 60).hit_ratio > simulate(tr, "lru", 60).hit_ratio + 0.2

    def test_gdsf_hand_traced(self) -> None:
        """Pins GDSF's priority L + count / size (Cherkasova 1998), L the last evicted priority, ties to the
        older request, with unit sizes and room for two."""

        def hits(ids: list[int]) -> list[int]:
            return simulate(_trace(ids), "gdsf", 2).hit_mask.astype(int).tolist()

        # ties: A and B both at 1 when C comes; the older, A, goes, so B hits (newer first lost B's hit)
        assert hits([1, 2, 3, 2]) == [0, 0, 0, 1]
        # frequency: A read twice is at 2, B at 1; C evicts B and A hits (L + 1 on a hit lost A's hit)
        assert hits([1, 1, 2, 3, 1]) == [0, 1, 0, 0, 1]
        # aging: A read three times is at 3; B and C evict each other, L rising 1, 2, 3, until C evicts A
        # (tied with B at 3, older) and B, C hit; without L, A stayed at 3 and B, C never hit
        assert hits([1, 1, 1, 2, 3, 2, 3, 2, 3]) == [0, 1, 1, 0, 0, 0, 0, 1, 1]

    def test_gdsf_byte_cost_hand_traced(self) -> None:
        """Pins cost=bytes (priority L + count x size / size): with room for 11 bytes, B (1 byte) then A
        (10 bytes) tie at 1 when C comes, so the older B goes and A hits; by object cost A (1/10) went."""
        tr = _trace([2, 1, 3, 1], [1, 10, 1, 10])
        by_bytes = simulate(tr, make_policy("gdsf", cost="bytes"), 11).hit_mask.astype(int).tolist()
        assert by_bytes == [0, 0, 0, 1]
        assert simulate(tr, "gdsf", 11).hit_mask.astype(int).tolist() == [0, 0, 0, 0]

    def test_gdsf_hit_priority_uses_the_admitted_size(self) -> None:
        """Pins a hit's priority as L + count / the size the object was admitted with (an object keeps it;
        libCacheSim has 2 hits here too), room for 3 bytes: A (1 byte) A (requested as 3 bytes) B C D A. A's
        hit puts it at 2 / 1; D evicts B (1, older than C) and A hits. By the request's 3 bytes A was at 2 / 3
        and D evicted it."""
        tr = _trace([1, 1, 2, 3, 4, 1], [1, 3, 1, 1, 1, 1])
        assert simulate(tr, "gdsf", 3).hit_mask.astype(int).tolist() == [0, 1, 0, 0, 0, 1]

    def test_s3fifo_moves_an_object_read_twice_to_main(self) -> None:
        """Pins S3-FIFO's move to main at 2 reads (libCacheSim's threshold, freq >= 2) with room for 20: the
        small queue holds 2. A is read twice in it; the cache fills (objects past a full small queue go
        to main until the first eviction), then the first eviction moves A to main, where it outlives 30
        one-off objects and hits; moved only past 2 reads, A went to the ghost and missed."""
        ids = [1, 1, 1, *range(10, 40), 1]
        assert simulate(_trace(ids), "s3fifo", 20).hit_mask.astype(int).tolist() == [0, 1, 1] + [0] * 30 + [1]
        strict = make_policy("s3fifo", move_to_main_threshold=3)
        assert not simulate(_trace(ids), strict, 20).hit_mask[-1]

    def test_s3fifo_main_clock_counts_to_3(self) -> None:
        """Pins main's 2-bit clock (reads capped at 3) with room for 20 unit objects (small 2, main 18): 1-20
        fill the cache, 3-20 going to main; A (3) is then read 10 times. Each new object re-read after it
        left the small queue for the ghost enters main and evicts one object there; A, at main's tail,
        comes back with 2, 1, then 0 credits, so it outlives 38 such evictions (3 passes of the other 17
        objects) and not 58. Counting on, its 10 reads kept it for 10 passes."""

        def a_hits(rounds: int) -> bool:
            ids = [*range(1, 21), *[3] * 10]
            for k in range(rounds):
                ids += [100 + k, 98 + k] if k >= 2 else [100 + k]
            return bool(simulate(_trace([*ids, 3]), "s3fifo", 20).hit_mask[-1])

        assert a_hits(40) and not a_hits(60)

    def test_s3fifo_warns_of_objects_as_large_as_its_small_queue(self) -> None:
        """Pins the warning's bound: 4-byte objects in a cache of 40 (a 4-byte small queue) are never cached
        and are warned about; 3-byte ones are not."""
        with pytest.warns(ReelkitWarning, match=r"s3fifo: 100\.0% of the requests"):
            run = simulate(_trace([1, 1, 2, 2], [4, 4, 4, 4]), "s3fifo", 40)
        assert not run.hit_mask.any()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            simulate(_trace([1, 1, 2, 2], [3, 3, 3, 3]), "s3fifo", 40)

    def test_s3fifo_evicts_for_an_object_as_large_as_its_small_queue(self) -> None:
        """Pins libCacheSim's order for an object exactly as large as the small queue: it may be inserted
        (size <= small), so room is made, and only then is it refused (size >= small). Room for 20 unit
        objects (small 2): 1-20 fill the cache, then X (2 bytes) evicts 1 and 2 from the small queue and is
        not kept; 2 misses (libCacheSim: 0 hits). Refused before evicting, 2 stayed and hit."""
        tr = _trace([*range(1, 21), 99, 2], [1] * 20 + [2, 1])
        with pytest.warns(ReelkitWarning, match="s3fifo"):
            assert not simulate(tr, "s3fifo", 20).hit_mask.any()

    def test_s3fifo_ghost_keeps_an_object_as_large_as_itself(self) -> None:
        """Pins the ghost's bound as size <= ghost capacity: room for 20, small and main 10, ghost 5, objects
        of 5 bytes, A B C D E A F C E. A and B fill small, C and D go to main; E sends A (unread) to the
        ghost, which it fits exactly, so A's re-read enters main; F then evicts C from main and C misses.
        Refused by the ghost, A re-entered small, F evicted E instead, and C hit."""
        pol = make_policy("s3fifo", small_size_ratio=0.5, ghost_size_ratio=0.25)
        tr = _trace([1, 2, 3, 4, 5, 1, 6, 3, 5], [5] * 9)
        assert not simulate(tr, pol, 20).hit_mask.any()

    def test_s3fifo_warns_from_a_thousandth_of_the_requests(self) -> None:
        """Pins the warning's threshold at 0.1% of the requests: one too-large request in 500 (0.2%) is
        warned about, one in 2000 (0.05%) is not."""
        with pytest.warns(ReelkitWarning, match=r"s3fifo: 0\.2% of the requests"):
            simulate(_trace(list(range(500)), [4] + [1] * 499), "s3fifo", 40)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            simulate(_trace(list(range(2000)), [4] + [1] * 1999), "s3fifo", 40)

    def test_tinylfu_hand_traced(self) -> None:
        """Pins W-TinyLFU's path window -> probation -> protected with room for 4: a window of 1, main 3 of
        which 1 protected; a candidate leaving the window enters main only if the sketch counts it more often
        than probation's LRU victim (6 ids: the sketch counts exactly)."""
        pol = make_policy("tinylfu", window_ratio=0.25, protected_ratio=0.5)

        def hits(ids: list[int]) -> list[int]:
            return simulate(_trace(ids), pol, 4).hit_mask.astype(int).tolist()

        # A, B, C pass the window into an empty main; E pushes D out of the window, tied with the victim A
        # at one read: D is refused and A hits (admitting on a tie lost A's hit)
        assert hits([1, 2, 3, 4, 5, 1]) == [0, 0, 0, 0, 0, 1]
        # D read twice; A, B hit in probation and move to protected, which holds one: A goes back to
        # probation's head. D (2 reads) displaces C (1), then E (3) displaces probation's LRU, A (2): A
        # misses. With main all protected A stayed protected, E displaced D, and A hit.
        assert hits([1, 2, 3, 4, 4, 1, 2, 5, 5, 5, 6, 1]) == [0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0]
        # A B A C B D E C: B's hit pushes A out of protected to probation's head, C follows it in, and E
        # pushes D out of the window, refused against the victim A (2 reads to 1): C hits in probation
        # (demoting A into the window instead lost C's hit)
        assert hits([1, 2, 1, 3, 2, 4, 5, 3]) == [0, 0, 1, 0, 1, 0, 0, 1]

    def test_tinylfu_window_and_protected_segment_are_lru(self) -> None:
        """Pins a hit moving the object to the head of the window and of the protected segment (both LRU)."""
        # window of 2, main of 2: X Y A B A C X. X and Y pass the window into main; A's hit puts it at the
        # window's head, so C pushes B out, which ties main's victim X (one read each) and is refused: X
        # hits. Left at the window's tail, A (2 reads) went to main instead and displaced X.
        pol = make_policy("tinylfu", window_ratio=0.5, protected_ratio=0.5)
        tr = _trace([7, 8, 1, 2, 1, 3, 7])
        assert simulate(tr, pol, 4).hit_mask.astype(int).tolist() == [0, 0, 0, 0, 1, 0, 1]
        # no window, main of 4 with 2 protected: A B A B A C C D E E E E A. A's third read puts it ahead of B
        # in protected, so C's move there demotes B (2 reads) to probation, where it is the victim E (3
        # reads) displaces; A, still protected, hits. Unmoved, A was demoted instead and E (4 reads) took
        # its place.
        pol = make_policy("tinylfu", window_ratio=0, protected_ratio=0.5)
        tr = _trace([1, 2, 1, 2, 1, 3, 3, 4, 5, 5, 5, 5, 1])
        assert simulate(tr, pol, 4).hit_mask.astype(int).tolist() == [0, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 1]

    def test_tinylfu_sketch_halves_and_saturates(self) -> None:
        """Pins the sketch's aging and its 4-bit counters with the window of 1 and main of 3 above."""
        # halved every 8 additions (sample_factor 0.5 x 16): A A B C D D D E B A. E's access halves A to 1
        # and D (3 reads) to 1, so D, leaving the window, ties the victim A and is refused; A then hits.
        # Never halved, D (3) displaced A (2) and A missed.
        aging = make_policy("tinylfu", window_ratio=0.25, protected_ratio=0.5, sample_factor=0.5)
        tr = _trace([1, 1, 2, 3, 4, 4, 4, 5, 2, 1])
        assert simulate(tr, aging, 4).hit_mask.astype(int).tolist() == [0, 1, 0, 0, 0, 1, 1, 0, 1, 1]
        # counters stop at 15: A read 16 times and B 17 both count 15, so B, leaving the window into a full
        # main whose victim is A, ties it and is refused, and A hits; counting on, B (17) displaced A (16)
        pol = make_policy("tinylfu", window_ratio=0.25, protected_ratio=0.5)
        tr = _trace([1] * 16 + [2, 3] + [4] * 17 + [5, 1])
        assert simulate(tr, pol, 4).hit_mask.tolist()[-1] is True
        # ... and not before 15 (4 bits, not 3): B read 12 times displaces A read 10 (both 7 in 3 bits: a tie)
        tr = _trace([1] * 10 + [2, 3] + [4] * 12 + [5, 1])
        assert simulate(tr, pol, 4).hit_mask.tolist()[-1] is False

    def test_tinylfu_sizes_its_sketch_by_the_mean_size_of_distinct_objects(self) -> None:
        """Pins the mean behind the expected number of cached objects: object 1 (10 bytes) read 9 times and
        object 2 (100 bytes) once average 55 bytes per object (19 per request)."""
        tr = _trace([1] * 9 + [2], [10] * 9 + [100])
        assert make_policy("tinylfu").params(tr).tolist() == [0.01, 0.8, 10.0, 55.0]


@settings(max_examples=25, deadline=None)
@given(
    ids=st.lists(st.integers(0, 12), min_size=1, max_size=120),
    cap=st.integers(1, 10),
)
def test_belady_beats_every_policy_unit_size(ids: list[int], cap: int) -> None:
    """With unit sizes Belady's MIN with bypass is optimal: no policy gets more hits; without bypass (the
    default, libCacheSim's), no policy that admits every miss does."""
    tr = _trace(ids)
    best = simulate(tr, "belady-bypass", cap).hits
    admitting = simulate(tr, "belady", cap).hits
    assert admitting <= best
    for name in ("lru", "fifo", "lfu", "lfuda", "arc", "s3fifo", "sieve", "gdsf"):  # they admit every miss
        assert simulate(tr, name, cap).hits <= admitting, name
    for name in ALL:
        assert simulate(tr, name, cap).hits <= best, name


@settings(max_examples=25, deadline=None)
@given(
    ids=st.lists(st.integers(0, 15), min_size=1, max_size=150),
    size_of=st.lists(st.integers(1, 20), min_size=16, max_size=16),
    cap=st.integers(1, 60),
)
def test_upper_bound_beats_every_policy(ids: list[int], size_of: list[int], cap: int) -> None:
    """The offline upper bound holds for variable sizes, for object and byte hit ratios."""
    tr = _trace(ids, [size_of[i] for i in ids])
    ub = offline_upper_bound(tr, cap)
    for name in ALL:
        res = simulate(tr, name, cap)
        assert res.hit_ratio <= ub.hit_ratio + 1e-9, name
        assert res.byte_hit_ratio <= ub.byte_hit_ratio + 1e-9, name


def test_upper_bound_tight_for_unlimited_cache() -> None:
    tr = _random_trace(3, n=1000, n_obj=50)
    ub = offline_upper_bound(tr, tr.working_set_bytes())
    assert ub.hit_ratio == pytest.approx(1 - tr.n_objects / tr.n_requests)


def test_upper_bound_counts_no_warmup_hit_of_a_size_changing_object() -> None:
    """Pins the free hits of an object whose size changes to the measured requests: A (1 then 2 bytes) is
    re-read within the warm-up (the first half), so only B's second request can hit: 1 of 2 requests, 1 of
    2 bytes (counting A's warm-up hit gave 1.0 for both)."""
    ub = offline_upper_bound(_trace([1, 1, 2, 2], [1, 2, 1, 1]), 10, warmup=0.5)
    assert ub.hit_ratio == pytest.approx(0.5) and ub.byte_hit_ratio == pytest.approx(0.5)


def test_upper_bound_budget_covers_the_warmup_gaps() -> None:
    """Pins the hit bound's budget to capacity x every request, warm-up included: A X X X A (unit, room for
    2, the first 3 requests warm-up) has both measured requests hit under LRU, so the bound is 1.0; A's
    interval starts in the warm-up, and a budget of the measured requests only (2 x 2) gave 0.875."""
    tr = _trace([1, 2, 2, 2, 1])
    assert simulate(tr, "lru", 2, warmup=0.6).hit_ratio == 1.0
    assert offline_upper_bound(tr, 2, warmup=0.6).hit_ratio == pytest.approx(1.0)


def test_byte_bound_hand_computed() -> None:
    # A B A B, 2 bytes each. Keeping A from request 0 to 2 and B from 1 to 3 both need gap 1 (between
    # requests 1 and 2): with 2 bytes there, one hit of 2 bytes out of 8 (the summed-budget relaxation, which
    # gives 0.5, cannot see that); with 3 bytes, 2 + 1 fractional bytes.
    tr = _trace([0, 1, 0, 1], [2, 2, 2, 2])
    assert offline_upper_bound(tr, 2).byte_hit_ratio == pytest.approx(2 / 8)
    assert offline_upper_bound(tr, 3).byte_hit_ratio == pytest.approx(3 / 8)
    assert offline_upper_bound(tr, 4).byte_hit_ratio == pytest.approx(4 / 8)
    assert simulate(tr, "belady-size", 2).byte_hit_ratio == pytest.approx(2 / 8)


def _byte_lp(tr: RequestTrace, cap: int, n_warm: int) -> float:
    """The fractional byte-hit relaxation as an explicit LP, one capacity row per gap (HiGHS)."""
    from scipy.optimize import linprog
    from scipy.sparse import lil_matrix

    n = tr.n_requests
    nxt = tr.next_use()
    src = [i for i in range(n) if nxt[i] < n and nxt[i] >= n_warm and tr.sizes[i] <= cap]
    if not src:
        return 0.0
    a = lil_matrix((n - 1, len(src)))
    for k, i in enumerate(src):
        for g in range(i, int(nxt[i])):
            a[g, k] = 1.0
    bounds = [(0.0, float(tr.sizes[i])) for i in src]
    res = linprog(-np.ones(len(src)), A_ub=a.tocsr(), b_ub=np.full(n - 1, float(cap)), bounds=bounds)
    assert res.status == 0
    return float(-res.fun)


@settings(max_examples=40, deadline=None)
@given(
    ids=st.lists(st.integers(0, 12), min_size=2, max_size=90),
    size_of=st.lists(st.integers(1, 20), min_size=13, max_size=13),
    cap=st.integers(1, 50),
    warm=st.sampled_from([0.0, 0.3]),
)
def test_byte_bound_solves_its_lp_exactly(ids: list[int], size_of: list[int], cap: int, warm: float) -> None:
    """The greedy interval packing equals the LP optimum of the relaxation (so it is the tightest bound of
    its kind), with and without a warm-up."""
    tr = _trace(ids, [size_of[i] for i in ids])
    n_warm = warmup_requests(tr, warm)
    ub = offline_upper_bound(tr, cap, warmup=warm)
    measured = float(tr.sizes[n_warm:].sum())
    assert ub.byte_hit_ratio * measured == pytest.approx(_byte_lp(tr, cap, n_warm), abs=1e-6)


def test_lfuda_hand_trace_a_hit_adds_the_age() -> None:
    """LFU-DA (Arlitt et al. 2000), capacity 2, A C B B A C A: a key is the age L plus the count. A and C
    enter at 1; B evicts A (the tie's first to reach 1), L = 1, and enters at 2; B's hit makes it L + 2 = 3;
    A evicts C (1) and enters at 1 + 1 = 2; C evicts A (2 < 3): the last A misses. One hit. With a hit
    setting the key to the count alone (B at 2), C evicted B in the tie and the last A hit."""
    hits = simulate(_trace([1, 3, 2, 2, 1, 3, 1]), "lfuda", 2).hit_mask
    assert "".join(str(int(h)) for h in hits) == "0001000"


def test_lfu_aging_forgets_old_popularity() -> None:
    # phase 1: objects 0-3 read 30 times each; phase 2: new objects 10-13 read in a loop. Plain LFU keeps
    # the stale ones forever; LFU-DA ages them out and starts hitting on the new working set.
    ids = [i % 4 for i in range(120)] + [10 + (i % 4) for i in range(400)]
    tr = _trace(ids)
    plain = simulate(tr, "lfu", 4, warmup=120 / len(ids))
    aged = simulate(tr, "lfuda", 4, warmup=120 / len(ids))
    assert aged.hit_ratio > plain.hit_ratio + 0.5


@settings(max_examples=20, deadline=None)
@given(
    reqs=st.lists(st.tuples(st.integers(0, 20), st.integers(1, 40)), min_size=1, max_size=200),
    cap=st.integers(0, 120),
)
def test_sizes_that_change_between_requests(reqs: list[tuple[int, int]], cap: int) -> None:
    """An object may be requested with different sizes (it keeps the size it was admitted with): every
    policy still keeps within the capacity."""
    tr = _trace([r[0] for r in reqs], [r[1] for r in reqs])
    for name in ALL:
        run = make_policy(name).run(tr, cap)
        assert run.max_occupied_bytes <= cap, name


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(0, 25), min_size=1, max_size=300),
    size_of=st.lists(st.integers(1, 30), min_size=26, max_size=26),
    cap=st.integers(0, 200),
)
def test_lfu_count_lists_choose_as_the_heap_does(ids: list[int], size_of: list[int], cap: int) -> None:
    """``lfu`` runs on per-count lists (O(1) a request); the heap kernel, which LFU-DA still uses, run
    without aging makes the same hits and holds the same bytes at its fullest."""
    from reelkit.stream.cache import _kernels as K

    tr = _trace(ids, [size_of[i] for i in ids])
    out = []
    for kernel in (K.lfu_kernel, K.lfu_bucket_kernel):
        hits = np.zeros(tr.n_requests, np.uint8)
        most = kernel(tr.objects, tr.sizes, tr.next_use(), tr.n_objects, np.int64(cap), np.zeros(1), hits)
        out.append((hits.tolist(), int(most)))
    assert out[0] == out[1]
    assert (
        make_policy("lfu").kernel() is K.lfu_bucket_kernel and make_policy("lfuda").kernel() is K.lfu_kernel
    )
