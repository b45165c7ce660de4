"""Stable hashes of the words of prompts, computed once per batch with numpy and shared by every
dedup step: word_hashes (64 bits a word), select (some texts' words), text_hash_pairs / text_hashes (128
bits a text: equal for texts equal after `normalise`) and gram_hashes (64 bits a k-word window).

Every hash uses fixed constants, so every result is the same in every process and on every run
(Python's salted `hash()` is never part of a result), and no Python code runs per word. The hex text
hashes are stored as prompts.text_hash: changing any constant or step here changes stored data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.prompts.dedup.arrays import ranges

U64 = np.uint64
M1, _M2 = U64(0xBF58476D1CE4E5B9), U64(0x94D049BB133111EB)
GOLD = U64(0x9E3779B97F4A7C15)
_P = U64(0x100000001B3)  # polynomial bases for word sequences: odd, so invertible modulo 2**64
_P_INV = U64(pow(0x100000001B3, -1, 2**64))
_Q = U64(0x9E3779B97F4A7C15 | 1)
_Q_INV = U64(pow(0x9E3779B97F4A7C15 | 1, -1, 2**64))
_MASK = np.array([(1 << (8 * i)) - 1 for i in range(8)] + [2**64 - 1], dtype=U64)  # the low i bytes
_WHITESPACE = np.zeros(33, dtype=bool)  # the ASCII bytes str.split() splits on
_WHITESPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
CHUNK = 1024  # texts hashed together: numpy's temporaries stay small and in cache

Words = tuple[np.ndarray, np.ndarray]  # (hash of every word, back to back; word count of each text)


def normalise(text: str) -> str:
    """The case- and whitespace-insensitive form prompts are compared in: word_hashes hashes the words
    of `normalise(text).split()`, so two texts with the same normal form get the same text hash."""
    return " ".join(text.lower().split())


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place: every input bit reaches every output bit (uint64 -> uint64)."""
    with np.errstate(over="ignore"):
        t = x >> U64(30)
        x ^= t
        x *= M1
        np.right_shift(x, U64(27), out=t)
        x ^= t
        x *= _M2
        np.right_shift(x, U64(31), out=t)
        x ^= t
    return x


_POWERS: dict[int, np.ndarray] = {}


def _powers(base: np.uint64, n: int) -> np.ndarray:
    """base**0 .. base**(n-1) modulo 2**64, cached and grown by doubling."""
    have = _POWERS.get(int(base))
    if have is None or have.size < n:
        size = max(n, 2 * (have.size if have is not None else 1 << 15))
        out = np.full(size, base, dtype=U64)
        out[0] = 1
        with np.errstate(over="ignore"):
            have = _POWERS[int(base)] = np.cumprod(out, dtype=U64)
    return have[:n]


def _window_sums(words: np.ndarray, pos: np.ndarray, size: np.ndarray, base, base_inv) -> np.ndarray:
    """sum(words[p + j] * base**j for j < s) for every (p, s), from one prefix sum (mod 2**64)."""
    n = words.size
    with np.errstate(over="ignore"):
        prefix = np.zeros(n + 1, dtype=U64)
        np.cumsum(words * _powers(base, n), out=prefix[1:])
        out = prefix[pos + size]
        out -= prefix[pos]
        out *= _powers(base_inv, n + 1)[pos]
    return out


def word_hashes(texts: Sequence[str]) -> Words:
    """Stable 64-bit hashes of the words of `normalise(text).split()` of each text, and its word count.

    ASCII texts are lower-cased and split on ASCII whitespace straight from their bytes; other texts go
    through `normalise` first, so Unicode whitespace splits exactly as str.split() does.
    """
    parts = [chunk_word_hashes(texts[i : i + CHUNK]) for i in range(0, len(texts), CHUNK)]
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return np.empty(0, U64), np.empty(0, np.int64)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


_SWAR_A = U64(0x3F3F3F3F3F3F3F3F)  # + an ASCII byte: its top bit is set iff the byte >= "A"
_SWAR_Z = U64(0x2525252525252525)  # + an ASCII byte: its top bit is set iff the byte > "Z"
_SWAR_TOP = U64(0x8080808080808080)
_PAD = " " * 24  # after the last text: room to read 8 bytes past any word


def chunk_word_hashes(texts: Sequence[str]) -> Words:
    """word_hashes of texts taken together, for callers that cut their batches into chunks themselves."""
    nbytes = np.fromiter(map(len, texts), np.int64, len(texts))
    joined = " ".join(["", *texts, _PAD])  # a separator on both sides of every text
    if joined.isascii():  # lower-case A-Z 8 bytes at a time (bytes below 0x80 never carry)
        size = len(joined)  # ASCII: as many bytes as characters
        x = np.frombuffer(joined.encode("ascii"), U64, count=size // 8)
        with np.errstate(over="ignore"):
            buf = x + _SWAR_A
            upper = x + _SWAR_Z
            buf ^= upper
            buf &= _SWAR_TOP
            buf >>= U64(2)
            buf |= x
    else:  # Unicode whitespace and case: let str.lower().split() do them; then bytes, not chars
        texts = list(texts)
        for i, t in enumerate(texts):
            if not t.isascii():
                texts[i] = normalise(t)
                nbytes[i] = len(texts[i].encode("utf-8", "surrogatepass"))
        # normalised texts are already lower case (str.lower is idempotent), and bytes.lower() lowers
        # only A-Z: the same bytes as str.lower() of the whole string, then encoded
        encoded = " ".join(["", *texts, _PAD]).encode("utf-8", "surrogatepass").lower()
        size = len(encoded)
        buf = np.frombuffer(encoded, U64, count=size // 8)
    raw = buf.view(np.uint8)[: size - len(_PAD)]
    sep = raw <= 32
    low = np.flatnonzero(raw < 32)
    if low.size:  # control characters other than whitespace belong to words, as in str.split()
        sep[low[~_WHITESPACE[raw[low]]]] = False
    pairs = np.flatnonzero(sep[1:] != sep[:-1]).reshape(-1, 2)  # byte e + 1 starts or ends a word
    at = pairs[:, 0].copy()  # each word starts at byte at + 1; contiguous: faster to index with
    lengths = pairs[:, 1] - at
    # the 8 bytes (little-endian) from every byte offset + 1 of buf, unaligned
    load = np.ndarray((buf.nbytes - 8,), dtype="<u8", buffer=buf, offset=1, strides=(1,))
    h = load.take(at)  # a word of up to 8 bytes is its bytes, zero-padded
    h &= _MASK.take(np.minimum(lengths, 8))
    long = np.flatnonzero(lengths > 8)
    k = 1
    with np.errstate(over="ignore"):
        while long.size > _FEW_LONG:  # a pass per 8 bytes of the longest word, over every long word
            rest = lengths[long] - 8 * k
            w = load[at[long] + 8 * k]  # fancy indexing: take() would copy all of load, every pass
            w &= _MASK.take(np.minimum(rest, 8))
            w += mix(h[long] + U64(k))
            h[long] = w
            long = long[rest > 8]
            k += 1
        for i in long.tolist():  # a few very long words (a base64 blob): a numpy pass each costs more
            h[i] = _chain(raw, int(at[i]) + 1, int(lengths[i]), int(h[i]), k)
        h += GOLD
    doc_at = np.cumsum(nbytes + 1)  # each text starts at byte doc_at + 1
    doc_at -= nbytes + 1
    counts = np.diff(np.searchsorted(at, doc_at), append=at.size)
    return mix(h), counts


_FEW_LONG = 4  # from this few words longer than 8 bytes left, finish each one in plain Python
_B64 = (1 << 64) - 1


def _mix_int(x: int) -> int:
    """mix() of one value as a Python int (the same bits)."""
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _B64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _B64
    return x ^ (x >> 31)


def _chain(raw: np.ndarray, start: int, length: int, h: int, k: int) -> int:
    """The word loop of chunk_word_hashes for one word from 8-byte pass k on, in linear time: the same
    bits as the numpy passes (the word's bytes from `start`, its hash so far `h`)."""
    data = raw[start + 8 * k : start + length].tobytes()
    for off in range(0, len(data), 8):
        w = int.from_bytes(data[off : off + 8], "little")
        h = (w + _mix_int((h + k) & _B64)) & _B64
        k += 1
    return h


def select(words: Words, rows: np.ndarray | slice) -> Words:
    """The word hashes of some texts of a batch: `rows` is a boolean mask, an index array or a slice."""
    h, counts = words
    if isinstance(rows, slice):
        lo, hi, step = rows.indices(counts.size)
        if step == 1:
            offsets = np.concatenate([[0], np.cumsum(counts)])
            return h[offsets[lo] : offsets[max(lo, hi)]], counts[rows]
        rows = np.arange(lo, hi, step)
    rows = np.asarray(rows)
    if rows.dtype == bool:
        return h[np.repeat(rows, counts)], counts[rows]
    return h[ranges((np.cumsum(counts) - counts)[rows], counts[rows])], counts[rows]


def text_hash_pairs(words: Words) -> np.ndarray:
    """A 128-bit hash of each text's word sequence, as an (n, 2) uint64 array: texts get the same hash
    when their normalised forms are equal (and otherwise only by a 2**-64-likely collision of word
    hashes)."""
    h, counts = words
    starts = np.cumsum(counts) - counts
    out = np.empty((counts.size, 2), dtype=U64)
    for col, (base, inv, salt) in enumerate(
        ((_P, _P_INV, 0x243F6A8885A308D3), (_Q, _Q_INV, 0x13198A2E03707344))
    ):
        s = _window_sums(h, starts, counts, base, inv)
        with np.errstate(over="ignore"):
            s ^= counts.astype(U64) * U64(salt)
        out[:, col] = mix(s)
    return out


def hex_hashes(pairs: np.ndarray) -> list[str]:
    """The text hashes of text_hash_pairs as 32 hex digits each (what prompts.text_hash stores)."""
    hexed = pairs.astype(">u8").tobytes().hex()
    return [hexed[i : i + 32] for i in range(0, len(hexed), 32)]


def text_hashes(words: Words) -> list[str]:
    """hex_hashes(text_hash_pairs(words))."""
    return hex_hashes(text_hash_pairs(words))


def gram_hashes(words: np.ndarray, counts: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable 64-bit hashes of every k-word window of each text, text after text, and how many each has.

    A text with fewer than k words (but at least one) has one gram: all its words.
    """
    n = words.size
    per_text = np.where(counts >= k, counts - k + 1, counts > 0).astype(np.int64)
    with np.errstate(over="ignore"):
        # every k-word window of the whole array by Horner's rule, sum(words[i + j] * _P**j) + k * GOLD
        # (the constant rides along from the start), then the windows that end inside their own text
        g = words[k - 1 :] + U64(k) * GOLD * _powers(_P_INV, k)[k - 1]
        for j in range(k - 2, -1, -1) if g.size else ():
            g *= _P
            g += words[j : n - k + 1 + j]
        inside = np.ones(g.size, dtype=bool)
        bad = (np.cumsum(counts)[:, None] - np.arange(1, k)).ravel()  # a text's last k - 1 words
        inside[bad[(bad >= 0) & (bad < g.size)]] = False  # (those of a shorter text fall on the last text's)
        g = g[inside]
        short = np.flatnonzero((counts < k) & (counts > 0))
        if short.size:  # one gram of all its words
            s = _window_sums(words, (np.cumsum(counts) - counts)[short], counts[short], _P, _P_INV)
            s += counts[short].astype(U64) * GOLD
            at = (np.cumsum(per_text) - 1)[short]
            rest = np.ones(int(per_text.sum()), dtype=bool)
            rest[at] = False
            out = np.empty(rest.size, U64)
            out[rest] = g
            out[at] = s
            g = out
    return mix(g), per_text
