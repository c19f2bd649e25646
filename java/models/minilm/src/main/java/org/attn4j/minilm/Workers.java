package org.attn4j.minilm;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntConsumer;

/**
 * A fixed set of daemon threads for the row-parallel parts of the encoder; the calling thread takes
 * part 0 itself, so {@code threads = 1} starts no thread at all.
 */
final class Workers implements AutoCloseable {
    private final int threads;
    private final ExecutorService pool;

    Workers(int threads) {
        this.threads = threads;
        this.pool = threads > 1 ? Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(r, "attn4j-minilm");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    int threads() {
        return threads;
    }

    /** Runs {@code task(0..parts-1)} and returns when all are done; the first failure is rethrown. */
    void run(int parts, IntConsumer task) {
        if (parts <= 1 || pool == null) {
            for (int p = 0; p < parts; p++) {
                task.accept(p);
            }
            return;
        }
        List<Future<?>> others = new ArrayList<>(parts - 1);
        for (int p = 1; p < parts; p++) {
            int part = p;
            others.add(pool.submit(() -> task.accept(part)));
        }
        RuntimeException failure = null;
        try {
            task.accept(0);
        } catch (RuntimeException e) {
            failure = e;
        }
        for (Future<?> f : others) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while encoding", e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdownNow();
        }
    }
}
