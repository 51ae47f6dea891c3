"""pytest plugin for the datamapper run: the adaptations of SQLAlchemy's test framework.

SQLAlchemy's testing package (installed, not copied) builds its ORM fixtures
from the real ORM.  Each function below swaps one of those ORM pieces for
datamapper's public equivalent, so the fixtures map, open sessions, close
them and clear mappers with datamapper.  README "Compatibility with
SQLAlchemy's ORM test suite" lists them (A2..A7); keep the two in step.
"""

from __future__ import annotations

import types

import dmshim
import pytest

import datamapper


def _orm_namespace() -> types.SimpleNamespace:
    # A2: the `orm` name inside sqlalchemy.testing.fixtures.orm
    return types.SimpleNamespace(
        Session=datamapper.Session,
        clear_mappers=datamapper.clear_mappers,
        close_all_sessions=datamapper.Session.close_all,
        session=types.SimpleNamespace(close_all_sessions=datamapper.Session.close_all),
    )


def _install() -> None:
    from sqlalchemy.testing import config, entities
    from sqlalchemy.testing.fixtures import base as fx_base
    from sqlalchemy.testing.fixtures import orm as fx_orm

    # A2: fixture_session(), close_all_sessions(), MappedTest teardown and
    # stop_test_class_inside_fixtures() use datamapper's Session/clear_mappers.
    fx_orm.orm = _orm_namespace()

    # A3: MappedTest._generate_registry() -> datamapper.registry(metadata=...)
    fx_orm.registry = datamapper.registry

    # A4: DeclarativeMappedTest's base class: datamapper.declarative_base()
    # bound to the test's MetaData, still recording each subclass in
    # cls.classes (no __table_cls__, no type_annotation_map).
    def _with_register_classes(cls, fn):
        cls_registry = cls.classes

        class _Registering:
            def __init_subclass__(sub, **kw):
                cls_registry[sub.__name__] = sub
                super().__init_subclass__(**kw)

        cls.DeclarativeBasic = datamapper.declarative_base(
            metadata=cls._tables_metadata, cls=_Registering, name="DeclarativeBasic"
        )
        cls_registry.pop("DeclarativeBasic", None)
        fx_orm.MappedTest._with_register_classes.__func__(cls, fn)
        if cls._tables_metadata.tables and cls.run_create_tables:
            cls._tables_metadata.create_all(config.db)

    fx_orm.DeclarativeMappedTest._with_register_classes = classmethod(_with_register_classes)

    # A5: TestBase's `registry` and `decl_base` fixtures give datamapper's
    # registry / declarative base; `dc_decl_base` (MappedAsDataclass) is a
    # name datamapper lacks.
    @config.fixture()
    def registry(self, metadata):
        reg = datamapper.registry(metadata=metadata)
        yield reg
        reg.dispose()

    @config.fixture
    def decl_base(self, metadata):
        base = datamapper.declarative_base(metadata=metadata)
        yield base
        base.registry.dispose()

    @config.fixture
    def dc_decl_base(self, metadata):
        raise dmshim.CompatMissingName("sqlalchemy.orm.MappedAsDataclass")

    fx_base.TestBase.registry = registry
    fx_base.TestBase.decl_base = decl_base
    fx_base.TestBase.dc_decl_base = dc_decl_base

    # A6: RemoveORMEventsGlobally removes the listeners the test registered
    # through datamapper.event (the real ORM's event registries are not used).
    @config.fixture(autouse=True)
    def _remove_listeners(self):
        mark = len(dmshim.LISTEN_LOG)
        yield
        dmshim.remove_logged_listeners(mark)

    fx_orm.RemoveORMEventsGlobally._remove_listeners = _remove_listeners

    # A7: ComparableEntity.__eq__ asks whether an object is persistent through
    # sa.orm.attributes.instance_state(obj).key; give it datamapper's.
    entities.sa = types.SimpleNamespace(
        orm=types.SimpleNamespace(
            attributes=types.SimpleNamespace(instance_state=datamapper.attributes.instance_state),
            exc=types.SimpleNamespace(
                NO_STATE=(datamapper.exc.UnmappedInstanceError, AttributeError, KeyError)
            ),
        )
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session):
    _install()


_call_mark = [0]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    _call_mark[0] = len(dmshim.LISTEN_LOG)
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    # A6 (continued): listeners a test body registered on class-level targets
    # (the Session class, Mapper, mapped classes) would leak into later tests.
    dmshim.remove_logged_listeners(_call_mark[0])
    # A8: when a per-test mapping step raised (a mapping datamapper refuses),
    # MappedTest's own teardown does not run; clear mappers so that the next
    # test does not fail with "Can't map class X twice".
    cls = getattr(item, "cls", None)
    if cls is not None and getattr(cls, "run_setup_mappers", None) != "once":
        datamapper.clear_mappers()
