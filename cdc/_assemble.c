/* The CDC worker's compiled assembling of row records into Kafka sends, and Kafka's murmur2.
 *
 * See cdc/assemble.py: it hands this file the runs of row records of a transaction, and
 * does itself whatever this file leaves (a record it does not take ends the run): key
 * moves, partition keys of several columns or NULL, tables with a version column, and every
 * record that is not a row. The JSON of values comes from the same msgspec encoder.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ROW_INDEX_LIMIT (1LL << 48)

static PyObject *s_R, *s_ops[3];

static uint32_t murmur2_hash(const unsigned char *data, Py_ssize_t length) {
    const uint32_t m = 0x5bd1e995;
    uint32_t h = 0x9747b28cU ^ (uint32_t)length;
    Py_ssize_t blocks = length / 4;
    for (Py_ssize_t i = 0; i < blocks; i++) {
        const unsigned char *b = data + 4 * i;
        uint32_t k = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16
            | (uint32_t)b[3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    const unsigned char *tail = data + 4 * blocks;
    switch (length & 3) {
    case 3: h ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: h ^= (uint32_t)tail[1] << 8; /* fall through */
    case 1: h ^= tail[0]; h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

static PyObject *murmur2(PyObject *module, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    uint32_t h = murmur2_hash(view.buf, view.len);
    PyBuffer_Release(&view);
    return PyLong_FromLong((long)(int32_t)h);
}

/* An instance of a tuple subclass (a NamedTuple) holding ``items`` (stolen): what its
 * generated __new__ makes, without the Python call. */
static PyObject *named(PyObject *cls, PyObject *items) {
    if (items == NULL) return NULL;
    PyObject *args = PyTuple_Pack(1, items);
    Py_DECREF(items);
    if (args == NULL) return NULL;
    PyObject *out = PyTuple_Type.tp_new((PyTypeObject *)cls, args, NULL);
    Py_DECREF(args);
    return out;
}

static PyObject *get(PyObject *dict, PyObject *key) { /* borrowed; None if missing */
    PyObject *value = PyDict_GetItemWithError(dict, key);
    return value != NULL ? value : (PyErr_Occurred() ? NULL : Py_None);
}

typedef struct {
    PyObject *plans, *source_head, *source_tail, *state, *file, *txn_pos, *version_prefix,
        *encode, *emit, *position;
    Py_ssize_t partitions;
} Txn;

/* Appends the Emit of one row record, or answers 0 when the record is not one this file
 * takes (nothing appended), -1 on an error. */
static int row(const Txn *t, PyObject *record, PyObject *out) {
    if (!PyTuple_CheckExact(record) || PyTuple_GET_SIZE(record) != 6) return 0;
    PyObject *tag = PyTuple_GET_ITEM(record, 0);
    if (tag != s_R && !(PyUnicode_Check(tag) && PyUnicode_Compare(tag, s_R) == 0)) return 0;
    PyObject *op = PyTuple_GET_ITEM(record, 1), *table = PyTuple_GET_ITEM(record, 2);
    PyObject *before = PyTuple_GET_ITEM(record, 3), *after = PyTuple_GET_ITEM(record, 4);
    int which = -1;
    for (int i = 0; i < 3; i++)
        if (op == s_ops[i] || (PyUnicode_Check(op) && PyUnicode_Compare(op, s_ops[i]) == 0)) {
            which = i;
            break;
        }
    if (which < 0 || PyErr_Occurred()) return PyErr_Occurred() ? -1 : 0;
    if ((before != Py_None && !PyDict_CheckExact(before))
            || (after != Py_None && !PyDict_CheckExact(after)) || (after == Py_None
                                                               && before == Py_None))
        return 0;
    long long row_index = PyLong_AsLongLong(PyTuple_GET_ITEM(record, 5));
    if (row_index == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (row_index <= 0 || row_index >= ROW_INDEX_LIMIT) return 0;
    PyObject *plan = PyDict_GetItemWithError(t->plans, table);
    if (plan == NULL) return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_Check(plan) || PyTuple_GET_SIZE(plan) != 5
            || !PyTuple_Check(PyTuple_GET_ITEM(plan, 0))
            || PyTuple_GET_SIZE(PyTuple_GET_ITEM(plan, 0)) != 3) {
        PyErr_SetString(PyExc_TypeError, "a table plan must be (heads, pk, partition columns, "
                        "key columns, binlog versions)");
        return -1;
    }
    for (int i = 1; i < 4; i++)
        if (!PyTuple_Check(PyTuple_GET_ITEM(plan, i))) {
            PyErr_SetString(PyExc_TypeError, "a table plan's columns must be tuples");
            return -1;
        }
    /* (heads by op, pk, partition columns, key columns, binlog versions) */
    PyObject *heads = PyTuple_GET_ITEM(plan, 0), *pk = PyTuple_GET_ITEM(plan, 1);
    PyObject *partition = PyTuple_GET_ITEM(plan, 2), *keys = PyTuple_GET_ITEM(plan, 3);
    if (!PyObject_IsTrue(PyTuple_GET_ITEM(plan, 4)) || PyTuple_GET_SIZE(partition) != 1)
        return 0;
    if (which == 1) { /* an update that moves the row's key is two events */
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(keys); i++) {
            PyObject *name = PyTuple_GET_ITEM(keys, i);
            PyObject *b = get(before, name), *a = get(after, name);
            if (b == NULL || a == NULL) return -1;
            int moved = PyObject_RichCompareBool(b, a, Py_NE);
            if (moved) return moved < 0 ? -1 : 0;
        }
    }
    PyObject *image = after != Py_None ? after : before;
    PyObject *key_value = get(image, PyTuple_GET_ITEM(partition, 0));
    if (key_value == NULL) return -1;
    if (key_value == Py_None) return 0;

    int result = -1;
    PyObject *key_text = NULL, *pk_dict = NULL, *pk_json = NULL, *key_json = NULL,
        *before_json = NULL, *after_json = NULL, *value = NULL, *key = NULL,
        *position = NULL, *emit = NULL;
    key_text = PyObject_Str(key_value);
    if (key_text == NULL) goto done;
    pk_dict = PyDict_New();
    if (pk_dict == NULL) goto done;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(pk); i++) {
        PyObject *name = PyTuple_GET_ITEM(pk, i), *v = get(image, name);
        if (v == NULL || PyDict_SetItem(pk_dict, name, v) < 0) goto done;
    }
    pk_json = PyObject_CallOneArg(t->encode, pk_dict);
    key_json = pk_json ? PyObject_CallOneArg(t->encode, key_text) : NULL;
    before_json = key_json ? PyObject_CallOneArg(t->encode, before) : NULL;
    after_json = before_json ? PyObject_CallOneArg(t->encode, after) : NULL;
    if (after_json == NULL) goto done;
    PyObject *head = PyTuple_GET_ITEM(heads, which);
    PyObject *parts[] = {head, pk_json, key_json, before_json, after_json, t->version_prefix,
                         t->source_head, t->source_tail};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (!PyBytes_Check(parts[i])) {
            PyErr_SetString(PyExc_TypeError, "assembling needs bytes from the encoder");
            goto done;
        }
    static const char KEY[] = ",\"key\":", BEFORE[] = ",\"before\":", AFTER[] = ",\"after\":",
        VERSION[] = ",\"version\":\"";
    char version[16], index[24];
    int version_len = snprintf(version, sizeof version, "%012llx\"", row_index);
    int index_len = snprintf(index, sizeof index, "%lld", row_index);
    Py_ssize_t size = PyBytes_GET_SIZE(head) + PyBytes_GET_SIZE(pk_json)
        + (Py_ssize_t)sizeof KEY - 1 + PyBytes_GET_SIZE(key_json)
        + (Py_ssize_t)sizeof BEFORE - 1 + PyBytes_GET_SIZE(before_json)
        + (Py_ssize_t)sizeof AFTER - 1 + PyBytes_GET_SIZE(after_json)
        + (Py_ssize_t)sizeof VERSION - 1 + PyBytes_GET_SIZE(t->version_prefix) + version_len
        + PyBytes_GET_SIZE(t->source_head) + index_len + PyBytes_GET_SIZE(t->source_tail);
    value = PyBytes_FromStringAndSize(NULL, size);
    if (value == NULL) goto done;
    char *w = PyBytes_AS_STRING(value);
#define PUT(p, n) (memcpy(w, (p), (size_t)(n)), w += (n))
#define PUT_BYTES(o) PUT(PyBytes_AS_STRING(o), PyBytes_GET_SIZE(o))
    PUT_BYTES(head);
    PUT_BYTES(pk_json);
    PUT(KEY, sizeof KEY - 1);
    PUT_BYTES(key_json);
    PUT(BEFORE, sizeof BEFORE - 1);
    PUT_BYTES(before_json);
    PUT(AFTER, sizeof AFTER - 1);
    PUT_BYTES(after_json);
    PUT(VERSION, sizeof VERSION - 1);
    PUT_BYTES(t->version_prefix);
    PUT(version, version_len);
    PUT_BYTES(t->source_head);
    PUT(index, index_len);
    PUT_BYTES(t->source_tail);
#undef PUT_BYTES
#undef PUT
    key = PyUnicode_AsUTF8String(key_text);
    if (key == NULL) goto done;
    long part = (long)((murmur2_hash((const unsigned char *)PyBytes_AS_STRING(key),
                                     PyBytes_GET_SIZE(key)) & 0x7FFFFFFF)
                       % (uint32_t)t->partitions);
    position = named(t->position, Py_BuildValue("(OOOL)", t->state, t->file, t->txn_pos,
                                                row_index));
    if (position == NULL) goto done;
    emit = named(t->emit, Py_BuildValue("(lOOOOO)", part, key, value, table, op, position));
    if (emit == NULL) goto done;
    result = PyList_Append(out, emit) < 0 ? -1 : 1;
done:
    Py_XDECREF(key_text);
    Py_XDECREF(pk_dict);
    Py_XDECREF(pk_json);
    Py_XDECREF(key_json);
    Py_XDECREF(before_json);
    Py_XDECREF(after_json);
    Py_XDECREF(value);
    Py_XDECREF(key);
    Py_XDECREF(position);
    Py_XDECREF(emit);
    return result;
}

static PyObject *rows(PyObject *module, PyObject *args) {
    PyObject *records, *out;
    Py_ssize_t start;
    Txn t;
    if (!PyArg_ParseTuple(args, "O!nO!(O!O!O!OOOO!nOO!O!):rows", &PyList_Type, &records,
                          &start, &PyList_Type, &out, &PyDict_Type, &t.plans, &PyBytes_Type,
                          &t.source_head, &PyBytes_Type, &t.source_tail, &t.state, &t.file,
                          &t.txn_pos, &PyBytes_Type, &t.version_prefix, &t.partitions,
                          &t.encode, &PyType_Type, &t.emit, &PyType_Type, &t.position))
        return NULL;
    if (t.partitions < 1 || t.partitions > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "partitions must be at least 1, not %zd", t.partitions);
        return NULL;
    }
    if (!PyType_IsSubtype((PyTypeObject *)t.emit, &PyTuple_Type)
            || !PyType_IsSubtype((PyTypeObject *)t.position, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "Emit and Position must be NamedTuples");
        return NULL;
    }
    Py_ssize_t i = start < 0 ? 0 : start;
    for (; i < PyList_GET_SIZE(records); i++) {
        PyObject *record = PyList_GET_ITEM(records, i);
        Py_INCREF(record);
        int done = row(&t, record, out);
        Py_DECREF(record);
        if (done < 0) return NULL;
        if (done == 0) break;
    }
    return PyLong_FromSsize_t(i);
}

static PyMethodDef module_methods[] = {
    {"murmur2", murmur2, METH_O, "murmur2(data): Kafka's murmur2, a signed 32-bit integer."},
    {"rows", rows, METH_VARARGS,
     "rows(records, start, out, txn) -> the index of the first record not assembled."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "cdc._assemble", "The CDC worker's compiled assembling.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__assemble(void) {
    s_R = PyUnicode_InternFromString("R");
    s_ops[0] = PyUnicode_InternFromString("insert");
    s_ops[1] = PyUnicode_InternFromString("update");
    s_ops[2] = PyUnicode_InternFromString("delete");
    if (s_R == NULL || s_ops[0] == NULL || s_ops[1] == NULL || s_ops[2] == NULL) return NULL;
    return PyModule_Create(&module_def);
}
