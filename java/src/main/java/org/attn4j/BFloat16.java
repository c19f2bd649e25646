package org.attn4j;

/**
 * bfloat16 conversions, bit-identical to the native library's (round to nearest even, NaN stays NaN).
 *
 * <pre>{@code
 * short h = BFloat16.fromFloat(1.5f);
 * float f = BFloat16.toFloat(h); // 1.5f
 * }</pre>
 */
public final class BFloat16 {
    private BFloat16() {}

    /** Rounds an fp32 value to the nearest bfloat16 (ties to even). */
    public static short fromFloat(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 0x40);
        }
        u += 0x7fff + ((u >>> 16) & 1);
        return (short) (u >>> 16);
    }

    /** Widens a bfloat16 to fp32 (exact). */
    public static float toFloat(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }
}
