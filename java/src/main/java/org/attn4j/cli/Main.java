package org.attn4j.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import org.attn4j.Attn4jException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The attn4j command line: run any kernel at a given shape, checked against its fp64 reference, or a
 * sweep of lengths across kernels with a table and a plot. {@code attn4j <command> --help} describes
 * each command. Every flag is checked before anything runs; a bad one is reported as one line naming
 * it. From code (exit code 0 = ok, 1 = a check or the run failed, 2 = bad usage):
 *
 * <pre>{@code
 * int rc = Main.run(new String[] {"bench", "--seq", "1024,2048", "--plot", "sweep.png"});
 * }</pre>
 */
@Command(name = "attn4j", synopsisHeading = "usage: ", customSynopsis = "attn4j <command> [options]",
        subcommands = {FlashCommand.class, LightningCommand.class, SaleCommand.class, BenchCommand.class, InfoCommand.class},
        commandListHeading = "%n", footer = {"%n'attn4j <command> --help' describes a command's options.",
            "Exit codes: 0 ok, 1 a check or the run failed, 2 bad usage."})
public final class Main implements Callable<Integer> {
    @Spec
    private CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "print this help")
    private boolean help;

    private Main() {}

    /**
     * Runs the CLI and exits the JVM with its exit code.
     *
     * @param args the command and its flags
     */
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /**
     * Runs the CLI and returns its exit code.
     *
     * @param args the command and its flags
     * @return 0 ok, 1 a check or the run failed, 2 bad usage
     */
    public static int run(String[] args) {
        return execute(new Main(), args);
    }

    /** Without a command: the usage, and exit code 2. */
    @Override
    public Integer call() {
        spec.commandLine().usage(System.out);
        return 2;
    }

    /** Parses {@code args} for {@code command} and runs it: usage errors, failures and out of memory become one line. */
    static int execute(Object command, String... args) {
        CommandLine cli = new CommandLine(command)
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setExpandAtFiles(false)
                .setColorScheme(CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF))
                .setOut(new PrintWriter(System.out, true))
                .setErr(new PrintWriter(System.err, true))
                .setParameterExceptionHandler(Main::usageError)
                .setExecutionExceptionHandler(Main::failed);
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError e) {
            System.err.println("attn4j: out of memory (" + e.getMessage() + "): try smaller sizes, or a larger -Xmx");
            return 1;
        }
    }

    private static int usageError(ParameterException e, String[] args) {
        String message = e.getMessage();
        if (e instanceof UnmatchedArgumentException u && e.getCommandLine().getParent() == null && !u.getUnmatched().isEmpty()
                && !u.getUnmatched().getFirst().startsWith("-")) {
            message = "unknown command '" + u.getUnmatched().getFirst() + "'";
        }
        if (e instanceof UnmatchedArgumentException) {
            message += " (try '" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help')";
        }
        return oneLine(message, 2);
    }

    /** The library's argument errors are bad usage (2); its runtime errors a failed run (1); anything else a bug. */
    private static int failed(Exception e, CommandLine cli, ParseResult parsed) throws Exception {
        if (e instanceof IllegalArgumentException) {
            return oneLine(e.getMessage(), 2);
        }
        if (e instanceof Attn4jException) {
            return oneLine(e.getMessage(), 1);
        }
        throw e;
    }

    private static int oneLine(String message, int code) {
        System.err.println("attn4j: " + String.valueOf(message).strip().replaceAll("\\s*\\R\\s*", " "));
        return code;
    }
}
