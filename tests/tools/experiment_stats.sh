#!/usr/bin/env bash
# experiment_stats: scripts/experiment-stats.awk, the table of `lab.sh experiment`, on samples
# whose answer is known: the mean and 95 % interval over visits, a run seen in several scrapes
# counted once, and seed 001's two fits recovering the parameters the samples were made with.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$repo/tests/e2e/lib.sh"
stats=$repo/scripts/experiment-stats.awk
scratch vmscale-expstats

col() { # CSV N_UP COLUMN: one cell
	awk -F, -v l="$2" -v c="$3" '$1 == "n_up" { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		!/^#/ && $1 == l { print $k }' "$1"
}
fit() { sed -n "s/^# fit $2: .* = \([^ ]*\) \* max.*(1 + \([^ ]*\) \* i)\$/\1 \2/p; s/^# fit $2: .* = \([^ ]*\) \* max.*i\/[0-9]*)\$/\1/p" "$1"; }
near() { awk -v a="$1" -v b="$2" -v e="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= e) }'; }

# 1. Intervals: level 1's visits average 10, 12 and 14 (two runs each, one seen twice); level
#    2's 5, 5 and 5. Mean 12, sd 2, t(2) = 4.303: 4.303 * 2 / sqrt 3 = 4.9687.
cat >"$tmp/a.txt" <<'S'
1 1 cpu_work 100 9
1 1 cpu_work 101 11
1 1 cpu_work 101 11
2 2 cpu_work 200 5
3 2 cpu_work 300 5
4 1 cpu_work 400 12
5 1 cpu_work 500 14
6 2 cpu_work 600 5
S
awk -v P=2 -v probes="cpu_work memory_copy" -f "$stats" "$tmp/a.txt" >"$tmp/a.csv"
check "level 1: mean 12 over 3 visits" near "$(col "$tmp/a.csv" 1 cpu_work)" 12 1e-9
check "level 1: 95 % interval 4.969 (t = 4.303, sd 2, 3 visits)" near "$(col "$tmp/a.csv" 1 cpu_work_ci95)" 4.96868 1e-4
check "a run seen in two scrapes counts once (4 distinct cpu_work runs at level 1)" near "$(col "$tmp/a.csv" 1 cpu_work_runs)" 4 0
check "level 2: no spread, interval 0" near "$(col "$tmp/a.csv" 2 cpu_work_ci95)" 0 1e-12
check "slowdown at level 2 = 12 / 5" near "$(col "$tmp/a.csv" 2 slowdown)" 2.4 1e-9
check "a probe with no runs stays empty" test -z "$(col "$tmp/a.csv" 1 memory_copy)"
check "level 1 is the reference: no interval on its slowdown" test -z "$(col "$tmp/a.csv" 1 slowdown_ci95)"

# 2. Fits: rates made exactly as seed 001's refined model, ET(i) ∝ max(1, i/3) (1 + 0.04 i),
#    on P = 3 CPUs, 6 levels, 2 passes: the refined fit recovers O = 0.04 and a = 1 / 1.04
#    (ET relative to level 1), with no residual; the queue-only fit is worse.
awk 'BEGIN { v = 0; for (p = 1; p <= 2; p++) for (L = 1; L <= 6; L++) { v++; q = L / 3 < 1 ? 1 : L / 3
	for (k = 1; k <= 3; k++) print v, L, "cpu_work", v * 10 + k, 3e6 / (q * (1 + 0.04 * L)) } }' >"$tmp/b.txt"
awk -v P=3 -v probes=cpu_work -f "$stats" "$tmp/b.txt" >"$tmp/b.csv"
read -r a o <<<"$(fit "$tmp/b.csv" refined)"
check "refined fit: O = 0.04 (got $o)" near "$o" 0.04 1e-6
check "refined fit: a = 1/1.04 (got $a)" near "$a" 0.961538 1e-5
check "refined fit: worst |residual| ~ 0" grep -qE '^# worst \|residual\| of the refined fit: [0-9.e-]+$' "$tmp/b.csv"
w=$(sed -n 's/^# worst |residual| of the refined fit: //p' "$tmp/b.csv")
check "refined fit: worst |residual| $w below 1e-5 (the samples carry 6 digits)" near "$w" 0 1e-5
check "queue fit leaves a residual at N_up 6 ($(col "$tmp/b.csv" 6 residual_queue))" \
	awk -v r="$(col "$tmp/b.csv" 6 residual_queue)" 'BEGIN { exit !(r > 0.02 || r < -0.02) }'

# 3. One level: nothing to fit a line through; no crash, no refined model.
printf '1 1 cpu_work 1 5\n2 1 cpu_work 2 6\n' >"$tmp/c.txt"
awk -v P=2 -v probes=cpu_work -f "$stats" "$tmp/c.txt" >"$tmp/c.csv"
check "one level: no refined fit" test -z "$(col "$tmp/c.csv" 1 model_refined)"
check "one level: the queue fit is the identity (model 1)" near "$(col "$tmp/c.csv" 1 model_queue)" 1 1e-9

# 4. No samples at all: exit status 1, nothing printed.
if awk -v P=2 -v probes=cpu_work -f "$stats" /dev/null >"$tmp/d.csv"; then not_ok "no samples: exit 1"; else ok "no samples: exit 1"; fi
finish
