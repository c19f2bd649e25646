package org.attn4j.cli;

import java.util.Arrays;
import org.attn4j.Attn4j;

/**
 * The attn4j command line: run any kernel at a given shape, checked against its fp64 reference, or a
 * sweep of lengths across kernels with a table and a plot. {@code attn4j <command> --help} describes
 * each command. From code (exit code 0 = ok, 1 = a check failed, 2 = bad usage):
 *
 * <pre>{@code
 * int rc = Main.run(new String[] {"bench", "--seq", "1024,2048", "--plot", "sweep.png"});
 * }</pre>
 */
public final class Main {
    private static final String USAGE = """
            usage: attn4j <command> [options]
              flash       run FlashAttention on random inputs, check it against the fp64 reference, time it
              lightning   the same for Lightning Attention-2 (linear attention with decay)
              sale        SALE sparse attention on structured inputs, next to dense FlashAttention
              bench       sweep sequence lengths over flash, sale and lightning: table and --plot PNG
              info        print the library version, CPU instruction set and thread count
            'attn4j <command> --help' describes a command's options.""";

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (0 ok, 1 check failed, 2 bad usage). */
    public static int run(String[] args) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            System.out.println(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (args[0]) {
                case "flash" -> FlashCommand.run(rest);
                case "lightning" -> LightningCommand.run(rest);
                case "sale" -> SaleCommand.run(rest);
                case "bench" -> BenchCommand.run(rest);
                case "info" -> info(rest);
                default -> throw new Flags.UsageException("unknown command '" + args[0] + "' (try --help)");
            };
        } catch (IllegalArgumentException | Flags.UsageException e) {
            System.err.println("attn4j: " + e.getMessage());
            return 2;
        }
    }

    private static int info(String[] args) {
        if (args.length > 0) {
            if (args[0].equals("--help")) {
                System.out.println("usage: attn4j info");
                return 0;
            }
            throw new Flags.UsageException("info takes no options, got '" + args[0] + "'");
        }
        System.out.printf("attn4j %s, cpu isa %s (best %s), %d threads, cuda %s%n", Attn4j.version(), Attn4j.cpuIsa(),
                Attn4j.bestCpuIsa(), Attn4j.defaultThreads(), Attn4j.cudaAvailable() ? "yes" : "no");
        return 0;
    }
}
