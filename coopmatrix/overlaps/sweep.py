"""The full computation's inner loop, compiled (numba): every pair of a block whose periods meet,
scored as batch.score_arrays scores it, each activity's strongest kept as they come.

The pairs of a million activities number in the billions: in numpy each step of each pair is an
array written to memory and read back (some 6 million pairs a second); compiled, a pair costs a
few nanoseconds, and most leave after their cheap parts, before their States and text are read.

The arithmetic is batch.score_arrays', operation for operation and in its order (no fast-math: no
reordering, no fused multiply-add), so a pair's figure is the very one the check on save gives;
the tests hold the two to it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Where each pair's figures are read (weights, then threshold and bound): see `sweep`.
STATES, MONTHS, AREAS, INSTRUMENTS, MODALITY, TEXT, CUT, HOPE = range(8)


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


# nogil: workers sweep their blocks in threads of one process, reading the same arrays.
@njit(cache=True, nogil=True)
def sweep(
    rows: np.ndarray,
    block_of: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    width: int,
    start: np.ndarray,
    end: np.ndarray,
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
    """Blocks starts[k]:ends[k] of `rows` (each sorted by start): each pair whose periods meet,
    compared in the block of its lowest common State and key only, scored, and kept among the
    strongest of its two activities (`value`, `partner`) when it reaches the threshold. `figures`
    holds the six weights, the lowest unrounded score that rounds to the threshold (batch.cut) and
    the bound under which a pair cannot reach it. Returns the number of pairs whose periods meet.

    A block's members are copied side by side first: the inner loop then reads memory in order,
    not two places among a million rows. A pair leaves as soon as a bound shows it cannot reach
    the threshold, nor the weakest kept pair of either of its two activities."""
    ws, wm, wa, wi = figures[STATES], figures[MONTHS], figures[AREAS], figures[INSTRUMENTS]
    wmod, wt, cut, hope = figures[MODALITY], figures[TEXT], figures[CUT], figures[HOPE]
    size = 0
    for k in range(len(starts)):
        size = max(size, ends[k] - starts[k])
    b_start, b_end = np.empty(size, np.int64), np.empty(size, np.int64)
    b_first, b_last = np.empty(size, np.int64), np.empty(size, np.int64)
    b_group, b_modality = np.empty(size, group.dtype), np.empty(size, modality.dtype)
    b_n_states, b_n_areas = np.empty(size, n_states.dtype), np.empty(size, n_areas.dtype)
    b_n_instruments = np.empty(size, n_instruments.dtype)
    b_states = np.empty((size, states.shape[1]), np.uint64)
    b_keys = np.empty((size, key_words.shape[1]), np.uint64)
    b_areas = np.empty((size, areas.shape[1]), np.uint64)
    b_dac = np.empty((size, dac.shape[1]), np.uint64)
    b_instruments = np.empty((size, instruments.shape[1]), np.uint64)
    b_text = np.empty((size, text.shape[1]), np.uint64)
    b_n_text = np.empty(size, n_text.dtype)
    b_floor = np.empty(size, np.float64)
    last_place = value.shape[1] - 1
    compared = 0
    for k in range(len(starts)):
        first, last = starts[k], ends[k]
        state_whole, state_low = _below(block_of[first] // width, states.shape[1])
        key_whole, key_low = _below(block_of[first] % width, key_words.shape[1])
        members = rows[first:last]
        m = last - first
        _gather(start, members, b_start)
        _gather(end, members, b_end)
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
        # Each member's weakest kept value: a pair below both its members' cannot enter. Read at
        # the block's start and raised as pairs enter (values only rise: an older one is safe).
        for i in range(m):
            b_floor[i] = value[members[i], last_place]
        for i in range(m):
            for j in range(i + 1, m):
                if b_start[j] > b_end[i]:
                    break
                compared += 1
                if b_group[i] == b_group[j]:
                    continue
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
                both = b_n_instruments[i] > 0 and b_n_instruments[j] > 0
                iw = wi if both else 0.0
                alike = 1.0 if b_modality[i] >= 0 and b_modality[i] == b_modality[j] else 0.0
                total = ws + wm + wa + iw
                total = total + wmod + wt
                if total == 0:
                    total = 1.0
                best = (ws + months * wm + share * wa + iw) + alike * wmod + wt
                bar = max(hope, min(b_floor[i], b_floor[j]) - 1e-6) * total
                if not best >= bar:
                    continue
                smaller = min(b_n_states[i], b_n_states[j])
                in_common = _common(b_states, i, j) / smaller if smaller > 0 else 0.0
                instrument = 0.0
                if both:
                    smaller = min(b_n_instruments[i], b_n_instruments[j])
                    instrument = _common(b_instruments, i, j) / smaller if smaller > 0 else 0.0
                # Again with the States known, before the text (most of the work) is read.
                again = in_common * ws + months * wm + share * wa + instrument * iw + alike * wmod + wt
                if not again >= bar:
                    continue
                similar = 0.0
                if b_n_text[i] > 0 and b_n_text[j] > 0:
                    similar = 2 * _common(b_text, i, j) / (b_n_text[i] + b_n_text[j])
                points = (
                    in_common * ws + months * wm + share * wa + instrument * iw + alike * wmod + similar * wt
                )
                v = points / total
                if v >= cut:
                    a, b = members[i], members[j]
                    _keep(value, partner, a, b, v)
                    _keep(value, partner, b, a, v)
                    b_floor[i], b_floor[j] = value[a, last_place], value[b, last_place]
    return compared
