"""Adapters: files, databases and keys, translated to and from the domain."""
