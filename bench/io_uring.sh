#!/bin/bash
# bench/io_uring.sh — io_uring_async 與 epoll 基準的效能比較(sudo ./run_tests.sh -p io_uring)
#
# 同一個負載產生器(bench/echo_bench,逐位元組核對)、同一次執行、交錯順序(A B、B A、A B…),
# 每個情境 BENCH_ROUNDS 輪(預設 5),伺服器釘在 CPU 0、用戶端釘在 CPU 1:
#   1、50、500 條連線的 128 B ping-pong,64 B 管線化(4 條 × 深度 128),64 KiB 串流(4 條 × 深度 4)
# 主要指標是「伺服器每個請求的 CPU 時間」:用戶端自己就吃掉一整顆 CPU,req/s 反映的是兩個行程
# 怎麼分兩顆 CPU,不是伺服器本身。CPU 取自 /proc/PID/stat(utime+stime)÷ 這段期間完成的訊息數。
# 也列出每個請求(用戶端的一個訊息)的系統呼叫次數,由伺服器自己計算:io_uring 是 io_uring_enter,
# epoll 是全部系統呼叫;兩邊都除以同一個用戶端數到的訊息數(伺服器自己的 recv 次數在兩邊意義不同)。
#
# 第二部分「槓桿」:io_uring_async 的每個選項單獨打開,與預設設定交錯比較(50 條連線 ping-pong 的
# CPU/請求;零複製用 64 KiB 串流),README 的表格就是從這裡來的。
# BENCH_SECS 每次量測秒數(預設 3);SCENARIOS、LEVERS 可只跑一部分(make demo 用)。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
cd "$T_ROOT" || exit 1

URING=$T_ROOT/io_uring_async
EPOLL=$T_ROOT/bench/epoll_echo
BENCH=$T_ROOT/bench/echo_bench
SECS=${BENCH_SECS:-3}
ROUNDS=${BENCH_ROUNDS:-5}
SCENARIOS=${SCENARIOS-"c1 c50 c500 pipe stream"}
LEVERS=${LEVERS-"no_fixed small_ring batch waitall bundle single_recv coop sqpoll zerocopy"}
if [ -n "${DEMO_SHORT:-}" ]; then
	SECS=${BENCH_SECS:-1}
	ROUNDS=${BENCH_ROUNDS:-1}
fi
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
	stream) echo "-c 4 -s 65536 -d 4" ;;
	esac
}
scenario_label() {
	case $1 in
	c1) echo "128 B ping-pong,1 條連線" ;;
	c50) echo "128 B ping-pong,50 條連線" ;;
	c500) echo "128 B ping-pong,500 條連線" ;;
	pipe) echo "64 B 管線化,4 條 × 深度 128" ;;
	stream) echo "64 KiB 串流,4 條 × 深度 4" ;;
	esac
}
# 總覽表取哪一格:延遲看 1 條連線,吞吐量看管線化(最高的 msg/s),CPU 看 50 條連線
scenario_glance() {
	case $1 in
	c1) echo lat ;;
	c50) echo cpu ;;
	pipe) echo thr ;;
	*) echo - ;;
	esac
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_one 伺服器指令… -- 情境:印出 "req_s p50 p99 cpu_ns syscalls_per_msg"(失敗時 "-")
run_one() {
	local sc=${*: -1} srv=("${@:1:$#-2}") port log out pid t0 t1 all
	port=$(free_port)
	log=$(mktemp)
	out=$(mktemp)
	taskset -c "$SRV_CPU" "${srv[@]}" --quiet "$port" >"$log" 2>&1 &
	pid=$!
	if ! wait_for 10 tcp_listening "$port"; then
		kill "$pid" 2>/dev/null
		echo "注意:$(basename "${srv[0]}") 沒有啟動:$(head -c 200 "$log")" >&2
		rm -f "$log" "$out"
		echo -
		return
	fi
	t0=$(cpu_ticks "$pid")
	# shellcheck disable=SC2046 # 刻意分詞
	"$BENCH" -p "$port" $(scenario_args "$sc") -w 0.5 -t "$SECS" --cpu "$CLI_CPU" -q >"$out" 2>&1
	t1=$(cpu_ticks "$pid")
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	all=$(kv "$out" all_msgs)
	if [ "$(kv "$out" errors)" != 0 ] || [ -z "$all" ] || [ "$all" = 0 ]; then
		echo "注意:$(basename "${srv[0]}") $sc 有錯誤:$(grep -m1 錯誤 "$out")" >&2
		echo -
	else
		# io_uring_async 數的是 io_uring_enter,epoll_echo 數的是全部系統呼叫;都除以用戶端的訊息數(請求數)
		local sys
		sys=$(kv "$log" enters)
		[ -n "$sys" ] || sys=$(kv "$log" syscalls)
		awk -v r="$(kv "$out" req_s)" -v p50="$(kv "$out" p50_us)" -v p99="$(kv "$out" p99_us)" \
			-v ticks=$((t1 - t0)) -v hz="$CLK_TCK" -v all="$all" -v sys="$sys" \
			'BEGIN { printf "%s %s %s %.0f %.3f\n", r, p50, p99, ticks / hz * 1e9 / all, sys / all }'
	fi
	rm -f "$log" "$out"
}

MACHINE="$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo),$NCPU vCPU,Linux $(uname -r)"
METHOD_BASE="echo_bench 逐位元組核對,伺服器 CPU $SRV_CPU、用戶端 CPU $CLI_CPU,loopback,每次 ${SECS} 秒,$ROUNDS 輪交錯"

# record tech 名稱 角色 對照 glance 量測方式 結果 輪次
record() {
	local tech=$1 name=$2 role=$3 base=$4 glance=$5 method=$6 res=$7 round=$8
	[ "$res" = - ] && return
	local r p50 p99 cpu sys
	read -r r p50 p99 cpu sys <<<"$res"
	printf '  第 %s 輪 %-40s %9s req/s  p50 %8s µs  %7s ns/請求  %s 次系統呼叫/請求\n' "$round" "$name" "$r" "$p50" "$cpu" "$sys"
	bench_row "$tech" "$name" "$role" "$p50" "$p99" "$r" req/s "$cpu" "$base" "$method" "$glance" "syscalls_per_msg=$sys"
}

# 一次量測:伺服器(uring | epoll)、情境
measure() { # 伺服器 情境 輪次
	local label method
	label=$(scenario_label "$2")
	method="$label;$METHOD_BASE;CPU = 伺服器 utime+stime ÷ 訊息數"
	if [ "$1" = uring ]; then
		record io_uring "io_uring echo,$label" bypass "epoll echo,$label" "$(scenario_glance "$2")" "$method" \
			"$(run_one "$URING" -- "$2")" "$3"
	else
		record sockets "epoll echo,$label" baseline - "$(scenario_glance "$2")" "$method" "$(run_one "$EPOLL" -- "$2")" "$3"
	fi
}

echo "io_uring vs epoll:$METHOD_BASE"
echo "機器:$MACHINE"
for sc in $SCENARIOS; do
	echo "情境:$(scenario_label "$sc")"
	bench_interleave "$ROUNDS" "measure uring $sc" "measure epoll $sc"
done

# ---- 槓桿:一次只改一個選項,與預設交錯比較 ----
lever_opts() {
	case $1 in
	no_fixed) echo "--no-fixed-files" ;;
	small_ring) echo "--buffers 256" ;;
	batch) echo "--wait-nr 8 --wait-usec 50" ;;
	waitall) echo "--send-waitall" ;;
	bundle) echo "--bundle" ;;
	single_recv) echo "--recv single" ;;
	coop) echo "--taskrun coop" ;;
	sqpoll) echo "--sqpoll --sqpoll-cpu $CLI_CPU" ;;
	zerocopy) echo "--zerocopy" ;;
	esac
}
LEVER_BASE="io_uring 預設(槓桿的對照)"
LEVER_BASE_STREAM="io_uring 預設(64 KiB 串流,零複製的對照)"
lever() { # 槓桿|default 情境 輪次
	local opts=() name base=$LEVER_BASE
	[ "$1" = default ] || read -ra opts <<<"$(lever_opts "$1")"
	if [ "$2" = stream ]; then
		base=$LEVER_BASE_STREAM
		name="io_uring ${opts[*]}(64 KiB 串流)"
	else
		name="io_uring ${opts[*]}"
	fi
	if [ "$1" = default ]; then
		record io_uring "$base" bypass - - "預設選項;$(scenario_label "$2");$METHOD_BASE" "$(run_one "$URING" -- "$2")" "$3"
	else
		record io_uring "$name" bypass "$base" - "${opts[*]};$(scenario_label "$2");$METHOD_BASE" \
			"$(run_one "$URING" "${opts[@]}" -- "$2")" "$3"
	fi
}
if [ -n "$LEVERS" ]; then
	echo
	echo "槓桿(50 條連線 128 B ping-pong;零複製用 64 KiB 串流):每個選項與預設交錯 $ROUNDS 輪"
	cmds=("lever default c50")
	for lv in $LEVERS; do
		[ "$lv" = zerocopy ] || cmds+=("lever $lv c50")
	done
	bench_interleave "$ROUNDS" "${cmds[@]}"
	if [[ " $LEVERS " == *" zerocopy "* ]]; then
		bench_interleave "$ROUNDS" "lever default stream" "lever zerocopy stream"
	fi
fi

echo
bench_report
echo "目標(僅供參考,不會失敗):50 與 500 條連線伺服器 CPU/請求 <= 0.90x epoll,req/s 不更差"
