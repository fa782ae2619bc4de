#!/bin/bash
# demo/dpdk.sh — sudo make demo 的 DPDK 部分:實際執行 dpdk_packet_processing,不需要網卡
#   1. net_null 連接埠對上的 fwd 轉送,每秒計數
#   2. net_af_packet 綁在命名空間內的 veth 上,以 respond 模式回應 ping(與核心自己回應的 ping 對照)
#   3. net_memif 對 dpdk-testpmd(flowgen 產生並接收,我們 macswap 送回)
# 結束碼:0 成功,77 略過(印出原因),其他 = 失敗。DEMO_SHORT=1 時每段更短。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
# shellcheck source=tests/dpdk_testpmd.sh
. "$(dirname "$0")/../tests/dpdk_testpmd.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/dpdk_packet_processing
SECS=3
PINGS=50
if [ -n "${DEMO_SHORT:-}" ]; then
	SECS=2
	PINGS=20
fi

if ! is_root; then
	echo "略過:DPDK 示範需要 root(sudo make demo)"
	exit 77
fi
if [ ! -x "$PROG" ]; then
	echo "略過:dpdk_packet_processing 未建置(缺少 libdpdk-dev?執行 sudo make install-deps)"
	exit 77
fi
TMP=$(mktemp -d /tmp/kbs-demo-dpdk.XXXXXX)
on_exit "rm -rf '$TMP'"

# prefix 名稱:唯一的 --file-prefix,結束時移除 /var/run/dpdk/<prefix>
prefix() {
	PREFIX="kbs-demo-$1-$$"
	on_exit "rm -rf '/var/run/dpdk/$PREFIX'"
}
sumval() {
	grep '^SUMMARY ' "$1" | tail -n1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}
# 從 ping 輸出算出 p50 / p99(µs)
ping_pct() {
	grep -o 'time=[0-9.]*' "$1" | cut -d= -f2 | sort -n |
		awk -v q="$2" '{v[NR] = $1} END {if (NR) {i = int(NR * q + 0.999); if (i < 1) i = 1; printf "%.1f", v[i] * 1000} else print "-"}'
}
banner() { printf '\n--- %s ---\n' "$*"; }

# 1. net_null fwd
banner "1. net_null 連接埠對,fwd 模式,${SECS} 秒(不需要網卡與 hugepage)"
prefix null
echo "\$ sudo ./dpdk_packet_processing -l 0-1 --no-pci --no-huge -m 1024 --vdev=net_null0 --vdev=net_null1 -- --mode fwd --duration $SECS"
"$PROG" -l 0-1 --no-pci --no-huge -m 1024 --file-prefix="$PREFIX" --vdev=net_null0 \
	--vdev=net_null1 -- --mode fwd --duration "$SECS" 2>&1 | grep -v '^EAL\|^TELEMETRY' | tee "$TMP/null.log" |
	grep -v '^SUMMARY'
pps=$(sumval "$TMP/null.log" rx_pps)
[ -n "$pps" ] || {
	echo "失敗:net_null fwd 沒有產生 SUMMARY"
	exit 1
}
mpps=$(awk -v p="$pps" 'BEGIN {printf "%.2f", p / 1e6}')
bench_row dpdk demo-fwd-net_null bypass - - "$mpps" Mpps - - \
	"fwd 含協定解析,net_null 對,2 lcore,--no-huge,${SECS}s(示範,非正式量測)"

# 2. net_af_packet + ping
banner "2. net_af_packet 綁在 veth 上,respond 模式回應 ping(核心位址 10.77.0.1,DPDK 位址 10.77.0.10)"
need_ping_ok=1
command -v ping >/dev/null 2>&1 || need_ping_ok=0
if [ "$need_ping_ok" = 1 ]; then
	NS_A="kbs-ddemo-$$"
	NS_B="kbs-dpeer-$$"
	ip netns add "$NS_A" && on_exit "ip netns del '$NS_A'"
	ip netns add "$NS_B" && on_exit "ip netns del '$NS_B'"
	ip link add vdpdk numtxqueues 1 numrxqueues 1 netns "$NS_A" type veth \
		peer name vpeer numtxqueues 1 numrxqueues 1 netns "$NS_B"
	ip -n "$NS_A" addr add 10.77.0.1/24 dev vdpdk
	ip -n "$NS_B" addr add 10.77.0.2/24 dev vpeer
	ip -n "$NS_A" link set vdpdk up
	ip -n "$NS_B" link set vpeer up
	prefix afp
	echo "\$ sudo ip netns exec $NS_A ./dpdk_packet_processing -l 0-1 --no-pci --no-huge -m 1024 --vdev=net_af_packet0,iface=vdpdk -- --mode respond --ip 0=10.77.0.10 --stats-interval 0"
	ip netns exec "$NS_A" "$PROG" -l 0-1 --no-pci --no-huge -m 1024 --file-prefix="$PREFIX" \
		--vdev=net_af_packet0,iface=vdpdk -- --mode respond --ip 0=10.77.0.10 \
		--stats-interval 0 --duration 60 >"$TMP/afp.log" 2>&1 &
	pid=$!
	on_exit "kill -KILL $pid"
	wait_log 20 "$TMP/afp.log" '輪詢' || {
		cat "$TMP/afp.log"
		echo "失敗:程式沒有啟動"
		exit 1
	}
	# 交錯:核心、DPDK、DPDK、核心
	: >"$TMP/ping-k"
	: >"$TMP/ping-d"
	for target in k d d k; do
		if [ "$target" = k ]; then ip=10.77.0.1; else ip=10.77.0.10; fi
		ip netns exec "$NS_B" ping -c $((PINGS / 2)) -i 0.01 -W 1 "$ip" >>"$TMP/ping-$target" 2>&1
	done
	echo "\$ sudo ip netns exec $NS_B ping -c $PINGS -i 0.01 10.77.0.10"
	grep -E 'packets transmitted' "$TMP/ping-d" | tail -n 1
	stop_bg "$pid" INT 10
	grep -v '^EAL\|^TELEMETRY\|^SUMMARY' "$TMP/afp.log"
	got=$(grep -c 'time=' "$TMP/ping-d")
	echo "DPDK 回覆 $got / $PINGS 個 ping"
	bench_row sockets demo-ping-kernel-veth baseline "$(ping_pct "$TMP/ping-k" 0.5)" \
		"$(ping_pct "$TMP/ping-k" 0.99)" - - - - "核心回應 ping,veth,命名空間,${PINGS} 次(示範)"
	bench_row dpdk demo-ping-af_packet bypass "$(ping_pct "$TMP/ping-d" 0.5)" \
		"$(ping_pct "$TMP/ping-d" 0.99)" - - - demo-ping-kernel-veth \
		"dpdk respond 經 net_af_packet,veth,命名空間,${PINGS} 次(示範;af_packet 仍經過核心)"
	[ "$got" = "$PINGS" ] || {
		echo "失敗:ping 有遺失"
		exit 1
	}
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
	"$PROG" -l 1 --no-pci --no-huge -m 1024 --file-prefix="$PREFIX" \
		--vdev="net_memif0,role=server,socket=$sock" -- --mode macswap --stats-interval 1 \
		--duration 60 >"$TMP/memif.log" 2>&1 &
	pid=$!
	on_exit "kill -KILL $pid"
	wait_log 20 "$TMP/memif.log" '輪詢' || {
		echo "失敗:程式沒有啟動"
		exit 1
	}
	testpmd_memif_peer "$TMP/tp.log" "$sock" "$tp_prefix" "$pid" "flowgen:$SECS" rxonly:1
	stop_bg "$pid" INT 10
	grep -v '^EAL\|^TELEMETRY\|^SUMMARY' "$TMP/memif.log" | tail -n 12
	tp_rx=$(testpmd_port_stat "$TMP/tp.log" RX-packets)
	echo "testpmd 收到 ${tp_rx:-?} 個,我們送回 $(sumval "$TMP/memif.log" p0_tx) 個"
	mpps=$(awk -v r="$tp_rx" -v s="$SECS" 'BEGIN {if (r > 0) printf "%.3f", r / s / 1e6; else print "-"}')
	bench_row dpdk demo-memif-rx bypass - - "$mpps" Mpps - - \
		"testpmd flowgen -> 我們 macswap -> testpmd 的往返封包率,net_memif,--no-huge,${SECS}s(示範)"
else
	echo "略過:找不到 dpdk-testpmd"
fi
exit 0
