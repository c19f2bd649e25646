package org.attn4j.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.IntSupplier;

/** One run of the command line with its exit code and what it printed to stdout and stderr. */
record CliRun(int code, String out, String err) {

    static CliRun of(String... args) {
        return capture(() -> Main.run(args));
    }

    static CliRun capture(IntSupplier run) {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            code = run.getAsInt();
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new CliRun(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return "exit " + code + "\nstdout:\n" + out + "stderr:\n" + err;
    }
}
