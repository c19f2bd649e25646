package org.attn4j.cli;

import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * What every command shares: {@code --help}, and a {@link #check()} of all its flags (ranges,
 * combinations, output files, memory) that runs before anything else and names the flag it rejects.
 */
@Command(sortOptions = false, synopsisHeading = "usage: ", descriptionHeading = "", optionListHeading = "%n",
        footer = "%nExit codes: 0 ok, 1 a check or the run failed, 2 bad usage.")
abstract class CliCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "print this help")
    boolean help;

    /** Rejects a bad flag with {@link #usage(String)}; fills in defaults that depend on other flags. */
    abstract void check();

    /** Runs once every flag passed {@link #check()}: 0 ok, 1 a check failed. */
    abstract int execute() throws Exception;

    @Override
    public final Integer call() throws Exception {
        check();
        return execute();
    }

    /** Bad usage: one line naming the flag, exit code 2. */
    ParameterException usage(String message) {
        return new ParameterException(spec.commandLine(), message);
    }

    void atLeast(String flag, long value, long min) {
        if (value < min) {
            throw usage(flag + " must be >= " + min + ", got " + value);
        }
    }

    void inRange(String flag, long value, long min, long max) {
        if (value < min || value > max) {
            throw usage(flag + " must be in " + min + ".." + max + ", got " + value);
        }
    }

    void atLeast(String flag, long[] values, long min) {
        for (long v : values) {
            if (v < min) {
                throw usage(flag + " values must be >= " + min + ", got " + v);
            }
        }
    }

    /** A finite number of at least 0 ({@code positive}: more than 0). */
    void finite(String flag, double value, boolean positive) {
        if (!Double.isFinite(value) || value < 0 || (positive && value == 0)) {
            throw usage(flag + " must be a finite number " + (positive ? "> 0" : ">= 0") + ", got " + value);
        }
    }

    void pair(String flag, String example, int[] values) {
        if (values.length != 2) {
            StringBuilder got = new StringBuilder();
            for (int v : values) got.append(got.isEmpty() ? "" : ",").append(v);
            throw usage(flag + " takes two values, e.g. " + example + ", got " + got);
        }
    }

    /** Query heads are shared out in groups over the key/value heads. */
    void grouped(long heads, long kvHeads) {
        atLeast("--kv-heads", kvHeads, 1);
        if (heads % kvHeads != 0) {
            throw usage("--kv-heads " + kvHeads + " must divide --heads " + heads);
        }
    }

    /** A {@code --plot} file that XChart can write: checked before the run, not after it. */
    void plottable(String path) {
        String problem = PlotFile.problem(path);
        if (problem != null) {
            throw usage("--plot " + path + ": " + problem);
        }
    }

    /** Refuses a run whose tensors need more memory than is available, naming the size flags. */
    void fits(double bytes, String sizes) {
        long available = Memory.available();
        if (bytes > available) {
            throw usage(String.format(Locale.ROOT, "the tensors for %s need %s, more than the %s of memory available", sizes,
                    Memory.format(bytes), Memory.format(available)));
        }
    }
}
