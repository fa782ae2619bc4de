#!/bin/bash
# demo/dpdk.sh — sudo make demo 的 DPDK 部分:實際執行 dpdk_packet_processing,不需要網卡
#   1. net_pcap 從記憶體重播真實組成的訊框(macswap + 解析):每秒的連接埠/佇列速率、協定計數,
#      執行中以 dpdk-telemetry.py 讀我們的計數,結束時的 burst 分布與 xstats
#   2. net_af_xdp 綁在命名空間內的 veth 上(經 AF_XDP;做不到時自動改用 net_af_packet),respond 回應 ping
#   3. net_memif 對 dpdk-testpmd(flowgen 產生並接收,我們 macswap 送回)
#   4. 精簡版 bench/dpdk.sh(每項 1 次):比較表的 DPDK 列
# 結束碼:0 成功,77 略過(印出原因),其他 = 失敗。DEMO_SHORT=1 時每段更短。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
# shellcheck source=tests/dpdk_testpmd.sh
. "$(dirname "$0")/../tests/dpdk_testpmd.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/dpdk_packet_processing
PCAPTOOL=$T_ROOT/tests/tools/dpdk_pcap
SECS=4
PINGS=20
[ -z "${DEMO_SHORT:-}" ] || SECS=3

if ! is_root; then
	echo "略過:DPDK 示範需要 root(sudo make demo)"
	bench_skip "需要 root"
	exit 77
fi
if [ ! -x "$PROG" ] || [ ! -x "$PCAPTOOL" ]; then
	echo "略過:dpdk_packet_processing 未建置(缺少 libdpdk-dev?執行 sudo make install-deps)"
	bench_skip "dpdk_packet_processing 未建置"
	exit 77
fi
TMP=$(mktemp -d /tmp/kbs-demo-dpdk.XXXXXX)
on_exit "rm -rf '$TMP'"

# prefix 名稱:唯一的 --file-prefix,結束時移除 /var/run/dpdk/<prefix>(程式自己也會移除)
prefix() {
	PREFIX="kbs-demo-$1-$$"
	on_exit "rm -rf '/var/run/dpdk/$PREFIX'"
}
banner() { printf '\n--- %s ---\n' "$*"; }
show() { grep -v '^EAL\|^TELEMETRY\|^SUMMARY' "$1" | sed 's/^/  | /'; }

# 1. 真實訊框
banner "1. net_pcap 從記憶體重播 1024 個真實組成的訊框,macswap + 解析,${SECS} 秒(不需要網卡與 hugepage)"
"$PCAPTOOL" mix "$TMP/mix.pcap" 1024 1 | sed 's/^/  組成:/'
prefix mix
echo "\$ sudo ./dpdk_packet_processing -l 0-1 --no-pci --no-huge -m 1024 --file-prefix=$PREFIX \\"
echo "       --vdev=net_pcap0,rx_pcap=mix.pcap,infinite_rx=1 -- --mode macswap --duration $SECS"
start_bg "$TMP/mix.log" "$PROG" -l 0-1 --no-pci --no-huge -m 1024 --file-prefix="$PREFIX" \
	--vdev="net_pcap0,rx_pcap=$TMP/mix.pcap,infinite_rx=1" -- --mode macswap --duration "$SECS"
pid=$BG_PID
if wait_log 20 "$TMP/mix.log" '\[1\.[0-9] 秒\]' && command -v dpdk-telemetry.py >/dev/null 2>&1; then
	echo "\$ echo /packet_processing/stats,0 | sudo dpdk-telemetry.py -f $PREFIX    # 執行中,另一個終端機"
	echo /packet_processing/stats,0 | timeout 10 dpdk-telemetry.py -f "$PREFIX" 2>&1 |
		grep packet_processing | sed 's/^/  /'
fi
wait "$pid" # --duration 到了自己結束
show "$TMP/mix.log"
[ "$(dpdk_sumval "$TMP/mix.log" p0_ipv4)" -gt 0 ] 2>/dev/null || {
	echo "失敗:真實訊框沒有被解析(SUMMARY 沒有 IPv4 計數)"
	exit 1
}

# 2. net_af_packet + ping
banner "2. net_af_xdp 綁在 veth 上,respond 模式回應 ping(核心位址 10.77.0.1,DPDK 位址 10.77.0.10)"
if command -v ping >/dev/null 2>&1; then
	netns_pair ddemo dpeer vdpdk vpeer 10.77.0.1/24 10.77.0.2/24
	prefix afp
	echo "\$ sudo ip netns exec $NS_A ./dpdk_packet_processing -l 0-1 --no-pci --no-huge -m 1024 --vdev=net_af_xdp0,iface=vdpdk -- --mode respond --ip 0=10.77.0.10 --stats-interval 0"
	start_bg "$TMP/afp.log" ip netns exec "$NS_A" "$PROG" -l 0-1 --no-pci --no-huge -m 1024 \
		--file-prefix="$PREFIX" --vdev=net_af_xdp0,iface=vdpdk -- --mode respond \
		--ip 0=10.77.0.10 --stats-interval 0 --duration 60
	pid=$BG_PID
	wait_log 20 "$TMP/afp.log" '輪詢 [0-9]+ 個佇列' || {
		show "$TMP/afp.log"
		echo "失敗:程式沒有啟動"
		exit 1
	}
	echo "\$ sudo ip netns exec $NS_B ping -c $PINGS -i 0.05 10.77.0.10"
	ip netns exec "$NS_B" ping -c "$PINGS" -i 0.05 -W 1 10.77.0.10 >"$TMP/ping" 2>&1
	grep -E 'packets transmitted|rtt' "$TMP/ping" | sed 's/^/  /'
	stop_bg "$pid" INT 10 >/dev/null
	show "$TMP/afp.log" | grep -E '連接埠 0|AF_XDP|注意|協定|佇列|已確認'
	got=$(grep -c 'time=' "$TMP/ping")
	echo "DPDK 回覆 $got / $PINGS 個 ping(p50 $(dpdk_ping_pct "$TMP/ping" 0.5) µs)"
	[ "$got" = "$PINGS" ] || {
		echo "失敗:ping 有遺失"
		exit 1
	}
	ip netns del "$NS_A"
	ip netns del "$NS_B"
else
	echo "略過:找不到 ping"
fi

# 3. memif 對 testpmd
banner "3. net_memif:dpdk-testpmd(flowgen)送並接收,我們 macswap 送回"
if command -v dpdk-testpmd >/dev/null 2>&1; then
	sock=$TMP/memif.sock
	prefix memif-tp
	tp_prefix=$PREFIX
	prefix memif
	start_bg "$TMP/memif.log" "$PROG" -l 1 --no-pci --no-huge -m 1024 --file-prefix="$PREFIX" \
		--vdev="net_memif0,role=server,socket=$sock" -- --mode macswap --stats-interval 1 \
		--duration 60
	pid=$BG_PID
	wait_log 20 "$TMP/memif.log" '輪詢 [0-9]+ 個佇列' || {
		echo "失敗:程式沒有啟動"
		exit 1
	}
	testpmd_memif_peer "$TMP/tp.log" "$sock" "$tp_prefix" "$pid" "flowgen:$SECS" rxonly:1
	stop_bg "$pid" INT 10 >/dev/null
	show "$TMP/memif.log" | grep -E '連結|總結' 
	tp_rx=$(testpmd_port_stat "$TMP/tp.log" RX-packets)
	echo "testpmd 收到 ${tp_rx:-?} 個,我們送回 $(dpdk_sumval "$TMP/memif.log" p0_tx) 個"
	[ "${tp_rx:-0}" -gt 0 ] || {
		echo "失敗:testpmd 沒有收到我們送回的封包"
		exit 1
	}
else
	echo "略過:找不到 dpdk-testpmd"
fi

# 4. 量測(精簡版):寫入比較表的 DPDK 列
banner "4. 量測(精簡版 bench/dpdk.sh:同一條線與記憶體重播,每項 1 次、每次 1 秒;完整版 sudo ./run_tests.sh -p dpdk)"
DPDK_BENCH_RUNS=1 T_BENCH_QUICK=1 DPDK_BENCH_SECS=1 DPDK_BENCH_PINGS=100 DPDK_BENCH_SETS="wire mem" bash bench/dpdk.sh
exit 0
