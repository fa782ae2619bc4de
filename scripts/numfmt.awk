# scripts/numfmt.awk — comparison.sh 與 curves.sh 共用的 awk 函式(相容 mawk)
# num(x):x 是不是數字("-" 與空字串不是)
function num(x) { return (x != "" && x != "-" && x ~ /^-?[0-9]*[.]?[0-9]+([eE][-+]?[0-9]+)?$/) }
# fmt(x):表格裡的數字:>= 1e6 寫成 1.23M、>= 1e4 寫成 12k,其餘三位有效數字左右;不是數字時 "-"
function fmt(x) {
	if (!num(x)) return "-"
	x += 0
	if (x >= 1e6) return sprintf("%.2fM", x / 1e6)
	if (x >= 1e4) return sprintf("%.0fk", x / 1e3)
	if (x >= 100) return sprintf("%.0f", x)
	if (x >= 10) return sprintf("%.1f", x)
	return sprintf("%.2f", x)
}
