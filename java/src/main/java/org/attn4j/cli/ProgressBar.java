package org.attn4j.cli;

import java.io.PrintStream;
import java.util.Locale;

/** A one-line progress bar on stderr (redrawn in place on a terminal, one line per step otherwise). */
final class ProgressBar {
    private static final int WIDTH = 30;
    private final PrintStream err = System.err;
    private final boolean terminal = System.console() != null;
    private final int total;
    private final long start = System.nanoTime();
    private int done;

    ProgressBar(int total) {
        this.total = total;
    }

    /** Marks one more step done; {@code what} says what runs next (or ran). */
    void step(String what) {
        done++;
        int filled = total == 0 ? WIDTH : done * WIDTH / total;
        String line = String.format(Locale.ROOT, "[%s%s] %d/%d %5.1fs %s", "#".repeat(filled), ".".repeat(WIDTH - filled), done,
                total, (System.nanoTime() - start) / 1e9, what);
        if (terminal) {
            err.print("\r" + line + " ".repeat(10));
            if (done == total) {
                err.println();
            }
        } else {
            err.println(line);
        }
        err.flush();
    }
}
