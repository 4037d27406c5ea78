"""The tamper-evident record: canonical entries, the RFC 9162 Merkle tree, signed
checkpoints and signed decisions."""
