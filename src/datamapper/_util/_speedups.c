/* datamapper._util._speedups: the allocation-heavy step of loading rows, in C.
 *
 * The generated row loops of datamapper/loading/rows.py make one object per new
 * row: the instance (``cls.__new__(cls)``), one stored value per selected column,
 * its InstanceState (a weakref.ref subclass with __slots__) with every slot set, the
 * state stored on the instance, and the state entered in the identity map.  In
 * Python that is some twenty statements, most of them calls of ``object.__setattr__``
 * (the mapped class's own ``__setattr__`` tracks changes and must be bypassed).
 * ``Maker`` does the same work in one call.  The pure-Python loop stays the
 * reference: tests/loading/test_speedups.py compares the two field by field, and
 * the package runs without this module (it is an optional build).
 *
 * Only the public C API and the member-descriptor layout (descrobject.h) are used.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <structmember.h>

#ifndef Py_T_OBJECT_EX
#define Py_T_OBJECT_EX T_OBJECT_EX
#endif

/* Raised whenever what the Python side calls changes (see accel.py). */
#define SPEEDUPS_API_VERSION 7

/* Per-row / per-call values of a state slot (everything else is a constant). */
enum { FIELD_CONST = 0, FIELD_IDENT = 1, FIELD_SID = 2, FIELD_UNLOADED = 3 };

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyTypeObject *cls;        /* the mapped class */
    PyObject *new_func;       /* cls.__new__ when it is not object.__new__, else NULL */
    PyObject *keys;           /* tuple of str: attribute of each selected column */
    PyObject *positions;      /* tuple of int: row position of each key */
    Py_ssize_t first;         /* row position of keys[0] (positions are consecutive) */
    PyObject *state_attr;     /* str: instance attribute holding the state */
    PyTypeObject *state_type; /* InstanceState */
    newfunc ref_new;          /* weakref.ref's tp_new */
    PyObject *gone;           /* weak-reference callback of every state */
    Py_ssize_t nfields;
    Py_ssize_t *offsets;      /* byte offset of each state slot */
    int *kinds;               /* FIELD_* of each slot */
    PyObject *values;         /* tuple: the constant of each FIELD_CONST slot */
    Py_ssize_t unloaded_offset; /* byte offset of the FIELD_UNLOADED slot, or -1 */
} MakerObject;

static PyObject *empty_tuple = NULL;

static int
store_row(MakerObject *self, PyObject *obj, PyObject *row)
{
    PyObject *keys = self->keys;
    Py_ssize_t n = PyTuple_GET_SIZE(keys);
    if (PyTuple_CheckExact(row) || PyList_CheckExact(row)) {
        Py_ssize_t size = PySequence_Fast_GET_SIZE(row);
        PyObject **items = PySequence_Fast_ITEMS(row);
        if (self->first + n > size) {
            PyErr_Format(PyExc_IndexError,
                         "row of %zd values has no position %zd (datamapper row loader)",
                         size, self->first + n - 1);
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            if (PyObject_GenericSetAttr(obj, PyTuple_GET_ITEM(keys, i),
                                        items[self->first + i]) < 0)
                return -1;
        }
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyObject_GetItem(row, PyTuple_GET_ITEM(self->positions, i));
        if (v == NULL)
            return -1;
        int r = PyObject_GenericSetAttr(obj, PyTuple_GET_ITEM(keys, i), v);
        Py_DECREF(v);
        if (r < 0)
            return -1;
    }
    return 0;
}

static PyObject *
new_state(MakerObject *self, PyObject *obj, PyObject *ident, PyObject *sid,
          PyObject *unloaded)
{
    PyObject *args = PyTuple_Pack(2, obj, self->gone);
    if (args == NULL)
        return NULL;
    PyObject *state = self->ref_new(self->state_type, args, NULL);
    Py_DECREF(args);
    if (state == NULL)
        return NULL;
    if (!PyObject_TypeCheck(state, self->state_type)) {
        Py_DECREF(state);
        PyErr_SetString(PyExc_TypeError, "datamapper row loader: state of the wrong type");
        return NULL;
    }
    Py_ssize_t c = 0;
    for (Py_ssize_t i = 0; i < self->nfields; i++) {
        PyObject *v;
        switch (self->kinds[i]) {
        case FIELD_IDENT: v = ident; break;
        case FIELD_SID: v = sid; break;
        case FIELD_UNLOADED: v = unloaded; break;
        default: v = PyTuple_GET_ITEM(self->values, c++); break;
        }
        PyObject **slot = (PyObject **)((char *)state + self->offsets[i]);
        PyObject *old = *slot;
        Py_INCREF(v);
        *slot = v;
        Py_XDECREF(old);
    }
    return state;
}

static PyObject *make(MakerObject *self, PyObject *row, PyObject *ident, PyObject *sid,
                      PyObject *unloaded, PyObject *imap, PyObject **state_out);

/* maker(row, ident, sid, unloaded, identity_map) -> the new object */
static PyObject *
maker_vectorcall(PyObject *self_, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    MakerObject *self = (MakerObject *)self_;
    if (PyVectorcall_NARGS(nargsf) != 5 || kwnames != NULL) {
        PyErr_SetString(PyExc_TypeError,
                        "Maker(row, ident, sid, unloaded, identity_map): 5 positional arguments");
        return NULL;
    }
    return make(self, args[0], args[1], args[2], args[3], args[4], NULL);
}

/* the object of a new row; with state_out, also a new reference to its state */
static PyObject *
make(MakerObject *self, PyObject *row, PyObject *ident, PyObject *sid, PyObject *unloaded,
     PyObject *imap, PyObject **state_out)
{
    PyObject *obj;
    if (self->new_func == NULL)
        obj = PyBaseObject_Type.tp_new(self->cls, empty_tuple, NULL);
    else
        obj = PyObject_CallOneArg(self->new_func, (PyObject *)self->cls);
    if (obj == NULL)
        return NULL;
    if (store_row(self, obj, row) < 0)
        goto fail;
    PyObject *state = new_state(self, obj, ident, sid, unloaded);
    if (state == NULL)
        goto fail;
    int r = PyObject_GenericSetAttr(obj, self->state_attr, state);
    if (r == 0)
        r = PyDict_CheckExact(imap) ? PyDict_SetItem(imap, ident, state)
                                    : PyObject_SetItem(imap, ident, state);
    if (r < 0) {
        Py_DECREF(state);
        goto fail;
    }
    if (state_out != NULL)
        *state_out = state;
    else
        Py_DECREF(state);
    return obj;
fail:
    Py_DECREF(obj);
    return NULL;
}

static PyObject *
maker_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"cls", "new", "keys", "first", "state_attr", "state_type",
                             "ref_type", "gone", "fields", NULL};
    PyObject *cls, *new_func, *keys, *state_attr, *state_type, *ref_type, *gone, *fields;
    Py_ssize_t first;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!OO!nUO!O!OO!:Maker", kwlist,
                                     &PyType_Type, &cls, &new_func, &PyTuple_Type, &keys,
                                     &first, &state_attr, &PyType_Type, &state_type,
                                     &PyType_Type, &ref_type, &gone, &PyTuple_Type, &fields))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)state_type, (PyTypeObject *)ref_type) ||
            ((PyTypeObject *)ref_type)->tp_new == NULL) {
        PyErr_SetString(PyExc_TypeError, "Maker: state_type must subclass ref_type");
        return NULL;
    }
    if (first < 0) {
        PyErr_SetString(PyExc_ValueError, "Maker: first must be >= 0");
        return NULL;
    }
    Py_ssize_t nkeys = PyTuple_GET_SIZE(keys);
    for (Py_ssize_t i = 0; i < nkeys; i++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(keys, i))) {
            PyErr_SetString(PyExc_TypeError, "Maker: keys must be str");
            return NULL;
        }
    }
    MakerObject *self = (MakerObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->vectorcall = maker_vectorcall;
    self->cls = (PyTypeObject *)Py_NewRef(cls);
    self->new_func = new_func == Py_None ? NULL : Py_NewRef(new_func);
    self->keys = Py_NewRef(keys);
    self->first = first;
    self->state_attr = Py_NewRef(state_attr);
    self->state_type = (PyTypeObject *)Py_NewRef(state_type);
    self->ref_new = ((PyTypeObject *)ref_type)->tp_new;
    self->gone = Py_NewRef(gone);
    self->positions = PyTuple_New(nkeys);
    if (self->positions == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < nkeys; i++) {
        PyObject *p = PyLong_FromSsize_t(first + i);
        if (p == NULL)
            goto fail;
        PyTuple_SET_ITEM(self->positions, i, p);
    }
    /* fields: ((slot name, kind, constant), ...) */
    Py_ssize_t n = PyTuple_GET_SIZE(fields), nconst = 0;
    self->nfields = n;
    self->unloaded_offset = -1;
    self->offsets = PyMem_New(Py_ssize_t, n ? n : 1);
    self->kinds = PyMem_New(int, n ? n : 1);
    self->values = PyTuple_New(n);
    if (self->offsets == NULL || self->kinds == NULL || self->values == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *f = PyTuple_GET_ITEM(fields, i);
        PyObject *name, *value;
        int kind;
        if (!PyTuple_Check(f) || !PyArg_ParseTuple(f, "UiO", &name, &kind, &value)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "Maker: fields are (name, kind, value)");
            goto fail;
        }
        if (kind < FIELD_CONST || kind > FIELD_UNLOADED) {
            PyErr_Format(PyExc_ValueError, "Maker: field %R: unknown kind %d", name, kind);
            goto fail;
        }
        PyObject *descr = _PyType_Lookup((PyTypeObject *)state_type, name);
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type) ||
                ((PyMemberDescrObject *)descr)->d_member->type != Py_T_OBJECT_EX) {
            PyErr_Format(PyExc_TypeError, "Maker: %R is not a __slots__ slot of %R", name,
                         state_type);
            goto fail;
        }
        self->offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        self->kinds[i] = kind;
        if (kind == FIELD_UNLOADED)
            self->unloaded_offset = self->offsets[i];
        if (kind == FIELD_CONST)
            PyTuple_SET_ITEM(self->values, nconst++, Py_NewRef(value));
    }
    if (_PyTuple_Resize(&self->values, nconst) < 0)
        goto fail;
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

static PyObject *
row_item(PyObject *row, Py_ssize_t i)
{
    if (PyTuple_CheckExact(row)) {
        if (i >= PyTuple_GET_SIZE(row)) {
            PyErr_SetString(PyExc_IndexError, "row too short (datamapper row loader)");
            return NULL;
        }
        return Py_NewRef(PyTuple_GET_ITEM(row, i));
    }
    PyObject *index = PyLong_FromSsize_t(i);
    if (index == NULL)
        return NULL;
    PyObject *v = PyObject_GetItem(row, index);
    Py_DECREF(index);
    return v;
}

/* maker.load(rows, key_position, identity_map, sid, unloaded, always_refresh, out,
 *            refresh) -> None
 *
 * The generated fast loop of loading/rows.py in one call: for each row, None where
 * its key is NULL, else the object already in identity_map under the key (refreshed
 * first by refresh(state, obj, row) when always_refresh is true or the state has
 * expired attributes), else a new object; each appended to the list out.
 * refresh is called as refresh(state, obj, row, always_refresh, unloaded). */
static PyObject *
maker_load(MakerObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "Maker.load() takes 8 positional arguments");
        return NULL;
    }
    PyObject *rows = args[0], *imap = args[2], *sid = args[3], *unloaded = args[4];
    PyObject *out = args[6], *refresh = args[7];
    Py_ssize_t pk = PyLong_AsSsize_t(args[1]);
    if (pk == -1 && PyErr_Occurred())
        return NULL;
    int always = PyObject_IsTrue(args[5]);
    if (always < 0)
        return NULL;
    if (!PyDict_CheckExact(imap) || !PyList_CheckExact(out)) {
        PyErr_SetString(PyExc_TypeError, "Maker.load(): identity_map must be a dict, out a list");
        return NULL;
    }
    if (self->unloaded_offset < 0) {
        PyErr_SetString(PyExc_TypeError, "Maker.load(): the maker has no unloaded slot");
        return NULL;
    }
    PyObject *it = PyObject_GetIter(rows);
    if (it == NULL)
        return NULL;
    PyObject *row;
    while ((row = PyIter_Next(it)) != NULL) {
        PyObject *kv = row_item(row, pk);
        if (kv == NULL)
            goto fail_row;
        PyObject *found = NULL;
        if (kv != Py_None) {
            PyObject *state = PyDict_GetItemWithError(imap, kv);
            if (state == NULL && PyErr_Occurred())
                goto fail_kv;
            if (state != NULL) {
                if (!PyObject_TypeCheck(state, self->state_type)) {
                    PyErr_SetString(PyExc_TypeError,
                                    "Maker.load(): identity map entry is not a state");
                    goto fail_kv;
                }
                PyObject *obj = PyWeakref_GetObject(state);
                if (obj != Py_None) {
                    Py_INCREF(obj);
                    found = obj;
                    PyObject *expired = *(PyObject **)((char *)state + self->unloaded_offset);
                    int stale = always;
                    if (!stale && expired != NULL) {
                        stale = PyObject_IsTrue(expired);
                        if (stale < 0)
                            goto fail_found;
                    }
                    if (stale) {
                        Py_INCREF(state);
                        PyObject *r = PyObject_CallFunctionObjArgs(refresh, state, obj, row,
                                                                   args[5], unloaded, NULL);
                        Py_DECREF(state);
                        if (r == NULL)
                            goto fail_found;
                        Py_DECREF(r);
                    }
                }
            }
            if (found == NULL) {
                found = make(self, row, kv, sid, unloaded, imap, NULL);
                if (found == NULL)
                    goto fail_kv;
            }
        }
        int r = PyList_Append(out, found != NULL ? found : Py_None);
        Py_XDECREF(found);
        Py_DECREF(kv);
        Py_DECREF(row);
        if (r < 0)
            goto fail;
        continue;
    fail_found:
        Py_DECREF(found);
    fail_kv:
        Py_DECREF(kv);
    fail_row:
        Py_DECREF(row);
        goto fail;
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
fail:
    Py_DECREF(it);
    return NULL;
}

/* The object of identity-map entry ``state`` (a new reference), or NULL with no error
 * when the entry is not there or its object is gone.  A live object whose state has
 * expired attributes (or every one, with ``always``) is refreshed first by
 * refresh(state, obj, row, always_obj, unloaded).  *hit is set when the object was
 * found.  Returns NULL with an error set on failure. */
static PyObject *
found_object(MakerObject *self, PyObject *imap, PyObject *kv, PyObject *row, int always,
             PyObject *always_obj, PyObject *unloaded, PyObject *refresh, PyObject **state_out)
{
    PyObject *state = PyDict_GetItemWithError(imap, kv);
    if (state == NULL)
        return NULL;
    if (!PyObject_TypeCheck(state, self->state_type)) {
        PyErr_SetString(PyExc_TypeError, "Maker.load_joined(): identity map entry is not a state");
        return NULL;
    }
    PyObject *obj = PyWeakref_GetObject(state);
    if (obj == Py_None)
        return NULL;
    Py_INCREF(obj);
    Py_INCREF(state);
    PyObject *expired = *(PyObject **)((char *)state + self->unloaded_offset);
    int stale = always;
    if (!stale && expired != NULL) {
        stale = PyObject_IsTrue(expired);
        if (stale < 0)
            goto fail;
    }
    if (stale) {
        PyObject *r = PyObject_CallFunctionObjArgs(refresh, state, obj, row, always_obj,
                                                   unloaded, NULL);
        if (r == NULL)
            goto fail;
        Py_DECREF(r);
    }
    if (state_out != NULL)
        *state_out = state;
    else
        Py_DECREF(state);
    return obj;
fail:
    Py_DECREF(state);
    Py_DECREF(obj);
    return NULL;
}

/* pmaker.load_joined(cmaker, rows, parent_key_position, child_key_position,
 *                    parent_map, child_map, sid, parent_unloaded, child_unloaded,
 *                    parent_always_refresh, child_always_refresh, out, groups,
 *                    parent_refresh, child_refresh) -> (parent hits, child hits, nones)
 *
 * make_joined_loop() of loading/rows.py in one call: a parent's key is looked up (or
 * its object made) once per run of rows with the same key; each run appends
 * (parent, its state, [children of the run]) to groups and the parent to out (None,
 * and no group, for a run whose key is NULL).  Children with a NULL key are skipped;
 * the others are found in child_map (refreshed as for load()) or made. */
static PyObject *
maker_load_joined(MakerObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 15) {
        PyErr_SetString(PyExc_TypeError, "Maker.load_joined() takes 15 positional arguments");
        return NULL;
    }
    if (!PyObject_TypeCheck(args[0], Py_TYPE(self))) {
        PyErr_SetString(PyExc_TypeError, "Maker.load_joined(): the child maker must be a Maker");
        return NULL;
    }
    MakerObject *child = (MakerObject *)args[0];
    PyObject *rows = args[1], *pmap = args[4], *cmap = args[5], *sid = args[6];
    PyObject *punloaded = args[7], *cunloaded = args[8];
    PyObject *out = args[11], *groups = args[12], *prefresh = args[13], *crefresh = args[14];
    Py_ssize_t ppk = PyLong_AsSsize_t(args[2]);
    if (ppk == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t cpk = PyLong_AsSsize_t(args[3]);
    if (cpk == -1 && PyErr_Occurred())
        return NULL;
    int palways = PyObject_IsTrue(args[9]);
    if (palways < 0)
        return NULL;
    int calways = PyObject_IsTrue(args[10]);
    if (calways < 0)
        return NULL;
    if (!PyDict_CheckExact(pmap) || !PyDict_CheckExact(cmap) || !PyList_CheckExact(out) ||
            !PyList_CheckExact(groups)) {
        PyErr_SetString(PyExc_TypeError,
                        "Maker.load_joined(): identity maps must be dicts, out and groups lists");
        return NULL;
    }
    if (self->unloaded_offset < 0 || child->unloaded_offset < 0) {
        PyErr_SetString(PyExc_TypeError, "Maker.load_joined(): a maker has no unloaded slot");
        return NULL;
    }
    Py_ssize_t phits = 0, chits = 0, nones = 0;
    PyObject *last = NULL;   /* key of the current run (NULL: no row read yet) */
    PyObject *items = NULL;  /* children of the current run (NULL: a run without parent) */
    PyObject *row = NULL, *pkv = NULL, *ckv = NULL, *obj = NULL, *state = NULL;
    PyObject *it = PyObject_GetIter(rows);
    if (it == NULL)
        return NULL;
    while ((row = PyIter_Next(it)) != NULL) {
        pkv = row_item(row, ppk);
        if (pkv == NULL)
            goto fail;
        int new_run = 1;
        if (last != NULL) {
            int ne = PyObject_RichCompareBool(pkv, last, Py_NE);
            if (ne < 0)
                goto fail;
            new_run = ne;
        }
        if (new_run) {
            Py_XSETREF(last, Py_NewRef(pkv));
            Py_CLEAR(items);
            if (pkv == Py_None) {
                nones++;
                if (PyList_Append(out, Py_None) < 0)
                    goto fail;
                Py_CLEAR(pkv);
                Py_CLEAR(row);
                continue;
            }
            obj = found_object(self, pmap, pkv, row, palways, args[9], punloaded, prefresh,
                               &state);
            if (obj != NULL)
                phits++;
            else if (PyErr_Occurred())
                goto fail;
            else {
                obj = make(self, row, pkv, sid, punloaded, pmap, &state);
                if (obj == NULL)
                    goto fail;
            }
            items = PyList_New(0);
            if (items == NULL)
                goto fail;
            PyObject *group = PyTuple_Pack(3, obj, state, items);
            if (group == NULL)
                goto fail;
            int r = PyList_Append(groups, group);
            Py_DECREF(group);
            if (r < 0 || PyList_Append(out, obj) < 0)
                goto fail;
            Py_CLEAR(obj);
            Py_CLEAR(state);
        }
        else if (pkv == Py_None) {
            Py_CLEAR(pkv);
            Py_CLEAR(row);
            continue;
        }
        Py_CLEAR(pkv);
        ckv = row_item(row, cpk);
        if (ckv == NULL)
            goto fail;
        if (ckv != Py_None) {
            obj = found_object(child, cmap, ckv, row, calways, args[10], cunloaded, crefresh,
                               NULL);
            if (obj != NULL)
                chits++;
            else if (PyErr_Occurred())
                goto fail;
            else {
                obj = make(child, row, ckv, sid, cunloaded, cmap, NULL);
                if (obj == NULL)
                    goto fail;
            }
            if (items != NULL && PyList_Append(items, obj) < 0)
                goto fail;
            Py_CLEAR(obj);
        }
        Py_CLEAR(ckv);
        Py_CLEAR(row);
    }
    if (PyErr_Occurred())
        goto fail;
    Py_DECREF(it);
    Py_XDECREF(last);
    Py_XDECREF(items);
    return Py_BuildValue("(nnn)", phits, chits, nones);
fail:
    Py_XDECREF(row);
    Py_XDECREF(pkv);
    Py_XDECREF(ckv);
    Py_XDECREF(obj);
    Py_XDECREF(state);
    Py_XDECREF(last);
    Py_XDECREF(items);
    Py_DECREF(it);
    return NULL;
}

static PyMethodDef maker_methods[] = {
    {"load", (PyCFunction)(void (*)(void))maker_load, METH_FASTCALL,
     "load(rows, key_position, identity_map, sid, unloaded, always_refresh, out, refresh)"},
    {"load_joined", (PyCFunction)(void (*)(void))maker_load_joined, METH_FASTCALL,
     "load_joined(child_maker, rows, parent_key_position, child_key_position, parent_map, "
     "child_map, sid, parent_unloaded, child_unloaded, parent_always_refresh, "
     "child_always_refresh, out, groups, parent_refresh, child_refresh)"},
    {NULL, NULL, 0, NULL},
};

static int
maker_traverse(MakerObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cls);
    Py_VISIT(self->new_func);
    Py_VISIT(self->state_type);
    Py_VISIT(self->gone);
    Py_VISIT(self->values);
    return 0;
}

static int
maker_clear(MakerObject *self)
{
    Py_CLEAR(self->cls);
    Py_CLEAR(self->new_func);
    Py_CLEAR(self->keys);
    Py_CLEAR(self->positions);
    Py_CLEAR(self->state_attr);
    Py_CLEAR(self->state_type);
    Py_CLEAR(self->gone);
    Py_CLEAR(self->values);
    return 0;
}

static void
maker_dealloc(MakerObject *self)
{
    PyObject_GC_UnTrack(self);
    maker_clear(self);
    PyMem_Free(self->offsets);
    PyMem_Free(self->kinds);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject MakerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "datamapper._util._speedups.Maker",
    .tp_doc = "Maker(cls, new, keys, first, state_attr, state_type, ref_type, gone, fields)"
              "\n\nCalled as maker(row, ident, sid, unloaded, identity_map): the object "
              "of a new row, with its state, entered in identity_map under ident.",
    .tp_basicsize = sizeof(MakerObject),
    .tp_dealloc = (destructor)maker_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_HAVE_GC,
    .tp_vectorcall_offset = offsetof(MakerObject, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = (traverseproc)maker_traverse,
    .tp_clear = (inquiry)maker_clear,
    .tp_new = maker_new,
    .tp_methods = maker_methods,
};

/* ---------------------------------------------------------------------------------
 * Layout(state_type): the slots of InstanceState that expire() reads and writes.
 *
 * layout.expire(states, facts, describe, slow) is the commit/rollback/expire_all pass
 * of instance/state.py for the common state: its object alive, of exactly its
 * mapper's class, unchanged (``modified`` false) and without ``_extra`` facts.  For
 * such a state each of the mapper's expire keys is deleted from the instance with the
 * generic attribute delete (inline values stay inline: no __dict__ is made), then
 * ``expired_attributes`` = the keys and ``_committed`` = None.  Every other state goes
 * to ``slow(state, obj)``, the Python pass for one state.  ``facts`` caches, per
 * mapper, ``describe(mapper)``: None (every state of that mapper goes the slow way)
 * or ``(cls, keys as a frozenset, keys as a tuple)``.
 */
enum { L_MAPPER, L_EXTRA, L_MODIFIED, L_EXPIRED, L_COMMITTED, L_SID, L_KEY, L_IDENT,
       L_STRONG, L_COUNT };
static const char *layout_names[L_COUNT] = {
    "mapper", "_extra", "modified", "expired_attributes", "_committed", "session_id", "_key",
    "_ident", "_strong"};

typedef struct {
    PyObject_HEAD
    PyTypeObject *state_type;
    Py_ssize_t offsets[L_COUNT];
    newfunc ref_new;          /* weakref.ref's tp_new */
    PyObject *gone;           /* weak-reference callback of every state */
    Py_ssize_t nfresh;
    Py_ssize_t *fresh_offsets; /* each slot of a fresh state but ``mapper`` */
    PyObject *fresh_values;   /* tuple: its value */
} LayoutObject;

#define SLOT(self, st, i) (*(PyObject **)((char *)(st) + (self)->offsets[i]))

static int
slot_offset(PyTypeObject *state_type, const char *name, Py_ssize_t *offset)
{
    PyObject *key = PyUnicode_InternFromString(name);
    if (key == NULL)
        return -1;
    PyObject *descr = _PyType_Lookup(state_type, key);
    Py_DECREF(key);
    if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type) ||
            ((PyMemberDescrObject *)descr)->d_member->type != Py_T_OBJECT_EX) {
        PyErr_Format(PyExc_TypeError, "Layout: %s is not a __slots__ slot of %R", name,
                     state_type);
        return -1;
    }
    *offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    return 0;
}

/* Layout(state_type, gone=None, fresh=()): fresh is ((slot name, value), ...), the value
 * of every slot of a new transient state but ``mapper`` (for new_state()). */
static PyObject *
layout_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *state_type, *gone = Py_None, *fresh = NULL;
    if (!PyArg_ParseTuple(args, "O!|OO!:Layout", &PyType_Type, &state_type, &gone,
                          &PyTuple_Type, &fresh))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)state_type, &_PyWeakref_RefType)) {
        PyErr_SetString(PyExc_TypeError, "Layout: the state type must subclass weakref.ref");
        return NULL;
    }
    LayoutObject *self = (LayoutObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->state_type = (PyTypeObject *)Py_NewRef(state_type);
    self->ref_new = _PyWeakref_RefType.tp_new;
    self->gone = Py_NewRef(gone);
    for (int i = 0; i < L_COUNT; i++) {
        if (slot_offset(self->state_type, layout_names[i], &self->offsets[i]) < 0)
            goto fail;
    }
    Py_ssize_t n = fresh == NULL ? 0 : PyTuple_GET_SIZE(fresh);
    self->nfresh = n;
    self->fresh_offsets = PyMem_New(Py_ssize_t, n ? n : 1);
    self->fresh_values = PyTuple_New(n);
    if (self->fresh_offsets == NULL || self->fresh_values == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name, *value;
        PyObject *f = PyTuple_GET_ITEM(fresh, i);
        if (!PyTuple_Check(f) || !PyArg_ParseTuple(f, "UO", &name, &value)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "Layout: fresh slots are (name, value)");
            goto fail;
        }
        const char *cname = PyUnicode_AsUTF8(name);
        if (cname == NULL || slot_offset(self->state_type, cname, &self->fresh_offsets[i]) < 0)
            goto fail;
        if (self->fresh_offsets[i] == self->offsets[L_MAPPER]) {
            PyErr_SetString(PyExc_ValueError, "Layout: mapper is given to new_state()");
            goto fail;
        }
        PyTuple_SET_ITEM(self->fresh_values, i, Py_NewRef(value));
    }
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

/* layout.new_state(obj, mapper): a fresh transient state of obj (the weak reference
 * with the callback ``gone``, every fresh slot set, mapper in ``mapper``). */
static PyObject *
layout_new_state(LayoutObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "Layout.new_state(obj, mapper)");
        return NULL;
    }
    PyObject *pair = PyTuple_Pack(2, args[0], self->gone);
    if (pair == NULL)
        return NULL;
    PyObject *state = self->ref_new(self->state_type, pair, NULL);
    Py_DECREF(pair);
    if (state == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < self->nfresh; i++) {
        PyObject **slot = (PyObject **)((char *)state + self->fresh_offsets[i]);
        PyObject *old = *slot;
        *slot = Py_NewRef(PyTuple_GET_ITEM(self->fresh_values, i));
        Py_XDECREF(old);
    }
    PyObject **slot = (PyObject **)((char *)state + self->offsets[L_MAPPER]);
    PyObject *old = *slot;
    *slot = Py_NewRef(args[1]);
    Py_XDECREF(old);
    return state;
}

static int
delete_attr(PyObject *obj, PyObject *key)
{
    if (PyObject_GenericSetAttr(obj, key, NULL) == 0)
        return 0;
    if (!PyErr_ExceptionMatches(PyExc_AttributeError))
        return -1;
    PyErr_Clear();  /* (not loaded: nothing to delete) */
    return 0;
}

static PyObject *
layout_expire(LayoutObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "Layout.expire(states, facts, describe, slow)");
        return NULL;
    }
    PyObject *facts = args[1], *describe = args[2], *slow = args[3];
    if (!PyDict_CheckExact(facts)) {
        PyErr_SetString(PyExc_TypeError, "Layout.expire(): facts must be a dict");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[0], "Layout.expire(): states must be a sequence");
    if (seq == NULL)
        return NULL;
    PyObject *last_mapper = NULL, *last_facts = NULL;  /* borrowed (facts holds them) */
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *state = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyObject_TypeCheck(state, self->state_type)) {
            PyErr_Format(PyExc_TypeError, "Layout.expire(): %R is not a state", state);
            goto fail;
        }
        PyObject *obj = PyWeakref_GetObject(state);
        if (obj == Py_None)
            continue;
        PyObject *mapper = SLOT(self, state, L_MAPPER);
        if (mapper == NULL) {
            PyErr_SetString(PyExc_AttributeError, "Layout.expire(): a state without mapper");
            goto fail;
        }
        if (mapper != last_mapper) {
            PyObject *f = PyDict_GetItemWithError(facts, mapper);
            if (f == NULL) {
                if (PyErr_Occurred())
                    goto fail;
                f = PyObject_CallOneArg(describe, mapper);
                if (f == NULL)
                    goto fail;
                int r = PyDict_SetItem(facts, mapper, f);
                Py_DECREF(f);  /* (the dict keeps it) */
                if (r < 0)
                    goto fail;
                if (f != Py_None && !(PyTuple_CheckExact(f) && PyTuple_GET_SIZE(f) == 3 &&
                                      PyTuple_CheckExact(PyTuple_GET_ITEM(f, 2)))) {
                    PyErr_SetString(PyExc_TypeError,
                                    "Layout.expire(): describe() gives None or "
                                    "(cls, frozenset, tuple)");
                    goto fail;
                }
            }
            last_mapper = mapper;
            last_facts = f;
        }
        PyObject *extra = SLOT(self, state, L_EXTRA), *modified = SLOT(self, state, L_MODIFIED);
        Py_INCREF(obj);
        int r = 0;
        if (last_facts == Py_None || extra != Py_None || modified != Py_False ||
                (PyObject *)Py_TYPE(obj) != PyTuple_GET_ITEM(last_facts, 0)) {
            Py_INCREF(state);
            PyObject *res = PyObject_CallFunctionObjArgs(slow, state, obj, NULL);
            Py_DECREF(state);
            if (res == NULL)
                r = -1;
            Py_XDECREF(res);
        } else {
            PyObject *keys = PyTuple_GET_ITEM(last_facts, 2);
            for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(keys) && r == 0; k++)
                r = delete_attr(obj, PyTuple_GET_ITEM(keys, k));
            if (r == 0) {
                PyObject *old = SLOT(self, state, L_EXPIRED);
                SLOT(self, state, L_EXPIRED) = Py_NewRef(PyTuple_GET_ITEM(last_facts, 1));
                Py_XDECREF(old);
                old = SLOT(self, state, L_COMMITTED);
                SLOT(self, state, L_COMMITTED) = Py_NewRef(Py_None);
                Py_XDECREF(old);
            }
        }
        Py_DECREF(obj);
        if (r < 0)
            goto fail;
    }
    Py_DECREF(seq);
    Py_RETURN_NONE;
fail:
    Py_DECREF(seq);
    return NULL;
}

#include "_speedups_flush.h"

static PyMethodDef layout_methods[] = {
    {"link_children", (PyCFunction)(void (*)(void))layout_link_children, METH_FASTCALL,
     "link_children(links, state, children, start, link_type, src_keys, dest_keys, prop, "
     "post, sid, deleting, target, state_attr, kept): see _speedups_flush.h"},
    {"copy_keys", (PyCFunction)(void (*)(void))layout_copy_keys, METH_FASTCALL,
     "copy_keys(links, states, start, link_type): see _speedups_flush.h"},
    {"file_new", (PyCFunction)(void (*)(void))layout_file_new, METH_FASTCALL,
     "file_new(states, start, mapper, key_attr, inner, lazy_key, weak, expire): see "
     "_speedups_flush.h"},
    {"unkeyed", (PyCFunction)(void (*)(void))layout_unkeyed, METH_FASTCALL,
     "unkeyed(states, start, mapper, key_attr, links): see _speedups_flush.h"},
    {"state_of", (PyCFunction)(void (*)(void))layout_state_of, METH_FASTCALL,
     "state_of(obj, state_attr): obj's state, made when it has none (see _speedups_flush.h)"},
    {"expire", (PyCFunction)(void (*)(void))layout_expire, METH_FASTCALL,
     "expire(states, facts, describe, slow): expire each state (see _speedups.c)"},
    {"new_state", (PyCFunction)(void (*)(void))layout_new_state, METH_FASTCALL,
     "new_state(obj, mapper): a fresh transient state of obj"},
    {NULL, NULL, 0, NULL},
};

static void
layout_dealloc(LayoutObject *self)
{
    Py_XDECREF(self->state_type);
    Py_XDECREF(self->gone);
    Py_XDECREF(self->fresh_values);
    PyMem_Free(self->fresh_offsets);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject LayoutType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "datamapper._util._speedups.Layout",
    .tp_doc = "Layout(state_type, gone, fresh): new_state() and expire() (see _speedups.c)",
    .tp_basicsize = sizeof(LayoutObject),
    .tp_dealloc = (destructor)layout_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = layout_new,
    .tp_methods = layout_methods,
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT, "datamapper._util._speedups",
    "Optional C accelerators of datamapper's row loading.", -1, NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    empty_tuple = PyTuple_New(0);
    if (empty_tuple == NULL || PyType_Ready(&MakerType) < 0 || PyType_Ready(&LayoutType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&speedups_module);
    if (m == NULL)
        return NULL;
    /* what datamapper/_util/accel.py expects: a module built from older source (a
     * checkout updated without reinstalling) is not used */
    if (PyModule_AddIntConstant(m, "API_VERSION", SPEEDUPS_API_VERSION) < 0 ||
            PyModule_AddIntConstant(m, "FIELD_CONST", FIELD_CONST) < 0 ||
            PyModule_AddIntConstant(m, "FIELD_IDENT", FIELD_IDENT) < 0 ||
            PyModule_AddIntConstant(m, "FIELD_SID", FIELD_SID) < 0 ||
            PyModule_AddIntConstant(m, "FIELD_UNLOADED", FIELD_UNLOADED) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&MakerType);
    if (PyModule_AddObject(m, "Maker", (PyObject *)&MakerType) < 0) {
        Py_DECREF(&MakerType);
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&LayoutType);
    if (PyModule_AddObject(m, "Layout", (PyObject *)&LayoutType) < 0) {
        Py_DECREF(&LayoutType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
