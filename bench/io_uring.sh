#!/bin/bash
# bench/io_uring.sh — io_uring 的效能比較(sudo ./run_tests.sh -p io_uring)
#
# 第一部分「檔案」(io_uring 贏的地方):專案磁碟上一個 1 GiB 的檔案(不是 tmpfs),4 KiB 隨機讀、O_DIRECT。
#   io_uring_async --file 在佇列深度 QD = 1、4、8、16、32、128,對照:
#     pread 1 執行緒(傳統:一次一個 I/O)、pread 執行緒池(QD 個執行緒各自 pread:要 QD 個 I/O 在飛時
#     大家的做法),兩者都用 fio 的 psync 引擎跑;同工具的參考:fio io_uring(同樣 fixed buffer + 註冊檔案)、
#     fio libaio(QD 32)。每個點 BENCH_RUNS 輪交錯(ours、fio、執行緒池…,下一輪反過來)。
#   CPU/I/O = 這次量測期間的行程 CPU ÷ 完成的 I/O:ours 取 SUMMARY 的 cpu_s(只算 I/O 期間),
#   fio 取它自己回報的 usr+sys(只算 job 期間)。延遲:ours 是送出到完成,fio 是 clat 百分位。
#   另外一列 page cache 的隨機讀(資料都在記憶體裡,唯一的成本是系統呼叫):ours QD 32 對 pread 1 執行緒。
# 第二部分「網路」:同一個負載產生器(bench/echo_bench,逐位元組核對),伺服器釘在 CPU 0、用戶端釘在 CPU 1,
#   每個情境 io_uring 與 epoll 交錯。用戶端自己就吃掉一整顆 CPU,所以主要指標是伺服器每個請求的 CPU
#   (/proc/PID/stat 的 utime+stime ÷ 用戶端完成的訊息數)。表格列:1、50、500 條連線 128 B ping-pong、
#   64 B 管線化(4 條 × 深度 128)、64 KiB 串流(4 條 × 深度 4);曲線:連線數 1、10、100、1,000、10,000。
# 第三部分「槓桿」(只在完整的 -p):每個選項單獨打開,與預設交錯比較。
#
# 環境變數:BENCH_SECS(網路每次秒數,預設 2)、FILE_SECS(檔案每次秒數,預設 2)、SCENARIOS、LEVERS、
# FILE_QDS、BENCH_PARTS(file net levers 的子集)。-p quick(T_BENCH_QUICK=1):較少的點、每點 3 輪。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
cd "$T_ROOT" || exit 1

URING=$T_ROOT/io_uring_async
EPOLL=$T_ROOT/bench/epoll_echo
BENCH=$T_ROOT/bench/echo_bench
ROUNDS=${BENCH_ROUNDS:-$BENCH_RUNS}
SECS=${BENCH_SECS:-2}
FILE_SECS=${FILE_SECS:-2}
if [ "${T_BENCH_QUICK:-0}" = 1 ]; then
	SCENARIOS=${SCENARIOS-"c1 c50 c1000 pipe stream"}
	FILE_QDS=${FILE_QDS-"1 32 128"}
	LEVERS=${LEVERS-""}
else
	SCENARIOS=${SCENARIOS-"c1 c10 c50 c100 c500 c1000 c10000 pipe stream"}
	FILE_QDS=${FILE_QDS-"1 4 8 16 32 128"}
	LEVERS=${LEVERS-"no_fixed small_ring batch no_bundle single_recv coop sqpoll zerocopy"}
fi
BENCH_PARTS=${BENCH_PARTS:-"file net levers"}
if [ -n "${DEMO_SHORT:-}" ]; then
	SECS=${BENCH_SECS:-1}
	FILE_SECS=${FILE_SECS:-1}
	ROUNDS=${BENCH_ROUNDS:-1}
fi
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
SRV_CPU=0
CLI_CPU=$((NCPU > 1 ? 1 : 0))
MACHINE="$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo),$NCPU vCPU,Linux $(uname -r)"

for b in "$URING" "$EPOLL" "$BENCH"; do
	if [ ! -x "$b" ]; then
		echo "略過  io_uring 效能比較:$(basename "$b") 未建置"
		bench_skip "$(basename "$b") 未建置(缺 liburing-dev?)"
		exit 0
	fi
done
part() { [[ " $BENCH_PARTS " == *" $1 "* ]]; }

# ======================================================================
# 1. 檔案
# ======================================================================
FILE_DIR=${FILE_DIR:-/var/tmp}
DATA=""
file_setup() {
	local avail fs
	command -v fio >/dev/null || {
		echo "略過檔案部分:找不到 fio(sudo make install-deps)"
		return 1
	}
	fs=$(stat -f -c %T "$FILE_DIR")
	[ "$fs" != tmpfs ] || {
		echo "略過檔案部分:$FILE_DIR 是 tmpfs(需要真的磁碟)"
		return 1
	}
	avail=$(df -Pk "$FILE_DIR" | awk 'NR == 2 {print $4}')
	[ "${avail:-0}" -ge $((3 * 1024 * 1024)) ] || {
		echo "略過檔案部分:$FILE_DIR 剩不到 3 GiB"
		return 1
	}
	DATA=$(mktemp -u "$FILE_DIR/kbs-io_uring-bench.XXXXXX")
	on_exit "rm -f '$DATA'"
	# 真的資料(不是全零):用 io_uring_async 自己的寫入模式建立,O_DIRECT 循序寫
	"$URING" --file "$DATA" --rw write --size 1G --bs 1M --qd 8 --duration 0 --direct --quiet >/dev/null ||
		{
			echo "略過檔案部分:無法建立 1 GiB 的測試檔"
			return 1
		}
	FS_DESC="$(findmnt -no SOURCE,FSTYPE -T "$FILE_DIR" 2>/dev/null | tr -s " " ",")"
}

# ours QD 直接 [大小 [其他選項…]]:印出 "iops p50 p99 cpu_ns"
ours_file() {
	local out opts=("${@:4}")
	[ "$2" = 1 ] && opts+=(--direct)
	[ -n "${3:-}" ] && opts+=(--size "$3")
	out=$("$URING" --file "$DATA" --rw randread --bs 4K --qd "$1" --duration "$FILE_SECS" --quiet "${opts[@]}" 2>&1) || {
		echo "注意:io_uring_async --file 失敗:$(tail -n1 <<<"$out")" >&2
		echo -
		return
	}
	awk '/^SUMMARY/ {
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%s %s %s %s\n", v["iops"], v["p50_us"], v["p99_us"], v["cpu_ns_per_io"] }' <<<"$out"
}

# fio 引擎 QD 執行緒數 直接 [大小]:印出 "iops p50 p99 cpu_ns"(fio 的 terse v3:8=IOPS、9=執行時間 ms、
# clat 百分位「50.000000%=µs」、88/89=usr/sys CPU%;group_reporting 時 CPU% 是對各 job 時間的總和算的,
# 所以 CPU 秒數 = CPU% × 執行時間 × job 數)。不加 O_DIRECT 時 --invalidate=0:fio 預設會先清掉檔案的 page cache
fio_file() {
	local engine=$1 qd=$2 jobs=$3 direct=$4 size=${5:-1G} opts=()
	[ "$engine" = io_uring ] && opts=(--fixedbufs --registerfiles)
	[ "$direct" = 0 ] && opts+=(--invalidate=0)
	local out res
	out=$(fio --name=kbs --filename="$DATA" --size="$size" --ioengine="$engine" "${opts[@]}" --direct="$direct" \
		--rw=randread --bs=4k --iodepth="$qd" --numjobs="$jobs" --thread --group_reporting \
		--runtime="$FILE_SECS" --time_based --output-format=terse --terse-version=3 2>&1)
	res=$(awk -F';' -v jobs="$jobs" 'NF > 90 {
			for (i = 18; i <= 37; i++) { split($i, kv, "%="); if (kv[1] + 0 == 50) p50 = kv[2]; if (kv[1] + 0 == 99) p99 = kv[2] }
			ios = $8 * $9 / 1000
			if (ios > 0) { printf "%.0f %s %s %.0f\n", $8, p50, p99, ($88 + $89) / 100 * $9 / 1000 * jobs * 1e9 / ios; exit } }' <<<"$out")
	if [ -z "$res" ]; then
		# 沒有結果的一輪不能無聲地少一筆:說出 fio 的最後一行
		echo "注意:fio $engine QD $qd($jobs 個 job)沒有結果:$(grep -m1 -v '^3;fio-' <<<"$out" || echo '完成 0 個 I/O')" >&2
		res=-
	fi
	echo "$res"
}

FILE_METHOD_BASE="4 KiB 隨機讀、1 GiB 檔案"
# record_file tech 名稱 角色 對照 glance 量測方式 結果 輪次 [曲線系列 QD]
record_file() {
	local tech=$1 name=$2 role=$3 base=$4 glance=$5 method=$6 res=$7 round=$8 series=${9:-} qd=${10:-}
	[ "$res" = - ] && return
	local iops p50 p99 cpu
	read -r iops p50 p99 cpu <<<"$res"
	printf '  第 %s 輪 %-44s %9s IOPS  p50 %7s µs  p99 %7s µs  %6s ns/I/O\n' "$round" "$name" "$iops" "$p50" "$p99" "$cpu"
	bench_row "$tech" "$name" "$role" "$p50" "$p99" "$iops" IOPS "$cpu" "$base" "$method" "$glance" -
	if [ -n "$series" ]; then
		bench_point io_uring_file "$series" "$qd" iops "$iops"
		bench_point io_uring_file "$series" "$qd" cpu_ns "$cpu"
		bench_point io_uring_file "$series" "$qd" p50_us "$p50"
		bench_point io_uring_file "$series" "$qd" p99_us "$p99"
	fi
}

PREAD1="pread 1 執行緒,4 KiB 隨機讀 O_DIRECT"
# 每一輪:pread 1 執行緒量一次(和 QD 無關,曲線上每個 QD 都畫同一個值)
file_pread1() {
	local res qd
	res=$(fio_file psync 1 1 1)
	record_file sockets "$PREAD1" baseline - - "fio psync(pread)1 個 job;$FILE_METHOD_BASE;$FS_DESC" "$res" "$1"
	[ "$res" = - ] && return
	for qd in $FILE_QDS; do
		bench_point io_uring_file "pread 1 執行緒" "$qd" iops "$(cut -d' ' -f1 <<<"$res")"
		bench_point io_uring_file "pread 1 執行緒" "$qd" cpu_ns "$(cut -d' ' -f4 <<<"$res")"
	done
}
file_ours() { # QD 輪次
	local res glance=- name="io_uring 檔案,4 KiB 隨機讀 O_DIRECT,QD $1"
	res=$(ours_file "$1" 1)
	# 總覽表 io_uring 列的「檔案」那一半:QD 1 的延遲、QD 32 的 IOPS(對一個 pread 執行緒)與 CPU(對執行緒池)
	[ "$1" = 1 ] && glance=flat
	[ "$1" = 32 ] && glance=fthr
	record_file io_uring "$name" bypass "$PREAD1" "$glance" \
		"io_uring_async --file(fixed file + fixed buffer;補上的 I/O 一個就送,一次 io_uring_enter 收回全部完成);$FILE_METHOD_BASE;$FS_DESC" \
		"$res" "$2" io_uring "$1"
	# QD > 1:同一次量測也對照同樣 QD 的執行緒池(CPU/I/O 的目標)
	[ "$1" -gt 1 ] && record_file io_uring "io_uring 檔案 QD $1(對 pread 執行緒池)" bypass \
		"pread 執行緒池 $1 執行緒,4 KiB 隨機讀 O_DIRECT" "$([ "$1" = 32 ] && echo fcpu || echo -)" \
		"同上,對照同樣數量在飛的 pread" "$res" "$2"
}
# 送出的批次這個槓桿:整批送出(--submit-batch = QD)對預設(O_DIRECT 一個就送)
file_ours_batch() { # QD 輪次
	record_file io_uring "io_uring 檔案 QD $1 整批送出(--submit-batch $1)" bypass \
		"io_uring 檔案,4 KiB 隨機讀 O_DIRECT,QD $1" - \
		"io_uring_async --file --submit-batch $1:補上的 I/O 攢到一整批,和等待同一次 io_uring_enter 送出;$FILE_METHOD_BASE;$FS_DESC" \
		"$(ours_file "$1" 1 "" --submit-batch "$1")" "$2"
}
file_pool() { # QD 輪次(QD 1 的執行緒池就是 pread 1 執行緒,不另外量)
	[ "$1" -gt 1 ] || return 0
	record_file sockets "pread 執行緒池 $1 執行緒,4 KiB 隨機讀 O_DIRECT" baseline - - \
		"fio psync(pread)$1 個 job(執行緒);$FILE_METHOD_BASE;$FS_DESC" "$(fio_file psync 1 "$1" 1)" "$2" \
		"pread 執行緒池" "$1"
}
file_fio() { # 引擎 QD 輪次
	local label="fio $1"
	local res
	res=$(fio_file "$1" "$2" 1 1)
	record_file io_uring "$label,QD $2" peer "io_uring 檔案,4 KiB 隨機讀 O_DIRECT,QD $2" - \
		"fio 3.x --ioengine=$1$([ "$1" = io_uring ] && echo ' --fixedbufs --registerfiles'),同一個檔案與時間" \
		"$res" "$3" "$([ "$1" = io_uring ] && echo "fio io_uring")" "$2"
}
# page cache:先把 256 MiB 讀進記憶體,之後每次讀都命中
CACHED="pread 1 執行緒,4 KiB 隨機讀 page cache"
file_cached_ours() {
	record_file io_uring "io_uring 檔案,4 KiB 隨機讀 page cache,QD 32" bypass "$CACHED" - \
		"io_uring_async --file 不加 --direct,256 MiB 範圍全在 page cache;成本只剩系統呼叫與複製" \
		"$(ours_file 32 0 256M)" "$1"
}
file_cached_pread() {
	record_file sockets "$CACHED" baseline - - "fio psync 1 個 job,不加 O_DIRECT,256 MiB 範圍全在 page cache" \
		"$(fio_file psync 1 1 0 256M)" "$1"
}

if part file && file_setup; then
	echo "檔案:$FILE_METHOD_BASE,$FS_DESC;每次 $FILE_SECS 秒,$ROUNDS 輪交錯;QD:$FILE_QDS"
	echo "機器:$MACHINE"
	for qd in $FILE_QDS; do
		cmds=("file_ours $qd" "file_fio io_uring $qd" "file_pool $qd")
		[ "$qd" = 1 ] && cmds+=("file_pread1")
		[ "$qd" = 32 ] && cmds+=("file_fio libaio $qd" "file_ours_batch $qd")
		echo "佇列深度 $qd"
		bench_interleave "$ROUNDS" "${cmds[@]}"
	done
	dd if="$DATA" of=/dev/null bs=1M count=256 status=none
	echo "page cache"
	bench_interleave "$ROUNDS" file_cached_ours file_cached_pread
	rm -f "$DATA"
fi

# ======================================================================
# 2. 網路
# ======================================================================
scenario_args() {
	case $1 in
	c[0-9]*) echo "-c ${1#c} -s 128 -d 1" ;;
	pipe) echo "-c 4 -s 64 -d 128" ;;
	stream) echo "-c 4 -s 65536 -d 4" ;;
	esac
}
scenario_label() {
	case $1 in
	c[0-9]*) printf '128 B ping-pong,%s 條連線' "$(printf "%'d" "${1#c}" 2>/dev/null || echo "${1#c}")" ;;
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
# 只畫曲線、不進表格的情境(表格是 1、50、500、管線化、串流)
scenario_in_table() { case $1 in c10 | c100 | c1000 | c10000) return 1 ;; esac }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# 64 KiB 串流每秒只有幾千個請求:每次跑兩倍時間,伺服器 CPU(100 Hz 的 tick)才量得準
scenario_secs() { if [ "$1" = stream ]; then echo $((SECS * 2)); else echo "$SECS"; fi; }

# run_one 伺服器指令… -- 情境:印出 "req_s p50 p99 cpu_ns syscalls_per_msg"(失敗時 "-")
run_one() {
	local sc=${*: -1} srv=("${@:1:$#-2}") port log out pid t0 t1 all warm=0.5
	port=$(free_port)
	log=$(mktemp)
	out=$(mktemp)
	# 一萬條連線:同一個來源位址,伺服器的 --max-per-addr 要放開;連線建立需要多一點暖身
	[ "$sc" = c10000 ] && srv+=(--max-per-addr 0) && warm=2
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
	"$BENCH" -p "$port" $(scenario_args "$sc") -w "$warm" -t "$(scenario_secs "$sc")" --cpu "$CLI_CPU" -q >"$out" 2>&1
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

# 量測方式(依情境的秒數)
method_base() {
	echo "echo_bench 逐位元組核對,伺服器 CPU $SRV_CPU、用戶端 CPU $CLI_CPU,loopback,每次 $(scenario_secs "$1") 秒,$ROUNDS 輪交錯"
}

# record tech 名稱 角色 對照 glance 量測方式 結果 輪次 [曲線系列 連線數]
record() {
	local tech=$1 name=$2 role=$3 base=$4 glance=$5 method=$6 res=$7 round=$8 series=${9:-} x=${10:-}
	[ "$res" = - ] && return
	local r p50 p99 cpu sys
	read -r r p50 p99 cpu sys <<<"$res"
	printf '  第 %s 輪 %-40s %9s req/s  p50 %8s µs  %7s ns/請求  %s 次系統呼叫/請求\n' "$round" "${name:-$series,$x 條連線}" \
		"$r" "$p50" "$cpu" "$sys"
	[ -n "$name" ] && bench_row "$tech" "$name" "$role" "$p50" "$p99" "$r" req/s "$cpu" "$base" "$method" "$glance" "syscalls_per_msg=$sys"
	[ -n "$series" ] && bench_point io_uring_net "$series" "$x" cpu_ns "$cpu"
	return 0
}

# 一次量測:伺服器(uring | epoll)、情境
measure() { # 伺服器 情境 輪次
	local label method x="" name_u name_e
	label=$(scenario_label "$2")
	method="$label;$(method_base "$2");CPU = 伺服器 utime+stime ÷ 訊息數"
	[[ $2 == c[0-9]* ]] && x=${2#c}
	name_u="io_uring echo,$label"
	name_e="epoll echo,$label"
	scenario_in_table "$2" || name_u="" name_e=""
	if [ "$1" = uring ]; then
		record io_uring "$name_u" bypass "epoll echo,$label" "$(scenario_glance "$2")" "$method" \
			"$(run_one "$URING" -- "$2")" "$3" ${x:+io_uring "$x"}
	else
		record sockets "$name_e" baseline - "$(scenario_glance "$2")" "$method" "$(run_one "$EPOLL" -- "$2")" "$3" \
			${x:+epoll "$x"}
	fi
}

if part net; then
	echo
	echo "io_uring vs epoll:$(method_base c1)(64 KiB 串流每次 $(scenario_secs stream) 秒)"
	echo "機器:$MACHINE"
	lim=$(ulimit -Hn)
	[ "$lim" -ge 10100 ] && ulimit -n "$lim"
	for sc in $SCENARIOS; do
		if [ "$sc" = c10000 ] && [ "$(ulimit -n)" -lt 10100 ]; then
			echo "略過 10,000 條連線:開檔上限 $(ulimit -n) 太低"
			continue
		fi
		echo "情境:$(scenario_label "$sc")"
		bench_interleave "$ROUNDS" "measure uring $sc" "measure epoll $sc"
	done
fi

# ======================================================================
# 3. 槓桿:一次只改一個選項,與預設交錯比較
# ======================================================================
lever_opts() {
	case $1 in
	no_fixed) echo "--no-fixed-files" ;;
	small_ring) echo "--buffers 256" ;;
	batch) echo "--wait-nr 8 --wait-usec 50" ;;
	no_bundle) echo "--no-bundle" ;;
	single_recv) echo "--recv single" ;;
	coop) echo "--taskrun coop" ;;
	sqpoll) echo "--sqpoll --sqpoll-cpu $CLI_CPU" ;;
	zerocopy) echo "--zerocopy" ;;
	esac
}
LEVER_BASE="io_uring 預設(槓桿的對照)"
LEVER_BASE_STREAM="io_uring 預設(64 KiB 串流,串流槓桿的對照)"
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
		record io_uring "$base" bypass - - "預設選項;$(scenario_label "$2");$(method_base "$2")" "$(run_one "$URING" -- "$2")" "$3"
	else
		record io_uring "$name" bypass "$base" - "${opts[*]};$(scenario_label "$2");$(method_base "$2")" \
			"$(run_one "$URING" "${opts[@]}" -- "$2")" "$3"
	fi
}
if part levers && [ -n "$LEVERS" ]; then
	echo
	echo "槓桿(50 條連線 128 B ping-pong;零複製與 bundle 也看 64 KiB 串流):每個選項與預設交錯 $ROUNDS 輪"
	cmds=("lever default c50")
	for lv in $LEVERS; do
		[ "$lv" = zerocopy ] || cmds+=("lever $lv c50")
	done
	bench_interleave "$ROUNDS" "${cmds[@]}"
	stream_cmds=("lever default stream")
	[[ " $LEVERS " == *" zerocopy "* ]] && stream_cmds+=("lever zerocopy stream")
	[[ " $LEVERS " == *" no_bundle "* ]] && stream_cmds+=("lever no_bundle stream")
	bench_interleave "$ROUNDS" "${stream_cmds[@]}"
fi

echo
bench_report
echo "目標(僅供參考,不會失敗):檔案 QD 32 的 IOPS >= 0.95x fio io_uring、CPU/I/O <= 1.05x;>= 3x pread 1 執行緒的 IOPS、"
echo "<= 0.7x pread 執行緒池的 CPU/I/O;網路每一列伺服器 CPU/請求 <= 1.0x epoll"
