#!/bin/bash
# tests/lib.sh — 每個 tests/<套件>.sh 與 bench/<套件>.sh 都會 source 這個檔。
#
# 一項檢查 = 一個 shell 函式,以 `check 名稱 函式 [參數...]` 執行:
#   - 函式在子 shell 中執行,有自己的清理範圍:以 on_exit 登記的指令,
#     不論成功、失敗或中斷,都會以相反順序執行(trap EXIT)。
#   - 函式正常結束 = 通過;呼叫 fail "原因" = 失敗;呼叫 skip "原因" = 略過。
#   - 每項檢查印一行:通過 / 失敗 / 略過,加上名稱與原因。
#
# 環境(由 run_tests.sh 設定):
#   T_MODE      basic | full | perf
#   T_RESULTS   統計檔,每項檢查附加一行 pass|fail|skip
#   T_SUITE     套件名稱(io_uring、af_xdp…)
#   T_LOGDIR    記錄檔目錄

set -uo pipefail

T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_MODE=${T_MODE:-basic}
T_SUITE=${T_SUITE:-$(basename "$0" .sh)}
T_LOGDIR=${T_LOGDIR:-$T_ROOT/tests/logs}
T_RESULTS=${T_RESULTS:-$T_LOGDIR/results.$$}
export T_ASAN_DIR=$T_ROOT/build/asan
mkdir -p "$T_LOGDIR"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=87}

# ---- 清理登記 ------------------------------------------------------------------
_T_CLEANUPS=()

# on_exit 指令…:登記一個清理動作(在目前的檢查或腳本結束時執行)
on_exit() {
	_T_CLEANUPS+=("$*")
}

_t_run_cleanups() {
	local i
	for ((i = ${#_T_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${_T_CLEANUPS[i]}" >/dev/null 2>&1 || true
	done
	_T_CLEANUPS=()
}
trap _t_run_cleanups EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- 結果 ----------------------------------------------------------------------
_t_record() { # 狀態 名稱 [原因]
	local word
	case $1 in
	pass) word=通過 ;;
	fail) word=失敗 ;;
	skip) word=略過 ;;
	esac
	echo "$1" >>"$T_RESULTS"
	if [ -n "${3:-}" ]; then
		printf '%s  %s/%s:%s\n' "$word" "$T_SUITE" "$2" "$3"
	else
		printf '%s  %s/%s\n' "$word" "$T_SUITE" "$2"
	fi
}

# 在檢查函式內使用
skip() {
	printf '%s' "$*" >"$_T_REASON"
	exit 77
}
fail() {
	printf '%s' "$*" >"$_T_REASON"
	exit 1
}

# check 名稱 函式 [參數…]
check() {
	local name=$1
	shift
	# shellcheck disable=SC2053 # T_ONLY 是 shell 樣式
	if [ -n "${T_ONLY:-}" ] && [[ $name != $T_ONLY ]]; then
		return 0
	fi
	local reason_file log rc
	reason_file=$(mktemp)
	log="$T_LOGDIR/$T_SUITE.$name.log"
	(
		_T_CLEANUPS=()
		_T_REASON=$reason_file
		T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kbs.$T_SUITE.XXXXXX")
		on_exit "rm -rf '$T_TMP'"
		trap _t_run_cleanups EXIT
		"$@"
	) >"$log" 2>&1
	rc=$?
	local reason
	reason=$(cat "$reason_file")
	rm -f "$reason_file"
	case $rc in
	0) _t_record pass "$name" ;;
	77) _t_record skip "$name" "$reason" ;;
	*)
		[ -n "$reason" ] || reason="結束碼 $rc"
		_t_record fail "$name" "$reason(記錄:${log#"$T_ROOT"/})"
		if [ -n "${T_VERBOSE:-}" ] || [ -n "${CI:-}" ]; then
			tail -n 30 "$log" | sed 's/^/    | /'
		fi
		;;
	esac
	return 0
}

# ---- 前提條件(在檢查函式內呼叫;不滿足則略過) ---------------------------------------
is_root() { [ "$(id -u)" -eq 0 ]; }
need_root() { is_root || skip "需要 root 權限(sudo ./run_tests.sh -f)"; }
need_full() { [ "$T_MODE" = full ] || [ "$T_MODE" = perf ] || skip "完整模式才執行(sudo ./run_tests.sh -f)"; }
need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "找不到指令 $c(sudo make install-deps)"
	done
}
# need_bin 路徑:需要一個已建置的程式
need_bin() {
	local b
	for b in "$@"; do
		[ -x "$b" ] || skip "$(basename "$b") 未建置:$(make -s -C "$T_ROOT" --no-print-directory skip-report 2>/dev/null | grep -F "$(basename "$b")" | head -n1 | sed 's/^略過 [^:]*://')"
	done
}

# ---- 斷言 ----------------------------------------------------------------------
expect_eq() { # 實際 預期 說明
	[ "$1" = "$2" ] || fail "$3:得到 '$1',預期 '$2'"
}
expect_ge() { # 實際 下限 說明
	[ "$1" -ge "$2" ] 2>/dev/null || fail "$3:得到 '$1',預期 >= $2"
}
expect_le() {
	[ "$1" -le "$2" ] 2>/dev/null || fail "$3:得到 '$1',預期 <= $2"
}
expect_match() { # 字串 正規表示式 說明
	grep -Eq -- "$2" <<<"$1" || fail "$3:輸出不含 /$2/"
}
expect_file_match() { # 檔案 正規表示式 說明
	grep -Eq -- "$2" "$1" || fail "$3:$(basename "$1") 不含 /$2/"
}
# expect_exit 結束碼 指令…:執行指令並要求特定結束碼,輸出存到 $T_TMP/out
expect_exit() {
	local want=$1 got
	shift
	"$@" >"$T_TMP/out" 2>&1
	got=$?
	cat "$T_TMP/out"
	[ "$got" = "$want" ] || fail "$(basename "$1") 結束碼 $got,預期 $want:$(head -c 200 "$T_TMP/out" | tr '\n' ' ')"
}
# expect_fail 指令…:要求非零結束碼且 stderr/stdout 只有一行錯誤(不能當掉)
expect_fail() {
	local got
	"$@" >"$T_TMP/out" 2>&1
	got=$?
	cat "$T_TMP/out"
	[ "$got" -ne 0 ] || fail "$(basename "$1") 應該失敗卻成功結束"
	[ "$got" -lt 128 ] || fail "$(basename "$1") 被訊號終止($got)"
	[ "$got" -ne 86 ] && [ "$got" -ne 87 ] || fail "$(basename "$1") sanitizer 回報錯誤"
}

# ---- 行程 ----------------------------------------------------------------------
# start_bg 記錄檔 指令…:背景啟動,並登記在結束時終止。PID 放在 $BG_PID。
# 以 setsid 放進自己的行程群組:清理時整個群組一起結束,包在 timeout 等外層程式裡的也逃不掉。
start_bg() {
	local log=$1
	shift
	setsid "$@" >"$log" 2>&1 &
	BG_PID=$!
	on_exit "kill -KILL -- -$BG_PID 2>/dev/null; kill -KILL $BG_PID 2>/dev/null; wait $BG_PID 2>/dev/null"
}
# stop_bg PID 訊號 [秒數]:送出訊號並等待結束,回傳其結束碼(逾時為 124)
stop_bg() {
	local pid=$1 sig=${2:-TERM} secs=${3:-10} i
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid"
}
# wait_for 秒數 指令…:重試直到指令成功
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
# wait_log 秒數 檔案 正規表示式
wait_log() {
	wait_for "$1" grep -Eq -- "$3" "$2"
}
# tcp_listening 埠:本機是否有程式在該 TCP 埠監聽
tcp_listening() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}
# free_port:找一個未使用的 TCP 埠
free_port() {
	local p
	for ((;;)); do
		# 避開臨時埠範圍(net.ipv4.ip_local_port_range 預設 32768-60999)
		p=$((10000 + RANDOM % 22000))
		ss -Htan "sport = :$p" 2>/dev/null | grep -q . || {
			echo "$p"
			return
		}
	done
}

# ---- 網路命名空間 ------------------------------------------------------------------
# netns_pair NS_A NS_B IF_A IF_B ADDR_A/24 ADDR_B/24 [佇列數]
# 建立兩個命名空間,以 veth 相連(預設單一佇列),並登記刪除。
# 命名空間名稱自動加上 kbs- 前綴與 PID,避免與他人衝突;實際名稱放在 $NS_A/$NS_B。
netns_pair() {
	NS_A="kbs-$1-$$"
	NS_B="kbs-$2-$$"
	ip netns add "$NS_A" || fail "無法建立命名空間 $NS_A"
	on_exit "ip netns del '$NS_A'"
	ip netns add "$NS_B" || fail "無法建立命名空間 $NS_B"
	on_exit "ip netns del '$NS_B'"
	local nq=${7:-1}
	ip link add "$3" numtxqueues "$nq" numrxqueues "$nq" netns "$NS_A" type veth \
		peer name "$4" numtxqueues "$nq" numrxqueues "$nq" netns "$NS_B" ||
		fail "無法建立 veth $3/$4"
	ip -n "$NS_A" link set lo up
	ip -n "$NS_B" link set lo up
	ip -n "$NS_A" addr add "$5" dev "$3"
	ip -n "$NS_B" addr add "$6" dev "$4"
	ip -n "$NS_A" link set "$3" up
	ip -n "$NS_B" link set "$4" up
}

# ---- 建置 ----------------------------------------------------------------------
# build_asan [程式…]:以 SANITIZE=1 建置到 build/asan(不覆蓋一般版本);預設全部
build_asan() {
	local targets=(all)
	[ $# -eq 0 ] || targets=("${@/#/build/asan/}")
	make -s -C "$T_ROOT" O=build/asan SANITIZE=1 "${targets[@]}" >"$T_LOGDIR/build-asan.log" 2>&1
}

# ---- 效能結果 ------------------------------------------------------------------------
# bench_row 欄位…:效能腳本把「一次量測」寫成一列到 results/raw/<套件>.tsv,
# 由 scripts/comparison.sh 彙整:同一 tech + name 的多列是同一項目的多次量測,
# 比較表印出中位數與 min–max(每項至少 5 次交錯量測;make demo 的短版可以較少,會標出)。
# 欄位(以 tab 分隔,未量到的寫 "-"):
#   1 tech      技術(sockets|io_uring|af_xdp|dpdk|rdma)
#   2 name      項目名稱(繁體中文或技術名詞;同一項目每次量測都用同一個名稱)
#   3 role      baseline(核心路徑的對照)| bypass(旁路技術)| peer(同技術的參考工具,如 testpmd、perftest)
#   4 p50_us    5 p99_us   延遲(µs)
#   6 throughput 7 unit    吞吐量與單位(req/s|pps|Mpps|MB/s|Gb/s|msg/s)
#   8 cpu_ns    每個請求/封包/操作的 CPU 時間(ns);RDMA 單邊操作填被動端(伺服器)的 CPU
#   9 baseline  對照列的 name(ratio 以它計算;對 peer 的列畫在另一個面板)
#   10 method   量測方式(一句話)
#   11 glance   這一列提供總覽表的哪幾格:lat、thr、cpu 的逗號清單,或 "-"
#   12 evidence 佐證,空白分隔的 key=數字(例如 delivery_pct=99.8 redirected=200000),或 "-"
T_RAWDIR=${T_RAWDIR:-$T_ROOT/results/raw}
bench_row() {
	mkdir -p "$T_RAWDIR"
	local IFS=$'\t'
	echo "$*" >>"$T_RAWDIR/$T_SUITE.tsv"
}
# bench_point 面板 系列 x 指標 值:曲線上的一個點的「一次量測」,寫到 results/raw/<套件>.points.tsv。
# 同一 面板+系列+x+指標 的多列是多次量測:圖與表取中位數,誤差線是 min–max;少於 BENCH_RUNS 次的點標為不完整,
# 沒有任何一次的點畫成缺值(不是 0)。值不是數字(例如 "-")時這一次算缺。
#   面板(scripts/comparison.sh 依它決定標題與座標軸):
#     io_uring_net   x=連線數        系列:io_uring、epoll                     指標 cpu_ns
#     io_uring_file  x=佇列深度      系列:io_uring、pread 1 執行緒、pread 執行緒池、fio io_uring、fio libaio
#                                                                               指標 iops、cpu_ns、p50_us、p99_us
#     af_xdp         x=訊框大小(B)  系列:AF_XDP native、AF_XDP SKB、TPACKET_V3、recvmmsg  指標 pps、cpu_ns
#     dpdk_wire      x=訊框大小(B)  系列:DPDK net_af_xdp、DPDK net_af_packet、TPACKET_V3   指標 pps、cpu_ns
#     dpdk_burst     x=burst 大小    系列:ours(記憶體重播)                    指標 cpu_ns(每封包軟體成本)
#     rdma           x=訊息大小(B)  系列:SEND、WRITE、READ、TCP               指標 p50_us、mbps、cpu_ns(被動端)
#   指標:cpu_ns(每個請求/I/O/封包/操作的 CPU ns)、pps、iops、mbps(MB/s)、p50_us、p99_us
bench_point() {
	mkdir -p "$T_RAWDIR"
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$T_RAWDIR/$T_SUITE.points.tsv"
}
# 每個點/每列的量測次數:-p 為 5,-p quick 為 3(T_BENCH_QUICK=1;效能腳本也應少量幾個點)
export BENCH_RUNS=5
[ "${T_BENCH_QUICK:-0}" = 1 ] && BENCH_RUNS=3

# bench_interleave 次數 命令A 命令B [命令…]:交錯執行量測。
# 第 1、3、5… 輪依 A B C 的順序,第 2、4… 輪反過來(C B A),抵銷機器負載的漂移。
# 每個命令是「函式 [參數…]」(一個字串,以空白分開),呼叫時最後再加上輪次(1 起算);
# 函式自己以 bench_row 寫下這一次的結果。
bench_interleave() {
	local rounds=$1 r i
	shift
	local fns=("$@") cmd
	for ((r = 1; r <= rounds; r++)); do
		for ((i = 0; i < ${#fns[@]}; i++)); do
			read -ra cmd <<<"${fns[$((r % 2 ? i : ${#fns[@]} - 1 - i))]}"
			"${cmd[@]}" "$r"
		done
	done
}

# bench_skip 原因:整個技術無法量測
bench_skip() {
	mkdir -p "$T_RAWDIR"
	printf 'skip\t%s\t%s\n' "$T_SUITE" "$*" >>"$T_RAWDIR/$T_SUITE.tsv"
}

# as_user 指令…:以非特權使用者(nobody)執行;本身不是 root 時直接執行
as_user() {
	if is_root; then
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- "$@"
	else
		"$@"
	fi
}

# bench_report:印出這個套件這次的結果(每列中位數、min–max、對照比值),由 scripts/comparison.sh 計算
bench_report() {
	bash "$T_ROOT/scripts/comparison.sh" --detail "$T_RAWDIR/$T_SUITE.tsv"
}

# ratio 甲 乙:甲 ÷ 乙,印成 1.23x;任一邊不是數字或乙為 0 時印 "-"
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		num = "^[0-9]*[.]?[0-9]+([eE][-+]?[0-9]+)?$"
		if (a ~ num && b ~ num && b + 0 > 0) printf "%.2fx\n", a / b; else print "-"
	}'
}

# kv 檔案 鍵:從「key=value …」格式的行(例如 SUMMARY 行)取出最後一次出現的值
kv() {
	sed -n "s/\(^\|.* \)$2=\([^ ]*\).*/\2/p" "$1" | tail -n1
}
