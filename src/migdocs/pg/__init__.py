"""PostgreSQL: scratch servers, schema snapshots, the differ, and DDL capture for replay."""

from __future__ import annotations

from migdocs.pg.capture import CaptureUnavailable, install_capture, remove_capture, take_touched
from migdocs.pg.connect import ServerError
from migdocs.pg.diff import Change, Difference, describe_change, diff
from migdocs.pg.reader import read_snapshot
from migdocs.pg.server import ScratchServer
from migdocs.pg.snapshot import (
    CAPTURE_SCHEMA,
    AttrValue,
    ObjectId,
    ObjectState,
    Snapshot,
    Touched,
)
from migdocs.pg.urls import redact_url

__all__ = [
    "CAPTURE_SCHEMA",
    "AttrValue",
    "CaptureUnavailable",
    "Change",
    "Difference",
    "ObjectId",
    "ObjectState",
    "ScratchServer",
    "ServerError",
    "Snapshot",
    "Touched",
    "describe_change",
    "diff",
    "install_capture",
    "read_snapshot",
    "redact_url",
    "remove_capture",
    "take_touched",
]
