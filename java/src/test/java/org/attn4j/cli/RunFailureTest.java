package org.attn4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.attn4j.Attn4jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.Command;

/** A run that fails after its flags were accepted: one line on stderr and a non-zero exit code, never a stack trace. */
class RunFailureTest {

    /** A command whose run throws {@code failure}. */
    @Command(name = "failing")
    record Failing(Throwable failure) implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            if (failure instanceof Exception e) {
                throw e;
            }
            throw (Error) failure;
        }
    }

    private static CliRun failing(Throwable failure) {
        return CliRun.capture(() -> Main.execute(new Failing(failure)));
    }

    @Test
    void outOfMemoryIsOneLineAndExitCode1() {
        CliRun r = failing(new OutOfMemoryError("Cannot reserve 8589934592 bytes"));
        assertEquals(1, r.code(), r.toString());
        assertEquals(1, r.err().strip().lines().count(), r.toString());
        assertTrue(r.err().startsWith("attn4j: out of memory") && r.err().contains("8589934592"), r.toString());
    }

    @Test
    void aNativeFailureIsOneLineAndExitCode1() {
        CliRun r = failing(new Attn4jException("kernel failed\nsecond line", null));
        assertEquals(1, r.code(), r.toString());
        assertEquals("attn4j: kernel failed second line", r.err().strip(), r.toString());
    }

    @Test
    void anArgumentTheLibraryRefusesIsBadUsage() {
        CliRun r = failing(new IllegalArgumentException("q.shape[3] = 0: head dim must be in 1..512"));
        assertEquals(2, r.code(), r.toString());
        assertEquals("attn4j: q.shape[3] = 0: head dim must be in 1..512", r.err().strip(), r.toString());
    }

    @Test
    void checkingThePlotPathLeavesNoFileWhenALaterFlagFails(@TempDir Path dir) {
        Path png = dir.resolve("sweep.png");
        CliRun r = CliRun.of("bench", "--seq", "1000000000", "--plot", png.toString());
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("--seq 1000000000"), r.toString());
        assertFalse(Files.exists(png), "the probe of --plot must not leave a file behind");
    }
}
