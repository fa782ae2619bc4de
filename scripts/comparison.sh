#!/bin/bash
# scripts/comparison.sh — 把效能腳本寫下的原始結果(results/raw/*.tsv)彙整成比較表。
#
# 用法:scripts/comparison.sh 原始結果目錄 輸出目錄
# 產出:輸出目錄/comparison.md(表格)、comparison.json(給程式讀)、comparison.png(gnuplot 圖)
# 並把表格印到標準輸出。
#
# 原始結果每列(tab 分隔,格式見 tests/lib.sh 的 bench_row):
#   tech name role p50_us p99_us throughput unit cpu_ns baseline method
#   或 skip suite 原因
set -uo pipefail
RAW=${1:?用法:comparison.sh 原始結果目錄 輸出目錄}
OUT=${2:?用法:comparison.sh 原始結果目錄 輸出目錄}
mkdir -p "$OUT"

cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
machine="${cpu:-未知 CPU},$(nproc) vCPU,Linux $(uname -r),$(date '+%Y-%m-%d')"

shopt -s nullglob
files=("$RAW"/*.tsv)
if [ ${#files[@]} -eq 0 ]; then
	echo "錯誤:$RAW 沒有任何結果(先執行 sudo ./run_tests.sh -p 或 sudo make demo)" >&2
	exit 1
fi

cat "${files[@]}" | awk -F'\t' -v machine="$machine" -v md="$OUT/comparison.md" \
	-v json="$OUT/comparison.json" -v dat="$OUT/comparison.dat" '
function num(x) { return (x != "" && x != "-" && x ~ /^[0-9.eE+-]+$/) }
function fmt(x,   y) {
	if (!num(x)) return "-"
	if (x >= 1e6) return sprintf("%.2fM", x / 1e6)
	if (x >= 1e4) return sprintf("%.0fk", x / 1e3)
	if (x >= 100) return sprintf("%.0f", x)
	if (x >= 10) return sprintf("%.1f", x)
	return sprintf("%.2f", x)
}
function ratio(a, b,   r) {
	if (!(num(a) && num(b) && b + 0 > 0)) return "-"
	r = a / b
	return sprintf(r < 0.1 ? "%.3fx" : "%.2fx", r)
}
function jstr(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return "\"" s "\"" }
function jnum(x) { return num(x) ? x + 0 : "null" }
BEGIN {
	order["sockets"] = 1; order["io_uring"] = 2; order["af_xdp"] = 3; order["dpdk"] = 4; order["rdma"] = 5
	label["sockets"] = "傳統 socket"; label["io_uring"] = "io_uring"; label["af_xdp"] = "AF_XDP"
	label["dpdk"] = "DPDK"; label["rdma"] = "RDMA"
	claim["io_uring"] = "< 10 µs、> 1M rps"
	claim["af_xdp"] = "20 Mpps"
	claim["dpdk"] = "100 Mpps"
	claim["rdma"] = "< 1 µs"
	why["io_uring"] = "loopback 上單機 2 vCPU,客戶端與伺服器搶 CPU;延遲由閒置 vCPU 喚醒主導"
	why["af_xdp"] = "veth 沒有硬體佇列與零複製(只能 copy 模式),產生器與接收端共用 2 vCPU"
	why["dpdk"] = "沒有實體網卡:net_null/net_ring 虛擬裝置衡量的是每封包軟體成本,單一轉送核心"
	why["rdma"] = "Soft-RoCE(rdma_rxe)由 CPU 模擬 RDMA,且在 TCG 軟體模擬的 VM 中執行,沒有 RDMA 網卡"
	n = 0
}
$1 == "skip" { skipped[$2] = $3; next }
NF >= 9 {
	n++
	tech[n] = $1; name[n] = $2; role[n] = $3; p50[n] = $4; p99[n] = $5
	thr[n] = $6; unit[n] = $7; cpu[n] = $8; base[n] = $9; method[n] = (NF >= 10 ? $10 : "")
	idx[$2] = n
	seen[$1] = 1
}
END {
	print "# 核心旁路技術比較(在這台機器上實測)" > md
	print "" > md
	print "機器:" machine > md
	print "" > md
	print "| 技術 | 項目 | 延遲 p50 (µs) | 延遲 p99 (µs) | 吞吐量 | 每次 CPU (ns) | 對照基準 | 吞吐比 | p50 比 | CPU 比 | 量測方式 |" > md
	print "|---|---|---|---|---|---|---|---|---|---|---|" > md
	# 排序:每個技術前面先放它引用的傳統基準列(key 奇數),再放它自己的列(key 偶數)
	for (i = 1; i <= n; i++) {
		key[i] = order[tech[i]] * 2
		if (tech[i] == "sockets") {
			key[i] = 1
			for (j = 1; j <= n; j++) if (base[j] == name[i] && tech[j] != "sockets") { key[i] = order[tech[j]] * 2 - 1; break }
		}
	}
	for (o = 1; o <= 10; o++) for (i = 1; i <= n; i++) {
		t = tech[i]
		if (key[i] != o) continue
		b = base[i]; bi = (b in idx) ? idx[b] : 0
		rt = (bi && unit[bi] == unit[i]) ? ratio(thr[i], thr[bi]) : "-"
		rl = bi ? ratio(p50[i], p50[bi]) : "-"
		rc = bi ? ratio(cpu[i], cpu[bi]) : "-"
		printf "| %s | %s | %s | %s | %s %s | %s | %s | %s | %s | %s | %s |\n", label[t], name[i], fmt(p50[i]), fmt(p99[i]), \
			fmt(thr[i]), (num(thr[i]) ? unit[i] : ""), fmt(cpu[i]), (bi ? b : "-"), rt, rl, rc, method[i] > md
		ratio_t[i] = rt; ratio_l[i] = rl; ratio_c[i] = rc
	}
	# 沒有任何結果的技術:列為略過並說明原因
	for (o = 2; o <= 5; o++) for (t in order) if (order[t] == o && !(t in seen))
		printf "| %s | (略過) | - | - | - | - | - | - | - | - | %s |\n", label[t], (t in skipped ? skipped[t] : "未執行(沒有結果)") > md
	print "" > md
	print "比值 = 旁路技術 ÷ 同一次執行中量到的傳統基準;吞吐比 > 1 與延遲比、CPU 比 < 1 表示較好。" > md
	print "絕對數字取決於機器(這裡是共用的虛擬機),比值較可信。" > md
	print "" > md
	print "## 種子 README 的宣稱 vs 這台機器" > md
	print "" > md
	print "| 技術 | 宣稱 | 實測最佳吞吐量 | 實測最低 p50 (µs) | 為何不同 |" > md
	print "|---|---|---|---|---|" > md
	for (o = 2; o <= 5; o++) {
		for (t in order) if (order[t] == o) break
		best = ""; bu = ""; bl = ""
		for (i = 1; i <= n; i++) if (tech[i] == t && role[i] != "baseline") {
			if (num(thr[i]) && (best == "" || thr[i] + 0 > best + 0)) { best = thr[i]; bu = unit[i] }
			if (num(p50[i]) && (bl == "" || p50[i] + 0 < bl + 0)) bl = p50[i]
		}
		if (t in seen)
			printf "| %s | %s | %s %s | %s | %s |\n", label[t], claim[t], fmt(best), bu, fmt(bl), why[t] > md
		else
			printf "| %s | %s | (略過) | - | %s |\n", label[t], claim[t], (t in skipped ? skipped[t] : "沒有結果") > md
	}
	# JSON
	printf "{\n  \"machine\": %s,\n  \"rows\": [", jstr(machine) > json
	for (i = 1; i <= n; i++) {
		printf "%s\n    {\"tech\": %s, \"name\": %s, \"role\": %s, \"p50_us\": %s, \"p99_us\": %s, \"throughput\": %s, \"unit\": %s, \"cpu_ns\": %s, \"baseline\": %s, \"ratio_throughput\": %s, \"ratio_p50\": %s, \"method\": %s}", \
			(i > 1 ? "," : ""), jstr(tech[i]), jstr(name[i]), jstr(role[i]), jnum(p50[i]), jnum(p99[i]), jnum(thr[i]), jstr(unit[i]), \
			jnum(cpu[i]), jstr(base[i]), jnum(substr(ratio_t[i], 1, length(ratio_t[i]) - 1)), jnum(substr(ratio_l[i], 1, length(ratio_l[i]) - 1)), jstr(method[i]) > json
	}
	printf "\n  ],\n  \"skipped\": {" > json
	k = 0
	for (o = 2; o <= 5; o++) for (t in order) if (order[t] == o && !(t in seen))
		printf "%s\n    %s: %s", (k++ ? "," : ""), jstr(t), jstr(t in skipped ? skipped[t] : "未執行(沒有結果)") > json
	printf "\n  }\n}\n" > json
	# gnuplot 資料:有對照基準的列,畫吞吐比與 p50 比
	for (i = 1; i <= n; i++) if (ratio_t[i] != "-" || ratio_l[i] != "-") {
		rt = (ratio_t[i] == "-") ? 0 : substr(ratio_t[i], 1, length(ratio_t[i]) - 1)
		rl = (ratio_l[i] == "-") ? 0 : substr(ratio_l[i], 1, length(ratio_l[i]) - 1)
		printf "\"%s\"\t%s\t%s\n", name[i], rt, rl > dat
	}
}'

if command -v gnuplot >/dev/null 2>&1 && [ -s "$OUT/comparison.dat" ]; then
	gnuplot <<EOF 2>/dev/null || echo "注意:gnuplot 繪圖失敗,略過 comparison.png" >&2
set terminal pngcairo size 1200,640 font "Noto Sans CJK TC,10"
set output "$OUT/comparison.png"
set title "Kernel bypass vs socket baseline (same machine, same run)\n$machine"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "ratio vs baseline (x)"
set xtics rotate by -30 font ",8" noenhanced
set key outside top center horizontal
set grid ytics
set yrange [0:*]
set offsets 0, 0, graph 0.1, 0
set arrow from graph 0, first 1 to graph 1, first 1 nohead dashtype 2 linecolor rgb "gray30"
set label "baseline = 1.0" at graph 0.01, first 1 offset 0, 0.6 font ",8"
plot "$OUT/comparison.dat" using 2:xtic(1) title "throughput ratio (higher is better)", \
     "" using 3 title "p50 latency ratio (lower is better)"
EOF
fi
rm -f "$OUT/comparison.dat"
cat "$OUT/comparison.md"
