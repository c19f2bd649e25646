package org.attn4j.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Embeddings equal ONNX Runtime's (same ONNX file, the same token ids fed to both) within 1e-5 per
 * component, batched (padded) and one text at a time; and attention's output and the hidden states
 * of every layer equal ORT's intermediate values.
 */
class ParityTest {
    static final double TOLERANCE = 1e-5;
    private static MiniLm model;
    private static OrtReference ort;

    @BeforeAll
    static void load() throws Exception {
        model = MiniLm.load(new MiniLm.Options(2, Tokenizer.MAX_POSITIONS));
        ort = new OrtReference(2);
    }

    @AfterAll
    static void close() throws Exception {
        model.close();
        ort.close();
    }

    static double maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length);
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - b[i]);
            if (Double.isNaN(d)) {
                return Double.POSITIVE_INFINITY;
            }
            max = Math.max(max, d);
        }
        return max;
    }

    @Test
    void sentencesCoverTheLengths() {
        Batch b = model.batch(TestSentences.ALL);
        assertEquals(2, b.length(0));
        assertEquals(3, b.length(1));
        assertEquals(256, b.length(6));
        assertEquals(512, b.length(7));
        assertTrue(b.truncated(7));
        assertEquals(7, java.util.stream.IntStream.range(0, b.size()).filter(i -> !b.truncated(i)).count());
    }

    @Test
    void batchedEqualsOrtBatched() throws Exception {
        Batch b = model.batch(TestSentences.ALL);
        float[][] mine = model.embed(b).vectors();
        float[][] ref = ort.embed(b);
        for (int i = 0; i < b.size(); i++) {
            double d = maxDiff(mine[i], ref[i]);
            System.out.printf("batched  text %d (%3d ids): max |diff| %.2e%n", i, b.length(i), d);
            int text = i;
            assertTrue(d <= TOLERANCE, () -> "text " + text + ": " + d);
        }
    }

    @Test
    void aloneEqualsOrtAloneAndBatched() throws Exception {
        Batch all = model.batch(TestSentences.ALL);
        float[][] batched = model.embed(all).vectors();
        for (int i = 0; i < TestSentences.ALL.size(); i++) {
            Batch one = model.batch(List.of(TestSentences.ALL.get(i)));
            float[] mine = model.embed(one).vectors()[0];
            double d = maxDiff(mine, ort.embed(one)[0]);
            System.out.printf("alone    text %d (%3d ids): max |diff| %.2e%n", i, one.length(0), d);
            int text = i;
            assertTrue(d <= TOLERANCE, () -> "text " + text + ": " + d);
            // padding leaks nothing (bit for bit with one attention call per sequence: AttentionCallsTest)
            double rowDiff = maxDiff(batched[i], mine);
            assertTrue(rowDiff <= 1e-6, () -> "text " + text + " alone differs from its row in the batch by " + rowDiff);
        }
    }

    @Test
    void everyLayerEqualsOrt() throws Exception {
        List<String> taps = new ArrayList<>();
        for (int l = 0; l < Weights.LAYERS; l++) {
            taps.add(attentionTap(l));
            if (l < Weights.LAYERS - 1) {
                taps.add(hiddenTap(l));
            }
        }
        Batch b = model.batch(TestSentences.ALL.subList(0, 7));
        Map<String, float[][][]> ref;
        try (OrtReference tapped = new OrtReference(2, taps)) {
            ref = tapped.run(b);
        }
        double[][] worst = new double[Weights.LAYERS][2];
        model.embed(b, new Encoder.Observer() {
            @Override
            public void attention(int layer, MemorySegment context) {
                worst[layer][0] = relativeError(b, context, ref.get(attentionTap(layer)));
            }

            @Override
            public void hidden(int layer, MemorySegment hidden) {
                worst[layer][1] = relativeError(b, hidden, ref.get(hiddenTap(layer)));
            }
        });
        for (int l = 0; l < Weights.LAYERS; l++) {
            System.out.printf("layer %d: attention output rel. L2 error %.2e, hidden state %.2e%n", l, worst[l][0], worst[l][1]);
            int layer = l;
            assertTrue(worst[l][0] <= TOLERANCE, () -> "layer " + layer + " attention: " + worst[layer][0]);
            assertTrue(worst[l][1] <= TOLERANCE, () -> "layer " + layer + " hidden: " + worst[layer][1]);
        }
    }

    static String attentionTap(int layer) {
        return "/encoder/layer." + layer + "/attention/self/Reshape_3_output_0";
    }

    /** The last layer's output is the graph's output itself. */
    static String hiddenTap(int layer) {
        return layer == Weights.LAYERS - 1 ? "last_hidden_state" : "/encoder/layer." + layer + "/output/LayerNorm/Add_1_output_0";
    }

    /** The largest over sequences of ||mine - ref|| / ||ref|| over the sequence's valid rows (padding is not compared). */
    static double relativeError(Batch b, MemorySegment mine, float[][][] ref) {
        double worst = 0;
        int h = Weights.HIDDEN;
        for (int s = 0; s < b.size(); s++) {
            double err = 0, norm = 0;
            for (int i = 0; i < b.length(s); i++) {
                for (int c = 0; c < h; c++) {
                    float x = mine.getAtIndex(ValueLayout.JAVA_FLOAT, ((long) s * b.paddedLength() + i) * h + c);
                    double d = x - ref[s][i][c];
                    err += d * d;
                    norm += (double) ref[s][i][c] * ref[s][i][c];
                }
            }
            double rel = Math.sqrt(err / norm);
            worst = Double.isNaN(rel) ? Double.POSITIVE_INFINITY : Math.max(worst, rel);
        }
        return worst;
    }
}
