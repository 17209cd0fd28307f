#!/usr/bin/env python3
"""Compare pprof-chain's figures with go tool pprof's on the same profiles.

For every profile and sample type, `pprof-chain top` must report the same total
and the same flat and cumulative value per function (and per function and
line with --lines) as `go tool pprof -top`, with no row that pprof lacks, and
keep the same rows under the default node fraction. For every pair given with
--diff, `pprof-chain diff` must report the same flat change per function as
`go tool pprof -top -diff_base`, and `pprof-chain top` must agree with pprof
on the diff profile that `go tool pprof -proto -diff_base` writes, whose
values can be negative. Exits 1 on the first disagreement.

Usage: compare-pprof.py [--binary PATH] PROFILE... [--diff BEFORE AFTER]...
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROW = re.compile(r"^\s*(-?\d+)B?\s+\S+\s+\S+\s+(-?\d+)B?\s+\S+\s+(.*?)(?: \((?:partial-)?inline\))?$")


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr}")
    return result.stdout


def pprof_top(path, sample, lines, base=None, all_nodes=True):
    """Rows of `go tool pprof -top` in exact units: {name: (flat, cum)}."""
    command = ["go", "tool", "pprof", "-top", "-unit=B", f"-sample_index={sample}"]
    if all_nodes:
        command.append("-nodefraction=0")
    if lines:
        command.append("-lines")
    if base:
        command.append(f"-diff_base={base}")
    rows, total = {}, None
    for line in run(command + [path]).splitlines():
        found = re.search(r"of (-?\d+)B? total", line)
        if found:
            total = int(found.group(1))
        match = ROW.match(line)
        if match and not line.lstrip().startswith("flat"):
            rows[match.group(3)] = (int(match.group(1)), int(match.group(2)))
    return total, rows


def chain_top(binary, path, sample, lines, all_nodes=True):
    command = [binary, "top", path, "--sample", sample, "--format", "json"]
    if all_nodes:
        command += ["--node-fraction", "0"]
    if lines:
        command.append("--lines")
    report = json.loads(run(command))
    rows = {}
    for site in report["sites"]:
        # pprof's name: the function, then file:line, or the file alone at
        # line 0; either part is left out when empty.
        place = None
        if site.get("line"):
            place = f"{site['file']}:{site['line']}"
        elif site.get("file"):
            place = site["file"]
        name = " ".join(part for part in (site["function"], place) if part)
        rows[name] = (site["flat"], site["cum"])
    return report["total"], rows


def sample_types(binary, path):
    report = json.loads(run([binary, "top", path, "--format", "json", "-n", "0"]))
    types = [report["sample_type"]]
    index = 0
    while True:
        result = subprocess.run([binary, "top", path, "--sample", str(index),
                                 "--format", "json", "-n", "0"],
                                capture_output=True, text=True)
        if result.returncode != 0:
            return types
        name = json.loads(result.stdout)["sample_type"]
        if name not in types:
            types.append(name)
        index += 1


def compare_top(binary, path):
    checked = 0
    for sample in sample_types(binary, path):
        for lines in (False, True):
            expected_total, expected = pprof_top(path, sample, lines)
            total, rows = chain_top(binary, path, sample, lines)
            where = f"{path} {sample}{' --lines' if lines else ''}"
            if total != expected_total:
                sys.exit(f"{where}: total {total}, go tool pprof {expected_total}")
            for name, values in expected.items():
                if rows.get(name) != values:
                    sys.exit(f"{where}: {name}: {rows.get(name)}, go tool pprof {values}")
            for name, values in rows.items():
                if name not in expected and values != (0, 0):
                    sys.exit(f"{where}: {name}: {values}, not in go tool pprof's rows")
            checked += len(expected)
        # The default node fraction must drop the same functions.
        _, expected = pprof_top(path, sample, False, all_nodes=False)
        _, rows = chain_top(binary, path, sample, False, all_nodes=False)
        if set(rows) != set(expected):
            sys.exit(f"{path} {sample}, default node fraction: rows only in pprof-chain "
                     f"{sorted(set(rows) - set(expected))}, only in go tool pprof "
                     f"{sorted(set(expected) - set(rows))}")
    return checked


def compare_diff_profile(binary, before, after):
    """Compares top on the diff profile go tool pprof writes for the pair."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "diff.pb.gz")
        run(["go", "tool", "pprof", "-proto", f"-diff_base={before}",
             f"-output={path}", after])
        return compare_top(binary, path)


def compare_diff(binary, before, after):
    report = json.loads(run([binary, "diff", before, after, "--format", "json"]))
    changes = {s["function"]: s["change"] for s in report["sites"]}
    checked = 0
    for measure, sample in (("inuse_bytes", "inuse_space"),
                            ("inuse_objects", "inuse_objects"),
                            ("alloc_bytes", "alloc_space"),
                            ("alloc_objects", "alloc_objects")):
        _, expected = pprof_top(after, sample, False, base=before)
        for name, (flat, _) in expected.items():
            value = changes.get(name, {}).get(measure, 0)
            if value != flat:
                sys.exit(f"diff {before} {after} {sample}: {name}: {value}, "
                         f"go tool pprof {flat}")
            checked += 1
    return checked


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/pprof-chain")
    parser.add_argument("--diff", nargs=2, action="append", default=[],
                        metavar=("BEFORE", "AFTER"))
    parser.add_argument("profiles", nargs="*")
    args = parser.parse_args()
    for path in args.profiles:
        print(f"top  {path}: {compare_top(args.binary, path)} rows agree")
    for before, after in args.diff:
        print(f"diff {before} -> {after}: "
              f"{compare_diff(args.binary, before, after)} rows agree")
        print(f"top  of go tool pprof's diff profile {before} -> {after}: "
              f"{compare_diff_profile(args.binary, before, after)} rows agree")


if __name__ == "__main__":
    main()
