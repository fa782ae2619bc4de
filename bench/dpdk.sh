#!/bin/bash
# bench/dpdk.sh — DPDK 效能比較(sudo ./run_tests.sh -p dpdk)
#
# 在 net_null 連接埠對上,以一個轉送核心,同一次執行中交錯(A B B A)量測:
#   我們的 macswap(不解析) vs dpdk-testpmd --forward-mode=macswap
#   我們的 fwd(不解析)     vs dpdk-testpmd --forward-mode=io
#   我們的 macswap(完整協定解析) vs dpdk-testpmd macswap
# 沒有 hugepage(--no-huge)與有 hugepage 各一輪(暫時保留 hugepage,結束時恢復)。
# 結果以 Mpps 記錄;testpmd 的列是對照基準(role=baseline)。速度不會造成失敗。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/dpdk_packet_processing
SECS=${DPDK_BENCH_SECS:-3}
# 要跑的輪次(預設全部):nohuge huge veth
ROUNDS=${DPDK_BENCH_ROUNDS:-nohuge huge veth}
HUGE_SYS=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
RESULTS=$(mktemp)
on_exit "rm -f '$RESULTS'"

if ! is_root; then
	echo "略過:DPDK 效能比較需要 root(sudo ./run_tests.sh -p dpdk)"
	bench_skip "需要 root"
	exit 0
fi
if [ ! -x "$PROG" ] || ! command -v dpdk-testpmd >/dev/null 2>&1; then
	echo "略過:dpdk_packet_processing 未建置或找不到 dpdk-testpmd"
	bench_skip "dpdk_packet_processing 未建置或找不到 dpdk-testpmd"
	exit 0
fi

# mem_args 記憶體模式:EAL 的記憶體參數
mem_args() {
	if [ "$1" = huge ]; then
		echo "-m 512 --huge-unlink"
	else
		echo "--no-huge -m 1024"
	fi
}

# ours 記憶體模式 模式 [程式選項…]:印出 Mpps(一個轉送核心:只有主 lcore 0)
ours() {
	local mem=$1 mode=$2 prefix="kbs-bench-$$-$RANDOM" out
	shift 2
	# shellcheck disable=SC2046 # mem_args 刻意拆開
	out=$(timeout $((SECS + 30)) "$PROG" -l 0 --no-pci $(mem_args "$mem") --file-prefix="$prefix" \
		--vdev=net_null0 --vdev=net_null1 -- --mode "$mode" --duration "$SECS" \
		--stats-interval 0 "$@" 2>&1)
	rm -rf "/var/run/dpdk/$prefix" /dev/hugepages/"$prefix"map_* 2>/dev/null
	echo "$out" | grep '^SUMMARY' | tr ' ' '\n' | awk -F= '$1 == "rx_pps" {printf "%.3f\n", $2 / 1e6}'
}

# testpmd 記憶體模式 轉送模式:印出 Mpps(主 lcore 0 只管統計,轉送核心 lcore 1)
# 每秒的 Rx-pps 取第一秒之後的平均(兩個連接埠相加)
testpmd() {
	local mem=$1 fwd=$2 prefix="kbs-bench-tp-$$-$RANDOM" out mbufs=""
	[ "$mem" = huge ] || mbufs="--total-num-mbufs=16384"
	# shellcheck disable=SC2046,SC2086 # 刻意拆開
	out=$(timeout -s INT $((SECS + 2)) dpdk-testpmd -l 0-1 --no-pci $(mem_args "$mem") \
		--file-prefix="$prefix" --vdev=net_null0 --vdev=net_null1 -- --no-mlockall $mbufs \
		--forward-mode="$fwd" --nb-cores=1 --stats-period 1 2>&1 </dev/null)
	rm -rf "/var/run/dpdk/$prefix" /dev/hugepages/"$prefix"map_* 2>/dev/null
	echo "$out" | awk '/Rx-pps:/ {sum += $2; n++; if (n % 2 == 0) {per[++k] = sum; sum = 0}}
		END {t = 0; c = 0; for (i = 2; i <= k; i++) {t += per[i]; c++}
		     if (c) printf "%.3f\n", t / c / 1e6}'
}

# measure 記憶體模式 名稱 基準名稱 我們的模式 testpmd 模式 [我們的選項…]
# 交錯 A B B A,各取兩次的平均
measure() {
	local mem=$1 name=$2 base=$3 mode=$4 fwd=$5 a1 b1 b2 a2
	shift 5
	a1=$(ours "$mem" "$mode" "$@")
	b1=$(testpmd "$mem" "$fwd")
	b2=$(testpmd "$mem" "$fwd")
	a2=$(ours "$mem" "$mode" "$@")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mem" "$name" "$base" "$a1" "$a2" "$b1" "$b2" >>"$RESULTS"
	printf '  %-28s %s / %s Mpps   %-26s %s / %s Mpps\n' "$name" "${a1:--}" "${a2:--}" "$base" "${b1:--}" "${b2:--}"
}

run_round() {
	local mem=$1 tag=$2
	echo "== $tag:net_null 連接埠對,一個轉送核心,每次 ${SECS} 秒(我們 A、testpmd B,順序 A B B A)"
	measure "$mem" "ours-macswap-$tag" "testpmd-macswap-$tag" macswap macswap --no-parse
	measure "$mem" "ours-fwd-$tag" "testpmd-io-$tag" fwd io --no-parse
	measure "$mem" "ours-macswap-parse-$tag" "testpmd-macswap-$tag" macswap macswap
}

check_ran() {
	case " $ROUNDS " in
	*" nohuge "* | *" huge "*) ;;
	*) skip "DPDK_BENCH_ROUNDS 沒有 net_null 輪次" ;;
	esac
	[ -s "$RESULTS" ] || fail "沒有任何結果"
	awk -F'\t' '$4 == "" || $6 == "" {bad = 1} END {exit bad}' "$RESULTS" ||
		fail "有量測沒有產生數字"
}

# 有 hugepage 的一輪:暫時保留,結束時恢復原本的數量
huge_round() {
	local orig_huge free
	if [ ! -w "$HUGE_SYS" ]; then
		echo "略過有 hugepage 的一輪:此核心沒有 2 MiB hugepage"
		return
	fi
	orig_huge=$(cat "$HUGE_SYS")
	on_exit "echo $orig_huge > $HUGE_SYS"
	free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)
	[ "$free" -ge 600 ] || echo $((orig_huge + 600 - free)) >"$HUGE_SYS"
	if ! grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts; then
		mkdir -p /dev/hugepages
		mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages && on_exit "umount /dev/hugepages"
	fi
	if [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)" -ge 600 ] &&
		grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts; then
		run_round huge hugepages
	else
		echo "略過有 hugepage 的一輪:無法保留 600 個 2 MiB hugepage"
	fi
}

# 傳統 socket 對照:veth 上,產生器(CPU 0)送 64 B UDP;接收端(CPU 1)輪流是
# 核心 AF_PACKET + recvmmsg,以及我們的 rxonly 經 net_af_packet(A B B A)
SOCKBENCH=$T_ROOT/bench/dpdk_sockbench
veth_round() {
	local A="kbs-dbench-a-$$" B="kbs-dbench-b-$$" gen k1 k2 d1 d2 k d
	if [ ! -x "$SOCKBENCH" ] || ! command -v taskset >/dev/null 2>&1; then
		echo "略過 veth 對照:dpdk_sockbench 未建置或找不到 taskset"
		return
	fi
	ip netns add "$A" || return
	on_exit "ip netns del '$A'"
	ip netns add "$B" || return
	on_exit "ip netns del '$B'"
	ip link add vdb numtxqueues 1 numrxqueues 1 netns "$A" type veth \
		peer name vgen numtxqueues 1 numrxqueues 1 netns "$B" || return
	ip -n "$A" link set vdb up
	ip -n "$B" link set vgen up
	echo "== veth:產生器以 AF_PACKET sendmmsg 送 64 B UDP(CPU 0),接收端在 CPU 1,每次 ${SECS} 秒"
	ip netns exec "$B" taskset -c 0 "$SOCKBENCH" tx vgen $((SECS * 4 + 8)) >/dev/null 2>&1 &
	gen=$!
	on_exit "kill $gen"
	sleep 0.5
	sock_rx() {
		ip netns exec "$A" taskset -c 1 "$SOCKBENCH" rx vdb "$SECS" 2>/dev/null |
			sed -n 's/.* pps=\([0-9]*\).*/\1/p' | awk '{printf "%.3f\n", $1 / 1e6}'
	}
	dpdk_rx() {
		local prefix="kbs-bench-afp-$$-$RANDOM"
		ip netns exec "$A" timeout $((SECS + 30)) "$PROG" -l 1 --no-pci --no-huge -m 1024 \
			--file-prefix="$prefix" --vdev=net_af_packet0,iface=vdb -- --mode rxonly \
			--duration "$SECS" --stats-interval 0 2>/dev/null |
			grep '^SUMMARY' | tr ' ' '\n' | awk -F= '$1 == "rx_pps" {printf "%.3f\n", $2 / 1e6}'
		rm -rf "/var/run/dpdk/$prefix"
	}
	k1=$(sock_rx)
	d1=$(dpdk_rx)
	d2=$(dpdk_rx)
	k2=$(sock_rx)
	kill "$gen" 2>/dev/null
	wait "$gen" 2>/dev/null
	printf '  %-28s %s / %s Mpps\n' "kernel AF_PACKET recvmmsg" "${k1:--}" "${k2:--}"
	printf '  %-28s %s / %s Mpps\n' "ours rxonly(net_af_packet)" "${d1:--}" "${d2:--}"
	k=$(awk -v x="$k1" -v y="$k2" 'BEGIN {if (x != "" && y != "") printf "%.3f", (x + y) / 2}')
	d=$(awk -v x="$d1" -v y="$d2" 'BEGIN {if (x != "" && y != "") printf "%.3f", (x + y) / 2}')
	printf '  比值(我們 ÷ 核心 socket):%s\n' "$(ratio "$d" "$k")"
	bench_row sockets packet-socket-rx-veth baseline - - "${k:--}" Mpps - - \
		"AF_PACKET + recvmmsg(64 個一批)收 64 B UDP,veth,命名空間,接收端 1 核心,產生器另 1 核心(約 0.5 Mpps 上限),${SECS}s x2 交錯"
	bench_row dpdk ours-rxonly-af_packet-veth bypass - - "${d:--}" Mpps - packet-socket-rx-veth \
		"dpdk_packet_processing rxonly(含解析)經 net_af_packet,同一條 veth,-l 1,--no-huge,${SECS}s x2 交錯;af_packet PMD 仍走核心,受產生器速率限制"
}
for r in $ROUNDS; do
	case $r in
	nohuge) run_round nohuge no-huge ;;
	huge) huge_round ;;
	veth) veth_round ;;
	*) echo "注意:不認得的 DPDK_BENCH_ROUNDS 項目 $r" ;;
	esac
done

# 記錄結果與比值
echo
echo "== DPDK 結果(Mpps,兩次平均;比值 = 我們 ÷ testpmd)"
printf '  %-28s %10s %-24s %10s %7s\n' 項目 我們 對照 testpmd 比值
declare -A base_done
while IFS=$'\t' read -r mem name base a1 a2 b1 b2; do
	a=$(awk -v x="$a1" -v y="$a2" 'BEGIN {if (x != "" && y != "") printf "%.3f", (x + y) / 2}')
	b=$(awk -v x="$b1" -v y="$b2" 'BEGIN {if (x != "" && y != "") printf "%.3f", (x + y) / 2}')
	r=$(ratio "$a" "$b")
	printf '  %-28s %10s %-24s %10s %7s\n' "$name" "${a:--}" "$base" "${b:--}" "$r"
	if [ "$mem" = huge ]; then m="hugepages -m 512"; else m="--no-huge -m 1024"; fi
	cpu_a=$(awk -v a="$a" 'BEGIN {if (a > 0) printf "%.1f", 1000 / a; else print "-"}')
	cpu_b=$(awk -v b="$b" 'BEGIN {if (b > 0) printf "%.1f", 1000 / b; else print "-"}')
	if [ -z "${base_done[$base]:-}" ]; then
		base_done[$base]=1
		bench_row dpdk "$base" baseline - - "${b:--}" Mpps "$cpu_b" - \
			"dpdk-testpmd ${base#testpmd-},net_null 對,64 B,1 轉送核心,$m,主機(VM),${SECS}s x2 交錯"
	fi
	parse="不解析"
	case $name in *parse*) parse="完整協定解析" ;; esac
	bench_row dpdk "$name" bypass - - "${a:--}" Mpps "$cpu_a" "$base" \
		"dpdk_packet_processing ${parse},net_null 對,64 B,1 轉送核心(lcore 0),$m,主機(VM),${SECS}s x2 交錯"
done <"$RESULTS"
echo "(cpu_ns = 一個忙碌輪詢核心 ÷ 封包率;目標:macswap >= 1.0x、含解析 >= 0.8x,僅供參考)"

check dpdk_bench_ran check_ran
