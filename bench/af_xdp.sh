#!/bin/bash
# bench/af_xdp.sh — AF_XDP 收包與回應延遲 vs 傳統 socket(sudo ./run_tests.sh -p af_xdp)
#
# 拓撲:命名空間 A(va,接收端,CPU 0)── veth ── 命名空間 B(vb,產生器,CPU 1)
# 產生器:bench/xdp_livegen,在核心裡以 XDP live frames 重複送同一個真的 UDP frame(到 198.18.0.1:9,
#   payload 是 A..Z、檢查碼正確;表格用 64 B,曲線另外量 512 與 1500 B)。
#   frame 以 xdp_frame 的形式進到 va(沒有 skb),就像真實網卡的驅動程式收到封包:
#   AF_XDP native 直接在 frame 上執行 XDP 程式,核心路徑(TPACKET、UDP socket)要先建 skb。
#   在 veth 上,接收端的核心工作(XDP 程式、複製進 UMEM,或建 skb、協定堆疊)在送出端的 CPU 1
#   以 softirq 執行,所以量到的速率 = CPU 1 每秒能「產生 + 核心收下」幾個封包。
# 接收端(每一輪交錯順序,共 BENCH_RUNS 輪:-p 為 5,-p quick 為 3;BENCH_ROUNDS 可覆寫):
#   AF_XDP rxdrop native、AF_XDP rxdrop SKB(都是預設設定:poll() 等待、預設 frame 數)、
#   TPACKET_V3(bench/pkt_rx,32 MiB 的 block ring)、recvmmsg UDP socket(一次 64 個)
# 每次量測:
#   pps      = 接收端收到的數量 ÷ 產生器送出所花的時間;送達率 = 收到 ÷ 送出
#   CPU/封包 = (產生器行程 + 接收行程 + ksoftirqd 的 CPU 時間)÷ 收到的數量。
#              產生器行程的 CPU 包含在它裡面執行的 softirq(核心的收包工作),所以這是
#              「收一個封包」整條路徑的 CPU;不受機器上其他行程影響。
# 曲線(bench_point af_xdp,給比較圖):同一條 veth、同一個產生器,frame 64 / 512 / 1500 B(-p quick:64 與 1500),
#   四種接收端各 BENCH_RUNS 次交錯:pps 與 CPU/封包(算法同上)。64 B 的點就是表格那幾次量測。
# 延遲:ping -i 0.001 -c N 的 p50/p99,分別由核心、AF_XDP respond(預設 poll)、AF_XDP respond -B 回答;
#   總覽表的延遲格是 -B(忙碌輪詢)那一列,對照同一條 veth 上核心自己回答的 ping。
# 閒置 CPU:AF_XDP respond 沒有流量時 3 秒內用掉的 CPU(目標 < 10%)。
# 每一列寫 BENCH_ROUNDS 次 bench_row(一次量測一列),比較表取中位數與 min–max。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
cd "$T_ROOT" || exit 1

XDP=$T_ROOT/af_xdp_socket
RX=$T_ROOT/bench/pkt_rx
GEN=$T_ROOT/bench/xdp_livegen
N=${AFXDP_FRAMES:-2000000}
ROUNDS=${BENCH_ROUNDS:-$BENCH_RUNS}
PINGS=1000
RECEIVERS=${RECEIVERS:-"xdp_native xdp_skb tpacket3 udp"}
RESPONDERS=${RESPONDERS:-"kernel xdp_poll xdp_busy"}
CURVE_SIZES=${CURVE_SIZES:-"512 1500"} # 64 B 的點來自表格那幾次量測
if [ "${T_BENCH_QUICK:-0}" = 1 ]; then # -p quick:<= 3 分鐘
	CURVE_SIZES=${CURVE_SIZES_QUICK:-1500}
	N=${AFXDP_FRAMES:-1000000}
	PINGS=500
fi
if [ -n "${DEMO_SHORT:-}" ]; then
	N=500000
	ROUNDS=${BENCH_ROUNDS:-1}
	PINGS=300
	CURVE_SIZES=
fi
HZ=$(getconf CLK_TCK)

is_root || {
	echo "略過  af_xdp 效能比較:需要 root(sudo ./run_tests.sh -p af_xdp)"
	bench_skip "需要 root"
	exit 0
}
for b in "$XDP" "$RX" "$GEN"; do
	[ -x "$b" ] || {
		echo "略過  af_xdp 效能比較:$(basename "$b") 未建置"
		bench_skip "$(basename "$b") 未建置(缺 libxdp-dev / libbpf-dev / clang?)"
		exit 0
	}
done

netns_pair xa xb va vb 198.18.0.1/24 198.18.0.2/24
for ns in "$NS_A" "$NS_B"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
# 另一端 XDP 送進 veth 的 frame:va 沒有 native XDP 時要 GRO(NAPI)才會被收下(見 PLATFORM.md)
ip netns exec "$NS_A" ethtool -K va gro on >/dev/null 2>&1 || true
VA_MAC=$(ip -n "$NS_A" -br link show va | awk '{print $3}')
TMPD=$(mktemp -d)
on_exit "rm -rf '$TMPD'"

proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
softirqd_ticks() {
	local p t=0
	for p in $(pgrep -x 'ksoftirqd/[0-9]+'); do t=$((t + $(proc_ticks "$p"))); done
	echo "$t"
}

label_of() {
	case $1 in
	xdp_native) echo "AF_XDP rxdrop native (veth)" ;;
	xdp_skb) echo "AF_XDP rxdrop SKB (veth)" ;;
	tpacket3) echo "TPACKET_V3 rx (veth)" ;;
	udp) echo "recvmmsg UDP socket rx (veth)" ;;
	kernel) echo "核心回答 ping (veth)" ;;
	xdp_poll) echo "AF_XDP respond poll (veth)" ;;
	xdp_busy) echo "AF_XDP respond busy-poll (veth)" ;;
	esac
}

# 曲線上的系列名稱(tests/lib.sh 的 bench_point 規格)
series_of() {
	case $1 in
	xdp_native) echo "AF_XDP native" ;;
	xdp_skb) echo "AF_XDP SKB" ;;
	tpacket3) echo "TPACKET_V3" ;;
	udp) echo "recvmmsg" ;;
	esac
}

RX_METHOD="64 B UDP 送到 9 埠,veth、命名空間,產生器 XDP live frames(CPU 1)全速送 $N 個,接收端 CPU 0;CPU/封包 = (產生器 + 接收端 + ksoftirqd)CPU ÷ 收到數"

# 一次收包量測;64 B 時也寫表格的列(bench_row),每個大小都寫曲線的點(bench_point)
rx_run() { # 接收端 frame大小 輪次
	local kind=$1 size=$2 round=$3 rlog=$TMPD/rx.log glog=$TMPD/gen.log rpid s0 s1 n=$N
	[ "$size" = 64 ] || n=$((N / 2)) # 大 frame 每個要複製比較久:一半的數量就夠讓每次量測持續數秒
	case $kind in
	xdp_native) ip netns exec "$NS_A" "$XDP" -q -N -m rxdrop --cpu 0 va 0 >"$rlog" 2>&1 & ;;
	xdp_skb) ip netns exec "$NS_A" "$XDP" -q -S -m rxdrop --cpu 0 va 0 >"$rlog" 2>&1 & ;;
	tpacket3) ip netns exec "$NS_A" "$RX" tpacket3 va 300 0 >"$rlog" 2>&1 & ;;
	udp) ip netns exec "$NS_A" "$RX" recvmmsg 9 300 0 >"$rlog" 2>&1 & ;;
	esac
	rpid=$!
	if [[ $kind == xdp_* ]]; then
		wait_log 10 "$rlog" '實際生效' || true
	else
		sleep 0.3
	fi
	s0=$(softirqd_ticks)
	ip netns exec "$NS_B" taskset -c 1 "$GEN" --size "$size" vb "$VA_MAC" 198.18.0.1 "$n" >"$glog" 2>&1
	sleep 0.2
	s1=$(softirqd_ticks)
	kill -INT "$rpid" 2>/dev/null
	wait "$rpid"
	local got sent el ev=-
	if [[ $kind == xdp_* ]]; then got=$(kv "$rlog" rx); else got=$(kv "$rlog" received); fi
	sent=$(kv "$glog" sent)
	el=$(kv "$glog" elapsed_s)
	if [ -z "$got" ] || [ "${got:-0}" = 0 ] || [ -z "$sent" ] || [ "${sent:-0}" = 0 ]; then
		echo "  注意:$kind $size B 第 $round 輪沒有結果:$(grep -m1 錯誤 "$rlog" "$glog")" >&2
		bench_point af_xdp "$(series_of "$kind")" "$size" pps -
		bench_point af_xdp "$(series_of "$kind")" "$size" cpu_ns -
		return
	fi
	local pps deliv cpu
	read -r pps deliv cpu < <(awk -v g="$got" -v s="$sent" -v e="$el" -v gc="$(kv "$glog" cpu_s)" \
		-v rc="$(kv "$rlog" cpu_s)" -v st=$((s1 - s0)) -v hz="$HZ" \
		'BEGIN { printf "%.0f %.2f %.0f\n", g / e, 100 * g / s, (gc + rc + st / hz) * 1e9 / g }')
	ev="delivery_pct=$deliv sent=$sent received=$got"
	[[ $kind == xdp_* ]] && ev="$ev redirected=$(kv "$rlog" xdp_redirected) passed=$(kv "$rlog" xdp_passed) rx_dropped=$(kv "$rlog" rx_dropped)"
	printf '  第 %s 輪 %4s B %-32s %10s pps  送達 %6s%%  %6s ns/封包\n' "$round" "$size" "$(label_of "$kind")" "$pps" "$deliv" "$cpu"
	bench_point af_xdp "$(series_of "$kind")" "$size" pps "$pps"
	bench_point af_xdp "$(series_of "$kind")" "$size" cpu_ns "$cpu"
	[ "$size" = 64 ] || return 0
	case $kind in
	tpacket3) bench_row sockets "$(label_of "$kind")" baseline - - "$pps" pps "$cpu" - "$RX_METHOD" thr,cpu "$ev" ;;
	udp) bench_row af_xdp "$(label_of "$kind")" baseline - - "$pps" pps "$cpu" - "$RX_METHOD" - "$ev" ;;
	xdp_native) bench_row af_xdp "$(label_of "$kind")" bypass - - "$pps" pps "$cpu" "$(label_of tpacket3)" "$RX_METHOD" thr,cpu "$ev" ;;
	*) bench_row af_xdp "$(label_of "$kind")" bypass - - "$pps" pps "$cpu" "$(label_of tpacket3)" "$RX_METHOD" - "$ev" ;;
	esac
}

# ping 的 p50 / p99(µs)
ping_stats() {
	ip -n "$NS_B" neigh flush dev vb 2>/dev/null
	ip netns exec "$NS_B" ping -i 0.001 -c "$PINGS" -W 1 198.18.0.1 2>/dev/null |
		sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR < 10) { print "- -"; exit } printf "%.1f %.1f\n", v[int(NR * 0.5) + 1] * 1000, v[int(NR * 0.99) + 1] * 1000 }'
}

LAT_METHOD="ping -i 0.001 -c $PINGS 從對端命名空間,回答者在 CPU 0"

# 一次延遲量測
lat_run() { # 回答者 輪次
	local who=$1 p50 p99 ev=- rlog=$TMPD/resp.log rp=
	case $who in
	xdp_poll | xdp_busy)
		local flag=
		[ "$who" = xdp_busy ] && flag=-B
		ip netns exec "$NS_A" "$XDP" -q -N ${flag:+"$flag"} --cpu 0 va 0 >"$rlog" 2>&1 &
		rp=$!
		wait_log 10 "$rlog" '實際生效' || true
		;;
	esac
	local idle=
	if [ "$who" = xdp_poll ]; then
		local t0
		t0=$(proc_ticks "$rp")
		sleep 3
		idle=$(awk -v t=$(($(proc_ticks "$rp") - t0)) -v hz="$HZ" 'BEGIN { printf "%.1f", 100 * t / hz / 3 }')
	fi
	read -r p50 p99 <<<"$(ping_stats)"
	if [ -n "$rp" ]; then
		kill -INT "$rp" 2>/dev/null
		wait "$rp"
		ev="icmp_reply=$(kv "$rlog" icmp_reply) redirected=$(kv "$rlog" xdp_redirected) passed=$(kv "$rlog" xdp_passed)"
		[ -n "$idle" ] && ev="$ev idle_cpu_pct=$idle"
	fi
	printf '  第 %s 輪 %-32s p50 %6s µs  p99 %6s µs%s\n' "$2" "$(label_of "$who")" "$p50" "$p99" \
		"${idle:+  閒置 CPU ${idle}%}"
	case $who in
	kernel) bench_row sockets "$(label_of "$who")" baseline "$p50" "$p99" - - - - "$LAT_METHOD" lat "$ev" ;;
	xdp_busy) bench_row af_xdp "$(label_of "$who")" bypass "$p50" "$p99" - - - "$(label_of kernel)" "$LAT_METHOD" lat "$ev" ;;
	*) bench_row af_xdp "$(label_of "$who")" bypass "$p50" "$p99" - - - "$(label_of kernel)" "$LAT_METHOD" - "$ev" ;;
	esac
}

# run_interleaved 函式 參數 名單:名單裡每個 k 執行「函式 k 參數」,ROUNDS 輪交錯
run_interleaved() {
	local fn=$1 arg=$2 k cmds=()
	for k in $3; do cmds+=("$fn $k${arg:+ $arg}"); done
	bench_interleave "$ROUNDS" "${cmds[@]}"
}

echo "AF_XDP 收包比較:$RX_METHOD;$ROUNDS 輪交錯"
run_interleaved rx_run 64 "$RECEIVERS"
for size in $CURVE_SIZES; do
	echo
	echo "曲線:$size B frame(其他同上;每個接收端 $((N / 2)) 個 frame);$ROUNDS 輪交錯"
	run_interleaved rx_run "$size" "$RECEIVERS"
done

echo
echo "回應延遲:$LAT_METHOD;$ROUNDS 輪交錯"
run_interleaved lat_run "" "$RESPONDERS"

echo
bench_report
echo "目標(僅供參考,不會失敗):native rxdrop >= 2.5x TPACKET_V3 且送達率 >= 99%;busy-poll 回應 p50 <= 1.5x 核心;閒置 CPU < 10%"
