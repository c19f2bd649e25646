#!/usr/bin/env python3
"""Turns attn4j_bench JSON output (--benchmark_out=run.json) into the Markdown tables of RESULTS.md.

usage: results_table.py run.json [more.json ...]
Later files win for benchmarks present in several (so a partial re-run can update a full one).
"""
import json
import sys


def load(paths):
    rows, context = {}, None
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        context = context or data.get("context", {})
        for b in data["benchmarks"]:
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
                continue
            name = b["name"].split("/min_time")[0].split("/iterations")[0].replace("_median", "")
            rows[name] = b
    return rows, context


def fmt(x, digits=1):
    return "-" if x is None else f"{x:,.{digits}f}"


def flash_table(rows):
    out = ["| dtype | d | N | mask | threads | portable GFLOP/s | best ISA | GFLOP/s | of fp32 peak | x portable |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for name, b in rows.items():
        parts = name.split("/")
        if parts[0] != "flash" or parts[1] == "scalar":
            continue
        isa, dtype, d, n, mask, threads = parts[1], parts[2], parts[3][2:], parts[4][2:], parts[5], parts[6][8:]
        key = "/".join(["flash", "scalar"] + parts[2:])
        portable = rows.get(key, {}).get("GFLOP/s")
        ratio = b.get("x_portable")
        note = ""
        if portable is None:  # the portable kernel is not timed at 32K: compare with its 8K figure
            alt = rows.get("/".join(["flash", "scalar", dtype, parts[3], "N:8192", mask, parts[6]]), {}).get("GFLOP/s")
            if alt:
                portable, ratio, note = alt, b["GFLOP/s"] / alt, " (vs portable at N=8192)"
        out.append(f"| {dtype} | {d} | {n} | {mask} | {threads} | {fmt(portable)} | {isa} | {fmt(b.get('GFLOP/s'))} | "
                   f"{fmt(100 * b.get('of_fp32_peak', 0), 0)}% | {fmt(ratio, 1)}x{note} |")
    return "\n".join(out)


def simple_table(rows, prefix, columns):
    out = ["| benchmark | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for name, b in rows.items():
        if name.startswith(prefix):
            cells = []
            for c in columns:
                v = b.get(c)
                if c.startswith("of_") and v is not None:
                    cells.append(f"{100 * v:.0f}%")
                elif c == "time":
                    cells.append(f"{b['real_time']:,.2f} {b['time_unit']}")
                else:
                    cells.append(fmt(v, 2 if (v is not None and v < 100) else 0))
            out.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(out)


def body(table):
    """A table without its two header lines, to append to the previous one."""
    parts = table.split("\n", 2)
    return parts[2] if len(parts) > 2 else ""


def main():
    rows, ctx = load(sys.argv[1:])
    print(f"Machine: {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz, run {ctx.get('date')}\n")
    print("### Ceilings (roofline)\n")
    print(simple_table(rows, "roofline/", ["GFLOP/s", "GB/s"]))
    print("\n### FlashAttention prefill (B=1, H=2)\n")
    print(flash_table(rows))
    print("\n### FlashAttention decode (Nq=1, Nk=32768, d=128, B=1, H=8)\n")
    print(simple_table(rows, "flash_decode/", ["time", "tokens/s", "GB/s", "of_triad"]))
    print("\n### Lightning Attention-2 prefill (B=1, H=8, d=dv=128, decay)\n")
    print(simple_table(rows, "lightning/", ["time", "tokens/s", "GFLOP/s", "of_fp32_peak"]))
    print(body(simple_table(rows, "lightning_block/", ["time", "tokens/s", "GFLOP/s", "of_fp32_peak"])))
    print("\n### Lightning decode and causal FlashAttention on the same shape\n")
    print(simple_table(rows, "lightning_decode/", ["time", "tokens/s"]))
    print(body(simple_table(rows, "flash_causal_same_shape/", ["time", "tokens/s"])))


if __name__ == "__main__":
    main()
