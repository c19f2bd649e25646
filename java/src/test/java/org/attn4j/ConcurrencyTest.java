package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * 16 Java threads each run thousands of mixed kernel calls on their own tensors at once, sharing the
 * native thread pool; every result must be bit-identical to the same call run alone.
 */
class ConcurrencyTest {
    private static final int THREADS = 16, CALLS = 250;

    /** One kind of call with its inputs, output, and the output of a serial run. */
    private record Job(Runnable call, Tensor out, float[] expected) {}

    private static List<Job> jobs(Arena arena, Random rng) {
        List<Job> jobs = new ArrayList<>();
        FlashAttention causal = FlashAttention.builder().causal(true).build();
        FlashAttention windowed = FlashAttention.builder().window(5, 2).softcap(10).build();
        LightningAttention lightning = LightningAttention.builder().slopes(LightningAttention.transNormerSlopes(2, 0, 1)).build();
        long n = 8 + rng.nextInt(56), d = 16 * (1 + rng.nextInt(4));
        Tensor q = TestInputs.random(arena, rng, DType.F32, false, 0.5f, 1, 2, n, d);
        Tensor k = TestInputs.random(arena, rng, DType.F32, false, 0.5f, 1, 2, n, d);
        Tensor v = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 2, n, d);
        Tensor qb = TestInputs.random(arena, rng, DType.BF16, true, 0.5f, 1, 2, n, d);
        Tensor kb = TestInputs.random(arena, rng, DType.BF16, true, 0.5f, 1, 1, n, d);
        Tensor vb = TestInputs.random(arena, rng, DType.BF16, true, 1f, 1, 1, n, d);
        Tensor o1 = Tensor.allocate(arena, DType.F32, 1, 2, n, d), o2 = Tensor.allocate(arena, DType.F32, 1, 2, n, d);
        Tensor o3 = Tensor.allocate(arena, DType.F32, 1, 2, n, d);
        jobs.add(new Job(() -> causal.forward(q, k, v, o1), o1, null));
        jobs.add(new Job(() -> windowed.forward(qb, kb, vb, o2), o2, null));
        jobs.add(new Job(() -> lightning.forward(q, k, v, o3, null), o3, null));
        List<Job> done = new ArrayList<>();
        for (Job j : jobs) {
            j.call().run();
            done.add(new Job(j.call(), j.out(), j.out().toFloatArray()));
        }
        return done;
    }

    @Test
    void parallelCallersGetTheSerialResults() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Integer>> results = new ArrayList<>();
        try {
            for (int t = 0; t < THREADS; t++) {
                long seed = TestInputs.SEED + t;
                results.add(pool.submit(() -> {
                    try (Arena arena = Arena.ofConfined()) {
                        List<Job> jobs = jobs(arena, new Random(seed));
                        start.await();
                        for (int c = 0; c < CALLS; c++) {
                            Job j = jobs.get(c % jobs.size());
                            j.out().fill(Float.NaN);
                            j.call().run();
                            assertArrayEquals(j.expected(), j.out().toFloatArray(), TestInputs.seedNote() + " thread seed " + seed + " call " + c);
                        }
                        return CALLS;
                    }
                }));
            }
            start.countDown();
            int total = 0;
            for (Future<Integer> f : results) total += f.get();
            assertEquals(THREADS * CALLS, total);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aTensorFreedByAnotherThreadIsRejected() throws Exception {
        Arena shared = Arena.ofShared();
        Tensor q = Tensor.allocate(shared, DType.F32, 1, 1, 4, 16);
        Thread closer = new Thread(shared::close);
        closer.start();
        closer.join();
        try (Arena arena = Arena.ofConfined()) {
            Tensor k = Tensor.allocate(arena, DType.F32, 1, 1, 4, 16), v = Tensor.allocate(arena, DType.F32, 1, 1, 4, 16);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 1, 4, 16);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> FlashAttention.builder().build().forward(q, k, v, out));
            assertTrue(e.getMessage().contains("q: its arena is closed"), e.getMessage());
        }
    }
}
