#!/bin/bash
# scripts/curves.sh — 把效能腳本寫下的曲線點(results/raw/*.points.tsv)畫成「成本隨工作量增加」的曲線,
# 並從資料算出交叉點(哪一邊從哪裡開始贏)
#
# 用法:scripts/curves.sh 原始結果目錄 輸出目錄
#   讀 原始結果目錄/*.points.tsv(格式見 tests/lib.sh 的 bench_point:面板 系列 x 指標 值,一列一次量測)
#   寫 輸出目錄/curves.md(每個面板一張表:每點的中位數與 min–max、量測次數,以及算出來的交叉點)、
#      輸出目錄/crossovers.tsv(技術 <tab> 交叉點句子;comparison.sh 的「該用哪一個?」用它)、
#      輸出目錄/curves-<技術>.png(每個技術一張圖,每個點是中位數、誤差線是 min–max),並印出交叉點
#   每點至少 BENCH_MIN 次(預設 5;-p quick 是 3)才算完整,不足的在表裡標出次數;一次都沒有的點是缺值,
#   圖上不畫(不是 0)。
# 圖需要 gnuplot 的 pngcairo 與中文字型(Noto Sans CJK);缺字型時略過圖並說明原因,不畫出亂碼。
set -uo pipefail

RAW=${1:-}
OUT=${2:-}
if [ -z "$RAW" ] || [ -z "$OUT" ]; then
	echo "用法:curves.sh 原始結果目錄 輸出目錄" >&2
	exit 64
fi
BENCH_MIN=${BENCH_MIN:-5}
shopt -s nullglob
files=("$RAW"/*.points.tsv)
if [ ${#files[@]} -eq 0 ]; then
	echo "注意:$RAW 沒有曲線資料(*.points.tsv),略過曲線"
	exit 0
fi
mkdir -p "$OUT"

# ---- 面板的定義 -----------------------------------------------------------------------
# 面板|技術|標題|x 軸標題|x 值的寫法(表格與句子,%s = 值)|x 取對數(1/0)|指標:軸標題:越大越好(1)或越小越好(0):y 取對數;…
PANELS='io_uring_net|io_uring|io_uring 網路:伺服器每個請求的 CPU(128 B ping-pong)|連線數|%s 條連線|1|cpu_ns:CPU ns/請求:0:1
io_uring_file|io_uring|io_uring 檔案:4 KiB 隨機讀,O_DIRECT|佇列深度(同時在飛的 I/O)|QD %s|1|iops:IOPS:1:1;cpu_ns:CPU ns/I/O:0:1;p99_us:p99 延遲 µs:0:1
af_xdp|af_xdp|AF_XDP:同一條 veth、同一個產生器|訊框大小(位元組)|%s B|1|pps:封包/秒:1:1;cpu_ns:CPU ns/封包:0:1
dpdk_wire|dpdk|DPDK:同一條 veth、同一個產生器(真實訊框)|訊框大小(位元組)|%s B|1|pps:封包/秒:1:1;cpu_ns:CPU ns/封包:0:1
dpdk_burst|dpdk|DPDK:記憶體重播的每封包軟體成本|burst 大小|burst %s|1|cpu_ns:CPU ns/封包:0:1
rdma|rdma|RDMA(Soft-RoCE,VM 內)對 TCP|訊息大小(位元組)|%s B|1|p50_us:延遲 p50 µs:0:1;mbps:頻寬 MB/s:1:1;cpu_ns:被動端 CPU ns/操作:0:1'
# 交叉點:面板|指標|候選系列|對照系列(每一行算一句)
CROSS='io_uring_net|cpu_ns|io_uring|epoll
io_uring_file|iops|io_uring|pread 1 執行緒
io_uring_file|cpu_ns|io_uring|pread 執行緒池
io_uring_file|iops|io_uring|fio io_uring
io_uring_file|cpu_ns|io_uring|fio io_uring
af_xdp|pps|AF_XDP native|TPACKET_V3
af_xdp|cpu_ns|AF_XDP native|TPACKET_V3
af_xdp|pps|AF_XDP SKB|TPACKET_V3
af_xdp|pps|AF_XDP native|recvmmsg
dpdk_wire|pps|DPDK net_af_xdp|TPACKET_V3
dpdk_wire|cpu_ns|DPDK net_af_xdp|TPACKET_V3
dpdk_wire|pps|DPDK net_af_packet|TPACKET_V3
rdma|p50_us|WRITE|TCP
rdma|mbps|WRITE|TCP
rdma|p50_us|SEND|TCP
rdma|mbps|SEND|TCP
rdma|mbps|READ|TCP
rdma|cpu_ns|WRITE|TCP'

# ---- 彙整與交叉點(awk;相容 mawk) -----------------------------------------------------------
# 輸出:curves.md、每個面板每個指標的 gnuplot 資料檔 OUT/.curve.<面板>.<指標>.<系列序號>(x 中位數 min max)、
# OUT/.curve.list(面板 指標 系列序號 系列名稱)、OUT/.cross.txt(交叉點句子)
cat "${files[@]}" | awk -F'\t' -v out="$OUT" -v minruns="$BENCH_MIN" -v panels="$PANELS" -v crosses="$CROSS" \
	"$(cat "$(dirname "$0")/numfmt.awk")"'
# key = 面板 SUBSEP 系列 SUBSEP x SUBSEP 指標:中位數、最小、最大放在 MED MIN MAX,回傳次數
function stat(k,   n, i, j, t, a) {
	n = cnt[k] + 0
	for (i = 1; i <= n; i++) a[i] = v[k, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	if (!n) { MED = MIN = MAX = ""; return 0 }
	MED = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	MIN = a[1]; MAX = a[n]
	return n
}
function sortnum(arr, n,   i, j, t) {
	for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] + 0 > t + 0; j--) arr[j + 1] = arr[j]; arr[j + 1] = t }
}
# 一句交叉點:候選 a 對對照 b,在面板 p 的指標 m 上(hib = 越大越好)
function cross(p, m, a, b, hib,   i, n, x, cls, ma, mb, wa, wb, d, cw, first_w, last_w, nw, nl, ne, nmiss, s, best, bestx, r, xs, miss, won, lost) {
	n = nx[p]
	nw = nl = ne = nmiss = 0; s = ""; miss = ""; won = ""; lost = ""
	best = ""; first_w = last_w = 0
	for (i = 1; i <= n; i++) {
		x = xv[p, i]
		if (!stat(p SUBSEP a SUBSEP x SUBSEP m)) { cls[i] = "?"; nmiss++; miss = miss (miss == "" ? "" : "、") x; continue }
		ma = MED; wa = MAX - MIN
		if (!stat(p SUBSEP b SUBSEP x SUBSEP m) || MED + 0 <= 0) { cls[i] = "?"; nmiss++; miss = miss (miss == "" ? "" : "、") x; continue }
		mb = MED; wb = MAX - MIN
		d = ma - mb; if (d < 0) d = -d
		cw = (wa > wb ? wa : wb)
		r = ma / mb
		if (cw >= d) { cls[i] = "="; ne++ }
		else if ((hib && ma > mb) || (!hib && ma < mb)) { cls[i] = "W"; nw++; won = won (won == "" ? "" : "、") x; if (!first_w) first_w = i; last_w = i }
		else { cls[i] = "L"; nl++; lost = lost (lost == "" ? "" : "、") x }
		rr[i] = r
	}
	xs = xname[p]
	if (nw + nl + ne == 0) return "- " a " 對 " b "(" mname[p, m] "):沒有任何一點兩邊都有資料(缺 " miss ")"
	s = a " 對 " b "(" mname[p, m] ",比值 = " a " ÷ " b "):"
	# 分類:全贏、全輸、都在誤差內、從某點起贏、到某點為止贏、混合
	if (nw && !nl && !ne) s = s "在整個範圍(" xf(p, xv[p, 1]) "–" xf(p, xv[p, n]) ")都較好"
	else if (nl && !nw && !ne) s = s "在整個範圍都較差,沒有交叉點"
	else if (ne && !nw && !nl) s = s "在整個範圍都在量測誤差內(≈)"
	else if (nw && allw(cls, first_w, n)) s = s "從 " xf(p, xv[p, first_w]) " 起較好,之前不是"
	else if (nw && allw(cls, 1, last_w)) s = s "到 " xf(p, xv[p, last_w]) " 為止較好,之後不是"
	else if (!nw) s = s "沒有一點顯著較好,沒有交叉點(較差的" xname[p] ":" lost ")"
	else s = s "較好的點(" xname[p] "):" won (lost != "" ? ";較差的:" lost : "")
	# 附上每一點的比值
	s = s "。逐點:"
	for (i = 1; i <= n; i++) {
		if (cls[i] == "?") { s = s " " xv[p, i] "=缺"; continue }
		s = s " " xv[p, i] "=" (cls[i] == "=" ? "≈" : "") sprintf(rr[i] < 0.1 ? "%.3fx" : "%.2fx", rr[i])
	}
	if (miss != "") s = s "(缺值:" miss ")"
	return "- " s
}
function xf(p, x,   s) { s = xshort[p]; sub(/%s/, x, s); return s }
# cls[i..j] 全是 W(允許缺值)
function allw(cls, i, j,   k) { for (k = i; k <= j; k++) if (cls[k] != "W" && cls[k] != "?") return 0; return 1 }
BEGIN {
	np = split(panels, pl, "\n")
	for (i = 1; i <= np; i++) {
		split(pl[i], f, "|")
		p = f[1]; porder[i] = p; ptech[p] = f[2]; ptitle[p] = f[3]; xname[p] = f[4]; xshort[p] = f[5]; xlog[p] = f[6]
		nm[p] = split(f[7], ms, ";")
		for (k = 1; k <= nm[p]; k++) {
			split(ms[k], mm, ":")
			metric[p, k] = mm[1]; mname[p, mm[1]] = mm[2]; hib[p, mm[1]] = mm[3]; ylog[p, mm[1]] = mm[4]
		}
		known[p] = 1
	}
}
NF >= 5 && ($1 in known) {
	k = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4
	if (!(($1, $2) in sidx)) { sidx[$1, $2] = ++ns[$1]; sname[$1, ns[$1]] = $2 }
	if (!(($1, "x" $3) in xseen)) { xseen[$1, "x" $3] = 1; xv[$1, ++nx[$1]] = $3 }
	if (!(k in cnt)) cnt[k] = 0
	# 不是數字(例如 "-")的這一次算缺:不計入次數
	if (num($5)) v[k, ++cnt[k]] = $5 + 0
	mhas[$1, $4] = 1
	has[$1] = 1
}
END {
	md = out "/curves.md"; list = out "/.curve.list"; cx = out "/.cross.txt"
	printf "" > list; printf "" > cx
	print "# 成本隨工作量增加的曲線(在這台機器上實測)\n" > md
	print "每格是中位數(min–max);少於 " minruns " 次的點標出次數(不完整),一次都沒有的是「缺」(圖上不畫,不是 0)。" > md
	print "交叉點由資料算出:兩邊的 min–max 寬度較大者超過中位數的差距時,那一點算「≈」(不顯著)。\n" > md
	for (pi = 1; pi <= np; pi++) {
		p = porder[pi]
		if (!(p in has)) continue
		# x 由小到大
		for (i = 1; i <= nx[p]; i++) xs[i] = xv[p, i]
		sortnum(xs, nx[p])
		for (i = 1; i <= nx[p]; i++) xv[p, i] = xs[i]
		print "## " ptitle[p] "\n" > md
		for (k = 1; k <= nm[p]; k++) {
			m = metric[p, k]
			any = 0
			for (s = 1; s <= ns[p]; s++) for (i = 1; i <= nx[p]; i++) if (cnt[p, sname[p, s], xv[p, i], m] != "") any = 1
			if (!any) continue
			printf "**%s**(%s)\n\n| 系列 |", mname[p, m], (hib[p, m] ? "越大越好" : "越小越好") > md
			for (i = 1; i <= nx[p]; i++) printf " %s |", xf(p, xv[p, i]) > md
			printf "\n|---|" > md
			for (i = 1; i <= nx[p]; i++) printf "---|" > md
			printf "\n" > md
			for (s = 1; s <= ns[p]; s++) {
				name = sname[p, s]
				dat = out "/.curve." p "." m "." s
				printf "" > dat
				printf "| %s |", name > md
				for (i = 1; i <= nx[p]; i++) {
					key = p SUBSEP name SUBSEP xv[p, i] SUBSEP m
					c = stat(key)
					# 缺值:空行讓 gnuplot 把線斷開(不是畫成 0,也不跨過去連起來)
					if (!c) { printf " 缺 |" > md; printf "\n" > dat; continue }
					printf " %s", fmt(MED) > md
					if (c > 1) printf "(%s–%s)", fmt(MIN), fmt(MAX) > md
					if (c < minruns) printf " [n=%d]", c > md
					printf " |" > md
					printf "%s %s %s %s\n", xv[p, i], MED, MIN, MAX > dat
				}
				printf "\n" > md
				close(dat)
				print p "\t" m "\t" s "\t" name "\t" ptech[p] "\t" ptitle[p] "\t" xname[p] "\t" xlog[p] "\t" mname[p, m] "\t" ylog[p, m] > list
			}
			printf "\n" > md
		}
		# 這個面板的交叉點
		nc = split(crosses, cl, "\n"); head = 0
		for (ci = 1; ci <= nc; ci++) {
			split(cl[ci], cf, "|")
			if (cf[1] != p || !((p, cf[3]) in sidx) || !((p, cf[4]) in sidx) || !((p, cf[2]) in mhas)) continue
			if (!head) { print "交叉點(由資料算出):\n" > md; head = 1 }
			line = cross(p, cf[2], cf[3], cf[4], hib[p, cf[2]])
			print line > md
			print ptech[p] "\t" line > cx
		}
		if (head) print "" > md
	}
	close(list); close(cx); close(md)
}' || exit 1

# ---- 圖:每個技術一張(它的每個面板、每個指標一格) -------------------------------------------
plot_tech() { # 技術
	local tech=$1 png=$OUT/curves-$1.png n script err
	n=$(awk -F'\t' -v t="$tech" '$5 == t { print $1 "\t" $2 }' "$OUT/.curve.list" | sort -u | wc -l)
	[ "$n" -gt 0 ] || return 0
	script=$(awk -F'\t' -v t="$tech" -v out="$OUT" -v png="$png" -v n="$n" '
		BEGIN { colors = "#1e88e5 #e53935 #43a047 #fb8c00 #8e24aa #6d4c41"; split(colors, col, " ") }
		$5 == t {
			key = $1 "\t" $2
			if (!(key in seen)) { seen[key] = ++np; title[np] = $6 "\\n" $9; xl[np] = $7; xlog[np] = $8; ylog[np] = $10 }
			k = seen[key]; ser[k, ++nser[k]] = $3; sname[k, nser[k]] = $4; panel[k] = $1; metric[k] = $2
			if (!($4 in color)) color[$4] = col[(ncolor++) % 6 + 1] # 同一個系列在每一格都同一個顏色
		}
		END {
			cols = (np > 1) ? 2 : 1; rows = int((np + cols - 1) / cols)
			printf "set terminal pngcairo size %d,%d font \"Noto Sans CJK TC,11\" noenhanced\n", cols * 760, rows * 520
			printf "set output \"%s\"\nset multiplot layout %d,%d\nset grid\nset key top left box opaque\n", png, rows, cols
			printf "set format y \"%%.0s%%c\"\nset format x \"%%.0s%%c\"\n"
			for (k = 1; k <= np; k++) {
				printf "set title \"%s\"\nset xlabel \"%s\"\n", title[k], xl[k]
				printf "%s\n%s\n", (xlog[k] ? "set logscale x 10" : "unset logscale x"), (ylog[k] ? "set logscale y 10" : "unset logscale y")
				printf "plot "
				for (s = 1; s <= nser[k]; s++) {
					f = out "/.curve." panel[k] "." metric[k] "." ser[k, s]
					printf "%s\"%s\" using 1:2:3:4 with yerrorlines lw 2 pt 7 lc rgb \"%s\" title \"%s\"", \
						(s > 1 ? ", " : ""), f, color[sname[k, s]], sname[k, s]
				}
				printf "\n"
			}
			print "unset multiplot"
		}' "$OUT/.curve.list")
	err=$(gnuplot 2>&1 <<<"set datafile missing \"NaN\"
$script")
	if grep -qiE 'font|glyph|character|encoding|charset|convert' <<<"$err"; then
		rm -f "$png"
		echo "注意:gnuplot 的字型或字元警告,略過 $(basename "$png"):$(head -n 2 <<<"$err" | tr '\n' ' ')" >&2
		return 1
	fi
	[ -z "$err" ] || echo "注意:gnuplot($tech):$(head -n 1 <<<"$err")"
	echo "曲線圖:$png"
}

rc=0
rm -f "$OUT"/curves-*.png
if ! command -v gnuplot >/dev/null 2>&1; then
	echo "注意:沒有 gnuplot,略過曲線圖(sudo make install-deps)"
elif ! fc-list : family 2>/dev/null | grep -c 'Noto Sans CJK' >/dev/null; then
	echo "注意:沒有中文字型 Noto Sans CJK,略過曲線圖(不畫出亂碼;sudo apt-get install fonts-noto-cjk)"
else
	for t in $(cut -f5 "$OUT/.curve.list" | sort -u); do
		plot_tech "$t" || rc=1
	done
fi
echo "曲線表格:$OUT/curves.md"
if [ -s "$OUT/.cross.txt" ]; then
	echo "交叉點(由資料算出):"
	cut -f2 "$OUT/.cross.txt" | sed 's/^/  /'
fi
mv "$OUT/.cross.txt" "$OUT/crossovers.tsv"
rm -f "$OUT"/.curve.*
exit $rc
