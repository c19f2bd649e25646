package org.attn4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.foreign.Arena;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** No native memory grows with calls or threads; the library loads once per class loader, however raced. */
class ResourceSafetyTest {

    private static long rssKiB() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    @Test
    void hundredThousandCallsDoNotGrowNativeMemory() throws Exception {
        try (Arena arena = Arena.ofConfined(); LightningState state = LightningState.allocate(1, 2, 16, 16)) {
            Random rng = new Random(TestInputs.SEED);
            Tensor q = TestInputs.random(arena, rng, DType.F32, false, 0.5f, 1, 2, 8, 16);
            Tensor k = TestInputs.random(arena, rng, DType.F32, false, 0.5f, 1, 2, 8, 16);
            Tensor v = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 2, 8, 16);
            Tensor out = Tensor.allocate(arena, DType.F32, 1, 2, 8, 16), lse = Tensor.allocate(arena, DType.F32, 1, 2, 8, 1);
            FlashAttention flash = FlashAttention.builder().causal(true).build();
            LightningAttention lightning = LightningAttention.builder().slopes(0.1f, 0.2f).build();
            Runnable call = () -> {
                flash.forward(q, k, v, out, lse);
                lightning.forward(q, k, v, out, state);
            };
            // A leak grows with every round; warm-up effects (JIT, heap sizing) do not repeat.
            long[] rss = new long[3];
            for (int round = 0; round < 3; round++) {
                for (int i = 0; i < 50_000; i++) call.run();
                System.gc();
                rss[round] = rssKiB();
            }
            long grown = rss[2] - rss[1];
            assertTrue(grown < 4 * 1024, "RSS grew by " + grown + " KiB over the last 50k of 150k calls (rounds: "
                    + java.util.Arrays.toString(rss) + " KiB)");
        }
    }

    @Test
    void shortLivedThreadsLeaveNothingBehind() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            Random rng = new Random(TestInputs.SEED);
            Tensor q = TestInputs.random(arena, rng, DType.F32, false, 0.5f, 1, 2, 200, 64);
            Tensor k = TestInputs.random(arena, rng, DType.F32, false, 0.5f, 1, 2, 200, 64);
            Tensor v = TestInputs.random(arena, rng, DType.F32, false, 1f, 1, 2, 200, 64);
            FlashAttention flash = FlashAttention.builder().build();
            Runnable burst = () -> {
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < 50; t++) {
                    Thread th = new Thread(() -> {
                        try (Arena mine = Arena.ofConfined()) {
                            flash.forward(q, k, v, Tensor.allocate(mine, DType.F32, 1, 2, 200, 64));
                        }
                    });
                    th.start();
                    threads.add(th);
                }
                for (Thread th : threads) {
                    try {
                        th.join();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
            };
            for (int i = 0; i < 4; i++) burst.run();  // per-thread native scratch of this size, allocated then freed
            System.gc();
            long before = rssKiB();
            for (int i = 0; i < 20; i++) burst.run();  // 1000 more threads, each with its own native scratch
            System.gc();
            long grown = rssKiB() - before;
            assertTrue(grown < 32 * 1024, "RSS grew by " + grown + " KiB over 1000 short-lived calling threads");
        }
    }

    private static URL[] classPath() throws Exception {
        List<URL> urls = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            urls.add(Path.of(entry).toUri().toURL());
        }
        return urls.toArray(URL[]::new);
    }

    @Test
    void anUnsupportedPlatformGetsAClearMessage() throws Exception {
        String arch = System.getProperty("os.arch");
        System.setProperty("os.arch", "riscv64");
        try (URLClassLoader loader = new URLClassLoader(classPath(), ClassLoader.getPlatformClassLoader())) {
            java.lang.reflect.InvocationTargetException e = org.junit.jupiter.api.Assertions.assertThrows(
                    java.lang.reflect.InvocationTargetException.class,
                    () -> loader.loadClass("org.attn4j.Attn4j").getMethod("version").invoke(null));
            assertEquals("org.attn4j.Attn4jException", e.getCause().getClass().getName());
            assertTrue(e.getCause().getMessage().contains("linux-x86_64 only, not linux-riscv64"), e.getCause().getMessage());
        } finally {
            System.setProperty("os.arch", arch);
        }
    }

    @Test
    void manyClassLoadersRacingTheirFirstCallEachLoadTheLibrary() throws Exception {
        URL[] urls = classPath();
        ExecutorService pool = Executors.newFixedThreadPool(16);
        List<URLClassLoader> loaders = new ArrayList<>();
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<String>> versions = new ArrayList<>();
            for (int l = 0; l < 4; l++) {
                URLClassLoader loader = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
                loaders.add(loader);
                Class<?> attn4j = loader.loadClass("org.attn4j.Attn4j");
                assertTrue(attn4j != Attn4j.class, "the class must come from the new loader");
                for (int t = 0; t < 4; t++) {
                    versions.add(pool.submit(() -> {
                        start.await();
                        return (String) attn4j.getMethod("version").invoke(null);
                    }));
                }
            }
            start.countDown();
            for (Future<String> v : versions) assertEquals("0.2.0", v.get());
        } finally {
            pool.shutdownNow();
            for (URLClassLoader l : loaders) l.close();
        }
    }
}
