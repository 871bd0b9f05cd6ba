#!/usr/bin/env python3
"""report.py: turns berth-bench's raw samples (one JSON object per line) into the table on stdout
and the JSON results file, with a PASS/MISS verdict per budget of issue 4.

    report.py RAW.jsonl OUT.json
"""

import json
import statistics
import sys

PEERS = ["runc", "conmon", "containerd"]


def pct(values, p):
    """The p-th percentile (nearest rank) of values."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def med(values):
    return statistics.median(values) if values else None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


class Report:
    def __init__(self):
        self.rows = []      # (workload, metric, sup, value, unit, ratio)
        self.budgets = []   # dicts
        self.results = {}

    def row(self, workload, metric, sup, value, unit, berth_value=None, higher_is_better=False):
        r = None
        if sup != "berth" and berth_value is not None:
            r = ratio(berth_value, value)
        self.rows.append((workload, metric, sup, value, unit, r))

    def budget(self, name, value, limit, ok, detail=""):
        self.budgets.append({"budget": name, "value": value, "limit": limit,
                             "verdict": "PASS" if ok else "MISS", "detail": detail})


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float):
        if abs(v) >= 100:
            s = "%.0f" % v
        elif abs(v) >= 10:
            s = "%.1f" % v
        else:
            s = "%.2f" % v
    else:
        s = str(v)
    return s + (" " + unit if unit else "")


def do_start(rep, w):
    ms = w["ms"]
    res = {}
    for s, v in ms.items():
        res[s] = {"p50_ms": med(v), "p95_ms": pct(v, 95), "samples_ms": v}
    b = res.get("berth", {}).get("p50_ms")
    for s in ms:
        rep.row("start", "latency p50", s, res[s]["p50_ms"], "ms", b)
        rep.row("start", "latency p95", s, res[s]["p95_ms"], "ms", res.get("berth", {}).get("p95_ms"))
    if "berth" in res and "runc" in res:
        r = ratio(b, res["runc"]["p50_ms"])
        rep.budget("start latency p50 <= 1.15x bare runc", r, 1.15, r is not None and r <= 1.15,
                   "berth %.2f ms, runc %.2f ms" % (b, res["runc"]["p50_ms"]))
    rep.results["start"] = {"n": w["n"], "sups": res}


def do_lifecycle(rep, w):
    res = {}
    for s in w["block_rate"]:
        res[s] = {"containers_per_s": med(w["block_rate"][s]), "op_p50_ms": med(w["op_ms"][s]),
                  "op_p95_ms": pct(w["op_ms"][s], 95), "block_rates": w["block_rate"][s]}
    b = res.get("berth", {}).get("containers_per_s")
    for s in res:
        rep.row("lifecycle", "containers/s", s, res[s]["containers_per_s"], "/s", b)
        rep.row("lifecycle", "one cycle p50", s, res[s]["op_p50_ms"], "ms",
                res.get("berth", {}).get("op_p50_ms"))
    if "berth" in res and "runc" in res:
        r = ratio(b, res["runc"]["containers_per_s"])
        rep.budget("lifecycle throughput >= 0.85x bare runc", r, 0.85, r is not None and r >= 0.85,
                   "berth %.1f/s, runc %.1f/s" % (b, res["runc"]["containers_per_s"]))
    rep.results["lifecycle"] = {"n": w["n"], "block": w["block"], "sups": res}


def do_memory(rep, ws):
    ws = sorted(ws, key=lambda w: w["count"])
    out = {}
    for w in ws:
        n = w["count"]
        res = {}
        for s, d in w["sups"].items():
            per = d["sup_pss_kib"] / d["procs"] if d["procs"] else 0.0
            res[s] = {"per_container_pss_kib": per, "supervisor_procs": d["procs"],
                      "per_container_private_kib": d["sup_private_kib"] / d["procs"] if d["procs"] else 0.0,
                      "supervisor_pss_kib": d["sup_pss_kib"],
                      "daemon_pss_kib_before": d["daemon_pss_kib_before"],
                      "daemon_pss_kib": d["daemon_pss_kib"],
                      "daemon_private_kib_before": d["daemon_private_kib_before"],
                      "daemon_private_kib": d["daemon_private_kib"]}
        b = res.get("berth", {}).get("per_container_pss_kib")
        for s in res:
            rep.row("memory@%d" % n, "supervisor PSS/ctr", s, res[s]["per_container_pss_kib"], "KiB", b)
        for s in res:
            rep.row("memory@%d" % n, "supervisor private/ctr", s, res[s]["per_container_private_kib"], "KiB",
                    res.get("berth", {}).get("per_container_private_kib"))
        for s, dn in (("berth", "berthd"), ("containerd", "containerd")):
            if s in res:
                rep.row("memory@%d" % n, dn + " PSS", s, float(res[s]["daemon_pss_kib"]), "KiB")
                rep.row("memory@%d" % n, dn + " private", s, float(res[s]["daemon_private_kib"]), "KiB")
        if "berth" in res and "conmon" in res:
            r = ratio(b, res["conmon"]["per_container_pss_kib"])
            rep.budget("berth-shim PSS/container <= 0.5x conmon's (%d containers)" % n, r, 0.5,
                       r is not None and r <= 0.5,
                       "berth-shim %.0f KiB, conmon %.0f KiB" % (b, res["conmon"]["per_container_pss_kib"]))
        out[str(n)] = res
    if ws and "berth" in ws[-1]["sups"]:
        big = ws[-1]
        d = big["sups"]["berth"]["daemon_pss_kib"]
        rep.budget("berthd PSS <= 4 MiB with %d containers" % big["count"], d / 1024.0, 4.0,
                   d <= 4096, "%d KiB" % d)
        if len(ws) >= 2:
            # PSS of berthd shrinks as more shims share its libraries, so the growth is judged on
            # its private memory (what berthd alone holds); the PSS slope is shown beside it.
            small = ws[0]
            sb, bb = small["sups"]["berth"], big["sups"]["berth"]
            span = float(big["count"] - small["count"])
            g = (bb["daemon_private_kib"] - sb["daemon_private_kib"]) / span
            gp = (bb["daemon_pss_kib"] - sb["daemon_pss_kib"]) / span
            rep.budget("berthd growth <= 8 KiB/container (%d->%d, private)" % (small["count"], big["count"]),
                       g, 8.0, g <= 8.0, "private %.2f KiB/ctr, PSS %.2f KiB/ctr" % (g, gp))
    rep.results["memory"] = out


def do_output(rep, w):
    mib = w["mib"]
    res = {}
    for s, v in w["ms"].items():
        m = med(v)
        res[s] = {"p50_ms": m, "mib_per_s": mib / (m / 1000.0) if m else None,
                  "lost_bytes_max": max(w["lost_bytes"][s]) if w["lost_bytes"][s] else None,
                  "bad_bytes_max": max(w["bad_bytes"][s]) if w["bad_bytes"][s] else None,
                  "format": w["format"].get(s), "samples_ms": v}
    b = res.get("berth", {}).get("mib_per_s")
    for s in res:
        rep.row("output %dMiB" % mib, "MiB/s (%s)" % res[s]["format"], s, res[s]["mib_per_s"], "MiB/s", b)
        rep.row("output %dMiB" % mib, "bytes lost", s, int(res[s]["lost_bytes_max"] + res[s]["bad_bytes_max"]),
                "B")
    if "berth" in res:
        if "conmon" in res:
            r = ratio(b, res["conmon"]["mib_per_s"])
            rep.budget("stdout CRI log >= 2x conmon's throughput", r, 2.0, r is not None and r >= 2.0,
                       "berth %.0f MiB/s, conmon %.0f MiB/s" % (b, res["conmon"]["mib_per_s"]))
        if "runc" in res:
            r = ratio(b, res["runc"]["mib_per_s"])
            rep.budget("stdout CRI log >= 0.8x direct write to the file", r, 0.8, r is not None and r >= 0.8,
                       "berth %.0f MiB/s, direct %.0f MiB/s" % (b, res["runc"]["mib_per_s"]))
        lost = res["berth"]["lost_bytes_max"] + res["berth"]["bad_bytes_max"]
        rep.budget("stdout: 0 bytes lost (berth)", lost, 0, lost == 0, "every round parsed")
    rep.results["output"] = {"mib": mib, "rounds": w["rounds"], "sups": res}


def do_scale(rep, w):
    n = w["n"]
    k = 100 if n >= 1000 else max(1, n // 10)
    res = {}
    for s, v in w["ms"].items():
        first, last = v[:k], v[-k:]
        res[s] = {"p50_ms": med(v), "p95_ms": pct(v, 95), "total_s": sum(v) / 1000.0,
                  "first_mean_ms": statistics.mean(first) if first else None,
                  "last_mean_ms": statistics.mean(last) if last else None,
                  "delete_all_s": w["delete_s"][s][0] if w["delete_s"].get(s) else None,
                  "samples_ms": v}
        res[s]["last_over_first"] = ratio(res[s]["last_mean_ms"], res[s]["first_mean_ms"])
    b = res.get("berth", {})
    for s in res:
        rep.row("scale %d" % n, "start p50", s, res[s]["p50_ms"], "ms", b.get("p50_ms"))
        rep.row("scale %d" % n, "start p95", s, res[s]["p95_ms"], "ms", b.get("p95_ms"))
        rep.row("scale %d" % n, "all started in", s, res[s]["total_s"], "s", b.get("total_s"))
        rep.row("scale %d" % n, "first %d mean" % k, s, res[s]["first_mean_ms"], "ms", b.get("first_mean_ms"))
        rep.row("scale %d" % n, "last %d mean" % k, s, res[s]["last_mean_ms"], "ms", b.get("last_mean_ms"))
        rep.row("scale %d" % n, "delete all", s, res[s]["delete_all_s"], "s", b.get("delete_all_s"))
    extra = {"berth_running": w["berth_running"], "runc_listed": w["runc_listed"],
             "list_p50_ms": med(w["list_ms"]), "list_max_ms": max(w["list_ms"]) if w["list_ms"] else None,
             "runc_list_p50_ms": med(w["runc_list_ms"]),
             "berthd_pss_kib_before": w["berthd_pss_kib_before"], "berthd_pss_kib": w["berthd_pss_kib"]}
    if "berth" in res:
        rep.row("scale %d" % n, "ListContainers p50", "berth", extra["list_p50_ms"], "ms")
        if "runc" in res:
            rep.row("scale %d" % n, "runc list p50", "runc", extra["runc_list_p50_ms"], "ms")
        rep.row("scale %d" % n, "berthd PSS", "berth", float(extra["berthd_pss_kib"]), "KiB")
        rep.budget("%d containers run at once under berth" % n, extra["berth_running"], n,
                   extra["berth_running"] == n, "%d running in ListContainers" % extra["berth_running"])
        r = b["last_over_first"]
        detail = "first %.2f ms, last %.2f ms" % (b["first_mean_ms"], b["last_mean_ms"])
        rc = res.get("runc")
        if rc and len(rc["samples_ms"]) == len(b["samples_ms"]):
            # Interleaved, so sample i of each ran at the same number of live containers: the
            # difference is berth's own cost there, and the kernel's growth cancels out.
            own = [x - y for x, y in zip(b["samples_ms"], rc["samples_ms"])]
            extra_own = {"first_mean_ms": statistics.mean(own[:k]), "last_mean_ms": statistics.mean(own[-k:])}
            res["berth"]["own_cost"] = extra_own
            rep.row("scale %d" % n, "own cost first %d" % k, "berth", extra_own["first_mean_ms"], "ms")
            rep.row("scale %d" % n, "own cost last %d" % k, "berth", extra_own["last_mean_ms"], "ms")
            detail += "; bare runc alone %.2f; berth's own cost (berth - runc) first %.2f ms, last %.2f ms" % (
                rc["last_over_first"], extra_own["first_mean_ms"], extra_own["last_mean_ms"])
        rep.budget("last %d starts no slower than first %d (+-15%%)" % (k, k), r, 1.15,
                   r is not None and r <= 1.15, detail)
        rep.budget("ListContainers at %d containers < 20 ms" % n, extra["list_p50_ms"], 20.0,
                   extra["list_p50_ms"] < 20.0, "p50 of 21 calls, max %.2f ms" % extra["list_max_ms"])
        g = (w["berthd_private_kib"] - w["berthd_private_kib_before"]) / float(n)
        rep.row("scale %d" % n, "berthd private", "berth", float(w["berthd_private_kib"]), "KiB")
        rep.budget("berthd growth <= 8 KiB/container (0->%d, private)" % n, g, 8.0, g <= 8.0,
                   "private %d -> %d KiB, PSS %d -> %d KiB" % (
                       w["berthd_private_kib_before"], w["berthd_private_kib"],
                       extra["berthd_pss_kib_before"], extra["berthd_pss_kib"]))
    res["_"] = extra
    rep.results["scale"] = {"n": n, "window": k, "sups": res}


def main():
    raw, out = sys.argv[1], sys.argv[2]
    with open(raw) as f:
        objs = [json.loads(line) for line in f if line.strip()]
    rep = Report()
    meta = {}
    by = {}
    for w in objs:
        by.setdefault(w["workload"], []).append(w)
    meta = by.get("meta", [{}])[0]
    for w in by.get("start", []):
        do_start(rep, w)
    for w in by.get("lifecycle", []):
        do_lifecycle(rep, w)
    if by.get("memory"):
        do_memory(rep, by["memory"])
    for w in by.get("output", []):
        do_output(rep, w)
    for w in by.get("scale", []):
        do_scale(rep, w)
    if by.get("leftovers"):
        rep.results["leftovers"] = by["leftovers"][0]

    print()
    print("berth bench: %s; runc %s, conmon %s, containerd %s; kernel %s, %s cpus" % (
        meta.get("date", "?"), meta.get("runc", "?").split()[-1], meta.get("conmon", "?").split()[-1],
        meta.get("containerd", "?"), meta.get("kernel", "?"), meta.get("cpus", "?")))
    print()
    hdr = ("workload", "metric", "supervisor", "median", "berth/peer")
    widths = (16, 24, 11, 16, 10)
    line = "  ".join(h.ljust(wd) for h, wd in zip(hdr, widths))
    print(line)
    print("-" * len(line))
    for wl, metric, sup, value, unit, r in rep.rows:
        print("  ".join([wl.ljust(widths[0]), metric.ljust(widths[1]), sup.ljust(widths[2]),
                         fmt(value, unit).rjust(widths[3]), (fmt(r) if r is not None else "").rjust(widths[4])]))
    print()
    print("budgets (ratios from this one run)")
    print("-" * 100)
    for b in rep.budgets:
        v = b["value"]
        print("%-4s  %-58s %8s   %s" % (b["verdict"], b["budget"], fmt(v) if v is not None else "-", b["detail"]))
    left = rep.results.get("leftovers", {})
    if left:
        print()
        print("leftovers: %s (mounts in /proc/self/mountinfo before %s, after %s)" % (
            "NONE" if not left.get("any") else "SOME, see stderr", left.get("mounts_before"),
            left.get("mounts_after")))
        if left.get("failed"):
            print("FAILED workloads (not in the table): %s" % left["failed"])
    with open(out + ".tmp", "w") as f:
        json.dump({"meta": meta, "results": rep.results, "budgets": rep.budgets}, f, indent=1)
        f.write("\n")
    import os
    os.rename(out + ".tmp", out)
    print()
    print("results: %s" % out)


if __name__ == "__main__":
    main()
