#!/bin/bash
# bench/af_xdp.sh — AF_XDP 收包與回應延遲 vs 傳統 socket(sudo ./run_tests.sh -p af_xdp)
#
# 拓撲:命名空間 A(va,接收端,CPU 0)── veth ── 命名空間 B(vb,產生器,CPU 1)
# 產生器:af_xdp_socket -m txonly(AF_XDP TX),64 B UDP frame,送固定數量。
# 接收端(交錯順序 A B C D D C B A):
#   AF_XDP rxdrop native、AF_XDP rxdrop SKB、TPACKET_V3(bench/pkt_rx)、recvmmsg UDP socket
# pps = 收到的數量 ÷ 產生器實際送出所花的時間;送達率 = 收到 ÷ 送出。
# 兩種速率:全速(飽和)與 100k pps(低於飽和,應 100% 送達)。
# 延遲:ping -i 0.001 -c N 的 p50/p99,分別由 AF_XDP respond(poll、busy-poll)與核心回答。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
cd "$T_ROOT" || exit 1

XDP=$T_ROOT/af_xdp_socket
RX=$T_ROOT/bench/pkt_rx
SHORT=${DEMO_SHORT:-}
N_FULL=${AFXDP_FRAMES:-2000000}
N_SLOW=200000
PINGS=1000
if [ -n "$SHORT" ]; then
	N_FULL=300000
	N_SLOW=50000
	PINGS=300
fi
RECEIVERS=${RECEIVERS:-"xdp_native tpacket3 udp xdp_skb"}

is_root || {
	echo "略過  af_xdp 效能比較:需要 root(sudo ./run_tests.sh -p af_xdp)"
	bench_skip "需要 root"
	exit 0
}
for b in "$XDP" "$RX"; do
	[ -x "$b" ] || {
		echo "略過  af_xdp 效能比較:$(basename "$b") 未建置"
		bench_skip "$(basename "$b") 未建置(缺 libxdp-dev / libbpf-dev?)"
		exit 0
	}
done

netns_pair xa xb va vb 198.18.0.1/24 198.18.0.2/24
for ns in "$NS_A" "$NS_B"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
# 核心收包路徑:AF_XDP TX 送進 veth 的 frame 需要 GRO 才會被收下(見 PLATFORM.md)
ip netns exec "$NS_A" ethtool -K va gro on >/dev/null 2>&1 || true
VA_MAC=$(ip -n "$NS_A" -br link show va | awk '{print $3}')
TMPD=$(mktemp -d)
on_exit "rm -rf '$TMPD'"

# run_rx 接收端 數量 速率 -> 印出 "pps 送達率%"
run_rx() {
	local kind=$1 n=$2 rate=$3 rlog=$TMPD/rx.log glog=$TMPD/gen.log rpid
	# 接收端先開著,產生器送完後再以 SIGTERM 結束它(兩者都會印出結果)
	case $kind in
	xdp_native) ip netns exec "$NS_A" taskset -c 0 "$XDP" -q -N -m rxdrop --duration 120 va 0 >"$rlog" 2>&1 & ;;
	xdp_skb) ip netns exec "$NS_A" taskset -c 0 "$XDP" -q -S -m rxdrop --duration 120 va 0 >"$rlog" 2>&1 & ;;
	tpacket3) ip netns exec "$NS_A" "$RX" tpacket3 va 120 0 >"$rlog" 2>&1 & ;;
	udp) ip netns exec "$NS_A" "$RX" recvmmsg 9001 120 0 >"$rlog" 2>&1 & ;;
	esac
	rpid=$!
	if [[ $kind == xdp_* ]]; then
		wait_log 10 "$rlog" '實際生效' || true
	else
		sleep 0.3
	fi
	ip netns exec "$NS_B" taskset -c 1 "$XDP" -q -S -m txonly --dst-ip 198.18.0.1 --dst-mac "$VA_MAC" \
		--count "$n" --rate "$rate" vb 0 >"$glog" 2>&1
	sleep 0.3
	kill -TERM "$rpid" 2>/dev/null
	wait "$rpid"
	local got sent el
	if [[ $kind == xdp_* ]]; then got=$(kv "$rlog" rx); else got=$(kv "$rlog" received); fi
	sent=$(kv "$glog" tx)
	el=$(kv "$glog" elapsed_s)
	if [ -z "$got" ] || [ -z "$sent" ] || [ "${sent:-0}" = 0 ]; then
		echo "- -"
		return
	fi
	awk -v g="$got" -v s="$sent" -v e="$el" 'BEGIN { printf "%.0f %.1f\n", g / e, 100 * g / s }'
}

declare -A PPS DELIV
measure() { # 速率標籤 數量 速率
	local label=$1 n=$2 rate=$3 order=() k out
	read -r -a order <<<"$RECEIVERS"
	local rev=()
	for ((k = ${#order[@]} - 1; k >= 0; k--)); do rev+=("${order[k]}"); done
	for k in "${order[@]}" "${rev[@]}"; do
		out=$(run_rx "$k" "$n" "$rate")
		echo "  $label $k:$out pps / 送達率 %" >&2
		PPS[$label.$k]="${PPS[$label.$k]:-} ${out% *}"
		DELIV[$label.$k]="${DELIV[$label.$k]:-} ${out#* }"
	done
}
mean() { awk '{ n = 0; s = 0; for (i = 1; i <= NF; i++) if ($i != "-") { s += $i; n++ } print (n ? s / n : "-") }' <<<"$1"; }

echo "AF_XDP 收包比較:64 B UDP,產生器 AF_XDP TX(CPU 1),接收端 CPU 0,順序 A B C D D C B A"
measure full "$N_FULL" 0
measure slow "$N_SLOW" 100000

name_of() {
	case $1 in
	xdp_native) echo "AF_XDP rxdrop native" ;;
	xdp_skb) echo "AF_XDP rxdrop SKB" ;;
	tpacket3) echo "TPACKET_V3 rx" ;;
	udp) echo "recvmmsg UDP socket rx" ;;
	esac
}
printf '\n%-26s %14s %10s %16s %10s\n' 接收端 全速pps 送達率% "100k pps 送達率%" 對TPACKET比
base=$(mean "${PPS[full.tpacket3]:-}")
for k in $RECEIVERS; do
	p=$(mean "${PPS[full.$k]:-}")
	d=$(mean "${DELIV[full.$k]:-}")
	ds=$(mean "${DELIV[slow.$k]:-}")
	r=$(ratio "$p" "$base")
	printf '%-26s %14s %10s %16s %10s\n' "$(name_of "$k")" "$p" "$d" "$ds" "$r"
	method="64B UDP veth in netns, generator af_xdp txonly CPU1, receiver CPU0, ${N_FULL} frames flat out, delivery ${d}% (100k pps: ${ds}%)"
	case $k in
	tpacket3 | udp) bench_row sockets "$(name_of "$k") (veth)" baseline - - "$p" pps - - "$method" ;;
	*) bench_row af_xdp "$(name_of "$k") (veth)" bypass - - "$p" pps - "TPACKET_V3 rx (veth)" "$method" ;;
	esac
done

# ---- 回應延遲:ping 由 AF_XDP 回答 vs 由核心回答 ----
ping_stats() { # -> "p50 p99"(µs)
	ip -n "$NS_B" neigh flush all
	ip netns exec "$NS_B" ping -i 0.001 -c "$PINGS" -W 1 198.18.0.1 2>/dev/null |
		sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n |
		awk '{ v[NR] = $1 } END { if (!NR) { print "- -"; exit } printf "%.1f %.1f\n", v[int(NR * 0.5) + 1] * 1000, v[int(NR * 0.99) + 1] * 1000 }'
}
echo
echo "回應延遲:ping -i 0.001 -c $PINGS(µs)"
declare -A LAT
for round in 1 2; do
	for who in kernel xdp_poll xdp_busy xdp_busy xdp_poll kernel; do
		[ "$round" = 2 ] && [ -n "$SHORT" ] && break
		case $who in
		kernel) out=$(ping_stats) ;;
		xdp_poll | xdp_busy)
			flag=-p
			[ "$who" = xdp_busy ] && flag=-B
			ip netns exec "$NS_A" taskset -c 0 "$XDP" -q -N "$flag" va 0 >"$TMPD/resp.log" 2>&1 &
			rp=$!
			wait_log 10 "$TMPD/resp.log" '實際生效' || true
			out=$(ping_stats)
			kill -TERM "$rp"
			wait "$rp"
			;;
		esac
		LAT[$who]="${LAT[$who]:-}|$out"
	done
done
lat_mean() { tr '|' '\n' <<<"${LAT[$1]}" | awk 'NF == 2 && $1 != "-" { a += $1; b += $2; n++ } END { if (n) printf "%.1f %.1f\n", a / n, b / n; else print "- -" }'; }
read -r kp50 kp99 <<<"$(lat_mean kernel)"
printf '%-28s %8s %8s %8s\n' 回答者 p50 p99 p50比
printf '%-28s %8s %8s %8s\n' "核心(同一條 veth)" "$kp50" "$kp99" 1.00x
bench_row sockets "kernel answers ping (veth)" baseline "$kp50" "$kp99" - - - - "ping -i 0.001 -c $PINGS from peer netns"
for who in xdp_poll xdp_busy; do
	read -r p50 p99 <<<"$(lat_mean "$who")"
	r=$(ratio "$p50" "$kp50")
	label="AF_XDP respond native $([ "$who" = xdp_poll ] && echo poll || echo busy-poll)"
	printf '%-28s %8s %8s %8s\n' "$label" "$p50" "$p99" "$r"
	bench_row af_xdp "$label (veth)" bypass "$p50" "$p99" - - - "kernel answers ping (veth)" \
		"ping -i 0.001 -c $PINGS from peer netns, responder CPU0"
done
echo "目標(僅供參考):native rxdrop >= 2.0x TPACKET_V3、低於飽和 100% 送達;回應 p50 <= 1.5x 核心"
