package org.attn4j.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** How much memory a run can take: what the machine (or its container) has available now. */
final class Memory {
    private Memory() {}

    /** Bytes available: Linux's MemAvailable (free plus reclaimable cache), capped by the container's total. */
    static long available() {
        long total = Long.MAX_VALUE, free = Long.MAX_VALUE;
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            total = os.getTotalMemorySize();
            free = os.getFreeMemorySize();
        }
        long memAvailable = memAvailable();
        return Math.min(total, memAvailable >= 0 ? memAvailable : free);
    }

    /** MemAvailable from /proc/meminfo in bytes, or -1 where there is none. */
    private static long memAvailable() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or unreadable: the caller falls back
        }
        return -1;
    }

    static String format(double bytes) {
        String[] units = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        int u = 0;
        while (bytes >= 1024 && u < units.length - 1) {
            bytes /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    }
}
