#!/bin/bash
# Link emulation tests, through whichever backend `auto` picks (User-Mode Linux on machines whose
# kernel lacks netem, as CI's): one link measured against its configuration, a scheduled change, a
# run over shaped links, and no process, namespace, veth or qdisc left after a run, a failure,
# Ctrl-C or SIGKILL of the runner. Usage: tests/netem.sh bin/meshtrain
set -u
BIN=$(realpath "${1:-bin/meshtrain}")
HERE=$(dirname "$(realpath "$0")")
PY=$(command -v python3 || echo /usr/bin/python3)
pass=0 fail=0
tmp=$(mktemp -d /tmp/meshtrain-netem-XXXXXX)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# The User-Mode Linux processes this script's runs started: they inherit this tag in their environment
# (others' guests on the same machine are not ours to count).
export MESHTRAIN_NETEM_TEST="$tmp"
uml_procs() {
  local p n=0
  for p in $(pgrep -x linux.uml); do
    { tr '\0' '\n' < "/proc/$p/environ"; } 2>/dev/null | grep -qxF "MESHTRAIN_NETEM_TEST=$tmp" && n=$((n + 1))
  done
  echo "$n"
}
host_idle() { awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }

# Link timing under host load. Inside User-Mode Linux the guest's timers and processes fall behind
# when the host is busy (seen: a 10 ms link measured a 32.9 ms median and 12.9% loss for 10%). So
# every `bench link` carries its own calibration, measured in the same guest at the same time: its
# B->A direction is unshaped, and what B->A shows (loss, median, p99) is the guest's own lag. Calm
# (B->A lost nothing, median <= 0.5 ms, p99 <= 5 ms; idle hosts show 0.1 and 0.3-0.5 ms): every bound
# is asserted. Busy: the run is retried once, and said so. Busy twice: only what load cannot produce
# is asserted (a minimum delay below the configured one or more than 2 ms + 5% above it, less loss
# than configured, more rate than configured), and the output names the checks left out and why.
# Measured (docs/network.md): the minimum delay stayed within 0.15 ms of the configured one in every
# run, even those with 2 s stalls and 57% lost, while the median moved by up to 550 ms.
cat > "$tmp/calib.py" <<'PY'
import json, sys
def load(path):
    return json.loads(open(path).read().strip().splitlines()[-1])
def calm(r):
    ba = r["b_to_a"]
    return ba["lost"] == 0 and ba["delay_median_ms"] <= 0.5 and ba["delay_p99_ms"] <= 5.0
def reference(r):
    ba = r["b_to_a"]
    return (f'B->A unshaped: median {ba["delay_median_ms"]:.2f}, p99 {ba["delay_p99_ms"]:.1f}, '
            f'max {ba["delay_max_ms"]:.1f} ms, {ba["loss_pct"]:.1f}% lost')
def mode(r, note):   # the words every message starts with: how faithful this run could be
    return (note + ("host calm" if calm(r) else "host busy twice, load-robust checks only") + f' ({reference(r)})')
if __name__ == "__main__":   # calib.py FILE: status 0 if the run was calm; prints the reference
    r = load(sys.argv[1])
    print(reference(r))
    sys.exit(0 if calm(r) else 1)
PY
# bench_link NAME ARGS...: `bench link ARGS --json` into $tmp/NAME.json, once more if the host was
# busy; $tmp/NAME.note says whether it was retried and the host's CPU idle share during the run.
bench_link() {
  local name=$1 i0 t0 i1 t1 first; shift
  read -r i0 t0 < <(host_idle)
  "$BIN" bench link "$@" --json > "$tmp/$name.json" 2> "$tmp/$name.err" || return 1
  : > "$tmp/$name.note"
  if ! first=$("$PY" "$tmp/calib.py" "$tmp/$name.json"); then
    echo -n "retried: host busy on the first try ($first); " > "$tmp/$name.note"
    "$BIN" bench link "$@" --json > "$tmp/$name.json" 2> "$tmp/$name.err" || return 1
  fi
  read -r i1 t1 < <(host_idle)
  echo -n "host CPU idle $((100 * (i1 - i0) / (t1 - t0 + 1)))%; " >> "$tmp/$name.note"
}
no_uml_left() { for _ in $(seq 40); do [ "$(uml_procs)" -eq 0 ] && return 0; sleep 0.05; done; return 1; }

scratch_before=$(ls -d /tmp/meshtrain-uml-* 2>/dev/null | sort)
# Scratch folders made since the start that no live guest uses: another run's guest may be using its
# own right now, but ours have all ended when this is asked.
live_scratch() { pgrep -a -x linux.uml | grep -o 'uml_dir=[^ ]*' | cut -d= -f2 | sort -u; }
new_scratch() {
  comm -13 <(echo "$scratch_before") <(ls -d /tmp/meshtrain-uml-* 2>/dev/null | sort) |
    grep -vxF -f <(live_scratch; echo /) | grep .
}
echo "backend: $("$BIN" probe --json | "$PY" -c 'import json,sys; n=json.load(sys.stdin)["network"]; print(n["auto"], "-", n["auto_why"])')"
others=$(pgrep -x linux.uml | wc -l)
[ "$others" -eq 0 ] || echo "note: $others linux.uml processes of other runs on this machine (not counted here)"
before=$(uml_procs)

# 1. Delay and rate as configured on A->B; B->A unshaped (calm: median within 2 ms + 5%, rate 10%).
if bench_link l1 --delay-ms 20 --rate-mbit 20 --probes 500 --seconds 3; then
  "$PY" - "$tmp" l1 <<'PY' && ok "delay and rate: $(cat "$tmp/l1.msg")" || bad "delay/rate: $(cat "$tmp/l1.msg")"
import sys
sys.path.insert(0, sys.argv[1])
from calib import load, calm, mode
base = f"{sys.argv[1]}/{sys.argv[2]}"
r = load(base + ".json")
ab, ba, tp = r["a_to_b"], r["b_to_a"], r["throughput"]
msg = (f'{mode(r, open(base + ".note").read())}: delay min {ab["delay_min_ms"]:.2f} '
       f'median {ab["delay_median_ms"]:.2f} ms (20), rate {tp["wire_mbit"]:.2f} Mbit/s (20), '
       f'B->A min {ba["delay_min_ms"]:.3f} ms, setup {r["setup_s"]:.2f} s, backend {r["backend"]}')
open(base + ".msg", "w").write(msg)
# Load only adds delay and takes rate: these hold on any host. A link that shows 0 ms or 30 ms as its
# minimum, or more rate than configured, fails here whatever the load.
assert ab["delay_min_ms"] >= 20 - 0.3, "delivered before the configured delay: " + msg
assert ab["delay_min_ms"] <= 20 + 2 + 0.05 * 20 + ba["delay_min_ms"], msg
assert ba["delay_min_ms"] < 1.0, "B->A is shaped: " + msg
assert tp["wire_mbit"] <= 1.10 * 20, msg
if calm(r):
    assert abs(ab["delay_median_ms"] - 20) <= 2 + 0.05 * 20, msg
    assert tp["wire_mbit"] >= 0.90 * 20, msg
    assert ab["loss_pct"] == 0, msg
PY
else bad "bench link failed: $(tail -3 "$tmp/l1.err")"; fi

# 2. Random loss within a binomial bound (99.9%: |p - 10%| <= 3.29 sd), jitter present, delay kept.
if bench_link l2 --delay-ms 10 --jitter-ms 2 --loss-pct 10 --probes 3000 --interval-ms 1 --seconds 0; then
  "$PY" - "$tmp" l2 <<'PY' && ok "loss: $(cat "$tmp/l2.msg")" || bad "loss: $(cat "$tmp/l2.msg")"
import math, sys
sys.path.insert(0, sys.argv[1])
from calib import load, calm, mode
base = f"{sys.argv[1]}/{sys.argv[2]}"
r = load(base + ".json")
ab, ba = r["a_to_b"], r["b_to_a"]
n, p = ab["probes"], 0.10
bound = 3.29 * math.sqrt(p * (1 - p) / n)
msg = (f'{mode(r, open(base + ".note").read())}: {ab["loss_pct"]:.2f}% of {n} probes lost (10% +- {100 * bound:.2f}), '
       f'delay min {ab["delay_min_ms"]:.2f} median {ab["delay_median_ms"]:.2f} ms (10 +- 2 uniform), '
       f'sd {ab["delay_sd_ms"]:.2f} ms (1.15)')
open(base + ".msg", "w").write(msg)
# On any host: no less loss than configured (a stalled guest loses more, never less), no probe before
# 10 - 2 ms, and jitter shows as a minimum well below 10 ms (load only delays) and a spread.
assert ab["loss_pct"] / 100 >= p - bound, msg
assert ab["delay_min_ms"] >= 10 - 2 - 0.3, "delivered before the configured delay: " + msg
assert ab["delay_min_ms"] <= 10 - 1 + ba["delay_min_ms"], "no jitter or too much delay: " + msg
assert ab["delay_sd_ms"] > 0.5, "no jitter: " + msg
if calm(r):
    assert abs(ab["loss_pct"] / 100 - p) <= bound, msg
    assert abs(ab["delay_median_ms"] - 10) <= 2 + 0.05 * 10, msg
PY
else bad "bench link (loss) failed: $(tail -3 "$tmp/l2.err")"; fi

# 3. A scheduled change takes effect within 100 ms (busy twice: within 100 ms + the longest stall
# the unshaped reference saw in the same run).
if bench_link l3 --delay-ms 10 --change-at 1.0 --change-delay-ms 50 --probes 1000 --interval-ms 2 --seconds 0; then
  "$PY" - "$tmp" l3 <<'PY' && ok "change: $(cat "$tmp/l3.msg")" || bad "change: $(cat "$tmp/l3.msg")"
import sys
sys.path.insert(0, sys.argv[1])
from calib import load, calm, mode
base = f"{sys.argv[1]}/{sys.argv[2]}"
r = load(base + ".json")
eff, limit = r["a_to_b"]["change_effect_ms"], 100 + (0 if calm(r) else r["b_to_a"]["delay_max_ms"])
# "applied" is when tc returned; the kernel switches the qdisc before that, so a probe sent while tc ran
# may already see the new delay: a few ms early on a calm host, up to the longest stall on a busy one.
early = 5 + (0 if calm(r) else r["b_to_a"]["delay_max_ms"])
msg = (f'{mode(r, open(base + ".note").read())}: 10 -> 50 ms at 1.0 s: '
       f'applied {r["change"]["applied_after_ms"]:.1f} ms late, '
       f'first probe with the new delay sent {eff:.1f} ms after (limits -{early:.0f}, {limit:.0f})')
open(base + ".msg", "w").write(msg)
assert -early <= eff <= limit, msg
PY
else bad "bench link (change) failed: $(tail -3 "$tmp/l3.err")"; fi

# 4. Bad flags: status 2 naming the flag.
out=$("$BIN" bench link --rate-mbit 0 2>&1); st=$?
[ $st -eq 2 ] && echo "$out" | grep -q -- "--rate-mbit" && ok "bench link --rate-mbit 0 refused" || bad "rate 0: status $st, $out"
out=$("$BIN" bench link --loss-pct 120 2>&1); st=$?
[ $st -eq 2 ] && echo "$out" | grep -q -- "--loss-pct" && ok "bench link --loss-pct 120 refused" || bad "loss 120: status $st, $out"

# 5. A run over shaped links: 4 agents, lossy and slow links, a scheduled change, message drops.
cat > "$tmp/run.json" <<JSON
{"name": "netem-run", "agents": 4, "dataset": "synthetic", "model": "lenet5", "epochs": 1,
 "limit_train": 2048, "limit_test": 256, "algorithm": {"name": "sgp"}, "topology": {"kind": "exponential"},
 "network": {"default_link": {"delay_ms": 5, "jitter_ms": 1, "loss_pct": 1, "rate_mbit": 50},
             "links": [{"from": 0, "to": 1, "loss_model": "gemodel", "ge_p_pct": 1, "ge_r_pct": 30, "ge_bad_loss_pct": 50}],
             "schedule": [{"at_s": 0.5, "from": 2, "to": 3, "delay_ms": 30}], "drop_prob": 0.05}}
JSON
# The change's lateness is timing: strict (0.25 s) when the host kept 40% of its CPU idle during the run
# (the run itself fills at most the one core of two User-Mode Linux uses: calm runs show 55-61% idle; a
# parallel build beside it, 28%, and 0.25 s late), else within 1 s, and said so.
# Calm runs measured 17-30 ms late, once 105 ms (2026-12-04, 59% idle): the guest is uniprocessor and runs
# four agents beside the runner, so 0.25 s leaves room for that and still fails a change applied a second
# late or never.
read -r i0 t0 < <(host_idle)
if "$BIN" run "$tmp/run.json" --out "$tmp/run" > "$tmp/run.out" 2>&1; then
  read -r i1 t1 < <(host_idle)
  idle=$((100 * (i1 - i0) / (t1 - t0 + 1)))
  "$PY" - "$tmp/run" "$idle" <<'PY' && ok "run over netem: $(cat "$tmp/run/msg")" || bad "run over netem: $(cat "$tmp/run/msg")"
import json, os, sys
d, idle = sys.argv[1], int(sys.argv[2])
late_max = 0.25 if idle >= 40 else 1.0
s = json.load(open(os.path.join(d, "summary.json")))
ev = [json.loads(l) for l in open(os.path.join(d, "network.jsonl"))]
setup = [e for e in ev if e["event"] == "setup"][0]
changes = [e for e in ev if e["event"] == "change" and e["at_s"] > 0]
deferred = [e for e in ev if e["event"] == "change" and e["at_s"] == 0]
counters = [e for e in ev if e["event"] == "counters"][0]["links"]
sent = {(c["from"], c["to"]): c["bytes"] for c in counters}
msg = (f'backend {s["backend"]}, {setup["shaped_links"]} shaped links set up in {setup["setup_s"]:.2f} s, '
       f'change due at 0.5 s took effect at {changes[0]["t_s"] if changes else -1:.3f} s '
       f'(limit +{late_max:.2f} s: host CPU idle {idle}% during the run), '
       f'{s["missing_messages"]} messages dropped, {len(counters)} links counted')
open(os.path.join(d, "msg"), "w").write(msg)
assert s["backend"] in ("uml", "kernel"), msg
assert setup["shaped_links"] == 12, msg
assert len(changes) == 1 and changes[0]["from"] == 2 and changes[0]["to"] == 3 and changes[0]["link"]["delay_ms"] == 30, msg
assert changes[0]["t_s"] - changes[0]["at_s"] < late_max, msg
assert len(counters) == 12 and sum(sent.values()) > 0 and all(v > 0 for v in sent.values()), msg
assert s["missing_messages"] > 0, msg
# the t = 0 loss (1% on every link, bursts on 0->1) waits until every agent is connected
assert len(deferred) == 12 and any(d["link"]["loss"]["model"] == "gemodel" for d in deferred if "loss" in d["link"]), msg
PY
else bad "run over netem failed: $(tail -3 "$tmp/run.out")"; fi
no_uml_left && ok "no User-Mode Linux process after a run" || bad "linux.uml processes left after a run"
new_scratch >/dev/null && bad "UML scratch folders left: $(new_scratch)" || ok "no UML scratch folder left"

# 6. Ctrl-C of the runner (UML backend): exit 1, the run marked FAILED, nothing left.
sed 's/"epochs": 1/"epochs": 50/' "$tmp/run.json" > "$tmp/long.json"
"$BIN" run "$tmp/long.json" --out "$tmp/int" > "$tmp/int.out" 2>&1 & pid=$!
for _ in $(seq 100); do grep -q "epoch" "$tmp/int.out" 2>/dev/null && break; sleep 0.1; done
kill -INT $pid; wait $pid; st=$?
[ $st -eq 1 ] && [ -f "$tmp/int/FAILED" ] && [ ! -f "$tmp/int/summary.json" ] && ok "Ctrl-C: status 1, run marked FAILED" || bad "Ctrl-C: status $st, $(tail -2 "$tmp/int.out")"
no_uml_left && ok "no User-Mode Linux process after Ctrl-C" || bad "linux.uml processes left after Ctrl-C"

# 7. SIGKILL of the runner: the guest dies with it.
"$BIN" run "$tmp/long.json" --out "$tmp/kill" > "$tmp/kill.out" 2>&1 & pid=$!
for _ in $(seq 100); do grep -q "epoch" "$tmp/kill.out" 2>/dev/null && break; sleep 0.1; done
kill -KILL $pid; wait $pid 2>/dev/null
no_uml_left && ok "no User-Mode Linux process after SIGKILL of the runner" || bad "linux.uml outlived a killed runner"
sleep 0.5
new_scratch >/dev/null && bad "UML scratch folder left after SIGKILL of the runner: $(new_scratch)" || ok "no UML scratch folder after SIGKILL of the runner"

# 8. Inside the emulation kernel: the kernel backend leaves no namespace, veth, qdisc or process after
# a run, a killed agent, Ctrl-C and SIGKILL of the runner (checked by tests/netem_guest.sh there).
if "$BIN" uml -- "$HERE/netem_guest.sh" "$BIN" "$tmp/guest" > "$tmp/guest.out" 2>&1; then
  while read -r line; do ok "in the guest: $line"; done < <(grep '^ok: ' "$tmp/guest.out" | sed 's/^ok: //')
else
  grep '^ok: ' "$tmp/guest.out" | sed 's/^ok: //' | while read -r line; do echo "ok: in the guest: $line"; done
  bad "in the guest: $(grep -v '^ok: ' "$tmp/guest.out" | tail -5)"
fi
[ "$(uml_procs)" -le "$before" ] || bad "linux.uml processes left at the end"

echo "netem: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
