"""Differential tests: one generated program, run on SQLAlchemy's ORM and on datamapper.

Hypothesis generates a list of session operations over a small schema
(a natural-primary-key ``parent`` with a one-to-many ``children`` (delete-orphan,
backref ``parent``) and a one-to-one ``profile`` (uselist=False, delete-orphan,
backref ``parent``), a many-to-one ``child.tag`` without backref, a versioned
``vrow``, a many-to-many ``parent.tags`` / ``tag.parents`` and a self-referential
``node`` tree).  Besides the session's own operations, a program may run ORM
bulk UPDATEs (``session.execute(update(Model).where(...).values(...))`` with each
``synchronize_session``) and may switch ``expire_on_commit`` off.  The same plain classes
are defined twice: one set mapped by ``sqlalchemy.orm``, the other by
datamapper, each on its own tables (prefix ``sa_`` / ``dm_``; on SQLite the two
sets also live in two database files, because two writers can't share one).

After every operation the two runs must agree on: the exception family raised
(or none), ``session.new`` / ``dirty`` / ``deleted`` (by the program's logical
handles), the lifecycle state of every object the program holds, and every
attribute loaded on both sides (read from ``__dict__``; nothing is loaded by the
comparison).  After every transaction end, and at the end of the program, the
committed rows of both table sets must be equal.

``DIFF_EXAMPLES`` sets the example count (a local soak); the default is a
derandomized pass small enough for CI.  ``DIFF_SEED`` (an integer) randomizes the
soak with that seed, so that a soak's failure can be replayed.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import orm as sa_orm

import _support
import datamapper
from datamapper import Session as DMSession

# --------------------------------------------------------------------------
# Differences that are not bugs: the generator avoids them, or the program
# runs them in a form both ORMs define the same way.  Keyed by name.
INTENDED: dict[str, str] = {
    "rollback_with_savepoint_open": (
        "API.md 'Where SQLAlchemy 2.x changed what the documents describe': "
        "Session.rollback() after begin_nested() rolls back only the SAVEPOINT in "
        "datamapper (the documents), the whole transaction in SQLAlchemy 2.x. The "
        "generator ends savepoints through their own transaction object "
        "(nested.rollback()/nested.commit()), and a program-level 'rollback' with "
        "savepoints open rolls back the innermost savepoint on both sides."
    ),
    "identity_conflict_before_sql": (
        "API.md: two objects with one identity in a flush raise FlushError in "
        "datamapper before any SQL; SQLAlchemy 2.x only warns and lets the INSERT "
        "fail with IntegrityError. The comparison takes (IntegrityError, FlushError "
        "naming the identity key) as the same family. When the two are new objects "
        "and an object with their key is marked for deletion, SQLAlchemy gives both "
        "the deleted object's row (a row switch each): the flush UPDATEs one row for "
        "two objects and both become persistent with one key (a warning), or, when "
        "that row is gone already (deleted again after a flush), fails with "
        "StaleDataError; any SQLAlchemy outcome is taken as agreement with "
        "datamapper's FlushError naming two new instances. As datamapper raises before "
        "any SQL, a flush that also sends a failing UPDATE may fail on that one first in "
        "SQLAlchemy (StaleDataError; see order_of_failing_statements): also agreement. "
        "A new node with the key of a persistent one in the same self-referential flush "
        "confuses SQLAlchemy's dependency graph (the two share one identity): it may "
        "raise CircularDependencyError, or FlushError ('Can't delete from table ... "
        "using NULL for primary key'): also agreement."
    ),
    "pending_rollback_on_empty_flush": (
        "datamapper raises PendingRollbackError earlier: flush() (also an autoflush) "
        "in a transaction that awaits rollback() raises even with nothing to flush, "
        "where SQLAlchemy returns. Both leave the session unchanged; the comparison "
        "takes (no error, PendingRollbackError) as agreement while the SQLAlchemy "
        "session's transaction is inactive."
    ),
    "dirty_is_optimistic": (
        "The documents call Session.dirty optimistic: an assignment may put an "
        "object there without a net change (SQLAlchemy does for `node.parent = None` "
        "over an unloaded None); datamapper reports fewer such objects. The "
        "comparison takes the members of `dirty` for which is_modified() is true."
    ),
    "refresh_without_autoflush": (
        "Session.refresh() does not autoflush in datamapper (the 0.9 document's "
        "refresh loads with populate_existing, which skips autoflush); SQLAlchemy "
        "2.x autoflushes first. The program refreshes inside no_autoflush on both."
    ),
    "change_through_deleted_object": (
        "datamapper raises earlier: a save-update cascade that reaches an object whose "
        "row a flush already deleted raises InvalidRequestError at once (e.g. appending "
        "to its collection); SQLAlchemy lets the change through and the flush fails "
        "later. The run stops there (the sessions part)."
    ),
    "backref_change_on_unloaded_reference": (
        "When a collection loses a member, datamapper also records the change on the "
        "member's many-to-one backref when that reference was not loaded (it finds the "
        "old value in the identity map), so the member shows a net change in `dirty`; "
        "SQLAlchemy only updates a loaded reference. Both flush the same rows. `dirty` "
        "is compared by net changes to column attributes."
    ),
    "delete_cascade_expunges_pending": (
        "Session.delete() of an object whose delete cascade reaches pending objects: "
        "datamapper expunges them (their parent row is going away); SQLAlchemy skips "
        "them, so they stay pending and the flush inserts rows pointing at the deleted "
        "parent (a foreign key violation on the servers). The generator does not "
        "delete an object whose loaded cascade holds a pending object, nor append a new "
        "object to the collection of an object marked for deletion or deleted (the "
        "flush follows the delete cascade again and datamapper expunges it; SQLAlchemy "
        "inserts it pointing at the deleted parent, or, when it has the deleted "
        "object's key, gives it that object's row, which may be gone: StaleDataError)."
    ),
    "merge_follows_reference_loaded_by_flush": (
        "SQLAlchemy's flush of deletes in a self-referential cycle (node) loads each "
        "deleted object's many-to-one `parent` (its per-object dependency steps read "
        "that history, loading it); merge() of such an object afterwards follows the "
        "loaded reference (merge cascade) and makes a new pending copy of the deleted "
        "parent too. datamapper's flush loads no reference, so its merge() copies only "
        "the loaded children. The same holds for a child whose DELETE a flush sent "
        "(SQLAlchemy has its `parent` loaded afterwards, so merge() makes a pending copy "
        "of the parent or puts the copy in the parent's collection; soaks of DIFF_SEED "
        "52 and 53; for a profile, DIFF_SEED=4). The generator does not merge() a node, child or profile marked for deletion "
        "or deleted (also when expunged since: DIFF_SEED=54), nor one that merge()'s own "
        "autoflush deletes (it flushes first)."
    ),
    "merge_checks_expired_version": (
        "merge() of a versioned object compares the copy's version with the session's "
        "object even when that object is expired (datamapper loads its version "
        "first) and raises StaleDataError on a mismatch; SQLAlchemy compares only "
        "loaded versions and merges an out-of-date copy over an expired object. The "
        "run stops there."
    ),
    "move_of_object_marked_for_deletion": (
        "A child marked for deletion by its parent's delete cascade (nothing flushed) "
        "is given a surviving parent: datamapper saves it with the new parent and "
        "takes the mark back, whether that parent's collection is loaded or not. "
        "SQLAlchemy does the same when the collection is loaded; when it is not, its "
        "flush writes the move (UPDATE) but leaves the child in session.deleted, and "
        "the next flush deletes the row. The run stops after such a move."
    ),
    "node_is_its_own_parent": (
        "A self-referential row pointing at itself: SQLAlchemy 2.x raises "
        "CircularDependencyError at flush, datamapper writes the row (one row needs no "
        "ordering). The same for a cycle of new or moved nodes (n5.parent = n6, "
        "n6.parent = n5): DESIGN.md 'Flush': 'a cycle through a nullable foreign key is "
        "broken automatically (insert with NULL, then UPDATE)'; SQLAlchemy raises "
        "CircularDependencyError. The generator does not make a node its own parent, nor "
        "the parent of a node on its chain of loaded `parent` references (DIFF_SEED=4)."
    ),
    "link_to_member_being_deleted": (
        "A many-to-many link added (not flushed) between a parent and a tag, and one "
        "of the two then marked for deletion: datamapper's flush writes no "
        "association row to a row it deletes (the graph state machine in "
        "tests/ pins this); SQLAlchemy inserts the row and the DELETE then fails "
        "on the foreign key (IntegrityError), or leaves a dangling row where foreign "
        "keys are not enforced. The generator does not delete an object with such a "
        "pending link, nor link an object marked for deletion."
    ),
    "fk_of_transient_after_failed_flush": (
        "A flush that fails part way leaves the pending objects transient with "
        "whatever foreign-key values it had copied into them before the failing "
        "statement (neither ORM puts them back); which INSERT comes first among "
        "unrelated tables is not specified, so SQLAlchemy may fail before it copies a "
        "key that datamapper copied. Both copy the key again from the relationship "
        "when the object is added and flushed. The comparison leaves out the "
        "foreign-key columns of transient objects."
    ),
    "reparent_of_flushed_deleted_object": (
        "A child or node whose row a flush deleted (its parent's delete cascade) is "
        "then given another parent or None: SQLAlchemy's backref sometimes removes it "
        "from the deleted parent's loaded collection and sometimes not (about one run "
        "in six on the same program: it depends on the order of its flush), "
        "datamapper never does. The generator does not reparent such an object."
    ),
    "reparent_of_committed_deleted_object": (
        "A child whose deletion was committed (detached, was_deleted) is given a "
        "persistent parent through the backref: at the next flush SQLAlchemy writes the "
        "parent's key into the detached object's foreign-key attribute in memory (no "
        "SQL, the object is in no session), datamapper warns that the object is not in "
        "the session and leaves it as it was. The generator does not reparent such an "
        "object (found by DIFF_SEED=12)."
    ),
    "cascade_backrefs": (
        "datamapper defaults to cascade_backrefs=True (the documents); SQLAlchemy 2.x "
        "only has the False behaviour. The datamapper models pass cascade_backrefs=False."
    ),
    "savepoint_rollback_restores_changed_objects": (
        "API.md 'Transactions': 'begin_nested() flushes, then emits SAVEPOINT; its "
        "rollback restores exactly the session state from before the savepoint.' "
        "datamapper puts the objects changed inside the savepoint back as they were "
        "(loaded attributes and collections kept); SQLAlchemy 2.x expires them, so a "
        "later access loads them again and may autoflush first. The run stops after a "
        "savepoint rollback that had changes to undo (SQLAlchemy's side: objects "
        "modified or flushed in the savepoint)."
    ),
    "delete_cascade_reaches_expunged_child": (
        "A parent deleted with a delete cascade, then one of its loaded children "
        "expunged or taken back with add(): at the flush datamapper applies the cascade "
        "to every child row of the parent (that child's row, and its children, are "
        "DELETEd); SQLAlchemy's cascade ran at delete() time and skips the child the "
        "program took out of it, so its DELETE of the parent fails on the child row's "
        "foreign key "
        "(IntegrityError). datamapper keeps the database consistent with the cascade "
        "the mapping declares; the run stops there."
    ),
    "rollback_reattaches_expunged_object": (
        "The 2.x session document: 'Expunge removes an object from the Session, sending "
        "persistent instances to the detached state'. An object whose DELETE a failed "
        "flush rolled back (it is persistent again) and that is then expunged stays "
        "detached through the rollback() in datamapper, as it does in SQLAlchemy when "
        "nothing else changed in the session; when something did (an object added), "
        "SQLAlchemy's rollback() restores its snapshot a second time and attaches the "
        "expunged object again (persistent), because its transaction still lists it as "
        "deleted in it. The run stops after such a rollback."
    ),
    "order_of_failing_statements": (
        "A flush with two statements that fail (an INSERT with a taken key: "
        "IntegrityError; an UPDATE of a versioned row changed behind the session's "
        "back: StaleDataError) on unrelated tables raises the first one it sends; the "
        "order of unrelated tables is not specified (SQLAlchemy's follows the order "
        "in which the flush met the objects' mappers, a set's). Both roll back; the "
        "comparison takes the two families as agreement there and the run stops."
    ),
    "orphan_deleted_by_autoflush_of_its_delete": (
        "SQLAlchemy fails its own assertion ('Failed to add object to the flush "
        "context!', an AssertionError) at the next flush after delete() of a persistent "
        "orphan whose delete cascade loads its collection (node: its `children`): that "
        "load's autoflush deletes the orphan's row, then delete() marks it for deletion "
        "without putting it back in the identity map, and the flush refuses an object "
        "it marked but does not hold. datamapper marks it deleted again as after any "
        "flushed DELETE (FIXED_PROGRAMS['delete_flush_delete']: the next flush sends "
        "the DELETE again). The run stops at SQLAlchemy's AssertionError, whatever "
        "datamapper's flush did (it may fail for a reason of its own, e.g. a new object "
        "with a taken key: IntegrityError), also when it comes from the flush the "
        "generator runs before merge(), which datamapper then skips as the merge() of a "
        "deleted node. expunge() of such an object: the "
        "session document says 'Expunge removes an object from the Session', and "
        "datamapper takes it out of session.deleted; SQLAlchemy, not holding it in its "
        "identity map, leaves it listed in session.deleted though detached; expire() or "
        "refresh() of it: SQLAlchemy refuses it as not persistent in the session, "
        "datamapper expires or refreshes it (it is deleted in the session, not "
        "detached). The run stops after such an expunge(), expire() or refresh()."
    ),
    "orphan_delete_cascades_to_its_children": (
        "A node orphaned (its parent set to None, or removed from its parent's children) "
        "whose own `children` collection is not loaded: at the flush datamapper deletes it "
        "as an object marked for deletion (the session document: delete-orphan 'marks the "
        "child for deletion' once de-associated), so its delete cascade reaches its "
        "children (loaded for that) and their rows go too; SQLAlchemy DELETEs the orphan's "
        "row alone and fails on the foreign key of its children's rows (IntegrityError). "
        "The run stops there (DIFF_SEED=54/55)."
    ),
    "displaced_profile_keeps_its_parent": (
        "A profile displaced from its parent's one-to-one `profile` (replaced by another, "
        "or set to None): datamapper always sets the displaced profile's many-to-one "
        "`parent` to None (the backref keeps both sides in step, as both ORMs do for a "
        "member removed from a one-to-many collection). SQLAlchemy does not when that "
        "reference is not loaded (its flush of the orphan's DELETE then loads the "
        "committed, stale, parent into it), nor when the replacement was made from the "
        "other side (`new.parent = p`: its backref sets p.profile but goes no further, "
        "to the displaced profile). Both flush the same rows (the displaced profile is "
        "an orphan). The comparison leaves out a profile's `parent` unless that parent's "
        "`profile` is loaded and is this profile. SQLAlchemy's only record of such a "
        "displacement is then the parent's own history of `profile`: expunge(), expire() "
        "or refresh() of the parent before the flush discards it and the displaced "
        "profile is kept (not deleted as an orphan); datamapper deletes it (the session "
        "document: delete-orphan marks the child for deletion once de-associated). The "
        "generator does not expunge, expire or refresh a parent whose `profile` changed "
        "since the last flush (DIFF_SEED=4). add() or merge() of a displaced profile "
        "that still refers to its old parent in SQLAlchemy saves it with that parent "
        "(merge() even makes the copy the parent's profile again), datamapper without "
        "one: the run stops there (DIFF_SEED=7). merge() of a profile deleted as such an "
        "orphan: see merge_follows_reference_loaded_by_flush."
    ),
    "deleted_objects_after_commit_without_expire": (
        "The 2.x session document ('Quickie Intro to Object States'): a deleted object "
        "'when the session's transaction is committed ... moves to the detached state'. "
        "datamapper detaches them at every commit; SQLAlchemy 2.1 does so only when "
        "expire_on_commit is on, and with expire_on_commit=False leaves them in the "
        "deleted state, still attached to the session. The run stops after such a "
        "commit (a program may switch expire_on_commit off)."
    ),
    "flush_does_not_load_expired_object": (
        "SQLAlchemy's flush of an UPDATE for an expired object (a many-to-one set after "
        "a rollback or commit expired it) loads the object's expired attributes first; "
        "datamapper takes the primary key from the identity key and loads nothing. A "
        "later assignment of an attribute's committed value is then no net change in "
        "SQLAlchemy and a change in datamapper (the documents' is_modified(): a value "
        "set over an unloaded one is assumed to be a change). Both flush the same rows. "
        "`dirty` is compared by column changes whose old value is known (DIFF_SEED=5)."
    ),
    "backref_into_unloaded_one_to_one": (
        "A transient profile that still refers to a parent (its pending INSERT rolled "
        "back, the parent expired) is given another parent or None: SQLAlchemy's "
        "backref writes None into the old parent's unloaded `profile` (over the "
        "profile its row has); datamapper leaves that reference to load from the "
        "database. The generator does not reparent a transient profile (DIFF_SEED=8)."
    ),
    "orphan_added_again": (
        "A pending child, node or profile taken from its delete-orphan parent leaves "
        "the session (both ORMs), and add() brings it back: both INSERT it at the next "
        "flush. SQLAlchemy remembers that it lost its parent and DELETEs it at a later "
        "flush that finds it changed (as an orphan); datamapper decides orphans by the "
        "de-associations each flush sees, so the saved object stays. The generator "
        "does not add() a transient object whose `parent` was set to None "
        "(DIFF_SEED=7)."
    ),
}

# Divergences that are datamapper bugs not fixed yet (name -> "bug: ...").
BUGS: dict[str, str] = {
    "get_of_object_marked_for_deletion": (
        "bug: Session.get() returns None for an object whose delete() is not flushed "
        "yet; SQLAlchemy returns it from the identity map. The run stops there."
    ),
    # Found by a soak (DIFF_EXAMPLES=300 DIFF_SEED=1), not yet handled by the
    # comparison; the derandomized CI pass does not reach them:
    "set_on_expired_after_unloaded_backref": (
        "unclassified: after commit, `child.parent = obj` (obj's collection unloaded) "
        "then `obj.value = <its committed value>` leaves obj with a net column change "
        "in datamapper, none in SQLAlchemy."
    ),
}


# ------------------------------------------------------------------- schema

KINDS = ("parent", "child", "vrow", "tag", "node", "profile")
PK = {"parent": "name", "child": "id", "vrow": "id", "tag": "id", "node": "id", "profile": "id"}
SCALAR = {"parent": "value", "child": "label", "vrow": "data", "tag": "label", "node": "label",
          "profile": "label"}
PK_POOL: dict[str, list[Any]] = {
    "parent": ["a", "b", "c", "d"],
    "child": [1, 2, 3, 4, 5, 6],
    "vrow": [1, 2, 3],
    "tag": [1, 2, 3],
    "node": [1, 2, 3, 4, 5, 6],
    "profile": [1, 2, 3],
}
# Committed before every program (the same rows on both sides).
SEED: dict[str, list[dict[str, Any]]] = {
    "parent": [{"name": "a", "value": "x"}, {"name": "b", "value": "y"}],
    "child": [
        {"id": 1, "parent_name": "a", "label": "x", "tag_id": 1},
        {"id": 2, "parent_name": "a", "label": "y", "tag_id": None},
        {"id": 3, "parent_name": "b", "label": "z", "tag_id": 2},
    ],
    "vrow": [{"id": 1, "data": "x", "version": 1}, {"id": 2, "data": "y", "version": 1}],
    "tag": [{"id": 1, "label": "x"}, {"id": 2, "label": "y"}],
    "parent_tag": [
        {"parent_name": "a", "tag_id": 1},
        {"parent_name": "b", "tag_id": 1},
        {"parent_name": "b", "tag_id": 2},
    ],
    "node": [
        {"id": 1, "parent_id": None, "label": "x"},
        {"id": 2, "parent_id": 1, "label": "y"},
        {"id": 3, "parent_id": 2, "label": "z"},
        {"id": 4, "parent_id": 1, "label": "x"},
    ],
    "profile": [{"id": 1, "parent_name": "a", "label": "x"}],
}
FOREIGN_KEYS = ("parent_name", "parent_id", "tag_id")
VALUES = ["x", "y", "z"]
RELATIONSHIPS = {
    "parent": ("children", "tags", "profile"),
    "child": ("parent", "tag"),
    "vrow": (),
    "tag": ("parents",),
    "node": ("children", "parent"),
    "profile": ("parent",),
}
COLUMNS = {
    "parent": ("name", "value"),
    "child": ("id", "parent_name", "label", "tag_id"),
    "vrow": ("id", "data", "version"),
    "tag": ("id", "label"),
    "node": ("id", "parent_id", "label"),
    "profile": ("id", "parent_name", "label"),
}


def build_tables(md: sa.MetaData, p: str) -> dict[str, sa.Table]:
    s = sa.String(20)
    t = {
        "parent": sa.Table(
            p + "parent", md, sa.Column("name", s, primary_key=True), sa.Column("value", s)
        ),
        "child": sa.Table(
            p + "child",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("parent_name", s, sa.ForeignKey(p + "parent.name")),
            sa.Column("label", s),
            sa.Column("tag_id", sa.Integer, sa.ForeignKey(p + "tag.id")),
        ),
        "vrow": sa.Table(
            p + "vrow",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("data", s),
            sa.Column("version", sa.Integer, nullable=False),
        ),
        "tag": sa.Table(
            p + "tag",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("label", s),
        ),
        "node": sa.Table(
            p + "node",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("parent_id", sa.Integer, sa.ForeignKey(p + "node.id")),
            sa.Column("label", s),
        ),
        # one-to-one with parent (no unique constraint: a replaced profile's DELETE
        # may come after the new one's INSERT)
        "profile": sa.Table(
            p + "profile",
            md,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("parent_name", s, sa.ForeignKey(p + "parent.name")),
            sa.Column("label", s),
        ),
    }
    t["parent_tag"] = sa.Table(
        p + "parent_tag",
        md,
        sa.Column("parent_name", s, sa.ForeignKey(p + "parent.name"), primary_key=True),
        sa.Column(
            "tag_id", sa.Integer, sa.ForeignKey(p + "tag.id"), primary_key=True, autoincrement=False
        ),
    )
    return t


class _Model:
    kind = ""

    def __init__(self, **kw: Any) -> None:
        for k, v in kw.items():
            setattr(self, k, v)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.__dict__.get(PK[self.kind], '?')!r} at {id(self):x}>"


def make_classes() -> dict[str, type]:
    """A fresh set of plain classes (one set per ORM)."""

    class Parent(_Model):
        kind = "parent"

    class Child(_Model):
        kind = "child"

    class VRow(_Model):
        kind = "vrow"

    class Tag(_Model):
        kind = "tag"

    class Node(_Model):
        kind = "node"

    class Profile(_Model):
        kind = "profile"

    return {"parent": Parent, "child": Child, "vrow": VRow, "tag": Tag, "node": Node,
            "profile": Profile}


def map_classes(orm: Any, reg: Any, cls: dict[str, type], t: dict[str, sa.Table], extra: dict[str, Any]) -> None:
    rel, backref = orm.relationship, orm.backref
    reg.map_imperatively(
        cls["parent"],
        t["parent"],
        properties={
            "children": rel(
                cls["child"],
                cascade="all, delete-orphan",
                backref=backref("parent", **extra),
                order_by=t["child"].c.id,
                **extra,
            ),
            "tags": rel(
                cls["tag"],
                secondary=t["parent_tag"],
                backref=backref("parents", order_by=t["parent"].c.name, **extra),
                order_by=t["tag"].c.id,
                **extra,
            ),
            # one-to-one (uselist=False) with a backref, delete-orphan
            "profile": rel(
                cls["profile"],
                uselist=False,
                cascade="all, delete-orphan",
                backref=backref("parent", **extra),
                order_by=t["profile"].c.id,
                **extra,
            ),
        },
    )
    # a many-to-one without backref
    reg.map_imperatively(cls["child"], t["child"], properties={"tag": rel(cls["tag"], **extra)})
    reg.map_imperatively(cls["vrow"], t["vrow"], version_id_col=t["vrow"].c.version)
    reg.map_imperatively(cls["tag"], t["tag"])
    reg.map_imperatively(cls["profile"], t["profile"])
    reg.map_imperatively(
        cls["node"],
        t["node"],
        properties={
            "children": rel(
                cls["node"],
                cascade="all, delete-orphan",
                backref=backref("parent", remote_side=[t["node"].c.id], **extra),
                order_by=t["node"].c.id,
                **extra,
            )
        },
    )


# ------------------------------------------------------------------ one side


@dataclass
class Side:
    """One ORM's half of a differential run."""

    name: str
    orm: Any  # module with relationship/backref/inspect
    engine: sa.Engine
    tables: dict[str, sa.Table]
    classes: dict[str, type]
    make_session: Callable[[], Any]
    attributes: Any  # the ORM's attributes module (get_history)
    session: Any = None
    handles: list[Any] = field(default_factory=list)
    index: dict[int, int] = field(default_factory=dict)
    nested: list[Any] = field(default_factory=list)
    # the op's target is a parent that let go of a profile since the last flush
    # (decided on datamapper's side for both: SQLAlchemy's get_history() may load)
    displaced: bool = False

    def reset(self) -> None:
        if self.session is not None:
            self.session.close()
        self.handles.clear()
        self.index.clear()
        self.nested.clear()
        t = self.tables
        with self.engine.begin() as conn:
            conn.execute(t["parent_tag"].delete())
            conn.execute(t["child"].delete())
            conn.execute(t["profile"].delete())
            conn.execute(t["node"].update().values(parent_id=None))
            for name in ("node", "vrow", "tag", "parent"):
                conn.execute(t[name].delete())
            for name in ("parent", "tag", "child", "vrow", "parent_tag", "node", "profile"):
                conn.execute(t[name].insert(), SEED[name])
        self.session = self.make_session()

    def hold(self, obj: Any) -> None:
        if obj is not None and id(obj) not in self.index:
            self.index[id(obj)] = len(self.handles)
            self.handles.append(obj)

    def label(self, obj: Any) -> Any:
        if obj is None:
            return None
        h = self.index.get(id(obj))
        if h is not None:
            return f"h{h}"
        kind = getattr(obj, "kind", type(obj).__name__)
        ident = self.orm.inspect(obj).identity
        pk = ident[0] if ident else obj.__dict__.get(PK.get(kind, ""), "?")
        return f"{kind}:{pk}"

    def state_name(self, obj: Any) -> str:
        st_ = self.orm.inspect(obj)
        for n in ("transient", "pending", "deleted", "persistent", "detached"):
            if getattr(st_, n):
                return n
        return "?"

    def columns_changed(self, obj: Any) -> bool:
        """A net change to a column attribute whose old value is known (a value set
        over an unloaded one counts as a change but can't be compared:
        INTENDED["flush_does_not_load_expired_object"])."""
        hist = self.attributes.get_history
        flag = self.attributes.PASSIVE_NO_INITIALIZE
        return any(hist(obj, k, flag).deleted for k in COLUMNS[obj.kind])

    def snapshot(self) -> dict[str, Any]:
        s = self.session
        out: dict[str, Any] = {
            "new": sorted(map(str, (self.label(o) for o in s.new))),
            # INTENDED["dirty_is_optimistic"], INTENDED["backref_change_on_unloaded_reference"],
            # INTENDED["flush_does_not_load_expired_object"]: objects with a net change
            # to a column attribute
            "dirty": sorted(
                str(self.label(o)) for o in s.dirty if self.columns_changed(o)
            ),
            "deleted": sorted(map(str, (self.label(o) for o in s.deleted))),
            "nested_depth": len(self.nested),
        }
        for i, obj in enumerate(self.handles):
            state = out[f"h{i}.state"] = self.state_name(obj)
            d = obj.__dict__
            for attr in COLUMNS[obj.kind] + RELATIONSHIPS[obj.kind]:
                if attr not in d:
                    continue
                if obj.kind == "profile" and attr == "parent" and d[attr] is not None and \
                        d[attr].__dict__.get("profile", None) is not obj:
                    continue  # INTENDED["displaced_profile_keeps_its_parent"]
                if state == "transient" and attr in FOREIGN_KEYS:
                    continue  # INTENDED["fk_of_transient_after_failed_flush"]
                v = d[attr]
                if attr in RELATIONSHIPS[obj.kind]:
                    if v is None or isinstance(v, _Model):
                        v = self.label(v)
                    else:
                        v = [self.label(o) for o in v]
                out[f"h{i}.{attr}"] = v
        return out

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        return {name: _support.read_rows(self.engine, table) for name, table in self.tables.items()}


MISSING = "<not loaded>"


def family(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    known = {
        "PendingRollbackError",
        "StaleDataError",
        "ObjectDeletedError",
        "DetachedInstanceError",
        "UnmappedInstanceError",
        "CircularDependencyError",
        "FlushError",
        "IntegrityError",
        "OperationalError",
        "InternalError",
        "ProgrammingError",
        "NoResultFound",
        "ResourceClosedError",
        "InvalidRequestError",
        "DBAPIError",
        "AssertionError",
    }
    for c in type(exc).__mro__:
        if c.__name__ in known:
            return c.__name__
    return type(exc).__name__


# -------------------------------------------------------------- the program

h_ = st.integers(0, 7)
pk_ = {k: st.sampled_from(v) for k, v in PK_POOL.items()}
kind_ = st.sampled_from(KINDS)
val_ = st.sampled_from(VALUES)


# foreign-key columns a bulk UPDATE may set, with their values (seeded rows' keys)
BULK_FK: dict[str, list[tuple[str, list[Any]]]] = {
    "child": [("parent_name", ["a", "b", None]), ("tag_id", [1, 2, None])],
    "profile": [("parent_name", ["a", "b", None])],
    "node": [("parent_id", [None])],
}
for _k in KINDS:
    BULK_FK.setdefault(_k, [])


def _kind_pk(name: str) -> st.SearchStrategy[tuple[Any, ...]]:
    return kind_.flatmap(lambda k: st.tuples(st.just(name), st.just(k), pk_[k]))


OPS = st.one_of(
    _kind_pk("new").flatmap(lambda t: st.tuples(*map(st.just, t), val_)),
    st.tuples(st.just("new_child"), pk_["child"], h_, st.sampled_from(["append", "backref"])),
    st.tuples(st.just("new_node"), pk_["node"], h_, st.sampled_from(["append", "backref"])),
    st.tuples(st.just("new_profile"), pk_["profile"], h_, st.sampled_from(["assign", "backref"])),
    st.tuples(st.just("unprofile"), h_),
    st.tuples(st.just("set_tag"), h_, h_, st.booleans()),
    kind_.flatmap(lambda k: st.tuples(
        st.just("bulk_update"), st.just(k),
        st.one_of(st.tuples(st.just("pk"), pk_[k]), st.tuples(st.just("scalar"), val_)),
        st.one_of(st.tuples(st.just(SCALAR[k]), val_),
                  *(st.tuples(st.just(c), st.sampled_from(v)) for c, v in BULK_FK[k])),
        st.sampled_from(["auto", "evaluate", "fetch", False]))),
    st.tuples(st.just("set"), h_, val_),
    st.tuples(st.just("reparent"), h_, h_, st.booleans()),
    st.tuples(st.just("remove_child"), h_, st.integers(0, 3)),
    st.tuples(st.just("tag"), h_, h_, st.sampled_from(["tags", "parents"])),
    st.tuples(st.just("untag"), h_, st.integers(0, 3)),
    st.tuples(st.just("delete"), h_),
    st.tuples(st.just("expunge"), h_),
    st.tuples(st.just("add"), h_),
    st.tuples(st.just("merge"), h_),
    _kind_pk("merge_copy").flatmap(lambda t: st.tuples(*map(st.just, t), val_)),
    st.tuples(st.just("expire"), h_, st.one_of(st.none(), st.integers(0, 5))),
    st.tuples(st.just("refresh"), h_),
    _kind_pk("get"),
    st.tuples(st.just("query"), kind_),
    _kind_pk("dup"),
    st.tuples(st.just("bump_version"), pk_["vrow"]),
    st.just(("flush",)),
    st.just(("commit",)),
    st.just(("rollback",)),
    st.just(("begin_nested",)),
    st.just(("release",)),
    st.just(("rollback_nested",)),
)
# A program: some kinds queried first (so that ops find objects to work on), then
# the generated ops.
PROGRAMS = st.tuples(
    st.integers(0, 3), st.lists(kind_, unique=True, max_size=4),
    st.lists(OPS, min_size=1, max_size=40),
).map(lambda t: [("no_expire_on_commit",)] * (t[0] == 0)
      + [("query", k) for k in t[1]] + t[2])


def _cascaded(obj: Any) -> list[Any]:
    """The loaded objects ``obj``'s delete cascade reaches in one step (its ``children``
    collection, its ``profile``)."""
    d = obj.__dict__
    out = list(d.get("children", None) or ())
    if d.get("profile") is not None and obj.kind == "parent":
        out.append(d["profile"])
    return out


def _cascade_reaches_pending(side: Any, obj: Any) -> bool:
    """Does the delete cascade (loaded ``children`` collections and ``profile``
    references) reach a pending object?"""
    stack, seen = [obj], set()
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        for c in _cascaded(o):
            if side.orm.inspect(c).pending:
                return True
            stack.append(c)
    return False


# many-to-many: kind -> (its collection, the other kind, the other kind's collection)
M2M = {"parent": ("tags", "tag", "parents"), "tag": ("parents", "parent", "tags")}


def _has_pending_link(side: Side, obj: Any) -> bool:
    """Has ``obj`` a many-to-many link added since the last flush (either side)?"""
    if obj.kind not in M2M:
        return False
    own, other_kind, other = M2M[obj.kind]
    hist, flag = side.attributes.get_history, side.attributes.PASSIVE_NO_INITIALIZE
    if hist(obj, own, flag).added:
        return True
    return any(
        any(x is obj for x in hist(o, other, flag).added)
        for o in side.handles
        if o.kind == other_kind
    )


def _loaded_ancestor(obj: Any, ancestor: Any) -> bool:
    """Is ``ancestor`` on ``obj``'s chain of loaded ``parent`` references?"""
    seen: set[int] = set()
    while obj is not None and id(obj) not in seen:
        seen.add(id(obj))
        obj = obj.__dict__.get("parent") if obj.kind == "node" else None
        if obj is ancestor:
            return True
    return False


def _profile_displaced(side: Side, obj: Any) -> bool:
    """Has ``obj`` (a parent) let go of a profile since the last flush?"""
    if obj.kind != "parent":
        return False
    hist = side.attributes.get_history(obj, "profile", side.attributes.PASSIVE_NO_INITIALIZE)
    return any(x is not None for x in hist.deleted)


def _pick(side: Side, h: int, kinds: tuple[str, ...] | None = None) -> Any:
    cands = [o for o in side.handles if kinds is None or o.kind in kinds]
    return cands[h % len(cands)] if cands else None


def _pick_or_get(side: Side, h: int, kind: str) -> Any:
    """A held object of ``kind`` (as ``_pick``), else one of the seeded rows loaded
    with get() (then held), so that the newer ops find something to work on."""
    got = _pick(side, h, (kind,))
    if got is None:
        keys = [r[PK[kind]] for r in SEED[kind]]
        key = keys[h % len(keys)]
        if any(o.kind == kind and side.orm.inspect(o).identity == (key,)
               for o in side.session.deleted):
            raise Skip  # BUGS["get_of_object_marked_for_deletion"]
        got = side.session.get(side.classes[kind], key)
        side.hold(got)
    if got is None:
        raise Skip
    return got


class Skip(Exception):
    """The op doesn't apply to this program state (decided alike on both sides)."""


def run_op(side: Side, op: tuple[Any, ...]) -> Any:
    """Run one op on one side; return a comparable result."""
    s, C, name = side.session, side.classes, op[0]
    if name == "new":
        _, kind, pk, val = op
        obj = C[kind](**{PK[kind]: pk, SCALAR[kind]: val})
        side.hold(obj)
        s.add(obj)
        return side.label(obj)
    if name in ("new_child", "new_node"):
        _, pk, h, via = op
        kind, parent_kind = ("child", "parent") if name == "new_child" else ("node", "node")
        parent = _pick(side, h, (parent_kind,))
        if parent is None:
            raise Skip
        if via == "append" and (parent in s.deleted or side.orm.inspect(parent).deleted):
            raise Skip  # INTENDED["delete_cascade_expunges_pending"]
        obj = C[kind](**{PK[kind]: pk, SCALAR[kind]: "new"})
        side.hold(obj)
        if via == "append":
            parent.children.append(obj)
        else:
            obj.parent = parent
        return side.label(obj)
    if name == "new_profile":
        _, pk, h, via = op
        parent = _pick_or_get(side, h, "parent")
        if via == "assign" and (parent in s.deleted or side.orm.inspect(parent).deleted):
            raise Skip  # INTENDED["delete_cascade_expunges_pending"]
        obj = C["profile"](id=pk, label="new")
        side.hold(obj)
        if via == "assign":
            parent.profile = obj  # the old profile (if any) becomes an orphan
        else:
            obj.parent = parent
        return side.label(obj)
    if name == "unprofile":
        parent = _pick_or_get(side, op[1], "parent")
        parent.profile = None
        return None
    if name == "set_tag":
        obj = _pick_or_get(side, op[1], "child")
        obj.tag = _pick_or_get(side, op[2], "tag") if op[3] else None
        tag = obj.tag
        return side.label(tag)
    if name == "bulk_update":
        _, kind, (how, key), (attr, val), sync = op
        cls = C[kind]
        col = getattr(cls, PK[kind] if how == "pk" else SCALAR[kind])
        res = s.execute(
            sa.update(cls).where(col == key).values({attr: val}),
            execution_options={"synchronize_session": sync},
        )
        return res.rowcount
    if name == "no_expire_on_commit":
        s.expire_on_commit = False
        return None
    if name == "set":
        obj = _pick(side, op[1])
        if obj is None:
            raise Skip
        setattr(obj, SCALAR[obj.kind], op[2])
        return None
    if name == "reparent":
        obj = _pick(side, op[1], ("child", "node", "profile"))
        if obj is None:
            raise Skip
        new = _pick(side, op[2], ("node",) if obj.kind == "node" else ("parent",)) if op[3] else None
        if new is obj or _loaded_ancestor(new, obj):
            raise Skip  # INTENDED["node_is_its_own_parent"]
        if side.orm.inspect(obj).deleted:
            raise Skip  # INTENDED["reparent_of_flushed_deleted_object"]
        if side.orm.inspect(obj).was_deleted:
            raise Skip  # INTENDED["reparent_of_committed_deleted_object"]
        if obj.kind == "profile" and side.orm.inspect(obj).transient:
            raise Skip  # INTENDED["backref_into_unloaded_one_to_one"]
        obj.parent = new
        return side.label(new)
    if name == "remove_child":
        obj = _pick(side, op[1], ("parent", "node"))
        if obj is None:
            raise Skip
        coll = obj.children
        if not coll:
            return "empty"
        victim = coll[op[2] % len(coll)]
        coll.remove(victim)
        return side.label(victim)
    if name == "tag":
        p, t = _pick(side, op[1], ("parent",)), _pick(side, op[2], ("tag",))
        if p is None or t is None:
            raise Skip
        if p in s.deleted or t in s.deleted:
            raise Skip  # INTENDED["link_to_member_being_deleted"]
        if op[3] == "tags":
            if t in p.tags:
                return "already"
            p.tags.append(t)
        else:
            if p in t.parents:
                return "already"
            t.parents.append(p)
        return None
    if name == "untag":
        p = _pick(side, op[1], ("parent",))
        if p is None:
            raise Skip
        if not p.tags:
            return "empty"
        victim = p.tags[op[2] % len(p.tags)]
        p.tags.remove(victim)
        return side.label(victim)
    if name == "refresh":
        obj = _pick(side, op[1])
        if obj is None or side.displaced:
            raise Skip  # INTENDED["displaced_profile_keeps_its_parent"]
        with s.no_autoflush:  # INTENDED["refresh_without_autoflush"]
            s.refresh(obj)
        return None
    if name == "delete":
        obj = _pick(side, op[1])
        if obj is None:
            raise Skip
        if _cascade_reaches_pending(side, obj):
            raise Skip  # INTENDED["delete_cascade_expunges_pending"]
        if _has_pending_link(side, obj):
            raise Skip  # INTENDED["link_to_member_being_deleted"]
        s.delete(obj)
        return None
    if name in ("expunge", "add"):
        obj = _pick(side, op[1])
        if obj is None:
            raise Skip
        if name == "expunge" and side.displaced:
            raise Skip  # INTENDED["displaced_profile_keeps_its_parent"]
        if name == "add" and side.orm.inspect(obj).transient and \
                "parent" in obj.__dict__ and obj.__dict__["parent"] is None:
            raise Skip  # INTENDED["orphan_added_again"]
        getattr(s, name)(obj)
        return None
    if name == "merge":
        obj = _pick(side, op[1])
        if obj is None:
            raise Skip
        if obj.kind in ("node", "child", "profile"):
            # INTENDED["merge_follows_reference_loaded_by_flush"]; merge() autoflushes
            # first, which may delete the node (an orphan's delete cascade): that
            # flush is run first, so that such a node is skipped too
            s.flush()
            st = side.orm.inspect(obj)
            if obj in s.deleted or st.deleted or st.was_deleted:
                raise Skip
        got = s.merge(obj)
        side.hold(got)
        return side.label(got)
    if name == "merge_copy":
        # A detached copy: loaded by a second session which is then closed.
        _, kind, pk, val = op
        other = side.make_session()
        try:
            copy = other.get(C[kind], pk)
        finally:
            other.close()
        if copy is None:
            copy = C[kind](**{PK[kind]: pk})
        setattr(copy, SCALAR[kind], val)
        got = s.merge(copy)
        side.hold(got)
        return side.label(got)
    if name == "expire":
        obj = _pick(side, op[1])
        if obj is None or side.displaced:
            raise Skip  # INTENDED["displaced_profile_keeps_its_parent"]
        names = COLUMNS[obj.kind][1:] + RELATIONSHIPS[obj.kind]
        attrs = None if op[2] is None else [names[op[2] % len(names)]]
        s.expire(obj, attrs)
        return None
    if name == "get":
        got = s.get(C[op[1]], op[2])
        side.hold(got)
        return side.label(got)
    if name == "query":
        kind = op[1]
        cls = C[kind]
        got = s.query(cls).order_by(getattr(cls, PK[kind])).all()
        for o in got:
            side.hold(o)
        return [side.label(o) for o in got]
    if name == "dup":
        # Injected unique violation: a row with this key written behind the
        # ORM's back (in its transaction), then a new object with the same key.
        _, kind, pk = op
        table = side.tables[kind]
        conn = s.connection()
        pkcol = table.c[PK[kind]]
        if conn.execute(sa.select(sa.func.count()).where(pkcol == pk)).scalar() == 0:
            vals: dict[str, Any] = {PK[kind]: pk}
            if kind == "vrow":
                vals["version"] = 1
            conn.execute(table.insert().values(**vals))
        obj = C[kind](**{PK[kind]: pk, SCALAR[kind]: "dup"})
        side.hold(obj)
        s.add(obj)
        return side.label(obj)
    if name == "bump_version":
        t = side.tables["vrow"]
        res = s.connection().execute(
            t.update().where(t.c.id == op[1]).values(version=t.c.version + 1, data="bumped")
        )
        return res.rowcount
    if name == "flush":
        s.flush()
        return None
    if name == "commit":
        if side.nested:
            raise Skip
        s.commit()
        return None
    if name == "rollback":
        if side.nested:
            # INTENDED["rollback_with_savepoint_open"]
            side.nested.pop().rollback()
        else:
            s.rollback()
        return None
    if name == "begin_nested":
        side.nested.append(s.begin_nested())
        return None
    if name in ("release", "rollback_nested"):
        if not side.nested:
            raise Skip
        nt = side.nested[-1]
        if name == "release":
            # a release whose flush fails leaves the savepoint open (awaiting its
            # rollback): it stays the program's innermost (rollback_with_savepoint_open)
            nt.commit()
        else:
            nt.rollback()
        side.nested.pop()
        return None
    raise AssertionError(f"unknown op {op!r}")


TX_END = {"commit", "rollback"}
STATS: dict[str, int] = {}


def _count(key: str) -> None:
    STATS[key] = STATS.get(key, 0) + 1


def run_program(sa_side: Side, dm_side: Side, program: list[tuple[Any, ...]]) -> None:
    sa_side.reset()
    dm_side.reset()
    done: list[str] = []
    try:
        for step, op in enumerate(program):
            moving_deleted = _moves_object_marked_for_deletion(dm_side, op)
            reattaching = _rollback_reattaches_expunged(sa_side, op)
            undoing_savepoint = _savepoint_rollback_with_changes(sa_side, op)
            expunging_unheld = _expunges_deleted_object_not_held(sa_side, op)
            orphan_with_children = _orphan_with_unloaded_children(sa_side)
            detached_child = _deleted_parent_has_detached_child(sa_side)
            target = _pick(dm_side, op[1]) if op[0] in ("expunge", "expire", "refresh") \
                else None
            sa_side.displaced = dm_side.displaced = target is not None and \
                _profile_displaced(dm_side, target)
            if _adds_displaced_profile(sa_side, dm_side, op):
                done.append(f"{step}: {op!r} (stopped before it: intended difference "
                            "displaced_profile_keeps_its_parent)")
                _count("stopped:displaced_profile_keeps_its_parent")
                return
            outcome = {}
            for side in (sa_side, dm_side):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        outcome[side.name] = ("ok", run_op(side, op), None)
                    except Skip:
                        outcome[side.name] = ("skip", None, None)
                    except Exception as exc:  # compared below
                        outcome[side.name] = ("raised", None, exc)
            a, b = outcome["sa"], outcome["dm"]
            _count(f"{op[0]}:{a[0] if a[0] != 'raised' else family(a[2])}")
            if moving_deleted and a[0] == b[0] == "ok":
                # INTENDED["move_of_object_marked_for_deletion"]: the sessions part at
                # the next flush (SQLAlchemy deletes the row one flush later)
                done.append(f"{step}: {op!r} (stopped: intended difference "
                            "move_of_object_marked_for_deletion)")
                _count("stopped:move_of_object_marked_for_deletion")
                return
            if detached_child and family(a[2]) == "IntegrityError" and b[0] != "raised":
                done.append(f"{step}: {op!r} (stopped: intended difference "
                            "delete_cascade_reaches_expunged_child)")
                _count("stopped:delete_cascade_reaches_expunged_child")
                return
            if undoing_savepoint and a[0] == b[0] == "ok":
                done.append(f"{step}: {op!r} (stopped: intended difference "
                            "savepoint_rollback_restores_changed_objects)")
                _count("stopped:savepoint_rollback_restores_changed_objects")
                return
            if orphan_with_children and family(a[2]) == "IntegrityError" and \
                    b[0] != "raised":
                done.append(f"{step}: {op!r} (stopped: intended difference "
                            "orphan_delete_cascades_to_its_children)")
                _count("stopped:orphan_delete_cascades_to_its_children")
                return
            if expunging_unheld and b[0] == "ok" and (a[0] == "ok" or family(
                    a[2]) == "InvalidRequestError" and "not persistent" in str(a[2])):
                done.append(f"{step}: {op!r} (stopped: intended difference "
                            "orphan_deleted_by_autoflush_of_its_delete)")
                _count("stopped:orphan_deleted_by_autoflush_of_its_delete")
                return
            if op[0] == "commit" and a[0] == b[0] == "ok" and \
                    not sa_side.session.expire_on_commit and \
                    any(sa_side.orm.inspect(o).deleted for o in sa_side.handles):
                done.append(f"{step}: {op!r} (stopped: intended difference "
                            "deleted_objects_after_commit_without_expire)")
                _count("stopped:deleted_objects_after_commit_without_expire")
                return
            if reattaching and a[0] == b[0] == "ok":
                done.append(f"{step}: {op!r} (stopped: intended difference "
                            "rollback_reattaches_expunged_object)")
                _count("stopped:rollback_reattaches_expunged_object")
                return
            done.append(f"{step}: {op!r} -> sa {_show(a)} | dm {_show(b)}")
            trace = "\n".join(done)
            fa, fb = family(a[2]), family(b[2])
            if fb == "FlushError" and "identity key" in str(b[2]) and (
                    fa in ("IntegrityError", "StaleDataError", "CircularDependencyError",
                           "FlushError") or "New instances" in str(b[2])):
                # INTENDED["identity_conflict_before_sql"]: datamapper left the
                # session as it was, SQLAlchemy rolled back; the runs part here.
                done.append("(stopped: intended difference identity_conflict_before_sql)")
                _count("stopped:identity_conflict_before_sql")
                return
            if fa == "CircularDependencyError" and b[0] == "ok":
                # INTENDED["node_is_its_own_parent"]: a cycle the generator could not
                # see (the references on the way not loaded, DIFF_SEED=12), which
                # datamapper's flush breaks and SQLAlchemy's refuses
                done.append("(stopped: intended difference node_is_its_own_parent)")
                _count("stopped:node_is_its_own_parent")
                return
            if (a[0], fb) == ("ok", "InvalidRequestError") and "flushed as a DELETE" in str(b[2]):
                done.append("(stopped: intended difference change_through_deleted_object)")
                _count("stopped:change_through_deleted_object")
                return
            if op[0] in ("merge", "merge_copy") and (a[0], fb) == ("ok", "StaleDataError") \
                    and "Can't merge" in str(b[2]):
                done.append("(stopped: intended difference merge_checks_expired_version)")
                _count("stopped:merge_checks_expired_version")
                return
            if {fa, fb} == {"IntegrityError", "StaleDataError"}:
                done.append("(stopped: intended difference order_of_failing_statements)")
                _count("stopped:order_of_failing_statements")
                return
            if fa == "AssertionError" and \
                    "Failed to add object to the flush context" in str(a[2]):
                done.append("(stopped: intended difference "
                            "orphan_deleted_by_autoflush_of_its_delete)")
                _count("stopped:orphan_deleted_by_autoflush_of_its_delete")
                return
            if (a[0], fb) == ("ok", "PendingRollbackError") and _awaits_rollback(sa_side):
                continue  # INTENDED["pending_rollback_on_empty_flush"]
            assert a[0] == b[0] and fa == fb, f"exception family differs\n{trace}"
            if a[0] == "skip":
                continue
            if op[0] == "get" and a[1] != b[1] and b[1] is None and any(
                sa_side.label(o) == a[1] for o in sa_side.session.deleted
            ):
                done.append("(stopped: bug get_of_object_marked_for_deletion)")
                _count("stopped:get_of_object_marked_for_deletion")
                return
            assert a[1] == b[1], f"op result differs\n{trace}"
            snap_a, snap_b = sa_side.snapshot(), dm_side.snapshot()
            diffs = _compare(snap_a, snap_b)
            assert not diffs, f"session state differs: {diffs}\n{trace}"
            if op[0] in TX_END:
                ra, rb = sa_side.rows(), dm_side.rows()
                assert ra == rb, f"committed rows differ\nsa {ra}\ndm {rb}\n{trace}"
    finally:
        for side in (sa_side, dm_side):
            try:
                side.session.close()
            except Exception:
                pass
    ra, rb = sa_side.rows(), dm_side.rows()
    assert ra == rb, f"committed rows differ at the end\nsa {ra}\ndm {rb}\n" + "\n".join(done)


def _orphan_with_unloaded_children(side: Side) -> bool:
    """INTENDED["orphan_delete_cascades_to_its_children"] (SQLAlchemy's side): a
    persistent node that lost its parent since the last flush, whose `children`
    collection is not loaded."""
    for obj in side.handles:
        if obj.kind != "node" or "children" in obj.__dict__:
            continue
        st = side.orm.inspect(obj)
        if not st.persistent:
            continue
        hist = side.attributes.get_history(obj, "parent",
                                           side.attributes.PASSIVE_NO_INITIALIZE)
        if hist.deleted and not any(x is not None for x in hist.added):
            return True
    return False


def _expunges_deleted_object_not_held(side: Side, op: tuple[Any, ...]) -> bool:
    """INTENDED["orphan_deleted_by_autoflush_of_its_delete"] (SQLAlchemy's side):
    ``op`` expunges, expires or refreshes an object the session lists as deleted
    without holding it in its identity map."""
    if op[0] not in ("expunge", "expire", "refresh"):
        return False
    obj = _pick(side, op[1])
    if obj is None or obj not in side.session.deleted:
        return False
    return not side.session.identity_map.contains_state(side.orm.inspect(obj))


def _adds_displaced_profile(sa_side: Side, dm_side: Side, op: tuple[Any, ...]) -> bool:
    """INTENDED["displaced_profile_keeps_its_parent"]: ``op`` add()s or merge()s a
    profile whose `parent` still refers to its old parent in SQLAlchemy (a parent
    whose loaded `profile` is another object, or datamapper's is None)."""
    if op[0] not in ("add", "merge"):
        return False
    obj = _pick(sa_side, op[1])
    if obj is None or obj.kind != "profile":
        return False
    parent = obj.__dict__.get("parent")
    if parent is None:
        return False
    if parent.__dict__.get("profile", obj) is not obj:
        return True
    twin = _pick(dm_side, op[1])
    return twin is not None and "parent" in twin.__dict__ and twin.__dict__["parent"] is None


def _moves_object_marked_for_deletion(side: Side, op: tuple[Any, ...]) -> bool:
    """``op`` gives an object marked for deletion (not flushed) a new parent."""
    if op[0] != "reparent" or not op[3]:
        return False
    obj = _pick(side, op[1], ("child", "node", "profile"))
    return obj is not None and obj in side.session.deleted


def _deleted_parent_has_detached_child(side: Side) -> bool:
    """INTENDED["delete_cascade_reaches_expunged_child"] (SQLAlchemy's side): an object
    marked deleted whose loaded children collection holds an object not marked
    deleted (expunged, or taken back with add())."""
    deleted = side.session.deleted
    for obj in deleted:
        for child in _cascaded(obj):
            if child not in deleted:
                return True
    return False


def _savepoint_rollback_with_changes(side: Side, op: tuple[Any, ...]) -> bool:
    """INTENDED["savepoint_rollback_restores_changed_objects"]: ``op`` rolls back
    (SQLAlchemy's side) a savepoint in which objects were modified or flushed, which
    SQLAlchemy then expires and datamapper restores."""
    if op[0] not in ("rollback_nested", "rollback") or not side.nested:
        return False
    nt = side.nested[-1]
    if getattr(nt, "_dirty", None):
        return True
    return any(st.modified for st in side.session.identity_map.all_states())


def _rollback_reattaches_expunged(side: Side, op: tuple[Any, ...]) -> bool:
    """INTENDED["rollback_reattaches_expunged_object"]: ``op`` rolls back (SQLAlchemy's
    side) a transaction that awaits rollback, has changes since, and lists as deleted
    in it an object the program holds detached."""
    if op[0] != "rollback" or side.nested or not _awaits_rollback(side):
        return False
    s = side.session
    if s._is_clean():  # (SQLAlchemy's test for restoring its snapshot again)
        return False
    listed: set[Any] = set()
    tx = s._transaction
    while tx is not None:
        listed.update(tx._deleted)
        tx = tx._parent
    return any(side.orm.inspect(o).detached and side.orm.inspect(o) in listed
               for o in side.handles)


def _awaits_rollback(side: Side) -> bool:
    tx = side.session._transaction  # the innermost (a savepoint's, say)
    return tx is not None and not tx.is_active


def _show(outcome: tuple[str, Any, BaseException | None]) -> str:
    kind, value, exc = outcome
    if kind == "raised":
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:150]}"
    return f"{kind} {value!r}"


def _compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    diffs = {}
    for k in a.keys() | b.keys():
        if "." in k and k.split(".", 1)[1] not in ("state",):
            # an attribute: compare only when loaded on both sides
            if k not in a or k not in b:
                continue
        if a.get(k, MISSING) != b.get(k, MISSING):
            diffs[k] = (a.get(k, MISSING), b.get(k, MISSING))
    return diffs


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def sides(engine: sa.Engine, backend_name: str, tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    if backend_name == "sqlite":
        dm_engine = _support.sqlite_engine(tmp_path / "dm.db")
    else:
        dm_engine = engine
    # both sides' tables in one MetaData and one create_all: on the servers they are
    # kept, emptied, for the next test (tests/_support.py TableReuse) instead of being
    # created and dropped by every test; SQLite gives datamapper a file of its own
    md = sa.MetaData()
    sa_t, dm_t = build_tables(md, "sa_"), build_tables(md, "dm_")
    md.create_all(engine)
    if dm_engine is not engine:
        md.create_all(dm_engine)
    sa_cls, dm_cls = make_classes(), make_classes()
    sa_reg, dm_reg = sa_orm.registry(), datamapper.registry()
    map_classes(sa_orm, sa_reg, sa_cls, sa_t, {})
    map_classes(datamapper, dm_reg, dm_cls, dm_t, {"cascade_backrefs": False})
    sa_side = Side("sa", sa, engine, sa_t, sa_cls, lambda: sa_orm.Session(bind=engine),
                   sa_orm.attributes)
    dm_side = Side("dm", datamapper, dm_engine, dm_t, dm_cls, lambda: DMSession(bind=dm_engine),
                   datamapper.attributes)
    try:
        yield sa_side, dm_side
    finally:
        for side in (sa_side, dm_side):
            if side.session is not None:
                side.session.close()
            side.handles.clear()
        sa_reg.dispose()
        dm_reg.dispose()
        if dm_engine is not engine:
            dm_engine.dispose()


def _examples(backend: str) -> int:
    env = os.environ.get("DIFF_EXAMPLES")
    if env:
        return int(env)
    return 120 if backend == "sqlite" else 25


@pytest.mark.parametrize("size", ["ci"])
def test_programs_agree(sides: tuple[Side, Side], backend_name: str, size: str) -> None:
    sa_side, dm_side = sides

    @settings(
        max_examples=_examples(backend_name),
        derandomize=not os.environ.get("DIFF_SEED"),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(PROGRAMS)
    def check(program: list[tuple[Any, ...]]) -> None:
        run_program(sa_side, dm_side, program)

    if os.environ.get("DIFF_SEED"):
        check = seed(int(os.environ["DIFF_SEED"]))(check)  # a soak can be replayed
    check()
    if os.environ.get("DIFF_STATS"):
        print(f"\n{backend_name}: " + ", ".join(f"{k}={v}" for k, v in sorted(STATS.items())))


# Programs a soak found that still diverge: open, replayed on every run so that a fix
# shows up (strict xfail) and a change of behaviour does too.
KNOWN_PROGRAMS: dict[str, list[tuple[Any, ...]]] = {
}

# Programs a soak found that part at an intended difference (name -> (the INTENDED
# entry, program)): replayed to check that the run stops there, and only there.
INTENDED_PROGRAMS: dict[str, tuple[str, list[tuple[Any, ...]]]] = {
    # (DIFF_SEED=41, SQLite) node h0 deleted (delete-orphan cascade to its children),
    # its loaded child h1 expunged, then merge(h0), whose autoflush the generator runs
    "delete_parent_expunge_child_merge": ("delete_cascade_reaches_expunged_child", [
        ("query", "node"), ("delete", 0), ("expunge", 1), ("merge", 0)]),
    # (DIFF_SEED=34, PostgreSQL) a merge() inside a savepoint changes a, the savepoint
    # is rolled back: SQLAlchemy expires a, datamapper restores it
    "merge_in_savepoint_rollback_then_append": (
        "savepoint_rollback_restores_changed_objects", [
        ("query", "parent"), ("new_child", 4, 0, "append"), ("begin_nested",),
        ("merge_copy", "parent", "a", "x"), ("rollback_nested",), ("new", "parent", "c", "x"),
        ("new_child", 1, 0, "append")]),
    # (DIFF_SEED=2/4) the last merge() autoflushes two new Parent 'a' (one from the
    # first merge(), one added) while the old 'a', whose DELETE was flushed, is deleted
    # again: SQLAlchemy row-switches both onto the gone row (StaleDataError),
    # datamapper refuses two new objects with one key (FlushError, before any SQL)
    "delete_merge_new_delete_merge": ("identity_conflict_before_sql", [
        ("query", "parent"), ("delete", 0), ("merge", 0), ("new", "parent", "a", "x"),
        ("delete", 0), ("merge", 0)]),
    # (18:20 soaks) a failed flush restores the child whose DELETE it had flushed; it is
    # expunged, then rollback() with a new object added since: SQLAlchemy attaches it
    # again (persistent), datamapper leaves it detached
    "expunge_flushed_deleted_child_rollback": ("rollback_reattaches_expunged_object", [
        ("query", "child"), ("delete", 0), ("merge", 0), ("new", "parent", "a", "x"),
        ("flush",), ("new", "parent", "a", "x"), ("expunge", 0), ("rollback",)]),
    # (DIFF_SEED=20/21, SQLite) n2 orphaned (removed from n1.children, or n2.parent =
    # None), then delete(n2): its cascade's load autoflushes n2's DELETE; SQLAlchemy's
    # next flush fails its assertion
    # (DIFF_SEED=29, SQLite) an autoflush with a child INSERT whose key is taken and
    # an UPDATE of a vrow whose version was bumped: each ORM sends one of them first
    "insert_conflict_and_stale_update_in_one_flush": ("order_of_failing_statements", [
        ("query", "vrow"), ("query", "parent"), ("bump_version", 2),
        ("new_child", 1, 1, "append"), ("set", 1, "x"), ("new_child", 1, 0, "append")]),
    # (DIFF_SEED=29) the same with a new node whose key the session holds: datamapper
    # refuses it before any SQL (FlushError), SQLAlchemy's UPDATE fails first
    "identity_conflict_and_stale_update_in_one_flush": ("identity_conflict_before_sql", [
        ("query", "vrow"), ("query", "node"), ("query", "parent"), ("bump_version", 2),
        ("new_node", 1, 0, "append"), ("set", 1, "x"), ("new_child", 1, 0, "append")]),
    # (DIFF_SEED=29) a new node 1 appended to n2's children while node 1 is persistent,
    # then n2 moved under n3 (or unlinked): SQLAlchemy's flush fails in its dependency
    # graph, datamapper refuses the two objects with one key before any SQL
    "new_node_with_persistent_key_cycle": ("identity_conflict_before_sql", [
        ("query", "parent"), ("query", "node"), ("new_node", 1, 3, "append"),
        ("reparent", 3, 4, True), ("new_child", 1, 0, "append")]),
    "new_node_with_persistent_key_null_delete": ("identity_conflict_before_sql", [
        ("query", "parent"), ("query", "node"), ("new_node", 1, 3, "append"),
        ("reparent", 3, 0, False), ("new_child", 1, 0, "append")]),
    "orphan_node_delete_flush": ("orphan_deleted_by_autoflush_of_its_delete", [
        ("query", "child"), ("query", "node"), ("remove_child", 0, 0), ("delete", 4),
        ("flush",)]),
    # (DIFF_SEED=52, SQLite) the same orphan n2 deleted, then merge(n2) (the flush run
    # before it fails SQLAlchemy's assertion) or expunge(n2) (SQLAlchemy keeps it in
    # session.deleted)
    "orphan_node_delete_merge": ("orphan_deleted_by_autoflush_of_its_delete", [
        ("query", "parent"), ("query", "node"), ("reparent", 1, 0, False), ("delete", 3),
        ("merge", 3)]),
    "orphan_node_delete_expunge": ("orphan_deleted_by_autoflush_of_its_delete", [
        ("query", "parent"), ("query", "node"), ("reparent", 1, 0, False), ("delete", 3),
        ("expunge", 3)]),
    # (DIFF_SEED=52) ... then a new Parent 'a' (its key taken) and an autoflush: its
    # IntegrityError in datamapper, SQLAlchemy's assertion first
    "orphan_node_delete_new_taken_key_autoflush": (
        "orphan_deleted_by_autoflush_of_its_delete", [
            ("query", "vrow"), ("query", "node"), ("reparent", 1, 0, False), ("delete", 3),
            ("new", "parent", "a", "x"), ("get", "parent", "a")]),
    # (DIFF_SEED=54/55, SQLite) an orphaned node with an unloaded collection of children
    "orphan_with_children_autoflush": ("orphan_delete_cascades_to_its_children", [
        ("query", "child"), ("query", "node"), ("query", "parent"),
        ("reparent", 4, 0, False), ("expire", 3, None), ("new_child", 1, 0, "append")]),
    "orphan_removed_then_parent_deleted": ("orphan_delete_cascades_to_its_children", [
        ("query", "node"), ("new", "parent", "c", "x"), ("delete", 3),
        ("remove_child", 0, 0), ("delete", 0), ("untag", 0, 0)]),
    "orphan_node_delete_expire": ("orphan_deleted_by_autoflush_of_its_delete", [
        ("query", "parent"), ("query", "node"), ("reparent", 1, 0, False), ("delete", 3),
        ("expire", 3, None)]),
    # (DIFF_SEED=1, servers) expire_on_commit=False: SQLAlchemy keeps the committed
    # deleted object attached (deleted state), datamapper detaches it
    # (DIFF_SEED=7) a profile displaced from the many-to-one side, then add()ed again
    "add_displaced_profile": ("displaced_profile_keeps_its_parent", [
        ("no_expire_on_commit",), ("new_profile", 1, 0, "assign"),
        ("new_profile", 1, 0, "backref"), ("add", 1), ("flush",)]),
    "delete_commit_without_expire_on_commit": ("deleted_objects_after_commit_without_expire", [
        ("no_expire_on_commit",), ("get", "parent", "a"), ("delete", 0), ("commit",)]),
    # (DIFF_SEED=12) the root node made a child of its grandchild (the references on
    # the way not loaded, so the generator can't see the cycle), then that grandchild
    # deleted: SQLAlchemy's flush raises CircularDependencyError
    "cycle_through_unloaded_ancestors": ("node_is_its_own_parent", [
        ("query", "node"), ("reparent", 0, 7, True), ("remove_child", 3, 3), ("commit",)]),
    "orphan_node_delete_then_delete_parent": ("orphan_deleted_by_autoflush_of_its_delete", [
        ("query", "parent"), ("query", "node"), ("reparent", 3, 0, False), ("delete", 5),
        ("delete", 0)]),
}


@pytest.mark.parametrize("name", sorted(INTENDED_PROGRAMS))
def test_intended_programs_stop_there(sides: tuple[Side, Side], name: str) -> None:
    why, program = INTENDED_PROGRAMS[name]
    before = STATS.get(f"stopped:{why}", 0)
    run_program(*sides, program)
    if why == "order_of_failing_statements":
        # SQLAlchemy's order depends on a set's (by object address): it may send the
        # statement datamapper sends first, and then the runs agree
        return
    assert STATS.get(f"stopped:{why}", 0) == before + 1


@pytest.mark.xfail(strict=True, reason="open divergences found by a soak (see KNOWN_PROGRAMS)")
@pytest.mark.parametrize("name", sorted(KNOWN_PROGRAMS) or [pytest.param(
    "none", marks=pytest.mark.skip(reason="no open divergence"))])
def test_known_programs_agree(sides: tuple[Side, Side], name: str) -> None:
    run_program(*sides, KNOWN_PROGRAMS[name])


# Programs a soak found that diverged once and agree since the fix, replayed on every run.
FIXED_PROGRAMS = {
    # merge() autoflushes the pending DELETE of h0; delete(h0) again: the flushed-deleted
    # object is marked deleted again (with its children) and the next flush sends the
    # DELETE again, which matches no row (a warning).
    "delete_merge_delete": [("query", "parent"), ("delete", 0), ("merge", 0), ("delete", 0)],
    # a child removed from its parent (delete-orphan, not flushed), the parent expired,
    # then a new child with the same primary key: the flush deletes the orphan (its
    # reference to the parent changed, which the expired parent no longer records) and
    # the new object takes over its row (a row switch: one UPDATE).
    "orphan_then_new_row_with_its_key": [
        ("merge_copy", "parent", "a", "x"), ("remove_child", 0, 0), ("expire", 0, None),
        ("new", "child", 1, "x"), ("delete", 0)],
    # (DIFF_SEED=2) delete() again right after the flush of the DELETE: marked again.
    "delete_flush_delete": [("query", "parent"), ("delete", 0), ("flush",), ("delete", 0)],
    # (DIFF_SEED=12) a committed-deleted child given a parent (skipped since: intended)
    "reparent_committed_deleted_child": [
        ("query", "node"), ("query", "parent"), ("query", "child"), ("delete", 4),
        ("new", "parent", "a", "x"), ("commit",), ("reparent", 5, 4, True),
        ("bulk_update", "child", ("pk", 6), ("tag_id", None), "fetch"), ("expunge", 1)],
    # (DIFF_SEED=4) delete() of an object whose deletion was committed (detached): it is
    # attached again and deleted again (the DELETE matches no row: a warning), where
    # datamapper refused it as "deleted by a flush of another session".
    "delete_commit_delete": [
        ("query", "parent"), ("delete", 0), ("commit",), ("delete", 0), ("commit",)],
    # (DIFF_SEED=2/4) add() of an object deleted again after the flush of its DELETE:
    # refused (it has been deleted) and it stays in session.deleted; datamapper took
    # the mark back before refusing it
    "delete_merge_delete_add": [
        ("query", "parent"), ("delete", 0), ("merge", 0), ("delete", 0), ("add", 0)],
    # (DIFF_SEED=2/4) expire() of an object deleted again after the flush of its
    # DELETE: it is in the identity map again, so expire() takes it (datamapper
    # refused: not persistent); the variant flushes next, which can't load it
    # (ObjectDeletedError) and rolls the transaction back
    "delete_query_delete_expire": [
        ("query", "parent"), ("delete", 0), ("query", "parent"), ("delete", 0),
        ("expire", 0, None)],
    "delete_query_delete_expire_flush": [
        ("query", "parent"), ("delete", 0), ("query", "parent"), ("delete", 0),
        ("expire", 0, None), ("flush",), ("rollback",), ("query", "parent")],
    # (DIFF_SEED=2/4) a new child, in no session, given by backref to a parent marked
    # for deletion whose collection is unloaded: the flush loads that collection (the
    # delete cascade) with the queued child in it, as SQLAlchemy; datamapper applied
    # queued backref changes only for members in the owner's session
    "delete_refresh_new_child_flush": [
        ("query", "parent"), ("delete", 0), ("refresh", 0), ("new_child", 1, 0, "backref"),
        ("flush",)],
    # ... and a flush of the owner drops the queue (the rows say the rest)
    "new_child_by_backref_flush_load": [
        ("query", "parent"), ("new_child", 4, 0, "backref"), ("flush",), ("remove_child", 0, 2)],
    # (DIFF_SEED=6) delete() of an object its parent's delete cascade marked already,
    # after a refresh() of the parent expired it: nothing to do (SQLAlchemy returns at
    # once); datamapper followed its cascade again, whose lazy load autoflushed
    "delete_refresh_delete_child": [
        ("query", "node"), ("delete", 0), ("refresh", 0), ("delete", 1)],
    "delete_refresh_delete": [
        ("query", "parent"), ("delete", 0), ("refresh", 0), ("delete", 0)],
    # (DIFF_SEED=6) get() of such an expired child: its load autoflushes, which deletes
    # the row, so there is none (datamapper returned the object the flush had loaded)
    "delete_refresh_get_child": [
        ("query", "node"), ("delete", 0), ("refresh", 0), ("get", "node", 2)],
    # (DIFF_SEED=15, PostgreSQL) get() of an object with some column attributes
    # expired (expire(obj, [name])) returns it as it is, as SQLAlchemy (which loads only
    # a fully expired object); datamapper loaded them, and that load's autoflush
    # persisted h2 early
    "get_of_partly_expired_object_autoflushes": [
        ("query", "parent"), ("new", "parent", "c", "x"), ("expire", 0, 0),
        ("get", "parent", "a")],
    # (18:20 soaks) child.parent = None while the parent (delete-orphan) is expired as a
    # whole: the old parent is not known without SQL, so nothing lets go of the child:
    # it is kept (parent_name NULL), not deleted as an orphan (datamapper found the
    # expired parent in the identity map)
    "orphan_by_backref_of_expired_parent": [
        ("query", "parent"), ("query", "child"), ("expire", 0, None),
        ("reparent", 0, 0, False), ("flush",)],
    # (18:20 soaks) refresh() (no autoflush) of an object deleted again after its flushed
    # DELETE finds no row; get() of it then loads it, whose autoflush can't (the row is
    # gone) and rolls back: get() raises PendingRollbackError (datamapper took the
    # flush's ObjectDeletedError for the row being gone and returned None)
    "refresh_of_redeleted_object_then_get": [
        ("query", "parent"), ("delete", 0), ("query", "parent"), ("delete", 0),
        ("refresh", 0), ("get", "parent", "a")],
    # (18:20 soaks) untag, refresh (discarding the parent's own record of the removal),
    # untag again: the tag's queued backref removal is still flushed (the link is gone)
    "untag_refresh_untag": [
        ("query", "parent"), ("untag", 0, 0), ("refresh", 0), ("untag", 0, 0)],
    # (DIFF_SEED=34, PostgreSQL) a release() whose flush fails: the savepoint stays open,
    # and the program's next rollback ends it (the generator had dropped it, so the
    # rollback was the session's: INTENDED rollback_with_savepoint_open)
    "failed_release_then_rollback": [
        ("new", "parent", "c", "x"), ("begin_nested",), ("new", "parent", "a", "x"),
        ("release",), ("rollback",)],
    # (DIFF_SEED=37, SQLite) a link added then removed through a persistent parent's
    # loaded tags while the tag's parents are unloaded: no net change (datamapper's
    # queue kept the removal and the flush deleted a row that was never there)
    "tag_untag_through_unloaded_other_side": [
        ("new", "parent", "c", "x"), ("get", "tag", 1), ("tag", 0, 0, "tags"),
        ("untag", 0, 0), ("delete", 0)],
    # one-to-one: the displaced profile's `parent` differs (INTENDED
    # displaced_profile_keeps_its_parent, not compared), the rows agree: replaced from
    # the many-to-one side (DIFF_SEED=2), set to None with the reference unloaded and
    # flushed (DIFF_SEED=1), replaced then a failed flush (DIFF_SEED=5)
    "profile_replaced_by_backref": [
        ("query", "parent"), ("query", "profile"), ("new_profile", 3, 0, "backref"),
        ("flush",), ("commit",)],
    "profile_set_none_flush": [
        ("no_expire_on_commit",), ("query", "parent"), ("query", "profile"),
        ("unprofile", 0), ("merge", 0), ("commit",)],
    "profile_replaced_twice_failed_flush": [
        ("no_expire_on_commit",), ("new_profile", 1, 0, "assign"), ("dup", "parent", "b"),
        ("new_profile", 1, 0, "backref"), ("new_child", 1, 0, "append"), ("rollback",)],
    # a tag re-deleted after its flushed DELETE, expired, flushed: no delete cascade
    "tag_delete_flush_delete_expire_flush": [
        ("query", "tag"), ("delete", 0), ("flush",), ("delete", 0), ("expire", 0, None),
        ("flush",)],
}


@pytest.mark.parametrize("name", sorted(FIXED_PROGRAMS))
def test_fixed_programs_agree(sides: tuple[Side, Side], name: str) -> None:
    run_program(*sides, FIXED_PROGRAMS[name])
