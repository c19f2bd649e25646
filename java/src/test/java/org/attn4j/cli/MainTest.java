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
    void badFlagsGiveOneLineAndExitCode2() {
        for (String[] args : new String[][] {{"flash", "--nope"}, {"flash", "--seq", "x"}, {"flash", "--dtype", "f64"},
                {"flash", "--window", "3"}, {"frobnicate"}, {"flash", "--seq"}, {"flash", "--kv-heads", "3"},
                {"flash", "--softcap", "x"}, {"lightning", "--decay", "alibi"}, {"lightning", "--block", "999"}}) {
            String[] r = capture(args);
            assertEquals("2", r[0], String.join(" ", args) + " -> " + r[1] + r[2]);
            assertEquals(1, r[2].strip().lines().count(), "one line expected: " + r[2]);
            assertTrue(r[2].startsWith("attn4j: "), r[2]);
        }
    }

    @Test
    void helpIsPrintedForEveryCommand() {
        for (String cmd : new String[] {"flash", "lightning", "info"}) {
            String[] r = capture(cmd, "--help");
            assertEquals("0", r[0]);
            assertTrue(r[1].startsWith("usage: attn4j " + cmd), r[1]);
        }
    }

    @Test
    void flopCountSkipsMaskedKeys() {
        var causal = org.attn4j.FlashAttention.builder().causal(true).build().options();
        var full = org.attn4j.FlashAttention.Options.DEFAULT;
        assertEquals(4.0 * 10 * 10 * 8, Main.flashFlops(1, 1, 10, 10, 8, 8, full));
        assertEquals(4.0 * 55 * 8, Main.flashFlops(1, 1, 10, 10, 8, 8, causal));
    }
}
