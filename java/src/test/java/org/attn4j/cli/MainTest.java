package org.attn4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The command line: a correct run passes its own check; bad flags give one line and exit code 2. */
class MainTest {

    private static String[] capture(String... args) {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int rc;
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            rc = Main.run(args);
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new String[] {String.valueOf(rc), o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void flashRunsAndChecksItself() {
        String[] r = capture("flash", "--seq", "100", "--heads", "4", "--kv-heads", "2", "--dim", "32", "--causal",
                "--iters", "2", "--check-rows", "0");
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(r[1].contains("check  400 rows") && r[1].contains("OK"), r[1]);
        assertTrue(r[1].contains("GFLOP/s"), r[1]);
    }

    @Test
    void lightningRunsAndChecksItself() {
        String[] r = capture("lightning", "--seq", "300", "--heads", "2", "--dim", "32", "--iters", "2", "--check-rows", "0");
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(r[1].contains("check  600 rows") && r[1].contains("OK"), r[1]);
        assertTrue(r[1].contains("tokens/s"), r[1]);
    }

    @Test
    void saleRunsNextToDenseAndChecksItsBlocks() {
        String[] r = capture("sale", "--seq", "600", "--heads", "2", "--kv-heads", "1", "--dim", "32", "--tau", "0.01",
                "--blocks", "32,32", "--iters", "1", "--check-rows", "50");
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(r[1].contains("speedup") && r[1].contains("density") && r[1].lines().anyMatch(l -> l.matches("\\s+600\\s+0\\.01\\s.*x.*")), r[1]);
        assertTrue(r[1].contains("fp64 attention over the mask") && r[1].contains("OK"), r[1]);
        String[] calibrated = capture("sale", "--seq", "400", "--heads", "2", "--dim", "32", "--target", "0.02", "--iters", "1");
        assertEquals("0", calibrated[0], calibrated[1] + calibrated[2]);
        assertTrue(calibrated[1].contains("(calibrated)"), calibrated[1]);
    }

    @Test
    void saleSweepsThresholdsAndDrawsTheCurve(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws java.io.IOException {
        java.nio.file.Path png = dir.resolve("curve.png");
        String[] r = capture("sale", "--seq", "300,500", "--heads", "1", "--dim", "32", "--tau", "0.1,0.01,0",
                "--blocks", "16,16", "--iters", "1", "--plot", png.toString());
        assertEquals("0", r[0], r[1] + r[2]);
        assertEquals(6, r[1].lines().filter(l -> l.matches("\\s+(300|500)\\s+.*x .*")).count(), r[1]);
        // tau 0 computes every block: dense up to fp32 rounding (query tiles of 16 rows instead of 96).
        assertTrue(r[1].lines().anyMatch(l -> l.matches("\\s+500\\s+0\\.0\\s.*\\s1\\.000\\s+\\d\\.\\d+e-(0[6-9]|1\\d)")),
                "tau 0 is dense: density 1, error < 1e-5\n" + r[1]);
        assertTrue(java.nio.file.Files.size(png) > 1000);
    }

    @Test
    void benchSweepsLengthsPrintsATableAndDrawsThePlot(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        java.nio.file.Path png = dir.resolve("sweep.png");
        String[] r = capture("bench", "--seq", "256,512", "--heads", "1", "--dim", "32", "--iters", "1", "--plot", png.toString());
        assertEquals("0", r[0], r[1] + r[2]);
        for (String kernel : new String[] {"flash", "sale", "lightning"}) {
            assertEquals(2, r[1].lines().filter(l -> l.matches("\\s+\\d+\\s+" + kernel + "\\s.*")).count(), r[1]);
        }
        assertTrue(r[2].contains("6/6"), "progress bar: " + r[2]);
        byte[] head = java.util.Arrays.copyOf(java.nio.file.Files.readAllBytes(png), 4);
        assertEquals("\u0089PNG", new String(head, StandardCharsets.ISO_8859_1), "not a PNG");
    }

    @Test
    void badFlagsGiveOneLineAndExitCode2() {
        for (String[] args : new String[][] {{"flash", "--nope"}, {"flash", "--seq", "x"}, {"flash", "--dtype", "f64"},
                {"flash", "--window", "3"}, {"frobnicate"}, {"flash", "--seq"}, {"flash", "--kv-heads", "3"},
                {"flash", "--softcap", "x"}, {"lightning", "--decay", "alibi"}, {"lightning", "--block", "999"},
                {"sale", "--pattern", "zigzag"}, {"sale", "--tau", "-1"}, {"sale", "--tau", "0.1,x"}, {"sale", "--blocks", "24,64"},
                {"sale", "--blocks", "64"}, {"bench", "--kernels", "flash,magic"}, {"bench", "--seq", "0"},
                {"bench", "--iters", "0"}}) {
            String[] r = capture(args);
            assertEquals("2", r[0], String.join(" ", args) + " -> " + r[1] + r[2]);
            assertEquals(1, r[2].strip().lines().count(), "one line expected: " + r[2]);
            assertTrue(r[2].startsWith("attn4j: "), r[2]);
        }
    }

    @Test
    void helpIsPrintedForEveryCommand() {
        for (String cmd : new String[] {"flash", "lightning", "sale", "bench", "info"}) {
            String[] r = capture(cmd, "--help");
            assertEquals("0", r[0]);
            assertTrue(r[1].startsWith("usage: attn4j " + cmd), r[1]);
        }
    }

    @Test
    void flopCountSkipsMaskedKeys() {
        var causal = org.attn4j.FlashAttention.builder().causal(true).build().options();
        var full = org.attn4j.FlashAttention.Options.DEFAULT;
        assertEquals(4.0 * 10 * 10 * 8, FlashCommand.flops(1, 1, 10, 10, 8, 8, full));
        assertEquals(4.0 * 55 * 8, FlashCommand.flops(1, 1, 10, 10, 8, 8, causal));
    }
}
