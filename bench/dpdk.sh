#!/bin/bash
# bench/dpdk.sh — DPDK 效能比較(sudo ./run_tests.sh -p dpdk;全部約 10 分鐘)
#
# 1. 真實訊框(set nohuge、huge):tests/tools/dpdk_pcap mix 產生 1024 個真實組成的訊框
#    (IPv4/IPv6、TCP/UDP/ICMP、約 10% VLAN、60-1514 位元組、checksum 正確),兩個 net_pcap
#    連接埠以 infinite_rx=1 從記憶體無限重播(沒有 tx_pcap:送出的封包由 PMD 丟棄)。
#    我們與 dpdk-testpmd 用同樣的 vdev、同一個轉送 CPU(我們 -l 1;testpmd -l 0-1 --nb-cores=1,
#    轉送核心是 lcore 1,lcore 0 只印統計):
#      我們 fwd(io 引擎)          vs testpmd io
#      我們 macswap               vs testpmd macswap
#      我們 macswap + 解析         vs testpmd macswap(L4 checksum 只看網卡旗標:net_pcap 沒有)
#      我們 macswap + 解析 + 軟體 L4 checksum(預設 --l4-cksum auto)vs testpmd macswap
#      我們 rxonly + 解析:總覽表的「吞吐量」與「CPU」,對照核心 TPACKET_V3 收 + 解析同一組訊框
#    「沒有資料」的對照:net_null 連接埠對(每個封包全是 0,解析不到任何東西),fwd/io 與 macswap。
#    沒有 hugepage(--no-huge -m 1024)與有 hugepage(暫時保留 600 個 2 MiB,結束時恢復)各一組。
# 2. veth(set veth),命名空間 A(DPDK 或核心)── veth ── 命名空間 B(對端,CPU 0):
#      延遲:ping -i 0.005 的 p50/p99,由我們 respond(net_af_packet)或核心回答(總覽表的「延遲」);
#      收包:對端以 AF_PACKET sendmmsg 重播同一組真實訊框,接收端在 CPU 1 輪流是
#            核心 TPACKET_V3 + 同類的解析(bench/dpdk_sockbench rx)與我們的 rxonly + 解析(net_af_packet)。
# 每一項交錯量測 DPDK_BENCH_RUNS 次(預設 5,bench_interleave:A B C…、…C B A),
# 每一次寫一列原始結果(bench_row),比較表取中位數與 min–max。
# CPU/封包:DPDK 的轉送核心忙碌輪詢,= 1e9 ÷ pps(我們自己量到的執行緒 CPU 時間放在 evidence);
# 核心收包 = 接收端 CPU 1 的忙碌時間(/proc/stat,含 softirq)÷ 收到的封包:以 RPS 把 veth 的
# 收包 softirq 放到 CPU 1,產生器(CPU 0)只負責送。我們經 net_af_packet 的那一列不開 RPS
# (softirq 與忙碌輪詢放在同一顆 CPU 會被餓死),CPU = 1e9 ÷ pps,不含 CPU 0 上的 softirq。
# 速度不會造成失敗;每一列都要有數字,而且解析計數證明真的解析了真實訊框。
#
# 環境變數:DPDK_BENCH_RUNS(次數)、DPDK_BENCH_SECS(每次秒數,預設 3)、DPDK_BENCH_SETS(預設
# "nohuge huge veth")。開發時的煙霧測試:DPDK_BENCH_RUNS=2 DPDK_BENCH_SECS=1。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
# shellcheck source=tests/dpdk_testpmd.sh
. "$(dirname "$0")/../tests/dpdk_testpmd.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/dpdk_packet_processing
PCAPTOOL=$T_ROOT/tests/tools/dpdk_pcap
SOCKBENCH=$T_ROOT/bench/dpdk_sockbench
SECS=${DPDK_BENCH_SECS:-3}
RUNS=${DPDK_BENCH_RUNS:-5}
SETS=${DPDK_BENCH_SETS:-nohuge huge veth}
PINGS=${DPDK_BENCH_PINGS:-200}
HZ=$(getconf CLK_TCK)
RAW=$T_RAWDIR/$T_SUITE.tsv

if ! is_root; then
	echo "略過  dpdk 效能比較:需要 root(sudo ./run_tests.sh -p dpdk)"
	bench_skip "需要 root"
	exit 0
fi
for b in "$PROG" "$PCAPTOOL" "$SOCKBENCH"; do
	if [ ! -x "$b" ]; then
		echo "略過  dpdk 效能比較:$(basename "$b") 未建置"
		bench_skip "$(basename "$b") 未建置(缺 libdpdk-dev?執行 sudo make install-deps)"
		exit 0
	fi
done
if ! command -v dpdk-testpmd >/dev/null 2>&1; then
	echo "略過  dpdk 效能比較:找不到 dpdk-testpmd"
	bench_skip "找不到 dpdk-testpmd(sudo make install-deps)"
	exit 0
fi
BTMP=$(mktemp -d /tmp/kbs-bench-dpdk.XXXXXX)
on_exit "rm -rf '$BTMP'"
MIX=$BTMP/mix.pcap
"$PCAPTOOL" mix "$MIX" 1024 1 >"$BTMP/mix.txt" || {
	bench_skip "dpdk_pcap mix 失敗"
	exit 0
}
echo "真實訊框:$(cat "$BTMP/mix.txt")"

# 有 hugepage 的一組:先保留,決定總覽表用哪一組的數字
HUGE_OK=
case " $SETS " in
*" huge "*) dpdk_hugepages 600 && HUGE_OK=1 ;;
esac
GLANCE_MEM=nohuge
[ -z "$HUGE_OK" ] || GLANCE_MEM=huge

# 核心路徑的對照列(veth 組量測;總覽表的「傳統 Socket」格)
KERNEL_PING="核心回答 ping(veth,DPDK 對照)"
SOCK_RX="TPACKET_V3 收 + 解析(真實訊框,veth)"

mem_args() {
	if [ "$1" = huge ]; then echo "-m 512"; else echo "--no-huge -m 1024"; fi
}
mem_label() {
	if [ "$1" = huge ]; then echo "hugepage"; else echo "--no-huge"; fi
}
data_args() {
	if [ "$1" = mix ]; then
		echo "--vdev=net_pcap0,rx_pcap=$MIX,infinite_rx=1 --vdev=net_pcap1,rx_pcap=$MIX,infinite_rx=1"
	else
		echo "--vdev=net_null0 --vdev=net_null1"
	fi
}
data_label() {
	if [ "$1" = mix ]; then echo "真實訊框"; else echo "net_null 全零"; fi
}
# mpps_to_cpu pps:一個忙碌輪詢的核心 ÷ 封包率
pps_cpu() {
	awk -v p="$1" 'BEGIN {if (p > 0) printf "%.1f", 1e9 / p; else print "-"}'
}
# sum_ports 記錄檔 鍵:SUMMARY 裡 p0_鍵 + p1_鍵
sum_ports() {
	echo $(($(dpdk_sumval "$1" "p0_$2") + $(dpdk_sumval "$1" "p1_$2")))
}

# ours 組 資料 名稱 基準名稱 glance 模式 [程式選項…]:量一次我們的程式
ours() {
	local mem=$1 data=$2 name=$3 base=$4 glance=$5 mode=$6 prefix="kbs-bench-$$-$RANDOM"
	local log=$BTMP/ours.log pps ev
	shift 6
	# shellcheck disable=SC2046 # mem_args、data_args 刻意拆開
	timeout $((SECS + 60)) "$PROG" -l 1 --no-pci $(mem_args "$mem") --file-prefix="$prefix" \
		$(data_args "$data") -- --mode "$mode" --duration "$SECS" --stats-interval 0 "$@" \
		>"$log" 2>&1
	pps=$(dpdk_sumval "$log" rx_pps)
	ev="rx=$(dpdk_sumval "$log" rx) tx=$(dpdk_sumval "$log" tx)"
	ev+=" thread_cpu_ns=$(dpdk_sumval "$log" cpu_ns_per_pkt) empty_poll_pct=$(dpdk_sumval "$log" empty_poll_pct)"
	if [ "$(dpdk_sumval "$log" parse)" = 1 ]; then
		local k
		for k in ipv4 ipv6 tcp udp icmp icmpv6 vlan arp other malformed; do
			ev+=" $k=$(sum_ports "$log" "$k")"
		done
	fi
	printf '  %-52s %8s Mpps\n' "$name" "$(awk -v p="${pps:-0}" 'BEGIN {printf "%.2f", p / 1e6}')"
	bench_row dpdk "$name" bypass - - "${pps:--}" pps "$(pps_cpu "${pps:-0}")" "$base" \
		"dpdk_packet_processing -l 1(一個轉送核心)$*,$(data_label "$data") 2 個連接埠,$(mem_label "$mem"),${SECS}s" \
		"$glance" "$ev"
}

stats_lines_ge() { [ "$(grep -c 'Rx-pps:' "$1")" -ge "$2" ]; }
not_running() { ! kill -0 "$1" 2>/dev/null; }

# testpmd 組 資料 名稱 轉送模式:量一次 dpdk-testpmd。啟動(hugepage 對應、pool)不計:
# 等它印出 SECS+1 次每秒統計後送 SIGINT,取每秒 Rx-pps(兩個連接埠相加)的平均,略過第一秒。
testpmd() {
	local mem=$1 data=$2 name=$3 fwd=$4 prefix="kbs-bench-tp-$$-$RANDOM"
	local log=$BTMP/$prefix.log
	local pps rx pid
	# shellcheck disable=SC2046 # mem_args、data_args 刻意拆開
	dpdk-testpmd -l 0-1 --no-pci $(mem_args "$mem") $([ "$mem" != huge ] || echo --huge-unlink) \
		--file-prefix="$prefix" $(data_args "$data") -- --no-mlockall \
		$([ "$mem" = huge ] || echo --total-num-mbufs=16384) --forward-mode="$fwd" \
		--nb-cores=1 --stats-period 1 >"$log" 2>&1 </dev/null &
	pid=$!
	# 背景工作在非互動 shell 裡起初忽略 SIGINT:等 testpmd 開始轉送(裝好 handler)才送
	wait_for $((SECS + 60)) stats_lines_ge "$log" $((2 * (SECS + 1)))
	kill -INT "$pid" 2>/dev/null
	wait_for 10 not_running "$pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	rm -rf "/var/run/dpdk/$prefix"
	pps=$(awk '/Rx-pps:/ {sum += $2; n++; if (n % 2 == 0) {per[++k] = sum; sum = 0}}
		END {t = 0; c = 0; for (i = 2; i <= k; i++) {t += per[i]; c++}
		     if (c) printf "%.0f\n", t / c}' "$log")
	rx=$(awk '/Accumulated forward statistics/ {f = 1} f && /RX-packets:/ {print $2; exit}' "$log")
	printf '  %-52s %8s Mpps\n' "$name" "$(awk -v p="${pps:-0}" 'BEGIN {printf "%.2f", p / 1e6}')"
	bench_row dpdk "$name" peer - - "${pps:--}" pps "$(pps_cpu "${pps:-0}")" - \
		"dpdk-testpmd -l 0-1 --nb-cores=1 --forward-mode=$fwd,$(data_label "$data") 2 個連接埠,$(mem_label "$mem"),${SECS} 個每秒 Rx-pps 的平均(略過第一秒)" \
		- "rx_total=${rx:-0}"
}

# set_mem 組:真實訊框與 net_null 的全部項目交錯量測
set_mem() {
	local mem=$1 ml glance=-
	ml=$(mem_label "$mem")
	[ "$mem" != "$GLANCE_MEM" ] || glance=thr,cpu
	B_TP_IO="testpmd io(真實訊框,$ml)"
	B_TP_MS="testpmd macswap(真實訊框,$ml)"
	B_NULL_IO="testpmd io(net_null 全零,$ml)"
	B_NULL_MS="testpmd macswap(net_null 全零,$ml)"
	eval "m1() { testpmd $mem mix '$B_TP_IO' io; }"
	eval "m2() { ours $mem mix '我們 fwd(真實訊框,$ml)' '$B_TP_IO' - fwd --no-parse; }"
	eval "m3() { testpmd $mem mix '$B_TP_MS' macswap; }"
	eval "m4() { ours $mem mix '我們 macswap(真實訊框,$ml)' '$B_TP_MS' - macswap --no-parse; }"
	eval "m5() { ours $mem mix '我們 macswap + 解析(真實訊框,$ml)' '$B_TP_MS' - macswap --l4-cksum hw; }"
	eval "m6() { ours $mem mix '我們 macswap + 解析 + 軟體 L4 checksum(真實訊框,$ml)' '$B_TP_MS' - macswap; }"
	eval "m7() { testpmd $mem null '$B_NULL_IO' io; }"
	eval "m8() { ours $mem null '我們 fwd(net_null 全零,$ml)' '$B_NULL_IO' - fwd --no-parse; }"
	eval "m9() { testpmd $mem null '$B_NULL_MS' macswap; }"
	eval "m10() { ours $mem null '我們 macswap(net_null 全零,$ml)' '$B_NULL_MS' - macswap --no-parse; }"
	# 總覽表:收 + 解析真實訊框,與核心 TPACKET_V3 收 + 解析同一組訊框(veth 組)同類
	eval "m11() { ours $mem mix '我們 rxonly + 解析(真實訊框,$ml)' '$SOCK_RX' $glance rxonly --l4-cksum hw; }"
	bench_interleave "$RUNS" m1 m2 m3 m4 m5 m6 m7 m8 m9 m10 m11
}
set_nohuge() { set_mem nohuge; }
set_huge() {
	[ -n "$HUGE_OK" ] || skip "${HUGE_WHY:-沒有 hugepage}"
	set_mem huge
}

# ---- veth:延遲與核心收包對照 --------------------------------------------------------------

# cpu_busy CPU:這顆 CPU 到目前為止的忙碌時間(user+nice+system+irq+softirq,clock ticks)
cpu_busy() {
	awk -v c="cpu$1" '$1 == c {print $2 + $3 + $4 + $7 + $8}' /proc/stat
}
# rx_cpu_ns 開始 結束 封包數:接收端 CPU 1 在這段時間每個封包的忙碌時間(ns)
rx_cpu_ns() {
	awk -v a="$1" -v b="$2" -v r="$3" -v hz="$HZ" \
		'BEGIN {if (r > 0) printf "%.1f", (b - a) * 1e9 / hz / r; else print "-"}'
}

ping_run() {
	local who=$1 ip=10.84.0.1 p50 p99 got
	[ "$who" = kernel ] || ip=10.84.0.10
	ip netns exec "$NS_B" ping -c "$PINGS" -i 0.005 -W 1 "$ip" >"$BTMP/ping" 2>&1
	p50=$(dpdk_ping_pct "$BTMP/ping" 0.5)
	p99=$(dpdk_ping_pct "$BTMP/ping" 0.99)
	got=$(grep -c 'time=' "$BTMP/ping")
	printf '  %-52s p50 %6s µs  p99 %6s µs  (%s/%s)\n' "$who" "$p50" "$p99" "$got" "$PINGS"
	PING_P50=$p50 PING_P99=$p99 PING_GOT=$got
}
lat_kernel() {
	ping_run kernel
	bench_row sockets "$KERNEL_PING" baseline "$PING_P50" "$PING_P99" - - - - \
		"核心在 veth 上回答 ping(命名空間),ping -i 0.005 -c $PINGS" lat "replies=$PING_GOT sent=$PINGS"
}
lat_ours() {
	local prefix="kbs-bench-ping-$$-$RANDOM" log=$BTMP/respond.log pid
	ip netns exec "$NS_A" "$PROG" -l 1 --no-pci --no-huge -m 512 --file-prefix="$prefix" \
		--vdev=net_af_packet0,iface=vdb -- --mode respond --ip 0=10.84.0.10 \
		--stats-interval 0 --duration 120 >"$log" 2>&1 &
	pid=$!
	wait_log 30 "$log" '輪詢 [0-9]+ 個佇列' || echo "  注意:respond 沒有啟動"
	ping_run "我們 respond"
	kill -INT "$pid"
	wait "$pid"
	bench_row dpdk "我們 respond 回答 ping(net_af_packet,veth)" bypass "$PING_P50" "$PING_P99" - - - \
		"$KERNEL_PING" "dpdk_packet_processing --mode respond -l 1 經 net_af_packet(仍經過核心的 AF_PACKET 環),--no-huge,ping -i 0.005 -c $PINGS" \
		lat "replies=$PING_GOT sent=$PINGS icmp_counted=$(dpdk_sumval "$log" p0_icmp)"
}

# 產生器:對端以 AF_PACKET sendmmsg 重播真實訊框 $1 秒(CPU 0),輸出到 $BTMP/gen.out
start_gen() {
	ip netns exec "$NS_B" taskset -c 0 "$SOCKBENCH" tx vgen "$1" "$MIX" >"$BTMP/gen.out" 2>&1 &
	GEN_PID=$!
}
# rps CPU遮罩:vdb 收到的封包在哪顆 CPU 跑核心的收包 softirq(0 = 在送端,veth 的預設)
rps() {
	ip netns exec "$NS_A" sh -c "echo $1 > /sys/class/net/vdb/queues/rx-0/rps_cpus"
}
# 核心收包:以 RPS 把收包 softirq 放在接收端的 CPU 1,它的忙碌時間才完整
rx_sock() {
	local c0 c1 rx pps cpu k ev
	rps 2
	start_gen $((SECS + 2))
	sleep 0.5
	c0=$(cpu_busy 1)
	ip netns exec "$NS_A" taskset -c 1 "$SOCKBENCH" rx vdb "$SECS" >"$BTMP/rx.out" 2>&1
	c1=$(cpu_busy 1)
	wait "$GEN_PID"
	rps 0
	rx=$(kv "$BTMP/rx.out" packets)
	pps=$(kv "$BTMP/rx.out" pps)
	cpu=$(rx_cpu_ns "$c0" "$c1" "$rx")
	printf '  %-52s %8s Mpps  CPU %s ns/封包\n' "核心 TPACKET_V3" \
		"$(awk -v p="${pps:-0}" 'BEGIN {printf "%.3f", p / 1e6}')" "$cpu"
	ev="packets=$rx drops=$(kv "$BTMP/rx.out" drops) rx_process_cpu_ns=$(kv "$BTMP/rx.out" cpu_ns)"
	ev+=" cpu1_busy_ticks=$((c1 - c0)) gen_pps=$(kv "$BTMP/gen.out" pps)"
	for k in ipv4 ipv6 tcp udp icmp vlan; do ev+=" $k=$(kv "$BTMP/rx.out" "$k")"; done
	bench_row sockets "$SOCK_RX" baseline - - "${pps:--}" pps "$cpu" - \
		"AF_PACKET TPACKET_V3 mmap 環 + 每個訊框分類(bench/dpdk_sockbench rx,CPU 1;RPS 把 veth 的收包 softirq 也放在 CPU 1),對端 AF_PACKET sendmmsg 重播 1024 個真實訊框(CPU 0),${SECS}s;CPU = CPU 1 的忙碌時間 ÷ 收到的封包" \
		thr,cpu "$ev"
}
# 我們經 net_af_packet 收包:lcore 在 CPU 1 忙碌輪詢,核心填 AF_PACKET 環的 softirq 留在送端 CPU 0
# (放在同一顆 CPU 會被忙碌輪詢餓死)
rx_ours() {
	local prefix="kbs-bench-afp-$$-$RANDOM" log=$BTMP/afp.log c0 c1 rx pps cpu k ev
	start_gen $((SECS + 4))
	c0=$(cpu_busy 1)
	ip netns exec "$NS_A" timeout $((SECS + 60)) "$PROG" -l 1 --no-pci --no-huge -m 512 \
		--file-prefix="$prefix" --vdev=net_af_packet0,iface=vdb -- --mode rxonly \
		--duration "$SECS" --stats-interval 0 >"$log" 2>&1
	c1=$(cpu_busy 1)
	wait "$GEN_PID"
	rx=$(dpdk_sumval "$log" rx)
	pps=$(dpdk_sumval "$log" rx_pps)
	# 我們的 lcore 整段時間忙碌輪詢:CPU/封包 = 1e9 ÷ pps(CPU 1 的實際忙碌時間放在 evidence)
	cpu=$(pps_cpu "${pps:-0}")
	printf '  %-52s %8s Mpps  CPU %s ns/封包\n' "我們 rxonly + 解析(net_af_packet)" \
		"$(awk -v p="${pps:-0}" 'BEGIN {printf "%.3f", p / 1e6}')" "$cpu"
	ev="rx=$rx thread_cpu_ns=$(dpdk_sumval "$log" cpu_ns_per_pkt) cpu1_busy_ticks=$((c1 - c0))"
	ev+=" gen_pps=$(kv "$BTMP/gen.out" pps)"
	for k in ipv4 ipv6 tcp udp icmp vlan malformed; do ev+=" $k=$(dpdk_sumval "$log" "p0_$k")"; done
	bench_row dpdk "我們 rxonly + 解析(net_af_packet,veth)" bypass - - "${pps:--}" pps "$cpu" "$SOCK_RX" \
		"dpdk_packet_processing --mode rxonly -l 1 經 net_af_packet(PMD 讀核心的 AF_PACKET 環再複製到 mbuf),--no-huge,同一個產生器,${SECS}s;lcore 忙碌輪詢,CPU = 1e9 ÷ pps(核心填環的 softirq 在 CPU 0,不含)" \
		- "$ev"
}
set_veth() {
	need_cmd ip ping taskset
	netns_pair dbench dbpeer vdb vgen 10.84.0.1/24 10.84.0.2/24
	ip netns exec "$NS_A" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$NS_B" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	rps 0 || skip "無法設定 RPS(/sys/class/net/vdb/queues/rx-0/rps_cpus)"
	echo "== veth 延遲:ping -i 0.005 -c $PINGS,核心 vs 我們 respond(net_af_packet)"
	bench_interleave "$RUNS" lat_kernel lat_ours
	echo "== veth 收包:對端重播真實訊框,核心 TPACKET_V3 + 解析 vs 我們 rxonly + 解析(net_af_packet)"
	bench_interleave "$RUNS" rx_sock rx_ours
}

for s in $SETS; do
	case $s in
	nohuge | huge | veth)
		echo "== $s(每項 $RUNS 次交錯,每次 ${SECS}s;過程在 tests/logs/$T_SUITE.bench_$s.log)"
		check "bench_$s" "set_$s"
		grep -E '^  ' "$T_LOGDIR/$T_SUITE.bench_$s.log" || true
		;;
	*) echo "注意:不認得的 DPDK_BENCH_SETS 項目 $s" ;;
	esac
done

# ---- 人看的表:每列的中位數、min–max 與對照比值(scripts/comparison.sh 計算) ----------------------
echo
echo "== DPDK 結果"
[ ! -f "$RAW" ] || bench_report
echo "(目標:真實訊框上 macswap + 解析 >= 0.8x testpmd macswap,fwd 與 macswap >= 1.0x;"
echo " 延遲比值 < 1 表示比核心快;net_af_packet 仍經過核心,沒有網卡時 DPDK 不會比核心快)"

# 每一列都有數字,而且真實訊框真的被解析了(解析計數出現在 evidence)
check_rows() {
	[ -s "$RAW" ] || fail "沒有任何結果"
	awk -F'\t' '$1 != "skip" && NF >= 12 && $6 == "-" && $4 == "-" {print "沒有數字:" $2; bad = 1}
		$1 == "dpdk" && $2 ~ /解析.*\(真實訊框/ && $12 !~ / ipv4=[1-9]/ {print "沒有解析計數:" $2; bad = 1}
		$1 == "dpdk" && $2 ~ /解析.*\(真實訊框/ && $12 !~ / malformed=0( |$)/ {print "真實訊框不該有 malformed:" $2; bad = 1}
		END {exit bad}' "$RAW" >"$T_TMP/bad" || fail "$(head -n 3 "$T_TMP/bad" | tr '\n' ' ')"
}
check dpdk_bench_rows check_rows
