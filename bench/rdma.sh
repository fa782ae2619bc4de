#!/bin/bash
# bench/rdma.sh — RDMA 效能比較(sudo ./run_tests.sh -p rdma)
#
# 主機核心沒有 RDMA,所以全部在 Soft-RoCE VM 裡、同一次開機完成(tests/vm/rdma-vm.sh):
#   - 本程式 rdma_communication 的 send 延遲、write 延遲、write 頻寬;
#   - perftest 的 ib_send_lat、ib_write_lat、ib_write_bw,同樣的大小、次數與佇列深度;
#   - 傳統基準:同一個 VM 裡的 TCP ping-pong 與 TCP 串流(bench/rdma_tcp_pingpong)。
# 順序是 A B C C B A(本程式、perftest、TCP,再反過來),每項跑兩次取平均,
# 降低 VM 裡時快時慢的影響。速度不會造成失敗;印出比值。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/rdma_communication
TCP=$T_ROOT/bench/rdma_tcp_pingpong
VM=$T_ROOT/tests/vm/rdma-vm.sh
LAT_SIZE=${RDMA_LAT_SIZE:-64}
LAT_ITERS=${RDMA_LAT_ITERS:-5000}
BW_SIZE=${RDMA_BW_SIZE:-65536}
BW_ITERS=${RDMA_BW_ITERS:-2000}
BW_DEPTH=${RDMA_BW_DEPTH:-64}
OUT=$T_LOGDIR/rdma.bench.out

reason=
if ! is_root; then
	reason="需要 root(sudo ./run_tests.sh -p rdma)"
elif ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	reason="找不到 qemu-system-x86_64(sudo make install-deps)"
elif [ ! -x "$PROG" ] || [ ! -x "$TCP" ]; then
	reason="rdma_communication 或 bench/rdma_tcp_pingpong 未建置(make)"
fi
if [ -n "$reason" ]; then
	echo "略過  rdma 效能比較:$reason"
	bench_skip "$reason"
	exit 0
fi

GUEST=$(mktemp)
on_exit "rm -f '$GUEST'"
cat >"$GUEST" <<EOF
LS=$LAT_SIZE; LN=$LAT_ITERS; BS=$BW_SIZE; BN=$BW_ITERS; BD=$BW_DEPTH
EOF
cat >>"$GUEST" <<'EOF'
IP=$KBS_IP
port=18600
rdma_communication server --bind $IP >/tmp/srv.log 2>&1 &
rdma_tcp_pingpong server >/tmp/tcp.log 2>&1 &
sleep 1
# M 名稱 p50 p99 吞吐量 cpu_ns
M() {
	l="KBS_M"
	for a in "$@"; do l="$l ${a:--}"; done
	echo "$l"
}
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2" | tail -n1; }
ours() { # 名稱 參數…
	n=$1
	shift
	timeout 120 rdma_communication client $IP "$@" >/tmp/o.log 2>&1
	grep SUMMARY /tmp/o.log | sed 's/^/    /'
	grep -q 'status=ok' /tmp/o.log || { echo "    失敗:$(grep -m1 錯誤 /tmp/o.log)"; return; }
	M $n "$(kv p50_us /tmp/o.log)" "$(kv p99_us /tmp/o.log)" "$(kv mbps /tmp/o.log)" "$(kv cpu_ns /tmp/o.log)"
}
perf() { # 名稱 指令 參數…
	n=$1
	shift
	port=$((port + 1))
	"$@" -x 1 -p $port >/tmp/ps.log 2>&1 &
	sp=$!
	sleep 1
	timeout 120 "$@" -x 1 -p $port $IP >/tmp/p.log 2>&1
	rc=$?
	wait $sp
	# 結果列:開頭是大小與次數的數字列
	row=$(grep -E '^ *[0-9]+ +[0-9]+ +[0-9.]+' /tmp/p.log | tail -n1)
	echo "    $1:$row"
	[ $rc = 0 ] && [ -n "$row" ] || { echo "    失敗:$(tail -n 3 /tmp/p.log)"; return; }
	case $1 in
	*_lat) set -- $row; M $n "$5" "$8" - - ;;  # t_typical、99%
	*_bw) set -- $row; M $n - - "$4" - ;;      # BW average[MB/sec]
	esac
}
tcp() { # 名稱 參數…
	n=$1
	shift
	timeout 120 rdma_tcp_pingpong client $IP "$@" >/tmp/t.log 2>&1
	grep SUMMARY /tmp/t.log | sed 's/^/    /'
	grep -q 'status=ok' /tmp/t.log || return
	M $n "$(kv p50_us /tmp/t.log)" "$(kv p99_us /tmp/t.log)" "$(kv mbps /tmp/t.log)" "$(kv cpu_ns /tmp/t.log)"
}
lat_round() {
	ours ours_send_lat --test lat --op send --size $LS --iters $LN
	perf ib_send_lat ib_send_lat -s $LS -n $LN
	tcp tcp_lat --test lat --size $LS --iters $LN
	ours ours_write_lat --test lat --op write --size $LS --iters $LN
	perf ib_write_lat ib_write_lat -s $LS -n $LN
}
lat_round_rev() {
	perf ib_write_lat ib_write_lat -s $LS -n $LN
	ours ours_write_lat --test lat --op write --size $LS --iters $LN
	tcp tcp_lat --test lat --size $LS --iters $LN
	perf ib_send_lat ib_send_lat -s $LS -n $LN
	ours ours_send_lat --test lat --op send --size $LS --iters $LN
}
echo "== 延遲(${LS} 位元組 × ${LN} 次)"
lat_round
lat_round_rev
echo "== 頻寬(${BS} 位元組 × ${BN} 則,佇列深度 $BD)"
ours ours_write_bw --test bw --op write --size $BS --iters $BN --depth $BD
perf ib_write_bw ib_write_bw -s $BS -n $BN -t $BD
tcp tcp_bw --test bw --size $BS --iters $BN
tcp tcp_bw --test bw --size $BS --iters $BN
perf ib_write_bw ib_write_bw -s $BS -n $BN -t $BD
ours ours_write_bw --test bw --op write --size $BS --iters $BN --depth $BD
echo KBS_BENCH_DONE
EOF

t_bench_vm() {
	"$VM" run -t 400 -f "$PROG" -f "$TCP" "$GUEST" 2>&1 | tee "$OUT"
	local rc=${PIPESTATUS[0]}
	grep -aq KBS_BENCH_DONE "$OUT" || fail "VM 裡的量測沒有跑完(結束碼 $rc)"
}
check bench_vm t_bench_vm

# avg 名稱 欄位(2=p50 3=p99 4=吞吐量 5=cpu):兩次的平均;沒有就 "-"
avg() {
	grep -a "^KBS_M $1 " "$OUT" 2>/dev/null | awk -v f="$2" '
		$(f + 2) ~ /^[0-9.]+$/ { s += $(f + 2); n++ }
		END { if (n) printf "%.2f", s / n; else printf "-" }'
}

if ! grep -aq KBS_BENCH_DONE "$OUT" 2>/dev/null; then
	bench_skip "VM 裡的量測沒有完成(見 tests/logs/rdma.bench.out)"
	exit 0
fi

vm="Soft-RoCE(rdma_rxe)在 qemu TCG VM 內,同一次開機,A B C C B A 各兩次平均"
lm="$vm;${LAT_SIZE} B × ${LAT_ITERS} 次,單程 = 來回/2(perftest 為 t_typical)"
bm="$vm;${BW_SIZE} B × ${BW_ITERS} 則,佇列深度 ${BW_DEPTH},MB = 2^20"

declare -A P50 P99 THR CPU
for n in ours_send_lat ib_send_lat tcp_lat ours_write_lat ib_write_lat ours_write_bw ib_write_bw tcp_bw; do
	P50[$n]=$(avg $n 1)
	P99[$n]=$(avg $n 2)
	THR[$n]=$(avg $n 3)
	CPU[$n]=$(avg $n 4)
done

r_send=$(ratio "${P50[ours_send_lat]}" "${P50[ib_send_lat]}")
r_write=$(ratio "${P50[ours_write_lat]}" "${P50[ib_write_lat]}")
r_bw=$(ratio "${THR[ours_write_bw]}" "${THR[ib_write_bw]}")

bench_row sockets "TCP ping-pong (VM)" baseline "${P50[tcp_lat]}" "${P99[tcp_lat]}" - - "${CPU[tcp_lat]}" - "$lm;TCP_NODELAY,eth0 位址"
bench_row sockets "TCP stream (VM)" baseline - - "${THR[tcp_bw]}" MB/s "${CPU[tcp_bw]}" - "$bm;單一 TCP 連線"
bench_row rdma "rdma_communication send lat" bypass "${P50[ours_send_lat]}" "${P99[ours_send_lat]}" - - "${CPU[ours_send_lat]}" "TCP ping-pong (VM)" "$lm;對 ib_send_lat 為 $r_send"
bench_row rdma "ib_send_lat" bypass "${P50[ib_send_lat]}" "${P99[ib_send_lat]}" - - - "TCP ping-pong (VM)" "$lm;perftest 4.5 -x 1"
bench_row rdma "rdma_communication write lat" bypass "${P50[ours_write_lat]}" "${P99[ours_write_lat]}" - - "${CPU[ours_write_lat]}" "TCP ping-pong (VM)" "$lm;對 ib_write_lat 為 $r_write"
bench_row rdma "ib_write_lat" bypass "${P50[ib_write_lat]}" "${P99[ib_write_lat]}" - - - "TCP ping-pong (VM)" "$lm;perftest 4.5 -x 1"
bench_row rdma "rdma_communication write bw" bypass - - "${THR[ours_write_bw]}" MB/s "${CPU[ours_write_bw]}" "TCP stream (VM)" "$bm;對 ib_write_bw 為 $r_bw"
bench_row rdma "ib_write_bw" bypass - - "${THR[ib_write_bw]}" MB/s - "TCP stream (VM)" "$bm;perftest 4.5 -x 1 -t ${BW_DEPTH}"

echo
echo "RDMA(Soft-RoCE,VM 內)效能比較:"
printf '  %-32s %12s %12s %14s %12s\n' 項目 "p50 (µs)" "p99 (µs)" "MB/s" "CPU ns/則"
for n in tcp_lat ours_send_lat ib_send_lat ours_write_lat ib_write_lat tcp_bw ours_write_bw ib_write_bw; do
	printf '  %-30s %12s %12s %14s %12s\n' "$n" "${P50[$n]}" "${P99[$n]}" "${THR[$n]}" "${CPU[$n]}"
done
echo
echo "  本程式 send 延遲 ÷ ib_send_lat = $r_send(目標 <= 1.1x)"
echo "  本程式 write 延遲 ÷ ib_write_lat = $r_write"
echo "  本程式 write 頻寬 ÷ ib_write_bw = $r_bw(目標 >= 0.9x)"
echo "  本程式 send 延遲 ÷ TCP ping-pong = $(ratio "${P50[ours_send_lat]}" "${P50[tcp_lat]}")"
echo "  本程式 write 頻寬 ÷ TCP 串流 = $(ratio "${THR[ours_write_bw]}" "${THR[tcp_bw]}")"
