"""Compiled (numba) kernels of the exact talent-scheduling search.

The state is the set ``Q`` of scenes still to shoot, a ``uint64`` bitset (so at most 64 scenes after
preprocessing). Shooting scene ``s`` first in ``Q`` costs ``d(s) · c(a(s) ∪ o(Q))`` where
``o(Q) = a(Q) ∩ a(S∖Q)`` are the actors already on location who still have scenes to shoot (de la Banda,
Stuckey & Chu 2011). The value of ``Q`` depends on ``Q`` alone, so a best-first (A*) search over subsets with
the states in a hash table is the memoised dynamic program, visiting only the subsets whose bound does not
exceed the optimum.

Kept from the paper:

* the lower bound on the cost of ``Q``: every scene's own actors (``Σ d(s)·c(a(s))``) plus a bound on the
  holding cost of the on-location actors ``o(Q)``: each scene's duration is split among its on-location
  actors in proportion to their cost, which gives a one-machine weighted-completion-time problem solved by
  Smith's rule, corrected by the half-scene term (the form DDOLib implements);
* a scene whose actors are exactly ``o(Q)`` is shot next (nothing else can be cheaper);
* a scene ``i`` is not shot next while another remaining scene ``j`` has ``a(i) ⊂ a(j) ⊆ a(i) ∪ a(S∖Q)``
  (``j`` first is never worse);
* an upper bound from a heuristic schedule prunes every state whose bound reaches it.

The table and the open list live in numpy arrays owned by the caller, so the search runs in chunks of
expansions: the caller checks the clock between chunks, grows the arrays, and reads a lower bound (the least
bound left in the open list) when it stops early. A state's full bound is computed lazily, when it first
reaches the front of the open list; until then it carries the cheap bound ``max(Σ own cost, h(parent) − c)``.
By default (``eager`` = 2) the full bound is computed when a state is generated instead, and a state whose
bound reaches the incumbent is not stored at all: the table then holds only the states that can still improve
on it (about a fifth of the generated ones on the hardest benchmark instances, so less memory, no page-fault
time, no re-queueing), and a direct-mapped cache of recent bounds (4M entries by default) spares most
recomputations. The states expanded are the same either way.
"""

from __future__ import annotations

import numpy as np
from numba import njit

ONE = np.uint64(1)
ZERO = np.uint64(0)
INF = np.int64(2**62)

# status codes returned by dp_run
RUNNING = 0
EXHAUSTED = 2
TABLE_FULL = 3
HEAP_FULL = 4  # the open list's entry arrays are full


@njit(cache=True)
def _hash(key: np.uint64, mask: np.int64) -> np.int64:
    z = key + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return np.int64(z & np.uint64(mask))


@njit(cache=True)
def lower_bound(Q, full, n, m, sc, cost, dur, base, sa_ptr, sa_idx, onloc, ratio, order):  # type: ignore[no-untyped-def]
    """Lower bound on the cost of shooting the scenes of ``Q`` (see the module docstring)."""
    lb = np.int64(0)
    for s in range(n):
        if (Q >> np.uint64(s)) & ONE:
            lb += base[s]
    k = 0
    notq = (~Q) & full
    for a in range(m):
        x = sc[a]
        if (x & Q) != ZERO and (x & notq) != ZERO:
            onloc[a] = 1
            ratio[a] = 0.0
            order[k] = a
            k += 1
        else:
            onloc[a] = 0
    if k == 0:
        return lb
    corr = 0.0
    for s in range(n):
        if not ((Q >> np.uint64(s)) & ONE):
            continue
        t = 0.0
        t2 = 0.0
        for p in range(sa_ptr[s], sa_ptr[s + 1]):
            a = sa_idx[p]
            if onloc[a]:
                c = float(cost[a])
                t += c
                t2 += c * c
        if t > 0.0:
            r = dur[s] / t
            for p in range(sa_ptr[s], sa_ptr[s + 1]):
                a = sa_idx[p]
                if onloc[a]:
                    ratio[a] += r
            corr += dur[s] * (t + t2 / t) * 0.5
    # Smith's rule: ascending ratio (processing / weight)
    for i in range(1, k):
        a = order[i]
        j = i - 1
        while j >= 0 and ratio[order[j]] > ratio[a]:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = a
    wspt = 0.0
    sum_e = 0.0
    for i in range(k):
        a = order[i]
        sum_e += ratio[a] * cost[a]
        wspt += cost[a] * sum_e
    # wspt and corr are sums of positive terms, each within a relative (n + 3k + 3)·eps of its exact value,
    # while their difference can be 0 exactly: the margin scales with the terms, not with the difference,
    # so that float noise is never rounded up into the bound (costs of 1e12 left 1e-4 over an exact 0,
    # which ceil made 1, one over the optimum)
    hold = wspt - corr
    hold -= 1e-7 * (1.0 + abs(hold)) + 4.5e-16 * (n + 2 * k + 4) * (wspt + corr)
    if hold > 0.0:
        lb += np.int64(np.ceil(hold))
    return lb


@njit(cache=True)
def order_cost(order, n, m, cost, dur, sa_ptr, sa_idx, first, last, start):  # type: ignore[no-untyped-def]
    """Cost of a complete order of the (reduced) scenes."""
    t = np.int64(0)
    for a in range(m):
        first[a] = -1
    for i in range(n):
        s = order[i]
        start[i] = t
        t += dur[s]
        for p in range(sa_ptr[s], sa_ptr[s + 1]):
            a = sa_idx[p]
            if first[a] < 0:
                first[a] = i
            last[a] = i
    total = np.int64(0)
    for a in range(m):
        if first[a] >= 0:
            end = start[last[a]] + dur[order[last[a]]]
            total += cost[a] * (end - start[first[a]])
    return total


@njit(cache=True)
def _local_search(order, best, n, m, cost, dur, sa_ptr, sa_idx, first, last, start, tmp, passes):  # type: ignore[no-untyped-def]
    """First-improvement insertion moves (take one scene out, put it elsewhere) until none improves or
    ``passes`` sweeps over all moves are done."""
    improved = True
    while improved and passes > 0:
        passes -= 1
        improved = False
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                # move order[i] to position j
                v = order[i]
                if i < j:
                    for k in range(n):
                        tmp[k] = order[k]
                    for k in range(i, j):
                        tmp[k] = order[k + 1]
                    tmp[j] = v
                else:
                    for k in range(n):
                        tmp[k] = order[k]
                    for k in range(i, j, -1):
                        tmp[k] = order[k - 1]
                    tmp[j] = v
                c = order_cost(tmp, n, m, cost, dur, sa_ptr, sa_idx, first, last, start)
                if c < best:
                    best = c
                    for k in range(n):
                        order[k] = tmp[k]
                    improved = True
    return best


@njit(cache=True)
def heuristic_order(n, m, cost, dur, base, sa_ptr, sa_idx, sc, full, use_bound):  # type: ignore[no-untyped-def]
    """A first schedule: from the front, shoot the scene with the least ``cost(s, Q) + LB(Q ∖ s)`` (only when
    the scenes fit a bitset, ``use_bound``; otherwise the cheapest scene now). :func:`descend` and
    :func:`improve_order` continue from here.
    """
    order = np.empty(n, dtype=np.int64)
    first = np.empty(m, dtype=np.int64)
    last = np.empty(m, dtype=np.int64)
    start = np.empty(n, dtype=np.int64)
    onloc = np.zeros(m, dtype=np.int8)
    ratio = np.zeros(m, dtype=np.float64)
    idx = np.empty(m, dtype=np.int64)
    remaining = np.ones(n, dtype=np.int8)
    present = np.zeros(m, dtype=np.int8)  # actors whose first scene was shot
    left = np.zeros(m, dtype=np.int64)  # scenes still to shoot per actor
    for s in range(n):
        for p in range(sa_ptr[s], sa_ptr[s + 1]):
            left[sa_idx[p]] += 1
    Q = full
    for pos in range(n):
        hold = np.int64(0)
        for a in range(m):
            if present[a] and left[a] > 0:
                hold += cost[a]
        best_s = -1
        best_v = INF
        for s in range(n):
            if not remaining[s]:
                continue
            inside = np.int64(0)
            for p in range(sa_ptr[s], sa_ptr[s + 1]):
                a = sa_idx[p]
                if present[a] and left[a] > 0:
                    inside += cost[a]
            v = base[s] + dur[s] * (hold - inside)
            if use_bound:
                v += lower_bound(
                    Q & ~(ONE << np.uint64(s)),
                    full,
                    n,
                    m,
                    sc,
                    cost,
                    dur,
                    base,
                    sa_ptr,
                    sa_idx,
                    onloc,
                    ratio,
                    idx,
                )
            if v < best_v:
                best_v = v
                best_s = s
        order[pos] = best_s
        remaining[best_s] = 0
        if use_bound:
            Q = Q & ~(ONE << np.uint64(best_s))
        for p in range(sa_ptr[best_s], sa_ptr[best_s + 1]):
            a = sa_idx[p]
            present[a] = 1
            left[a] -= 1
    best = order_cost(order, n, m, cost, dur, sa_ptr, sa_idx, first, last, start)
    return order, best


@njit(cache=True)
def descend(order, best, n, m, cost, dur, sa_ptr, sa_idx, passes):  # type: ignore[no-untyped-def]
    """At most ``passes`` sweeps of insertion moves on ``order`` (in place); returns the new cost."""
    first = np.empty(m, dtype=np.int64)
    last = np.empty(m, dtype=np.int64)
    start = np.empty(n, dtype=np.int64)
    tmp = np.empty(n, dtype=np.int64)
    return _local_search(order, best, n, m, cost, dur, sa_ptr, sa_idx, first, last, start, tmp, passes)


@njit(cache=True)
def improve_order(order, best, n, m, cost, dur, sa_ptr, sa_idx, iters, seed):  # type: ignore[no-untyped-def]
    """``iters`` rounds of iterated local search from ``order`` (changed in place); returns the best cost.

    Each round perturbs the best order (reverses a random segment, or swaps three random pairs), descends
    with insertion moves and keeps the result when it is cheaper.
    """
    np.random.seed(seed)  # noqa: NPY002 (numba supports the legacy API only)
    first = np.empty(m, dtype=np.int64)
    last = np.empty(m, dtype=np.int64)
    start = np.empty(n, dtype=np.int64)
    tmp = np.empty(n, dtype=np.int64)
    cur = order.copy()
    if n < 4:
        return best
    for _ in range(iters):
        for k in range(n):
            cur[k] = order[k]
        i = np.random.randint(0, n)  # noqa: NPY002
        j = np.random.randint(0, n)  # noqa: NPY002
        if i > j:
            i, j = j, i
        if np.random.random() < 0.5:  # noqa: NPY002
            while i < j:
                cur[i], cur[j] = cur[j], cur[i]
                i += 1
                j -= 1
        else:
            for _r in range(3):
                a_ = np.random.randint(0, n)  # noqa: NPY002
                b_ = np.random.randint(0, n)  # noqa: NPY002
                cur[a_], cur[b_] = cur[b_], cur[a_]
        c = order_cost(cur, n, m, cost, dur, sa_ptr, sa_idx, first, last, start)
        c = _local_search(cur, c, n, m, cost, dur, sa_ptr, sa_idx, first, last, start, tmp, 1000)
        if c < best:
            best = c
            for k in range(n):
                order[k] = cur[k]
    return best


# ---------------------------------------------------------------- front-to-back search, compact layout ---
#
# The table is one int64 array, a row per state: ``tab[i] = (key, g, h, meta)`` (key = the bitset Q, below
# 2**63 because the search takes at most 63 scenes; EMPTY = -1 marks a free row) with meta = parent scene |
# CLOSED | EXACT, so a probe and the state's data share a cache line. The open list is a bucket
# queue over the bound f = g + h (bucket = (f - fbase) >> shift), last in first out inside a bucket; with
# the path-max rule f never decreases from parent to child, so the scan pointer only moves forward.

EMPTY = -1
CLOSED = 256
EXACT = 512


@njit(cache=True)
def dp_lookup(tab, key, mask):  # type: ignore[no-untyped-def]
    i = _hash(key, mask)
    ik = np.int64(key)
    while True:
        k = tab[i, 0]
        if k == ik:
            return i
        if k == EMPTY:
            return -i - 1
        i = (i + 1) & mask


@njit(cache=True)
def _bq_push(bhead, e_slot, e_g, e_next, ctr, fbase, shift, f, g, slot):  # type: ignore[no-untyped-def]
    b = (f - fbase) >> shift
    nb = bhead.shape[0]
    if b < 0:
        b = 0
    if b >= nb:
        b = nb - 1
    e = ctr[6]
    if e >= 0:
        ctr[6] = e_next[e]
    else:
        e = ctr[7]
        ctr[7] += 1
    e_slot[e] = slot
    e_g[e] = g
    e_next[e] = bhead[b]
    bhead[b] = e
    if b < ctr[5]:
        ctr[5] = b
    ctr[0] += 1


@njit(cache=True)
def dp_init(full, tab, bhead, e_slot, e_g, e_next, ctr, fbase, shift, h0):  # type: ignore[no-untyped-def]
    mask = np.int64(tab.shape[0] - 1)
    i = -dp_lookup(tab, full, mask) - 1
    tab[i, 0] = np.int64(full)
    tab[i, 1] = 0
    tab[i, 2] = h0
    tab[i, 3] = EXACT
    ctr[0] = 0  # live entries in the queue
    ctr[1] = 1  # table entries
    ctr[2] = 0  # expansions
    ctr[3] = -1  # goal slot
    ctr[4] = 0  # bound evaluations
    ctr[5] = 0  # scan pointer
    ctr[6] = -1  # free list of queue entries
    ctr[7] = 0  # high-water mark of queue entries
    _bq_push(bhead, e_slot, e_g, e_next, ctr, fbase, shift, h0, 0, i)


@njit(cache=True)
def dp_run(  # type: ignore[no-untyped-def]
    n,
    m,
    full,
    sc,
    cost,
    dur,
    base,
    sa_ptr,
    sa_idx,
    sub_ptr,
    sub_idx,
    tab,
    bhead,
    e_slot,
    e_g,
    e_next,
    ctr,
    ub_arr,
    fbase,
    shift,
    max_expand,
    max_load,
    eager,
    c_key,
    c_val,
):
    """Run at most ``max_expand`` expansions; returns RUNNING, EXHAUSTED (no state with a bound below
    ``ub_arr[0]`` is left, so that cost is optimal), TABLE_FULL or HEAP_FULL. A complete schedule found on
    the way lowers ``ub_arr[0]`` and records its state in ``ctr[3]``."""
    mask = np.int64(tab.shape[0] - 1)
    ecap = e_slot.shape[0]
    nb = bhead.shape[0]
    onloc = np.zeros(m, dtype=np.int8)
    started = np.zeros(m, dtype=np.int8)
    ratio = np.zeros(m, dtype=np.float64)
    idx = np.empty(m, dtype=np.int64)
    onloc2 = np.zeros(m, dtype=np.int8)
    ub = ub_arr[0]
    cmask = np.int64(c_key.shape[0] - 1)
    done = 0
    while done < max_expand:
        if ctr[1] >= max_load:
            return TABLE_FULL
        if ctr[7] + n + 2 >= ecap:
            return HEAP_FULL
        cur = ctr[5]
        while cur < nb and bhead[cur] < 0:
            cur += 1
        ctr[5] = cur
        if cur >= nb or fbase + (cur << shift) >= ub:
            return EXHAUSTED
        e = bhead[cur]
        bhead[cur] = e_next[e]
        e_next[e] = ctr[6]
        ctr[6] = e
        ctr[0] -= 1
        slot = e_slot[e]
        g = e_g[e]
        meta = tab[slot, 3]
        if (meta & CLOSED) or g != tab[slot, 1]:
            continue
        Q = np.uint64(tab[slot, 0])
        h_parent = tab[slot, 2]
        if not (meta & EXACT):
            # lazy bound: the full bound is computed only for states that reach the front of the queue
            meta |= EXACT
            tab[slot, 3] = meta
            ctr[4] += 1
            hx = lower_bound(Q, full, n, m, sc, cost, dur, base, sa_ptr, sa_idx, onloc2, ratio, idx)
            if hx > h_parent:
                h_parent = hx
                tab[slot, 2] = hx
                if g + hx >= ub:
                    continue
                if ((g + hx - fbase) >> shift) > cur:
                    _bq_push(bhead, e_slot, e_g, e_next, ctr, fbase, shift, g + hx, g, slot)
                    continue
        if g + h_parent >= ub:
            continue
        tab[slot, 3] = meta | CLOSED
        done += 1
        ctr[2] += 1
        notq = (~Q) & full
        hold = np.int64(0)
        k_on = 0
        for a in range(m):
            x = sc[a]
            st = (x & notq) != ZERO
            started[a] = st
            if st and (x & Q) != ZERO:
                onloc[a] = 1
                hold += cost[a]
                k_on += 1
            else:
                onloc[a] = 0
        fixed_q = np.int64(0)
        forced = -1
        for s in range(n):
            if (Q >> np.uint64(s)) & ONE:
                fixed_q += base[s]
                if forced < 0 and sa_ptr[s + 1] - sa_ptr[s] == k_on:
                    ok = True
                    for p in range(sa_ptr[s], sa_ptr[s + 1]):
                        if not onloc[sa_idx[p]]:
                            ok = False
                            break
                    if ok:
                        forced = s
        for s in range(n):
            if not ((Q >> np.uint64(s)) & ONE):
                continue
            if forced >= 0 and s != forced:
                continue
            if forced < 0:
                dominated = False
                for p in range(sub_ptr[s], sub_ptr[s + 1]):
                    j = sub_idx[p]
                    if not ((Q >> np.uint64(j)) & ONE):
                        continue
                    ok = True
                    for q in range(sa_ptr[j], sa_ptr[j + 1]):
                        a = sa_idx[q]
                        if not started[a] and not ((sc[a] >> np.uint64(s)) & ONE):
                            ok = False
                            break
                    if ok:
                        dominated = True
                        break
                if dominated:
                    continue
            inside = np.int64(0)
            for p in range(sa_ptr[s], sa_ptr[s + 1]):
                a = sa_idx[p]
                if onloc[a]:
                    inside += cost[a]
            c = base[s] + dur[s] * (hold - inside)
            gc = g + c
            hlo = fixed_q - base[s]
            if h_parent - c > hlo:
                hlo = h_parent - c
            if gc + hlo >= ub:
                continue
            child = Q & ~(ONE << np.uint64(s))
            cs = dp_lookup(tab, child, mask)
            if cs < 0:
                if eager:
                    # the full bound now: a child whose bound reaches the incumbent is not stored in the
                    # table, only in the lossy cache of bounds (a later visit usually finds it there)
                    ci = _hash(child, cmask)
                    if c_key[ci] == np.int64(child):
                        hx = c_val[ci]
                    else:
                        ctr[4] += 1
                        hx = lower_bound(
                            child, full, n, m, sc, cost, dur, base, sa_ptr, sa_idx, onloc2, ratio, idx
                        )
                        c_key[ci] = np.int64(child)
                        c_val[ci] = hx
                    if hx > hlo:
                        hlo = hx
                    if eager == 2 and gc + hlo >= ub:
                        continue
                cs = -cs - 1
                tab[cs, 0] = np.int64(child)
                tab[cs, 1] = INF
                tab[cs, 2] = hlo
                tab[cs, 3] = EXACT if eager else 0
                ctr[1] += 1
            elif hlo > tab[cs, 2]:
                tab[cs, 2] = hlo
            hc = tab[cs, 2]
            if gc >= tab[cs, 1] or gc + hc >= ub:
                continue
            tab[cs, 1] = gc
            tab[cs, 3] = (tab[cs, 3] & EXACT) | s
            if child == ZERO:
                ub = gc
                ub_arr[0] = gc
                ctr[3] = cs
                continue
            _bq_push(bhead, e_slot, e_g, e_next, ctr, fbase, shift, gc + hc, gc, cs)
    return RUNNING


@njit(cache=True)
def dp_open_min(tab, bhead, e_slot, e_g, e_next, ctr, ub):  # type: ignore[no-untyped-def]
    """Smallest bound among the live queue entries, capped by ``ub``: a lower bound on the optimum."""
    best = ub
    for b in range(ctr[5], bhead.shape[0]):
        e = bhead[b]
        while e >= 0:
            s = e_slot[e]
            if not (tab[s, 3] & CLOSED) and e_g[e] == tab[s, 1]:
                f = e_g[e] + tab[s, 2]
                if f < best:
                    best = f
            e = e_next[e]
    return best


@njit(cache=True)
def dp_rehash(tab, ntab, remap):  # type: ignore[no-untyped-def]
    mask = np.int64(ntab.shape[0] - 1)
    for i in range(tab.shape[0]):
        if tab[i, 0] != EMPTY:
            j = -dp_lookup(ntab, np.uint64(tab[i, 0]), mask) - 1
            for k in range(4):
                ntab[j, k] = tab[i, k]
            remap[i] = j


@njit(cache=True)
def dp_trace(goal_slot, full, tab, n):  # type: ignore[no-untyped-def]
    """Scenes in shooting order, following the parent scenes from the empty set back to the full set."""
    mask = np.int64(tab.shape[0] - 1)
    rev = np.empty(n, dtype=np.int64)
    k = 0
    slot = goal_slot
    Q = np.uint64(tab[slot, 0])
    while full != Q:
        s = tab[slot, 3] & 255
        rev[k] = s
        k += 1
        Q = Q | (ONE << np.uint64(s))
        slot = dp_lookup(tab, Q, mask)
    out = np.empty(k, dtype=np.int64)
    for i in range(k):
        out[i] = rev[k - 1 - i]
    return out
