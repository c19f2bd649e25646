package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import org.attn4j.reference.StructuredInputs;
import org.junit.jupiter.api.Test;

/**
 * SALE over a batch of sequences of different lengths from Java: each sequence of the packed form gets
 * the mask and output it gets alone, the block-sparse pass over that mask reproduces it, and masks
 * or lengths that do not fit the call are refused before any kernel runs.
 */
class SaleSequencesTest {
    private static final int[] LENS = {300, 0, 129, 1};
    private static final long H = 2, D = 64;

    /** Rows [r0, r0 + n) of batch entry 0, as a tensor of its own (a strided view, no copy). */
    private static Tensor rows(Tensor t, long r0, long n) {
        long es = t.dtype().byteSize();
        return Tensor.wrap(t.segment().asSlice(r0 * t.stride(2) * es), t.dtype(), new long[] {1, t.shape(1), n, t.shape(3)},
                t.strides());
    }

    @Test
    void packedSequencesEqualEachSequenceAlone() {
        try (Arena arena = Arena.ofConfined()) {
            int total = 0;
            for (int len : LENS) total += len;
            Tensor q = Tensor.allocate(arena, DType.F32, 1, H, total, D), k = Tensor.allocate(arena, DType.F32, 1, H, total, D);
            Tensor v = Tensor.allocate(arena, DType.F32, 1, H, total, D), out = Tensor.allocate(arena, DType.F32, 1, H, total, D);
            StructuredInputs.fill(StructuredInputs.Pattern.MIXED, TestInputs.SEED, q, k, v);
            out.fill(Float.NaN);
            SaleAttention sale = SaleAttention.builder().causal(true).threshold(0.02f).build();
            SequenceLengths lengths = SequenceLengths.packedLengths(LENS);
            SaleMask mask = SaleMask.allocate(arena, q, k, sale.options(), lengths);
            assertEquals(LENS.length, mask.batch(), "one mask entry per sequence");
            assertEquals(Math.ceilDiv(300, 64), mask.queryBlocks(), "rows for the longest sequence");
            sale.forward(q, k, v, out, null, mask, lengths);
            assertTrue(mask.density() > 0 && mask.density() < 1, "a sparse mask: " + mask.density());

            for (int b = 0, at = 0; b < LENS.length; at += LENS[b], b++) {
                if (LENS[b] == 0) continue;
                String where = "sequence " + b + ", " + TestInputs.seedNote();
                Tensor qb = rows(q, at, LENS[b]), kb = rows(k, at, LENS[b]), vb = rows(v, at, LENS[b]);
                Tensor alone = Tensor.allocate(arena, DType.F32, 1, H, LENS[b], D);
                SaleMask aloneMask = SaleMask.allocate(arena, qb, kb, sale.options());
                sale.forward(qb, kb, vb, alone, null, aloneMask);
                Tensor got = rows(out, at, LENS[b]);
                for (long h = 0; h < H; h++) {
                    for (long i = 0; i < LENS[b]; i++)
                        for (long e = 0; e < D; e++)
                            assertEquals(alone.get(0, h, i, e), got.get(0, h, i, e), "out[" + h + "][" + i + "][" + e + "], " + where);
                    for (long i = 0; i < mask.queryBlocks(); i++)
                        for (long j = 0; j < mask.keyBlocks(); j++) {
                            boolean want = i < aloneMask.queryBlocks() && j < aloneMask.keyBlocks() && aloneMask.isSet(0, h, i, j);
                            assertEquals(want, mask.isSet(b, h, i, j), "mask block (" + i + ", " + j + ") of head " + h + ", " + where);
                        }
                }
            }

            Tensor again = Tensor.allocate(arena, DType.F32, 1, H, total, D);
            again.fill(Float.NaN);
            sale.blockSparse(q, k, v, again, null, mask, lengths);
            assertTrue(again.segment().mismatch(out.segment()) == -1, "the block-sparse pass over SALE's mask gives SALE's output");
        }
    }

    @Test
    void masksAndLengthsThatDoNotFitAreRefused() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor q = Tensor.allocate(arena, DType.F32, 2, H, 100, D), k = Tensor.allocate(arena, DType.F32, 2, H, 100, D);
            Tensor v = Tensor.allocate(arena, DType.F32, 2, H, 100, D), out = Tensor.allocate(arena, DType.F32, 2, H, 100, D);
            out.fill(Float.NaN);
            SaleAttention sale = SaleAttention.builder().build();
            SequenceLengths three = SequenceLengths.ofKeys(10, 20, 30);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> sale.forward(q, k, v, out, null, null, three));
            assertTrue(e.getMessage().contains("lengths describe 3 sequences but q.shape[0] = 2"), e.getMessage());

            Tensor pq = Tensor.allocate(arena, DType.F32, 1, H, 100, D), pk = Tensor.allocate(arena, DType.F32, 1, H, 100, D);
            Tensor pv = Tensor.allocate(arena, DType.F32, 1, H, 100, D), pout = Tensor.allocate(arena, DType.F32, 1, H, 100, D);
            pout.fill(Float.NaN);
            SequenceLengths packed = SequenceLengths.packedLengths(60, 40);
            SaleMask wholeTensor = SaleMask.allocate(arena, pq, pk, sale.options());
            e = assertThrows(IllegalArgumentException.class, () -> sale.forward(pq, pk, pv, pout, null, wholeTensor, packed));
            assertTrue(e.getMessage().startsWith("mask is for"), e.getMessage());

            SequenceLengths tooLong = SequenceLengths.packedLengths(60, 50);  // 110 tokens in a tensor of 100
            e = assertThrows(IllegalArgumentException.class, () -> sale.forward(pq, pk, pv, pout, null, null, tooLong));
            assertTrue(e.getMessage().contains("params.cu_seqlens_q[2] = 110 must equal 100"), e.getMessage());
            assertTrue(Float.isNaN(pout.get(0, 0, 0, 0)), "a refused call wrote its output");
        }
    }
}
