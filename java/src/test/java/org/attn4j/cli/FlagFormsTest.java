package org.attn4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The forms a good flag may take: negative list values, {@code --flag=value}, any case, a plot name without .png. */
class FlagFormsTest {

    @Test
    void negativeWindowValuesAndEqualsFormAreAccepted() {
        CliRun r = CliRun.of("flash", "--seq=64", "--heads", "1", "--dim", "16", "--window", "-1,3", "--dtype", "BF16",
                "--iters", "1", "--check-rows", "0");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("q=[1,1,64,16]") && r.out().contains("window=-1,3") && r.out().contains("BF16"), r.out());
    }

    @Test
    void defaultsThatFollowOtherFlagsFollowThem() {
        CliRun r = CliRun.of("lightning", "--seq", "40", "--heads", "2", "--dim", "8", "--iters", "1", "--check-rows", "0");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("q=[1,2,40,8] k/v=[1,2,40,8/8]"), "--kv-heads = --heads, --dim-v = --dim: " + r.out());
    }

    @Test
    void aPlotNameWithoutPngGetsTheExtensionAndSaysSo(@TempDir Path dir) {
        Path plot = dir.resolve("sweep");
        CliRun r = CliRun.of("bench", "--kernels", "flash", "--seq", "64", "--heads", "1", "--dim", "16", "--iters", "1",
                "--plot", plot.toString());
        assertEquals(0, r.code(), r.toString());
        assertTrue(Files.isRegularFile(dir.resolve("sweep.png")), r.toString());
        assertTrue(r.out().contains("plot   " + plot + ".png"), r.out());
    }

    @Test
    void helpListsEveryFlagWithItsDefault() {
        CliRun r = CliRun.of("flash", "--help");
        assertEquals(0, r.code(), r.toString());
        for (String line : new String[] {"--batch=B", "--kv-heads=H", "--window=L,R", "(default -1,-1)", "--check-rows=R",
                "(default 256)", "Exit codes: 0 ok, 1 a check or the run failed, 2 bad usage."}) {
            assertTrue(r.out().contains(line), line + " missing in\n" + r.out());
        }
    }
}
