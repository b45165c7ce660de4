"""Pure, vectorised deduplication of prompt sets at a million rows, one concern a module:

- hashing: `normalise`, and stable hashes of the words of `normalise(text).split()`, computed once a
  batch with numpy and shared by every step below; each text gets a 128-bit hash.
- exact: ExactDeduper, first-seen wins on the normalised-text hash.
- near: NearDeduper, MinHash LSH on word shingles (minhash: signatures and band keys; index: the band
  index and its filters; shingle_sets: the Jaccard check of candidate pairs), earlier rows win.
- decontam: Decontaminator, word n-gram overlap with an evaluation set (open-r1 uses 8-grams).
- arrays: the growing and sorted arrays the steps keep their state in.

Every hash uses fixed constants, so every result is the same in every process and on every run, and no
Python code runs per word or per shingle.
"""
