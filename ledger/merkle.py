"""A Merkle tree over the ledger, as RFC 9162 (Certificate Transparency v2) defines it.

Leaf i is event seq i+1; its data is the event's chain hash (32 bytes). Hashes:
    leaf:  SHA-256(0x00 || event hash)
    node:  SHA-256(0x01 || left || right)
    MTH(D[n]) of n leaves: for n > 1, with k the largest power of two below n,
           SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])); MTH of no leaf is SHA-256 of nothing.

The tree is stored as its perfect subtrees: node (level, index) covers leaves
[index * 2**level, (index + 1) * 2**level). Any subtree the proofs need is one stored node or a
fold of O(log n) of them, so inclusion and consistency proofs cost O(log n) hashes and reads.
Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from hashlib import sha256

Node = tuple[int, int]  # (level, index)
EMPTY_ROOT = sha256(b"").digest()


def leaf_hash(event_hash_hex: str) -> bytes:
    return sha256(b"\x00" + bytes.fromhex(event_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def _largest_power_below(n: int) -> int:
    """The largest power of two strictly below n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def fold(hashes: list[bytes]) -> bytes:
    """The root over consecutive perfect subtrees, largest first: fold from the right."""
    if not hashes:
        return EMPTY_ROOT
    root = hashes[-1]
    for left in reversed(hashes[:-1]):
        root = node_hash(left, root)
    return root


def subtree_plan(start: int, end: int) -> list[Node]:
    """Nodes needed for MTH(D[start:end]) of an RFC 9162 subtree: greedy largest-first."""
    nodes: list[Node] = []
    while start < end:
        size = end - start
        level = size.bit_length() - 1
        while start % (1 << level):
            level -= 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes make PATH(index, D[size]), leaf to root (RFC 9162 2.1.3.1)."""
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _largest_power_below(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return list(reversed(ranges))


def consistency_ranges(old: int, size: int) -> list[tuple[int, int]]:
    """The subtrees whose hashes make PROOF(old, D[size]) (RFC 9162 2.1.4.1)."""
    ranges: list[tuple[int, int]] = []
    start, end, whole = 0, size, True
    m = old
    while True:
        n = end - start
        if m == n:
            if not whole:
                ranges.append((start, end))
            break
        k = _largest_power_below(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            whole = False
    return list(reversed(ranges))


def hashes_of(ranges: list[tuple[int, int]], nodes: Mapping[Node, bytes]) -> list[bytes]:
    return [fold([nodes[node] for node in subtree_plan(a, b)]) for a, b in ranges]


def nodes_for(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    needed: set[Node] = set()
    for a, b in ranges:
        needed.update(subtree_plan(a, b))
    return needed


def root_nodes(size: int) -> list[Node]:
    return subtree_plan(0, size)


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: does `path` prove leaf `index` in the tree of `size` with `root`?"""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, size: int, old_root: bytes, root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: is the tree of `size` with `root` an append-only extension of the tree
    of `old` with `old_root`?"""
    if old > size:
        return False
    if old == size:
        return not proof and old_root == root
    if old == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old - 1, size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == root


@dataclass
class Frontier:
    """The right edge of a tree: its perfect subtrees, largest first, as (level, hash).
    Appending a leaf merges equal levels like carries in binary addition and yields the new
    stored nodes."""

    size: int = 0
    edge: list[tuple[int, bytes]] = field(default_factory=list)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add leaf number `size`; the (level, index, hash) nodes this completes, to store."""
        index = self.size
        level, current = 0, leaf
        made = [(0, index, leaf)]
        while self.edge and self.edge[-1][0] == level:
            _, left = self.edge.pop()
            level += 1
            current = node_hash(left, current)
            made.append((level, ((index + 1) >> level) - 1, current))
        self.edge.append((level, current))
        self.size += 1
        return made

    def root(self) -> bytes:
        return fold([h for _, h in self.edge])


def frontier_of(size: int, node_at: Callable[[list[Node]], Mapping[Node, bytes]]) -> Frontier:
    """The frontier of a stored tree of `size` leaves."""
    nodes = root_nodes(size)
    found = node_at(nodes)
    return Frontier(size, [(level, found[(level, index)]) for level, index in nodes])
