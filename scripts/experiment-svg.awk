# experiment-svg.awk — the plot of `lab.sh experiment`'s CSV (scripts/experiment-stats.awk):
# every probe's mean normalised to its value at N_up = 1, CPU work with its 95 % intervals,
# and seed 001's two fitted models for CPU work as a rate (1 / model).
#
#   awk -F, -v P=HOST_CPUS -v title=TITLE -f experiment-svg.awk experiment.csv > experiment.svg
function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); return s }
function px(v) { return L + (v - xmin) / (xmax - xmin) * pw }
function py(v) { return T + ph - v / ymax * ph }
function cellv(r, name) { return name in col ? cell[r, col[name]] : "" }

/^#/ { next }
$1 == "n_up" { for (i = 1; i <= NF; i++) col[$i] = i; next }
{ rows++; x[rows] = $1 + 0; for (i = 1; i <= NF; i++) cell[rows, i] = $i }

END {
	nk = split("cpu_work memory_copy disk_read network_transmit network_receive fork_exit", names, " ")
	split("#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b", colour, " ")
	W = 760; H = 480; L = 70; R = 230; T = 50; B = 60
	xmin = x[1]; xmax = x[1]
	for (r = 1; r <= rows; r++) if (x[r] > xmax) xmax = x[r]
	if (xmax == xmin) xmax = xmin + 1
	ymax = 1.2
	for (k = 1; k <= nk; k++) {
		base = cellv(1, names[k])
		for (r = 1; r <= rows; r++) {
			y[k, r] = e[k, r] = ""
			v = cellv(r, names[k])
			if (base == "" || base + 0 <= 0 || v == "") continue
			y[k, r] = v / base
			if (k == 1 && cellv(r, names[k] "_ci95") != "") e[k, r] = cellv(r, names[k] "_ci95") / base
			if (y[k, r] + e[k, r] > ymax) ymax = y[k, r] + e[k, r]
		}
	}
	step = ymax <= 1.5 ? 0.25 : ymax <= 3 ? 0.5 : ymax <= 6 ? 1 : 2
	ymax = step * int(ymax / step + 0.999)
	pw = W - L - R; ph = H - T - B
	printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H
	printf "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n", W, H
	printf "<text x=\"%d\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n", L + pw / 2, esc(title)
	for (v = 0; v <= ymax + 1e-9; v += step) {
		printf "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, py(v), L + pw, py(v)
		printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", L - 6, py(v) + 4, v
	}
	for (v = xmin; v <= xmax; v++) {
		printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/>\n", px(v), T + ph, px(v), T + ph + 5
		printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", px(v), T + ph + 18, v
	}
	printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>\n", L, T + ph, L + pw, T + ph
	printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>\n", L, T, L, T + ph
	printf "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">N_up (running VMs)</text>\n", L + pw / 2, H - 15
	printf "<text transform=\"translate(18 %d) rotate(-90)\" text-anchor=\"middle\">mean / mean at the first level</text>\n", T + ph / 2
	# The models, as CPU-work rates: 1 / model (queue dashed, refined dotted).
	split("model_queue model_refined", mname, " ")
	split("6 4|2 3", dash, "|")
	for (m = 1; m <= 2; m++) {
		pts = ""
		for (r = 1; r <= rows; r++)
			if (cellv(r, mname[m]) != "" && cellv(r, mname[m]) + 0 > 0)
				pts = pts sprintf("%.1f,%.1f ", px(x[r]), py(1 / cellv(r, mname[m])))
		if (pts != "") printf "<polyline points=\"%s\" fill=\"none\" stroke=\"#000\" stroke-width=\"1.5\" stroke-dasharray=\"%s\"/>\n", pts, dash[m]
	}
	for (k = 1; k <= nk; k++) {
		pts = ""
		for (r = 1; r <= rows; r++) {
			if (y[k, r] == "") continue
			pts = pts sprintf("%.1f,%.1f ", px(x[r]), py(y[k, r]))
			printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px(x[r]), py(y[k, r]), colour[k]
			if (k == 1 && e[k, r] != "")
				printf "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\"/>\n", px(x[r]), py(y[k, r] - e[k, r]), px(x[r]), py(y[k, r] + e[k, r]), colour[k]
		}
		if (pts != "") printf "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n", pts, colour[k]
	}
	lx = L + pw + 20
	for (k = 1; k <= nk + 2; k++) {
		ly = T + 10 + (k - 1) * 22
		if (k <= nk) {
			printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>\n", lx, ly, lx + 24, ly, colour[k]
			printf "<text x=\"%d\" y=\"%d\">%s%s</text>\n", lx + 30, ly + 4, names[k], names[k] == "fork_exit" ? " (latency)" : names[k] == "cpu_work" ? " (95 % interval)" : ""
		} else {
			printf "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\" stroke-width=\"1.5\" stroke-dasharray=\"%s\"/>\n", lx, ly, lx + 24, ly, dash[k - nk]
			printf "<text x=\"%d\" y=\"%d\">%s</text>\n", lx + 30, ly + 4, k == nk + 1 ? sprintf("fit ET_P max(1, N_up/%d)", P) : "fit with (1 + O N_up)"
		}
	}
	print "</svg>"
}
