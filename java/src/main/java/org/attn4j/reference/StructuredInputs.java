package org.attn4j.reference;

import org.attn4j.Tensor;

/**
 * Test and benchmark inputs (test tooling, not part of the exported API) whose attention has the shapes real LLM heads show: attention sinks, local
 * windows, vertical stripes, slashes (fixed offsets), all at once, or plain random. Pure Java, and the
 * same bytes as the native generator ({@code attn4j_structured_qkv}) for the same seed: the recipe is
 * written once in {@code native/src/inputs/structured_inputs.h} and followed here step by step (fp32
 * arithmetic in the same order, so results agree bit for bit).
 *
 * <pre>{@code
 * Tensor q = Tensor.allocate(arena, DType.F32, 1, 8, 16384, 128);
 * Tensor k = Tensor.allocate(arena, DType.F32, 1, 8, 16384, 128);
 * Tensor v = Tensor.allocate(arena, DType.F32, 1, 8, 16384, 128);
 * StructuredInputs.fill(StructuredInputs.Pattern.MIXED, 42, q, k, v);
 * }</pre>
 */
public final class StructuredInputs {
    private StructuredInputs() {}

    /** Attention shapes; codes match the native {@code ATTN4J_PATTERN_*}. */
    public enum Pattern {
        /** i.i.d. values: attention close to uniform (the dense worst case for sparse attention). */
        RANDOM,
        /** every query attends to the first four keys */
        SINKS,
        /** queries attend to keys within about 64 positions */
        LOCAL,
        /** every query attends to a few fixed keys */
        STRIPES,
        /** queries attend to keys a fixed distance back (128, 256 or 384 by kv head) */
        SLASHES,
        /** all four at once */
        MIXED;

        /** The native pattern code. */
        public int code() {
            return ordinal();
        }
    }

    /** Fills q {@code [B, Hq, Nq, d]}, k {@code [B, Hkv, Nk, d]} and v {@code [B, Hkv, Nk, dv]} (CPU, f32 or bf16). */
    public static void fill(Pattern pattern, long seed, Tensor q, Tensor k, Tensor v) {
        if (pattern == null || q == null || k == null || v == null) {
            throw new IllegalArgumentException("pattern, q, k and v must not be null");
        }
        if (!q.device().isCpu() || !k.device().isCpu() || !v.device().isCpu()) {
            throw new IllegalArgumentException("q.device = " + q.device() + ": structured inputs are filled on the CPU");
        }
        long group = k.shape(1) > 0 ? q.shape(1) / k.shape(1) : 1;
        fillOne(pattern, seed, q, 1, group, k.shape(2) - q.shape(2));
        fillOne(pattern, seed, k, 2, 1, 0);
        fillOne(pattern, seed, v, 3, 1, 0);
    }

    private static void fillOne(Pattern pat, long seed, Tensor t, int tensor, long group, long offset) {
        long bs = t.shape(0), hs = t.shape(1), ns = t.shape(2), d = t.shape(3);
        float a0 = pat == Pattern.RANDOM || tensor == 3 ? 1.0f : 0.5f;
        for (long b = 0; b < bs; b++) {
            for (long h = 0; h < hs; h++) {
                long g = h / group;
                for (long n = 0; n < ns; n++) {
                    for (long e = 0; e < d; e++) {
                        float x = a0 * gauss(key(seed, tensor, b, h, n, e));
                        if (tensor != 3) {
                            x = x + feature(pat, seed, tensor == 1, b, g, n + offset, e, d);
                        }
                        t.set(b, h, n, e, x);
                    }
                }
            }
        }
    }

    static long mix(long x) {
        long z = x + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    static long key(long seed, long... coords) {
        long h = mix(seed);
        for (long c : coords) {
            h = mix(h ^ c);
        }
        return h;
    }

    private static float unif(long h) {
        return (float) (h >>> 40) * (1.0f / 16777216.0f);
    }

    private static float gauss(long h) {
        float s = (unif(mix(h ^ 1)) + unif(mix(h ^ 2))) + unif(mix(h ^ 3));
        return (s - 1.5f) * 2.0f;
    }

    private static float walsh(long r, long c) {
        return (Long.bitCount(r & c) & 1) != 0 ? -1.0f : 1.0f;
    }

    private static long pow2Floor(long n) {
        long p = 1;
        while (p * 2 <= n) {
            p *= 2;
        }
        return p;
    }

    private static boolean has(Pattern p, Pattern f) {
        return p == f || p == Pattern.MIXED;
    }

    private static float feature(Pattern pat, long seed, boolean query, long b, long g, long pos, long e, long d) {
        long w = d / 8 > 1 ? d / 8 : 1;
        long slot = e / w;
        long n2 = pow2Floor(2 * w), n1 = pow2Floor(w);
        if (slot == 0 && has(pat, Pattern.SINKS)) {
            return query || pos < 4 ? 3.0f : 0.0f;
        }
        if ((slot == 1 || slot == 2) && has(pat, Pattern.LOCAL)) {
            return 2.0f * walsh(Long.remainderUnsigned(key(seed, 11, b, g, pos / 64), n2), e - w);
        }
        if ((slot == 3 || slot == 4) && has(pat, Pattern.LOCAL)) {
            return 2.0f * walsh(Long.remainderUnsigned(key(seed, 12, b, g, (pos + 32) / 64), n2), e - 3 * w);
        }
        if (slot == 5 && has(pat, Pattern.STRIPES)) {
            return query || Long.remainderUnsigned(key(seed, 13, b, g, pos), 512) == 0 ? 2.5f : 0.0f;
        }
        if (slot == 6 && has(pat, Pattern.SLASHES)) {
            long o = 128 * (1 + g % 3);
            return 2.5f * walsh(Long.remainderUnsigned(key(seed, 14, b, g, (query ? pos : pos + o) / 16), n1), e - 6 * w);
        }
        return 0.0f;
    }
}
