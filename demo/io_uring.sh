#!/bin/bash
# demo/io_uring.sh — make demo 的 io_uring 段落:啟動伺服器、nc 來回一行中文、短暫負載,
# 檔案模式寫一個 64 MiB 的檔、O_DIRECT 隨機讀;然後以 bench/io_uring.sh 的短版量檔案與網路(寫入比較表)。不需要 root。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
cd "$T_ROOT" || exit 1

for b in io_uring_async bench/echo_bench; do
	[ -x "$b" ] || {
		echo "略過:$b 未建置($(make -s --no-print-directory skip-report | grep -m1 io_uring_async || echo '請先 make'))"
		exit 77
	}
done
command -v nc >/dev/null || {
	echo "略過:找不到 nc(sudo make install-deps)"
	exit 77
}

port=$(free_port)
log=$(mktemp)
on_exit "rm -f '$log'"
echo "\$ ./io_uring_async $port"
start_bg "$log" ./io_uring_async "$port"
pid=$BG_PID
wait_for 10 tcp_listening "$port" || {
	cat "$log"
	echo "失敗:伺服器沒有啟動"
	exit 1
}
sed 's/^/  | /' "$log"

msg="你好,io_uring!這行字經過 multishot recv 與 buffer ring 送回來。"
echo "\$ echo \"$msg\" | nc -q1 localhost $port"
got=$(printf '%s\n' "$msg" | timeout 10 nc -q1 127.0.0.1 "$port")
echo "  $got"
[ "$got" = "$msg" ] || {
	echo "失敗:echo 的內容不同"
	exit 1
}

secs=3
[ -n "${DEMO_SHORT:-}" ] && secs=1
echo "\$ bench/echo_bench -p $port -c 50 -s 128 -t $secs   # 50 條連線 ping-pong,逐位元組核對"
bench/echo_bench -p "$port" -c 50 -s 128 -w 0.5 -t "$secs" | sed 's/^/  /' || exit 1
stop_bg "$pid" TERM 10 || {
	echo "失敗:伺服器沒有正常結束"
	exit 1
}
echo "伺服器收到 SIGTERM 後的輸出:"
sed -n '/== 總結 ==/,$p' "$log" | sed 's/^/  | /'

echo
echo "檔案 I/O:io_uring 真正贏的地方(佇列深度 32 的 O_DIRECT 隨機讀,一次 io_uring_enter 補上一批、收回一批)"
data=$(mktemp -u /var/tmp/kbs-io_uring-demo.XXXXXX)
on_exit "rm -f '$data'"
echo "\$ ./io_uring_async --file $data --rw write --size 64M --bs 1M --duration 0 --direct --verify"
./io_uring_async --file "$data" --rw write --size 64M --bs 1M --duration 0 --direct --verify --quiet | grep -E '^  (I/O|已建立)' || exit 1
echo "\$ ./io_uring_async --file $data --rw randread --qd 32 --direct --verify --duration $secs"
./io_uring_async --file "$data" --rw randread --qd 32 --direct --verify --duration "$secs" --quiet |
	grep -E '^  (I/O|延遲|CPU)' || exit 1
rm -f "$data"

echo
echo "量測(同一個機器、交錯執行;短版:每項 1 輪):檔案 QD 1 / 32 對 pread 與 fio;網路 1 條連線(延遲)、50 條連線(CPU)、管線化(吞吐量)"
SCENARIOS="c1 c50 pipe" LEVERS='' FILE_QDS="1 32" BENCH_SECS=$secs FILE_SECS=1 bash bench/io_uring.sh
