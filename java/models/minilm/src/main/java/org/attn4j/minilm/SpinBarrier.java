package org.attn4j.minilm;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A barrier for the few threads of one encoder step that wait on each other for microseconds: they
 * spin instead of parking (a park and wake-up costs tens of microseconds, as much as a small step).
 * If one party fails, {@link #fail()} releases the others with an exception instead of a hang.
 */
final class SpinBarrier {
    private final int parties;
    private final AtomicInteger arrived = new AtomicInteger();
    private volatile int generation;
    private volatile boolean failed;

    SpinBarrier(int parties) {
        this.parties = parties;
    }

    void await() {
        if (parties == 1) {
            return;
        }
        int gen = generation;
        if (arrived.incrementAndGet() == parties) {
            arrived.set(0);
            generation = gen + 1;
            return;
        }
        for (int spins = 0; generation == gen; spins++) {
            if (failed) {
                throw new IllegalStateException("another thread of this step failed");
            }
            if ((spins & 0xfff) == 0xfff) {
                Thread.yield();   // the other party may be descheduled: give it the core
            } else {
                Thread.onSpinWait();
            }
        }
    }

    void fail() {
        failed = true;
    }
}
