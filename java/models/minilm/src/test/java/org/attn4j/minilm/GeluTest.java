package org.attn4j.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** erf, exp and GELU against double-precision references, and the special values. */
class GeluTest {
    /** erf in double: its Taylor series below 2.5, the continued fraction of erfc above. */
    static double erf(double x) {
        double a = Math.abs(x);
        double r;
        if (a < 2.5) {
            double term = a, sum = a;
            for (int n = 1; n < 80; n++) {
                term *= -a * a / n;
                sum += term / (2 * n + 1);
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            double f = 0;
            for (int n = 60; n >= 1; n--) {
                f = n / 2.0 / (a + f);
            }
            r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
        }
        return Math.copySign(r, x);
    }

    private static float[] lanes(FloatVector v) {
        return v.toArray();
    }

    @Test
    void erfWithin2e7() {
        double worst = 0;
        for (int i = -600_000; i <= 600_000; i += Gemm.L) {
            float[] x = new float[Gemm.L];
            for (int j = 0; j < x.length; j++) {
                x[j] = (i + j) * 1e-5f;
            }
            float[] e = lanes(Gelu.erf(FloatVector.fromArray(Gemm.S, x, 0)));
            for (int j = 0; j < x.length; j++) {
                worst = Math.max(worst, Math.abs(e[j] - erf(x[j])));
            }
        }
        assertTrue(worst < 2e-7, "erf max error " + worst);
    }

    @Test
    void expRelativeErrorWithin2e7() {
        double worst = 0;
        for (int i = 0; i < 870_000; i += Gemm.L) {
            float[] x = new float[Gemm.L];
            for (int j = 0; j < x.length; j++) {
                x[j] = -(i + j) * 1e-4f;
            }
            float[] e = lanes(Gelu.exp(FloatVector.fromArray(Gemm.S, x, 0)));
            for (int j = 0; j < x.length; j++) {
                double ref = Math.exp(x[j]);
                if (ref > 1e-37) {
                    worst = Math.max(worst, Math.abs(e[j] - ref) / ref);
                }
            }
        }
        assertTrue(worst < 2e-7, "exp max relative error " + worst);
    }

    @Test
    void geluInPlaceAndSpecialValues() {
        try (Arena arena = Arena.ofConfined()) {
            float[] x = new float[4 * Gemm.L];
            for (int i = 0; i < x.length; i++) {
                x[i] = (i - x.length / 2) * 0.37f;
            }
            x[0] = Float.NaN;
            x[1] = Float.POSITIVE_INFINITY;
            x[2] = Float.NEGATIVE_INFINITY;
            x[3] = -0f;
            MemorySegment s = arena.allocateFrom(ValueLayout.JAVA_FLOAT, x);
            Gelu.apply(s, 0, x.length);
            float[] y = s.toArray(ValueLayout.JAVA_FLOAT);
            assertTrue(Float.isNaN(y[0]), "NaN stays NaN");
            assertEquals(Float.POSITIVE_INFINITY, y[1]);
            assertTrue(Float.isNaN(y[2]), "-inf * 0.5 * (1 + erf(-inf)) is -inf * 0, as the graph's formula has it");
            assertEquals(-0f, y[3]);
            for (int i = 4; i < x.length; i++) {
                double ref = x[i] * 0.5 * (1 + erf(x[i] / Math.sqrt(2)));
                assertEquals(ref, y[i], 1e-6, "gelu(" + x[i] + ")");
            }
        }
    }
}
