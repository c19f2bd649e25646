package org.attn4j.minilm;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The exact (erf) GELU of the graph, {@code x * 0.5 * (1 + erf(x / sqrt 2))}, vectorized. erf has two
 * least-squares fits (to double-precision erf, at most 1.5e-7 from it in fp32): {@code x P(x^2)} below 1,
 * {@code 1 - exp(Q(|x|))} (Q fits log erfc) up to 3.92, where erf rounds to 1 in fp32. Only basic
 * operations, each rounded once, so compiled and interpreted code give the same bits.
 */
final class Gelu {
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final float SPLIT = 1f;
    private static final float ONE_FROM = 3.92f;
    private static final float[] P = {1.128379225730896f, -0.3761262893676758f, 0.11283625662326813f,
        -0.02685539796948433f, 0.005191214848309755f, -0.0008034809143282473f, 7.93335129856132e-05f};
    private static final float[] Q = {0.0003176805330440402f, -1.1302266120910645f, -0.6318319439888f,
        -0.11008015275001526f, 0.02642449364066124f, -0.004761978983879089f, 0.0005975754465907812f,
        -4.618071761797182e-05f, 1.6449523627670715e-06f};

    private Gelu() {}

    /** In place over {@code count} floats (a multiple of the vector length) from byte offset {@code at}. */
    static void apply(MemorySegment x, long at, int count) {
        for (int i = 0; i < count; i += Gemm.L) {
            long off = at + i * 4L;
            FloatVector v = FloatVector.fromMemorySegment(Gemm.S, x, off, LE);
            FloatVector e = erf(v.div(1.4142135f));
            v.mul(0.5f).mul(e.add(1f)).intoMemorySegment(x, off, LE);
        }
    }

    static FloatVector erf(FloatVector z) {
        FloatVector a = z.abs();
        FloatVector t = a.mul(a);
        FloatVector p = FloatVector.broadcast(Gemm.S, P[P.length - 1]);
        for (int i = P.length - 2; i >= 0; i--) {
            p = p.fma(t, FloatVector.broadcast(Gemm.S, P[i]));
        }
        FloatVector small = a.mul(p);
        FloatVector q = FloatVector.broadcast(Gemm.S, Q[Q.length - 1]);
        for (int i = Q.length - 2; i >= 0; i--) {
            q = q.fma(a, FloatVector.broadcast(Gemm.S, Q[i]));
        }
        FloatVector large = exp(q).neg().add(1f);
        VectorMask<Float> isSmall = a.compare(VectorOperators.LT, SPLIT);
        VectorMask<Float> isOne = a.compare(VectorOperators.GE, ONE_FROM);
        FloatVector r = large.blend(small, isSmall).blend(1f, isOne);   // NaN fails both tests and stays NaN
        return r.blend(r.neg(), z.compare(VectorOperators.LT, 0f));     // erf is odd
    }

    private static final float LOG2E = 1.44269504f;
    private static final float LN2_HI = 0.693145752f;        // ln 2 in two parts: n * LN2_HI is exact
    private static final float LN2_LO = 1.42860677e-6f;
    private static final float ROUND = 12582912f;            // 1.5 * 2^23: adding it rounds to an integer

    /**
     * exp for arguments in [-87, 0] (erfc's logarithm), from basic operations only: the lanewise EXP
     * may round differently compiled (a vector library) and interpreted, and results must not depend on
     * the JIT. {@code 2^n * e^r}, {@code |r| <= ln2 / 2}, e^r by its Taylor series to r^7 (error below 1e-8).
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87f).min(0f);
        FloatVector shifted = x.fma(FloatVector.broadcast(Gemm.S, LOG2E), FloatVector.broadcast(Gemm.S, ROUND));
        FloatVector n = shifted.sub(ROUND);
        FloatVector r = n.neg().fma(FloatVector.broadcast(Gemm.S, LN2_HI), x);
        r = n.neg().fma(FloatVector.broadcast(Gemm.S, LN2_LO), r);
        FloatVector p = FloatVector.broadcast(Gemm.S, 1f / 5040);
        float[] taylor = {1f / 720, 1f / 120, 1f / 24, 1f / 6, 0.5f, 1f, 1f};
        for (float c : taylor) {
            p = p.fma(r, FloatVector.broadcast(Gemm.S, c));
        }
        // 2^n as float bits: the integer n sits in the low bits of 'shifted'
        IntVector bits = shifted.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND)).add(127).lanewise(VectorOperators.LSHL, 23);
        return p.mul(bits.reinterpretAsFloats());
    }
}
