package org.attn4j.minilm;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import org.attn4j.DType;
import org.attn4j.FlashAttention;
import org.attn4j.SequenceLengths;
import org.attn4j.Tensor;

/**
 * The BERT encoder over a padded batch. Per layer, attention runs batch-wide in one attn4j call over
 * views of the {@code qkv} buffer ({@code [batch, heads, seq, 32]} with the buffer's token stride, so no
 * transpose), each sequence's keys limited to its length ({@link SequenceLengths#ofKeys}). Everything
 * else is row-local: each thread takes groups of {@link #GROUP} token rows through output projection,
 * layer norm, feed-forward, layer norm and the next layer's query/key/value projection while they are
 * in cache. Padded rows are never projected; attention writes them (it computes a padded query row as
 * HuggingFace does) and nothing reads them.
 */
final class Encoder {
    /** How attention is called: the padded batch at once, or one call per sequence over its own rows. */
    enum Calls { PADDED, PER_SEQUENCE }

    static final int GROUP = 48;
    private static final int H = Weights.HIDDEN;
    private static final int QKV = 3 * H;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** The graph divides the scores by sqrt(32) in fp32. */
    static final float SCALE = 1f / (float) Math.sqrt(Weights.HEAD_DIM);

    /** Sees intermediate results (tests): the buffers hold {@code [batch, paddedLength, HIDDEN]} floats. */
    interface Observer {
        Observer NONE = new Observer() {};

        /** Attention's output of layer {@code layer}, before the output projection. */
        default void attention(int layer, MemorySegment context) {}

        /** The hidden states after layer {@code layer}. */
        default void hidden(int layer, MemorySegment hidden) {}
    }

    private final Weights w;
    private final Workers workers;
    private final FlashAttention attention;
    private final Calls calls;

    Encoder(Weights w, Workers workers, Calls calls) {
        this.w = w;
        this.workers = workers;
        this.calls = calls;
        this.attention = FlashAttention.builder().scale(SCALE).threads(workers.threads()).build();
    }

    /** Runs the batch; returns the nanoseconds spent in attention. */
    long run(Batch batch, Workspace ws, Observer observer, float[][] pooledOut) {
        int t = batch.paddedLength();
        int count = batch.validTokens();
        ws.ensure((long) batch.size() * t);
        int[] seqOf = new int[count];
        int[] posOf = new int[count];
        long[] hRow = new long[count];
        long[] qkvRow = new long[count];
        int r = 0;
        for (int b = 0; b < batch.size(); b++) {
            for (int i = 0; i < batch.length(b); i++, r++) {
                seqOf[r] = b;
                posOf[r] = i;
                hRow[r] = ((long) b * t + i) * H;
                qkvRow[r] = ((long) b * t + i) * QKV;
            }
        }
        Rows rows = new Rows(batch, seqOf, posOf, hRow, qkvRow, count);
        long attentionNanos = 0;
        int[] lengths = new int[batch.size()];
        for (int b = 0; b < lengths.length; b++) {
            lengths[b] = batch.length(b);
        }
        SequenceLengths keys = SequenceLengths.ofKeys(lengths);
        rowParallel(rows, ws, -1);
        for (int l = 0; l < Weights.LAYERS; l++) {
            long t0 = System.nanoTime();
            if (calls == Calls.PADDED) {
                attendPadded(batch, ws, keys);
            } else {
                attendEach(batch, ws);
            }
            attentionNanos += System.nanoTime() - t0;
            observer.attention(l, ws.context);
            rowParallel(rows, ws, l);
            observer.hidden(l, ws.hidden);
        }
        pool(batch, ws.hidden, pooledOut);
        return attentionNanos;
    }

    private record Rows(Batch batch, int[] seq, int[] pos, long[] hidden, long[] qkv, int count) {}

    /** Splits the rows among the threads (whole register blocks each) and runs {@link #rowStage} on each part. */
    private void rowParallel(Rows rows, Workspace ws, int layer) {
        if (rows.count() <= GROUP && workers.threads() > 1) {
            columnParallel(rows, ws, layer);
            return;
        }
        int blocks = (rows.count() + Gemm.MR - 1) / Gemm.MR;
        int parts = Math.min(workers.threads(), blocks);
        workers.run(parts, p -> {
            int from = (int) ((long) blocks * p / parts) * Gemm.MR;
            int to = Math.min(rows.count(), (int) ((long) blocks * (p + 1) / parts) * Gemm.MR);
            for (int g = from; g < to; g += GROUP) {
                rowStage(rows, ws, p, layer, g, Math.min(GROUP, to - g));
            }
        });
    }

    /**
     * Layer {@code layer}'s work after attention for rows {@code [g, g + n)}, then the next layer's
     * query/key/value; {@code layer = -1} is the embeddings.
     */
    private void rowStage(Rows rows, Workspace ws, int part, int layer, int g, int n) {
        MemorySegment x = ws.hidden;
        if (layer < 0) {
            for (int j = g; j < g + n; j++) {
                embed(rows.batch().id(rows.seq()[j], rows.pos()[j]), rows.pos()[j], x, rows.hidden()[j] * 4);
            }
        } else {
            Weights.Layer lw = w.layers[layer];
            MemorySegment proj = ws.projected[part];
            MemorySegment ffn = ws.ffn[part];
            long[] local = LOCAL_HIDDEN;
            Gemm.multiply(ws.context, rows.hidden(), g, proj, local, 0, n, lw.out());
            for (int j = 0; j < n; j++) {
                LayerNorm.row(x, rows.hidden()[g + j] * 4, proj, local[j] * 4, lw.ln1Gamma(), lw.ln1Beta());
            }
            Gemm.multiply(x, rows.hidden(), g, ffn, LOCAL_FFN, 0, n, lw.ffn1());
            Gelu.apply(ffn, 0, n * Weights.FFN);
            Gemm.multiply(ffn, LOCAL_FFN, 0, proj, local, 0, n, lw.ffn2());
            for (int j = 0; j < n; j++) {
                LayerNorm.row(x, rows.hidden()[g + j] * 4, proj, local[j] * 4, lw.ln2Gamma(), lw.ln2Beta());
            }
        }
        if (layer + 1 < Weights.LAYERS) {
            Gemm.multiply(x, rows.hidden(), g, ws.qkv, rows.qkv(), g, n, w.layers[layer + 1].qkv());
        }
    }

    /**
     * {@link #rowStage} for one group of rows (a short batch) on all threads: each product split by
     * columns, so each thread reads only its share of the weights (with a few rows, streaming all
     * 42 MB of them through every core is what costs), row-wise steps split by rows, spin barriers
     * between. Every element's arithmetic is the one {@link #rowStage} does.
     */
    private void columnParallel(Rows rows, Workspace ws, int layer) {
        int parts = workers.threads();
        int n = rows.count();
        SpinBarrier barrier = new SpinBarrier(parts);
        workers.run(parts, p -> {
            try {
                columnPart(rows, ws, layer, p, parts, n, barrier);
            } catch (RuntimeException | Error e) {
                barrier.fail();
                throw e;
            }
        });
    }

    private void columnPart(Rows rows, Workspace ws, int layer, int p, int parts, int n, SpinBarrier barrier) {
        MemorySegment x = ws.hidden;
        MemorySegment proj = ws.projected[0];   // shared by the threads: each writes its own columns
        MemorySegment ffn = ws.ffn[0];
        long[] hRow = rows.hidden();
        int r0 = n * p / parts, r1 = n * (p + 1) / parts;
        if (layer < 0) {
            for (int j = r0; j < r1; j++) {
                embed(rows.batch().id(rows.seq()[j], rows.pos()[j]), rows.pos()[j], x, hRow[j] * 4);
            }
        } else {
            Weights.Layer lw = w.layers[layer];
            Gemm.multiply(ws.context, hRow, 0, proj, LOCAL_HIDDEN, 0, n, lw.out(), from(lw.out(), p, parts), from(lw.out(), p + 1, parts));
            barrier.await();
            for (int j = r0; j < r1; j++) {
                LayerNorm.row(x, hRow[j] * 4, proj, LOCAL_HIDDEN[j] * 4, lw.ln1Gamma(), lw.ln1Beta());
            }
            barrier.await();
            int f0 = from(lw.ffn1(), p, parts), f1 = from(lw.ffn1(), p + 1, parts);
            Gemm.multiply(x, hRow, 0, ffn, LOCAL_FFN, 0, n, lw.ffn1(), f0, f1);
            for (int j = 0; j < n; j++) {
                Gelu.apply(ffn, (LOCAL_FFN[j] + (long) f0 * Gemm.NR) * 4, (f1 - f0) * Gemm.NR);
            }
            barrier.await();
            Gemm.multiply(ffn, LOCAL_FFN, 0, proj, LOCAL_HIDDEN, 0, n, lw.ffn2(), from(lw.ffn2(), p, parts), from(lw.ffn2(), p + 1, parts));
            barrier.await();
            for (int j = r0; j < r1; j++) {
                LayerNorm.row(x, hRow[j] * 4, proj, LOCAL_HIDDEN[j] * 4, lw.ln2Gamma(), lw.ln2Beta());
            }
        }
        if (layer + 1 < Weights.LAYERS) {
            barrier.await();
            PackedMatrix qkv = w.layers[layer + 1].qkv();
            Gemm.multiply(x, hRow, 0, ws.qkv, rows.qkv(), 0, n, qkv, from(qkv, p, parts), from(qkv, p + 1, parts));
        }
    }

    /** The first panel of thread {@code p}'s share of {@code m}'s columns. */
    private static int from(PackedMatrix m, int p, int parts) {
        return m.n / Gemm.NR * p / parts;
    }

    private static final long[] LOCAL_HIDDEN = localRows(H);
    private static final long[] LOCAL_FFN = localRows(Weights.FFN);

    private static long[] localRows(int width) {
        long[] off = new long[GROUP];
        for (int j = 0; j < GROUP; j++) {
            off[j] = (long) j * width;
        }
        return off;
    }

    /** {@code (word + token type 0) + position}, then the embeddings' layer norm, in the graph's order. */
    private void embed(int id, int position, MemorySegment x, long at) {
        long word = (long) id * H * 4;
        long pos = (long) position * H * 4;
        for (int i = 0; i < H; i += Gemm.L) {
            FloatVector v = FloatVector.fromMemorySegment(Gemm.S, w.wordEmbeddings, word + i * 4L, LE)
                    .add(FloatVector.fromMemorySegment(Gemm.S, w.tokenTypeEmbedding, i * 4L, LE))
                    .add(FloatVector.fromMemorySegment(Gemm.S, w.positionEmbeddings, pos + i * 4L, LE));
            v.intoMemorySegment(x, at + i * 4L, LE);
        }
        LayerNorm.row(x, at, null, 0, w.embGamma, w.embBeta);
    }

    /** One attn4j call for the whole padded batch, keys limited per sequence. */
    private void attendPadded(Batch batch, Workspace ws, SequenceLengths keys) {
        long t = batch.paddedLength();
        long[] shape = {batch.size(), Weights.HEADS, t, Weights.HEAD_DIM};
        long[] qkvStrides = {t * QKV, Weights.HEAD_DIM, QKV, 1};
        long[] outStrides = {t * H, Weights.HEAD_DIM, H, 1};
        Tensor q = Tensor.wrap(ws.qkv, DType.F32, shape, qkvStrides);
        Tensor k = Tensor.wrap(ws.qkv.asSlice(H * 4L), DType.F32, shape, qkvStrides);
        Tensor v = Tensor.wrap(ws.qkv.asSlice(2L * H * 4), DType.F32, shape, qkvStrides);
        Tensor out = Tensor.wrap(ws.context, DType.F32, shape, outStrides);
        attention.forward(q, k, v, out, null, keys);
    }

    /** One attn4j call per sequence over strided views of the batch buffers, queries and keys its valid length. */
    private void attendEach(Batch batch, Workspace ws) {
        int t = batch.paddedLength();
        for (int b = 0; b < batch.size(); b++) {
            long n = batch.length(b);
            long base = (long) b * t;
            long[] shape = {1, Weights.HEADS, n, Weights.HEAD_DIM};
            long[] qkvStrides = {(long) t * QKV, Weights.HEAD_DIM, QKV, 1};
            long[] outStrides = {(long) t * H, Weights.HEAD_DIM, H, 1};
            MemorySegment qkv = ws.qkv.asSlice(base * QKV * 4);
            Tensor q = Tensor.wrap(qkv, DType.F32, shape, qkvStrides);
            Tensor k = Tensor.wrap(qkv.asSlice(H * 4L), DType.F32, shape, qkvStrides);
            Tensor v = Tensor.wrap(qkv.asSlice(2L * H * 4), DType.F32, shape, qkvStrides);
            Tensor out = Tensor.wrap(ws.context.asSlice(base * H * 4), DType.F32, shape, outStrides);
            attention.forward(q, k, v, out);
        }
    }

    /** Mean of each sequence's token states, then divided by its L2 norm (at least 1e-12), as sentence-transformers does. */
    private static void pool(Batch batch, MemorySegment x, float[][] out) {
        int t = batch.paddedLength();
        for (int b = 0; b < batch.size(); b++) {
            int n = batch.length(b);
            float[] e = new float[H];
            for (int i = 0; i < n; i++) {
                long at = ((long) b * t + i) * H * 4;
                for (int c = 0; c < H; c += Gemm.L) {
                    FloatVector.fromArray(Gemm.S, e, c)
                            .add(FloatVector.fromMemorySegment(Gemm.S, x, at + c * 4L, LE)).intoArray(e, c);
                }
            }
            float norm = 0;
            for (int c = 0; c < H; c++) {
                e[c] /= n;
                norm += e[c] * e[c];
            }
            float inv = 1f / Math.max((float) Math.sqrt(norm), 1e-12f);
            for (int c = 0; c < H; c++) {
                e[c] *= inv;
            }
            out[b] = e;
        }
    }
}
