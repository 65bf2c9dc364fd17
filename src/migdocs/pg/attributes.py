"""The attributes of a snapshot's objects that reading and comparing treat apart."""

from __future__ import annotations

#: Attributes whose values are sets: read in a stable order whatever the server's
#: collation, and a change is told as what went in and out.
SET_ATTRIBUTES = frozenset(
    {"grants", "revoked", "options", "server options", "settings", "roles", "constraints"}
)
#: Attributes that are read but not compared: a column's position changes whenever a column
#: before it is dropped and re-added, which no rollback can undo short of rebuilding the
#: table — a difference nobody can fix is noise.
NOT_COMPARED = frozenset({"position"})
