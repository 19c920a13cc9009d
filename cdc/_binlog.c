/* The binlog reader's compiled core: dump packets split and parsed, row images decoded.
 *
 * See cdc/binlog_stream.py (the packets) and cdc/rowcodec.py (the row images) for what the
 * Python side keeps: the connection, the library's table maps, every event not parsed here,
 * and the per-column readers this file calls for any column it does not decode itself.
 *
 * Every read is bounds-checked against the packet (or the row images' end); a malformed
 * packet is handed back to Python as bytes, never read past.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define EVENT_HEADER 20 /* the OK byte and the 19-byte event header */
#define MAX_PACKET 0xFFFFFF
#define T_MARIADB_GTID 0xA2
#define T_XID 0x10
#define T_TABLE_MAP 0x13

enum { ITEM_GTID = 1, ITEM_XID = 2, ITEM_ROWS = 3 };
enum { STOP_MORE = 0, STOP_SLOW = 1, STOP_RAW = 2 };

/* How a column is read: natively, or by its Python reader. */
enum {
    OP_PY = 0, OP_I8, OP_U8, OP_I16, OP_U16, OP_I24, OP_U24, OP_I32, OP_U32, OP_I64, OP_U64,
    OP_F64, OP_YEAR, OP_UTF8, OP_DATETIME2, OP_DECIMAL, OP_LAST
};
/* OP_DATETIME2: arg = fsp (0-6). OP_DECIMAL: arg = precision << 8 | scale, at most 18
 * integral digits and 18 of scale (the values fit 64 bits). */

static PyObject *s_insert, *s_update, *s_delete;

static inline uint64_t le(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static inline uint64_t be(const unsigned char *p, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* ------------------------------------------------------------------------------------ */
/* Codec: one table map's row images. */

typedef struct {
    int op;
    int arg;           /* OP_UTF8: the length prefix's bytes */
    PyObject *name;    /* str */
    PyObject *reader;  /* OP_PY: reader(data, pos) -> (value, pos) */
} Column;

typedef struct {
    PyObject_HEAD
    Py_ssize_t ncols;
    Column *cols;
} Codec;

static void codec_dealloc(Codec *self) {
    for (Py_ssize_t i = 0; i < self->ncols; i++) {
        Py_XDECREF(self->cols[i].name);
        Py_XDECREF(self->cols[i].reader);
    }
    PyMem_Free(self->cols);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *codec_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"columns", NULL};
    PyObject *columns;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!:Codec", kwlist, &PyList_Type, &columns))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(columns);
    if (n < 1 || n > 4096) {
        PyErr_Format(PyExc_ValueError, "a codec needs 1 to 4096 columns, got %zd", n);
        return NULL;
    }
    Codec *self = (Codec *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->cols = PyMem_Calloc((size_t)n, sizeof(Column));
    if (self->cols == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    self->ncols = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name, *reader;
        int op, arg;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(columns, i), "UiiO:column", &name, &op, &arg,
                              &reader)) {
            Py_DECREF(self);
            return NULL;
        }
        int integral = (arg >> 8) - (arg & 0xFF);
        if (op < 0 || op >= OP_LAST || (op == OP_UTF8 && (arg < 1 || arg > 4))
                || (op == OP_DATETIME2 && (arg < 0 || arg > 6))
                || (op == OP_DECIMAL && (arg < 0 || integral < 0 || integral > 18
                                         || (arg & 0xFF) > 18 || (arg >> 8) < 1))
                || (op == OP_PY && !PyCallable_Check(reader))) {
            PyErr_Format(PyExc_ValueError, "column %R: bad operation (%d, %d)", name, op, arg);
            Py_DECREF(self);
            return NULL;
        }
        Py_INCREF(name);
        Py_INCREF(reader);
        self->cols[i] = (Column){op, arg, name, reader};
    }
    return (PyObject *)self;
}

static int overran(Py_ssize_t pos, Py_ssize_t end) {
    PyErr_Format(PyExc_ValueError, "row images overran their event by %zd bytes", pos - end);
    return -1;
}

static const unsigned char MONTH_DAYS[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* DATETIME(fsp) as cdc/rowcodec.py's reader gives it: ISO text, or None for a date
 * ``datetime`` refuses (a zero part, a day the month lacks). */
static PyObject *datetime2(const unsigned char *b, int fsp) {
    uint64_t packed = 0;
    for (int i = 0; i < 5; i++) packed = packed << 8 | b[i];
    long year_month = (long)(packed >> 22 & 0x1FFFF);
    long year = year_month / 13, month = year_month % 13, day = (long)(packed >> 17 & 31);
    long hour = (long)(packed >> 12 & 31), minute = (long)(packed >> 6 & 63);
    long second = (long)(packed & 63);
    int frac_size = (fsp + 1) / 2;
    long micro = 0;
    if (frac_size) {
        long raw = 0;
        for (int i = 0; i < frac_size; i++) raw = raw << 8 | b[5 + i];
        if (b[5] & 0x80) raw -= 1L << (8 * frac_size); /* signed, as the library reads it */
        long scale = 1;
        for (int i = fsp; i < 6; i++) scale *= 10;
        micro = (fsp % 2 ? raw / 10 : raw) * scale; /* C's division truncates, as int(x / 10) */
    }
    if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1
            || day > MONTH_DAYS[month] || hour > 23 || minute > 59 || second > 59
            || (month == 2 && day == 29 && !(year % 4 == 0 && (year % 100 || year % 400 == 0))))
        Py_RETURN_NONE;
    if (micro >= 1000000) {
        PyErr_Format(PyExc_ValueError, "microsecond %ld out of range", micro);
        return NULL;
    }
    char text[32];
    int n = snprintf(text, sizeof text, "%04ld-%02ld-%02ldT%02ld:%02ld:%02ld.%06ld", year, month,
                     day, hour, minute, second, micro > 0 ? micro : 0);
    return PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, text, n);
}

static const int DECIMAL_BYTES[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

static int decimal_size(int arg) {
    int scale = arg & 0xFF, integral = (arg >> 8) - scale;
    return DECIMAL_BYTES[integral % 9] + 4 * (integral / 9) + 4 * (scale / 9)
        + DECIMAL_BYTES[scale % 9];
}

/* DECIMAL(p, s) as cdc/rowcodec.py's reader formats it: groups of 9 digits, big-endian,
 * every bit inverted for a negative number, whose sign is the top bit. */
static PyObject *decimal(const unsigned char *b, int arg) {
    int scale = arg & 0xFF, integral = (arg >> 8) - scale;
    int size = decimal_size(arg);
    unsigned char buf[32];
    memcpy(buf, b, (size_t)size);
    int negative = !(buf[0] & 0x80);
    if (negative)
        for (int i = 0; i < size; i++) buf[i] = (unsigned char)~buf[i];
    buf[0] &= 0x7F;
    const unsigned char *p = buf;
    uint64_t whole = 0, frac = 0;
    int lead = DECIMAL_BYTES[integral % 9];
    for (int i = 0; i < lead; i++) whole = whole << 8 | *p++;
    for (int group = 0; group < integral / 9; group++, p += 4)
        whole = whole * 1000000000ULL + be(p, 4);
    for (int group = 0; group < scale / 9; group++, p += 4)
        frac = frac * 1000000000ULL + be(p, 4);
    int tail = DECIMAL_BYTES[scale % 9];
    if (tail) {
        uint64_t field = 0, digits = 1;
        for (int i = 0; i < tail; i++) field = field << 8 | *p++;
        for (int i = 0; i < scale % 9; i++) digits *= 10;
        frac = frac * digits + field;
    }
    char text[48];
    int n = scale
        ? snprintf(text, sizeof text, "%s%llu.%0*llu", negative ? "-" : "",
                   (unsigned long long)whole, scale, (unsigned long long)frac)
        : snprintf(text, sizeof text, "%s%llu", negative ? "-" : "", (unsigned long long)whole);
    return PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, text, n);
}

/* One value at *pos (not NULL): a new reference, or NULL with an exception set. */
static PyObject *read_value(const Column *col, PyObject *buf, const unsigned char *d,
                            Py_ssize_t *pos, Py_ssize_t end) {
    static const int sizes[OP_LAST] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 8, 8, 8, 1, 0, 0, 0};
    Py_ssize_t p = *pos;
    if (col->op == OP_PY) {
        PyObject *out = PyObject_CallFunction(col->reader, "On", buf, p);
        if (out == NULL) return NULL;
        if (!PyTuple_Check(out) || PyTuple_GET_SIZE(out) != 2) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "a column reader must return (value, offset)");
            return NULL;
        }
        Py_ssize_t next = PyLong_AsSsize_t(PyTuple_GET_ITEM(out, 1));
        if (next == -1 && PyErr_Occurred()) {
            Py_DECREF(out);
            return NULL;
        }
        if (next < p || next > end) {
            Py_DECREF(out);
            overran(next, end);
            return NULL;
        }
        PyObject *value = PyTuple_GET_ITEM(out, 0);
        Py_INCREF(value);
        Py_DECREF(out);
        *pos = next;
        return value;
    }
    if (col->op == OP_UTF8) {
        if (end - p < col->arg) return overran(p + col->arg, end), NULL;
        Py_ssize_t n = (Py_ssize_t)le(d + p, col->arg);
        p += col->arg;
        if (end - p < n) return overran(p + n, end), NULL;
        *pos = p + n;
        return PyUnicode_DecodeUTF8((const char *)d + p, n, NULL);
    }
    if (col->op == OP_DATETIME2) {
        int size = 5 + (col->arg + 1) / 2;
        if (end - p < size) return overran(p + size, end), NULL;
        *pos = p + size;
        return datetime2(d + p, col->arg);
    }
    if (col->op == OP_DECIMAL) {
        int size = decimal_size(col->arg);
        if (end - p < size) return overran(p + size, end), NULL;
        *pos = p + size;
        return decimal(d + p, col->arg);
    }
    int size = sizes[col->op];
    if (end - p < size) return overran(p + size, end), NULL;
    const unsigned char *b = d + p;
    *pos = p + size;
    switch (col->op) {
    case OP_I8: return PyLong_FromLong((int8_t)b[0]);
    case OP_U8: return PyLong_FromLong(b[0]);
    case OP_I16: return PyLong_FromLong((int16_t)le(b, 2));
    case OP_U16: return PyLong_FromLong((long)le(b, 2));
    case OP_I24: {
        long v = (long)le(b, 3);
        return PyLong_FromLong(v >= 0x800000 ? v - 0x1000000 : v);
    }
    case OP_U24: return PyLong_FromLong((long)le(b, 3));
    case OP_I32: return PyLong_FromLong((int32_t)le(b, 4));
    case OP_U32: return PyLong_FromUnsignedLong((unsigned long)le(b, 4));
    case OP_I64: return PyLong_FromLongLong((int64_t)le(b, 8));
    case OP_U64: return PyLong_FromUnsignedLongLong(le(b, 8));
    case OP_F64: {
        double v;
        uint64_t bits = le(b, 8);
        memcpy(&v, &bits, sizeof v);
        return PyFloat_FromDouble(v);
    }
    case OP_YEAR: return PyLong_FromLong(b[0] + 1900);
    default:
        PyErr_SetString(PyExc_SystemError, "unknown column operation");
        return NULL;
    }
}

/* Every row image from pos to end: a new list, or NULL with an exception set. */
static PyObject *decode_images(Codec *c, PyObject *buf, const unsigned char *d, Py_ssize_t pos,
                               Py_ssize_t end) {
    Py_ssize_t null_bytes = (c->ncols + 7) / 8;
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    while (pos < end) {
        if (end - pos < null_bytes) {
            overran(pos + null_bytes, end);
            goto fail;
        }
        const unsigned char *nulls = d + pos;
        pos += null_bytes;
        PyObject *row = PyDict_New();
        if (row == NULL) goto fail;
        for (Py_ssize_t i = 0; i < c->ncols; i++) {
            PyObject *value;
            if (nulls[i >> 3] >> (i & 7) & 1) {
                value = Py_NewRef(Py_None);
            } else {
                value = read_value(&c->cols[i], buf, d, &pos, end);
                if (value == NULL) {
                    Py_DECREF(row);
                    goto fail;
                }
            }
            int failed = PyDict_SetItem(row, c->cols[i].name, value);
            Py_DECREF(value);
            if (failed) {
                Py_DECREF(row);
                goto fail;
            }
        }
        int failed = PyList_Append(out, row);
        Py_DECREF(row);
        if (failed) goto fail;
    }
    if (pos != end) {
        overran(pos, end);
        goto fail;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static PyObject *codec_images(Codec *self, PyObject *args) {
    PyObject *buf;
    Py_ssize_t pos, end;
    if (!PyArg_ParseTuple(args, "O!nn:images", &PyBytes_Type, &buf, &pos, &end)) return NULL;
    if (pos < 0 || end < pos || end > PyBytes_GET_SIZE(buf)) {
        PyErr_Format(PyExc_ValueError, "row images [%zd, %zd) outside %zd bytes", pos, end,
                     PyBytes_GET_SIZE(buf));
        return NULL;
    }
    return decode_images(self, buf, (const unsigned char *)PyBytes_AS_STRING(buf), pos, end);
}

static PyMethodDef codec_methods[] = {
    {"images", (PyCFunction)codec_images, METH_VARARGS,
     "images(data, pos, end): every row image from pos to end, as dicts."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CodecType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cdc._binlog.Codec",
    .tp_basicsize = sizeof(Codec),
    .tp_dealloc = (destructor)codec_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Codec(columns): decodes the row images of one table map.",
    .tp_methods = codec_methods,
    .tp_new = codec_new,
};

/* ------------------------------------------------------------------------------------ */
/* Packets. */

typedef struct {
    Py_ssize_t checksum;
    int rows_ok;
    PyObject *tables; /* dict: table id -> (Codec, table map body, tag) */
} Context;

static PyObject *raw(const unsigned char *d, Py_ssize_t p, Py_ssize_t len) {
    return PyBytes_FromStringAndSize((const char *)d + p, len);
}

/* The entry of a table id, borrowed, or NULL (none, or an error is set). */
static PyObject *table_entry(const Context *ctx, uint64_t table_id) {
    PyObject *key = PyLong_FromUnsignedLongLong(table_id);
    if (key == NULL) return NULL;
    PyObject *entry = PyDict_GetItemWithError(ctx->tables, key);
    Py_DECREF(key);
    if (entry != NULL && (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 3
                          || !PyObject_TypeCheck(PyTuple_GET_ITEM(entry, 0), &CodecType)
                          || !PyBytes_Check(PyTuple_GET_ITEM(entry, 1)))) {
        PyErr_SetString(PyExc_TypeError, "a table entry must be (Codec, bytes, tag)");
        return NULL;
    }
    return entry;
}

/* Where the row images of the rows event d[p:p+len] (of event type ``type``) are, for a
 * table of ``columns`` columns: 1 and [*pos, *end) when the event is one this module and
 * cdc/rowcodec.py decode (the rows events' layout is the usual one, the column count is
 * the table map's, the row images are full), else 0. */
static int rows_span(const unsigned char *d, Py_ssize_t p, Py_ssize_t len, int type,
                     Py_ssize_t checksum, int rows_ok, Py_ssize_t columns, Py_ssize_t *pos,
                     Py_ssize_t *end) {
    if (!rows_ok || type < 0x17 || (type > 0x19 && type < 0x1E) || type > 0x20) return 0;
    int version2 = type >= 0x1E, images = type == 0x18 || type == 0x1F ? 2 : 1;
    Py_ssize_t e = p + len - checksum;
    Py_ssize_t q = p + EVENT_HEADER + (version2 ? 10 : 8);
    if (e - q < 1) return 0;
    if (version2) {
        q += (Py_ssize_t)le(d + p + EVENT_HEADER + 8, 2) - 2;
        if (q < p + EVENT_HEADER || e - q < 1) return 0;
    }
    if (d[q] >= 251 || d[q] != columns) return 0;
    q++;
    /* Only full row images: a column left out (binlog_row_image=MINIMAL) is the library's. */
    Py_ssize_t bitmap = (columns + 7) / 8;
    int last_bits = (int)(columns % 8);
    unsigned char last = last_bits ? (unsigned char)((1 << last_bits) - 1) : 0xFF;
    for (int image = 0; image < images; image++) {
        if (e - q < bitmap) return 0;
        for (Py_ssize_t i = 0; i < bitmap; i++)
            if (d[q + i] != (i == bitmap - 1 ? last : 0xFF)) return 0;
        q += bitmap;
    }
    *pos = q;
    *end = e;
    return 1;
}

static PyObject *rows_item(const Context *ctx, PyObject *buf, const unsigned char *d,
                           Py_ssize_t p, Py_ssize_t len, int type) {
    PyObject *op = type == 0x17 || type == 0x1E ? s_insert
        : type == 0x18 || type == 0x1F ? s_update : s_delete;
    if (len - ctx->checksum < EVENT_HEADER + 6) return raw(d, p, len);
    PyObject *entry = table_entry(ctx, le(d + p + EVENT_HEADER, 6));
    if (entry == NULL) return PyErr_Occurred() ? NULL : raw(d, p, len);
    Codec *codec = (Codec *)PyTuple_GET_ITEM(entry, 0);
    Py_ssize_t pos, end;
    if (!rows_span(d, p, len, type, ctx->checksum, ctx->rows_ok, codec->ncols, &pos, &end))
        return raw(d, p, len);
    PyObject *images = decode_images(codec, buf, d, pos, end);
    if (images == NULL || (op == s_update && PyList_GET_SIZE(images) % 2)) {
        /* Python decodes it again, says why, and hands it to the library. */
        Py_XDECREF(images);
        PyErr_Clear();
        return raw(d, p, len);
    }
    return Py_BuildValue("(iOON)", ITEM_ROWS, op, PyTuple_GET_ITEM(entry, 2), images);
}

/* The item of the packet d[p:p+len]: a tuple, None (nothing to do), or the packet's bytes
 * for Python. A new reference, or NULL with an exception set. */
static PyObject *parse_packet(const Context *ctx, PyObject *buf, const unsigned char *d,
                              Py_ssize_t p, Py_ssize_t len) {
    if (len < EVENT_HEADER || d[p] != 0) return raw(d, p, len);
    const unsigned char *e = d + p;
    int type = e[5];
    switch (type) {
    case T_MARIADB_GTID: {
        if (len - ctx->checksum < EVENT_HEADER + 13) return raw(d, p, len);
        PyObject *gtid = PyUnicode_FromFormat(
            "%lu-%lu-%llu", (unsigned long)le(e + 28, 4), (unsigned long)le(e + 6, 4),
            (unsigned long long)le(e + 20, 8));
        if (gtid == NULL) return NULL;
        return Py_BuildValue("(iNiLL)", ITEM_GTID, gtid, (int)e[32], (long long)le(e + 1, 4),
                             (long long)le(e + 14, 4) - (long long)le(e + 10, 4));
    }
    case T_XID:
        return Py_BuildValue("(iL)", ITEM_XID, (long long)le(e + 14, 4));
    case T_TABLE_MAP: {
        /* A table map the stream already follows with these very bytes: nothing changes. */
        Py_ssize_t size = len - ctx->checksum - EVENT_HEADER;
        if (size < 6) return raw(d, p, len);
        PyObject *entry = table_entry(ctx, le(e + EVENT_HEADER, 6));
        if (entry == NULL) return PyErr_Occurred() ? NULL : raw(d, p, len);
        PyObject *body = PyTuple_GET_ITEM(entry, 1);
        if (PyBytes_GET_SIZE(body) == size
                && memcmp(PyBytes_AS_STRING(body), e + EVENT_HEADER, (size_t)size) == 0)
            Py_RETURN_NONE;
        return raw(d, p, len);
    }
    case 0x17: case 0x18: case 0x19: case 0x1E: case 0x1F: case 0x20:
        return rows_item(ctx, buf, d, p, len, type);
    default:
        return raw(d, p, len);
    }
}

static int context(Context *ctx, Py_ssize_t checksum, int rows_ok, PyObject *tables) {
    if (checksum != 0 && checksum != 4) {
        PyErr_Format(PyExc_ValueError, "checksum length %zd: 0 or 4", checksum);
        return -1;
    }
    *ctx = (Context){checksum, rows_ok, tables};
    return 0;
}

static PyObject *scan(PyObject *module, PyObject *args) {
    PyObject *buf, *tables;
    Py_ssize_t pos, checksum, limit;
    int seq, rows_ok;
    if (!PyArg_ParseTuple(args, "O!ninpO!n:scan", &PyBytes_Type, &buf, &pos, &seq, &checksum,
                          &rows_ok, &PyDict_Type, &tables, &limit))
        return NULL;
    Context ctx;
    if (context(&ctx, checksum, rows_ok, tables)) return NULL;
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(buf);
    Py_ssize_t size = PyBytes_GET_SIZE(buf);
    if (pos < 0 || pos > size) {
        PyErr_Format(PyExc_ValueError, "offset %zd outside %zd bytes", pos, size);
        return NULL;
    }
    PyObject *items = PyList_New(0);
    if (items == NULL) return NULL;
    int stop = STOP_MORE;
    Py_ssize_t count = 0; /* items, and the rows of rows items: memory stays bounded */
    while (count < limit) {
        if (size - pos < 4) break;
        Py_ssize_t len = (Py_ssize_t)le(d + pos, 3);
        if (d[pos + 3] != (seq & 0xFF) || len == MAX_PACKET) {
            stop = STOP_SLOW;
            break;
        }
        if (size - pos - 4 < len) break;
        Py_ssize_t p = pos + 4;
        if (len > 0 && d[p] == 0xFF) { /* an error packet: Python raises it */
            stop = STOP_SLOW;
            break;
        }
        PyObject *item = parse_packet(&ctx, buf, d, p, len);
        if (item == NULL) {
            Py_DECREF(items);
            return NULL;
        }
        pos = p + len;
        seq = (seq + 1) & 0xFF;
        if (item == Py_None) {
            Py_DECREF(item);
            continue;
        }
        int failed = PyList_Append(items, item);
        int is_raw = PyBytes_Check(item);
        count += PyTuple_Check(item) && PyTuple_GET_SIZE(item) == 4 /* a rows item */
            ? PyList_GET_SIZE(PyTuple_GET_ITEM(item, 3)) : 1;
        Py_DECREF(item);
        if (failed) {
            Py_DECREF(items);
            return NULL;
        }
        if (is_raw) {
            stop = STOP_RAW;
            break;
        }
    }
    if (count >= limit) stop = STOP_RAW;
    return Py_BuildValue("(Nnii)", items, pos, seq, stop);
}

static PyObject *parse(PyObject *module, PyObject *args) {
    PyObject *data, *tables;
    Py_ssize_t checksum;
    int rows_ok;
    if (!PyArg_ParseTuple(args, "O!npO!:parse", &PyBytes_Type, &data, &checksum, &rows_ok,
                          &PyDict_Type, &tables))
        return NULL;
    Context ctx;
    if (context(&ctx, checksum, rows_ok, tables)) return NULL;
    return parse_packet(&ctx, data, (const unsigned char *)PyBytes_AS_STRING(data), 0,
                        PyBytes_GET_SIZE(data));
}

static PyObject *py_rows_span(PyObject *module, PyObject *args) {
    PyObject *data;
    Py_ssize_t checksum, columns;
    int rows_ok;
    if (!PyArg_ParseTuple(args, "O!npn:rows_span", &PyBytes_Type, &data, &checksum, &rows_ok,
                          &columns))
        return NULL;
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t len = PyBytes_GET_SIZE(data), pos, end;
    if (checksum < 0 || len - checksum < EVENT_HEADER || d[0] != 0
            || !rows_span(d, 0, len, d[5], checksum, rows_ok, columns, &pos, &end))
        Py_RETURN_NONE;
    return Py_BuildValue("(nn)", pos, end);
}

static PyMethodDef module_methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(buf, pos, seq, checksum, rows_ok, tables, limit) -> (items, pos, seq, stop);\n"
     "limit: the most items and rows of rows items one scan returns (it ends past it)."},
    {"parse", parse, METH_VARARGS, "parse(packet, checksum, rows_ok, tables) -> item"},
    {"rows_span", py_rows_span, METH_VARARGS,
     "rows_span(packet, checksum, rows_ok, columns) -> (pos, end) of its row images, or None "
     "for a rows event this module does not decode"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "cdc._binlog", "The binlog reader's compiled core.", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__binlog(void) {
    if (PyType_Ready(&CodecType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) return NULL;
    s_insert = PyUnicode_InternFromString("insert");
    s_update = PyUnicode_InternFromString("update");
    s_delete = PyUnicode_InternFromString("delete");
    if (s_insert == NULL || s_update == NULL || s_delete == NULL) goto fail;
    Py_INCREF(&CodecType);
    if (PyModule_AddObject(m, "Codec", (PyObject *)&CodecType) < 0) {
        Py_DECREF(&CodecType);
        goto fail;
    }
    static const struct { const char *name; long value; } constants[] = {
        {"ITEM_GTID", ITEM_GTID}, {"ITEM_XID", ITEM_XID}, {"ITEM_ROWS", ITEM_ROWS},
        {"STOP_MORE", STOP_MORE}, {"STOP_SLOW", STOP_SLOW}, {"STOP_RAW", STOP_RAW},
        {"OP_PY", OP_PY}, {"OP_I8", OP_I8}, {"OP_U8", OP_U8}, {"OP_I16", OP_I16},
        {"OP_U16", OP_U16}, {"OP_I24", OP_I24}, {"OP_U24", OP_U24}, {"OP_I32", OP_I32},
        {"OP_U32", OP_U32}, {"OP_I64", OP_I64}, {"OP_U64", OP_U64}, {"OP_F64", OP_F64},
        {"OP_YEAR", OP_YEAR}, {"OP_UTF8", OP_UTF8}, {"OP_DATETIME2", OP_DATETIME2},
        {"OP_DECIMAL", OP_DECIMAL},
    };
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        if (PyModule_AddIntConstant(m, constants[i].name, constants[i].value) < 0) goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
