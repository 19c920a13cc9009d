/* The region consumer's compiled batch planning, and the fence call's wire form.
 *
 * See consumers/plan.py: plan_batch hands this file a batch of one partition's records.
 * Each record is decoded by schemas.events.decode_event and decided here when it is the
 * usual case: a configured table, a well-formed version,
 * every cache key rendering, and (for an update) no template column changed. Any other
 * record goes to Python's own per-record path (plan._decide_one), which decides it or makes
 * it poison exactly as before. Both kinds of record then meet in one coalescing, in record
 * order, and the winners' values come from the same msgspec encoder as
 * schemas.values.encode_projection.
 *
 * evalsha() writes one EVALSHA command in Redis's protocol (RESP) for a slice of keys and
 * packed fence arguments: what redis-py would send, without its per-argument encoding.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Indexes into consumers.decide.CompiledRule (a NamedTuple). */
enum { R_TEMPLATE_COLUMNS = 2, R_COMMIT_TIME_COLUMN, R_KINDS, R_PIECES, R_TTL, R_TOMBSTONE_TTL,
       R_COLUMNS, R_SIZE };

static PyObject *s_insert, *s_update, *s_delete, *s_invalidate, *s_empty;
static PyObject *s_value, *s_table, *s_version, *s_op, *s_before, *s_after, *s_pk, *s_source,
    *s_ts_ms, *s_actions, *s_packed, *s_keys, *s_origins,
    *s_row_commit_s, *s_binlog_commit_s;
static PyObject *cfg_decode, *cfg_decide_one, *cfg_commit_time, *cfg_encode, *cfg_action,
    *cfg_origin, *s_thousand;

static PyObject *get(PyObject *dict, PyObject *key) { /* borrowed; None if missing */
    PyObject *value = PyDict_GetItemWithError(dict, key);
    return value != NULL ? value : (PyErr_Occurred() ? NULL : Py_None);
}

static int same(PyObject *a, PyObject *b) {
    return a == b || (PyUnicode_Check(a) && PyUnicode_Compare(a, b) == 0);
}

static PyObject *setup(PyObject *module, PyObject *args) {
    PyObject *decode, *decide_one, *commit_time, *encode, *action, *origin;
    if (!PyArg_ParseTuple(args, "OOOOOO", &decode, &decide_one, &commit_time, &encode,
                          &action, &origin))
        return NULL;
    if (!PyType_Check(action) || !PyType_IsSubtype((PyTypeObject *)action, &PyTuple_Type)
        || !PyType_Check(origin) || !PyType_IsSubtype((PyTypeObject *)origin, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "CacheAction and Origin must be NamedTuples");
        return NULL;
    }
    PyObject **slots[] = {&cfg_decode, &cfg_decide_one, &cfg_commit_time, &cfg_encode,
                          &cfg_action, &cfg_origin};
    PyObject *values[] = {decode, decide_one, commit_time, encode, action, origin};
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        Py_INCREF(values[i]);
        Py_XSETREF(*slots[i], values[i]);
    }
    Py_RETURN_NONE;
}

/* A NamedTuple of ``n`` items (stolen; all non-NULL), without the Python call. */
static PyObject *named(PyObject *cls, Py_ssize_t n, PyObject **items) {
    PyObject *out = ((PyTypeObject *)cls)->tp_alloc((PyTypeObject *)cls, n);
    if (out == NULL) {
        for (Py_ssize_t i = 0; i < n; i++) Py_DECREF(items[i]);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) PyTuple_SET_ITEM(out, i, items[i]);
    return out;
}

/* --- commit times --------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) { /* H. Hinnant's */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char *s, int n, int64_t *out) {
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* Seconds since the Unix epoch of ``YYYY-MM-DDTHH:MM:SS[.ffffff]`` (the wire form of
 * schemas/types.md) for years 1970-2199, whose microseconds a double holds exactly, so the
 * result is the one of datetime's total_seconds(). 0 for any other text (Python decides). */
static int iso_seconds(PyObject *text, double *out) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    if (s == NULL) {
        PyErr_Clear();
        return 0;
    }
    if ((n != 19 && n != 26) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':'
        || s[16] != ':' || (n == 26 && s[19] != '.'))
        return 0;
    int64_t y, mo, d, h, mi, se, us = 0;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d)
        || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se)
        || (n == 26 && !digits(s + 20, 6, &us)))
        return 0;
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || y > 2199 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > month_days[mo - 1] + (mo == 2 && leap)) return 0;
    int64_t total = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + se;
    *out = (double)(total * 1000000 + us) / 1e6;
    return 1;
}

/* Appends the event's commit time to the plan's row or binlog list, as plan._decide_one. */
static int commit_time(PyObject *event, PyObject *after, PyObject *column, PyObject *row_list,
                       PyObject *binlog_list) {
    if (column != Py_None && after != Py_None) {
        PyObject *value = get(after, column);
        if (value == NULL) return -1;
        if (PyUnicode_Check(value)) {
            double seconds;
            PyObject *found;
            if (iso_seconds(value, &seconds)) {
                found = PyFloat_FromDouble(seconds);
            } else {
                found = PyObject_CallFunctionObjArgs(cfg_commit_time, after, column, NULL);
            }
            if (found == NULL) return -1;
            if (found != Py_None) {
                int r = PyList_Append(row_list, found);
                Py_DECREF(found);
                return r;
            }
            Py_DECREF(found);
        }
    }
    PyObject *source = PyObject_GetAttr(event, s_source);
    if (source == NULL) return -1;
    PyObject *ts = PyObject_GetAttr(source, s_ts_ms);
    Py_DECREF(source);
    if (ts == NULL) return -1;
    PyObject *seconds = PyNumber_TrueDivide(ts, s_thousand);
    Py_DECREF(ts);
    if (seconds == NULL) return -1;
    int r = PyList_Append(binlog_list, seconds);
    Py_DECREF(seconds);
    return r;
}

/* --- planning ----------------------------------------------------------------------- */

typedef struct {
    PyObject *event, *rule, *record, *row, *value; /* owned; value: encoded lazily */
} Decided;

typedef struct {
    PyObject *kind, *key, *version; /* owned */
    long long ttl;
    Py_ssize_t decided;
} Item;

typedef struct {
    Decided *decided;
    Py_ssize_t n_decided, cap_decided;
    Item *items;
    Py_ssize_t n_items, cap_items;
    PyObject *row_commit_s, *binlog_commit_s;
} Batch;

static int grow(void **array, Py_ssize_t *cap, Py_ssize_t need, size_t size) {
    if (need <= *cap) return 0;
    Py_ssize_t cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need) cap2 *= 2;
    void *p = PyMem_Realloc(*array, (size_t)cap2 * size);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *array = p;
    *cap = cap2;
    return 0;
}

static void batch_free(Batch *b) {
    for (Py_ssize_t i = 0; i < b->n_decided; i++) {
        Decided *d = &b->decided[i];
        Py_XDECREF(d->event);
        Py_XDECREF(d->rule);
        Py_XDECREF(d->record);
        Py_XDECREF(d->row);
        Py_XDECREF(d->value);
    }
    for (Py_ssize_t i = 0; i < b->n_items; i++) {
        Py_XDECREF(b->items[i].kind);
        Py_XDECREF(b->items[i].key);
        Py_XDECREF(b->items[i].version);
    }
    PyMem_Free(b->decided);
    PyMem_Free(b->items);
}

/* Takes the references. */
static int add_decided(Batch *b, PyObject *event, PyObject *rule, PyObject *record,
                       PyObject *row) {
    if (grow((void **)&b->decided, &b->cap_decided, b->n_decided + 1, sizeof(Decided)) < 0) {
        Py_DECREF(event);
        Py_DECREF(rule);
        Py_DECREF(record);
        Py_DECREF(row);
        return -1;
    }
    b->decided[b->n_decided++] = (Decided){event, rule, record, row, NULL};
    return 0;
}

/* Takes the references. */
static int add_item(Batch *b, PyObject *kind, PyObject *key, PyObject *version,
                    long long ttl) {
    if (grow((void **)&b->items, &b->cap_items, b->n_items + 1, sizeof(Item)) < 0) {
        Py_DECREF(kind);
        Py_DECREF(key);
        Py_DECREF(version);
        return -1;
    }
    b->items[b->n_items++] = (Item){kind, key, version, ttl, b->n_decided - 1};
    return 0;
}

static int is_version(PyObject *v) {
    if (!PyUnicode_Check(v) || PyUnicode_GET_LENGTH(v) != 32
        || PyUnicode_KIND(v) != PyUnicode_1BYTE_KIND)
        return 0;
    const Py_UCS1 *c = PyUnicode_1BYTE_DATA(v);
    for (int i = 0; i < 32; i++)
        if (!((c[i] >= '0' && c[i] <= '9') || (c[i] >= 'a' && c[i] <= 'f'))) return 0;
    return 1;
}

/* The key a template's pieces (literal, column, literal, ..., literal) render for a row,
 * as str.format_map does for plain fields; NULL without an error when a column is missing
 * or NULL. */
static PyObject *render(PyObject *pieces, PyObject *row) {
    Py_ssize_t n = PyTuple_GET_SIZE(pieces);
    PyObject *parts = PyList_New(0);
    if (parts == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *piece = PyTuple_GET_ITEM(pieces, i), *part;
        if (i % 2 == 0) {
            if (PyUnicode_GET_LENGTH(piece) == 0) continue;
            Py_INCREF(piece);
            part = piece;
        } else {
            PyObject *value = get(row, piece);
            if (value == NULL || value == Py_None) {
                Py_DECREF(parts);
                return NULL;
            }
            part = PyObject_Format(value, s_empty);
            if (part == NULL) {
                Py_DECREF(parts);
                return NULL;
            }
        }
        int r = PyList_Append(parts, part);
        Py_DECREF(part);
        if (r < 0) {
            Py_DECREF(parts);
            return NULL;
        }
    }
    PyObject *key = PyUnicode_Join(s_empty, parts);
    Py_DECREF(parts);
    return key;
}

/* Decides one record when it is the usual case: 1 done, 0 leave it to Python (nothing
 * added), -1 error. Borrows ``event``. */
static int decide_fast(Batch *b, PyObject *event, PyObject *rules, PyObject *record) {
    PyObject *table = PyObject_GetAttr(event, s_table);
    if (table == NULL) return -1;
    PyObject *rule = PyDict_GetItemWithError(rules, table);
    Py_DECREF(table);
    if (rule == NULL) return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_Check(rule) || PyTuple_GET_SIZE(rule) != R_SIZE) {
        PyErr_SetString(PyExc_TypeError, "rules must map tables to CompiledRule");
        return -1;
    }
    int result = -1;
    PyObject *version = NULL, *op = NULL, *before = NULL, *after = NULL, *row = NULL,
             *keys = NULL;
    if ((version = PyObject_GetAttr(event, s_version)) == NULL) goto done;
    if (!is_version(version)) {
        result = 0;
        goto done;
    }
    if ((op = PyObject_GetAttr(event, s_op)) == NULL) goto done;
    int op_index = same(op, s_insert) ? 0 : same(op, s_update) ? 1 : same(op, s_delete) ? 2 : -1;
    if (op_index < 0) {
        result = 0;
        goto done;
    }
    if ((before = PyObject_GetAttr(event, s_before)) == NULL) goto done;
    if ((after = PyObject_GetAttr(event, s_after)) == NULL) goto done;
    row = op_index == 2 ? before : after;
    if (row == Py_None) {
        if ((row = PyObject_GetAttr(event, s_pk)) == NULL) goto done;
    } else {
        Py_INCREF(row);
    }
    if (!PyDict_Check(row)) {
        result = 0;
        goto done;
    }
    /* An update that changes a column of a template also tombstones the old keys. */
    if (op_index == 1 && PyDict_Check(before) && PyDict_Check(after)) {
        PyObject *columns = PyTuple_GET_ITEM(rule, R_TEMPLATE_COLUMNS);
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(columns); i++) {
            PyObject *name = PyTuple_GET_ITEM(columns, i);
            PyObject *old = get(before, name), *new = get(after, name);
            if (old == NULL || new == NULL) goto done;
            int changed = PyObject_RichCompareBool(old, new, Py_NE);
            if (changed < 0) goto done;
            if (changed) {
                result = 0;
                goto done;
            }
        }
    }
    PyObject *templates = PyTuple_GET_ITEM(rule, R_PIECES);
    if ((keys = PyList_New(0)) == NULL) goto done;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(templates); i++) {
        PyObject *key = render(PyTuple_GET_ITEM(templates, i), row);
        if (key == NULL) {
            result = PyErr_Occurred() ? -1 : 0;
            goto done;
        }
        int r = PyList_Append(keys, key);
        Py_DECREF(key);
        if (r < 0) goto done;
    }
    PyObject *kind = PyTuple_GET_ITEM(PyTuple_GET_ITEM(rule, R_KINDS), op_index);
    PyObject *ttl_obj = PyTuple_GET_ITEM(rule, same(kind, s_invalidate) ? R_TOMBSTONE_TTL : R_TTL);
    long long ttl = PyLong_AsLongLong(ttl_obj);
    if (ttl == -1 && PyErr_Occurred()) goto done;
    if (commit_time(event, after, PyTuple_GET_ITEM(rule, R_COMMIT_TIME_COLUMN),
                    b->row_commit_s, b->binlog_commit_s) < 0)
        goto done;
    Py_INCREF(event);
    Py_INCREF(rule);
    Py_INCREF(record);
    if (add_decided(b, event, rule, record, row) < 0) {
        row = NULL;
        goto done;
    }
    row = NULL; /* taken */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys); i++) {
        PyObject *key = PyList_GET_ITEM(keys, i);
        Py_INCREF(kind);
        Py_INCREF(key);
        Py_INCREF(version);
        if (add_item(b, kind, key, version, ttl) < 0) goto done;
    }
    result = 1;
done:
    Py_XDECREF(version);
    Py_XDECREF(op);
    Py_XDECREF(before);
    Py_XDECREF(after);
    Py_XDECREF(row);
    Py_XDECREF(keys);
    return result;
}

/* Python's path for one record: plan._decide_one gives None (poison, already in the plan)
 * or (event, rule, row, targets). */
static int decide_slow(Batch *b, PyObject *record, PyObject *rules, PyObject *plan) {
    PyObject *found = PyObject_CallFunctionObjArgs(cfg_decide_one, record, rules, plan, NULL);
    if (found == NULL) return -1;
    if (found == Py_None) {
        Py_DECREF(found);
        return 0;
    }
    PyObject *event, *rule, *row, *targets;
    if (!PyArg_ParseTuple(found, "OOOO!", &event, &rule, &row, &PyList_Type, &targets)) {
        Py_DECREF(found);
        return -1;
    }
    Py_INCREF(event);
    Py_INCREF(rule);
    Py_INCREF(record);
    Py_INCREF(row);
    int r = add_decided(b, event, rule, record, row);
    for (Py_ssize_t i = 0; r == 0 && i < PyList_GET_SIZE(targets); i++) {
        PyObject *target = PyList_GET_ITEM(targets, i);
        if (!PyTuple_Check(target) || PyTuple_GET_SIZE(target) != 4) {
            PyErr_SetString(PyExc_TypeError, "a target must be a Target");
            r = -1;
            break;
        }
        long long ttl = PyLong_AsLongLong(PyTuple_GET_ITEM(target, 3));
        if (ttl == -1 && PyErr_Occurred()) {
            r = -1;
            break;
        }
        PyObject *kind = PyTuple_GET_ITEM(target, 0), *key = PyTuple_GET_ITEM(target, 1),
                 *version = PyTuple_GET_ITEM(target, 2);
        Py_INCREF(kind);
        Py_INCREF(key);
        Py_INCREF(version);
        r = add_item(b, kind, key, version, ttl);
    }
    Py_DECREF(found);
    return r;
}

/* The fence's argument for an action: op byte, version, 10-digit ttl, value. */
static PyObject *pack(PyObject *kind, PyObject *version, long long ttl, PyObject *value) {
    if (!(0 < ttl && ttl < 10000000000LL)) {
        PyErr_Format(PyExc_ValueError, "ttl_seconds %lld does not fit in 10 digits", ttl);
        return NULL;
    }
    Py_ssize_t n_value = value == Py_None ? 0 : PyBytes_GET_SIZE(value);
    PyObject *out = PyBytes_FromStringAndSize(NULL, 43 + n_value);
    if (out == NULL) return NULL;
    char *p = PyBytes_AS_STRING(out);
    p[0] = same(kind, s_invalidate) ? 'x' : 'w';
    memcpy(p + 1, PyUnicode_1BYTE_DATA(version), 32);
    char ttl_text[16];
    snprintf(ttl_text, sizeof ttl_text, "%010lld", ttl);
    memcpy(p + 33, ttl_text, 10);
    if (n_value) memcpy(p + 43, PyBytes_AS_STRING(value), (size_t)n_value);
    return out;
}

/* The cache value of a decided event's row under its rule (encoded once per event). */
static PyObject *value_of(Decided *d) {
    if (d->value != NULL) return d->value;
    PyObject *columns = PyTuple_GET_ITEM(d->rule, R_COLUMNS), *picked;
    if (columns == Py_None) {
        Py_INCREF(d->row);
        picked = d->row;
    } else {
        if ((picked = PyDict_New()) == NULL) return NULL;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(columns); i++) {
            PyObject *name = PyTuple_GET_ITEM(columns, i), *value = get(d->row, name);
            if (value == NULL || PyDict_SetItem(picked, name, value) < 0) {
                Py_DECREF(picked);
                return NULL;
            }
        }
    }
    PyObject *value = PyObject_CallOneArg(cfg_encode, picked);
    Py_DECREF(picked);
    if (value != NULL && !PyBytes_Check(value)) {
        Py_DECREF(value);
        PyErr_SetString(PyExc_TypeError, "the encoder must return bytes");
        return NULL;
    }
    return d->value = value;
}

/* Coalesces the items to the newest per key, in first-seen key order (of equal versions
 * the first), and appends each winner's action, packed argument, key and origin. */
static int finish(Batch *b, PyObject *plan) {
    int result = -1;
    PyObject *newest = NULL, *lists[4] = {NULL, NULL, NULL, NULL};
    PyObject *names[4] = {s_actions, s_packed, s_keys, s_origins};
    Py_ssize_t *winners = NULL, n_winners = 0;
    for (int i = 0; i < 4; i++)
        if ((lists[i] = PyObject_GetAttr(plan, names[i])) == NULL) goto done;
    if (!PyList_Check(lists[0]) || !PyList_Check(lists[1]) || !PyList_Check(lists[2])
        || !PyDict_Check(lists[3])) {
        PyErr_SetString(PyExc_TypeError, "a Plan's actions, packed and keys must be lists, "
                                         "its origins a dict");
        goto done;
    }
    if ((newest = PyDict_New()) == NULL) goto done;
    if (b->n_items && (winners = PyMem_Malloc((size_t)b->n_items * sizeof(Py_ssize_t))) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < b->n_items; i++) {
        Item *item = &b->items[i];
        PyObject *slot = PyDict_GetItemWithError(newest, item->key);
        if (slot == NULL) {
            if (PyErr_Occurred()) goto done;
            PyObject *at = PyLong_FromSsize_t(n_winners);
            if (at == NULL) goto done;
            int r = PyDict_SetItem(newest, item->key, at);
            Py_DECREF(at);
            if (r < 0) goto done;
            winners[n_winners++] = i;
            continue;
        }
        Py_ssize_t at = PyLong_AsSsize_t(slot);
        int newer = PyObject_RichCompareBool(item->version, b->items[winners[at]].version, Py_GT);
        if (newer < 0) goto done;
        if (newer) winners[at] = i;
    }
    for (Py_ssize_t w = 0; w < n_winners; w++) {
        Item *item = &b->items[winners[w]];
        Decided *d = &b->decided[item->decided];
        PyObject *value = Py_None;
        if (!same(item->kind, s_invalidate) && (value = value_of(d)) == NULL) goto done;
        if (!is_version(item->version)) {
            PyErr_Format(PyExc_ValueError, "version %R is not 32 lowercase hex digits",
                         item->version);
            goto done;
        }
        PyObject *packed = pack(item->kind, item->version, item->ttl, value);
        if (packed == NULL) goto done;
        int r = PyList_Append(lists[1], packed);
        Py_DECREF(packed);
        if (r < 0 || PyList_Append(lists[2], item->key) < 0) goto done;
        PyObject *ttl = PyLong_FromLongLong(item->ttl);
        if (ttl == NULL) goto done;
        Py_INCREF(item->kind);
        Py_INCREF(item->key);
        Py_INCREF(item->version);
        Py_INCREF(value);
        PyObject *fields[5] = {item->kind, item->key, item->version, ttl, value};
        PyObject *action = named(cfg_action, 5, fields);
        if (action == NULL) goto done;
        r = PyList_Append(lists[0], action);
        Py_DECREF(action);
        if (r < 0) goto done;
        Py_INCREF(d->record);
        PyObject *tombstone_ttl = PyTuple_GET_ITEM(d->rule, R_TOMBSTONE_TTL);
        Py_INCREF(tombstone_ttl);
        PyObject *origin_fields[2] = {d->record, tombstone_ttl};
        PyObject *origin = named(cfg_origin, 2, origin_fields);
        if (origin == NULL) goto done;
        r = PyDict_SetItem(lists[3], item->key, origin);
        Py_DECREF(origin);
        if (r < 0) goto done;
    }
    result = 0;
done:
    PyMem_Free(winners);
    Py_XDECREF(newest);
    for (int i = 0; i < 4; i++) Py_XDECREF(lists[i]);
    return result;
}

static PyObject *plan(PyObject *module, PyObject *args) {
    PyObject *records, *rules, *out;
    int fast = 1;
    if (!PyArg_ParseTuple(args, "O!O!O|p", &PyList_Type, &records, &PyDict_Type, &rules, &out,
                          &fast))
        return NULL;
    if (cfg_decode == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "consumers._plan.setup() was not called");
        return NULL;
    }
    Batch b = {0};
    PyObject *result = NULL;
    if ((b.row_commit_s = PyObject_GetAttr(out, s_row_commit_s)) == NULL
        || (b.binlog_commit_s = PyObject_GetAttr(out, s_binlog_commit_s)) == NULL)
        goto done;
    if (!PyList_Check(b.row_commit_s) || !PyList_Check(b.binlog_commit_s)) {
        PyErr_SetString(PyExc_TypeError, "a Plan's commit times must be lists");
        goto done;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(records); i++) {
        PyObject *record = PyList_GET_ITEM(records, i);
        Py_INCREF(record);
        int done = 0;
        if (fast) {
            PyObject *value = PyObject_GetAttr(record, s_value);
            if (value == NULL) {
                Py_DECREF(record);
                goto done;
            }
            PyObject *event = PyBytes_Check(value) ? PyObject_CallOneArg(cfg_decode, value)
                                                   : NULL;
            Py_DECREF(value);
            if (event == NULL) {
                PyErr_Clear(); /* not decodable: Python's path makes it poison */
            } else {
                done = decide_fast(&b, event, rules, record);
                Py_DECREF(event);
            }
        }
        if (done == 0) done = decide_slow(&b, record, rules, out) < 0 ? -1 : 1;
        Py_DECREF(record);
        if (done < 0) goto done;
    }
    if (finish(&b, out) < 0) goto done;
    Py_INCREF(Py_None);
    result = Py_None;
done:
    Py_XDECREF(b.row_commit_s);
    Py_XDECREF(b.binlog_commit_s);
    batch_free(&b);
    return result;
}

/* --- the fence call on the wire -------------------------------------------------------- */

static Py_ssize_t bulk_size(Py_ssize_t n) {
    char text[24];
    return 1 + snprintf(text, sizeof text, "%zd", n) + 2 + n + 2;
}

static char *put_bulk(char *p, const char *data, Py_ssize_t n) {
    p += sprintf(p, "$%zd\r\n", n);
    memcpy(p, data, (size_t)n);
    p += n;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

static PyObject *evalsha(PyObject *module, PyObject *args) {
    Py_buffer sha;
    PyObject *keys, *values;
    Py_ssize_t start, stop;
    if (!PyArg_ParseTuple(args, "y*O!O!nn", &sha, &PyList_Type, &keys, &PyList_Type, &values,
                          &start, &stop))
        return NULL;
    PyObject *out = NULL;
    if (PyList_GET_SIZE(keys) != PyList_GET_SIZE(values)) {
        PyErr_SetString(PyExc_ValueError, "as many keys as arguments are needed");
        goto done;
    }
    if (start < 0 || stop > PyList_GET_SIZE(keys) || start > stop) {
        PyErr_SetString(PyExc_IndexError, "slice out of range");
        goto done;
    }
    Py_ssize_t n = stop - start;
    char count[24], header[64];
    int count_len = snprintf(count, sizeof count, "%zd", n);
    int header_len = snprintf(header, sizeof header, "*%zd\r\n$7\r\nEVALSHA\r\n", 3 + 2 * n);
    Py_ssize_t size = header_len + bulk_size(sha.len) + bulk_size(count_len);
    for (Py_ssize_t i = start; i < stop; i++) {
        PyObject *key = PyList_GET_ITEM(keys, i), *value = PyList_GET_ITEM(values, i);
        Py_ssize_t key_len;
        if (!PyUnicode_Check(key) || !PyBytes_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "keys must be str and arguments bytes");
            goto done;
        }
        if (PyUnicode_AsUTF8AndSize(key, &key_len) == NULL) goto done;
        size += bulk_size(key_len) + bulk_size(PyBytes_GET_SIZE(value));
    }
    if ((out = PyBytes_FromStringAndSize(NULL, size)) == NULL) goto done;
    char *p = PyBytes_AS_STRING(out);
    memcpy(p, header, (size_t)header_len);
    p += header_len;
    p = put_bulk(p, sha.buf, sha.len);
    p = put_bulk(p, count, count_len);
    for (Py_ssize_t i = start; i < stop; i++) {
        Py_ssize_t key_len;
        const char *key = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(keys, i), &key_len);
        p = put_bulk(p, key, key_len);
    }
    for (Py_ssize_t i = start; i < stop; i++) {
        PyObject *value = PyList_GET_ITEM(values, i);
        p = put_bulk(p, PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value));
    }
    if (p != PyBytes_AS_STRING(out) + size) {
        Py_CLEAR(out);
        PyErr_SetString(PyExc_SystemError, "evalsha: size mismatch");
    }
done:
    PyBuffer_Release(&sha);
    return out;
}

static PyMethodDef module_methods[] = {
    {"setup", setup, METH_VARARGS,
     "setup(decode, decide_one, commit_time, encode, action_type, origin_type)."},
    {"plan", plan, METH_VARARGS,
     "plan(records, rules, plan, fast=True): fills the plan of a batch of records."},
    {"evalsha", evalsha, METH_VARARGS,
     "evalsha(sha, keys, args, start, stop) -> EVALSHA of keys[start:stop] and "
     "args[start:stop] in Redis's protocol."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "consumers._plan", "The region consumer's compiled planning.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__plan(void) {
    struct {
        PyObject **slot;
        const char *text;
    } names[] = {
        {&s_insert, "insert"}, {&s_update, "update"}, {&s_delete, "delete"},
        {&s_invalidate, "invalidate"}, {&s_empty, ""}, {&s_value, "value"},
        {&s_table, "table"}, {&s_version, "version"}, {&s_op, "op"}, {&s_before, "before"},
        {&s_after, "after"}, {&s_pk, "pk"}, {&s_source, "source"}, {&s_ts_ms, "ts_ms"},
        {&s_actions, "actions"},
        {&s_packed, "packed"}, {&s_keys, "keys"}, {&s_origins, "origins"},
        {&s_row_commit_s, "row_commit_s"}, {&s_binlog_commit_s, "binlog_commit_s"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if ((*names[i].slot = PyUnicode_InternFromString(names[i].text)) == NULL) return NULL;
    if ((s_thousand = PyLong_FromLong(1000)) == NULL) return NULL;
    return PyModule_Create(&module_def);
}
