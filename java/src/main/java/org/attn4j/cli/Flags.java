package org.attn4j.cli;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.DType;

/** Command-line flags: {@code --name value} pairs and value-less switches, checked against a usage text. */
final class Flags {
    private final Map<String, String> values;

    private Flags(Map<String, String> values) {
        this.values = values;
    }

    /** Bad usage: reported as one line and exit code 2. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    /** Flags named in {@code usage}, the value-less ones listed in {@code switches}; null after printing help. */
    static Flags parse(String[] args, String usage, String... switches) {
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println(usage);
                return null;
            }
            if (!a.startsWith("--") || !usage.contains(a + " ")) {
                throw new UsageException("unknown option '" + a + "' (try --help)");
            }
            if (Arrays.asList(switches).contains(a)) {
                out.put(a, "true");
            } else {
                if (i + 1 >= args.length) {
                    throw new UsageException(a + " needs a value");
                }
                out.put(a, args[++i]);
            }
        }
        return new Flags(out);
    }

    boolean has(String flag) {
        return values.containsKey(flag);
    }

    String text(String flag, String dflt) {
        return values.getOrDefault(flag, dflt);
    }

    long num(String flag, long dflt) {
        String s = values.get(flag);
        return s == null ? dflt : parseLong(flag, s);
    }

    /** An integer flag that must be at least {@code min}. */
    long num(String flag, long dflt, long min) {
        long x = num(flag, dflt);
        if (x < min) {
            throw new UsageException(flag + " must be >= " + min + ", got " + x);
        }
        return x;
    }

    double decimal(String flag, double dflt) {
        String s = values.get(flag);
        if (s == null) {
            return dflt;
        }
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            throw new UsageException(flag + " must be a number, got '" + s + "'");
        }
    }

    /** A comma-separated list of integers, e.g. {@code --seq 1024,2048}. */
    long[] nums(String flag, long[] dflt) {
        String s = values.get(flag);
        if (s == null) {
            return dflt;
        }
        String[] parts = s.split(",");
        long[] out = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = parseLong(flag, parts[i].trim());
            if (out[i] < 1) {
                throw new UsageException(flag + " values must be >= 1, got " + out[i]);
            }
        }
        return out;
    }

    DType dtype() {
        return switch (text("--dtype", "f32")) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            default -> throw new UsageException("--dtype must be f32 or bf16, got '" + values.get("--dtype") + "'");
        };
    }

    static long parseLong(String flag, String s) {
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(flag + " must be an integer, got '" + s + "'");
        }
    }
}
