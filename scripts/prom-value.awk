# The first sample of metric m carrying all the labels in want ('name="value"' items separated
# by spaces, in any order, among others) from a text exposition; prints its value, or nothing.
#   awk -v m=METRIC -v want='domain="dvm1" probe="cpu_work"' -f prom-value.awk FILE
# Used by scripts/lab.sh and the end-to-end tests (tests/e2e/lab_lib.sh).
BEGIN { n = split(want, w, " ") }
/^#/ { next }
{
	name = $0; sub(/[{ ].*/, "", name)
	if (name != m) next
	labels = ""
	if (substr($0, length(name) + 1, 1) == "{") {
		labels = $0; sub(/^[^{]*\{/, "", labels); sub(/\}[^}]*$/, "", labels)
	}
	rest = $0; sub(/^[^ {]+(\{.*\})? +/, "", rest); split(rest, v, " ")
	s = "," labels ","
	for (i = 1; i <= n; i++) if (index(s, "," w[i] ",") == 0) next
	print v[1]; exit
}
