#!/bin/bash
# bench/dpdk.sh — DPDK 效能比較(sudo ./run_tests.sh -p dpdk,約 8 分鐘;-p quick 約 3 分鐘)
#
# 1. 同一條線(set wire):命名空間 A(vx,接收端)── veth ── 命名空間 B(vxp,產生器)。
#    產生器:bench/dpdk_sockbench xdptx(XDP live frames:核心裡的 BPF_PROG_TEST_RUN 依序重播 1024 個
#    真實組成的訊框,tests/tools/dpdk_pcap mix:IPv4/IPv6、TCP/UDP/ICMP、約 10% VLAN,checksum 正確)在 CPU 1。
#    訊框以 xdp_frame 進到 vx(沒有 skb),就像網卡驅動程式收到的封包;產生器一顆 CPU 可送每秒數百萬個。
#    CPU 放置(每個接收端都一樣):接收程式在 CPU 0(DPDK 的 lcore 要獨占一顆核心);核心的收包工作
#    (vx 的 NAPI:XDP 程式 + 複製進 UMEM,或建 skb + GRO + 複製進 TPACKET 環)在 CPU 1 以 softirq 執行,
#    就是網卡中斷所在的核心。softirq 優先於產生器,產生器只用剩下的時間:CPU 1 一直 100%,線上的速率
#    就是這條收包路徑的上限(飽和),再多送的在 veth 或接收端的環上丟掉(evidence 的 veth_* 與 imissed)。
#      DPDK net_af_xdp    我們 rxonly + 解析,-l 0,busy_budget=0(NAPI 在 CPU 1,busy polling 搶不到它),
#                         描述子用 PMD 建議的 2048(= 它的 fill ring),mbuf pool(= UMEM)在 hugepage
#                         (保留 128 個 2 MiB 頁,結束時還原;做不到時 --no-huge,evidence 的 hugepages=0)
#      DPDK net_af_packet 我們 rxonly + 解析,-l 0,PMD 讀核心的 TPACKET_V2 環再複製進 mbuf(framecnt=16384)
#      AF_XDP             af_xdp_socket rxdrop --all -N(native,poll() 等待,不解析:同線上的參考列)
#      TPACKET_V3         bench/dpdk_sockbench rx(CPU 0,32 MiB block 環):核心封包 socket 的最佳做法 + 同類的解析
#    pps      = 收到的 ÷ 產生器送的秒數
#    CPU/封包 = (核心收包:兩顆 CPU 在 /proc/stat 的 irq + softirq 時間)+(接收程式:TPACKET_V3、AF_XDP 是
#               行程的 CPU;DPDK 是 lcore 收到封包的那些輪詢的時間,testpmd --record-core-cycles 的算法)
#               ÷ 收到的封包;不含產生器自己。DPDK 的 lcore 等封包時的空轉另列(idle_poll_ns_per_pkt)。
#    表格列用真實大小分布(平均 443 B);曲線(bench_point dpdk_wire)在 64、512、1500 B 各量一次。
#    延遲:ping -i 0.005 的 p50/p99,由我們 respond(net_af_xdp)或核心在同一條 veth 上回答。
#    總覽表的 DPDK 吞吐量、CPU、延遲取自這一組(對照同一條線上的 TPACKET_V3 與核心的 ping)。
# 2. 記憶體重播(set mem):net_pcap infinite_rx 從記憶體重播同一組真實訊框(不經過任何線路),
#    我們與 dpdk-testpmd 用同樣的 vdev、同一個轉送 CPU(我們 -l 1;testpmd -l 0-1 --nb-cores=1)。
#    這是「每個封包的軟體成本」,不是網路吞吐量:io/fwd、macswap、macswap + 解析(+ 軟體 L4 checksum)、
#    rxonly + 解析 vs testpmd rxonly;--no-huge -m 1024。重播的比值在共用的 VM 上每輪差到 ±20%,
#    所以另有一列單獨量解析本身:bench/dpdk_parse_cost 呼叫程式的 count_burst(),每封包 ns。
# 3. burst 大小(set burst,曲線 dpdk_burst):記憶體重播上 rxonly + 解析,--burst 1、8、32、128,
#    每封包 CPU = lcore 執行緒 CPU ÷ 收到的封包。
# 每一項交錯量測 BENCH_RUNS 次(bench_interleave:A B C…、…C B A),每次一列 bench_row;比較表取中位數與 min–max。
# 速度不會造成失敗;每一列都要有數字,而且解析計數證明真的解析了真實訊框。
#
# 環境變數:DPDK_BENCH_SECS(每次秒數,預設 2)、DPDK_BENCH_SETS(預設 "wire mem burst")、
# DPDK_BENCH_PINGS(預設 200)、DPDK_BENCH_RUNS(預設 tests/lib.sh 的 BENCH_RUNS:5,-p quick 3)。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
# shellcheck source=tests/dpdk_testpmd.sh
. "$(dirname "$0")/../tests/dpdk_testpmd.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/dpdk_packet_processing
PCAPTOOL=$T_ROOT/tests/tools/dpdk_pcap
SOCKBENCH=$T_ROOT/bench/dpdk_sockbench
PARSECOST=$T_ROOT/bench/dpdk_parse_cost
XDP=$T_ROOT/af_xdp_socket
SECS=${DPDK_BENCH_SECS:-2}
RUNS=${DPDK_BENCH_RUNS:-$BENCH_RUNS}
SETS=${DPDK_BENCH_SETS:-wire mem burst}
PINGS=${DPDK_BENCH_PINGS:-200}
SIZES="64 512 1500"
BURSTS="1 8 32 128"
if [ "${T_BENCH_QUICK:-0}" = 1 ]; then
	SIZES=64
	BURSTS="1 32"
fi
HZ=$(getconf CLK_TCK)
RAW=$T_RAWDIR/$T_SUITE.tsv

if ! is_root; then
	echo "略過  dpdk 效能比較:需要 root(sudo ./run_tests.sh -p dpdk)"
	bench_skip "需要 root"
	exit 0
fi
for b in "$PROG" "$PCAPTOOL" "$SOCKBENCH" "$PARSECOST"; do
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
for z in $SIZES; do "$PCAPTOOL" mix "$BTMP/mix$z.pcap" 1024 1 "$z" >/dev/null; done
echo "真實訊框:$(cat "$BTMP/mix.txt")"

# 對照列的名稱(總覽表的「傳統 Socket」格)
KERNEL_PING="核心回答 ping(veth,DPDK 對照)"
SOCK_RX="TPACKET_V3 收 + 解析(真實訊框,veth)"
mpps() { awk -v p="${1:-0}" 'BEGIN {printf "%.3f", p / 1e6}'; }

# ---- 1. 同一條線 ------------------------------------------------------------------------------

wire_series() {
	case $1 in
	afxdp) echo "DPDK net_af_xdp" ;;
	afp) echo "DPDK net_af_packet" ;;
	xsk) echo "AF_XDP" ;;
	tpacket) echo "TPACKET_V3" ;;
	esac
}
wire_row() {
	case $1 in
	afxdp) echo "DPDK net_af_xdp rxonly + 解析(真實訊框,veth)" ;;
	afp) echo "DPDK net_af_packet rxonly + 解析(真實訊框,veth)" ;;
	xsk) echo "AF_XDP rxdrop 只計數(af_xdp_socket --all,真實訊框,veth)" ;;
	tpacket) echo "$SOCK_RX" ;;
	esac
}
WIRE_METHOD="同一條 veth(命名空間)、同一個產生器(dpdk_sockbench xdptx:XDP live frames 在 CPU 1 重播 1024 個真實訊框,進到接收端時沒有 skb,像網卡驅動程式收到的封包)、同樣的 CPU 放置:接收端的程式在 CPU 0,核心的收包工作(veth NAPI)在 CPU 1 以 softirq 執行(網卡中斷所在的核心,優先於產生器:CPU 1 一直 100%,線上的速率就是收包路徑的上限);pps = 收到 ÷ 產生器秒數;CPU/封包 = (核心收包 = 兩顆 CPU 的 irq+softirq 時間)+(接收程式:TPACKET_V3 與 AF_XDP 是行程 CPU,DPDK 是 lcore 收到封包的輪詢時間,testpmd --record-core-cycles 的算法,空轉另列 idle_poll_ns_per_pkt)÷ 收到;不含產生器本身;DPDK 的 mbuf pool 在 hugepage(做不到時 --no-huge,evidence 的 hugepages=0)"

# cpu_ticks CPU:/proc/stat 裡這顆 CPU 的「irq + softirq」與「全部非閒置」tick(USER_HZ)
cpu_ticks() { awk -v c="cpu$1" '$1 == c {print $7 + $8, $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
# ethstat 命名空間 介面 計數名稱:ethtool -S 的一個計數(沒有時 0)
ethstat() {
	ip netns exec "$1" ethtool -S "$2" 2>/dev/null | awk -v k="$3:" '$1 == k {v = $2} END {print v + 0}'
}

# wire_start 接收端 記錄檔:在 CPU 0 啟動接收端,PID 放在 WIRE_PID
wire_start() {
	local kind=$1 rlog=$2 vdev
	case $kind in
	afxdp | afp)
		# net_af_xdp:NAPI 在 CPU 1(送端的 softirq),busy polling 搶不到它(實測),空輪詢時的 recvfrom 只是
		# 多一個系統呼叫:busy_budget=0。net_af_packet:環和 TPACKET_V3 對照組一樣大(16,384 個 2 KiB frame)
		vdev=net_af_xdp0,iface=vx,busy_budget=0
		[ "$kind" = afp ] && vdev=net_af_packet0,iface=vx,framecnt=16384
		WIRE_PREFIX="kbs-bench-wire-$$-$RANDOM"
		ip netns exec "$NS_A" timeout 120 "$PROG" -l 0 --no-pci "${WIRE_MEM[@]}" --file-prefix="$WIRE_PREFIX" \
			--vdev="$vdev" -- --mode rxonly --stats-interval 0 --duration 100 >"$rlog" 2>&1 &
		WIRE_PID=$!
		wait_log 30 "$rlog" '輪詢 [0-9]+ 個佇列' || true
		;;
	xsk)
		ip netns exec "$NS_A" "$XDP" -q -N -m rxdrop --all --cpu 0 vx 0 >"$rlog" 2>&1 &
		WIRE_PID=$!
		wait_log 10 "$rlog" '實際生效' || true
		;;
	tpacket)
		ip netns exec "$NS_A" taskset -c 0 "$SOCKBENCH" rx vx $((SECS + 1)) >"$rlog" 2>&1 &
		WIRE_PID=$!
		sleep 0.3
		;;
	esac
}

# wire_stop 接收端 記錄檔:停止接收端;WIRE_GOT = 收到的封包,WIRE_APP = 接收程式的 CPU ns(見 WIRE_METHOD)
wire_stop() {
	local kind=$1 rlog=$2
	case $kind in
	afxdp | afp)
		kill -INT "$WIRE_PID" 2>/dev/null
		wait "$WIRE_PID"
		rm -rf "/var/run/dpdk/$WIRE_PREFIX"
		WIRE_GOT=$(dpdk_sumval "$rlog" p0_rx)
		WIRE_APP=$(awk -v c="$(dpdk_sumval "$rlog" busy_ns_per_pkt)" -v r="${WIRE_GOT:-0}" 'BEGIN {printf "%.0f", c * r}')
		;;
	xsk)
		kill -INT "$WIRE_PID" 2>/dev/null
		wait "$WIRE_PID"
		WIRE_GOT=$(kv "$rlog" rx)
		WIRE_APP=$(awk -v s="$(kv "$rlog" cpu_s)" 'BEGIN {printf "%.0f", s * 1e9}')
		;;
	tpacket)
		wait "$WIRE_PID"
		WIRE_GOT=$(kv "$rlog" packets)
		WIRE_APP=$(kv "$rlog" cpu_ns)
		;;
	esac
}

# wire_run 接收端 pcap x 輪次:一次量測。x = 訊框大小(曲線)或 mix(表格列)
wire_run() {
	local kind=$1 pcap=$2 x=$3 rlog=$BTMP/wire-rx.log glog=$BTMP/wire-gen.out
	local k0 k1 b1 b2 a0 a1 d0 d1 e0 e1 sent secs pps cpu ev series
	series=$(wire_series "$kind")
	wire_start "$kind" "$rlog"
	d0=$(ethstat "$NS_A" vx rx_queue_0_drops)
	e0=$(ethstat "$NS_B" vxp tx_queue_0_xdp_xmit_errors)
	read -r k0 _ < <(cpu_ticks 0)
	read -r k1 b1 < <(cpu_ticks 1)
	ip netns exec "$NS_B" taskset -c 1 "$SOCKBENCH" xdptx vxp "$SECS" "$pcap" >"$glog" 2>&1
	read -r a0 _ < <(cpu_ticks 0)
	read -r a1 b2 < <(cpu_ticks 1)
	d1=$(ethstat "$NS_A" vx rx_queue_0_drops)
	e1=$(ethstat "$NS_B" vxp tx_queue_0_xdp_xmit_errors)
	sleep 0.2
	wire_stop "$kind" "$rlog"
	sent=$(kv "$glog" packets)
	secs=$(kv "$glog" seconds)
	if [ -z "$WIRE_GOT" ] || [ "${WIRE_GOT:-0}" = 0 ] || [ -z "$sent" ] || [ -z "$WIRE_APP" ]; then
		echo "  注意:$kind($x)第 $4 輪沒有結果:$(grep -m1 錯誤 "$rlog" "$glog")" >&2
		[ "$x" = mix ] || {
			bench_point dpdk_wire "$series" "$x" pps -
			bench_point dpdk_wire "$series" "$x" cpu_ns -
		}
		return
	fi
	# 核心收包 = 兩顆 CPU 的 irq+softirq tick(USER_HZ,一個 tick 1e9/HZ ns)
	read -r pps cpu < <(awk -v g="$WIRE_GOT" -v e="$secs" -v app="$WIRE_APP" -v k=$((a0 - k0 + a1 - k1)) -v hz="$HZ" \
		'BEGIN {printf "%.0f %.1f\n", g / e, (k * 1e9 / hz + app) / g}')
	printf '  第 %s 輪 %-20s %-5s %8s Mpps  %7s ns/封包  送出 %s 收到 %s\n' "$4" "$series" "$x" "$(mpps "$pps")" \
		"$cpu" "$sent" "$WIRE_GOT"
	if [ "$x" != mix ]; then
		bench_point dpdk_wire "$series" "$x" pps "$pps"
		bench_point dpdk_wire "$series" "$x" cpu_ns "$cpu"
		return
	fi
	ev=$(awk -v g="$WIRE_GOT" -v s="$sent" -v app="$WIRE_APP" -v k=$((a0 - k0 + a1 - k1)) -v hz="$HZ" \
		-v busy=$((b2 - b1)) -v e="$secs" \
		'BEGIN {printf "offered=%s received=%s delivery_pct=%.1f kernel_ns_per_pkt=%.1f app_ns_per_pkt=%.1f cpu1_busy_pct=%.0f",
			s, g, 100 * g / s, k * 1e9 / hz / g, app / g, 100 * busy / hz / e}')
	ev+=" veth_rx_drops=$((d1 - d0)) veth_xmit_errors=$((e1 - e0)) gen_cpu_ns=$(kv "$glog" cpu_ns) hugepages=$WIRE_HUGE"
	case $kind in
	afxdp | afp)
		ev+=" idle_poll_ns_per_pkt=$(awk -v t="$(dpdk_sumval "$rlog" cpu_ns_per_pkt)" -v b="$(dpdk_sumval "$rlog" busy_ns_per_pkt)" 'BEGIN {printf "%.1f", t - b}')"
		ev+=" busy_pct=$(dpdk_sumval "$rlog" busy_pct) empty_poll_pct=$(dpdk_sumval "$rlog" empty_poll_pct) imissed=$(dpdk_sumval "$rlog" p0_imissed)"
		for k in ipv4 ipv6 tcp udp icmp vlan malformed l4_unverified; do ev+=" $k=$(dpdk_sumval "$rlog" "p0_$k")"; done
		;;
	tpacket)
		for k in ipv4 ipv6 tcp udp icmp vlan; do ev+=" $k=$(kv "$rlog" "$k")"; done
		ev+=" drops=$(kv "$rlog" drops)"
		;;
	xsk) ev+=" redirected=$(kv "$rlog" xdp_redirected) rx_dropped=$(kv "$rlog" rx_dropped)" ;;
	esac
	case $kind in
	tpacket) bench_row sockets "$(wire_row tpacket)" baseline - - "$pps" pps "$cpu" - "$WIRE_METHOD" thr,cpu "$ev" ;;
	afxdp) bench_row dpdk "$(wire_row afxdp)" bypass - - "$pps" pps "$cpu" "$SOCK_RX" "$WIRE_METHOD" thr,cpu "$ev" ;;
	*) bench_row dpdk "$(wire_row "$kind")" bypass - - "$pps" pps "$cpu" "$SOCK_RX" "$WIRE_METHOD" - "$ev" ;;
	esac
}

ping_run() {
	local who=$1 ip=10.84.0.1 p50 p99 got
	[ "$who" = kernel ] || ip=10.84.0.10
	ip -n "$NS_B" neigh flush dev vxp 2>/dev/null
	ip netns exec "$NS_B" ping -c "$PINGS" -i 0.005 -W 1 "$ip" >"$BTMP/ping" 2>&1
	p50=$(dpdk_ping_pct "$BTMP/ping" 0.5)
	p99=$(dpdk_ping_pct "$BTMP/ping" 0.99)
	got=$(grep -c 'time=' "$BTMP/ping")
	printf '  第 %s 輪 %-32s p50 %6s µs  p99 %6s µs  (%s/%s)\n' "$2" "$who" "$p50" "$p99" "$got" "$PINGS"
	PING_P50=$p50 PING_P99=$p99 PING_GOT=$got
}
LAT_METHOD="同一條 veth(命名空間),對端 ping -i 0.005 -c $PINGS,回答者在 CPU 0"
lat_kernel() {
	ping_run kernel "$1"
	bench_row sockets "$KERNEL_PING" baseline "$PING_P50" "$PING_P99" - - - - "$LAT_METHOD" lat \
		"replies=$PING_GOT sent=$PINGS"
}
lat_ours() {
	local prefix="kbs-bench-ping-$$-$RANDOM" log=$BTMP/respond.log pid
	ip netns exec "$NS_A" timeout 120 "$PROG" -l 0 --no-pci "${WIRE_MEM[@]}" --file-prefix="$prefix" \
		--vdev=net_af_xdp0,iface=vx -- --mode respond --ip 0=10.84.0.10 --stats-interval 0 \
		--duration 100 >"$log" 2>&1 &
	pid=$!
	wait_log 30 "$log" '輪詢 [0-9]+ 個佇列' || echo "  注意:respond 沒有啟動"
	ping_run "我們 respond(net_af_xdp)" "$1"
	kill -INT "$pid"
	wait "$pid"
	rm -rf "/var/run/dpdk/$prefix"
	bench_row dpdk "我們 respond 回答 ping(net_af_xdp,veth)" bypass "$PING_P50" "$PING_P99" - - - \
		"$KERNEL_PING" "dpdk_packet_processing --mode respond -l 0 經 net_af_xdp(lcore 忙碌輪詢 AF_XDP socket),${WIRE_MEM[*]};$LAT_METHOD" \
		lat "replies=$PING_GOT sent=$PINGS icmp_counted=$(dpdk_sumval "$log" p0_icmp)"
}

set_wire() {
	need_cmd ip ping taskset ethtool
	netns_pair dbench dbpeer vx vxp 10.84.0.1/24 10.84.0.2/24
	ip netns exec "$NS_A" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$NS_B" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	# DPDK 接收端的 mbuf pool(net_af_xdp 的 UMEM 就是它)放在 hugepage:DPDK 的正常用法;做不到才 --no-huge
	if dpdk_hugepages 128; then
		WIRE_MEM=(-m 256)
		WIRE_HUGE=1
	else
		WIRE_MEM=(--no-huge -m 1024)
		WIRE_HUGE=0
		echo "注意:沒有 hugepage($HUGE_WHY),DPDK 接收端改用 --no-huge -m 1024"
	fi
	# 產生器送進來的 xdp_frame:vx 沒有 native XDP 時(TPACKET_V3、net_af_packet)要有 GRO(NAPI)才收得下
	ip netns exec "$NS_A" ethtool -K vx gro on >/dev/null 2>&1 || true
	# AF_XDP(af_xdp_socket rxdrop --all,native,poll() 等待)只計數不解析:同一條線上的參考列,不畫曲線
	local recv="afxdp afp tpacket" z cmds k
	[ ! -x "$XDP" ] || recv="afxdp afp xsk tpacket"
	echo "== 同一條線:真實大小分布(表格列),$RUNS 輪交錯"
	cmds=()
	for k in $recv; do cmds+=("wire_run $k $MIX mix"); done
	bench_interleave "$RUNS" "${cmds[@]}"
	for z in $SIZES; do
		echo "== 同一條線:$z B(曲線 dpdk_wire)"
		cmds=()
		for k in afxdp afp tpacket; do cmds+=("wire_run $k $BTMP/mix$z.pcap $z"); done
		bench_interleave "$RUNS" "${cmds[@]}"
	done
	echo "== 延遲:核心 vs 我們 respond(net_af_xdp),同一條 veth"
	bench_interleave "$RUNS" lat_kernel lat_ours
}

# ---- 2. 記憶體重播:每個封包的軟體成本 ----------------------------------------------------------

MEM_VDEV="--vdev=net_pcap0,rx_pcap=$MIX,infinite_rx=1"
MEM_NOTE="記憶體重播(net_pcap infinite_rx,不經過線路):每封包軟體成本,不是網路吞吐量"
# 記憶體重播的連接埠:MEM_PORTS=2 時兩個(fwd 要成對的連接埠 0<->1;對照的 testpmd io 也用兩個)
mem_vdevs() {
	MEM_ARGS=("$MEM_VDEV")
	[ "${MEM_PORTS:-1}" = 1 ] || MEM_ARGS+=("${MEM_VDEV/net_pcap0/net_pcap1}")
}

# ours 名稱 基準名稱 模式 [程式選項…]:量一次我們的程式(記憶體重播)
ours() {
	local name=$1 base=$2 mode=$3 prefix="kbs-bench-$$-$RANDOM" log=$BTMP/ours.log pps ev k
	shift 3
	mem_vdevs
	timeout $((SECS + 60)) "$PROG" -l 1 --no-pci --no-huge -m 1024 --file-prefix="$prefix" "${MEM_ARGS[@]}" \
		-- --mode "$mode" --duration "$SECS" --stats-interval 0 "$@" >"$log" 2>&1
	rm -rf "/var/run/dpdk/$prefix"
	pps=$(dpdk_sumval "$log" rx_pps)
	ev="rx=$(dpdk_sumval "$log" rx) tx=$(dpdk_sumval "$log" tx) thread_cpu_ns=$(dpdk_sumval "$log" cpu_ns_per_pkt)"
	if [ "$(dpdk_sumval "$log" parse)" = 1 ]; then
		for k in ipv4 ipv6 tcp udp icmp icmpv6 vlan arp other malformed l4_unverified; do
			ev+=" $k=$(dpdk_sumval "$log" "p0_$k")"
		done
	fi
	printf '  %-60s %8s Mpps\n' "$name" "$(mpps "$pps")"
	bench_row dpdk "$name" bypass - - "${pps:--}" pps "$(dpdk_sumval "$log" cpu_ns_per_pkt)" "$base" \
		"dpdk_packet_processing -l 1 --mode $mode $*,$MEM_NOTE,真實訊框,--no-huge,${SECS}s;CPU = lcore 執行緒 CPU ÷ 封包" \
		- "$ev"
}

stats_lines_ge() { [ "$(grep -c 'Rx-pps:' "$1")" -ge "$2" ]; }
not_running() { ! kill -0 "$1" 2>/dev/null; }

# testpmd 名稱 轉送模式 [testpmd 選項…]:量一次 dpdk-testpmd(記憶體重播)。啟動不計:等它印出
# SECS+1 次每秒統計後送 SIGINT,取每秒 Rx-pps(各連接埠的和)的平均,略過第一秒
testpmd() {
	local name=$1 fwd=$2 prefix="kbs-bench-tp-$$-$RANDOM" pps pid
	local log=$BTMP/$prefix.log
	shift 2
	mem_vdevs
	dpdk-testpmd -l 0-1 --no-pci --no-huge -m 1024 --file-prefix="$prefix" "${MEM_ARGS[@]}" -- --no-mlockall \
		--total-num-mbufs=16384 --forward-mode="$fwd" --nb-cores=1 --stats-period 1 "$@" >"$log" 2>&1 </dev/null &
	pid=$!
	# 背景工作在非互動 shell 裡起初忽略 SIGINT:等 testpmd 開始轉送(裝好 handler)才送
	wait_for $((SECS + 60)) stats_lines_ge "$log" $(((SECS + 1) * ${#MEM_ARGS[@]}))
	kill -INT "$pid" 2>/dev/null
	wait_for 10 not_running "$pid" || kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	rm -rf "/var/run/dpdk/$prefix"
	# 每秒每個連接埠一行 Rx-pps:每秒的總和取平均
	pps=$(awk -v ports=${#MEM_ARGS[@]} '/Rx-pps:/ {n++; if (n > ports) {t += $2; c++}} END {if (c) printf "%.0f\n", t / (c / ports)}' "$log")
	printf '  %-60s %8s Mpps\n' "$name" "$(mpps "$pps")"
	bench_row dpdk "$name" peer - - "${pps:--}" pps "$(awk -v p="${pps:-0}" 'BEGIN {if (p > 0) printf "%.1f", 1e9 / p; else print "-"}')" - \
		"dpdk-testpmd -l 0-1 --nb-cores=1 --forward-mode=$fwd $*,$MEM_NOTE,真實訊框,--no-huge,${SECS} 個每秒 Rx-pps 的平均(略過第一秒);CPU = 1e9 ÷ pps(一個忙碌輪詢的核心)" \
		- "-"
}

# 解析本身每個封包的時間:bench/dpdk_parse_cost 呼叫程式真正的 count_burst()(rxonly + 解析比 --no-parse
# 多做的就是它),不經過 PMD;訊框像 net_pcap 那樣一批 32 個先複製進 mbuf 再解析,扣掉計時本身。
# 重播的比值每輪差到 ±20%;這一列在機器安靜時量得出 1 ns 的差別,鄰居忙的那幾次整次慢到兩倍(看 min–max)
parse_cost() {
	local prefix="kbs-bench-pc-$$-$RANDOM" log=$BTMP/parse_cost.log v ev k
	timeout 60 taskset -c 1 "$PARSECOST" -l 1 --no-pci --no-huge -m 256 --file-prefix="$prefix" -- "$MIX" \
		>"$log" 2>&1
	rm -rf "/var/run/dpdk/$prefix"
	v=$(dpdk_sumval "$log" parse_ns_per_pkt)
	if [ -z "$v" ]; then
		echo "  注意:dpdk_parse_cost 第 $1 輪沒有結果:$(grep -m1 錯誤 "$log")" >&2
		return
	fi
	ev="min_parse_ns_per_pkt=$(dpdk_sumval "$log" min_parse_ns_per_pkt) timer_ns_per_pkt=$(dpdk_sumval "$log" timer_ns_per_pkt)"
	for k in pkts reps ipv4 ipv6 tcp udp icmp vlan malformed l4_unverified; do ev+=" $k=$(dpdk_sumval "$log" "$k")"; done
	printf '  %-60s %8s ns/封包\n' "解析本身(count_burst,單獨量測)" "$v"
	bench_row dpdk "我們的解析本身(count_burst,單獨量測)" bypass - - - - "$v" - \
		"bench/dpdk_parse_cost:同一組真實訊框,一批 32 個先複製進 mbuf(像 net_pcap)再計時 count_burst(),扣掉計時本身;1501 輪的中位數(約 1 秒),CPU 1,--no-huge;解析計數是一輪的" \
		- "$ev"
}

set_mem() {
	local tio="testpmd io(記憶體重播,2 個連接埠)" tms="testpmd macswap(記憶體重播)" trx="testpmd rxonly(記憶體重播)"
	eval "m1() { testpmd '$trx' rxonly; }"
	eval "m2() { ours '我們 rxonly + 解析(記憶體重播,預設 --l4-cksum hw)' '$trx' rxonly; }"
	eval "m3() { testpmd '$tms' macswap; }"
	eval "m4() { ours '我們 macswap(記憶體重播)' '$tms' macswap --no-parse; }"
	eval "m5() { ours '我們 macswap + 解析(記憶體重播)' '$tms' macswap; }"
	eval "m6() { ours '我們 macswap + 解析 + 軟體 L4 checksum(記憶體重播,--l4-cksum sw)' '$tms' macswap --l4-cksum sw; }"
	eval "m7() { MEM_PORTS=2 testpmd '$tio' io; }"
	eval "m8() { MEM_PORTS=2 ours '我們 fwd io 引擎(記憶體重播,2 個連接埠)' '$tio' fwd --no-parse; }"
	if [ "${T_BENCH_QUICK:-0}" = 1 ]; then
		bench_interleave "$RUNS" m1 m2 m3 m4 parse_cost
	else
		bench_interleave "$RUNS" m1 m2 m3 m4 m5 m6 m7 m8 parse_cost
	fi
}

# ---- 3. burst 大小 ------------------------------------------------------------------------------

burst_run() {
	local b=$1 prefix="kbs-bench-burst-$$-$RANDOM" log=$BTMP/burst.log cpu
	timeout $((SECS + 60)) "$PROG" -l 1 --no-pci --no-huge -m 1024 --file-prefix="$prefix" "$MEM_VDEV" \
		-- --mode rxonly --burst "$b" --duration "$SECS" --stats-interval 0 >"$log" 2>&1
	rm -rf "/var/run/dpdk/$prefix"
	cpu=$(dpdk_sumval "$log" cpu_ns_per_pkt)
	printf '  第 %s 輪 burst %-4s %8s Mpps  %6s ns/封包(平均 burst %s)\n' "$2" "$b" \
		"$(mpps "$(dpdk_sumval "$log" rx_pps)")" "${cpu:--}" "$(dpdk_sumval "$log" avg_burst)"
	bench_point dpdk_burst ours "$b" cpu_ns "${cpu:--}"
}
set_burst() {
	local b cmds=()
	for b in $BURSTS; do cmds+=("burst_run $b"); done
	bench_interleave "$RUNS" "${cmds[@]}"
}

for s in $SETS; do
	case $s in
	wire | mem | burst)
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
echo "(同一條線的列:DPDK、AF_XDP、TPACKET_V3 收的是同一個產生器送出的同一組訊框;"
echo " 記憶體重播的列是每封包的軟體成本,不是網路吞吐量。目標:rxonly + 解析 >= 0.85x testpmd rxonly)"

# 每一列都有數字,而且真實訊框真的被解析了(解析計數出現在 evidence)
check_rows() {
	[ -s "$RAW" ] || fail "沒有任何結果"
	awk -F'\t' '$1 != "skip" && NF >= 12 && $6 == "-" && $4 == "-" && $8 == "-" {print "沒有數字:" $2; bad = 1}
		$1 == "dpdk" && $2 ~ /解析/ && $12 !~ / ipv4=[1-9]/ {print "沒有解析計數:" $2; bad = 1}
		$1 == "dpdk" && $2 ~ /解析/ && $12 !~ / malformed=0( |$)/ {print "真實訊框不該有 malformed:" $2; bad = 1}
		END {exit bad}' "$RAW" >"$T_TMP/bad" || fail "$(head -n 3 "$T_TMP/bad" | tr '\n' ' ')"
}
check dpdk_bench_rows check_rows
