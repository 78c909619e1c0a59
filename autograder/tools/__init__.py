"""Instructors' and maintainers' tools."""
