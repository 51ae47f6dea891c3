"""The declared seams between the Session and the layers below it
(``datamapper/instance/seam.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

import datamapper
from datamapper import Session
from datamapper.instance.seam import SessionLike
from datamapper.sharding import ShardedSession

PACKAGE = Path(datamapper.__file__).parent


def test_a_plain_session_has_no_sharding_extension_points_filled_in() -> None:
    s = Session()
    assert s._shard_token_for is None
    assert s._shard_split_action is None


def test_sharded_session_fills_in_both_extension_points() -> None:
    assert callable(ShardedSession._shard_token_for)
    assert callable(ShardedSession._shard_split_action)


def test_every_member_of_the_seam_exists_on_session() -> None:
    members = [n for n in vars(SessionLike) if not n.startswith("__") and n != "_is_protocol"
               and not n.startswith("_abc")]
    s = Session()
    missing = [n for n in members if not hasattr(s, n)]
    assert len(members) > 20
    assert missing == []


def test_no_lower_layer_probes_a_session_with_getattr() -> None:
    """Extension points are declared members, not getattr(session, "_dm_...") probes."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "getattr" \
                    and len(node.args) >= 2 and "session" in ast.unparse(node.args[0]) \
                    and isinstance(node.args[1], ast.Constant) \
                    and str(node.args[1].value).startswith("_dm_"):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []
