#!/usr/bin/env python3
"""The thesis figure (issue 12; scenarios/quick/thesis.json): NGM, GUT, QG-GUTm and CCL against D-PSGD,
D-PSGD with quasi-global momentum and RelaySGD on a 16-agent ring, Dirichlet alpha 0.1 and 0.01, 2 seeds.
Every number is read from the runs' summary.json (nothing typed in but the abstracts' claimed ranges).

Used two ways:
  - imported by claims.py: section(OUT) returns (claim rows, markdown lines) for results/quick/REPORT.md;
  - standalone: analysis/scripts/thesis_claims.py OUT_DIR  writes OUT_DIR/thesis/CLAIMS.md and the
    accuracy-alpha figure, and replaces the thesis section of OUT_DIR/REPORT.md in place (between the
    markers below) without touching the other sweeps' sections.

Metric: test accuracy of the agents' own models on the full test set, mean over the 16 agents (the Aketi
repositories' "avg test acc"); beside it the accuracy of the agents' averaged model (what NGC and CCL
evaluate after their final all-reduce). Spread: 2 seeds, so "mean +- s" with s = half the range between
the seeds. A difference between two algorithms "exceeds the spread" when |difference of the means| is
larger than the sum of the two half-ranges (conservative; the seeds share a partition, so the per-seed
differences are also listed).
"""
import glob, json, os, shutil, subprocess, sys

BEGIN, END = "<!-- thesis: begin (analysis/scripts/thesis_claims.py) -->", "<!-- thesis: end -->"
ALPHAS = (("a0.1", "0.1", 0.1), ("a0.01", "0.01", 0.01))
ALGS = (("dpsgd", "D-PSGD (DSGD), no momentum"),
        ("dpsgd-qgm", "D-PSGD + quasi-global momentum, Nesterov (QG-DSGDm-N)"),
        ("relaysgd", "RelaySGD + local momentum (double binary trees, not the ring)"),
        ("ngm", "NGM"),
        ("gut", "GUT (no momentum)"),
        ("qg-gut", "QG-GUTm"),
        ("ccl", "CCL (QG-DSGDm-N base)"))
# the abstracts' claimed gains in accuracy points, and what each is measured against (chosen per alpha from the runs)
CLAIMS = (("gut", "GUT", (1, 6), "best", "GUT/QG-GUTm abstract (NeurIPS 2023): +1-6% over the state of the art"),
          ("qg-gut", "QG-GUTm", (1, 6), "best", "GUT/QG-GUTm abstract (NeurIPS 2023): +1-6% over the state of the art"),
          ("ngm", "NGM", (0, 6), "dpsgd", "NGM abstract (TMLR 2023): +0-6% over the baselines"),
          ("ccl", "CCL", (0.2, 4), "dpsgd-qgm", "CCL abstract (WACV 2024): +0.2-4% over QG-DSGDm-N"))


def load(out):
    runs = {}
    for p in glob.glob(os.path.join(out, "runs", "thesis", "*", "summary.json")):
        s = json.load(open(p))
        sc = os.path.join(os.path.dirname(p), "scenario.json")
        s["_scenario"] = json.load(open(sc)) if os.path.exists(sc) else {}
        runs.setdefault(s["scenario"], {})[s["seed"]] = s
    failed = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(out, "runs", "thesis", "*", "FAILED")))
    return runs, failed


def stat(byseed, key="acc_mean"):
    """(mean, half-range, {seed: value}) in percent, or None"""
    if not byseed:
        return None
    v = {s: 100 * r[key] for s, r in byseed.items()}
    xs = list(v.values())
    return sum(xs) / len(xs), (max(xs) - min(xs)) / 2, v


def settings(byseed):
    """the run's own settings, from its scenario.json"""
    if not byseed:
        return "-"
    sc = next(iter(byseed.values())).get("_scenario", {})
    al, op, to = sc.get("algorithm", {}), sc.get("optimizer", {}), sc.get("topology", {})
    g = lambda x: f"{x:.3g}"
    out = [f"lr {g(op['lr'])}"] if "lr" in op else []
    if al.get("name") != "gut" and op.get("momentum"):
        out.append(f"momentum {g(op['momentum'])}" + (" Nesterov" if op.get("nesterov") else "") + (" quasi-global" if op.get("quasi_global") else ""))
    out.append(f"wd {g(op.get('weight_decay', 0))}")
    for k in ("alpha", "scaling", "lambda_m", "lambda_d"):
        if k in al and al["name"] in {"alpha": ("ngm",), "scaling": ("gut", "qg-gut"), "lambda_m": ("ccl",), "lambda_d": ("ccl",)}[k]:
            out.append(f"{k} {g(al[k])}")
    if "gamma" in al and al.get("name") in ("ngm", "ccl", "dpsgd"):
        out.append(f"gamma {g(al['gamma'])}")
    if to.get("kind"):
        out.append(to["kind"])
    return ", ".join(out)


def fmt(st):
    return "-" if st is None else f"{st[0]:.2f} ± {st[1]:.2f}" + ("" if len(st[2]) > 1 else " (1 seed)")


# a like-for-like reference beside the claim's (same momentum kind): GUT runs without momentum, as D-PSGD here
LIKE = {"gut": ("dpsgd", "no momentum either"), "qg-gut": ("dpsgd-qgm", "momentum"), "ngm": ("dpsgd-qgm", "with momentum, as NGM")}


def also(runs, tag, alg, m, base_name):
    ref, why = LIKE.get(alg, (None, ""))
    r = stat(runs.get(f"{tag}-{ref}")) if ref and ref != base_name else None
    if not r:
        return ""
    d, s = m[0] - r[0], m[1] + r[1]
    return f"; against {ref} ({why}): {d:+.2f} ± {s:.2f}" + (" (beyond the spread)" if abs(d) > s else " (within the spread)")


def section(out):
    runs, failed = load(out)
    rows, lines = [], []
    if not runs:
        return rows, [f"**Thesis sweep: no finished runs under {out}/runs/thesis.**", ""] if os.path.isdir(os.path.join(out, "runs", "thesis")) else []
    seeds = sorted({s for r in runs.values() for s in r})
    allr = [r for d in runs.values() for r in d.values()]
    span = max(r["finished_at"] for r in allr) - min(r["finished_at"] - r["seconds"] for r in allr)
    epochs = sorted({r["epochs"] for r in allr})
    lines += ["## Heterogeneous data: the thesis's methods (NGM, GUT, QG-GUTm, CCL)", "",
              f"Fashion-MNIST, LeNet-5, 16 agents on a ring (RelaySGD on double binary trees: it needs a tree), {'/'.join(map(str, epochs))} epochs, "
              f"seeds {', '.join(map(str, seeds))}; `scenarios/quick/thesis.json`. Test accuracy (%) of the agents' own models, mean over agents, "
              "as mean ± half the range between seeds; in brackets the agents' averaged model. "
              f"The sweep's {len(allr)} runs span {span / 60:.1f} min from the first start to the last finish "
              f"({sum(r['seconds'] for r in allr) / 60:.1f} run-minutes; from their summary.json).", ""]
    if failed:
        lines += [f"**Failed runs: {', '.join(failed)}** (see their FAILED file).", ""]
    lines += ["| algorithm | " + " | ".join(f"alpha {a}" for _, a, _ in ALPHAS) + " | settings (alpha " + ALPHAS[0][1] + " runs' scenario.json) |",
              "|---|" + "---|" * (len(ALPHAS) + 1)]
    for alg, label in ALGS:
        cells = []
        for tag, _, _ in ALPHAS:
            d = runs.get(f"{tag}-{alg}")
            cells.append("-" if not d else f"{fmt(stat(d))} ({fmt(stat(d, 'acc_avg_model'))})")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {settings(runs.get(ALPHAS[0][0] + '-' + alg))} |")
    lines.append("")
    for alg, name, (lo, hi), vs, source in CLAIMS:
        for tag, a, _ in ALPHAS:
            m = stat(runs.get(f"{tag}-{alg}"))
            if vs == "best":
                cands = [(b, stat(runs.get(f"{tag}-{b}"))) for b in ("dpsgd", "dpsgd-qgm")]
                cands = [c for c in cands if c[1]]
                base_name, b = max(cands, key=lambda c: c[1][0]) if cands else (None, None)
            else:
                base_name, b = vs, stat(runs.get(f"{tag}-{vs}"))
            if not m or not b:
                rows.append((f"{name} over {'the best baseline' if vs == 'best' else vs} (alpha {a})", source, f"+{lo} to +{hi} points", "runs missing", "n/a"))
                continue
            diff, spread = m[0] - b[0], m[1] + b[1]
            paired = [m[2][s] - b[2][s] for s in sorted(m[2]) if s in b[2]]
            bavg, mavg = stat(runs.get(f"{tag}-{base_name}"), "acc_avg_model"), stat(runs.get(f"{tag}-{alg}"), "acc_avg_model")
            if abs(diff) <= spread:
                v = "inconclusive: within the seed spread" + (" (consistent with the claimed +0)" if lo == 0 and diff >= 0 else "")
            elif diff < 0:
                v = "no: worse, beyond the spread"
            elif diff < lo:
                v = "partly: better beyond the spread, by less than claimed"
            elif diff > hi:
                v = "yes (more than claimed)"
            else:
                v = "yes"
            rows.append((f"{name} over {'the best baseline' if vs == 'best' else base_name} (alpha {a})", source,
                         f"+{lo} to +{hi} points",
                         f"{name} {m[0]:.2f} vs {base_name} {b[0]:.2f}: {diff:+.2f} points, spread ±{spread:.2f} "
                         f"(per seed {', '.join(f'{x:+.2f}' for x in paired)}); averaged model {mavg[0] - bavg[0]:+.2f}"
                         + also(runs, tag, alg, m, base_name), v))
    lines += ["| claim | source | claimed | here (mean over agents; seeds' half-ranges summed) | holds |", "|---|---|---|---|---|"]
    lines += [f"| {c} | {s} | {p} | {o} | {v} |" for c, s, p, o, v in rows]
    lines += ["", f"Scale: the papers train 100 (FMNIST) to 200 (CIFAR) epochs with EvoNorm; here {'/'.join(map(str, epochs))} epochs of LeNet-5 without",
              "normalization (a 10-minute budget on 2 cores: see docs/reproduce.md). Learning rates are the papers' scripts'",
              "times 0.5 (the quick sweeps' convention; NGM's scripts: 0.01 with gamma 0.1; GUT's and CCL's: 0.1). `dpsgd-qgm` is",
              "Lin et al.'s quasi-global momentum (`optimizer.quasi_global`), CCL's base is the reference's own QG-DSGDm-N",
              "(docs/algorithms.md): the CCL comparison is against the former.", ""]
    rep = os.path.join(out, "thesis")
    if os.path.exists(os.path.join(rep, "REPORT.md")):
        lines += ["Full table: [thesis/REPORT.md](thesis/REPORT.md)", ""]
    figure(out, runs)
    for fig in ("accuracy-alpha", "accuracy-epoch"):
        if os.path.exists(os.path.join(rep, fig + ".png")):
            lines.append(f"![thesis {fig}](thesis/{fig}.png)")
    lines.append("")
    return rows, lines


def figure(out, runs):
    rep = os.path.join(out, "thesis")
    os.makedirs(rep, exist_ok=True)
    blocks, plots = [], []
    for k, (alg, label) in enumerate(ALGS):
        pts = [(x, stat(runs.get(f"{t}-{alg}"))) for t, _, x in ALPHAS]
        pts = [(x, s) for x, s in pts if s]
        if not pts:
            continue
        blocks.append(f"$s{k} << EOD\n" + "\n".join(f"{x} {s[0]:.4f} {s[1]:.4f}" for x, s in pts) + "\nEOD")
        plots.append(f"$s{k} using 1:2:3 with yerrorlines ls {k + 1} title '{label.split(' (')[0]}'")
    gp = ["# accuracy (mean over agents, error bar: half the range between seeds) against the Dirichlet alpha;",
          "# written by analysis/scripts/thesis_claims.py; re-render with `gnuplot accuracy-alpha.gp`", "set encoding utf8"]
    gp += [f"set style line {i + 1} lc rgb '{c}' lw 2 pt {pt} ps 1.4" for i, (c, pt) in
           enumerate((("#000000", 7), ("#D55E00", 5), ("#0072B2", 9), ("#009E73", 12), ("#CC79A7", 4), ("#E69F00", 6), ("#56B4E9", 13)))]
    gp += blocks
    gp += ["set logscale x", "set xrange [0.14:0.007]", "set xtics ('0.1' 0.1, '0.01' 0.01)",
           "set xlabel 'Dirichlet alpha (more heterogeneous to the right)'",
           "set ylabel 'test accuracy, mean over agents (%)'", "set key outside right", "set grid",
           "set title 'Fashion-MNIST, LeNet-5, 16-agent ring: the thesis methods against heterogeneity' noenhanced",
           "set terminal pngcairo size 1280,770 font 'Sans,13' noenhanced linewidth 1.3", "set output 'accuracy-alpha.png'",
           "plot " + ", \\\n     ".join(plots), "unset output",
           "set terminal svg size 1280,770 font 'Sans,13' noenhanced dynamic background rgb 'white' linewidth 1.3",
           "set output 'accuracy-alpha.svg'; replot; unset output"]
    with open(os.path.join(rep, "accuracy-alpha.gp"), "w") as f:
        f.write("\n".join(gp) + "\n")
    if plots and shutil.which("gnuplot"):
        subprocess.run(["gnuplot", "accuracy-alpha.gp"], cwd=rep, check=False)


if __name__ == "__main__":
    OUT = sys.argv[1]
    rows, lines = section(OUT)
    if not lines:
        print(f"no thesis runs under {OUT}/runs/thesis", file=sys.stderr)
        sys.exit(1)
    os.makedirs(os.path.join(OUT, "thesis"), exist_ok=True)
    claims_md = ["# The thesis figure: claims", ""] + [l.replace("(thesis/", "(") for l in lines]
    with open(os.path.join(OUT, "thesis", "CLAIMS.md"), "w") as f:
        f.write("\n".join(claims_md) + "\n")
    path = os.path.join(OUT, "REPORT.md")
    text = open(path).read() if os.path.exists(path) else ""
    block = BEGIN + "\n" + "\n".join(lines) + "\n" + END
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    for c, s, p, o, v in rows:
        print(f"  [{v}] {c}: {o}")
    sys.exit(0 if rows and all(v != "n/a" for *_, v in rows) else 1)
