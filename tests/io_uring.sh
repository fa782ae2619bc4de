#!/bin/bash
# tests/io_uring.sh — io_uring_async 的正確性測試(不需要 root)
#
# 同一組正確性檢查分別對三個伺服器執行:
#   uring.*  ./io_uring_async
#   asan.*   build/asan/io_uring_async(make SANITIZE=1;洩漏或未定義行為會讓結束碼非零)
#   epoll.*  bench/epoll_echo(傳統基準,語意與公平規則相同,不是稻草人)
# 其中包括敵意的對端:300 條只送不讀的連線(之後新連線的 echo 要在 1 秒內回來、記憶體在上限內)、
# 一萬條同時連線、兩萬次 connect/close(一半 RST)、讀得很慢的對端。
# 另外 option.* 以 --no-fixed-files / --zerocopy / --sqpoll / --recv single / --taskrun coop|none 各跑精簡的一組
# (--taskrun、--recv single 就是較舊核心會走的路)。
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

# wait_exit 秒數 PID:等背景程式結束(最多幾秒),回傳它的結束碼
wait_exit() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	wait "$2"
}

# established_ge 埠 N:伺服器這個埠上至少有 N 條已建立的連線
established_ge() { [ "$(ss -Htn state established "sport = :$1" | wc -l)" -ge "$2" ]; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# 固定檔案表裡佔著的槽位:direct descriptor 不在 /proc/PID/fd,io_uring 的 fdinfo 才列得出來
direct_count() {
	local f
	for f in /proc/"$1"/fd/*; do
		[ "$(readlink "$f")" = "anon_inode:[io_uring]" ] || continue
		awk '/^UserFiles:/ {on = 1; next} /^UserBufs:/ {on = 0} on && /^ *[0-9]+: / {n++} END {print n + 0}' \
			"/proc/$1/fdinfo/${f##*/}"
		return
	done
	echo 0
}
# 伺服器開著的檔案:一般 fd 加上固定檔案表的槽位
open_files() { echo $(($(fd_count "$1") + $(direct_count "$1"))); }
files_back_to() { [ "$(open_files "$1")" -le "$2" ]; }

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
	# 一條連線的待送 <= 64 KiB + 一個緩衝區;RSS 成長主要是接收 buffer ring(16 MiB)被碰到的頁
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
	for _ in 1 2 3; do
		"$CHECK" reset "$SRV_PORT" 8000000 || fail "reset 用戶端失敗"
	done
	# 小量資料 + 立即 RST:recv 的資料與重設常落在同一批 CQE(曾觸發 use-after-free)
	for _ in $(seq 300); do
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

t_hold_10000() {
	srv_start "$@" --max-per-addr 0 # 一萬條都從 127.0.0.1 來
	local lim
	lim=$(ulimit -Hn)
	[ "$lim" -ge 10100 ] || skip "開檔上限 $lim 太低,需要 >= 10100(ulimit -n)"
	ulimit -n "$lim"
	"$BENCH" -p "$SRV_PORT" -c 10000 -s 64 -n 1 -t 60 >"$T_TMP/b.out" 2>&1 ||
		fail "10,000 條同時連線各 echo 一次失敗:$(tail -n2 "$T_TMP/b.out" | tr '\n' ' ')"
	cat "$T_TMP/b.out"
	expect_match "$(cat "$T_TMP/b.out")" 'msgs=10000 ' "10,000 個訊息都逐位元組收回"
	srv_stop
}

t_fd_leak() {
	srv_start "$@"
	local before after
	before=$(open_files "$SRV_PID")
	"$CHECK" cycles "$SRV_PORT" 20000 || fail "connect/close 循環失敗"
	# accept 佇列是先進先出:最後這條收到 echo,前面兩萬條就都被 accept 過了
	# (曾經:最後一條還在 backlog 裡時開著的檔案數已經回到原值,SIGTERM 後 conns=19999)
	"$CHECK" probe "$SRV_PORT" 1 2000 || fail "循環之後的新連線沒有收到 echo"
	# 伺服器關閉連線是非同步的:等開著的檔案數(fd + 固定檔案表槽位)回到原值
	wait_for 10 files_back_to "$SRV_PID" "$before" || true
	after=$(open_files "$SRV_PID")
	echo "開著的檔案(fd + 固定檔案槽位):之前 $before,之後 $after"
	expect_eq "$after" "$before" "20,000 次 connect/close(一半 RST)後伺服器開著的檔案數"
	srv_stop
	expect_file_match "$SRV_LOG" 'conns=20001 ' "伺服器應接受全部 20,000 條連線與最後的 probe"
}

# 敵意的對端:300 條連線只送不讀。之後新連線的 echo 仍要在 1 秒內回來,伺服器記憶體在上限內
t_starvation() {
	srv_start "$@"
	local before rss
	before=$(rss_kb "$SRV_PID")
	start_bg "$T_TMP/hog" "$CHECK" hog "$SRV_PORT" 300 120
	wait_log 90 "$T_TMP/hog" 'READY' || fail "不讀的對端沒有把伺服器塞滿:$(cat "$T_TMP/hog")"
	cat "$T_TMP/hog"
	"$CHECK" probe "$SRV_PORT" 5 1000 || fail "300 個不讀的對端之後,新連線 1 秒內沒有收到 echo"
	"$BENCH" -p "$SRV_PORT" -c 20 -s 128 -n 50 -t 30 -q || fail "不讀的對端佔著時,其他連線的負載核對失敗"
	rss=$(rss_kb "$SRV_PID")
	echo "RSS:啟動後 $before KiB,300 個不讀的對端塞滿後 $rss KiB"
	# 上限:接收緩衝區 16 MiB + 待送(每條連線最多 4 × 64 KiB + 4 KiB,300 條是 76 MiB,但全部共用的待送池
	# 只有 64 MiB)+ 程式本身 8 MiB;ASan 的影子記憶體另計。實測 io_uring_async 約 43 MiB(每條連線上限 1 倍時 36)
	expect_le "$((rss - before))" $(((16 + 64 + 8) * 1024)) "伺服器 RSS 成長(KiB)"
	srv_stop
}

# 待送池用完、不斷逐出最慢的讀者:被逐出的連線不能收到別條連線的資料
# (曾經:逐出時待送 chunk 立刻回到待送池,已提交的 SEND 把別人的資料送給被逐出的對端)
t_evict_no_leak() {
	srv_start "$@" --max-output 256K --conn-buffer 32K
	"$CHECK" evict "$SRV_PORT" 3 >"$T_TMP/evict" 2>&1 || fail "有連線收到別條連線的資料:$(head -n1 "$T_TMP/evict")"
	cat "$T_TMP/evict"
	srv_stop
	expect_ge "$(kv "$SRV_LOG" evicted)" 1 "待送池用完時逐出的連線數"
}

# 同一批 epoll 事件裡逐出一條還有事件沒處理的連線(曾經:epoll_echo 立刻 free,之後處理它的事件 = use-after-free)
t_evict_batch() {
	srv_start "$@" --max-output 64K --conn-buffer 64K
	"$CHECK" evictbatch "$SRV_PORT" "$SRV_PID" >"$T_TMP/eb" 2>&1 ||
		fail "同一批事件裡逐出連線:$(tail -n1 "$T_TMP/eb");伺服器:$(grep -m1 -E 'ERROR|runtime error' "$SRV_LOG")"
	cat "$T_TMP/eb"
	srv_stop
	expect_ge "$(kv "$SRV_LOG" evicted)" 1 "逐出的連線數"
}

# 閒置逾時:連上後什麼都不送的、送了不讀而卡住的連線被關閉;一直有來回的連線不受影響
# (曾經:兩種都永遠佔著連線表,一萬多個這樣的對端就讓其他人全被拒絕)
t_idle_timeout() {
	# --sock-buffer 固定核心的收送緩衝區:自動調整時,核心會替不讀的對端把伺服器這邊的送出緩衝區一路加大
	# (往 tcp_wmem 的上限 4 MiB),伺服器照樣讀得到、送得進去,位元組一直在動,所以還不算閒置;加大的節奏
	# 跟著零視窗探測的間隔走(我們的程式之外)。實測:同時有負載時 7 秒內吃進 4.6 MB,1/3 的次數還沒閒置
	# (改動之前的程式也一樣)。固定之後「不再有位元組進出」只取決於我們的程式
	srv_start "$@" --idle-timeout 1 --sock-buffer 64K
	local idle rc=0
	exec {idle}<>"/dev/tcp/127.0.0.1/$SRV_PORT"
	start_bg "$T_TMP/hog" "$CHECK" hog "$SRV_PORT" 1 30
	# 送了 40000 位元組後不讀也不送:伺服器的 echo 塞在它自己的核心送出佇列裡(待送池是空的)
	start_bg "$T_TMP/so" "$CHECK" sendonly "$SRV_PORT" 40000 30
	wait_log 10 "$T_TMP/so" READY || fail "sendonly 沒有送完:$(cat "$T_TMP/so")"
	"$BENCH" -p "$SRV_PORT" -c 1 -s 64 -w 0 -t 4 -q || fail "一直有來回的連線被當成閒置關閉了"
	# 閒置的那條已被伺服器關閉:讀到 EOF 或被重設(還開著的話 cat 會等到逾時,timeout 回 124)
	timeout 3 cat <&"$idle" >/dev/null 2>&1 || rc=$?
	exec {idle}>&-
	[ "$rc" -ne 124 ] || fail "閒置連線應被伺服器關閉(3 秒內沒有 EOF 也沒有重設)"
	# 逾時一律以 RST 關閉:伺服器這邊不能留下對著零視窗重試的 FIN-WAIT-1 孤兒 socket
	# (曾經:一般的 close,核心帶著 sendonly 那條送不出去的 echo 重試好幾分鐘)
	expect_eq "$(ss -Htan state fin-wait-1 "sport = :$SRV_PORT" | wc -l)" 0 "伺服器留下的 FIN-WAIT-1 socket"
	srv_stop
	expect_ge "$(kv "$SRV_LOG" timeouts)" 3 "閒置逾時關閉的連線數(不送的 + 不讀的 + 只送的)"
}

# 結束時還有待送資料:先送完,再以 SHUTDOWN + CLOSE 關閉(對端收到全部資料後讀到 EOF)
t_sigterm_drain() {
	srv_start "$@"
	"$CHECK" lateread "$SRV_PORT" $((8 << 20)) 2500 >"$T_TMP/late" 2>&1 &
	local cpid=$! rc=0
	sleep 1.2 # 對端已經寫到塞住、還沒開始讀:伺服器有待送資料
	kill -TERM "$SRV_PID"
	wait "$cpid" || rc=$?
	cat "$T_TMP/late"
	[ "$rc" -eq 0 ] || fail "對端沒有收到完整的資料與 EOF:$(tail -n1 "$T_TMP/late")"
	stop_bg "$SRV_PID" TERM 10 || fail "伺服器沒有在排空後結束"
	cat "$SRV_LOG"
	local got sent
	got=$(kv "$T_TMP/late" received)
	sent=$(kv "$SRV_LOG" bytes_out)
	expect_ge "$got" 1 "對端收到的位元組"
	expect_eq "$got" "$sent" "對端收到的 = 伺服器送出的"
	expect_eq "$(kv "$SRV_LOG" bytes_in)" "$sent" "伺服器收到的每個位元組都送回了"
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
# idle_open N:對伺服器開最多 N 條什麼都不送的連線(連不上就停),fd 記在 IDLE_FDS;idle_close 關掉它們
idle_open() {
	local fd
	IDLE_FDS=()
	for _ in $(seq "$1"); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$SRV_PORT" || break
		IDLE_FDS+=("$fd")
	done
}
idle_close() {
	local fd
	for fd in "${IDLE_FDS[@]}"; do exec {fd}>&-; done
	IDLE_FDS=()
}

t_emfile_recovers() {
	need_bin "$1" "$BENCH"
	need_cmd prlimit
	srv_launch prlimit --nofile=40 "$@"
	idle_open 60
	wait_log 10 "$SRV_LOG" '開啟的檔案太多' || fail "fd 用完時沒有印出「開啟的檔案太多」"
	idle_close
	kill -0 "$SRV_PID" || fail "fd 用完後伺服器結束了"
	"$BENCH" -p "$SRV_PORT" -c 5 -s 100 -n 20 -t 30 -q || fail "連線關掉後伺服器沒有恢復服務"
	expect_le "$(grep -c '開啟的檔案太多' "$SRV_LOG")" 20 "錯誤訊息應有節制(每秒最多一行)"
	srv_stop
}

# 固定檔案表也受開檔上限限制:伺服器降低 --max-conns 並說明,超過的連線由它自己拒絕(不是 EMFILE)
t_nofile_clamp() {
	need_bin "$URING" "$BENCH"
	need_cmd prlimit
	srv_launch prlimit --nofile=40 "$URING"
	expect_file_match "$SRV_LOG" '--max-conns 降為 35' "啟動時說明上限被降低"
	idle_open 40
	wait_log 10 "$SRV_LOG" '連線數已達上限 35' || fail "超過上限時沒有自己的拒絕訊息"
	idle_close
	"$BENCH" -p "$SRV_PORT" -c 5 -s 100 -n 20 -t 30 -q || fail "連線關掉後伺服器沒有恢復服務"
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
		"70000" "0" "abc" "--bind not-an-ip" "--bogus" "--max-conns" "12345 6789" "--max-conns -5" \
		"--taskrun fast" "--recv many" "--conn-buffer 1" "--max-output 1K" "--sqpoll-cpu 1" "--conn-buffer 1M --max-output 512K" \
		"--idle-timeout -1" "--idle-timeout 1h"; do
		# shellcheck disable=SC2086 # 刻意分詞
		expect_exit 64 "$URING" $args
		expect_eq "$(wc -l <"$T_TMP/out")" 1 "「$args」的錯誤訊息行數"
		expect_file_match "$T_TMP/out" '^錯誤:' "「$args」的錯誤訊息"
	done
	expect_exit 0 "$URING" --help
	expect_file_match "$T_TMP/out" '用法' "--help"
	expect_file_match "$T_TMP/out" '記憶體上限' "--help 說明記憶體上限"
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
	expect_file_match "$SRV_LOG" 'buffer ring' "啟動時印出緩衝區模式"
	expect_file_match "$SRV_LOG" '上限:每條連線待送' "啟動時印出記憶體上限"
	# 被逐出的連線以 SETSOCKOPT uring_cmd 設 SO_LINGER 0(SQE 的欄位是我們自己填的,liburing 2.3 沒有 helper):
	# 6.7 以上的核心探測必須成功,否則就是欄位填錯了、默默退回 FIN
	local rel
	rel=$(uname -r)
	if [ "${rel%%.*}" -gt 6 ] || { [ "${rel%%.*}" -eq 6 ] && [ "$(echo "$rel" | cut -d. -f2)" -ge 7 ]; }; then
		expect_file_match "$SRV_LOG" '逐出:SETSOCKOPT.*RST' "核心 $rel:逐出的連線以 RST 關閉"
	else
		expect_file_match "$SRV_LOG" '逐出:.*FIN' "核心 $rel 沒有 SETSOCKOPT uring_cmd:說明是 FIN"
	fi
	srv_stop
	# 印出的是實際用到的功能:單次 recv 不會用 bundle(曾經照樣印「+ bundle」)
	srv_start "$URING" --recv single --bundle
	expect_file_match "$SRV_LOG" 'recv:單次 recv\(--recv single\),' "單次 recv 時不印 bundle"
	srv_stop
}

t_option_set() { # 證據 選項…:精簡組合;「證據」是伺服器記錄裡證明這個選項真的生效的正規表示式
	local proof=$1
	shift
	srv_start "$URING" "$@"
	head -n 7 "$SRV_LOG"
	local msg="選項 $* 的 echo"
	expect_eq "$(printf '%s\n' "$msg" | timeout 10 nc -q1 127.0.0.1 "$SRV_PORT")" "$msg" "nc 來回"
	"$BENCH" -p "$SRV_PORT" -c 100 -s 1-65536 -n 3 -t 60 -q || fail "隨機大小核對失敗"
	"$BENCH" -p "$SRV_PORT" -c 2 -s 48 -d 64 -n 20000 -t 60 -q || fail "管線化核對失敗"
	# 晚讀的對端:回應一定會排進待送佇列(走一般送出;--zerocopy 的零複製只用在這條路上)
	"$CHECK" stream "$SRV_PORT" $((32 << 20)) 500 >"$T_TMP/stream.out" 2>&1 || fail "晚讀的串流核對失敗:$(tail -n1 "$T_TMP/stream.out")"
	"$CHECK" halfclose "$SRV_PORT" 500000 || fail "半關閉失敗"
	srv_stop
	# 選項沒有生效(核心不支援而退回預設路徑)就是略過,不是通過
	grep -Eq -- "$proof" "$SRV_LOG" || skip "$* 沒有生效(記錄裡沒有 /$proof/):$(grep -m1 '注意' "$SRV_LOG")"
}

t_small_pool_enobufs() {
	# 只有 16 個緩衝區、64 條連線:一定會 ENOBUFS,必須重新 arm 而且不遺失資料
	srv_start "$URING" --buffers 16 --buffer-size 1024 --conn-buffer 4096
	"$BENCH" -p "$SRV_PORT" -c 64 -s 1-8192 -n 20 -t 60 -q || fail "緩衝區耗盡時資料核對失敗"
	"$BENCH" -p "$SRV_PORT" -c 8 -s 64 -d 64 -n 5000 -t 60 -q || fail "緩衝區耗盡時管線化核對失敗"
	srv_stop
	expect_ge "$(kv "$SRV_LOG" enobufs)" 1 "ENOBUFS 次數(這個檢查就是為了走重新 arm 的路)"
}

# 熱的緩衝區先用:一條連線一則一則送 4 KiB,只會用到 ring 裡維持的那幾十個緩衝區(還回來的先放回去),
# 不是先進先出地把 4096 個(16 MiB)輪過一遍。RSS 看的是核心真的寫過的頁面(舊的做法成長約 16 MiB)。
# ring 不夠時(ENOBUFS)要加倍,資料一個位元組也不能少。
t_ring_hot() {
	local base rss
	srv_start "$URING"
	base=$(rss_kb "$SRV_PID")
	"$BENCH" -p "$SRV_PORT" -c 1 -s 4096 -d 1 -n 10000 -t 60 -q || fail "一條連線 4 KiB 核對失敗"
	rss=$(rss_kb "$SRV_PID")
	srv_stop
	echo "RSS:啟動後 $base KiB,一萬則 4 KiB 之後 $rss KiB;碰過 $(kv "$SRV_LOG" bufs_touched) 個接收緩衝區"
	expect_le "$(kv "$SRV_LOG" bufs_touched)" 128 "碰過的接收緩衝區數(ring 裡維持 64 個)"
	expect_le "$((rss - base))" 4096 "RSS 成長(KiB;4096 個緩衝區全碰過是 16384)"
	srv_start "$URING" --buffers 1024 --buffer-size 1024
	"$BENCH" -p "$SRV_PORT" -c 64 -s 1-8192 -n 20 -t 60 -q || fail "ring 加大時資料核對失敗"
	srv_stop
	expect_ge "$(kv "$SRV_LOG" enobufs)" 1 "ENOBUFS 次數(64 條連線同時送,ring 裡只有 64 個 1 KiB)"
	expect_ge "$(kv "$SRV_LOG" ring_peak)" 128 "ENOBUFS 之後 ring 裡維持的數量"
}

# --help 的記憶體上限是真的:待送池用完(不讀的對端比池子多)、100 條連線同時送之後,
# 伺服器的最高 RSS 成長 <= 接收 16 MiB(照全部碰過算)+ 待送池 8 MiB + 每條連線約 540 位元組(+ 1 MiB 給 libc 與堆疊)
t_memory_bound() {
	srv_start "$URING" --max-output 8M
	local base hwm conns=250 limit
	base=$(rss_kb "$SRV_PID")
	start_bg "$T_TMP/hog" "$CHECK" hog "$SRV_PORT" 150 60
	wait_log 90 "$T_TMP/hog" 'READY' || fail "不讀的對端沒有把伺服器塞滿:$(cat "$T_TMP/hog")"
	# 一萬次 recv、100 條連線同時送:ENOBUFS 讓 ring 裡的數量加倍;上限照 4096 個全碰過來算
	"$BENCH" -p "$SRV_PORT" -c 100 -s 1-4096 -n 100 -t 60 -q || fail "待送池用完時其他連線核對失敗"
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$SRV_PID/status")
	srv_stop
	limit=$((16 * 1024 + 8 * 1024 + conns * 540 / 1024 + 1024))
	echo "RSS:啟動後 $base KiB,最高 $hwm KiB(成長 $((hwm - base)) KiB,上限 $limit KiB)"
	expect_ge "$(kv "$SRV_LOG" evicted)" 1 "待送池用完時逐出的連線數(確定池子真的滿了)"
	expect_le "$((hwm - base))" "$limit" "伺服器最高 RSS 成長(KiB)"
}

# --zerocopy:讀過一點就不再讀的對端被逾時關閉後,還在核心送出佇列裡的零複製資料不能佔住待送池
# (曾經:正常關閉留下的孤兒 socket 帶著那些 chunk 再重試幾分鐘,兩波 40 條之後待送池只剩約 40%;
# 現在這種連線以 RST 關閉,而且在等通知的 chunk 最多待送池的 1/4)
server_gone() { ! established_ge "$1" 1; }
t_zc_orphans() {
	srv_start "$URING" --zerocopy --zc-threshold 1024 --sock-buffer 4K --idle-timeout 2 --min-progress 0 \
		--max-output 2M --max-per-addr 0
	local w free
	for w in 1 2; do
		start_bg "$T_TMP/zc$w" "$CHECK" zcpin "$SRV_PORT" 40 60
		wait_log 10 "$T_TMP/zc$w" READY || fail "讀過就不讀的對端沒有準備好:$(cat "$T_TMP/zc$w")"
		cat "$T_TMP/zc$w"
		wait_for 10 server_gone "$SRV_PORT" || fail "伺服器沒有以閒置逾時關閉這些連線"
	done
	# 有流量才會印統計:一個 probe 之後的那一行就是待送池現在剩多少
	sleep 0.5
	"$CHECK" probe "$SRV_PORT" 1 1000 || fail "新連線沒有收到 echo"
	sleep 1.5
	free=$(grep '待送池剩' "$SRV_LOG" | tail -n1 | sed 's/.*待送池剩 \([0-9]*\)%.*/\1/')
	srv_stop
	expect_ge "$(kv "$SRV_LOG" zc_sends)" 1 "SEND_ZC 次數(確定走了零複製)"
	expect_ge "$(kv "$SRV_LOG" timeouts)" 1 "逾時關閉的連線數"
	expect_ge "${free:-0}" 75 "兩波對端都被關閉後待送池剩下的百分比"
}

# SQPOLL、SQ 很小:一輪要準備的 SQE 比 SQ 多時,必須把 SQ 交給核心執行緒再等空位
# (曾經:只呼叫 io_uring_sqring_wait 而沒交出 tail,伺服器永遠空轉,連 SIGTERM 都不理)
t_sqpoll_full_sq() {
	srv_start "$URING" --sqpoll --queue-depth 8
	expect_file_match "$SRV_LOG" 'SQPOLL' "啟動時印出 SQPOLL"
	grep -q '核心不支援' "$SRV_LOG" && fail "SQPOLL 不該說核心不支援 DEFER_TASKRUN(是 SQPOLL 不能搭配)"
	"$BENCH" -p "$SRV_PORT" -c 50 -s 128 -n 200 -t 20 -q || fail "SQ 滿時 echo 沒有完成"
	"$BENCH" -p "$SRV_PORT" -c 100 -s 1-65536 -n 5 -t 20 -q || fail "SQ 滿時隨機大小核對失敗"
	srv_stop
}

# --wait-nr > 1 閒置時不能每 --wait-usec 就醒來(曾經:閒置的伺服器一秒進核心約一萬次)
t_batching_idle() {
	srv_start "$URING" --wait-nr 16 --wait-usec 100
	sleep 2
	srv_stop
	# 閒置時每 200 ms 醒來一次:2 秒約 10 次
	expect_le "$(kv "$SRV_LOG" enters)" 100 "閒置 2 秒的 io_uring_enter 次數"
}

# 一條連線的 ping-pong:送出回應與等下一個請求是同一次 io_uring_enter(快速送出的 CQE 算在等待個數裡)。
# 曾經每個請求兩次:送出的 CQE 當場進 CQ,等一個就立刻回來,下一輪才睡。上限 1.5 留給用戶端偶爾慢過 20 ms。
# 不能算的送出(它的 CQE 是讓事情往前走的那一個)算了的話,會睡到 20 ms 逾時才處理:inline_timeouts 數的
# 就是這種逾時。兩種曾經猜錯的情形:64 KiB 串流(送出沒送完)、1 KiB 緩衝區時 20 KB 的 ping-pong(一輪收到
# 超過 16 個緩衝區,前 16 個先送、其餘排在後面)。另外確認 multishot recv 不是每則 64 KiB 訊息就重新 arm。
# one_enter_run 說明 "echo_bench 的參數" 伺服器指令…:啟動伺服器、跑一次逐位元組核對的負載、停下(SUMMARY 在 $SRV_LOG)
one_enter_run() {
	local what=$1 args=$2
	shift 2
	srv_start "$@"
	# shellcheck disable=SC2086 # 刻意分詞
	"$BENCH" -p "$SRV_PORT" $args -t 60 -q >"$T_TMP/b.out" 2>&1 || fail "$what 核對失敗:$(tail -n1 "$T_TMP/b.out")"
	srv_stop
	echo "$what:伺服器 enters=$(kv "$SRV_LOG" enters) recv_arms=$(kv "$SRV_LOG" recv_arms)" \
		"inline_timeouts=$(kv "$SRV_LOG" inline_timeouts)"
}
t_one_enter() {
	one_enter_run "ping-pong 3000 則" "-c 1 -s 128 -d 1 -n 3000" "$@"
	expect_le "$(kv "$SRV_LOG" enters)" 4500 "io_uring_enter 次數(舊的做法約 6000)"
	one_enter_run "64 KiB 串流 800 則" "-c 4 -s 65536 -d 4 -n 200" "$@"
	# 800 則 64 KiB:一次 arm 最多收 4 × --conn-buffer(256 KiB),約 200 次;每則結束一次(舊的額度)是 800 次以上
	expect_le "$(kv "$SRV_LOG" recv_arms)" 400 "multishot recv arm 的次數"
	expect_le "$(kv "$SRV_LOG" inline_timeouts)" 10 "串流:算了快速送出的等待逾時次數"
	one_enter_run "1 KiB 緩衝區、20 KB ping-pong 600 則" "-c 1 -s 20000 -d 1 -n 600" "$@" --buffer-size 1024
	expect_le "$(kv "$SRV_LOG" inline_timeouts)" 10 "大訊息:算了快速送出的等待逾時次數"
}

# 量測結束時若有訊息只寫了一半,echo_bench 要把它寫完再收尾,不能誤報逾時
t_bench_partial_end() {
	srv_start "$URING"
	local t0=$SECONDS
	"$BENCH" -p "$SRV_PORT" -c 2 -s 300000 -d 64 -w 0 -t 0.5 || fail "大訊息、短量測應該成功"
	expect_le $((SECONDS - t0)) 5 "收尾秒數"
	srv_stop
}

t_max_conns() { # 選項…
	srv_start "$URING" --max-conns 10 --max-per-addr 0 "$@"
	"$BENCH" -p "$SRV_PORT" -c 10 -s 64 -n 10 -q || fail "上限內的連線應該正常"
	# 10 條一直在 ping-pong(每條每秒都有進出):第 11 條沒有人可以讓位,伺服器接受後立即關閉、沒有 echo
	start_bg "$T_TMP/busy" "$BENCH" -p "$SRV_PORT" -c 10 -s 64 -w 0 -t 4 -q
	wait_for 10 established_ge "$SRV_PORT" 10 || fail "忙碌的 10 條連線沒有建立"
	"$CHECK" refused "$SRV_PORT" 3000 127.0.0.1 || fail "超過 --max-conns、而且每條都在忙時,新連線應被關閉"
	wait_exit 10 "$BG_PID" || fail "忙碌的 10 條連線被影響:$(cat "$T_TMP/busy")"
	srv_stop
	expect_file_match "$SRV_LOG" 'rejected=[1-9]' "SUMMARY 的 rejected"
	# 是我們自己拒絕的(固定檔案表留了空位,核心不會先回 ENFILE)
	expect_file_match "$SRV_LOG" '連線數已達上限 10' "伺服器自己的拒絕訊息"
	grep -q '開啟的檔案太多' "$SRV_LOG" && fail "不應出現 ENFILE/EMFILE"
	return 0
}

# 一次湧進的連線比 --max-conns 多很多(伺服器被 SIGSTOP 時排在 backlog 裡):全部由伺服器自己拒絕,
# 不是核心的 ENFILE(曾經:拒絕的 CLOSE 還在路上時固定檔案表被佔滿,印出「提高 ulimit -n」,accept 停一秒)
t_max_conns_burst() { # 選項…
	srv_start "$URING" --max-conns 10 --max-per-addr 0 "$@"
	kill -STOP "$SRV_PID"
	start_bg "$T_TMP/hold" "$CHECK" hold "$SRV_PORT" 300 3
	wait_log 10 "$T_TMP/hold" HOLDING || { kill -CONT "$SRV_PID"; fail "連線潮沒有建立:$(cat "$T_TMP/hold")"; }
	kill -CONT "$SRV_PID"
	wait_exit 10 "$BG_PID" || fail "連線潮的用戶端失敗:$(cat "$T_TMP/hold")"
	"$CHECK" probe "$SRV_PORT" 3 1000 || fail "連線潮之後新連線沒有被服務"
	srv_stop
	grep -q '開啟的檔案太多' "$SRV_LOG" && fail "連線數上限應由伺服器自己拒絕,不是 ENFILE/EMFILE"
	# 290 條超量:每一輪 multishot accept 在槽位用完時仍有一條被核心以 ENFILE 重設(見 ACCEPT_HEADROOM)
	expect_ge "$(kv "$SRV_LOG" rejected)" 270 "被伺服器自己拒絕的連線數"
}

# CQ 很小(--queue-depth 8 = 32 個 CQE)而一千條連線同時湧進:CQ 滿時核心停掉 multishot accept,
# 要立刻重新 arm(曾經:等每秒的計時器,一秒只接受約 33 條),並回報 CQ 溢位
t_accept_small_cq() {
	srv_start "$URING" --queue-depth 8 --max-per-addr 0
	kill -STOP "$SRV_PID"
	start_bg "$T_TMP/bench" "$BENCH" -p "$SRV_PORT" -c 1000 -s 128 -n 2 -t 10 -q
	sleep 1
	kill -CONT "$SRV_PID"
	wait_exit 30 "$BG_PID" || fail "一千條連線沒有全部完成 echo:$(head -n 2 "$T_TMP/bench" | tr "\n" " ")"
	srv_stop
	expect_ge "$(kv "$SRV_LOG" cq_overflow)" 1 "SUMMARY 回報 CQ 溢位"
	expect_file_match "$SRV_LOG" 'CQ 滿了' "CQ 溢位時的說明"
}

# ---- 公平規則:不讀的對端、慢速攻擊、來源位址上限(io_uring_async 與 epoll_echo 規則相同) ----

# 待送池被一群不讀者塞滿、而且它們被關就重連:一直在讀的用戶端(逐位元組核對)撐 4 秒,連續 6 次都要完成,
# 被關的是不讀者(曾經:關掉「佔最多」的連線,一個讀得快、剛好收到一大批的用戶端 6 次裡被重設 5 次)
t_innocent() {
	srv_start "$@" --max-output 4M --sock-buffer 16K --quiet
	local i
	for i in 1 2 3 4 5 6; do
		"$CHECK" innocent "$SRV_PORT" 400 4 >"$T_TMP/inn" 2>&1 ||
			fail "第 $i 次:一直在讀的用戶端被關掉了:$(tail -n1 "$T_TMP/inn")"
		cat "$T_TMP/inn"
		expect_ge "$(kv "$T_TMP/inn" hog_reconnects)" 1 "第 $i 次:不讀者被關閉後重連的次數"
	done
	srv_stop
	expect_ge "$(kv "$SRV_LOG" evicted)" 6 "逐出的(不讀的)連線數"
}

# 慢速攻擊:80 條連線從 127.0.0.1 各每 3 秒送 1 個位元組(被關就重連),--max-conns 50;
# 從 127.0.0.2 來的新連線每秒一次,每次都要在 2 秒內收到 echo(同一個來源最多 --max-per-addr = 25 條)
t_slowloris() {
	srv_start "$@" --max-conns 50 --quiet
	"$CHECK" slowloris "$SRV_PORT" 80 8 || fail "慢速連線佔著時,另一個來源的新連線沒有在 2 秒內收到 echo"
	srv_stop
	expect_ge "$(kv "$SRV_LOG" rejected)" 1 "超過同一來源上限而被拒絕的連線"
}

# 連線數滿了:閒置最久(>= 1 秒)的那條讓位給新連線(來源位址不限時,只靠這條規則)
t_yield_idle() {
	srv_start "$@" --max-conns 10 --max-per-addr 0 --quiet
	idle_open 10
	sleep 1.5
	"$CHECK" probe "$SRV_PORT" 3 2000 || fail "10 條連線閒置超過 1 秒時,新連線應該讓閒置最久的讓位"
	idle_close
	srv_stop
	expect_ge "$(kv "$SRV_LOG" yielded)" 1 "讓位給新連線的次數"
}

# 來源位址上限:同一個來源最多 --max-per-addr 條;別的來源照樣進得來
t_per_addr() {
	srv_start "$@" --max-conns 100 --max-per-addr 3
	idle_open 3
	"$CHECK" refused "$SRV_PORT" 3000 127.0.0.1 || fail "同一個來源的第 4 條應被拒絕"
	"$CHECK" probe "$SRV_PORT" 2 2000 127.0.0.2 || fail "另一個來源的連線應該正常"
	idle_close
	srv_stop
	expect_ge "$(kv "$SRV_LOG" rejected)" 1 "拒絕的連線數"
}

# 最低進度:每 3 秒只送 1 個位元組的連線,閒置逾時抓不到(它一直有送),每 3 秒收送不到 64 位元組就被關
t_min_progress() {
	srv_start "$@" --idle-timeout 3 --min-progress 64 --quiet
	"$CHECK" slowloris "$SRV_PORT" 5 9 || fail "新連線應該正常"
	srv_stop
	expect_ge "$(kv "$SRV_LOG" slow)" 5 "收送太慢而被關閉的連線"
}

# IPv6:監聽 [::](雙協定堆疊),::1 與 127.0.0.1 都逐位元組收回;--bind ::1 只收 IPv6
t_ipv6() {
	grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null || skip "這台機器的 lo 沒有 ::1(IPv6 停用)"
	srv_start "$@"
	"$BENCH" -H ::1 -p "$SRV_PORT" -c 8 -s 1-9000 -n 100 -t 20 -q || fail "IPv6(::1)的 echo 核對失敗"
	"$BENCH" -H 127.0.0.1 -p "$SRV_PORT" -c 8 -s 1-9000 -n 100 -t 20 -q || fail "同一個 [::] socket 上的 IPv4 echo 核對失敗"
	expect_file_match "$SRV_LOG" '監聽 \[::\]:[0-9]+' "預設監聽 [::]"
	srv_stop
	srv_start "$@" --bind ::1
	"$BENCH" -H ::1 -p "$SRV_PORT" -c 2 -s 100 -n 10 -t 20 -q || fail "--bind ::1 的 echo 核對失敗"
	timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SRV_PORT" 2>/dev/null && fail "--bind ::1 不應接受 IPv4"
	srv_stop
}

# ---- 檔案 I/O 模式(--file) ----

# 每一種 --rw 寫在自己建立的檔案上、讀回核對(含 O_DIRECT);讀取不改變檔案
t_file_modes() {
	local bin=${1:-$URING} f=$T_TMP/data sum
	need_bin "$bin"
	expect_exit 0 "$bin" --file "$f.seq" --rw write --size 8M --bs 64K --qd 4 --duration 0 --verify --direct
	expect_file_match "$T_TMP/out" 'SUMMARY .*rw=write .*ios=128 ' "循序寫入整個 8 MiB(128 個 64 KiB)"
	expect_exit 0 "$bin" --file "$f.seq" --rw read --bs 4K --qd 8 --duration 0 --verify
	expect_file_match "$T_TMP/out" 'ios=2048 .*verify_errors=0' "經過 page cache 循序讀回並核對"
	sum=$(sha256sum <"$f.seq")
	expect_exit 0 "$bin" --file "$f.seq" --rw randread --bs 4K --qd 32 --duration 0 --verify --direct
	expect_file_match "$T_TMP/out" 'ios=2048 .*verify_errors=0' "O_DIRECT 隨機讀回(每個區塊一次)並核對"
	# O_DIRECT 預設一個就送:補上的 2016 個 I/O 每個一次 io_uring_enter(曾經:全部攢著和等待一起送)
	expect_ge "$(kv "$T_TMP/out" enters)" 2016 "O_DIRECT、一個就送的 io_uring_enter 次數"
	expect_exit 0 "$bin" --file "$f.seq" --rw randread --qd 16 --duration 1 --direct --quiet
	expect_file_match "$T_TMP/out" 'qd=16 submit_batch=1 .*iops=[1-9]' "依時間的隨機讀取(O_DIRECT 預設一個就送)"
	# 送出的批次:不整除 --qd 的批次(剩下的跟著等待送出),每個區塊仍剛好一次、逐位元組核對
	expect_exit 0 timeout 20 "$bin" --file "$f.seq" --rw randread --bs 4K --qd 32 --submit-batch 5 --duration 0 --verify --direct
	expect_file_match "$T_TMP/out" 'submit_batch=5 .*ios=2048 .*verify_errors=0' "--submit-batch 5 讀回並核對"
	# page cache 命中的讀在送出時就完成:一個就送時每次送出都帶回新的完成;一圈只收進圈時已有的,
	# CQ(2 × --qd)才不會溢出(曾經:不設上限時幾乎每圈都溢出),仍要依時間結束、資料正確
	expect_exit 0 timeout 20 "$bin" --file "$f.seq" --rw randread --bs 4K --qd 16 --submit-batch 1 --duration 1 --verify --quiet
	expect_file_match "$T_TMP/out" 'submit_batch=1 direct=0 .*cq_overflow=0 .*verify_errors=0 .*elapsed_s=1\.' \
		"page cache、一個就送:CQ 沒有溢出、依時間結束並核對"
	expect_exit 0 "$bin" --file "$f.seq" --rw read --bs 4K --qd 8 --duration 0 --quiet
	expect_file_match "$T_TMP/out" 'qd=8 submit_batch=8 direct=0 ' "經過 page cache 預設整批送出"
	expect_le "$(kv "$T_TMP/out" enters)" 512 "整批送出的 io_uring_enter 次數(2048 個 I/O、QD 8)"
	expect_eq "$(sha256sum <"$f.seq")" "$sum" "讀取後檔案內容不變"
	expect_exit 0 "$bin" --file "$f.rand" --rw randwrite --size 4M --bs 4K --qd 32 --duration 0 --verify --direct
	expect_file_match "$T_TMP/out" 'rw=randwrite .*ios=1024 ' "隨機寫入(每個區塊剛好一次)"
	expect_exit 0 "$bin" --file "$f.rand" --rw read --bs 128K --qd 2 --duration 0 --verify --direct
	expect_file_match "$T_TMP/out" 'verify_errors=0' "隨機寫入的每個區塊都讀回核對"
	expect_exit 0 "$bin" --file "$f.buf" --rw write --size 2M --bs 512 --qd 64 --duration 0 --verify
	expect_exit 0 "$bin" --file "$f.buf" --rw randread --bs 512 --qd 1 --duration 0 --verify --direct
	expect_file_match "$T_TMP/out" 'ios=4096 .*verify_errors=0' "經過 page cache 寫入、O_DIRECT 讀回"
	# SIGINT 寫到一半:在飛的 I/O 收完才結束(結束碼 0),說明只寫了幾個區塊(曾經:只說「已建立」);
	# 送出過的區塊都完成了,所以開頭那 ios 個區塊讀得回來
	local pid rc=0 n
	"$bin" --file "$f.int" --rw write --size 64M --bs 512 --qd 1 --duration 0 --verify --direct --quiet \
		>"$T_TMP/out" 2>&1 &
	pid=$!
	sleep 0.5
	kill -INT "$pid"
	wait "$pid" || rc=$?
	cat "$T_TMP/out"
	expect_eq "$rc" 0 "寫到一半收到 SIGINT 的結束碼"
	expect_file_match "$T_TMP/out" '中途停止:只寫了 [0-9]+ / 131072 個區塊' "中途停止的說明"
	n=$(kv "$T_TMP/out" ios)
	expect_ge "$n" 1 "SIGINT 前寫完的區塊"
	expect_exit 0 "$bin" --file "$f.int" --rw read --size $((n * 512)) --bs 512 --duration 0 --verify --quiet
	# 內容不符時以 1 結束(不是以 --verify 寫的檔案)
	head -c 1M /dev/urandom >"$f.other"
	expect_exit 1 "$bin" --file "$f.other" --rw read --duration 0 --verify
	expect_file_match "$T_TMP/out" '資料與寫入的不符' "核對失敗的訊息"
}

# 每一種錯誤輸入:一行錯誤、結束碼 64(用法)或 1(環境),不留下檔案、不改已存在的檔案
t_file_errors() {
	local bin=${1:-$URING} d=$T_TMP args code
	need_bin "$bin"
	head -c 100 /dev/zero >"$d/tiny"
	head -c 1M /dev/zero >"$d/exists"
	mkfifo "$d/fifo"
	while IFS='|' read -r code args; do
		# 有期限:FIFO 光是 open 就會等另一端(曾經:讀取與 --overwrite 寫入都永遠卡在 open)
		# shellcheck disable=SC2086 # 刻意分詞
		expect_exit "$code" timeout 10 "$bin" $args
		expect_eq "$(wc -l <"$T_TMP/out")" 1 "「$args」的錯誤訊息行數"
		expect_file_match "$T_TMP/out" '^錯誤:' "「$args」的錯誤訊息"
	done <<EOF
1|--file $d
1|--file $d/missing
1|--file $d/tiny
1|--file $d/exists --rw write
1|--file $d/fifo
1|--file $d/fifo --rw write --overwrite
1|--file /dev/null
1|--file /dev/zero --rw write --overwrite
64|--file $d/exists --bs 1000
64|--file $d/exists --bs 0
64|--file $d/exists --qd 0
64|--file $d/exists --qd 5000
64|--file $d/exists --qd 4 --submit-batch 8
64|--file $d/exists --submit-batch 0
64|--submit-batch 4
64|--file $d/exists --rw append
64|--file $d/exists --max-conns 5
64|--file $d/exists 8080
64|--qd 8
64|--duration 3
64|--file
EOF
	if grep -q ' /dev/shm tmpfs ' /proc/mounts; then
		head -c 1M /dev/zero >"/dev/shm/kbs-iou-$$"
		on_exit "rm -f /dev/shm/kbs-iou-$$"
		expect_exit 1 "$bin" --file "/dev/shm/kbs-iou-$$" --direct --duration 1
		expect_file_match "$T_TMP/out" 'tmpfs' "tmpfs 上的 O_DIRECT:說明原因"
	fi
	[ ! -e "$d/missing" ] || fail "讀取模式不應建立檔案"
	# 寫入模式不碰已存在的檔案;--overwrite 明說要毀掉它時才寫
	expect_eq "$(sha256sum <"$d/exists")" "$(head -c 1M /dev/zero | sha256sum)" "被拒絕的寫入沒有改到檔案"
	expect_exit 0 "$bin" --file "$d/exists" --rw write --overwrite --duration 0 --verify --quiet
	expect_exit 0 "$bin" --file "$d/exists" --rw read --duration 0 --verify --quiet
	# 檔案在讀的時候被截短:結束碼 1,錯誤只印一行(曾經:在飛的 64 個 I/O 各印一行)
	head -c 8M /dev/zero >"$d/shrinks"
	"$bin" --file "$d/shrinks" --rw randread --qd 64 --duration 10 --quiet >"$T_TMP/out" 2>&1 &
	local pid=$! rc=0
	sleep 0.5
	: >"$d/shrinks"
	wait "$pid" || rc=$?
	cat "$T_TMP/out"
	expect_eq "$rc" 1 "檔案被截短後的結束碼"
	expect_eq "$(grep -c '^錯誤' "$T_TMP/out")" 1 "錯誤訊息行數"
	expect_file_match "$T_TMP/out" '檔案被截短了' "截短的說明"
	expect_file_match "$T_TMP/out" '^SUMMARY .*errors=[1-9]' "SUMMARY 的錯誤數"
}

# umount_retry 目錄:關掉 ring 之後核心才非同步地放掉檔案,umount 可能要等一下
umount_retry() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		umount "$1" 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

# 寫進區塊裝置:裝置本身或它的分割區已掛載就拒絕(曾經:只比對 mountinfo 裡的裝置本身,分割區已掛載的
# 整顆磁碟照樣被寫,上面的 ext4 壞掉)。用一個 loop 裝置:32 MiB 的映像檔,第一個分割區是 ext4 並掛載
t_file_busy_disk() {
	local bin=${1:-$URING} img=$T_TMP/disk.img loop dev part=$T_TMP/part
	need_bin "$bin"
	need_root
	need_cmd losetup partx mkfs.ext4 fsck.ext4 python3
	truncate -s 32M "$img"
	# MBR:一個 Linux 分割區(0x83),從第 2048 個 sector 開始、30720 個 sector
	python3 -c 'import struct,sys; f=open(sys.argv[1],"r+b"); f.seek(446)
f.write(struct.pack("<B3sB3sII",0,bytes(3),0x83,bytes(3),2048,30720)); f.seek(510); f.write(b"\x55\xaa")' "$img"
	loop=$(losetup -f --show -P "$img") || skip "無法建立 loop 裝置"
	on_exit "losetup -d $loop"
	[ -e "/sys/block/${loop##*/}/${loop##*/}p1/dev" ] || partx -a "$loop" 2>/dev/null || true
	dev=$(cat "/sys/block/${loop##*/}/${loop##*/}p1/dev" 2>/dev/null) || skip "loop 裝置沒有分割區(核心不掃描 loop 的分割表)"
	mknod "$part" b "${dev%:*}" "${dev#*:}"
	mkfs.ext4 -q "$part"
	mkdir "$T_TMP/mnt"
	mount "$part" "$T_TMP/mnt" || skip "無法掛載 loop 分割區"
	on_exit "umount_retry '$T_TMP/mnt'"
	echo 資料 >"$T_TMP/mnt/f"
	sync
	expect_exit 1 "$bin" --file "$loop" --rw write --overwrite --size 1M --bs 64K --duration 0 --direct
	expect_file_match "$T_TMP/out" '^錯誤:.*正在使用中' "分割區已掛載的整顆磁碟"
	expect_exit 1 "$bin" --file "$part" --rw write --overwrite --size 1M --duration 0
	expect_file_match "$T_TMP/out" '^錯誤:.*正在使用中' "已掛載的分割區"
	expect_exit 0 "$bin" --file "$loop" --rw randread --size 1M --duration 0 --quiet # 讀取照樣可以
	umount_retry "$T_TMP/mnt" || fail "無法卸載 loop 分割區"
	fsck.ext4 -fn "$part" || fail "檔案系統被寫壞了"
	# 沒有人用時,--overwrite 照樣寫得進去(拒絕的是「使用中」,不是所有裝置)
	expect_exit 0 "$bin" --file "$loop" --rw write --overwrite --size 1M --bs 64K --duration 0 --direct --verify --quiet
	expect_exit 0 "$bin" --file "$loop" --rw read --size 1M --bs 64K --duration 0 --direct --verify --quiet
}

check features_printed t_features_printed
check bad_args t_bad_args
check low_port_denied t_low_port_denied

CORE=(nc_roundtrip random_sizes stream_late_reader half_close reset_pending pipelined_100k hold_10000 fd_leak
	starvation evict_no_leak idle_timeout sigterm_drain sigterm_summary sigint_summary port_in_use)
run_core() { # 前綴 程式 [選項…]
	local prefix=$1 t
	shift
	for t in "${CORE[@]}"; do
		check "$prefix.$t" "t_$t" "$@"
	done
}
run_core uring "$URING"

check option.no_fixed_files t_option_set 'accept:.*,一般 fd' --no-fixed-files
check option.zerocopy t_option_set 'zc_sends=[1-9]' --zerocopy --zc-threshold 1024
check option.sqpoll t_option_set 'SQPOLL\(已釘 CPU\)' --sqpoll --sqpoll-cpu 0
check option.recv_single t_option_set '單次 recv' --recv single
check option.taskrun_coop t_option_set 'ring:COOP_TASKRUN' --taskrun coop
check option.taskrun_none t_option_set 'ring:一般模式' --taskrun none --no-fixed-files
check option.bundle t_option_set '\+ bundle' --bundle
check option.batching t_option_set '每次等 16 個 CQE' --wait-nr 16 --wait-usec 100
check option.max_queue_depth t_option_set 'SQ 深度 32768' --queue-depth 32768
check starvation.no_fixed_files t_starvation "$URING" --no-fixed-files
check starvation.zerocopy t_starvation "$URING" --zerocopy
check starvation.recv_single t_starvation "$URING" --recv single
check small_pool_enobufs t_small_pool_enobufs
check sqpoll_full_sq t_sqpoll_full_sq
check batching_idle t_batching_idle
check one_enter_per_request t_one_enter "$URING"
check one_enter_per_request.taskrun_coop t_one_enter "$URING" --taskrun coop
check memory_bound t_memory_bound
check ring_hot t_ring_hot
check bench_partial_message_at_end t_bench_partial_end
check uring.emfile_recovers t_emfile_recovers "$URING" --no-fixed-files
check uring.nofile_clamps_fixed_files t_nofile_clamp
check epoll.emfile_recovers t_emfile_recovers "$EPOLL"
check max_conns t_max_conns
check max_conns.no_fixed_files t_max_conns --no-fixed-files
check max_conns_burst t_max_conns_burst
check max_conns_burst.no_fixed_files t_max_conns_burst --no-fixed-files
check accept_small_cq t_accept_small_cq
check uring.innocent_reader t_innocent "$URING"
check epoll.innocent_reader t_innocent "$EPOLL"
check uring.slowloris t_slowloris "$URING"
check epoll.slowloris t_slowloris "$EPOLL"
check uring.yield_idle t_yield_idle "$URING"
check epoll.yield_idle t_yield_idle "$EPOLL"
check uring.per_addr t_per_addr "$URING"
check epoll.per_addr t_per_addr "$EPOLL"
check uring.min_progress t_min_progress "$URING"
check epoll.min_progress t_min_progress "$EPOLL"
check uring.ipv6 t_ipv6 "$URING"
check epoll.ipv6 t_ipv6 "$EPOLL"
check file.modes t_file_modes
check file.errors t_file_errors
check file.busy_disk t_file_busy_disk
check zc_orphans t_zc_orphans

# ASan + UBSan 版本:同一組正確性檢查
# make 是增量的:每次都呼叫,確保 ASan 版本與原始碼一致
[ -f io_uring_async.c ] && { build_asan io_uring_async || rm -f "$ASAN"; }
run_core asan "$ASAN"
check asan.file_modes t_file_modes "$ASAN"
check asan.file_errors t_file_errors "$ASAN"
check asan.innocent_reader t_innocent "$ASAN"

# 傳統基準也必須通過同一組檢查
run_core epoll "$EPOLL"
# epoll_echo 的逐出要在 ASan 版本上才看得出 use-after-free
EPOLL_ASAN=$T_ASAN_DIR/bench/epoll_echo
[ -f bench/epoll_echo.c ] && { build_asan bench/epoll_echo || rm -f "$EPOLL_ASAN"; }
check epoll.evict_batch_asan t_evict_batch "$EPOLL_ASAN"
