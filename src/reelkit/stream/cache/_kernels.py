"""Numba kernels of the cache policies: one loop over the whole trace each.

Every kernel has the same signature::

    kernel(objs, sizes, nxt, n_obj, capacity, params, hits) -> max_occupied_bytes

``objs`` dense object ids (int64, ``0..n_obj-1``), ``sizes`` request sizes, ``nxt`` the index of each
request's next request to the same object (``len(objs)`` when none; only the offline policies read it),
``params`` the policy's float parameters, ``hits`` a uint8 array the kernel fills with 1 for each hit. State
lives in arrays indexed by dense id; queues are doubly linked lists over those arrays (``head`` newest,
``tail`` oldest), a node's previous and next links side by side (``lk[x, 0]``, ``lk[x, 1]``: one cache line,
1.1-1.35x faster than two arrays).

Shared semantics (those of libCacheSim's ``cache_get_base``): a request is a hit when its object is cached; on
a miss the object is admitted only when it fits in the cache at all (and the policy's own admission test
passes), after evicting until it fits. An object keeps the size it had when it was admitted.
"""

from __future__ import annotations

import numpy as np
from numba import njit


# ---------------------------------------------------------------------------------------------- linked lists
# ht[2*L] is list L's head (newest), ht[2*L+1] its tail (oldest); lk[x] = (previous, next); -1 = empty / none.
@njit(cache=True, nogil=True, boundscheck=False)
def _push_head(lk, ht, lst, x):  # type: ignore[no-untyped-def]
    h = ht[2 * lst]
    lk[x, 0] = -1
    lk[x, 1] = h
    if h >= 0:
        lk[h, 0] = x
    else:
        ht[2 * lst + 1] = x
    ht[2 * lst] = x


@njit(cache=True, nogil=True, boundscheck=False)
def _unlink(lk, ht, lst, x):  # type: ignore[no-untyped-def]
    p = lk[x, 0]
    n = lk[x, 1]
    if p >= 0:
        lk[p, 1] = n
    else:
        ht[2 * lst] = n
    if n >= 0:
        lk[n, 0] = p
    else:
        ht[2 * lst + 1] = p
    lk[x, 0] = -1
    lk[x, 1] = -1


# ---------------------------------------------------------------------------------------------- indexed heap
# min-heap over objects ordered by (key, seq). The keys live in heap order (hk[i], hs[i] belong to heap[i]) so
# that sifting reads contiguous memory; pos[o] = heap index of object o or -1; hn[0] = heap length.
@njit(cache=True, nogil=True, boundscheck=False)
def _sift_up(heap, pos, hk, hs, i):  # type: ignore[no-untyped-def]
    x = heap[i]
    kx = hk[i]
    sx = hs[i]
    while i > 0:
        parent = (i - 1) >> 1
        kp = hk[parent]
        if kx < kp or (kx == kp and sx < hs[parent]):
            y = heap[parent]
            heap[i] = y
            hk[i] = kp
            hs[i] = hs[parent]
            pos[y] = i
            i = parent
        else:
            break
    heap[i] = x
    hk[i] = kx
    hs[i] = sx
    pos[x] = i


@njit(cache=True, nogil=True, boundscheck=False)
def _sift_down(heap, pos, hk, hs, hn, i):  # type: ignore[no-untyped-def]
    n = hn[0]
    x = heap[i]
    kx = hk[i]
    sx = hs[i]
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and (hk[c + 1] < hk[c] or (hk[c + 1] == hk[c] and hs[c + 1] < hs[c])):
            c += 1
        kc = hk[c]
        if kc < kx or (kc == kx and hs[c] < sx):
            y = heap[c]
            heap[i] = y
            hk[i] = kc
            hs[i] = hs[c]
            pos[y] = i
            i = c
        else:
            break
    heap[i] = x
    hk[i] = kx
    hs[i] = sx
    pos[x] = i


@njit(cache=True, nogil=True, boundscheck=False)
def _h_push(heap, pos, hk, hs, hn, x, k, s):  # type: ignore[no-untyped-def]
    i = hn[0]
    hn[0] = i + 1
    heap[i] = x
    hk[i] = k
    hs[i] = s
    pos[x] = i
    _sift_up(heap, pos, hk, hs, i)


@njit(cache=True, nogil=True, boundscheck=False)
def _h_pop(heap, pos, hk, hs, hn):  # type: ignore[no-untyped-def]
    """Remove the top object and return it."""
    x = heap[0]
    last = hn[0] - 1
    hn[0] = last
    pos[x] = -1
    if last > 0:
        heap[0] = heap[last]
        hk[0] = hk[last]
        hs[0] = hs[last]
        pos[heap[0]] = 0
        _sift_down(heap, pos, hk, hs, hn, 0)
    return x


@njit(cache=True, nogil=True, boundscheck=False)
def _h_update(heap, pos, hk, hs, hn, x, k, s):  # type: ignore[no-untyped-def]
    i = pos[x]
    old = hk[i]
    old_s = hs[i]
    hk[i] = k
    hs[i] = s
    if k > old or (k == old and s >= old_s):
        _sift_down(heap, pos, hk, hs, hn, i)
    else:
        _sift_up(heap, pos, hk, hs, i)


# ---------------------------------------------------------------------------------------------- LRU / FIFO
@njit(cache=True, nogil=True, boundscheck=False)
def lru_kernel(objs, sizes, nxt_use, n_obj, capacity, params, hits):  # type: ignore[no-untyped-def]
    """Least recently used: a hit moves the object to the head; evict from the tail."""
    promote = params[0] > 0.5  # 1 = LRU, 0 = FIFO
    lk = np.full((n_obj, 2), -1, np.int64)  # previous, next
    ht = np.full(2, -1, np.int64)
    cached = np.zeros(n_obj, np.uint8)
    osz = np.zeros(n_obj, np.int64)
    used = 0
    max_used = 0
    for i in range(objs.shape[0]):
        o = objs[i]
        s = sizes[i]
        if cached[o]:
            hits[i] = 1
            if promote and ht[0] != o:
                _unlink(lk, ht, 0, o)
                _push_head(lk, ht, 0, o)
            continue
        if s > capacity:
            continue
        while used + s > capacity:
            v = ht[1]
            _unlink(lk, ht, 0, v)
            cached[v] = 0
            used -= osz[v]
        _push_head(lk, ht, 0, o)
        cached[o] = 1
        osz[o] = s
        used += s
        if used > max_used:
            max_used = used
    return max_used


# ---------------------------------------------------------------------------------------------- SIEVE
@njit(cache=True, nogil=True, boundscheck=False)
def sieve_kernel(objs, sizes, nxt_use, n_obj, capacity, params, hits):  # type: ignore[no-untyped-def]
    """SIEVE (Zhang et al., NSDI'24): FIFO order, a visited bit set on hit, and a hand that moves from the
    tail towards the head clearing visited bits and evicting the first unvisited object; new objects enter at
    the head and the hand stays where it stopped."""
    lk = np.full((n_obj, 2), -1, np.int64)  # previous, next
    ht = np.full(2, -1, np.int64)
    cached = np.zeros(n_obj, np.uint8)
    visited = np.zeros(n_obj, np.uint8)
    osz = np.zeros(n_obj, np.int64)
    hand = -1
    used = 0
    max_used = 0
    for i in range(objs.shape[0]):
        o = objs[i]
        s = sizes[i]
        if cached[o]:
            hits[i] = 1
            visited[o] = 1
            continue
        if s > capacity:
            continue
        while used + s > capacity:
            h = hand if hand >= 0 else ht[1]
            while visited[h]:
                visited[h] = 0
                h = lk[h, 0]
                if h < 0:
                    h = ht[1]
            hand = lk[h, 0]
            _unlink(lk, ht, 0, h)
            cached[h] = 0
            used -= osz[h]
        _push_head(lk, ht, 0, o)
        cached[o] = 1
        visited[o] = 0
        osz[o] = s
        used += s
        if used > max_used:
            max_used = used
    return max_used


# ---------------------------------------------------------------------------------------------- LFU / GDSF
@njit(cache=True, nogil=True, boundscheck=False)
def lfu_kernel(objs, sizes, nxt_use, n_obj, capacity, params, hits):  # type: ignore[no-untyped-def]
    """LFU over the cached objects' request counts (a count starts at 1 on admission and is forgotten on
    eviction); ties evict the object that reached its count first (libCacheSim's LFU). With ``params[0] = 1``
    dynamic aging (LFU-DA, Arlitt et al. 2000): priority = L + count, where L is the priority of the last
    evicted object, so that once-popular objects age out."""
    aging = params[0] > 0.5
    hk = np.zeros(n_obj, np.float64)
    hs = np.zeros(n_obj, np.int64)
    freq = np.zeros(n_obj, np.float64)
    heap = np.empty(n_obj, np.int64)
    pos = np.full(n_obj, -1, np.int64)
    hn = np.zeros(1, np.int64)
    osz = np.zeros(n_obj, np.int64)
    age = 0.0
    used = 0
    max_used = 0
    for i in range(objs.shape[0]):
        o = objs[i]
        s = sizes[i]
        if pos[o] >= 0:
            hits[i] = 1
            freq[o] += 1.0
            _h_update(heap, pos, hk, hs, hn, o, (age + freq[o]) if aging else freq[o], i)
            continue
        if s > capacity:
            continue
        while used + s > capacity:
            if aging:
                age = hk[0]
            v = _h_pop(heap, pos, hk, hs, hn)
            used -= osz[v]
        freq[o] = 1.0
        _h_push(heap, pos, hk, hs, hn, o, (age + 1.0) if aging else 1.0, i)
        osz[o] = s
        used += s
        if used > max_used:
            max_used = used
    return max_used


@njit(cache=True, nogil=True, boundscheck=False)
def lfu_bucket_kernel(objs, sizes, nxt_use, n_obj, capacity, params, hits):  # type: ignore[no-untyped-def]
    """LFU without aging in O(1) a request (Shah et al.'s frequency lists, as libCacheSim's LFU): one list per
    count, oldest arrival at its tail, and the non-empty counts linked in increasing order; evicts the tail of
    the lowest count. The same choices as ``lfu_kernel`` without aging (ties to the object that reached its
    count first), without the heap's log n."""
    top = 1  # the highest count an object can reach: its requests in the trace
    seen = np.zeros(n_obj, np.int64)
    for i in range(objs.shape[0]):
        seen[objs[i]] += 1
        if seen[objs[i]] > top:
            top = seen[objs[i]]
    lk = np.full((n_obj, 2), -1, np.int64)  # previous, next
    cnt = np.zeros(n_obj, np.int64)  # 0 = not cached
    osz = np.zeros(n_obj, np.int64)
    ht = np.full(2 * (top + 2), -1, np.int64)  # per count: head (newest arrival), tail (oldest)
    up = np.full(top + 2, -1, np.int64)  # next non-empty count above (-1: none)
    down = np.full(top + 2, -1, np.int64)  # next non-empty count below (-1: none)
    low = -1  # the lowest non-empty count
    used = 0
    max_used = 0
    for i in range(objs.shape[0]):
        o = objs[i]
        s = sizes[i]
        c = cnt[o]
        if c > 0:
            hits[i] = 1
            if ht[2 * (c + 1)] < 0:  # count c + 1 becomes non-empty: link it right after c
                a = up[c]
                down[c + 1] = c
                up[c + 1] = a
                up[c] = c + 1
                if a >= 0:
                    down[a] = c + 1
            _unlink(lk, ht, c, o)
            _push_head(lk, ht, c + 1, o)
            cnt[o] = c + 1
            if ht[2 * c] < 0:  # count c emptied: unlink it (c + 1, non-empty, is right above it)
                b = down[c]
                if b >= 0:
                    up[b] = c + 1
                down[c + 1] = b
                if low == c:
                    low = c + 1
                up[c] = -1
                down[c] = -1
            continue
        if s > capacity:
            continue
        while used + s > capacity:
            v = ht[2 * low + 1]
            _unlink(lk, ht, low, v)
            cnt[v] = 0
            used -= osz[v]
            if ht[2 * low] < 0:
                a = up[low]
                up[low] = -1
                if a >= 0:
                    down[a] = -1
                low = a
        if ht[2] < 0:  # count 1 becomes non-empty: it is the lowest
            up[1] = low
            down[1] = -1
            if low >= 0:
                down[low] = 1
            low = 1
        _push_head(lk, ht, 1, o)
        cnt[o] = 1
        osz[o] = s
        used += s
        if used > max_used:
            max_used = used
    return max_used


@njit(cache=True, nogil=True, boundscheck=False)
def gdsf_kernel(objs, sizes, nxt_use, n_obj, capacity, params, hits):  # type: ignore[no-untyped-def]
    """Greedy-Dual-Size-Frequency (Cherkasova 1998): priority = L + count x cost / size with L the priority of
    the last evicted object; cost 1 (``params[0] = 0``, favours object hits) or the size (``params[0] = 1``,
    favours byte hits, which makes it LFU-DA)."""
    byte_cost = params[0] > 0.5
    hk = np.zeros(n_obj, np.float64)
    hs = np.zeros(n_obj, np.int64)
    freq = np.zeros(n_obj, np.float64)
    heap = np.empty(n_obj, np.int64)
    pos = np.full(n_obj, -1, np.int64)
    hn = np.zeros(1, np.int64)
    osz = np.zeros(n_obj, np.int64)
    age = 0.0
    used = 0
    max_used = 0
    for i in range(objs.shape[0]):
        o = objs[i]
        s = sizes[i]
        if pos[o] >= 0:
            hits[i] = 1
            freq[o] += 1.0
            _h_update(heap, pos, hk, hs, hn, o, age + (freq[o] if byte_cost else freq[o] / osz[o]), i)
            continue
        if s > capacity:
            continue
        while used + s > capacity:
            age = hk[0]
            v = _h_pop(heap, pos, hk, hs, hn)
            used -= osz[v]
        freq[o] = 1.0
        osz[o] = s
        _h_push(heap, pos, hk, hs, hn, o, age + (1.0 if byte_cost else 1.0 / s), i)
        used += s
        if used > max_used:
            max_used = used
    return max_used


# ---------------------------------------------------------------------------------------------- ARC
@njit(cache=True, nogil=True, boundscheck=False)
def _arc_replace(lk, ht, state, osz, sz, p, in_l2_ghost):  # type: ignore[no-untyped-def]
    # sz = [L1 data, L1 ghost, L2 data, L2 ghost]; lists 0 T1, 1 B1, 2 T2, 3 B2
    l1d = sz[0]
    if (l1d > 0 and (l1d > p or (l1d == p and in_l2_ghost))) or sz[2] == 0:
        v = ht[1]
        _unlink(lk, ht, 0, v)
        _push_head(lk, ht, 1, v)
        state[v] = 2
        sz[0] -= osz[v]
        sz[1] += osz[v]
    else:
        v = ht[5]
        _unlink(lk, ht, 2, v)
        _push_head(lk, ht, 3, v)
        state[v] = 4
        sz[2] -= osz[v]
        sz[3] += osz[v]


@njit(cache=True, nogil=True, boundscheck=False)
def arc_kernel(objs, sizes, nxt_use, n_obj, capacity, params, hits):  # type: ignore[no-untyped-def]
    """ARC (Megiddo & Modha, FAST'03) in bytes, as libCacheSim implements it for variable sizes: T1/T2 hold
    data, B1/B2 ghosts; a ghost hit moves the target p (a float) by max(|B2|/|B1|, 1) or max(|B1|/|B2|, 1)
    bytes and the object enters T2."""
    lk = np.full((n_obj, 2), -1, np.int64)  # previous, next
    ht = np.full(8, -1, np.int64)
    state = np.zeros(n_obj, np.uint8)  # 0 none, 1 T1, 2 B1, 3 T2, 4 B2
    osz = np.zeros(n_obj, np.int64)
    sz = np.zeros(4, np.int64)
    p = 0.0
    cap = capacity
    max_used = 0
    for i in range(objs.shape[0]):
        o = objs[i]
        s = sizes[i]
        st = state[o]
        ghost = 0
        if st == 1:
            hits[i] = 1
            _unlink(lk, ht, 0, o)
            _push_head(lk, ht, 2, o)
            state[o] = 3
            sz[0] -= osz[o]
            sz[2] += osz[o]
            continue
        if st == 3:
            hits[i] = 1
            if ht[4] != o:
                _unlink(lk, ht, 2, o)
                _push_head(lk, ht, 2, o)
            continue
        if st == 2:
            delta = max(sz[3] / sz[1], 1.0)
            p = min(p + delta, float(cap))
            sz[1] -= osz[o]
            _unlink(lk, ht, 1, o)
            state[o] = 0
            ghost = 1
        elif st == 4:
            delta = max(sz[1] / sz[3], 1.0)
            p = max(p - delta, 0.0)
            sz[3] -= osz[o]
            _unlink(lk, ht, 3, o)
            state[o] = 0
            ghost = 2
        if s > cap:
            continue
        while sz[0] + sz[2] + s > cap:
            if ghost > 0:
                _arc_replace(lk, ht, state, osz, sz, p, ghost == 2)
            elif sz[0] + sz[1] + s > cap:
                if sz[1] > 0:
                    v = ht[3]
                    _unlink(lk, ht, 1, v)
                    state[v] = 0
                    sz[1] -= osz[v]
                    _arc_replace(lk, ht, state, osz, sz, p, False)
                else:
                    v = ht[1]
                    _unlink(lk, ht, 0, v)
                    state[v] = 0
                    sz[0] -= osz[v]
            else:
                if sz[0] + sz[1] + sz[2] + sz[3] >= 2 * cap and sz[3] > 0:
                    v = ht[7]
                    _unlink(lk, ht, 3, v)
                    state[v] = 0
                    sz[3] -= osz[v]
                _arc_replace(lk, ht, state, osz, sz, p, False)
        osz[o] = s
        if ghost > 0:
            _push_head(lk, ht, 2, o)
            state[o] = 3
            sz[2] += s
        else:
            _push_head(lk, ht, 0, o)
            state[o] = 1
            sz[0] += s
        if sz[0] + sz[2] > max_used:
            max_used = sz[0] + sz[2]
    return max_used


# ---------------------------------------------------------------------------------------------- S3-FIFO
@njit(cache=True, nogil=True, boundscheck=False)
def s3fifo_kernel(objs, sizes, nxt_use, n_obj, capacity, params, hits):  # type: ignore[no-untyped-def]
    """S3-FIFO (Yang et al., SOSP'23) as in libCacheSim: a small FIFO (``params[0]`` of the bytes, 10%),
    a main FIFO with a 2-bit clock, and a ghost FIFO of ids (``params[1]`` of the bytes, 90%). New objects
    enter the small queue (the main one on a ghost hit); leaving the small queue, an object read at least
    ``params[2]`` times (2) moves to main, otherwise its id goes to the ghost. Objects as large as the small
    queue are not admitted."""
    small_cap = np.int64(capacity * params[0])
    main_cap = capacity - small_cap
    ghost_cap = np.int64(capacity * params[1])
    threshold = params[2]
    lk = np.full((n_obj, 2), -1, np.int64)  # previous, next
    glk = np.full((n_obj, 2), -1, np.int64)
    ht = np.full(4, -1, np.int64)  # list 0 small, list 1 main
    ght = np.full(2, -1, np.int64)
    state = np.zeros(n_obj, np.uint8)  # 0 none, 1 small, 2 main
    in_ghost = np.zeros(n_obj, np.uint8)
    freq = np.zeros(n_obj, np.int64)
    osz = np.zeros(n_obj, np.int64)
    gsz = np.zeros(n_obj, np.int64)
    small_used = 0
    main_used = 0
    ghost_used = 0
    has_evicted = False
    max_used = 0
    for i in range(objs.shape[0]):
        o = objs[i]
        s = sizes[i]
        if state[o] == 1:
            hits[i] = 1
            freq[o] += 1
            continue
        hit_on_ghost = False
        if in_ghost[o]:
            _unlink(glk, ght, 0, o)
            in_ghost[o] = 0
            ghost_used -= gsz[o]
            hit_on_ghost = True
        if state[o] == 2:
            hits[i] = 1
            freq[o] += 1
            continue
        if s > small_cap or s > capacity:
            continue
        while small_used + main_used + s > capacity:
            has_evicted = True
            if main_used > main_cap or small_used == 0:
                # evict from main: objects read since their last pass are reinserted with one less credit
                while main_used > 0:
                    v = ht[3]
                    f = freq[v]
                    _unlink(lk, ht, 1, v)
                    if f >= 1:
                        _push_head(lk, ht, 1, v)
                        freq[v] = min(f, 3) - 1
                    else:
                        state[v] = 0
                        main_used -= osz[v]
                        break
            else:
                while small_used > 0:
                    v = ht[1]
                    _unlink(lk, ht, 0, v)
                    small_used -= osz[v]
                    if freq[v] >= threshold:
                        _push_head(lk, ht, 1, v)
                        state[v] = 2
                        freq[v] = 0
                        main_used += osz[v]
                    else:
                        state[v] = 0
                        vs = osz[v]
                        if vs <= ghost_cap:
                            while ghost_used + vs > ghost_cap:
                                g = ght[1]
                                _unlink(glk, ght, 0, g)
                                in_ghost[g] = 0
                                ghost_used -= gsz[g]
                            _push_head(glk, ght, 0, v)
                            in_ghost[v] = 1
                            gsz[v] = vs
                            ghost_used += vs
                        break
        osz[o] = s
        freq[o] = 0
        if hit_on_ghost:
            _push_head(lk, ht, 1, o)
            state[o] = 2
            main_used += s
        else:
            if s >= small_cap:
                continue
            if not has_evicted and small_used >= small_cap:
                _push_head(lk, ht, 1, o)
                state[o] = 2
                main_used += s
            else:
                _push_head(lk, ht, 0, o)
                state[o] = 1
                small_used += s
        if small_used + main_used > max_used:
            max_used = small_used + main_used
    return max_used


# ---------------------------------------------------------------------------------------------- W-TinyLFU
@njit(cache=True, nogil=True, boundscheck=False)
def _cms_hash(o, row, mask):  # type: ignore[no-untyped-def]
    h = np.uint64(o) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(row) * np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(31)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(29)
    return np.int64(h & np.uint64(mask))


@njit(cache=True, nogil=True, boundscheck=False)
def _cms_estimate(cms, o, mask):  # type: ignore[no-untyped-def]
    m = 255
    for r in range(cms.shape[0]):
        c = cms[r, _cms_hash(o, r, mask)]
        if c < m:
            m = c
    return m


@njit(cache=True, nogil=True, boundscheck=False)
def tinylfu_kernel(objs, sizes, nxt_use, n_obj, capacity, params, hits):  # type: ignore[no-untyped-def]
    """W-TinyLFU (Einziger et al., 2017): a window LRU (``params[0]`` of the bytes, 1%) in front of a
    segmented LRU main cache (probation + protected, ``params[1]`` of main protected, 80%). An object
    leaving the window enters main only if a count-min sketch (4 rows of 4-bit counters, halved every
    ``params[2]`` x the expected number of cached objects additions) estimates it more popular than main's
    eviction victim."""
    window_cap = np.int64(capacity * params[0])
    main_cap = capacity - window_cap
    protected_cap = np.int64(main_cap * params[1])
    mean_size = params[3]
    # never more objects than the trace has: a capacity far past the catalogue (10 TB for 5 MB) sized the
    # sketch by the capacity and ran out of memory
    expected = max(16.0, min(capacity / max(mean_size, 1.0), float(n_obj)))
    width = 16
    while width < expected:
        width *= 2
    mask = width - 1
    sample = np.int64(params[2] * expected)
    cms = np.zeros((4, width), np.uint8)
    additions = 0
    lk = np.full((n_obj, 2), -1, np.int64)  # previous, next
    ht = np.full(6, -1, np.int64)  # 0 window, 1 probation, 2 protected
    state = np.zeros(n_obj, np.uint8)  # 0 none, 1 window, 2 probation, 3 protected
    osz = np.zeros(n_obj, np.int64)
    used = np.zeros(3, np.int64)
    max_used = 0
    for i in range(objs.shape[0]):
        o = objs[i]
        s = sizes[i]
        # record the access in the sketch (conservative update: raise only the minimal counters)
        est = _cms_estimate(cms, o, mask)
        if est < 15:
            for r in range(4):
                j = _cms_hash(o, r, mask)
                if cms[r, j] == est:
                    cms[r, j] = est + 1
        additions += 1
        if additions >= sample:
            additions = 0
            for r in range(4):
                for j in range(width):
                    cms[r, j] >>= 1
        st = state[o]
        if st == 1:
            hits[i] = 1
            _unlink(lk, ht, 0, o)
            _push_head(lk, ht, 0, o)
            continue
        if st == 3:
            hits[i] = 1
            _unlink(lk, ht, 2, o)
            _push_head(lk, ht, 2, o)
            continue
        if st == 2:
            hits[i] = 1
            _unlink(lk, ht, 1, o)
            used[1] -= osz[o]
            _push_head(lk, ht, 2, o)
            state[o] = 3
            used[2] += osz[o]
            while used[2] > protected_cap:
                d = ht[5]
                _unlink(lk, ht, 2, d)
                used[2] -= osz[d]
                _push_head(lk, ht, 1, d)
                state[d] = 2
                used[1] += osz[d]
            continue
        if s > capacity:
            continue
        _push_head(lk, ht, 0, o)
        state[o] = 1
        osz[o] = s
        used[0] += s
        while used[0] > window_cap:
            c = ht[1]
            _unlink(lk, ht, 0, c)
            used[0] -= osz[c]
            state[c] = 0
            cs = osz[c]
            if cs > main_cap:
                continue
            if used[1] + used[2] + cs > main_cap:
                v = ht[3] if ht[3] >= 0 else ht[5]
                if _cms_estimate(cms, c, mask) <= _cms_estimate(cms, v, mask):
                    continue  # rejected: the candidate is dropped
                while used[1] + used[2] + cs > main_cap:
                    if ht[3] >= 0:
                        v = ht[3]
                        _unlink(lk, ht, 1, v)
                        used[1] -= osz[v]
                    else:
                        v = ht[5]
                        _unlink(lk, ht, 2, v)
                        used[2] -= osz[v]
                    state[v] = 0
            _push_head(lk, ht, 1, c)
            state[c] = 2
            used[1] += cs
        total = used[0] + used[1] + used[2]
        if total > max_used:
            max_used = total
    return max_used


# ---------------------------------------------------------------------------------------------- Belady
@njit(cache=True, nogil=True, boundscheck=False)
def belady_kernel(objs, sizes, nxt_use, n_obj, capacity, params, hits):  # type: ignore[no-untyped-def]
    """Belady's MIN: evict the cached object whose next request is furthest away. With ``params[0] = 1``
    (bypass) an object is not admitted when it will never be requested again or when making room for it
    would evict an object requested before it (then nothing is evicted); with ``params[0] = 0`` every object
    that fits is admitted (libCacheSim's Belady)."""
    bypass = params[0] > 0.5
    n = objs.shape[0]
    hk = np.zeros(n_obj, np.float64)
    hs = np.zeros(n_obj, np.int64)
    heap = np.empty(n_obj, np.int64)
    pos = np.full(n_obj, -1, np.int64)
    hn = np.zeros(1, np.int64)
    osz = np.zeros(n_obj, np.int64)
    # the victims of one admission, with their keys: a refused admission puts them back, evicting nothing
    vic = np.empty(n_obj, np.int64)
    vic_k = np.empty(n_obj, np.float64)
    vic_s = np.empty(n_obj, np.int64)
    used = 0
    max_used = 0
    for i in range(n):
        o = objs[i]
        s = sizes[i]
        nx = nxt_use[i]
        if pos[o] >= 0:
            hits[i] = 1
            _h_update(heap, pos, hk, hs, hn, o, -float(nx), i)
            continue
        if s > capacity:
            continue
        if bypass and nx >= n:
            continue
        admit = True
        n_vic = 0
        freed = 0
        while used - freed + s > capacity:
            if bypass and -hk[0] <= nx:
                admit = False
                break
            vic_k[n_vic] = hk[0]
            vic_s[n_vic] = hs[0]
            v = _h_pop(heap, pos, hk, hs, hn)
            vic[n_vic] = v
            n_vic += 1
            freed += osz[v]
        if not admit:
            for k in range(n_vic):
                _h_push(heap, pos, hk, hs, hn, vic[k], vic_k[k], vic_s[k])
            continue
        used -= freed
        _h_push(heap, pos, hk, hs, hn, o, -float(nx), i)
        osz[o] = s
        used += s
        if used > max_used:
            max_used = used
    return max_used


@njit(cache=True, nogil=True, boundscheck=False)
def belady_size_kernel(objs, sizes, nxt_use, n_obj, capacity, params, hits):  # type: ignore[no-untyped-def]
    """Size-aware Belady heuristic: evict the cached object with the largest ``size x distance to its next
    request`` (objects never requested again first), scanning all cached objects when there are at most
    ``params[0]`` of them and a seeded random sample of that many otherwise; objects never requested again,
    or whose own score would be the largest before enough room is made, are not admitted (and then nothing
    is evicted)."""
    n_sample = np.int64(params[0])
    seed = np.uint64(params[1]) | (np.uint64(params[2]) << np.uint64(32))  # low and high 32 bits
    state = seed * np.uint64(2654435761) + np.uint64(1)
    n = objs.shape[0]
    onext = np.zeros(n_obj, np.int64)
    osz = np.zeros(n_obj, np.int64)
    slot = np.full(n_obj, -1, np.int64)
    members = np.empty(n_obj, np.int64)
    vic = np.empty(n_obj, np.int64)  # the victims of one admission: a refused one puts them back
    m = 0
    used = 0
    max_used = 0
    for i in range(n):
        o = objs[i]
        s = sizes[i]
        nx = nxt_use[i]
        if slot[o] >= 0:
            hits[i] = 1
            onext[o] = nx
            continue
        if s > capacity or nx >= n:
            continue
        own = float(s) * float(nx - i)
        admit = True
        n_vic = 0
        freed = 0
        while used - freed + s > capacity:
            best = -1
            best_score = -1.0
            if m <= n_sample:
                for k in range(m):
                    c = members[k]
                    d = onext[c]
                    sc = np.inf if d >= n else float(osz[c]) * float(d - i)
                    if sc > best_score:
                        best_score = sc
                        best = c
            else:
                for _ in range(n_sample):
                    state ^= state << np.uint64(13)
                    state ^= state >> np.uint64(7)
                    state ^= state << np.uint64(17)
                    c = members[np.int64(state % np.uint64(m))]
                    d = onext[c]
                    sc = np.inf if d >= n else float(osz[c]) * float(d - i)
                    if sc > best_score:
                        best_score = sc
                        best = c
            if best_score <= own:
                admit = False
                break
            k = slot[best]
            last = members[m - 1]
            members[k] = last
            slot[last] = k
            slot[best] = -1
            m -= 1
            vic[n_vic] = best
            n_vic += 1
            freed += osz[best]
        if not admit:
            for k in range(n_vic):
                slot[vic[k]] = m
                members[m] = vic[k]
                m += 1
            continue
        used -= freed
        slot[o] = m
        members[m] = o
        m += 1
        onext[o] = nx
        osz[o] = s
        used += s
        if used > max_used:
            max_used = used
    return max_used


# ------------------------------------------------------------------------------------------- offline bound
# Not a policy kernel: the exact solution of the fractional byte-hit relaxation (see
# ``sim.offline_upper_bound``). A bottom-up segment tree over the gaps between requests holds the free
# capacity of each gap (range add, range min): ``t[x]`` is the minimum over node x's range including the adds
# pending at x, ``d[x]`` the add pending at inner node x for its whole range.
@njit(cache=True, nogil=True)
def _seg_apply(t, d, m, x, v):  # type: ignore[no-untyped-def]
    t[x] += v
    if x < m:
        d[x] += v


@njit(cache=True, nogil=True)
def _seg_build(t, d, x):  # type: ignore[no-untyped-def]
    while x > 1:
        x >>= 1
        t[x] = min(t[2 * x], t[2 * x + 1]) + d[x]


@njit(cache=True, nogil=True)
def _seg_push(t, d, m, h, x):  # type: ignore[no-untyped-def]
    for s in range(h, 0, -1):
        i = x >> s
        if d[i] != 0.0:
            _seg_apply(t, d, m, 2 * i, d[i])
            _seg_apply(t, d, m, 2 * i + 1, d[i])
            d[i] = 0.0


@njit(cache=True, nogil=True)
def interval_pack(src, dst, size, n, capacity):  # type: ignore[no-untyped-def]
    """Largest total ``y`` with ``0 <= y_k <= size_k`` and, for every gap ``g`` between requests ``g`` and
    ``g + 1``, the ``y_k`` of the intervals ``src_k <= g < dst_k`` adding up to at most ``capacity``.

    Greedy by right end, each interval taking all the capacity its gaps have left: optimal for interval
    packing with unit values (an exchange argument; the test checks it against an LP solver). O(k log n)."""
    n_gaps = max(n - 1, 1)
    m = 1
    h = 0
    while m < n_gaps:
        m *= 2
        h += 1
    t = np.full(2 * m, np.inf)
    d = np.zeros(2 * m)
    for g in range(n_gaps):
        t[m + g] = capacity
    for x in range(m - 1, 0, -1):
        t[x] = min(t[2 * x], t[2 * x + 1])
    order = np.argsort(dst, kind="mergesort")
    total = 0.0
    for k in order:
        lo = src[k] + m
        hi = dst[k] + m  # gaps src .. dst - 1, half-open
        _seg_push(t, d, m, h, lo)
        _seg_push(t, d, m, h, hi - 1)
        free = np.inf
        a, b = lo, hi
        while a < b:
            if a & 1:
                free = min(free, t[a])
                a += 1
            if b & 1:
                b -= 1
                free = min(free, t[b])
            a >>= 1
            b >>= 1
        v = min(float(size[k]), free)
        if v <= 0.0:
            continue
        total += v
        a, b = lo, hi
        while a < b:
            if a & 1:
                _seg_apply(t, d, m, a, -v)
                a += 1
            if b & 1:
                b -= 1
                _seg_apply(t, d, m, b, -v)
            a >>= 1
            b >>= 1
        _seg_build(t, d, lo)
        _seg_build(t, d, hi - 1)
    return total
