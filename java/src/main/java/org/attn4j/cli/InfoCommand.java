package org.attn4j.cli;

import org.attn4j.Attn4j;
import picocli.CommandLine.Command;

/** {@code attn4j info}: the library version, CPU instruction set, threads and CUDA. */
@Command(name = "info", customSynopsis = "attn4j info",
        description = "print the library version, CPU instruction set and thread count")
final class InfoCommand extends CliCommand {
    @Override
    void check() {}

    @Override
    int execute() {
        System.out.printf("attn4j %s, cpu isa %s (best %s), %d threads, cuda %s%n", Attn4j.version(), Attn4j.cpuIsa(),
                Attn4j.bestCpuIsa(), Attn4j.defaultThreads(), Attn4j.cudaAvailable() ? "yes" : "no");
        return 0;
    }
}
