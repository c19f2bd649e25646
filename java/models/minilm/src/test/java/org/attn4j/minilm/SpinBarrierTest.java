package org.attn4j.minilm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The steps' barrier: nobody passes before all arrive, and a failed party releases the others. */
class SpinBarrierTest {
    @Test
    @Timeout(20)
    void nobodyPassesEarly() {
        try (Workers workers = new Workers(2)) {
            SpinBarrier barrier = new SpinBarrier(2);
            AtomicInteger before = new AtomicInteger();
            int[] seen = new int[2];
            workers.run(2, p -> {
                for (int round = 1; round <= 1000; round++) {
                    before.incrementAndGet();
                    barrier.await();
                    seen[p] = Math.max(seen[p], round * 2 - before.get());  // > 0 if someone passed early
                    barrier.await();
                }
            });
            assertEquals(0, Math.max(seen[0], seen[1]));
            assertEquals(2000, before.get());
        }
    }

    @Test
    @Timeout(20)
    void aFailedPartyReleasesTheOthers() {
        try (Workers workers = new Workers(2)) {
            SpinBarrier barrier = new SpinBarrier(2);
            assertThrows(RuntimeException.class, () -> workers.run(2, p -> {
                try {
                    if (p == 1) {
                        throw new IllegalArgumentException("part 1 fails");
                    }
                    barrier.await();
                } catch (RuntimeException e) {
                    barrier.fail();
                    throw e;
                }
            }));
        }
    }
}
