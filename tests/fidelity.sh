#!/bin/bash
# Emulation fidelity (docs/network.md, "Emulation fidelity"): a short run over 20 ms links, through
# whichever backend `auto` picks (User-Mode Linux where the kernel lacks netem), must report every
# compared link's min RTT near 2 x 20 ms with ok verdicts; the same run with one link disturbed on
# purpose (the test-only MESHTRAIN_TEST_LINK_DISTURB) must be flagged, naming that link, and must say
# the hook was set; backend none has nothing to compare. Usage: tests/fidelity.sh bin/meshtrain
set -u
BIN=$(realpath "${1:-bin/meshtrain}")
PY=$(command -v python3 || echo /usr/bin/python3)
pass=0 fail=0
tmp=$(mktemp -d /tmp/meshtrain-fidelity-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
unset MESHTRAIN_TEST_LINK_DISTURB

# 4 agents, a linear model on synthetic data, one epoch of 8 rounds: a few seconds. A metrics line every
# 2 rounds gives each link several TCP samples.
cat > "$tmp/s20.json" <<JSON
{"name": "fidelity-20ms", "agents": 4, "dataset": "synthetic", "model": "linear", "epochs": 1, "metrics_every": 2,
 "limit_train": 1024, "limit_test": 128, "algorithm": {"name": "sgp"}, "topology": {"kind": "exponential"},
 "network": {"default_link": {"delay_ms": 20}}}
JSON

# check.py RUN_DIR MODE: MODE "faithful" or "disturbed"; prints one line of figures into RUN_DIR/msg.
cat > "$tmp/check.py" <<'PY'
import json, os, sys
d, mode = sys.argv[1], sys.argv[2]
s = json.load(open(os.path.join(d, "summary.json")))
lf = s["link_fidelity"]
ev = [json.loads(l) for l in open(os.path.join(d, "network.jsonl"))]
fid = [e for e in ev if e["event"] == "fidelity"]
hooks = [e for e in ev if e["event"] == "test_hook"]
cmp = [l for l in lf["links"] if l["compared"]]
figs = ", ".join(f'{l["from"]}->{l["to"]} {l["measured"]["min_rtt_ms"]:.2f}' for l in cmp)
msg = (f'backend {s["backend"]}, verdict {lf["verdict"]}, {len(cmp)} links compared, min RTT ms (configured 40): {figs}'
       + (f'; deviating {lf["deviating"]}' if lf["deviating"] else ''))
open(os.path.join(d, "msg"), "w").write(msg)
assert s["backend"] in ("uml", "kernel"), msg
assert len(fid) == 12 and len(lf["links"]) == 12, f'{len(fid)} fidelity events: {msg}'
assert len(cmp) >= 4, msg
assert all(l["configured"]["rtt_ms"] == 40 for l in lf["links"]), msg
if mode == "faithful":
    assert lf["verdict"] == "ok" and not hooks and "test_hook" not in lf, msg
    for l in cmp:
        assert l["ok"] and 39.5 <= l["measured"]["min_rtt_ms"] <= 50, msg
else:
    assert lf["verdict"] == "deviates" and "0->1" in lf["deviating"], msg
    bad = [l for l in cmp if l["from"] == 0 and l["to"] == 1][0]
    assert not bad["ok"] and bad["measured"]["min_rtt_ms"] >= 65 and bad["ratio"] > 1.6, msg
    assert lf["test_hook"]["value"] == "0:1:30" and hooks and hooks[0]["hook"]["extra_delay_ms"] == 30, msg
    # the plan and the network log keep the configured 20 ms: the hook works behind their back
    link01 = [e for e in ev if e["event"] == "link" and e["from"] == 0 and e["to"] == 1][0]
    assert link01["link"]["delay_ms"] == 20, msg
PY

# 1. Faithful links: every compared link's min RTT near 40 ms, verdict ok, no warning.
if "$BIN" run "$tmp/s20.json" --out "$tmp/ok" > "$tmp/ok.out" 2>&1; then
  msg() { cat "$tmp/ok/msg" 2>/dev/null; }
  "$PY" "$tmp/check.py" "$tmp/ok" faithful && ok "20 ms links: $(msg)" || bad "20 ms links: $(msg)"
  if grep -q "^link fidelity: .* all within tolerance" "$tmp/ok.out" && ! grep -q "^warning: link emulation" "$tmp/ok.out"
  then ok "faithful run: one fidelity line, no warning"
  else bad "faithful run output: $(grep -iE 'fidelity|warning' "$tmp/ok.out")"; fi
else bad "run over 20 ms links failed: $(tail -3 "$tmp/ok.out")"; fi

# 2. Link 0 -> 1 gets 30 ms more than configured, behind the plan's back: flagged, and the run says why.
if MESHTRAIN_TEST_LINK_DISTURB=0:1:30 "$BIN" run "$tmp/s20.json" --out "$tmp/dist" > "$tmp/dist.out" 2>&1; then
  msg() { cat "$tmp/dist/msg" 2>/dev/null; }
  "$PY" "$tmp/check.py" "$tmp/dist" disturbed && ok "disturbed 0->1: $(msg)" || bad "disturbed: $(msg)"
  if grep -q "^warning: link emulation deviates .*0->1 min RTT" "$tmp/dist.out" &&
     grep -q "^TEST HOOK MESHTRAIN_TEST_LINK_DISTURB=0:1:30" "$tmp/dist.out"
  then ok "disturbed run: the warning names 0->1, the hook is announced"
  else bad "disturbed run output: $(grep -iE 'warning|hook' "$tmp/dist.out")"; fi
else bad "disturbed run failed: $(tail -3 "$tmp/dist.out")"; fi

# 3. A hook naming a link that does not exist stops the run, naming the variable.
MESHTRAIN_TEST_LINK_DISTURB=0:7:30 "$BIN" run "$tmp/s20.json" --out "$tmp/badhook" > "$tmp/badhook.out" 2>&1; st=$?
if [ $st -ne 0 ] && grep -q "MESHTRAIN_TEST_LINK_DISTURB=0:7:30" "$tmp/badhook.out"
then ok "bad hook value refused (status $st)"
else bad "bad hook: status $st, $(tail -2 "$tmp/badhook.out")"; fi

# 4. Backend none: nothing is emulated, so nothing to compare (and summary.json says so).
grep -v '"network"' "$tmp/s20.json" | sed 's/"exponential"},$/"exponential"}}/' > "$tmp/none.json"
if "$BIN" run "$tmp/none.json" --out "$tmp/none" > "$tmp/none.out" 2>&1; then
  v=$("$PY" -c 'import json, sys; f = json.load(open(sys.argv[1]))["link_fidelity"]; print(f["verdict"], "-", f["why"])' \
      "$tmp/none/summary.json")
  [[ "$v" == "nothing to compare - backend none"* ]] && ok "backend none: $v" || bad "backend none: $v"
else bad "run without links failed: $(tail -3 "$tmp/none.out")"; fi

echo "fidelity: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
