/*
 * shape.c — NumPy broadcasting, the one place it lives: the broadcast shape
 * of two operands and the strides that read an operand as the result shape.
 */
#include "internal.h"

void gf__shape_pad4(gf_shape s, int64_t dim[GF_MAX_RANK])
{
    int pad = GF_MAX_RANK - s.rank;
    for (int i = 0; i < GF_MAX_RANK; i++) dim[i] = i < pad ? 1 : s.dim[i - pad];
}

bool gf__broadcast_shape(gf_shape a, gf_shape b, gf_shape *out)
{
    if (a.rank < 0 || b.rank < 0) return false;
    gf_shape r = { .rank = a.rank > b.rank ? a.rank : b.rank };
    for (int i = 0; i < r.rank; i++) {
        /* align from the right */
        int ia = a.rank - r.rank + i, ib = b.rank - r.rank + i;
        int64_t da = ia >= 0 ? a.dim[ia] : 1, db = ib >= 0 ? b.dim[ib] : 1;
        if (da == db) r.dim[i] = da;
        else if (da == 1) r.dim[i] = db;
        else if (db == 1) r.dim[i] = da;
        else if (da == GF_ANY) r.dim[i] = db;   /* checked again at run time */
        else if (db == GF_ANY) r.dim[i] = da;
        else return false;
    }
    *out = r;
    return true;
}

void gf__broadcast_strides(gf_shape x, gf_shape out, int64_t strides[GF_MAX_RANK])
{
    int64_t xd[GF_MAX_RANK], od[GF_MAX_RANK];
    gf__shape_pad4(x, xd);
    gf__shape_pad4(out, od);
    int64_t s = 1;
    for (int i = GF_MAX_RANK - 1; i >= 0; i--) {
        strides[i] = (xd[i] == 1 && od[i] != 1) ? 0 : s;
        s *= xd[i];
    }
}
