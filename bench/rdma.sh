#!/bin/bash
# bench/rdma.sh — RDMA 效能比較(sudo ./run_tests.sh -p rdma;-p quick 是快速版)
#
# 主機核心沒有 RDMA,所以全部在 Soft-RoCE VM 裡、同一次開機完成(tests/vm/rdma-vm.sh):
#   - 曲線:訊息大小 64 B、1 KiB、4 KiB、64 KiB、1 MiB(quick:64 B、64 KiB)× SEND / WRITE / READ
#     (本程式 rdma_communication)與 TCP(同一個 VM 裡的 bench/rdma_tcp_pingpong)。每個大小、每個系列
#     跑一次延遲(ping-pong;READ 是一次 READ 的完整來回)與一次頻寬(維持佇列深度),都依時間跑
#     (--duration),所以每次花的時間和訊息大小無關。頻寬那一次同時記下被動端(伺服器)每次操作的 CPU:
#     伺服器服務那條連線的執行緒(本程式,由伺服器回報)或 TCP 伺服器整個行程的 CPU。
#     每一點寫成 bench_point rdma 系列 大小 p50_us|mbps|cpu_ns 值(tests/lib.sh)。
#   - 同技術的參考工具(peer):perftest 的 ib_write_lat、ib_send_lat(64 B)與 ib_write_bw(64 KiB)。
#   - 比較表的列(bench_row,總覽表也用):64 B 的延遲與 64 KiB 的頻寬取自上面的曲線,名稱與以前相同。
# 所有量測以 bench_interleave 交錯 BENCH_RUNS 輪(-p 5 輪、-p quick 3 輪;A B C…、…C B A),每一次
# 寫一列原始結果,比較表取中位數與 min–max。另外記下整個 VM 在那一次量測期間的 CPU(/proc/stat,含
# Soft-RoCE 在核心 softirq 裡做的「網卡」工作)當佐證。速度不會造成失敗。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/rdma_communication
TCP=$T_ROOT/bench/rdma_tcp_pingpong
VM=$T_ROOT/tests/vm/rdma-vm.sh
ROUNDS=${RDMA_BENCH_ROUNDS:-$BENCH_RUNS}
if [ "${T_BENCH_QUICK:-0}" = 1 ]; then
	SIZES=${RDMA_SIZES:-"64 65536"}
	LAT_S=1
	BW_S=1
else
	SIZES=${RDMA_SIZES:-"64 1024 4096 65536 1048576"}
	LAT_S=1
	BW_S=2
fi
PN_LAT=5000 # perftest 的延遲次數(64 B)
PN_BW=400   # perftest 的頻寬次數(64 KiB,深度 64)
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
#   KBS_M 名稱 輪次 大小 p50_us p99_us MB/s 伺服器CPU_ns/次 客戶端CPU_ns/次 VM_CPU_ns/次 次數
guest_prelude() {
	cat <<'EOF'
IP=$KBS_IP
port=18600
# 伺服器的上限放寬到量測需要的(1 MiB × 深度 16 的頻寬測試;預設每個位址 64 MiB 也夠,這裡寫明)
rdma_communication server --bind $IP --max-peer-mem 256 >/tmp/srv.log 2>&1 &
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
# summary 名稱 輪次 大小 記錄檔 VM起 VM迄:從 SUMMARY 行取數字
summary() {
	grep SUMMARY "$4" | sed 's/^/    /'
	grep -q 'status=ok' "$4" || { echo "    失敗:$(grep -m1 錯誤 "$4")"; return; }
	it=$(kv iters "$4")
	M "$1" "$2" "$3" "$(kv p50_us "$4")" "$(kv p99_us "$4")" "$(kv mbps "$4")" "$(kv server_cpu_ns "$4")" \
		"$(kv cpu_ns "$4")" "$(per_op "$5" "$6" "$it")" "$it"
}
client() { # 程式 名稱 輪次 大小 參數…:本程式或 TCP 基準的客戶端,兩者都印 SUMMARY 行
	p=$1 n=$2 r=$3 z=$4
	shift 4
	j0=$(jiffies)
	timeout 120 $p client $IP "$@" >/tmp/o.log 2>&1
	summary "$n" "$r" "$z" /tmp/o.log "$j0" "$(jiffies)"
}
ours() { client rdma_communication "$@"; }
tcp() { client rdma_tcp_pingpong "$@"; }
perf() { # 名稱 輪次 大小 指令 參數…(-x 1:rxe 上 IPv4 的 RoCE v2 GID)
	n=$1 r=$2 z=$3
	shift 3
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
	*_lat) M "$n" "$r" "$z" "$5" "$8" - - - "$(per_op "$j0" "$j1" "$2")" "$2" ;; # t_typical、99%
	*_bw) M "$n" "$r" "$z" - - "$4" - - "$(per_op "$j0" "$j1" "$2")" "$2" ;;     # BW average[MB/sec]
	esac
}
EOF
}

# ---- 交錯的量測順序:每個函式印一行 VM 裡要執行的指令 --------------------------------------
# 頻寬的佇列深度:小訊息 64、1 MiB 16(兩端各註冊 16 MiB)
depth_for() { if [ "$1" -ge 1048576 ]; then echo 16; else echo 64; fi; }
# q_lat 系列 大小 輪次 / q_bw 系列 大小 輪次
q_lat() {
	if [ "$1" = TCP ]; then
		echo "tcp lat_TCP_$2 $3 $2 --test lat --size $2 --duration $LAT_S"
	else
		echo "ours lat_$1_$2 $3 $2 --test lat --op $(echo "$1" | tr '[:upper:]' '[:lower:]') --size $2 --duration $LAT_S"
	fi
}
q_bw() {
	if [ "$1" = TCP ]; then
		echo "tcp bw_TCP_$2 $3 $2 --test bw --size $2 --duration $BW_S"
	else
		echo "ours bw_$1_$2 $3 $2 --test bw --op $(echo "$1" | tr '[:upper:]' '[:lower:]') --size $2 --duration $BW_S --depth $(depth_for "$2")"
	fi
}
q_ib_write_lat() { echo "perf ib_write_lat $1 64 ib_write_lat -s 64 -n $PN_LAT"; }
q_ib_send_lat() { echo "perf ib_send_lat $1 64 ib_send_lat -s 64 -n $PN_LAT"; }
q_ib_write_bw() { echo "perf ib_write_bw $1 65536 ib_write_bw -s 65536 -n $PN_BW -t 64"; }

runs=()
for z in $SIZES; do
	for x in SEND WRITE READ TCP; do
		runs+=("q_lat $x $z" "q_bw $x $z")
	done
done
runs+=(q_ib_write_lat q_ib_send_lat q_ib_write_bw)

GUEST=$(mktemp)
on_exit "rm -f '$GUEST'"
{
	guest_prelude
	echo 'echo "== 曲線與參考工具(交錯)"'
	bench_interleave "$ROUNDS" "${runs[@]}"
	echo 'echo KBS_BENCH_DONE'
} >"$GUEST"

t_bench_vm() {
	"$VM" run -t $((120 + ROUNDS * 160)) -f "$PROG" -f "$TCP" "$GUEST" 2>&1 | tee "$OUT"
	local rc=${PIPESTATUS[0]}
	grep -aq KBS_BENCH_DONE "$OUT" || fail "VM 裡的量測沒有跑完(結束碼 $rc)"
}
check bench_vm t_bench_vm

if ! grep -aq KBS_BENCH_DONE "$OUT" 2>/dev/null; then
	bench_skip "VM 裡的量測沒有完成(見 tests/logs/rdma.bench.out)"
	exit 0
fi

# ---- 曲線上的點:每一次量測一個 bench_point ------------------------------------------------
# KBS_M 欄位:2 名稱 3 輪次 4 大小 5 p50 6 p99 7 MB/s 8 伺服器 CPU 9 客戶端 CPU 10 VM CPU 11 次數
while read -r _m key _r size p50 _p99 mbps scpu _c _v _it; do
	series=${key#*_}
	series=${series%_*}
	case $key in
	lat_*) bench_point rdma "$series" "$size" p50_us "$p50" ;;
	bw_*)
		bench_point rdma "$series" "$size" mbps "$mbps"
		bench_point rdma "$series" "$size" cpu_ns "$scpu"
		;;
	esac
done < <(grep -a '^KBS_M \(lat\|bw\)_' "$OUT")

# ---- 比較表的列:每一次量測一列 -------------------------------------------------------------
VMNOTE="Soft-RoCE(rdma_rxe)在 qemu TCG VM 內,同一次開機,$ROUNDS 輪交錯"
LATM="$VMNOTE;64 B ping-pong 跑 $LAT_S 秒,單程 = 來回/2(perftest 為 t_typical,$PN_LAT 次);CPU = 伺服器每次"
BWM="$VMNOTE;64 KiB 跑 $BW_S 秒,佇列深度 64,MB = 2^20;CPU = 被動端(伺服器)每次"
TCPLAT="TCP ping-pong (VM)"
TCPBW="TCP stream (VM)"

# emit 鍵 tech 名稱 role baseline glance 單位 method
emit() {
	local key=$1 tech=$2 name=$3 role=$4 base=$5 glance=$6 unit=$7 method=$8
	local _m _k r _z p50 p99 thr scpu ccpu vcpu it ev
	while read -r _m _k r _z p50 p99 thr scpu ccpu vcpu it; do
		ev="round=$r"
		[ "$scpu" = - ] || ev="$ev server_cpu_ns=$scpu"
		[ "$ccpu" = - ] || ev="$ev client_cpu_ns=$ccpu"
		[ "$vcpu" = - ] || ev="$ev vm_cpu_ns=$vcpu"
		ev="$ev ops=$it"
		bench_row "$tech" "$name" "$role" "$p50" "$p99" "$thr" "$([ "$thr" = - ] && echo - || echo "$unit")" \
			"$scpu" "$base" "$method" "$glance" "$ev"
	done < <(grep -a "^KBS_M $key " "$OUT")
}
emit lat_TCP_64 sockets "$TCPLAT" baseline - lat - "$LATM;TCP_NODELAY,同一個 VM 內"
emit bw_TCP_65536 sockets "$TCPBW" baseline - thr,cpu MB/s "$BWM;單一 TCP 連線,伺服器每則 64 KiB 的 recv"
emit lat_WRITE_64 rdma "RDMA WRITE 延遲" bypass "$TCPLAT" lat - "$LATM;對方輪詢視窗裡的序號"
emit lat_SEND_64 rdma "RDMA SEND 延遲" bypass "$TCPLAT" - - "$LATM;credit 搭著回覆回來(不另送 'C')"
emit bw_WRITE_65536 rdma "RDMA WRITE 頻寬" bypass "$TCPBW" thr,cpu MB/s "$BWM;單邊:伺服器只睡著等結束訊號"
emit bw_SEND_65536 rdma "RDMA SEND 頻寬" bypass "$TCPBW" - MB/s "$BWM;雙邊:伺服器收每一則並回報 credit"
emit bw_READ_65536 rdma "RDMA READ 頻寬" bypass "$TCPBW" - MB/s "$BWM;單邊:伺服器的網卡回應 READ"
# perftest 的對照是我們同一種操作的那一列:比較表算出「perftest ÷ 我們」,圖的參考工具面板畫「我們 ÷ perftest」
emit ib_write_lat rdma "ib_write_lat" peer "RDMA WRITE 延遲" - - "$LATM;perftest 4.5 -x 1"
emit ib_send_lat rdma "ib_send_lat" peer "RDMA SEND 延遲" - - "$LATM;perftest 4.5 -x 1"
emit ib_write_bw rdma "ib_write_bw" peer "RDMA WRITE 頻寬" - MB/s "$BWM;perftest 4.5 -x 1 -t 64,$PN_BW 則"

# ---- 人看的表:中位數與 min–max ------------------------------------------------------------
# stat 鍵 欄位(5=p50 7=MB/s 8=伺服器CPU 9=客戶端CPU 10=VM CPU):印「中位數 (min–max)」或 "-"
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
printf '  %-20s %-26s %-26s %-26s\n' 項目 "p50 µs" "MB/s" "伺服器 CPU ns/次"
for z in $SIZES; do
	for x in SEND WRITE READ TCP; do
		printf '  %-18s %-26s %-26s %-26s\n' "$x $z B" "$(stat "lat_${x}_$z" 5)" "$(stat "bw_${x}_$z" 7)" \
			"$(stat "bw_${x}_$z" 8)"
	done
done
for k in ib_write_lat ib_send_lat ib_write_bw; do
	printf '  %-18s %-26s %-26s\n' "$k" "$(stat $k 5)" "$(stat $k 7)"
done
echo
echo "  SEND 延遲 ÷ ib_send_lat = $(ratio "$(med lat_SEND_64 5)" "$(med ib_send_lat 5)")"
echo "  WRITE 延遲 ÷ ib_write_lat = $(ratio "$(med lat_WRITE_64 5)" "$(med ib_write_lat 5)")"
echo "  WRITE 延遲 ÷ TCP ping-pong = $(ratio "$(med lat_WRITE_64 5)" "$(med lat_TCP_64 5)")"
echo "  WRITE 頻寬 ÷ TCP 串流 = $(ratio "$(med bw_WRITE_65536 7)" "$(med bw_TCP_65536 7)")"
echo "  WRITE 頻寬 ÷ ib_write_bw = $(ratio "$(med bw_WRITE_65536 7)" "$(med ib_write_bw 7)")"
echo "  WRITE 的伺服器 CPU ÷ TCP 伺服器 CPU(64 KiB)= $(ratio "$(med bw_WRITE_65536 8)" "$(med bw_TCP_65536 8)")"
echo "  (整個 VM 每次的 CPU,含 Soft-RoCE 在核心裡模擬的網卡:WRITE $(med bw_WRITE_65536 10) ns、TCP $(med bw_TCP_65536 10) ns)"
# SEND 延遲與 ib_send_lat 逐輪成對的比值(同一輪裡相鄰量測)
echo "  SEND ÷ ib_send_lat 逐輪:$(join -1 1 -2 1 <(grep -a '^KBS_M lat_SEND_64 ' "$OUT" | awk '{print $3, $5}' | sort) \
	<(grep -a '^KBS_M ib_send_lat ' "$OUT" | awk '{print $3, $5}' | sort) | awk '{ printf "%s%.2fx", (NR > 1 ? " " : ""), $2 / $3 }')"
