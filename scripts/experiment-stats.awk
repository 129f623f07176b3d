# experiment-stats.awk — the table of `lab.sh experiment`: repeats, intervals and seed 001's fits.
#
#   awk -v P=HOST_CPUS -v probes="cpu_work memory_copy ..." -f experiment-stats.awk SAMPLES
#
# SAMPLES: one line per probe run, "VISIT LEVEL PROBE RUN_END VALUE" (a run seen in several
# scrapes counts once: VISIT, PROBE and RUN_END name it). A visit is one hold of a level; a
# level is visited once per pass, so its visits are its repeats.
#
# Per level and probe: the mean of each visit's runs, then the mean over the visits and its
# 95 % interval (Student's t over the visits' means: runs within one hold are not independent,
# visits are). CPU work as seed 001's elapsed time: ET(i) = 1 / rate, slowdown(i) =
# ET(i) / ET(1) with its interval (first order, both levels' relative intervals). Two fits of
# ET(i) / ET(1), least squares on relative residuals (each level weighs the same):
#   queue:   a · q(i),             q(i) = max(1, i / P)   (seed 001: ET(i) ≈ ET_P · i/P)
#   refined: a · q(i) · (1 + O·i)                          (seed 001's Estimate2)
# Prints the CSV header and rows, then "# fit ..." lines.

# Student's t, two-sided 95 %, df degrees of freedom.
function t95(df) {
	if (df < 1)
		return 0
	if (df <= 20)
		return t[df]
	return 1.96 + 2.4 / df # within 0.5 % of the table beyond 20
}

function fmt(x) { return x == "" ? "" : sprintf("%.10g", x) }

BEGIN {
	split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228 " \
	      "2.201 2.179 2.160 2.145 2.131 2.120 2.110 2.101 2.093 2.086", t, " ")
	nprobes = split(probes, probe, " ")
	if (P < 1 || nprobes < 1) {
		print "experiment-stats.awk: needs -v P=CPUS -v probes=\"...\"" > "/dev/stderr"
		exit 2
	}
}

NF == 5 && !seen[$1, $3, $4]++ {
	vsum[$1, $3] += $5
	vn[$1, $3]++
	level_of[$1] = $2
	if ($2 > top) top = $2
	if ($1 > visits) visits = $1
}

END {
	if (!top)
		exit 1
	for (L = 1; L <= top; L++)
		level_stats(L)
	slowdowns()
	fit_queue()
	fit_refined()
	print_table()
}

# mean[L, p], ci[L, p] over the visits of level L; nvis[L]; runs[L] (cpu_work runs).
function level_stats(L,    k, v, p, n, s, ss, x, i, m) {
	for (k = 1; k <= nprobes; k++) {
		p = probe[k]
		n = 0; s = 0
		for (v = 1; v <= visits; v++) {
			if (level_of[v] != L || !vn[v, p]) continue
			x[++n] = vsum[v, p] / vn[v, p]
			s += x[n]
			if (p == "cpu_work") runs[L] += vn[v, p]
		}
		mean[L, p] = ci[L, p] = ""
		if (n == 0) continue
		m = s / n
		mean[L, p] = m
		if (n >= 2) {
			ss = 0
			for (i = 1; i <= n; i++) ss += (x[i] - m) ^ 2
			ci[L, p] = t95(n - 1) * sqrt(ss / (n - 1)) / sqrt(n)
		}
		if (p == "cpu_work") nvis[L] = n
	}
}

# y[L] = ET(L) / ET(1) = rate(1) / rate(L), its interval, and the levels the fits use.
function slowdowns(    L, r1, h1, rl, hl) {
	r1 = mean[1, "cpu_work"]; h1 = ci[1, "cpu_work"]
	nfit = 0
	for (L = 1; L <= top; L++) {
		y[L] = yci[L] = ""
		rl = mean[L, "cpu_work"]; hl = ci[L, "cpu_work"]
		if (r1 == "" || rl == "" || rl <= 0) continue
		y[L] = r1 / rl
		if (L > 1 && h1 != "" && hl != "")
			yci[L] = y[L] * sqrt((h1 / r1) ^ 2 + (hl / rl) ^ 2)
		q[L] = L / P < 1 ? 1 : L / P
		fitl[++nfit] = L
	}
}

function fit_queue(    i, L, u, su, suu) {
	qa = ""
	for (i = 1; i <= nfit; i++) {
		L = fitl[i]; u = q[L] / y[L]
		su += u; suu += u * u
	}
	if (suu > 0) qa = su / suu
}

# Linear in (a, b = a·O): a·q + b·q·i ≈ y, divided by y: a·u + b·w ≈ 1.
function fit_refined(    i, L, u, w, suu, suw, sww, su, sw, det) {
	ra = rO = ""
	if (nfit < 2) return
	for (i = 1; i <= nfit; i++) {
		L = fitl[i]; u = q[L] / y[L]; w = q[L] * L / y[L]
		suu += u * u; suw += u * w; sww += w * w; su += u; sw += w
	}
	det = suu * sww - suw * suw
	if (det == 0 || det * det < 1e-24 * suu * sww * suu * sww) return
	ra = (su * sww - sw * suw) / det
	if (ra <= 0) { ra = ""; return }
	rO = (suu * sw - suw * su) / det / ra
}

function model(kind, L) {
	if (y[L] == "") return ""
	if (kind == "queue") return qa == "" ? "" : qa * q[L]
	return ra == "" ? "" : ra * q[L] * (1 + rO * L)
}

function residual(kind, L,    m) {
	m = model(kind, L)
	return m == "" || m == 0 ? "" : (y[L] - m) / m
}

function print_table(    k, L, row, hdr, worst, r) {
	hdr = "n_up,visits"
	for (k = 1; k <= nprobes; k++) hdr = hdr "," probe[k] "," probe[k] "_ci95"
	print hdr ",cpu_work_runs,slowdown,slowdown_ci95,model_queue,residual_queue,model_refined,residual_refined"
	worst = ""
	for (L = 1; L <= top; L++) {
		row = L "," (nvis[L] + 0)
		for (k = 1; k <= nprobes; k++) row = row "," fmt(mean[L, probe[k]]) "," fmt(ci[L, probe[k]])
		r = residual("refined", L)
		if (r != "" && (worst == "" || (r < 0 ? -r : r) > worst)) worst = r < 0 ? -r : r
		print row "," (runs[L] + 0) "," fmt(y[L]) "," fmt(yci[L]) "," fmt(model("queue", L)) "," \
		      fmt(residual("queue", L)) "," fmt(model("refined", L)) "," fmt(residual("refined", L))
	}
	printf "# fit queue: ET(i)/ET(1) = %s * max(1, i/%d)\n", fmt(qa), P
	printf "# fit refined: ET(i)/ET(1) = %s * max(1, i/%d) * (1 + %s * i)\n", fmt(ra), P, fmt(rO)
	printf "# worst |residual| of the refined fit: %s\n", fmt(worst)
}
