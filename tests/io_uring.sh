#!/bin/bash
# tests/io_uring.sh — io_uring_async 的正確性測試(不需要 root)
#
# 同一組正確性檢查分別對三個伺服器執行:
#   uring.*  ./io_uring_async
#   asan.*   build/asan/io_uring_async(make SANITIZE=1;洩漏或未定義行為會讓結束碼非零)
#   epoll.*  bench/epoll_echo(傳統基準,語意相同,不是稻草人)
# 另外 option.* 以 --fixed-files / --zerocopy / --legacy / --sqpoll 各跑精簡的一組。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT" || exit 1

BENCH=$T_ROOT/bench/echo_bench
CHECK=$T_ROOT/tests/tools/echo_check

# srv_start 程式 [選項…]:在空閒的埠啟動伺服器,等它開始監聽
srv_start() {
	need_bin "$1" "$BENCH" "$CHECK"
	srv_launch "$@"
}

# srv_launch 指令…:同上但不檢查程式(指令可以是 prlimit 之類的外層程式)
srv_launch() {
	SRV_PORT=$(free_port)
	SRV_LOG=$T_TMP/server.log
	start_bg "$SRV_LOG" "$@" "$SRV_PORT"
	SRV_PID=$BG_PID
	wait_for 10 tcp_listening "$SRV_PORT" || fail "伺服器沒有開始監聽:$(head -c 300 "$SRV_LOG")"
}

# srv_stop:送 SIGTERM,要求結束碼 0 與總結(ASan 版本的洩漏會在這裡被發現)
srv_stop() {
	local rc=0
	stop_bg "$SRV_PID" TERM 10 || rc=$?
	cat "$SRV_LOG"
	[ "$rc" -eq 0 ] || fail "伺服器 SIGTERM 後結束碼 $rc:$(grep -m1 -E 'ERROR|runtime error|錯誤' "$SRV_LOG")"
	grep -q '^SUMMARY ' "$SRV_LOG" || fail "伺服器沒有印出 SUMMARY"
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# ---- 正確性檢查(參數:伺服器程式與選項) ----
t_nc_roundtrip() {
	srv_start "$@"
	need_cmd nc
	local msg="測試訊息:核心旁路 io_uring echo ✓"
	local got
	got=$(printf '%s\n' "$msg" | timeout 10 nc -q1 127.0.0.1 "$SRV_PORT")
	expect_eq "$got" "$msg" "nc 來回"
	srv_stop
}

t_random_sizes() {
	srv_start "$@"
	"$BENCH" -p "$SRV_PORT" -c 200 -s 1-65536 -n 5 -t 60 ||
		fail "200 條連線、隨機 1..64 KiB 訊息核對失敗"
	srv_stop
}

t_stream_late_reader() {
	srv_start "$@"
	local before peak=0 r
	before=$(rss_kb "$SRV_PID")
	"$CHECK" stream "$SRV_PORT" $((32 << 20)) 1500 >"$T_TMP/stream.out" 2>&1 &
	local cpid=$!
	# 讀取端延遲期間量伺服器記憶體:背壓應讓它維持有界
	while kill -0 "$cpid" 2>/dev/null; do
		r=$(rss_kb "$SRV_PID")
		[ "${r:-0}" -gt "$peak" ] && peak=$r
		sleep 0.1
	done
	wait "$cpid" || fail "32 MiB 串流核對失敗:$(tail -n1 "$T_TMP/stream.out")"
	cat "$T_TMP/stream.out"
	echo "RSS 啟動後 ${before} KiB,串流期間最高 ${peak} KiB"
	# 背壓:伺服器停止讀取,用戶端在延遲期間只寫得出 socket 緩衝區那麼多(遠少於 32 MiB)
	local stalled
	stalled=$(sed -n 's/.*期間寫出 \([0-9]*\) 位元組.*/\1/p' "$T_TMP/stream.out")
	expect_le "${stalled:-999999999}" $((16 << 20)) "讀取端延遲期間用戶端寫出的位元組(伺服器應停止讀取)"
	# 記憶體上限 = 緩衝區池(io_uring 預設 4096 × 4 KiB = 16 MiB)加上少量餘裕
	expect_le $((peak - before)) $((24 * 1024)) "讀取端延遲時伺服器 RSS 成長(KiB)"
	srv_stop
}

t_half_close() {
	srv_start "$@"
	"$CHECK" halfclose "$SRV_PORT" 3000000 || fail "半關閉後沒有收回全部資料或沒有關閉"
	srv_stop
}

t_reset_pending() {
	srv_start "$@"
	local i
	for i in 1 2 3; do
		"$CHECK" reset "$SRV_PORT" 8000000 || fail "reset 用戶端失敗"
	done
	# 小量資料 + 立即 RST:recv 的資料與重設常落在同一批 CQE(曾觸發 use-after-free)
	for i in $(seq 300); do
		"$CHECK" reset "$SRV_PORT" 5 >/dev/null || fail "reset 用戶端失敗"
	done
	kill -0 "$SRV_PID" 2>/dev/null || fail "用戶端重設連線後伺服器結束了"
	"$BENCH" -p "$SRV_PORT" -c 4 -s 1000 -n 100 -q || fail "重設之後伺服器無法正常服務"
	srv_stop
}

t_pipelined_100k() {
	srv_start "$@"
	"$BENCH" -p "$SRV_PORT" -c 1 -s 32 -d 256 -n 100000 -t 60 || fail "10 萬個管線化訊息核對失敗"
	srv_stop
}

t_hold_5000() {
	srv_start "$@"
	local lim
	lim=$(ulimit -n)
	[ "$lim" -ge 10100 ] || skip "開檔上限 $lim 太低,需要 >= 10100(ulimit -n)"
	"$BENCH" -p "$SRV_PORT" -c 5000 -s 64 -n 1 -t 60 >"$T_TMP/b.out" 2>&1 ||
		fail "5000 條同時連線各 echo 一次失敗:$(tail -n2 "$T_TMP/b.out" | tr '\n' ' ')"
	cat "$T_TMP/b.out"
	expect_match "$(cat "$T_TMP/b.out")" 'msgs=5000 ' "5000 個訊息都收回"
	srv_stop
}

t_fd_leak() {
	srv_start "$@"
	local before after
	before=$(fd_count "$SRV_PID")
	"$CHECK" cycles "$SRV_PORT" 10000 || fail "connect/close 循環失敗"
	# 伺服器關閉連線是非同步的:等 fd 數回到原值
	wait_for 10 test "$(fd_count "$SRV_PID")" -le "$before" || true
	after=$(fd_count "$SRV_PID")
	echo "fd 數:之前 $before,之後 $after"
	expect_eq "$after" "$before" "10,000 次 connect/close 後伺服器的 fd 數"
	srv_stop
	expect_file_match "$SRV_LOG" 'conns=1000[0-9]' "伺服器應接受全部 10,000 條連線"
}

t_sigterm_summary() {
	srv_start "$@"
	"$BENCH" -p "$SRV_PORT" -c 20 -s 100 -n 50 -q || fail "負載失敗"
	# 停止時還有開著的連線:伺服器應關閉它們並正常結束
	exec 7<>"/dev/tcp/127.0.0.1/$SRV_PORT"
	exec 8<>"/dev/tcp/127.0.0.1/$SRV_PORT"
	srv_stop
	exec 7>&- 8>&-
	expect_file_match "$SRV_LOG" 'msgs=[1-9]' "SUMMARY 的訊息數"
}

t_sigint_summary() {
	srv_start "$@"
	"$BENCH" -p "$SRV_PORT" -c 2 -s 10 -n 10 -q || fail "負載失敗"
	local rc=0
	stop_bg "$SRV_PID" INT 10 || rc=$?
	cat "$SRV_LOG"
	expect_eq "$rc" 0 "SIGINT 後的結束碼"
	expect_file_match "$SRV_LOG" '總結' "SIGINT 後的總結"
}

t_port_in_use() {
	srv_start "$@"
	local bin=$1
	shift
	expect_fail "$bin" "$@" "$SRV_PORT"
	expect_file_match "$T_TMP/out" '已被使用' "埠被佔用的錯誤訊息"
	expect_eq "$(wc -l <"$T_TMP/out")" 1 "錯誤訊息行數"
	srv_stop
}

# 開檔上限用完:伺服器印出清楚的錯誤、繼續服務,連線關掉後恢復接受
t_emfile_recovers() {
	need_bin "$1" "$BENCH"
	need_cmd prlimit
	srv_launch prlimit --nofile=40 "$@"
	local fds=() i fd
	for i in $(seq 60); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$SRV_PORT" || break
		fds+=("$fd")
	done
	wait_log 10 "$SRV_LOG" '開啟的檔案太多' || fail "fd 用完時沒有印出「開啟的檔案太多」"
	for fd in "${fds[@]}"; do exec {fd}>&-; done
	kill -0 "$SRV_PID" || fail "fd 用完後伺服器結束了"
	"$BENCH" -p "$SRV_PORT" -c 5 -s 100 -n 20 -t 30 -q || fail "連線關掉後伺服器沒有恢復服務"
	expect_le "$(grep -c '開啟的檔案太多' "$SRV_LOG")" 20 "錯誤訊息應有節制(每秒最多一行)"
	srv_stop
}

# ---- 只對 io_uring_async 的檢查 ----
URING=$T_ROOT/io_uring_async
ASAN=$T_ASAN_DIR/io_uring_async
EPOLL=$T_ROOT/bench/epoll_echo

t_bad_args() {
	need_bin "$URING"
	local args
	for args in "--queue-depth 3" "--queue-depth 0" "--buffers 100" "--buffers 65536" "--buffer-size 10" \
		"70000" "0" "abc" "--bind not-an-ip" "--bogus" "--max-conns" "12345 6789" "--max-conns -5"; do
		# shellcheck disable=SC2086 # 刻意分詞
		expect_exit 64 "$URING" $args
		expect_eq "$(wc -l <"$T_TMP/out")" 1 "「$args」的錯誤訊息行數"
		expect_file_match "$T_TMP/out" '^錯誤:' "「$args」的錯誤訊息"
	done
	expect_exit 0 "$URING" --help
	expect_file_match "$T_TMP/out" '用法' "--help"
}

t_low_port_denied() {
	need_bin "$URING"
	expect_fail as_user "$URING" 80
	expect_file_match "$T_TMP/out" '1024 以下的埠需要 root' "低埠權限訊息"
}

t_features_printed() {
	srv_start "$URING"
	expect_file_match "$SRV_LOG" 'DEFER_TASKRUN|COOP_TASKRUN|一般模式' "啟動時印出 ring 模式"
	expect_file_match "$SRV_LOG" 'multishot' "啟動時印出 multishot"
	expect_file_match "$SRV_LOG" 'buffer ring|PROVIDE_BUFFERS' "啟動時印出緩衝區模式"
	srv_stop
}

t_option_set() { # 選項…:精簡組合
	srv_start "$URING" "$@"
	head -n 6 "$SRV_LOG"
	local msg="選項 $* 的 echo"
	expect_eq "$(printf '%s\n' "$msg" | timeout 10 nc -q1 127.0.0.1 "$SRV_PORT")" "$msg" "nc 來回"
	"$BENCH" -p "$SRV_PORT" -c 100 -s 1-65536 -n 3 -t 60 -q || fail "隨機大小核對失敗"
	"$BENCH" -p "$SRV_PORT" -c 2 -s 48 -d 64 -n 20000 -t 60 -q || fail "管線化核對失敗"
	"$CHECK" halfclose "$SRV_PORT" 500000 || fail "半關閉失敗"
	srv_stop
}

t_small_pool_enobufs() {
	# 只有 16 個緩衝區、64 條連線:一定會 ENOBUFS,必須重新 arm 而且不遺失資料
	srv_start "$URING" --buffers 16 --buffer-size 1024 --max-pending 2
	"$BENCH" -p "$SRV_PORT" -c 64 -s 1-8192 -n 20 -t 60 -q || fail "緩衝區耗盡時資料核對失敗"
	"$BENCH" -p "$SRV_PORT" -c 8 -s 64 -d 64 -n 5000 -t 60 -q || fail "緩衝區耗盡時管線化核對失敗"
	srv_stop
}

# 量測結束時若有訊息只寫了一半,echo_bench 要把它寫完再收尾,不能誤報逾時
t_bench_partial_end() {
	srv_start "$URING"
	local t0=$SECONDS
	"$BENCH" -p "$SRV_PORT" -c 2 -s 300000 -d 64 -w 0 -t 0.5 || fail "大訊息、短量測應該成功"
	expect_le $((SECONDS - t0)) 5 "收尾秒數"
	srv_stop
}

t_max_conns() {
	srv_start "$URING" --max-conns 10
	"$BENCH" -p "$SRV_PORT" -c 10 -s 64 -n 10 -q || fail "上限內的連線應該正常"
	local fds=() i fd got
	for i in $(seq 10); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$SRV_PORT"
		fds+=("$fd")
	done
	sleep 0.3
	# 第 11 條:伺服器接受後立即關閉,用戶端讀到 EOF、沒有 echo
	got=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SRV_PORT; echo hi >&3; cat <&3" 2>/dev/null)
	for fd in "${fds[@]}"; do exec {fd}>&-; done
	expect_eq "$got" "" "超過 --max-conns 的連線應被關閉"
	srv_stop
	expect_file_match "$SRV_LOG" 'rejected=[1-9]' "SUMMARY 的 rejected"
}

check features_printed t_features_printed
check bad_args t_bad_args
check low_port_denied t_low_port_denied

CORE=(nc_roundtrip random_sizes stream_late_reader half_close reset_pending pipelined_100k hold_5000 fd_leak
	sigterm_summary sigint_summary port_in_use)
run_core() { # 前綴 程式 [選項…]
	local prefix=$1 t
	shift
	for t in "${CORE[@]}"; do
		check "$prefix.$t" "t_$t" "$@"
	done
}
run_core uring "$URING"

check option.fixed_files t_option_set --fixed-files
check option.zerocopy t_option_set --zerocopy
check option.legacy t_option_set --legacy
check option.sqpoll t_option_set --sqpoll
check option.fixed_zerocopy_legacy t_option_set --fixed-files --zerocopy --legacy
check option.max_queue_depth t_option_set --queue-depth 32768
check small_pool_enobufs t_small_pool_enobufs
check bench_partial_message_at_end t_bench_partial_end
check uring.emfile_recovers t_emfile_recovers "$URING"
check epoll.emfile_recovers t_emfile_recovers "$EPOLL"
check max_conns t_max_conns

# ASan + UBSan 版本:同一組正確性檢查
# make 是增量的:每次都呼叫,確保 ASan 版本與原始碼一致
[ -f io_uring_async.c ] && { build_asan || rm -f "$ASAN"; }
run_core asan "$ASAN"

# 傳統基準也必須通過同一組檢查
run_core epoll "$EPOLL"
