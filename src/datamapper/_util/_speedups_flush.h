/* The flush's per-object loops over the links of new rows, in C (included by
 * _speedups.c, of whose translation unit it is part: it uses LayoutObject, SLOT and
 * slot_offset from there).
 *
 * A flush of a new object graph records, for each new child of a one-to-many, a Link
 * (unitofwork/links.py): "this child's foreign key takes its parent's key".  The
 * Python loops that make these records (unitofwork/dependency.py
 * ``_Collector.one_to_many_added``) and copy the keys once the parents are inserted
 * (unitofwork/flush_execute.py ``apply_links``) stay the reference; these functions do
 * the common case of each and hand every other one back, by position, so that the
 * Python loop handles that one item and calls again from the next.  The dictionaries
 * they fill are the ones the Python loops fill, entry for entry and in the same order
 * (tests/unitofwork/test_flush_speedups.py compares them).
 *
 * Link is a dataclass with __slots__ whose __init__ only stores its six fields: a
 * Link is made here by allocating the instance and filling its slots.
 */

enum { K_DEST, K_SRC, K_SRC_KEYS, K_DEST_KEYS, K_PROP, K_POST, K_COUNT };
static const char *link_names[K_COUNT] = {
    "dest", "src", "src_keys", "dest_keys", "prop", "post"};

/* the slot offsets of the last Link type seen (one type in practice) */
static PyTypeObject *link_type_seen = NULL;
static Py_ssize_t link_offsets[K_COUNT];

#define LSLOT(link, i) (*(PyObject **)((char *)(link) + link_offsets[i]))

static int
link_layout(PyObject *type)
{
    if ((PyTypeObject *)type == link_type_seen)
        return 0;
    if (!PyType_Check(type)) {
        PyErr_SetString(PyExc_TypeError, "the link type must be a class");
        return -1;
    }
    for (int i = 0; i < K_COUNT; i++) {
        if (slot_offset((PyTypeObject *)type, link_names[i], &link_offsets[i]) < 0) {
            link_type_seen = NULL;
            return -1;
        }
    }
    Py_XDECREF(link_type_seen);
    link_type_seen = (PyTypeObject *)Py_NewRef(type);
    return 0;
}

static PyObject *
new_link(PyObject *dest, PyObject *src, PyObject *src_keys, PyObject *dest_keys,
         PyObject *prop, PyObject *post)
{
    PyObject *link = link_type_seen->tp_alloc(link_type_seen, 0);
    if (link == NULL)
        return NULL;
    LSLOT(link, K_DEST) = Py_NewRef(dest);
    LSLOT(link, K_SRC) = Py_NewRef(src);
    LSLOT(link, K_SRC_KEYS) = Py_NewRef(src_keys);
    LSLOT(link, K_DEST_KEYS) = Py_NewRef(dest_keys);
    LSLOT(link, K_PROP) = Py_NewRef(prop);
    LSLOT(link, K_POST) = Py_NewRef(post);
    return link;
}

static PyObject *str_dict = NULL;  /* "__dict__" */

/* obj.__dict__ (a new reference), or NULL with an exception */
static PyObject *
dict_of(PyObject *obj)
{
    if (str_dict == NULL && (str_dict = PyUnicode_InternFromString("__dict__")) == NULL)
        return NULL;
    return PyObject_GetAttr(obj, str_dict);
}

/* The opening shared by the scanning loops below (link_children, copy_keys,
 * file_new, unkeyed): ``args[start_at]`` as the position to start from (negative:
 * 0) and ``args[seq_at]`` as a fast sequence (a new reference; NULL with the
 * exception set, ``usage`` its message when the argument is no sequence). */
static PyObject *
scan_begin(PyObject *const *args, int seq_at, int start_at, const char *usage,
           Py_ssize_t *start)
{
    *start = PyLong_AsSsize_t(args[start_at]);
    if (*start == -1 && PyErr_Occurred())
        return NULL;
    if (*start < 0)
        *start = 0;
    return PySequence_Fast(args[seq_at], usage);
}

/* Their closing: the sequence released, the position reached returned (``i`` < 0:
 * NULL, the exception raised in the loop stays set). */
static PyObject *
scan_end(PyObject *seq, Py_ssize_t i)
{
    Py_DECREF(seq);
    return i < 0 ? NULL : PyLong_FromSsize_t(i);
}

/* layout.link_children(links, state, children, start, link_type, src_keys, dest_keys,
 *                      prop, post, sid, deleting, target, state_attr, kept) -> int
 *
 * For children[start:], in order, the loop body of _Collector.one_to_many_added for a
 * child whose state (children[i].__dict__[state_attr], exactly of the layout's state
 * type) is in the session ``sid``, not in ``deleting`` and of the mapper ``target``:
 * ``kept.add((prop, child_state))`` unless kept is None, then
 * ``links[child_state][dest_keys] = Link(child_state, state, src_keys, dest_keys, prop,
 * post)`` (a new dict when the child has none).  Returns the position of the first
 * child that is not such a one (the caller runs the Python body for it and calls
 * again from the next), or len(children) when all were. */
static PyObject *
layout_link_children(LayoutObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 14) {
        PyErr_SetString(PyExc_TypeError,
                        "Layout.link_children() takes 14 arguments (see _speedups_flush.h)");
        return NULL;
    }
    PyObject *links = args[0], *state = args[1], *src_keys = args[5], *dest_keys = args[6];
    PyObject *prop = args[7], *post = args[8], *sid = args[9], *deleting = args[10];
    PyObject *target = args[11], *state_attr = args[12], *kept = args[13];
    if (!PyDict_CheckExact(links) || (kept != Py_None && !PyAnySet_Check(kept))) {
        PyErr_SetString(PyExc_TypeError,
                        "Layout.link_children(): links must be a dict, kept a set or None");
        return NULL;
    }
    if (link_layout(args[4]) < 0)
        return NULL;
    Py_ssize_t i;
    PyObject *seq = scan_begin(args, 2, 3, "Layout.link_children(): children must be a sequence",
                               &i);
    if (seq == NULL)
        return NULL;
    for (; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *child = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *d = dict_of(child);
        if (d == NULL)
            goto fail;
        PyObject *cst = PyDict_Check(d) ? PyDict_GetItemWithError(d, state_attr) : NULL;
        Py_DECREF(d);  /* (the object keeps its dict, which keeps cst) */
        if (cst == NULL) {
            if (PyErr_Occurred())
                goto fail;
            break;
        }
        if (Py_TYPE(cst) != self->state_type)
            break;
        PyObject *csid = SLOT(self, cst, L_SID);
        if (csid != sid) {
            int same = csid == NULL ? 0 : PyObject_RichCompareBool(csid, sid, Py_EQ);
            if (same < 0)
                goto fail;
            if (!same)
                break;
        }
        int dying = PyAnySet_Check(deleting) ? PySet_Contains(deleting, cst)
                                              : PySequence_Contains(deleting, cst);
        if (dying < 0)
            goto fail;
        if (dying || SLOT(self, cst, L_MAPPER) != target)
            break;
        Py_INCREF(cst);
        if (kept != Py_None) {
            PyObject *pair = PyTuple_Pack(2, prop, cst);
            int r = pair == NULL ? -1 : PySet_Add(kept, pair);
            Py_XDECREF(pair);
            if (r < 0) {
                Py_DECREF(cst);
                goto fail;
            }
        }
        PyObject *link = new_link(cst, state, src_keys, dest_keys, prop, post);
        if (link == NULL) {
            Py_DECREF(cst);
            goto fail;
        }
        PyObject *per = PyDict_GetItemWithError(links, cst);
        int r;
        if (per != NULL) {
            r = PyObject_SetItem(per, dest_keys, link);
        } else if (PyErr_Occurred()) {
            r = -1;
        } else {
            PyObject *fresh = PyDict_New();
            r = fresh == NULL ? -1 : PyDict_SetItem(fresh, dest_keys, link);
            if (r == 0)
                r = PyDict_SetItem(links, cst, fresh);
            Py_XDECREF(fresh);
        }
        Py_DECREF(link);
        Py_DECREF(cst);
        if (r < 0)
            goto fail;
    }
    return scan_end(seq, i);
fail:
    return scan_end(seq, -1);
}

/* layout.copy_keys(links, states, start, link_type) -> int
 *
 * For states[start:], in order, apply_links' common case: a state with no links is
 * passed by; a new one (``_key`` None, no ``_extra``) whose every link is not a
 * post-update, has a source state whose object holds the one source key attribute,
 * and names one destination attribute, gets that value stored in its object's
 * __dict__ for each link.  Returns the position of the first state that is neither
 * (the caller runs the Python body for it, and calls again from the next), or
 * len(states). */
static PyObject *
layout_copy_keys(LayoutObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "Layout.copy_keys(links, states, start, link_type)");
        return NULL;
    }
    PyObject *links = args[0];
    if (!PyDict_CheckExact(links)) {
        PyErr_SetString(PyExc_TypeError, "Layout.copy_keys(): links must be a dict");
        return NULL;
    }
    if (link_layout(args[3]) < 0)
        return NULL;
    Py_ssize_t i;
    PyObject *seq = scan_begin(args, 1, 2, "Layout.copy_keys(): states must be a sequence", &i);
    if (seq == NULL)
        return NULL;
    for (; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *s = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *per = PyDict_GetItemWithError(links, s);
        if (per == NULL) {
            if (PyErr_Occurred())
                goto fail;
            continue;
        }
        if (!PyDict_CheckExact(per) || Py_TYPE(s) != self->state_type ||
                SLOT(self, s, L_KEY) != Py_None || SLOT(self, s, L_EXTRA) != Py_None)
            break;
        PyObject *obj = PyWeakref_GetObject(s);
        if (obj == Py_None)
            break;
        /* every link first: the state is handed back untouched unless all qualify */
        Py_ssize_t pos = 0;
        PyObject *k, *link;
        int fine = 1;
        while (fine && PyDict_Next(per, &pos, &k, &link)) {
            if (Py_TYPE(link) != link_type_seen || LSLOT(link, K_POST) != Py_False)
                fine = 0;
            else {
                PyObject *src = LSLOT(link, K_SRC), *sk = LSLOT(link, K_SRC_KEYS);
                PyObject *dk = LSLOT(link, K_DEST_KEYS);
                fine = Py_TYPE(src) == self->state_type && PyTuple_CheckExact(sk) &&
                       PyTuple_GET_SIZE(sk) == 1 && PyTuple_CheckExact(dk) &&
                       PyTuple_GET_SIZE(dk) == 1 && PyWeakref_GetObject(src) != Py_None;
            }
        }
        if (!fine)
            break;
        Py_INCREF(obj);
        PyObject *d = dict_of(obj);
        Py_DECREF(obj);
        if (d == NULL)
            goto fail;
        pos = 0;
        int r = 0, handed_back = 0;
        while (r == 0 && !handed_back && PyDict_Next(per, &pos, &k, &link)) {
            PyObject *src_obj = PyWeakref_GetObject(LSLOT(link, K_SRC));
            Py_INCREF(src_obj);
            PyObject *sd = dict_of(src_obj);
            Py_DECREF(src_obj);
            if (sd == NULL) {
                r = -1;
                break;
            }
            PyObject *v = PyDict_Check(sd)
                ? PyDict_GetItemWithError(sd, PyTuple_GET_ITEM(LSLOT(link, K_SRC_KEYS), 0))
                : NULL;
            if (v == NULL) {
                /* a source expired by a commit (its key to be loaded): the Python way */
                if (PyErr_Occurred())
                    r = -1;
                else
                    handed_back = 1;
            } else {
                Py_INCREF(v);
                r = PyObject_SetItem(d, PyTuple_GET_ITEM(LSLOT(link, K_DEST_KEYS), 0), v);
                Py_DECREF(v);
            }
            Py_DECREF(sd);
        }
        Py_DECREF(d);
        if (r < 0)
            goto fail;
        if (handed_back)
            break;  /* (the links copied so far are copied again there: the same values) */
    }
    return scan_end(seq, i);
fail:
    return scan_end(seq, -1);
}

static PyObject *str_dm_mapper = NULL;  /* "_dm_mapper" */
static PyObject *str_props = NULL;      /* "_props" */

/* layout.state_of(obj, state_attr) -> state or None
 *
 * instance.state.instance_state's making of a state, for an object reached by a
 * cascade: ``obj.__dict__[state_attr]`` when it is there; else, for an object whose
 * class (its own __dict__) names its mapper in ``_dm_mapper``, a fresh state
 * (new_state), ``modified`` when the object already holds a value of one of the
 * mapper's ``_props`` (the keyword constructor leaves the state to be made here),
 * stored in ``obj.__dict__[state_attr]``.  None for any other object: the caller
 * asks instance_state(), which raises what it raises. */
static PyObject *
layout_state_of(LayoutObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "Layout.state_of(obj, state_attr)");
        return NULL;
    }
    PyObject *obj = args[0], *state_attr = args[1];
    if ((str_dm_mapper == NULL &&
            (str_dm_mapper = PyUnicode_InternFromString("_dm_mapper")) == NULL) ||
            (str_props == NULL && (str_props = PyUnicode_InternFromString("_props")) == NULL))
        return NULL;
    PyObject *d = dict_of(obj);
    if (d == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return NULL;
        PyErr_Clear();  /* (no __dict__: instance_state() says what is wrong) */
        Py_RETURN_NONE;
    }
    PyObject *result = NULL;
    if (!PyDict_Check(d)) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *st = PyDict_GetItemWithError(d, state_attr);
    if (st != NULL || PyErr_Occurred()) {
        result = Py_XNewRef(st);
        goto done;
    }
    PyObject *mapper = PyDict_GetItemWithError(Py_TYPE(obj)->tp_dict, str_dm_mapper);
    if (mapper == NULL) {
        if (!PyErr_Occurred())
            result = Py_NewRef(Py_None);
        goto done;
    }
    Py_INCREF(mapper);
    PyObject *props = PyObject_GetAttr(mapper, str_props);
    if (props == NULL) {
        Py_DECREF(mapper);
        goto done;
    }
    int held = 0;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (!held && PyDict_Next(d, &pos, &k, &v)) {
        held = PySequence_Contains(props, k);
        if (held < 0)
            break;
    }
    if (held >= 0) {
        PyObject *argv[2] = {obj, mapper};
        PyObject *state = layout_new_state(self, argv, 2);
        if (state != NULL && held) {
            PyObject *old = SLOT(self, state, L_MODIFIED);
            SLOT(self, state, L_MODIFIED) = Py_NewRef(Py_True);
            Py_XDECREF(old);
        }
        if (state != NULL && PyDict_SetItem(d, state_attr, state) < 0)
            Py_CLEAR(state);
        result = state;
    }
    Py_DECREF(props);
    Py_DECREF(mapper);
done:
    Py_DECREF(d);
    return result;
}

static void
set_slot(LayoutObject *self, PyObject *state, int i, PyObject *value)
{
    PyObject *old = SLOT(self, state, i);
    SLOT(self, state, i) = Py_NewRef(value);
    Py_XDECREF(old);
}

/* layout.file_new(states, start, mapper, key_attr, inner, lazy_key, weak, expire) -> int
 *
 * For states[start:], in order, UOWTransaction._finalize_inserted's body for a new
 * row's state of ``mapper`` (a one-column key ``key_attr``, no identity token) whose
 * object is alive and which has no entry in ``expire``: ``_committed`` None,
 * ``modified`` False, ``_key`` = lazy_key, ``_ident`` = the object's key value,
 * filed as ``inner[ident] = state``, ``_strong`` = None when ``weak`` else the object.
 * Returns the position of the first state that is not such a one (the caller runs
 * the Python body for it), or len(states). */
static PyObject *
layout_file_new(LayoutObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "Layout.file_new(states, start, mapper, key_attr, "
                        "inner, lazy_key, weak, expire)");
        return NULL;
    }
    PyObject *mapper = args[2], *key_attr = args[3], *inner = args[4], *lazy_key = args[5];
    PyObject *expire = args[7];
    int weak = PyObject_IsTrue(args[6]);
    if (weak < 0)
        return NULL;
    if (!PyDict_Check(expire)) {
        PyErr_SetString(PyExc_TypeError, "Layout.file_new(): expire must be a dict");
        return NULL;
    }
    Py_ssize_t i;
    PyObject *seq = scan_begin(args, 0, 1, "Layout.file_new(): states must be a sequence", &i);
    if (seq == NULL)
        return NULL;
    for (; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *state = PySequence_Fast_GET_ITEM(seq, i);
        if (Py_TYPE(state) != self->state_type || SLOT(self, state, L_MAPPER) != mapper)
            break;
        if (PyDict_GET_SIZE(expire)) {
            int listed = PyDict_Contains(expire, state);
            if (listed < 0)
                goto fail;
            if (listed)
                break;
        }
        PyObject *obj = PyWeakref_GetObject(state);
        if (obj == Py_None)
            break;
        Py_INCREF(obj);
        PyObject *d = dict_of(obj);
        if (d == NULL) {
            Py_DECREF(obj);
            goto fail;
        }
        PyObject *ident = PyDict_Check(d) ? PyDict_GetItemWithError(d, key_attr) : NULL;
        if (ident == NULL && PyErr_Occurred()) {
            Py_DECREF(d);
            Py_DECREF(obj);
            goto fail;
        }
        if (ident == NULL)
            ident = Py_None;
        Py_INCREF(ident);
        Py_DECREF(d);
        set_slot(self, state, L_COMMITTED, Py_None);
        set_slot(self, state, L_MODIFIED, Py_False);
        set_slot(self, state, L_KEY, lazy_key);
        set_slot(self, state, L_IDENT, ident);
        int r = PyObject_SetItem(inner, ident, state);
        Py_DECREF(ident);
        if (r == 0)
            set_slot(self, state, L_STRONG, weak ? Py_None : obj);
        Py_DECREF(obj);
        if (r < 0)
            goto fail;
    }
    return scan_end(seq, i);
fail:
    return scan_end(seq, -1);
}

/* layout.unkeyed(states, start, mapper, key_attr, links) -> int
 *
 * For states[start:], in order, the common case of flush_checks.check: a new row's
 * state of ``mapper`` (a one-column key ``key_attr``) whose object is alive, holds no
 * value for the key (None or missing: the database assigns it) and has no link
 * naming the key attribute among its destination keys.  Such a row can't conflict
 * with another: it is passed by.  Returns the position of the first state that is not
 * such a one (the caller checks it the Python way), or len(states). */
static PyObject *
layout_unkeyed(LayoutObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError,
                        "Layout.unkeyed(states, start, mapper, key_attr, links)");
        return NULL;
    }
    PyObject *mapper = args[2], *key_attr = args[3], *links = args[4];
    if (!PyDict_Check(links)) {
        PyErr_SetString(PyExc_TypeError, "Layout.unkeyed(): links must be a dict");
        return NULL;
    }
    Py_ssize_t i;
    PyObject *seq = scan_begin(args, 0, 1, "Layout.unkeyed(): states must be a sequence", &i);
    if (seq == NULL)
        return NULL;
    for (; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *state = PySequence_Fast_GET_ITEM(seq, i);
        if (Py_TYPE(state) != self->state_type || SLOT(self, state, L_MAPPER) != mapper)
            break;
        PyObject *per = PyDict_GetItemWithError(links, state);
        if (per == NULL && PyErr_Occurred())
            goto fail;
        if (per != NULL) {
            if (!PyDict_CheckExact(per))
                break;
            Py_ssize_t pos = 0;
            PyObject *dk, *v;
            int names_key = 0;
            while (!names_key && PyDict_Next(per, &pos, &dk, &v)) {
                names_key = PySequence_Contains(dk, key_attr);
                if (names_key < 0)
                    goto fail;
            }
            if (names_key)
                break;
        }
        PyObject *obj = PyWeakref_GetObject(state);
        if (obj == Py_None)
            break;
        Py_INCREF(obj);
        PyObject *d = dict_of(obj);
        Py_DECREF(obj);
        if (d == NULL)
            goto fail;
        PyObject *value = PyDict_Check(d) ? PyDict_GetItemWithError(d, key_attr) : NULL;
        int failed = value == NULL && PyErr_Occurred();
        int keyed = value != NULL && value != Py_None;
        Py_DECREF(d);
        if (failed)
            goto fail;
        if (keyed)
            break;
    }
    return scan_end(seq, i);
fail:
    return scan_end(seq, -1);
}
