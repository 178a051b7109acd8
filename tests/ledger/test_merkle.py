"""The stored-node Merkle tree against RFC 9162's own recursive definitions."""

from hashlib import sha256

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle


def leaves(n):
    return [merkle.leaf_hash(sha256(str(i).encode()).hexdigest()) for i in range(n)]


def mth(d):
    """RFC 9162 2.1.1, literally."""
    if not d:
        return merkle.EMPTY_ROOT
    if len(d) == 1:
        return d[0]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return merkle.node_hash(mth(d[:k]), mth(d[k:]))


def path(m, d):
    """RFC 9162 2.1.3.1, literally."""
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, whole):
    """RFC 9162 2.1.4.1, literally."""
    if m == len(d):
        return [] if whole else [mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m <= k:
        return subproof(m, d[:k], whole) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def stored(d):
    """Grow a frontier leaf by leaf, keeping every node it makes, as the ledger does."""
    frontier, nodes = merkle.Frontier(), {}
    for leaf in d:
        for level, index, value in frontier.append(leaf):
            nodes[(level, index)] = value
    return frontier, nodes


def test_every_small_tree_matches_the_rfc():
    d = leaves(70)
    frontier, nodes = stored(d)
    for n in range(1, 71):
        assert merkle.fold([nodes[x] for x in merkle.root_nodes(n)]) == mth(d[:n])
        for m in range(n):
            proof = merkle.hashes_of(merkle.inclusion_ranges(m, n), nodes)
            assert proof == path(m, d[:n])
            assert merkle.verify_inclusion(d[m], m, n, proof, mth(d[:n]))
        for m in range(1, n + 1):
            proof = merkle.hashes_of(merkle.consistency_ranges(m, n), nodes)
            assert proof == subproof(m, d[:n], True)
            assert merkle.verify_consistency(m, n, mth(d[:m]), mth(d[:n]), proof)
    assert (frontier.size, frontier.root()) == (70, mth(d))


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 300), st.data())
def test_altered_proofs_and_roots_are_refused(n, data):
    d = leaves(n)
    _, nodes = stored(d)
    m = data.draw(st.integers(0, n - 1))
    proof = merkle.hashes_of(merkle.inclusion_ranges(m, n), nodes)
    root = mth(d)
    flip = data.draw(st.integers(0, len(proof) - 1)) if proof else None
    if flip is not None:
        bad = list(proof)
        bad[flip] = sha256(bad[flip]).digest()
        assert not merkle.verify_inclusion(d[m], m, n, bad, root)
    assert not merkle.verify_inclusion(d[m], (m + 1) % n, n, proof, root) or n == 1
    assert not merkle.verify_inclusion(sha256(d[m]).digest(), m, n, proof, root)
    old = data.draw(st.integers(1, n - 1))
    consistency = merkle.hashes_of(merkle.consistency_ranges(old, n), nodes)
    assert merkle.verify_consistency(old, n, mth(d[:old]), root, consistency)
    forked = list(d)
    forked[data.draw(st.integers(0, old - 1))] = sha256(b"rewritten").digest()
    assert not merkle.verify_consistency(old, n, mth(forked[:old]), root, consistency)
    assert not merkle.verify_consistency(old, n, mth(d[:old]), mth(forked), consistency)
    assert not merkle.verify_consistency(old, n, mth(d[:old]), root, [])
