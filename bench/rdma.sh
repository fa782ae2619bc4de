#!/bin/bash
# bench/rdma.sh — RDMA 效能比較(sudo ./run_tests.sh -p rdma)
#
# 主機核心沒有 RDMA,所以全部在 Soft-RoCE VM 裡、同一次開機完成(tests/vm/rdma-vm.sh):
#   - 本程式 rdma_communication:WRITE 與 SEND 延遲;WRITE、SEND、READ 頻寬。
#     每一次都記下兩側的 CPU:客戶端(行程)與伺服器(服務那條連線的執行緒,由伺服器回報)。
#     重點是被動端(伺服器)每次操作的 CPU:單邊的 WRITE / READ 幾乎是零,雙邊的 SEND 不是;
#   - 傳統基準:同一個 VM 裡的 TCP ping-pong 與 TCP 串流(bench/rdma_tcp_pingpong,伺服器也回報 CPU);
#   - 同技術的參考工具(peer):perftest 的 ib_write_lat、ib_send_lat、ib_write_bw。
# 每一項跑 RDMA_BENCH_ROUNDS(預設 5)次,以 bench_interleave 交錯(A B C…、…C B A),
# 每一次寫一列原始結果(tests/lib.sh 的 bench_row),比較表取中位數與 min–max。
# 另外記下整個 VM 在那一次量測期間的 CPU(/proc/stat,含 Soft-RoCE 在核心 softirq 裡做的
# 「網卡」工作)當佐證。速度不會造成失敗。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/rdma_communication
TCP=$T_ROOT/bench/rdma_tcp_pingpong
VM=$T_ROOT/tests/vm/rdma-vm.sh
ROUNDS=${RDMA_BENCH_ROUNDS:-5}
LS=${RDMA_LAT_SIZE:-64}
LN=${RDMA_LAT_ITERS:-5000}
BS=${RDMA_BW_SIZE:-65536}
BN=${RDMA_BW_ITERS:-2000}
BD=${RDMA_BW_DEPTH:-64}
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

# ---- VM 裡的量測函式(busybox sh):每一次印一行 -------------------------------------
#   KBS_M 名稱 輪次 p50_us p99_us MB/s 伺服器CPU_ns/次 客戶端CPU_ns/次 VM_CPU_ns/次 次數
guest_prelude() {
	cat <<'EOF'
IP=$KBS_IP
port=18600
rdma_communication server --bind $IP >/tmp/srv.log 2>&1 &
rdma_tcp_pingpong server >/tmp/tcp.log 2>&1 &
sleep 1
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2" | tail -n1; }
jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
per_op() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { if (n > 0) printf "%.0f", (b - a) * 10000000 / n; else print "-" }'; }
M() {
	l="KBS_M"
	for a in "$@"; do l="$l ${a:--}"; done
	echo "$l"
}
# summary 名稱 輪次 記錄檔 VM起 VM迄:從 SUMMARY 行取數字
summary() {
	grep SUMMARY "$3" | sed 's/^/    /'
	grep -q 'status=ok' "$3" || { echo "    失敗:$(grep -m1 錯誤 "$3")"; return; }
	it=$(kv iters "$3")
	M "$1" "$2" "$(kv p50_us "$3")" "$(kv p99_us "$3")" "$(kv mbps "$3")" "$(kv server_cpu_ns "$3")" \
		"$(kv cpu_ns "$3")" "$(per_op "$4" "$5" "$it")" "$it"
}
client() { # 程式 名稱 輪次 參數…:本程式或 TCP 基準的客戶端,兩者都印 SUMMARY 行
	p=$1 n=$2 r=$3
	shift 3
	j0=$(jiffies)
	timeout 120 $p client $IP "$@" >/tmp/o.log 2>&1
	summary "$n" "$r" /tmp/o.log "$j0" "$(jiffies)"
}
ours() { client rdma_communication "$@"; }
tcp() { client rdma_tcp_pingpong "$@"; }
perf() { # 名稱 輪次 指令 參數…(-x 1:rxe 上 IPv4 的 RoCE v2 GID)
	n=$1 r=$2
	shift 2
	port=$((port + 1))
	"$@" -x 1 -p $port >/tmp/ps.log 2>&1 &
	sp=$!
	sleep 1
	j0=$(jiffies)
	timeout 120 "$@" -x 1 -p $port $IP >/tmp/p.log 2>&1
	rc=$?
	j1=$(jiffies)
	wait $sp
	row=$(grep -E '^ *[0-9]+ +[0-9]+ +[0-9.]+' /tmp/p.log | tail -n1)
	echo "    $1:$row"
	[ $rc = 0 ] && [ -n "$row" ] || { echo "    失敗:$(tail -n 3 /tmp/p.log)"; return; }
	set -- $row
	case $n in
	*_lat) M "$n" "$r" "$5" "$8" - - - "$(per_op "$j0" "$j1" "$2")" "$2" ;; # t_typical、99%
	*_bw) M "$n" "$r" - - "$4" - - "$(per_op "$j0" "$j1" "$2")" "$2" ;;     # BW average[MB/sec]
	esac
}
EOF
}

# ---- 交錯的量測順序:每個函式印一行 VM 裡要執行的指令 --------------------------------------
q_write_lat() { echo "ours write_lat $1 --test lat --op write --size $LS --iters $LN"; }
q_send_lat() { echo "ours send_lat $1 --test lat --op send --size $LS --iters $LN"; }
q_tcp_lat() { echo "tcp tcp_lat $1 --test lat --size $LS --iters $LN"; }
q_ib_write_lat() { echo "perf ib_write_lat $1 ib_write_lat -s $LS -n $LN"; }
q_ib_send_lat() { echo "perf ib_send_lat $1 ib_send_lat -s $LS -n $LN"; }
q_write_bw() { echo "ours write_bw $1 --test bw --op write --size $BS --iters $BN --depth $BD"; }
q_send_bw() { echo "ours send_bw $1 --test bw --op send --size $BS --iters $BN --depth $BD"; }
q_read_bw() { echo "ours read_bw $1 --test bw --op read --size $BS --iters $BN --depth $BD"; }
q_tcp_bw() { echo "tcp tcp_bw $1 --test bw --size $BS --iters $BN"; }
q_ib_write_bw() { echo "perf ib_write_bw $1 ib_write_bw -s $BS -n $BN -t $BD"; }

GUEST=$(mktemp)
on_exit "rm -f '$GUEST'"
{
	guest_prelude
	echo 'echo "== 延遲(交錯)"'
	bench_interleave "$ROUNDS" q_write_lat q_send_lat q_tcp_lat q_ib_write_lat q_ib_send_lat
	echo 'echo "== 頻寬與被動端 CPU(交錯)"'
	bench_interleave "$ROUNDS" q_write_bw q_send_bw q_read_bw q_tcp_bw q_ib_write_bw
	echo 'echo KBS_BENCH_DONE'
} >"$GUEST"

t_bench_vm() {
	"$VM" run -t $((120 + ROUNDS * 150)) -f "$PROG" -f "$TCP" "$GUEST" 2>&1 | tee "$OUT"
	local rc=${PIPESTATUS[0]}
	grep -aq KBS_BENCH_DONE "$OUT" || fail "VM 裡的量測沒有跑完(結束碼 $rc)"
}
check bench_vm t_bench_vm

if ! grep -aq KBS_BENCH_DONE "$OUT" 2>/dev/null; then
	bench_skip "VM 裡的量測沒有完成(見 tests/logs/rdma.bench.out)"
	exit 0
fi

# ---- 原始結果:每一次量測一列 -----------------------------------------------------------
VMNOTE="Soft-RoCE(rdma_rxe)在 qemu TCG VM 內,同一次開機,$ROUNDS 輪交錯"
LATM="$VMNOTE;$LS B × $LN 次 ping-pong,單程 = 來回/2(perftest 為 t_typical);CPU = 伺服器每次"
BWM="$VMNOTE;$BS B × $BN 則,佇列深度 $BD,MB = 2^20;CPU = 被動端(伺服器)每次"
TCPLAT="TCP ping-pong (VM)"
TCPBW="TCP stream (VM)"

# emit 鍵 tech 名稱 role baseline glance 單位 method
emit() {
	local key=$1 tech=$2 name=$3 role=$4 base=$5 glance=$6 unit=$7 method=$8
	local _m _k r p50 p99 thr scpu ccpu vcpu it ev
	while read -r _m _k r p50 p99 thr scpu ccpu vcpu it; do
		ev="round=$r"
		[ "$scpu" = - ] || ev="$ev server_cpu_ns=$scpu"
		[ "$ccpu" = - ] || ev="$ev client_cpu_ns=$ccpu"
		[ "$vcpu" = - ] || ev="$ev vm_cpu_ns=$vcpu"
		ev="$ev ops=$it"
		bench_row "$tech" "$name" "$role" "$p50" "$p99" "$thr" "$([ "$thr" = - ] && echo - || echo "$unit")" \
			"$scpu" "$base" "$method" "$glance" "$ev"
	done < <(grep -a "^KBS_M $key " "$OUT")
}
emit tcp_lat sockets "$TCPLAT" baseline - lat - "$LATM;TCP_NODELAY,同一個 VM 內"
emit tcp_bw sockets "$TCPBW" baseline - thr,cpu MB/s "$BWM;單一 TCP 連線,伺服器每則 64 KiB 的 recv"
emit write_lat rdma "RDMA WRITE 延遲" bypass "$TCPLAT" lat - "$LATM;對方輪詢視窗裡的序號"
emit send_lat rdma "RDMA SEND 延遲" bypass "$TCPLAT" - - "$LATM"
emit write_bw rdma "RDMA WRITE 頻寬" bypass "$TCPBW" thr,cpu MB/s "$BWM;單邊:伺服器只睡著等結束訊號"
emit send_bw rdma "RDMA SEND 頻寬" bypass "$TCPBW" - MB/s "$BWM;雙邊:伺服器收每一則並回報 credit"
emit read_bw rdma "RDMA READ 頻寬" bypass "$TCPBW" - MB/s "$BWM;單邊:伺服器的網卡回應 READ"
# perftest 的對照是我們同一種操作的那一列:比較表算出「perftest ÷ 我們」,圖的參考工具面板畫「我們 ÷ perftest」
emit ib_write_lat rdma "ib_write_lat" peer "RDMA WRITE 延遲" - - "$LATM;perftest 4.5 -x 1"
emit ib_send_lat rdma "ib_send_lat" peer "RDMA SEND 延遲" - - "$LATM;perftest 4.5 -x 1"
emit ib_write_bw rdma "ib_write_bw" peer "RDMA WRITE 頻寬" - MB/s "$BWM;perftest 4.5 -x 1 -t $BD"

# ---- 人看的表:中位數與 min–max ------------------------------------------------------------
# stat 鍵 欄位(4=p50 6=MB/s 7=伺服器CPU 8=客戶端CPU 9=VM CPU):印「中位數 (min–max)」或 "-"
stat() {
	grep -a "^KBS_M $1 " "$OUT" | awk -v f="$2" '
		$f ~ /^[0-9.]+$/ { v[n++] = $f + 0 }
		END {
			if (!n) { print "-"; exit }
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
			m = n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
			if (n == 1) print f3(m); else print f3(m) " (" f3(v[0]) "–" f3(v[n - 1]) ")"
		}
		function f3(x) { return x >= 100 ? sprintf("%.0f", x) : sprintf("%.3g", x) }'
}
med() { stat "$1" "$2" | cut -d' ' -f1; }

echo
echo "RDMA(Soft-RoCE,VM 內)效能比較:中位數(min–max),$ROUNDS 輪交錯"
printf '  %-14s %-26s %-26s %-26s %-26s\n' 項目 "p50 µs" "MB/s" "伺服器 CPU ns/次" "客戶端 CPU ns/次"
for k in tcp_lat write_lat send_lat ib_write_lat ib_send_lat tcp_bw write_bw send_bw read_bw ib_write_bw; do
	printf '  %-14s %-26s %-26s %-26s %-26s\n' "$k" "$(stat $k 4)" "$(stat $k 6)" "$(stat $k 7)" "$(stat $k 8)"
done
echo
echo "  WRITE 延遲 ÷ TCP ping-pong = $(ratio "$(med write_lat 4)" "$(med tcp_lat 4)")"
echo "  WRITE 延遲 ÷ ib_write_lat = $(ratio "$(med write_lat 4)" "$(med ib_write_lat 4)")"
echo "  WRITE 頻寬 ÷ TCP 串流 = $(ratio "$(med write_bw 6)" "$(med tcp_bw 6)")"
echo "  WRITE 頻寬 ÷ ib_write_bw = $(ratio "$(med write_bw 6)" "$(med ib_write_bw 6)")"
echo "  被動端(伺服器)每次的 CPU:WRITE $(med write_bw 7) ns、READ $(med read_bw 7) ns、SEND $(med send_bw 7) ns、TCP $(med tcp_bw 7) ns"
echo "  WRITE 的伺服器 CPU ÷ TCP 伺服器 CPU = $(ratio "$(med write_bw 7)" "$(med tcp_bw 7)")"
echo "  (整個 VM 每次的 CPU,含 Soft-RoCE 在核心裡模擬的網卡:WRITE $(med write_bw 9) ns、TCP $(med tcp_bw 9) ns)"
