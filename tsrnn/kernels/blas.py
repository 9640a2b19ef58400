"""General matrix multiply for the kernels: BLAS ``?gemm`` with strides and ``beta``.

``np.dot`` in numba computes ``C = A @ B`` on contiguous matrices only. The
kernels also need ``C += A @ B`` (accumulate a recurrent product into
pre-activations, or a weight gradient over time steps) and products of strided
blocks (a gate block inside a wider cache row), without temporaries. This
calls the same BLAS as numba's ``np.dot`` (scipy's ``cython_blas``, through
numba's ``numba_xxgemm`` helper, resolved by symbol name so callers stay
cacheable) with the full GEMM interface, in row-major terms.
"""

from llvmlite import ir
from numba.core import cgutils, types
from numba.core.errors import TypingError
from numba.extending import intrinsic

_CHAR = ir.IntType(8)
_VOID_P = _CHAR.as_pointer()
_KINDS = {types.float32: "s", types.float64: "d"}


@intrinsic
def gemm(typingctx, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """``C = alpha * op(A) @ op(B) + beta * C`` on row-major blocks (numba only).

    Parameters
    ----------
    trans_a, trans_b : int
        1 to use the transpose of the stored block (``op(X) = X.T``), else 0.
    m, n, k : int
        ``op(A)`` is ``m x k``, ``op(B)`` is ``k x n``, ``C`` is ``m x n``.
    alpha, beta : float
    a, b, c : ndarray
        Arrays whose data pointers start the blocks (e.g. ``gates[t, b0:b1]``);
        all of one dtype, float32 or float64. Nothing is bounds-checked.
    lda, ldb, ldc : int
        Row strides of the stored blocks, in elements.
    """
    for arr in (a, b, c):
        if not isinstance(arr, types.Array):
            raise TypingError("gemm: a, b and c must be arrays")
    if not (a.dtype == b.dtype == c.dtype) or c.dtype not in _KINDS:
        raise TypingError("gemm: a, b and c must share one dtype, float32 or float64")
    from numba.np.linalg import ensure_blas

    ensure_blas()
    dtype = c.dtype
    sig = types.void(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        ta, tb, m_, n_, k_, alpha_, a_, lda_, b_, ldb_, beta_, c_, ldc_ = args
        tys = signature.args
        intp = cgutils.intp_t

        def as_intp(val, ty):
            return context.cast(builder, val, ty, types.intp)

        def data(val, ty):
            return builder.bitcast(context.make_array(ty)(context, builder, val).data, _VOID_P)

        def trans_char(val, ty):
            flag = builder.icmp_signed("!=", as_intp(val, ty), ir.Constant(intp, 0))
            return builder.select(flag, ir.Constant(_CHAR, ord("t")), ir.Constant(_CHAR, ord("n")))

        def slot(val, ty):
            return builder.bitcast(cgutils.alloca_once_value(builder, context.cast(builder, val, ty, dtype)), _VOID_P)

        fnty = ir.FunctionType(
            ir.IntType(32),
            [_CHAR, _CHAR, _CHAR, intp, intp, intp, _VOID_P, _VOID_P, intp, _VOID_P, intp, _VOID_P, _VOID_P, intp],
        )
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        # Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T:
        # swap the operands and m/n, keep each operand's transpose flag.
        res = builder.call(
            fn,
            (
                ir.Constant(_CHAR, ord(_KINDS[dtype])),
                trans_char(tb, tys[1]),
                trans_char(ta, tys[0]),
                as_intp(n_, tys[3]),
                as_intp(m_, tys[2]),
                as_intp(k_, tys[4]),
                slot(alpha_, tys[5]),
                data(b_, tys[8]),
                as_intp(ldb_, tys[9]),
                data(a_, tys[6]),
                as_intp(lda_, tys[7]),
                slot(beta_, tys[10]),
                data(c_, tys[11]),
                as_intp(ldc_, tys[12]),
            ),
        )
        with builder.if_then(cgutils.is_not_null(builder, res), likely=False):
            pyapi = context.get_python_api(builder)
            pyapi.gil_ensure()
            pyapi.fatal_error("BLAS gemm wrapper returned with an error")
        return context.get_dummy_value()

    return sig, codegen
