#!/bin/bash
# bench/io_uring.sh — io_uring_async 與 epoll 基準的效能比較(sudo ./run_tests.sh -p io_uring)
#
# 同一個負載產生器(bench/echo_bench)、同一次執行、交錯順序(A B B A):
#   1、50、500 條連線的 128 B ping-pong,以及 64 B 管線化
# 伺服器釘在 CPU 0,用戶端釘在 CPU 1。每個數字是兩次執行的平均。
# 伺服器 CPU 時間取自 /proc/PID/stat(utime+stime),除以該次執行完成的全部請求數。
# 最後以不是我們寫的用戶端 redis-benchmark(ECHO 106 位元組 = 128 B 請求)交叉驗證一次。
# BENCH_SECS 可調整每次量測秒數(預設 5;DEMO_SHORT=1 時 2)。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
cd "$T_ROOT" || exit 1

URING=$T_ROOT/io_uring_async
EPOLL=$T_ROOT/bench/epoll_echo
BENCH=$T_ROOT/bench/echo_bench
SECS=${BENCH_SECS:-5}
[ -n "${DEMO_SHORT:-}" ] && SECS=${BENCH_SECS:-2}
# 可以只跑部分情境(demo 用):SCENARIOS="c50"
SCENARIOS=${SCENARIOS:-"c1 c50 c500 pipe"}
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
SRV_CPU=0
CLI_CPU=$((NCPU > 1 ? 1 : 0))

for b in "$URING" "$EPOLL" "$BENCH"; do
	if [ ! -x "$b" ]; then
		echo "略過  io_uring 效能比較:$(basename "$b") 未建置"
		bench_skip "$(basename "$b") 未建置(缺 liburing-dev?)"
		exit 0
	fi
done

scenario_args() {
	case $1 in
	c1) echo "-c 1 -s 128 -d 1" ;;
	c50) echo "-c 50 -s 128 -d 1" ;;
	c500) echo "-c 500 -s 128 -d 1" ;;
	pipe) echo "-c 4 -s 64 -d 128" ;;
	esac
}
scenario_label() {
	case $1 in
	c1) echo "128B ping-pong 1 conn" ;;
	c50) echo "128B ping-pong 50 conns" ;;
	c500) echo "128B ping-pong 500 conns" ;;
	pipe) echo "64B pipelined 4 conns x depth 128" ;;
	esac
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_one 伺服器 情境 -> 印出 "req_s p50 p99 cpu_ns"
run_one() {
	local srv=$1 sc=$2 port log out pid t0 t1 all
	port=$(free_port)
	log=$(mktemp)
	out=$(mktemp)
	taskset -c "$SRV_CPU" "$srv" --quiet "$port" >"$log" 2>&1 &
	pid=$!
	wait_for 10 tcp_listening "$port" || {
		kill "$pid" 2>/dev/null
		echo "- - - -"
		return
	}
	t0=$(cpu_ticks "$pid")
	# shellcheck disable=SC2046 # 刻意分詞
	"$BENCH" -p "$port" $(scenario_args "$sc") -w 1 -t "$SECS" --cpu "$CLI_CPU" -q >"$out" 2>&1
	t1=$(cpu_ticks "$pid")
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	all=$(kv "$out" all_msgs)
	if [ "$(kv "$out" errors)" != 0 ] || [ -z "$all" ] || [ "$all" = 0 ]; then
		echo "注意:$(basename "$srv") $sc 有錯誤:$(grep -m1 錯誤 "$out")" >&2
		echo "- - - -"
	else
		awk -v r="$(kv "$out" req_s)" -v p50="$(kv "$out" p50_us)" -v p99="$(kv "$out" p99_us)" \
			-v ticks=$((t1 - t0)) -v hz="$CLK_TCK" -v all="$all" \
			'BEGIN { printf "%s %s %s %.0f\n", r, p50, p99, ticks / hz * 1e9 / all }'
	fi
	rm -f "$log" "$out"
}

avg2() { # 兩行 "a b c d" -> 平均
	awk '{ for (i = 1; i <= 4; i++) { if ($i == "-") bad[i] = 1; s[i] += $i } }
	END { for (i = 1; i <= 4; i++) printf "%s%s", (bad[i] ? "-" : sprintf("%.2f", s[i] / NR)), (i < 4 ? " " : "\n") }'
}

machine="$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo),$NCPU vCPU,Linux $(uname -r)"
echo "io_uring vs epoll:每次量測 $SECS 秒,伺服器 CPU $SRV_CPU、用戶端 CPU $CLI_CPU,順序 A B B A"
echo "機器:$machine"
printf '%-36s %12s %12s %9s %9s %9s %9s %11s %11s %8s %8s\n' 情境 uring_req/s epoll_req/s 吞吐比 \
	uring_p50 epoll_p50 uring_p99 uring_ns/req epoll_ns/req CPU比 p99比
for sc in $SCENARIOS; do
	a1=$(run_one "$URING" "$sc")
	b1=$(run_one "$EPOLL" "$sc")
	b2=$(run_one "$EPOLL" "$sc")
	a2=$(run_one "$URING" "$sc")
	read -r ar ap50 ap99 acpu <<<"$(printf '%s\n%s\n' "$a1" "$a2" | avg2)"
	read -r br bp50 bp99 bcpu <<<"$(printf '%s\n%s\n' "$b1" "$b2" | avg2)"
	label=$(scenario_label "$sc")
	printf '%-36s %12s %12s %9s %9s %9s %9s %11s %11s %8s %8s\n' "$label" "$ar" "$br" "$(ratio "$ar" "$br")" \
		"$ap50" "$bp50" "$ap99" "$acpu" "$bcpu" "$(ratio "$acpu" "$bcpu")" "$(ratio "$ap99" "$bp99")"
	method="echo_bench $label, ${SECS}s x2 interleaved, server CPU$SRV_CPU client CPU$CLI_CPU, loopback"
	bench_row sockets "epoll echo, $label" baseline "$bp50" "$bp99" "$br" req/s "$bcpu" - "$method"
	bench_row io_uring "io_uring echo, $label" bypass "$ap50" "$ap99" "$ar" req/s "$acpu" \
		"epoll echo, $label" "$method"
done

# 交叉驗證:不是我們寫的用戶端
if command -v redis-benchmark >/dev/null 2>&1 && [ -z "${SKIP_REDIS:-}" ]; then
	payload=$(head -c 106 /dev/zero | tr '\0' x)
	echo
	echo "交叉驗證:redis-benchmark -c 50 ECHO <106 位元組>(128 B 請求)"
	for srv in "$URING" "$EPOLL"; do
		port=$(free_port)
		taskset -c "$SRV_CPU" "$srv" --quiet "$port" >/dev/null 2>&1 &
		pid=$!
		wait_for 10 tcp_listening "$port" || true
		n=$((SECS * 40000))
		rps=$(taskset -c "$CLI_CPU" redis-benchmark -h 127.0.0.1 -p "$port" -c 50 -n "$n" --csv ECHO "$payload" 2>/dev/null |
			awk -F'","' 'NR == 2 { gsub(/"/, "", $2); print $2 }')
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		printf '  %-16s %s req/s\n' "$(basename "$srv")" "${rps:-失敗}"
		eval "rps_$(basename "$srv")=\${rps:--}"
	done
	# shellcheck disable=SC2154 # 由 eval 設定
	echo "  redis-benchmark 的比值 io_uring/epoll:$(ratio "$rps_io_uring_async" "$rps_epoll_echo")(此用戶端本身約 75k req/s 就到頂,比值偏保守)"
fi
echo "目標(僅供參考,不會失敗):50/500 連線吞吐比 >= 1.15x、CPU 比 <= 0.80x、p99 不更差;管線化 >= 1,000,000 訊息/秒"
