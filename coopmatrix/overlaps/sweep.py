"""The full computation's inner loop, compiled (numba): every pair of a block whose periods meet,
scored as batch.score_arrays scores it, each activity's strongest kept as they come.

The pairs of a million activities number in the billions: in numpy each step of each pair is an
array written to memory and read back (some 6 million pairs a second); compiled, a pair costs a
few nanoseconds, and most leave after their cheap parts, before their text is read.

Each member of a block is compared with its partners in two passes. The first goes through them
all without a branch, so that the processor takes several at once (SIMD): an upper bound of each
pair's score from its group, its lowest common State and key, months, areas, instruments, modality
and States in common, the text taken as alike as the sizes of the two fingerprints allow (texts of
30 and 300 trigrams share 30 at most). A pair that cannot reach the threshold, nor the weakest kept
pair of either activity, leaves there (more than nine in ten). The pairs let through are then read
for their text, with the bound of the rest: 94 in 100 of them leave there. The second pass
scores the rest with the arithmetic of batch.score_arrays, operation for operation and in its
order (no fast-math: no reordering, no fused multiply-add), so a pair's figure is the very one the
check on save gives; the tests hold the two to it. The first pass only ever lets through more than
it must: its bound is the exact one's plus a margin far above any rounding, and a mask wider than
one word is taken as wholly in common there.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Where each pair's figures are read (weights, then threshold and bound): see `sweep`.
STATES, MONTHS, AREAS, INSTRUMENTS, MODALITY, TEXT, CUT, HOPE = range(8)
#: Added to the first pass's bound: far above the rounding of its sums, far below any weight.
MARGIN = 1e-9
#: Every bit set: a mask wider than one word, taken as wholly in common by the first pass.
ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@njit(cache=True, inline="always")
def _common(words: np.ndarray, a: int, b: int) -> int:
    count = 0
    for w in range(words.shape[1]):
        count += _popcount(words[a, w] & words[b, w])
    return count


@njit(cache=True, inline="always")
def _popcount(x: np.uint64) -> int:
    # The SWAR count (Hacker's Delight 5-2), which LLVM turns into the POPCNT instruction.
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True, inline="always")
def _below(bit: int, columns: int) -> tuple[int, np.uint64]:
    """The words wholly below `bit`, and the mask of the bits below it in the next word."""
    word = bit // 64
    if word >= columns:
        return columns, np.uint64(0)
    return word, (np.uint64(1) << np.uint64(bit % 64)) - np.uint64(1)


@njit(cache=True, inline="always")
def _any_below(words: np.ndarray, i: int, j: int, whole: int, low: np.uint64) -> bool:
    """Whether i and j have a bit in common below the block's (`_below`): the pair then belongs to
    an earlier block."""
    for w in range(whole):
        if words[i, w] & words[j, w]:
            return True
    return whole < words.shape[1] and (words[i, whole] & words[j, whole] & low) != 0


@njit(cache=True, inline="always")
def _keep(value: np.ndarray, partner: np.ndarray, row: int, other: int, v: float) -> None:
    """Put (v, other) among row's strongest: best first, ties to the lower partner."""
    last = value.shape[1] - 1
    if v < value[row, last] or (v == value[row, last] and other >= partner[row, last]):
        return
    at = last
    while at > 0 and (v > value[row, at - 1] or (v == value[row, at - 1] and other < partner[row, at - 1])):
        value[row, at] = value[row, at - 1]
        partner[row, at] = partner[row, at - 1]
        at -= 1
    value[row, at] = v
    partner[row, at] = other


@njit(cache=True)
def _gather(source: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    for i in range(len(rows)):
        out[i] = source[rows[i]]


@njit(cache=True)
def merge(value: np.ndarray, partner: np.ndarray, other_value: np.ndarray, other_partner: np.ndarray) -> None:
    """Put another worker's strongest among these (each pair is compared in one block only, so by
    one worker only: the two hold no pair twice)."""
    for row in range(value.shape[0]):
        for place in range(other_value.shape[1]):
            v = other_value[row, place]
            if v == -np.inf:
                break
            _keep(value, partner, row, other_partner[row, place], v)


@njit(cache=True)
def set_bits(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, bit) of every bit set in rows of 64-bit words, by row and bit: what numpy's
    unpackbits and nonzero give, without an array of a byte for every bit of every row."""
    total = 0
    for i in range(words.shape[0]):
        for w in range(words.shape[1]):
            total += _popcount(words[i, w])
    rows = np.empty(total, dtype=np.int64)
    bits = np.empty(total, dtype=np.int64)
    at = 0
    for i in range(words.shape[0]):
        for w in range(words.shape[1]):
            word = words[i, w]
            while word:
                low = word & (~word + np.uint64(1))  # the lowest bit set
                rows[at] = i
                bits[at] = w * 64 + _popcount(low - np.uint64(1))
                at += 1
                word ^= low
    return rows, bits


@njit(cache=True, nogil=True)
def reach(start: np.ndarray, end: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For each place of blocks starts[k]:ends[k] (`start` and `end` by place, each block sorted by
    start): how many members after it start by its end, its partners in the sweep."""
    count = np.zeros(len(start), np.int32)
    for k in range(len(starts)):
        last = ends[k]
        for p in range(starts[k], last):
            lo, hi, e = p + 1, last, end[p]
            while lo < hi:
                middle = (lo + hi) >> 1
                if start[middle] > e:
                    hi = middle
                else:
                    lo = middle + 1
            count[p] = lo - p - 1
    return count


# nogil: workers sweep their pieces in threads of one process, reading the same arrays.
# error_model="numpy": a division is not checked for zero (every one that could be is guarded), so
# that the first pass has no branch and is taken several pairs at once.
@njit(cache=True, nogil=True, error_model="numpy")
def sweep(
    rows: np.ndarray,
    partners: np.ndarray,
    seg_first: np.ndarray,
    seg_stop: np.ndarray,
    seg_end: np.ndarray,
    seg_block: np.ndarray,
    width: int,
    start_month: np.ndarray,
    end_month: np.ndarray,
    group: np.ndarray,
    modality: np.ndarray,
    states: np.ndarray,
    n_states: np.ndarray,
    areas: np.ndarray,
    n_areas: np.ndarray,
    dac: np.ndarray,
    instruments: np.ndarray,
    n_instruments: np.ndarray,
    text: np.ndarray,
    n_text: np.ndarray,
    key_words: np.ndarray,
    figures: np.ndarray,
    value: np.ndarray,
    partner: np.ndarray,
) -> int:
    """Segments of the blocks of `rows` (each block sorted by start): for each place p of
    seg_first[s]:seg_stop[s], in the block (seg_block[s]) that ends at seg_end[s], its pairs with
    the `partners[p]` members after it, whose periods meet its. Each pair is compared in the block
    of its lowest common State and key only, scored, and kept among the strongest of its two
    activities (`value`, `partner`) when it reaches the threshold. `figures` holds the six weights,
    the lowest unrounded score that rounds to the threshold (batch.cut) and the bound under which a
    pair cannot reach it. Returns the number of pairs whose periods meet.

    A segment's members and their partners are copied side by side first: the passes then read
    memory in order, not two places among a million rows."""
    ws, wm, wa, wi = figures[STATES], figures[MONTHS], figures[AREAS], figures[INSTRUMENTS]
    wmod, wt, cut, hope = figures[MODALITY], figures[TEXT], figures[CUT], figures[HOPE]
    size = 0
    for s in range(len(seg_first)):
        size = max(size, seg_end[s] - seg_first[s])
    n_words = states.shape[1]
    one_area = areas.shape[1] == 1 and dac.shape[1] == 1
    one_instrument = instruments.shape[1] == 1
    one_key = key_words.shape[1] == 1
    # The members as the second pass reads them (exact)...
    b_first, b_last = np.empty(size, np.int64), np.empty(size, np.int64)
    b_group, b_modality = np.empty(size, group.dtype), np.empty(size, modality.dtype)
    b_n_states, b_n_areas = np.empty(size, n_states.dtype), np.empty(size, n_areas.dtype)
    b_n_instruments = np.empty(size, n_instruments.dtype)
    b_states = np.empty((size, n_words), np.uint64)
    b_keys = np.empty((size, key_words.shape[1]), np.uint64)
    b_areas = np.empty((size, areas.shape[1]), np.uint64)
    b_dac = np.empty((size, dac.shape[1]), np.uint64)
    b_instruments = np.empty((size, instruments.shape[1]), np.uint64)
    b_text = np.empty((size, text.shape[1]), np.uint64)
    b_n_text = np.empty(size, n_text.dtype)
    b_floor = np.empty(size, np.float64)
    # ... and as the first pass does: one word a mask, a reciprocal for each division, the States
    # by word (a word of every member side by side).
    f_first, f_last = np.empty(size, np.int32), np.empty(size, np.int32)
    f_group, f_modality = np.empty(size, group.dtype), np.empty(size, modality.dtype)
    f_has_instruments = np.empty(size, np.int8)
    f_areas, f_dac = np.empty(size, np.uint64), np.empty(size, np.uint64)
    f_instruments, f_key = np.empty(size, np.uint64), np.empty(size, np.uint64)
    f_per_month, f_per_area = np.empty(size, np.float64), np.empty(size, np.float64)
    f_per_instrument, f_per_state = np.empty(size, np.float64), np.empty(size, np.float64)
    f_n_text = np.empty(size, np.float64)  # the fingerprint's trigrams, counted
    f_states = np.empty((n_words, size), np.uint64)
    # What the first pass finds for one member's partners.
    in_common, below = np.empty(size, np.int32), np.empty(size, np.uint64)
    # Each pair's bound without its text, and its bar: the pairs let through are then read for
    # their text alone first.
    before_text, bars = np.empty(size, np.float64), np.empty(size, np.float64)
    through = np.zeros((size + 15) // 8 * 8, np.uint8)
    through_words = through.view(np.uint64)
    # Unsigned: an index the compiler knows is not negative is read as it is (numba adds the
    # length to a negative index, a test and a choice at each read).
    chosen = np.empty(size, np.uint32)
    last_place = value.shape[1] - 1
    compared = 0
    for s in range(len(seg_first)):
        first, outer, m = seg_first[s], seg_stop[s] - seg_first[s], seg_end[s] - seg_first[s]
        state_whole, state_low = _below(seg_block[s] // width, n_words)
        key_whole, key_low = _below(seg_block[s] % width, key_words.shape[1])
        members = rows[first : first + m]
        _gather(start_month, members, b_first)
        _gather(end_month, members, b_last)
        _gather(group, members, b_group)
        _gather(modality, members, b_modality)
        _gather(n_states, members, b_n_states)
        _gather(n_areas, members, b_n_areas)
        _gather(n_instruments, members, b_n_instruments)
        _gather(states, members, b_states)
        _gather(key_words, members, b_keys)
        _gather(areas, members, b_areas)
        _gather(dac, members, b_dac)
        _gather(instruments, members, b_instruments)
        _gather(text, members, b_text)
        _gather(n_text, members, b_n_text)
        for i in range(m):
            # Each member's weakest kept value: a pair below both its members' cannot enter. Read
            # at the segment's start and raised as pairs enter (values only rise: an older one is
            # safe).
            b_floor[i] = value[members[i], last_place]
            f_first[i], f_last[i] = b_first[i], b_last[i]
            f_per_month[i] = 1.0 / (b_last[i] - b_first[i] + 1)
            f_group[i], f_modality[i] = b_group[i], b_modality[i]
            f_has_instruments[i] = 1 if b_n_instruments[i] > 0 else 0
            if one_area:
                f_areas[i], f_dac[i] = b_areas[i, 0], b_dac[i, 0]
                f_per_area[i] = 1.0 / b_n_areas[i] if b_n_areas[i] > 0 else 0.0
            else:
                f_areas[i], f_dac[i], f_per_area[i] = ALL, np.uint64(0), 1.0
            if one_instrument:
                f_instruments[i] = b_instruments[i, 0]
                f_per_instrument[i] = 1.0 / b_n_instruments[i] if b_n_instruments[i] > 0 else 0.0
            else:
                f_instruments[i], f_per_instrument[i] = ALL, 1.0
            # A lower common key is told by the first pass when the keys fit in one word, else by
            # the second.
            f_key[i] = b_keys[i, 0] & key_low if one_key and key_whole == 0 else np.uint64(0)
            f_per_state[i] = 1.0 / b_n_states[i] if b_n_states[i] > 0 else 0.0
            f_n_text[i] = b_n_text[i]
            for w in range(n_words):
                f_states[w, i] = b_states[i, w]
        for i in range(outer):
            n = partners[first + i]
            compared += n
            if n == 0:
                continue
            hi = i + 1 + n
            # The States in common, and any below the block's, a word at a time (a member's
            # words without a State are left out).
            begun = False
            for w in range(n_words):
                mine = b_states[i, w]
                if mine == 0:
                    continue
                low = mine if w < state_whole else (mine & state_low if w == state_whole else np.uint64(0))
                theirs = f_states[w, i + 1 : hi]
                if not begun:
                    for t in range(n):
                        in_common[t] = _popcount(theirs[t] & mine)
                        below[t] = theirs[t] & low
                    begun = True
                else:
                    for t in range(n):
                        in_common[t] += _popcount(theirs[t] & mine)
                        below[t] |= theirs[t] & low
            if not begun:
                for t in range(n):
                    in_common[t], below[t] = 0, np.uint64(0)
            # The first pass: the bound of each pair, without a branch.
            g, mod, lo, up, per_month = f_group[i], f_modality[i], f_first[i], f_last[i], f_per_month[i]
            my_areas, my_dac, my_key, per_area = f_areas[i], f_dac[i], f_key[i], f_per_area[i]
            my_instruments, per_instrument, per_state = f_instruments[i], f_per_instrument[i], f_per_state[i]
            has, floor = f_has_instruments[i], b_floor[i]
            # The partners as views read from 0: read from i + 1, the compiler could not tell the
            # index was not negative (numba adds the length to a negative one) and gathered each
            # value alone; from 0 it loads eight side by side.
            p_group, p_key = f_group[i + 1 : hi], f_key[i + 1 : hi]
            p_first, p_last, p_per_month = f_first[i + 1 : hi], f_last[i + 1 : hi], f_per_month[i + 1 : hi]
            p_areas, p_per_area, p_dac = f_areas[i + 1 : hi], f_per_area[i + 1 : hi], f_dac[i + 1 : hi]
            p_has, p_instruments = f_has_instruments[i + 1 : hi], f_instruments[i + 1 : hi]
            p_per_instrument, p_modality = f_per_instrument[i + 1 : hi], f_modality[i + 1 : hi]
            p_per_state, p_floor = f_per_state[i + 1 : hi], b_floor[i + 1 : hi]
            p_n_text, my_n_text = f_n_text[i + 1 : hi], f_n_text[i]
            for t in range(n):
                ok = (p_group[t] != g) & ((p_key[t] & my_key) == 0) & (below[t] == 0)
                overlap = min(up, p_last[t]) - max(lo, p_first[t]) + 1
                months = min(1.0, overlap * max(per_month, p_per_month[t]))
                share = _popcount(my_areas & p_areas[t]) * max(per_area, p_per_area[t])
                share = max(share, 0.5 * ((share == 0) & ((my_dac & p_dac[t]) != 0)))
                both = has & p_has[t]
                iw = wi * both
                instrument = _popcount(my_instruments & p_instruments[t]) * max(
                    per_instrument, p_per_instrument[t]
                )
                alike = 1.0 if (mod >= 0) & (mod == p_modality[t]) else 0.0
                total = ws + wm + wa + iw
                total = total + wmod + wt
                bound = in_common[t] * max(per_state, p_per_state[t]) * ws + months * wm + share * wa
                bound = bound + instrument * iw + alike * wmod + MARGIN
                bar = max(hope, min(floor, p_floor[t]) - 1e-6) * total
                before_text[t], bars[t] = bound, bar
                # The most alike two texts can be: all trigrams of the shorter in common (the
                # second pass's division over the same sum, so never below its figure). It halved
                # the pairs read for their text (61.8 → 33.0 million of 408 million).
                most = 2.0 * min(my_n_text, p_n_text[t]) / max(my_n_text + p_n_text[t], 1.0)
                through[t] = ok & (bound + most * wt >= bar)
            for t in range(n, (n + 7) // 8 * 8):
                through[t] = 0
            count = 0
            for w in range((n + 7) // 8):
                if through_words[w] != 0:
                    for t in range(w * 8, w * 8 + 8):
                        chosen[count] = i + 1 + t
                        count += through[t]
            # Their text next, as the second pass finds it: 94 in 100 of the pairs let through
            # leave here, before the second pass's branches.
            mine_text, my_text = b_n_text[i], b_text[i]
            kept = 0
            for c in range(count):
                j = chosen[c]
                similar = 0.0
                if mine_text > 0 and b_n_text[j] > 0:
                    their_text, common = b_text[j], 0
                    for w in range(my_text.shape[0]):
                        common += _popcount(my_text[w] & their_text[w])
                    similar = 2 * common / (mine_text + b_n_text[j])
                chosen[kept] = j
                kept += before_text[j - i - 1] + similar * wt >= bars[j - i - 1]
            count = kept
            # The second pass: the pairs left, scored exactly.
            for c in range(count):
                j = chosen[c]
                if _any_below(b_states, i, j, state_whole, state_low):
                    continue
                if _any_below(b_keys, i, j, key_whole, key_low):
                    continue
                overlap = min(b_last[i], b_last[j]) - max(b_first[i], b_first[j]) + 1
                shorter = min(b_last[i] - b_first[i], b_last[j] - b_first[j]) + 1
                months = min(1.0, overlap / shorter)
                smaller = min(b_n_areas[i], b_n_areas[j])
                share = _common(b_areas, i, j) / smaller if smaller > 0 else 0.0
                if share == 0 and _common(b_dac, i, j):
                    share = 0.5
                both_exact = b_n_instruments[i] > 0 and b_n_instruments[j] > 0
                iw = wi if both_exact else 0.0
                alike = 1.0 if b_modality[i] >= 0 and b_modality[i] == b_modality[j] else 0.0
                total = ws + wm + wa + iw
                total = total + wmod + wt
                if total == 0:
                    total = 1.0
                bar = max(hope, min(b_floor[i], b_floor[j]) - 1e-6) * total
                smaller = min(b_n_states[i], b_n_states[j])
                common = _common(b_states, i, j) / smaller if smaller > 0 else 0.0
                instrument = 0.0
                if both_exact:
                    smaller = min(b_n_instruments[i], b_n_instruments[j])
                    instrument = _common(b_instruments, i, j) / smaller if smaller > 0 else 0.0
                again = common * ws + months * wm + share * wa + instrument * iw + alike * wmod + wt
                if not again >= bar:
                    continue
                similar = 0.0
                if b_n_text[i] > 0 and b_n_text[j] > 0:
                    similar = 2 * _common(b_text, i, j) / (b_n_text[i] + b_n_text[j])
                points = (
                    common * ws + months * wm + share * wa + instrument * iw + alike * wmod + similar * wt
                )
                v = points / total
                if v >= cut:
                    a, b = members[i], members[j]
                    _keep(value, partner, a, b, v)
                    _keep(value, partner, b, a, v)
                    b_floor[i], b_floor[j] = value[a, last_place], value[b, last_place]
                    floor = b_floor[i]
    return compared
