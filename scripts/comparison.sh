#!/bin/bash
# scripts/comparison.sh — 把效能腳本寫下的原始結果彙整成比較表與圖
#
# 用法:
#   scripts/comparison.sh 原始結果目錄 輸出目錄
#       讀 原始結果目錄/*.tsv,寫 輸出目錄/comparison.md、comparison.json、comparison.png,
#       並印出總覽表(種子 README 的五列四欄)與明細表
#   scripts/comparison.sh --detail 檔案…
#       只印這些原始結果的明細表(效能腳本結尾的 bench_report 用)
#
# 原始結果每列是「一次量測」(格式見 tests/lib.sh 的 bench_row,12 欄,tab 分隔):
#   tech name role p50_us p99_us throughput unit cpu_ns baseline method glance evidence
# 或「skip 技術 原因」。同一 tech + name 的多列是同一項目的多次量測:每格取中位數,
# 明細表附 min–max。比值 = 中位數 ÷ 對照列的中位數;兩邊 min–max 寬度較大者超過兩個中位數的差距時,
# 這個差距在量測誤差之內,比值標上「≈」(不顯著)。
#
# 總覽表每一格來自標了 glance(lat / thr / cpu)的列;複雜度由原始碼實際算出(見 complexity())。
# 圖需要 gnuplot 的 pngcairo 與中文字型(Noto Sans CJK);缺字型時略過圖並說明原因,不畫出亂碼。
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	echo "用法:comparison.sh 原始結果目錄 輸出目錄 | comparison.sh --detail 檔案…" >&2
	exit 64
}

# ---- 複雜度:由原始碼算出 -------------------------------------------------------
# code_of 檔案:去掉 C 註解後的程式碼(字串裡的 /* 與 // 不特別處理,對計數影響可忽略)
code_of() {
	awk '{
		line = $0; out = ""
		while (line != "") {
			if (inc) { p = index(line, "*/"); if (!p) { line = ""; break } line = substr(line, p + 2); inc = 0; continue }
			p = index(line, "/*"); q = index(line, "//")
			if (q && (!p || q < p)) { out = out substr(line, 1, q - 1); break }
			if (p) { out = out substr(line, 1, p - 1); line = substr(line, p + 2); inc = 1; continue }
			out = out line; line = ""
		}
		print out
	}' "$1"
}
# complexity 檔案 函式名稱樣式 -> "程式碼行數 不同的函式庫呼叫數"
# 呼叫數 = 符合樣式、後面接「(」的不同識別字,扣掉檔案自己定義的同名函式
complexity() {
	local f=$1 re=$2 code defined
	[ -f "$f" ] || {
		echo "- -"
		return
	}
	code=$(code_of "$f")
	defined=$(grep -oE '^[A-Za-z_][A-Za-z_0-9 *]*[ *]\**[A-Za-z_][A-Za-z_0-9]*\(' <<<"$code" |
		sed -E 's/.*[ *]([A-Za-z_][A-Za-z_0-9]*)\($/\1/' | sort -u)
	printf '%s %s\n' "$(grep -c '[^[:space:]]' <<<"$code")" \
		"$(grep -oE "\\b($re)[A-Za-z_0-9]*\\(" <<<"$code" | tr -d '(' | sort -u |
			comm -23 - <(printf '%s\n' "$defined") | grep -c .)"
}
complexity_vars() {
	local t f re
	for t in sockets io_uring af_xdp dpdk rdma; do
		case $t in
		sockets) f=bench/epoll_echo.c re='socket|bind|listen|accept4?|epoll_|recv|send|writev|readv|setsockopt|getsockopt|shutdown|close' ;;
		io_uring) f=io_uring_async.c re='io_uring_' ;;
		af_xdp) f=af_xdp_socket.c re='xsk_|xdp_|bpf_' ;;
		dpdk) f=dpdk_packet_processing.c re='rte_' ;;
		rdma) f=rdma_communication.c re='ibv_|rdma_' ;;
		esac
		read -r lines calls <<<"$(complexity "$ROOT/$f" "$re")"
		printf -- '-v cx_file_%s=%s -v cx_lines_%s=%s -v cx_calls_%s=%s ' "$t" "$f" "$t" "$lines" "$t" "$calls"
	done
}

# ---- 彙整(awk;相容 mawk:不用 asort 等 gawk 擴充) -----------------------------------
AGG="$(cat "$ROOT/scripts/numfmt.awk")"'
function fmtr(r) { return sprintf(r < 0.1 ? "%.3fx" : "%.2fx", r) }
function jstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, " ", s); return "\"" s "\"" }
function jnum(x) { return num(x) ? x + 0 : "null" }
# 把 g 組 f 欄的值排序後算中位數、最小、最大(結果放在 MED MIN MAX,回傳個數)
function stat(g, f,   n, i, j, t, a) {
	n = 0
	for (i = 1; i <= runs[g]; i++) if ((g, f, i) in val) a[++n] = val[g, f, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	if (!n) { MED = MIN = MAX = "-"; return 0 }
	MED = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	MIN = a[1]; MAX = a[n]
	return n
}
# 中位數(明細表:附 min–max)
function cell(g, f, spread,   n) {
	n = stat(g, f)
	if (!n) return "-"
	if (!spread || n < 2) return fmt(MED)
	return fmt(MED) " (" fmt(MIN) "–" fmt(MAX) ")"
}
# g 對 b 在 f 欄的比值;兩邊的 min–max 寬度較大者超過中位數差距時加「≈」
function rat(g, b, f,   ma, wa, mb, wb, d, w) {
	if (b == "" || !stat(g, f)) return "-"
	ma = MED; wa = MAX - MIN
	if (!stat(b, f) || MED + 0 <= 0) return "-"
	mb = MED; wb = MAX - MIN
	d = ma - mb; if (d < 0) d = -d
	w = (wa > wb) ? wa : wb
	return ((w > d) ? "≈" : "") fmtr(ma / mb)
}
function ratnum(g, b, f,   ma) {
	if (b == "" || !stat(g, f)) return ""
	ma = MED
	if (!stat(b, f) || MED + 0 <= 0) return ""
	return ma / MED
}
# 佐證:每個 key 的中位數(明細表附 min–max)
function evid(g, spread,   i, k, s, n, out) {
	out = ""
	for (i = 1; i <= nek[g]; i++) {
		k = ek[g, i]
		n = stat(g, "ev:" k)
		if (!n) continue
		s = fmt(MED)
		if (spread && n > 1 && MIN != MAX) s = s " (" fmt(MIN) "–" fmt(MAX) ")"
		out = out (out == "" ? "" : ", ") k "=" s
	}
	return out == "" ? "-" : out
}
BEGIN {
	FS = "\t"
	ntech = split("sockets io_uring af_xdp dpdk rdma", techs, " ")
	label["sockets"] = "傳統 Socket"; label["io_uring"] = "io_uring"; label["af_xdp"] = "AF_XDP"
	label["dpdk"] = "DPDK"; label["rdma"] = "RDMA"
	rolename["baseline"] = "核心基準"; rolename["bypass"] = "旁路"; rolename["peer"] = "參考工具"
	claim["sockets"] = "(基準)"; claim["io_uring"] = "< 10 µs、> 1M rps"; claim["af_xdp"] = "20 Mpps"
	claim["dpdk"] = "100 Mpps"; claim["rdma"] = "< 1 µs"
	why["sockets"] = "loopback / veth / VM 內的核心路徑,同一台 2 vCPU 機器"
	why["io_uring"] = "echo:loopback 上 TCP 堆疊與複製佔伺服器大部分 CPU,io_uring 只省系統呼叫那一段(ping-pong 每請求 1 次 io_uring_enter 對 epoll 的 3 次),所以只比 epoll 省一點,多在誤差附近;檔案:佇列深度讓一個執行緒就有很多 I/O 在飛,一次 io_uring_enter 收回一批完成"
	why["af_xdp"] = "veth 沒有硬體佇列與零複製(只能 copy 模式),產生器與核心收包工作擠在同一顆 vCPU;延遲用忙碌輪詢的回應者量"
	why["dpdk"] = "沒有實體網卡:同一條 veth 上經 net_af_xdp 收包(veth 只有 copy 模式,核心的 XDP 與複製佔每封包成本的大部分);CPU 格算核心收包 + lcore 收到封包的輪詢,lcore 另外一直佔滿一顆核心空轉"
	why["rdma"] = "Soft-RoCE(rdma_rxe)由 CPU 模擬 RDMA,又在 TCG 軟體模擬的 VM 裡;沒有 RDMA 網卡"
	colname["lat"] = "延遲"; colname["thr"] = "吞吐量"; colname["cpu"] = "CPU"
	hw["io_uring"] = "NVMe 在深佇列時每核心可到數十萬到上百萬 IOPS(種子宣稱 > 1M rps,這裡沒有量);網路上比好的 epoll 伺服器省一點(這裡 0.74–0.97 倍 CPU),系統呼叫越貴(Spectre 緩解)省得越多"
	hw["af_xdp"] = "支援零複製的網卡驅動(ice、mlx5、i40e 等)每個佇列可到數 Mpps,種子宣稱 20 Mpps(這裡沒有量);veth 只有 copy 模式"
	hw["dpdk"] = "網卡綁給 vfio-pci、hugepage、專用核心,多佇列多核心可到種子宣稱的 100 Mpps(這裡沒有量,沒有網卡)"
	hw["rdma"] = "RDMA 網卡(RoCE、InfiniBand)延遲 < 1 µs(種子宣稱,這裡沒有量)、頻寬到線速,被動端 CPU 不碰資料;Soft-RoCE 由 CPU 模擬,而且在 TCG 軟體模擬的 VM 裡"
	needs["sockets"] = "不需要特權"
	needs["io_uring"] = "新核心(啟動時探測功能)、liburing;不需要 root"
	needs["af_xdp"] = "root(CAP_NET_ADMIN + CAP_BPF)、clang 編 XDP 程式;零複製要網卡驅動支援"
	needs["dpdk"] = "root、hugepage、網卡交給 DPDK(vfio-pci;這裡用虛擬裝置)、專用 CPU 核心"
	needs["rdma"] = "RDMA 網卡(InfiniBand / RoCE / iWARP)或 Soft-RoCE;這裡在 qemu VM 裡"
	ng = 0
}
$1 == "skip" { skipped[$2] = $3; next }
NF >= 9 {
	g = $1 SUBSEP $2
	if (!(g in runs)) {
		order[++ng] = g; runs[g] = 0; gtech[g] = $1; gname[g] = $2; role[g] = $3; unit[g] = $7
		base[g] = ($9 == "-" ? "" : $9); method[g] = (NF >= 10 ? $10 : ""); glance[g] = (NF >= 11 ? $11 : "-")
		nek[g] = 0
		byname[$2] = g
		seen[$1] = 1
	}
	r = ++runs[g]
	if (num($4)) val[g, "p50", r] = $4 + 0
	if (num($5)) val[g, "p99", r] = $5 + 0
	if (num($6)) val[g, "thr", r] = $6 + 0
	if (num($8)) val[g, "cpu", r] = $8 + 0
	if (NF >= 12 && $12 != "-") {
		ne = split($12, kvs, " ")
		for (i = 1; i <= ne; i++) {
			eq = index(kvs[i], "="); if (!eq) continue
			k = substr(kvs[i], 1, eq - 1); v = substr(kvs[i], eq + 1)
			if (!num(v)) continue
			if (!((g, "k:" k) in val)) { val[g, "k:" k] = 1; ek[g, ++nek[g]] = k }
			val[g, "ev:" k, r] = v + 0
		}
	}
}
# 基準列:找名稱相同的列(同一個技術優先)
function baseof(g) { return (base[g] != "" && (base[g] in byname)) ? byname[base[g]] : "" }
# 圖上的短標籤:去掉括號裡的說明
function shortname(n) { sub(/ *(\(|（).*$/, "", n); return n } # 不用 [(（]:mawk 以位元組比對,會切斷中文字
# 圖上參考工具面板的標籤:同一個意思、短一點(面板標題已經說了是「我們 ÷ 參考工具」)
function peerlabel(n) {
	sub(/^我們 /, "", n); sub(/^testpmd /, "", n); sub(/^RDMA /, "", n)
	gsub(/真實訊框/, "真實", n); gsub(/net_null 全零/, "null", n); gsub(/--no-huge/, "無 huge", n)
	gsub(/hugepage/, "huge", n); gsub(/ \+ /, "+", n); gsub(/軟體 L4 checksum/, "軟體 cksum", n)
	return n
}
function has(g, w) { return ("," glance[g] ",") ~ ("," w ",") }
# 明細表(markdown),依技術分組;技術的列之前先放它用到的基準
function detail(out,   t, i, g, b, printed, hdr) {
	hdr = "| 項目 | 角色 | 次數 | p50 µs | p99 µs | 吞吐量 | CPU ns/次 | 對照 | 吞吐比 | p50 比 | CPU 比 | 佐證(中位數) | 量測方式 |"
	# 傳統 socket 的列不自成一節:印在引用它的技術裡
	for (t = 2; t <= ntech; t++) {
		tt = techs[t]
		any = 0
		for (i = 1; i <= ng; i++) if (gtech[order[i]] == tt) any = 1
		if (!any) continue
		printf "\n### %s\n\n%s\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n", label[tt], hdr > out
		for (pass = 1; pass <= 2; pass++) for (i = 1; i <= ng; i++) {
			g = order[i]
			# 第一輪:這個技術用到、屬於別的技術(通常是 sockets)的基準列;第二輪:這個技術自己的列
			if (pass == 1) {
				if (gtech[g] == tt || (g in shown)) continue
				use = 0
				for (j = 1; j <= ng; j++) if (gtech[order[j]] == tt && baseof(order[j]) == g) use = 1
				if (!use) continue
			} else if (gtech[g] != tt) continue
			shown[g] = 1
			b = baseof(g)
			printf "| %s | %s | %d | %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s |\n", gname[g], \
				(gtech[g] == tt ? rolename[role[g]] : label[gtech[g]] " 基準"), runs[g], cell(g, "p50", 1), \
				cell(g, "p99", 1), cell(g, "thr", 1), (stat(g, "thr") ? " " unit[g] : ""), cell(g, "cpu", 1), \
				(b ? gname[b] : "-"), rat(g, b, "thr"), rat(g, b, "p50"), rat(g, b, "cpu"), evid(g, 1), method[g] > out
		}
	}
	# 還沒印出的 sockets 列(沒有任何技術引用)
	first = 1
	for (i = 1; i <= ng; i++) {
		g = order[i]
		if (g in shown) continue
		if (first) { printf "\n### 其他\n\n%s\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n", hdr > out; first = 0 }
		printf "| %s | %s | %d | %s | %s | %s | %s | - | - | - | - | %s | %s |\n", gname[g], rolename[role[g]], runs[g], \
			cell(g, "p50", 1), cell(g, "p99", 1), cell(g, "thr", 1), cell(g, "cpu", 1), evid(g, 1), method[g] > out
	}
}
# 總覽表的一格:某技術標了 w 的列
function gl(tt, w,   i) {
	for (i = 1; i <= ng; i++) if (gtech[order[i]] == tt && has(order[i], w)) return order[i]
	return ""
}
# 一格的一部分:標了 mark 的列的數字;對照(傳統路徑)的數字與比值;最後一行寫出這是什麼工作(regime)。
# 旁路技術在這一格顯著較差時,把這一格記到 LOSE(最後一欄會說)
function glance_part(tt, mark, w,   g, b, s, f, r, worse) {
	g = gl(tt, mark)
	if (g == "") return ""
	b = baseof(g)
	f = (w == "lat") ? "p50" : w
	if (!stat(g, f)) return ""
	if (w == "lat") { s = fmt(MED) " µs"; if (stat(g, "p99")) s = s "(p99 " fmt(MED) ")" }
	else if (w == "thr") s = fmt(MED) " " unit[g]
	else s = fmt(MED) " ns/次"
	if (b != "" && stat(b, f) && (w != "thr" || unit[b] == unit[g])) {
		r = rat(g, b, f)
		s = s ";傳統 " fmt(MED) "," r
		worse = ratnum(g, b, f)
		if (r !~ /^≈/ && worse != "" && ((w == "thr" && worse < 1) || (w != "thr" && worse > 1)))
			LOSE = LOSE (LOSE == "" ? "" : "、") colname[w]
	}
	return s "<br>" gname[g]
}
function glance_cell(tt, w,   a, f) {
	a = glance_part(tt, w, w)
	f = glance_part(tt, "f" w, w) # io_uring:檔案 I/O 的結果放在 echo 旁邊
	if (f != "") a = (a == "" ? "" : "echo:" a "<br>") "檔案:" f
	return a == "" ? "-" : a
}
# 傳統 Socket 列:io_uring 那幾格引用的基準(一般的 TCP 伺服器);io_uring 沒量時用第一個有量的技術
function socket_cell(w,   t, g, b, s) {
	for (t = 2; t <= ntech; t++) {
		g = gl(techs[t], w)
		if (g == "" || (b = baseof(g)) == "") continue
		if (w == "lat" && stat(b, "p50")) { s = fmt(MED) " µs"; if (stat(b, "p99")) s = s "(p99 " fmt(MED) ")"; return s "<br>" gname[b] }
		if (w == "thr" && stat(b, "thr")) return fmt(MED) " " unit[b] "<br>" gname[b]
		if (w == "cpu" && stat(b, "cpu")) return fmt(MED) " ns/次<br>" gname[b]
	}
	return "-"
}
# 「該用哪一個?」:每個技術在這裡贏的格(由上面的比值算出)、曲線上的交叉點(curves.sh 算出)、代價、真實硬體
function won_cells(tt,   w, k, g, b, f, r, s, mk, pre) {
	s = ""
	split("lat thr cpu", ws, " ")
	for (k = 1; k <= 3; k++) for (pre = 0; pre <= 1; pre++) {
		mk = (pre ? "f" : "") ws[k]
		g = gl(tt, mk); if (g == "") continue
		b = baseof(g); f = (ws[k] == "lat") ? "p50" : ws[k]
		r = ratnum(g, b, f)
		if (r == "" || rat(g, b, f) ~ /^≈/) continue
		if ((ws[k] == "thr" && r > 1) || (ws[k] != "thr" && r < 1))
			s = s (s == "" ? "" : ";") colname[ws[k]] " " rat(g, b, f) "(" gname[g] " 對 " gname[b] ")"
	}
	return s
}
function which(out,   t, tt, w, n, line, parts) {
	print "## 該用哪一個?(由上面的表與曲線算出)\n" > out
	for (t = 2; t <= ntech; t++) {
		tt = techs[t]
		printf "- **%s**:", label[tt] > out
		if (!(tt in seen)) { printf "這次沒有量(%s)。", (tt in skipped ? skipped[tt] : "沒有執行") > out }
		else {
			w = won_cells(tt)
			printf "%s", (w == "" ? "總覽的格子裡沒有顯著贏的。" : "在這裡贏的:" w "。") > out
		}
		printf "代價:%s。真實硬體上:%s\n", needs[tt], hw[tt] > out
		if (cross != "") while ((getline line < cross) > 0) {
			n = split(line, parts, "\t")
			if (n >= 2 && parts[1] == tt) printf "  %s\n", parts[2] > out
		}
		close(cross)
	}
	print "" > out
}
function cx(tt) { return (cx_lines[tt] == "-" ? "-" : cx_lines[tt] " 行、" cx_calls[tt] " 種 API 呼叫;") needs[tt] }
function glance_table(out, br,   t, tt, c1, c2, c3, last) {
	print "| 技術 | 延遲 p50(p99) | 吞吐量 | CPU 使用率(每次請求/封包/操作) | 複雜度(實際計算) | 種子宣稱 → 這台機器為何不同 |" > out
	print "|---|---|---|---|---|---|" > out
	for (t = 1; t <= ntech; t++) {
		tt = techs[t]
		if (tt == "sockets") {
			c1 = socket_cell("lat"); c2 = socket_cell("thr"); c3 = socket_cell("cpu")
			gsub(/<br>/, br, c1); gsub(/<br>/, br, c2); gsub(/<br>/, br, c3)
			printf "| %s | %s | %s | %s | %s | %s |\n", label[tt], c1, c2, c3, cx(tt), "基準:" why[tt] > out
		} else if (!(tt in seen)) {
			printf "| %s | 略過 | 略過 | 略過 | %s | 略過:%s |\n", label[tt], cx(tt), (tt in skipped ? skipped[tt] : "這次沒有執行") > out
		} else {
			LOSE = ""
			c1 = glance_cell(tt, "lat"); c2 = glance_cell(tt, "thr"); c3 = glance_cell(tt, "cpu")
			gsub(/<br>/, br, c1); gsub(/<br>/, br, c2); gsub(/<br>/, br, c3)
			last = claim[tt] "(種子宣稱,這裡沒有量)→ " (c1 c2 c3 == "---" ? "這次沒有總覽的數字。" : \
				LOSE != "" ? "較差的格:" LOSE "。" : "在這裡的公平情境下沒有顯著較差的格。") why[tt]
			printf "| %s | %s | %s | %s | %s | %s |\n", label[tt], c1, c2, c3, cx(tt), last > out
		}
	}
}
'

if [ "${1:-}" = --detail ]; then
	shift
	[ $# -gt 0 ] || usage
	cat "$@" 2>/dev/null | awk "$AGG"'
	END { if (!ng) { print "(沒有結果)"; exit } detail("/dev/stdout") }'
	exit 0
fi

RAW=${1:-}
OUT=${2:-}
[ -n "$RAW" ] && [ -n "$OUT" ] || usage
shopt -s nullglob
files=()
for f in "$RAW"/*.tsv; do [[ $f == *.points.tsv ]] || files+=("$f"); done
if [ ${#files[@]} -eq 0 ]; then
	echo "錯誤:$RAW 沒有任何結果(先執行 sudo ./run_tests.sh -p 或 sudo make demo)" >&2
	exit 1
fi
mkdir -p "$OUT"
cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
machine="${cpu:-未知 CPU},$(nproc) vCPU,Linux $(uname -r),$(date '+%Y-%m-%d')"
short=${DEMO_SHORT:+1}

# 曲線(成本隨工作量增加)與交叉點先算:「該用哪一個?」要引用交叉點
rm -f "$OUT/crossovers.tsv"
bash "$ROOT/scripts/curves.sh" "$RAW" "$OUT" >"$OUT/curves.log" 2>&1
curves_rc=$?

# shellcheck disable=SC2046 # complexity_vars 產生多個 -v 參數
cat "${files[@]}" | awk $(complexity_vars) -v machine="$machine" -v md="$OUT/comparison.md" -v json="$OUT/comparison.json" \
	-v dat="$OUT/comparison.dat" -v glance_txt="$OUT/glance.txt" -v short="$short" -v cross="$OUT/crossovers.tsv" "$AGG"'
BEGIN {
	# complexity_vars 給的值
	cx_lines["sockets"] = cx_lines_sockets; cx_calls["sockets"] = cx_calls_sockets
	cx_lines["io_uring"] = cx_lines_io_uring; cx_calls["io_uring"] = cx_calls_io_uring
	cx_lines["af_xdp"] = cx_lines_af_xdp; cx_calls["af_xdp"] = cx_calls_af_xdp
	cx_lines["dpdk"] = cx_lines_dpdk; cx_calls["dpdk"] = cx_calls_dpdk
	cx_lines["rdma"] = cx_lines_rdma; cx_calls["rdma"] = cx_calls_rdma
	cx_file["sockets"] = cx_file_sockets; cx_file["io_uring"] = cx_file_io_uring; cx_file["af_xdp"] = cx_file_af_xdp
	cx_file["dpdk"] = cx_file_dpdk; cx_file["rdma"] = cx_file_rdma
}
END {
	minruns = 0
	for (i = 1; i <= ng; i++) if (!minruns || runs[order[i]] < minruns) minruns = runs[order[i]]
	print "# 核心旁路技術比較(在這台機器上實測)" > md
	print "" > md
	print "機器:" machine > md
	print "" > md
	if (short) print "**短版(make demo):每列只量 " minruns " 次,數字僅供參考;完整版每列至少 5 次:`sudo ./run_tests.sh -p`。**\n" > md
	print "## 總覽" > md
	print "" > md
	glance_table(md, "<br>")
	print "" > md
	print "怎麼讀:每格是這台機器、這次執行量到的中位數;分號後是同一種測試走傳統 socket / 核心路徑的數字與比值" > md
	print "(吞吐量比值 > 1、延遲與 CPU 比值 < 1 表示旁路技術較好)。「≈」表示差距小於量測的 min–max 範圍,不顯著。" > md
	print "複雜度 = 示範程式去掉註解與空行後的行數,以及它呼叫的不同函式庫 API 個數(io_uring_*、xsk_/xdp_/bpf_*、rte_*、ibv_/rdma_*;" > md
	print "傳統 socket 以 bench/epoll_echo.c 的 socket/epoll 呼叫計),加上執行它需要什麼。每一格來自哪一列、怎麼量的,見下方明細。" > md
	print "" > md
	which(md)
	print "## 明細(每列是多次交錯量測的中位數,括號內是 min–max;每列都寫出它的對照基準)" > md
	detail(md)
	print "" > md
	print "比值以同一次執行中量到的對照計算;絕對數字取決於機器(這裡是共用的虛擬機),比值較可信。" > md
	# JSON
	printf "{\n  \"machine\": %s,\n  \"short\": %s,\n  \"rows\": [", jstr(machine), (short ? "true" : "false") > json
	for (i = 1; i <= ng; i++) {
		g = order[i]; b = baseof(g)
		printf "%s\n    {\"tech\": %s, \"name\": %s, \"role\": %s, \"runs\": %d, \"glance\": %s, \"baseline\": %s", \
			(i > 1 ? "," : ""), jstr(gtech[g]), jstr(gname[g]), jstr(role[g]), runs[g], jstr(glance[g]), jstr(b ? gname[b] : "") > json
		split("p50 p99 thr cpu", fs, " ")
		split("p50_us p99_us throughput cpu_ns", js, " ")
		for (k = 1; k <= 4; k++) {
			n = stat(g, fs[k])
			printf ", \"%s\": {\"median\": %s, \"min\": %s, \"max\": %s}", js[k], jnum(MED), jnum(MIN), jnum(MAX) > json
			rr = ratnum(g, b, fs[k]); printf ", \"ratio_%s\": %s", js[k], jnum(rr) > json
		}
		printf ", \"unit\": %s, \"evidence\": %s, \"method\": %s}", jstr(unit[g]), jstr(evid(g, 1)), jstr(method[g]) > json
	}
	printf "\n  ],\n  \"skipped\": {" > json
	k = 0
	for (t = 2; t <= ntech; t++) if (!(techs[t] in seen))
		printf "%s\n    %s: %s", (k++ ? "," : ""), jstr(techs[t]), jstr(techs[t] in skipped ? skipped[techs[t]] : "這次沒有執行") > json
	printf "\n  }\n}\n" > json
	# 圖的資料:面板 1-3 = 對傳統 socket 的比值(每個技術一組:socket = 1 與技術本身);面板 4 = 對參考工具
	# 每列:面板 名稱 比值(沒有時 NaN) 標籤文字 標籤高度
	for (t = 2; t <= ntech; t++) {
		tt = techs[t]
		split("thr lat cpu", ws, " ")
		for (k = 1; k <= 3; k++) {
			g = gl(tt, ws[k]); f = (ws[k] == "lat" ? "p50" : ws[k])
			r = (g == "") ? "" : ratnum(g, baseof(g), f)
			if (r == "") printf "%s\t%s\tNaN\t%s\t1\n", ws[k], label[tt], ((tt in seen) ? "未量測" : "略過") > dat
			else printf "%s\t%s\t%s\t%s\t%s\n", ws[k], label[tt], r, rat(g, baseof(g), f), r > dat
		}
	}
	# 參考工具面板:我們的列 ÷ 參考工具的列(參考工具的列以我們的列為對照時,取倒數)
	for (i = 1; i <= ng; i++) {
		g = order[i]; b = baseof(g)
		if (b == "" || (role[b] != "peer" && role[g] != "peer")) continue
		ours = (role[g] == "peer") ? b : g; peer = (role[g] == "peer") ? g : b
		f = stat(ours, "thr") ? "thr" : (stat(ours, "p50") ? "p50" : "")
		if (f == "") continue
		# 一律「> 1 = 我們較好」:吞吐量是我們 ÷ 參考工具,延遲是參考工具 ÷ 我們
		top = (f == "thr") ? ours : peer; bot = (top == ours) ? peer : ours
		r = ratnum(top, bot, f)
		lab = peerlabel(top == ours ? gname[top] : shortname(gname[top])) " ÷ " peerlabel(bot == ours ? gname[bot] : shortname(gname[bot]))
		if (r != "") printf "peer\t%s\t%s\t%s\t%s\n", lab, r, rat(top, bot, f), r > dat
	}
	# 終端機用的總覽表(最後才印,讓它停在畫面最下面)
	print "機器:" machine > glance_txt
	glance_table(glance_txt, ",")
}' || exit 1

# ---- 圖 ------------------------------------------------------------------------------
chart() {
	local png=$OUT/comparison.png dat=$OUT/comparison.dat err
	rm -f "$png"
	command -v gnuplot >/dev/null 2>&1 || {
		echo "注意:沒有 gnuplot,略過 comparison.png(sudo make install-deps)"
		return 0
	}
	if ! fc-list : family 2>/dev/null | grep -c 'Noto Sans CJK' >/dev/null; then
		echo "注意:沒有中文字型 Noto Sans CJK,略過 comparison.png(不畫出亂碼;sudo apt-get install fonts-noto-cjk)"
		return 0
	fi
	[ -s "$dat" ] || return 0
	for m in thr lat cpu peer; do awk -F'\t' -v m="$m" '$1 == m { print $2 "\t" $3 "\t" $4 "\t" $5 }' "$dat" >"$OUT/chart.$m"; done
	# 對數座標的範圍:涵蓋 1 與所有比值,上下各留一點空間,取 10 的次方
	local range
	range=$(awk -F'\t' 'BEGIN { lo = 1; hi = 1 }
		$1 != "peer" && $3 != "NaN" { v = $3 + 0; if (v > 0) { if (v < lo) lo = v; if (v > hi) hi = v } }
		END { l = 1; while (l > lo / 2) l /= 10; h = 1; while (h < hi * 2) h *= 10; printf "%g:%g", l, h }' "$dat")
	local has_peer=0
	[ -s "$OUT/chart.peer" ] && has_peer=1
	err=$(gnuplot 2>&1 <<EOF
set terminal pngcairo size 1400,1200 font "Noto Sans CJK TC,11" noenhanced
set output "$png"
set datafile separator "\t"
set datafile missing "NaN"
set multiplot layout 2,2 title "核心旁路技術 ÷ 同一種測試的傳統 socket(這台機器、同一次執行的中位數)\n$machine" font ",13"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 10
set yrange [$range]
set format y "%gx"
set grid ytics
set key top left
set title "吞吐量比值(越高越好)"
plot "$OUT/chart.thr" using (1):xtic(1) title "傳統 socket = 1" lc rgb "#9e9e9e", "" using 2 title "旁路技術" lc rgb "#1e88e5", \
     "" using (\$0 + 0.17):4:3 with labels offset 0, 0.8 notitle
set title "延遲 p50 比值(越低越好)"
plot "$OUT/chart.lat" using (1):xtic(1) title "傳統 socket = 1" lc rgb "#9e9e9e", "" using 2 title "旁路技術" lc rgb "#43a047", \
     "" using (\$0 + 0.17):4:3 with labels offset 0, 0.8 notitle
set title "每次請求/封包/操作的 CPU 時間比值(越低越好)"
plot "$OUT/chart.cpu" using (1):xtic(1) title "傳統 socket = 1" lc rgb "#9e9e9e", "" using 2 title "旁路技術" lc rgb "#fb8c00", \
     "" using (\$0 + 0.17):4:3 with labels offset 0, 0.8 notitle
set title "我們的程式對同技術的參考工具(testpmd、perftest):吞吐量 我們 ÷ 參考,延遲 參考 ÷ 我們;> 1x = 我們較好"
unset logscale y
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
set format y "%.1fx"
set key off
set xtics rotate by -40 font ",9"
set bmargin 11
if ($has_peer) {
	plot "$OUT/chart.peer" using 2:xtic(1) lc rgb "#8e24aa", "" using (\$0):4:3 with labels offset 0, 0.8
} else {
	set label 1 "這次沒有參考工具的結果" at graph 0.5, 0.5 center
	plot NaN notitle
}
unset multiplot
EOF
	)
	rm -f "$OUT"/chart.*
	# 字型或字元的問題不能默默畫出亂碼:這類警告一律不留圖、以失敗結束;版面之類的其他警告只提醒
	if grep -qiE 'font|glyph|character|encoding|charset|convert' <<<"$err"; then
		rm -f "$png"
		echo "注意:gnuplot 的字型或字元警告,略過 comparison.png:$(head -n 2 <<<"$err" | tr '\n' ' ')" >&2
		return 1
	fi
	[ -z "$err" ] || echo "注意:gnuplot:$(head -n 1 <<<"$err")"
	echo "圖:$png"
}
chart
rc=$?
rm -f "$OUT/comparison.dat"
cat "$OUT/curves.log"
rm -f "$OUT/curves.log"
[ "$curves_rc" -eq 0 ] || rc=1
echo "完整表格:$OUT/comparison.md(JSON:$OUT/comparison.json)"
echo
cat "$OUT/glance.txt"
rm -f "$OUT/glance.txt"
exit $rc
