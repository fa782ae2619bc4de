#!/bin/bash
# tests/rdma.sh — rdma_communication 的檢查
#
# 主機上(基本模式,不需要 root):主機核心沒有 RDMA 時,伺服器與客戶端都要印出
# 「找不到 RDMA 裝置」與建立 Soft-RoCE 的提示並以非零結束;錯誤的參數一律結束碼 64。
#
# Soft-RoCE VM 裡(完整模式,root;沒有 qemu 時略過並說明):TCG 很慢,所以大部分檢查在
# 「同一次」開機裡一起跑(tests/vm/rdma-vm.sh run),VM 裡的腳本對每一項印一行
# 「KBS_RESULT 名稱 pass|fail|skip 原因」,主機端的每個檢查只讀取自己的那一行。
# 同一次開機也跑 rping 與 ib_write_lat:我們的程式失敗時,可以分辨是程式還是 VM 壞了。
# 惡意的對方由 tests/tools/rdma_hostile 扮演(說同一套協定,但拿掉自己的邊界檢查)。
# 第二次開機(fair_boot)是公平與上限:eth0 上另加 10.0.2.16-20 當作不同的對方,rdma_hostile 的 hold
# 一次佔住很多條連線(有進展的、只送 'L' 的、佔記憶體的、被擠掉就再連的),檢查別的位址在幾秒內被服務、
# 工作階段的時間與次數上限、說謊的回報、2,000 個壞掉的 hello 與 500 次連上就斷時記錄的行數、之後沒有
# 洩漏(執行緒、檔案描述子、rdma resource、RSS),以及 --max-clients 與 ulimit -n。
# 另外一次開機用兩台 VM(qemu UDP socket 網路)跑真正的跨主機客戶端 / 伺服器、100 條連線時伺服器算的
# 記憶體與 MemAvailable 的下降,以及「網路線被拔掉」(主機以 QMP set_link 切斷客戶端那台的網卡):
# 伺服器要靠 keepalive 發現。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/rdma_communication
HOSTILE=$T_ROOT/tests/tools/rdma_hostile
VM=$T_ROOT/tests/vm/rdma-vm.sh
VM1_OUT=$T_LOGDIR/rdma.vm-single.out
VM1_RC=$T_LOGDIR/rdma.vm-single.rc
VM2_OUT=$T_LOGDIR/rdma.vm-two.out
VM2_RC=$T_LOGDIR/rdma.vm-two.rc
VM3_OUT=$T_LOGDIR/rdma.vm-fair.out
VM3_RC=$T_LOGDIR/rdma.vm-fair.rc
rm -f "$VM1_OUT" "$VM1_RC" "$VM2_OUT" "$VM2_RC" "$VM3_OUT" "$VM3_RC"

# 主機有真正的 RDMA 裝置時,「沒有裝置」的檢查不適用
host_has_rdma() {
	[ -n "$(ls /sys/class/infiniband 2>/dev/null)" ]
}

# ---- 主機上的檢查 ----------------------------------------------------------------

t_no_device_server() {
	need_bin "$PROG"
	host_has_rdma && skip "這台主機有 RDMA 裝置($(ls /sys/class/infiniband | tr '\n' ' ')),無法檢查「沒有裝置」"
	expect_fail timeout 10 "$PROG" server --once
	expect_file_match "$T_TMP/out" '找不到任何 RDMA 裝置' "伺服器的錯誤訊息"
	expect_file_match "$T_TMP/out" 'rdma link add rxe0 type rxe netdev' "建立 Soft-RoCE 的提示"
}

t_no_device_client() {
	need_bin "$PROG"
	host_has_rdma && skip "這台主機有 RDMA 裝置,無法檢查「沒有裝置」"
	expect_fail timeout 10 "$PROG" client 10.0.2.15 --test lat
	expect_file_match "$T_TMP/out" '找不到任何 RDMA 裝置' "客戶端的錯誤訊息"
	expect_file_match "$T_TMP/out" 'make rdma-vm' "VM 的提示"
}

# 錯誤的參數:結束碼 64,一行中文錯誤,不能當掉
t_bad_args() {
	need_bin "$PROG"
	local -a cases=(
		""
		"bogus"
		"--no-such-option server"
		"-z server"
		"client"
		"client 10.0.2.15 extra"
		"client 127.0.0.1"
		"client localhost"
		"client ::1"
		"server --port 0"
		"server --port 70000"
		"server --port abc"
		"server --port"
		"client 10.0.2.15 --test lat --size 0"
		"client 10.0.2.15 --test lat --size -5"
		"client 10.0.2.15 --test lat --size 1x"
		"client 10.0.2.15 --test lat --size 999999999"
		"client 10.0.2.15 --test lat --iters 0"
		"client 10.0.2.15 --test bw --depth 0"
		"client 10.0.2.15 --test bw --depth 5000"
		"client 10.0.2.15 --test lat --depth 4"
		"client 10.0.2.15 --size 4096"
		"client 10.0.2.15 --op write"
		"client 10.0.2.15 --test foo"
		"client 10.0.2.15 --op foo"
		"client 10.0.2.15 --gid-index 99999"
		"client 10.0.2.15 --bind 127.0.0.1"
		"client 10.0.2.15 --once"
		"client 10.0.2.15 --max-mem 64"
		"client 10.0.2.15 --max-clients 4"
		"client 10.0.2.15 --tos 256"
		"client 10.0.2.15 --test bw --iters 10 --duration 5"
		"client 10.0.2.15 --test lat --duration 0"
		"client 10.0.2.15 --test lat --duration 86401"
		"server --test lat"
		"server --tos 32"
		"server --duration 5"
		"server --max-mem 0"
		"server --max-clients 0"
		"server --max-clients 2000"
		"server --once --max-clients 4"
		"server --bind 127.0.0.1"
		"client 10.0.2.15 --test bw --size 67108864 --depth 1024"
		"server --max-per-peer 0"
		"server --max-per-peer 2000"
		"server --max-clients 4 --max-per-peer 8"
		"server --max-peer-mem 0"
		"server --max-mem 64 --max-peer-mem 128"
		"server --max-session 0"
		"server --max-session 5,0"
		"server --max-session abc"
		"server --max-session 5,x"
		"server --max-session 86401"
		"server --max-session 12345678901234567890"
		"client 10.0.2.15 --max-session 5"
		"client 10.0.2.15 --max-per-peer 2"
	)
	local c got lines
	for c in "${cases[@]}"; do
		# shellcheck disable=SC2086 # 刻意分詞
		timeout 10 "$PROG" $c >"$T_TMP/out" 2>&1
		got=$?
		echo "[$got] rdma_communication $c: $(cat "$T_TMP/out")"
		[ "$got" = 64 ] || fail "「$c」結束碼 $got,預期 64:$(head -c 200 "$T_TMP/out")"
		lines=$(wc -l <"$T_TMP/out")
		[ "$lines" = 1 ] || fail "「$c」應只印一行錯誤,卻有 $lines 行"
		grep -q '錯誤' "$T_TMP/out" || fail "「$c」的訊息不含「錯誤」"
	done
}

t_help() {
	need_bin "$PROG"
	expect_exit 0 "$PROG" --help
	local w
	# 說明會換行:把整份接成一行再找(一個片語可能跨兩行)
	tr '\n' ' ' <"$T_TMP/out" | tr -s ' ' >"$T_TMP/joined"
	for w in 用法 --port 7471 --bind --device --gid-index --test --op --size --iters --duration --depth --event \
		--once --max-clients --max-mem 256 --max-per-peer --max-peer-mem --max-session 300,100000000 --tos \
		keepalive 'remote access error' 'rdma link add' 讓位 彙總; do
		expect_file_match "$T_TMP/joined" "$w" "--help 缺少 $w"
	done
}

# --help 依顯示寬度排版(中文字 3 個位元組、佔 2 格):每行不超過 80 格,選項說明都從第 30 格開始,
# 續行縮排 29 格。寬度以 GNU wc -L(C.UTF-8,依 wcwidth)量
t_help_aligned() {
	need_bin "$PROG"
	"$PROG" --help >"$T_TMP/help" 2>&1 || fail "--help 結束碼非零"
	# 沒有參數的選項(--event、--once、--help)說明緊接在選項名稱後;其他的在參數之後。
	# 左欄太長(例如 --max-session 秒[,次數])時說明從下一行開始,那一行由續行的規則檢查
	local max line w n=0 bad='' in_opts=0 re re0='^(  -.,\ --(event|once|help)\ +)[^ ]' re1='^(  -.,\ --[a-z-]+\ [^ ]+\ +)[^ ]'
	max=$(LC_ALL=C.UTF-8 wc -L <"$T_TMP/help")
	echo "最寬的一行 $max 格"
	[ "$max" -le 80 ] || bad="$bad 最寬的一行 $max 格(應 <= 80)"
	while IFS= read -r line; do
		case $line in
		*選項:) in_opts=1 ;;
		"") in_opts=0 ;;
		"  -"*)
			re=$re1
			[[ $line =~ $re0 ]] && re=$re0
			if [[ $line =~ $re ]]; then
				w=$(printf '%s' "${BASH_REMATCH[1]}" | LC_ALL=C.UTF-8 wc -L)
				n=$((n + 1))
				[ "$w" = 29 ] || bad="$bad「${line:0:40}」的說明從第 $((w + 1)) 格開始"
			fi
			;;
		" "*)
			[ $in_opts = 1 ] && ! [[ $line =~ ^\ {29}[^\ ] ]] && bad="$bad 續行沒有縮排 29 格:「${line:0:40}」"
			;;
		esac
	done <"$T_TMP/help"
	echo "檢查了 $n 個選項的說明欄"
	[ "$n" -ge 18 ] || bad="$bad 只找到 $n 個選項行"
	[ -z "$bad" ] || fail "$bad"
}

# 原始碼:線路協定、對方能做什麼、閱讀順序寫在檔頭;第一個 verbs 呼叫在前五分之一
t_source_documents_protocol() {
	local f=rdma_communication.c total first
	expect_file_match $f '線路協定' "檔頭缺少線路協定說明"
	expect_file_match $f 'rkey' "線路協定沒有說明 rkey 怎麼交換"
	expect_file_match $f '對方.*能做什麼' "檔頭沒有說明對方能做什麼"
	expect_file_match $f '閱讀順序' "檔頭沒有閱讀順序"
	expect_file_match $f 'DEFAULT_PORT 7471' "預設埠"
	expect_file_match $f 'rc_pingpong' "沒有說明 rdma_cm 替我們做的 QP 狀態轉換(INIT -> RTR -> RTS)"
	total=$(wc -l <$f)
	first=$(grep -n 'ibv_[a-z_]*(' $f | grep -v '^\([0-9]*\):\s*\*\|^[0-9]*:static\|//' | head -n1 | cut -d: -f1)
	echo "第一個 verbs 呼叫在第 $first 行,共 $total 行"
	[ "$first" -le $((total / 5)) ] || fail "第一個 verbs 呼叫在第 $first 行,超過檔案的前五分之一($total 行)"
	! grep -q '#define WAIT_UNTIL' $f || fail "WAIT_UNTIL 仍是巨集"
}

# VM 腳本本身:錯誤用法結束碼 64;make rdma-vm 目標存在;惡意客戶端工具的用法
t_vm_harness_usage() {
	expect_exit 64 bash "$VM"
	expect_exit 64 bash "$VM" bogus
	expect_exit 64 bash "$VM" run
	expect_exit 64 bash "$VM" run -t abc x.sh
	expect_exit 64 bash "$VM" run2 only-one.sh
	expect_exit 64 bash "$VM" run -e 'bad name=1' x.sh
	expect_exit 0 bash "$VM" -h
	expect_file_match "$T_TMP/out" 'run2' "說明缺少兩台 VM 模式"
	make -n -C "$T_ROOT" --no-print-directory rdma-vm >"$T_TMP/make.out" 2>&1 ||
		fail "make -n rdma-vm 失敗:$(tail -n 2 "$T_TMP/make.out")"
	expect_file_match "$T_TMP/make.out" 'rdma-vm.sh shell' "make rdma-vm 應開互動 VM"
	# mk/rdma.mk 不能搶走預設目標(單純的 make 不能開 VM)
	make -n -C "$T_ROOT" --no-print-directory >"$T_TMP/default.out" 2>&1
	! grep -q 'rdma-vm.sh' "$T_TMP/default.out" || fail "單純的 make 會開 VM:mk/rdma.mk 搶走了預設目標"
	if [ -x "$HOSTILE" ]; then
		expect_exit 64 "$HOSTILE"
		expect_exit 64 "$HOSTILE" 10.0.2.15 no-such-probe
	fi
}

# ---- VM:一次開機跑很多項 ---------------------------------------------------------

need_vm() {
	need_full
	need_root
	need_cmd qemu-system-x86_64 cpio busybox
	need_bin "$PROG" "$HOSTILE"
	[ -x "$VM" ] || fail "找不到 $VM"
}

# VM 裡的共用函式(busybox sh)
guest_lib() {
	cat <<'EOF'
IP=$KBS_IP
P=rdma_communication
R() { echo "KBS_RESULT $1 $2 ${3:-}"; }
cs() { cut -d' ' -f1 /proc/uptime | tr -d .; } # 開機以來的百分之一秒
# waitlog 秒數 檔案 字串
waitlog() {
	i=0
	while [ $i -lt $(($1 * 10)) ]; do
		grep -q "$3" "$2" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
show() { sed "s/^/    $1| /" "$2"; }
# startsrv 記錄檔 參數…:背景啟動伺服器並等它開始監聽;PID 在 $SRV
startsrv() {
	f=$1
	shift
	: >"$f"
	$P server "$@" >"$f" 2>&1 &
	SRV=$!
	waitlog 15 "$f" 等待客戶端
}
# oncepair 伺服器記錄 客戶端記錄 '伺服器指令' 客戶端指令…:背景啟動只服務一個客戶端的伺服器
# (sh -c 執行,可以帶 ulimit / su),等它監聽,跑客戶端,等伺服器結束;結束碼在 $crc 與 $src
oncepair() {
	sl=$1
	cl=$2
	: >"$sl"
	sh -c "$3" >"$sl" 2>&1 &
	sp=$!
	shift 3
	waitlog 15 "$sl" 等待客戶端
	timeout 30 "$@" >"$cl" 2>&1
	crc=$?
	wait $sp
	src=$?
}
# ok 名稱 記錄檔 結束碼:客戶端成功且 SUMMARY status=ok
ok() {
	if [ "$3" = 0 ] && grep -q 'SUMMARY .*status=ok' "$2"; then
		R "$1" pass
	else
		show "$1" "$2"
		R "$1" fail "結束碼 $3:$(grep -m1 錯誤 "$2")"
	fi
}
# run 名稱 參數…:跑一個客戶端並檢查
run() {
	n=$1
	shift
	timeout 60 $P client $IP "$@" >/tmp/c.log 2>&1
	rc=$?
	grep SUMMARY /tmp/c.log | sed 's/^/    /'
	ok "$n" /tmp/c.log $rc
}
# hwm PID:行程的記憶體高峰(KiB)
hwm() { sed -n 's/^VmHWM:[^0-9]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
# kv 鍵 檔案:「鍵=值」格式(SUMMARY、CLIENT、HOLD 行)最後一次出現的值
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2" | tail -n1; }
# addrs:在 eth0 加上 10.0.2.16-20,當作不同的「來源位址」(rdma_cm 依位址分辨對方);等 rxe 的 GID 表有它們
addrs() {
	for a in 16 17 18 19 20; do ip addr add 10.0.2.$a/24 dev eth0; done
	i=0
	while [ $i -lt 50 ] && ! grep -q '0a00:0214' /sys/class/infiniband/rxe0/ports/1/gids/* 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
}
# srvid 記錄檔 樣式:伺服器記錄裡符合樣式的「連入」那一行的客戶端編號
srvid() { grep "連入:.*$2" "$1" | tail -n1 | sed 's/^\[#\([0-9]*\)\].*/\1/'; }
# lost_check 編號 記錄檔 原因:伺服器以這個原因放棄了那個客戶端、發現時對方沉默不到 10 秒、
# 釋放了它的資源;問題附加在 $why
lost_check() {
	waitlog 30 "$2" "^CLIENT id=$1 .*status=lost"
	line=$(grep "^CLIENT id=$1 " "$2")
	echo "    $line"
	idle=$(echo "$line" | sed -n 's/.*idle_s=\([0-9]*\).*/\1/p')
	case "$line" in *status=lost*reason=$3*) ;; *) why="$why 伺服器不是以 $3 放棄它:$line" ;; esac
	[ -n "$idle" ] && [ "$idle" -lt 10 ] || why="$why 發現時對方已沉默 ${idle:-?} 秒(應 < 10)"
	grep -q "^\[#$1\] 中途離線.*已釋放它的資源" "$2" || why="$why 沒有釋放資源"
}
EOF
}

# 單一 VM 的腳本
guest_single() {
	guest_lib
	cat <<'EOF'
addrs
echo "== 互通性:rping"
rping -s -a $IP -p 7174 -C 3 >/tmp/rps.log 2>&1 &
rs=$!
sleep 0.5
timeout 20 rping -c -a $IP -p 7174 -C 3 -v >/tmp/rpc.log 2>&1
rc=$?
wait $rs
show rping /tmp/rpc.log
n=$(grep -c 'ping data' /tmp/rpc.log)
if [ $rc = 0 ] && [ "$n" -ge 3 ]; then R interop_rping pass; else R interop_rping fail "rping 結束碼 $rc,收到 $n 則"; fi

echo "== 互通性:ib_write_lat"
ib_write_lat -x 1 -n 200 >/tmp/pls.log 2>&1 &
ps_=$!
sleep 1
timeout 30 ib_write_lat -x 1 -n 200 $IP >/tmp/plc.log 2>&1
rc=$?
wait $ps_
show ib_write_lat /tmp/plc.log
if [ $rc = 0 ] && grep -q '^ *2 *200 ' /tmp/plc.log; then R interop_ib_write_lat pass; else R interop_ib_write_lat fail "ib_write_lat 結束碼 $rc"; fi

for variant in $P ${ASAN:-}; do
	[ -n "$variant" ] || continue
	name=default_run
	[ "$variant" = "$P" ] || name=default_run_asan
	echo "== 預設示範($variant)"
	oncepair /tmp/ds.log /tmp/dc.log "$variant server --once" $variant client $IP
	show client /tmp/dc.log
	show server /tmp/ds.log
	why=
	[ $crc = 0 ] || why="$why 客戶端結束碼 $crc"
	[ $src = 0 ] || why="$why 伺服器結束碼 $src"
	grep -q 'WRITE/READ 驗證成功' /tmp/dc.log || why="$why 客戶端沒有驗證成功"
	grep -q 'SUMMARY role=client test=demo verify=ok server_verify=ok status=ok' /tmp/dc.log || why="$why 客戶端 SUMMARY 不對"
	grep -q '伺服器端驗證:內容正確' /tmp/ds.log || why="$why 伺服器沒有驗證成功"
	grep -q 'SUMMARY role=server requests=1 ok=1 lost=0 ' /tmp/ds.log || why="$why 伺服器 SUMMARY 不對"
	grep -q '收到客戶端的 SEND' /tmp/ds.log || why="$why 伺服器沒有印出收到的問候"
	grep -q '路徑:本地 GID index 1 = ::ffff:.*RoCE v2' /tmp/dc.log || why="$why 客戶端沒有印出實際使用的 GID 與類型"
	grep -q '路徑:本地 GID index 1 = .*RoCE v2' /tmp/ds.log || why="$why 伺服器沒有印出實際使用的 GID 與類型"
	grep -q '本地 MR.*只有 LOCAL_WRITE.*視窗 MR 256 位元組(iova 0,REMOTE_WRITE|REMOTE_READ' /tmp/ds.log || why="$why 伺服器的 MR 權限不對"
	# Soft-RoCE 只給有遠端權限的 MR 一個 rkey(否則是 0):這是裝置說的,不是程式自己的宣稱
	grep -q '本地 MR.*rkey 0x0 對遠端無效' /tmp/ds.log || why="$why 伺服器的本地 MR 有 rkey(有遠端權限?)"
	grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error' /tmp/dc.log /tmp/ds.log && why="$why sanitizer 回報錯誤"
	if [ -z "$why" ]; then R $name pass; else R $name fail "$why"; fi
done

echo "== ASan 版本:量測模式、同時兩個客戶端、惡意訊息與伺服器的連線生命週期(結束時 LeakSanitizer 檢查洩漏)"
if [ -n "${ASAN:-}" ]; then
	: >/tmp/as.log
	$ASAN server --bind $IP --port 7490 >/tmp/as.log 2>&1 &
	ap=$!
	waitlog 30 /tmp/as.log 等待客戶端
	why=
	$ASAN client $IP --port 7490 --test bw --op write --iters 300 --size 4096 >/tmp/ac0.log 2>&1 &
	bg=$!
	for args in "--test lat --op send --iters 200" "--test lat --op write --iters 200 --event" \
		"--test bw --op read --iters 200 --size 4096" "--test bw --op send --iters 200 --size 4096 --event"; do
		timeout 60 $ASAN client $IP --port 7490 $args >/tmp/ac.log 2>&1
		rc=$?
		grep SUMMARY /tmp/ac.log | sed 's/^/    /'
		[ $rc = 0 ] || { why="$why「$args」結束碼 $rc"; show asan /tmp/ac.log; }
	done
	wait $bg || { why="$why 背景 bw write 失敗"; show asan-bg /tmp/ac0.log; }
	# 伺服器的每條錯誤路徑(拒絕、協定錯誤、keepalive 失敗、握手逾時)都在 ASan 下拆除一次
	timeout 90 rdma_hostile $IP --port 7490 garbage overlong oob-write lie bad-hello retry7 short-ctrl imm-unasked \
		vanish stale escape half-open=2 >/tmp/ah.log 2>&1 || why="$why 惡意探測不如預期"
	show hostile /tmp/ah.log
	kill -TERM $ap
	wait $ap
	rc=$?
	[ $rc = 0 ] || { why="$why 伺服器結束碼 $rc"; show asan-server /tmp/as.log; }
	grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error' /tmp/as.log && why="$why sanitizer 回報錯誤"
	if [ -z "$why" ]; then R asan_modes pass; else R asan_modes fail "$why"; fi
else
	R asan_modes skip 無法建置 ASan 版本
fi

echo "== 常駐伺服器(--bind $IP,預設上限 256 MiB / 16 個客戶端;下面的客戶端都來自同一個位址,每個位址 8 條)"
startsrv /tmp/srv.log --bind $IP --max-per-peer 8 || R server_start fail "伺服器沒有啟動"
SP=$SRV
for op in send write read; do
	run lat_$op --test lat --op $op --iters 300
	run bw_$op --test bw --op $op --iters 300 --size 65536 --depth 16
done
run event_lat_send --test lat --op send --iters 200 --event
run event_lat_write --test lat --op write --iters 200 --event
run event_bw_write --test bw --op write --iters 200 --event
run event_bw_send --test bw --op send --iters 200 --size 4096 --event
run lat_send_large --test lat --op send --iters 100 --size 8192
# 很多小訊息:credit 要一直流回來(RNR 重試有限,算錯就會失敗)
run bw_send_credits --test bw --op send --iters 3000 --size 64 --depth 64

echo "== --duration:依時間而不是次數"
timeout 30 $P client $IP --test bw --op write --duration 2 >/tmp/du.log 2>&1
rc=$?
show duration /tmp/du.log
n=$(sed -n 's/.*SUMMARY .* iters=\([0-9]*\) .*/\1/p' /tmp/du.log)
if [ $rc = 0 ] && grep -q 'status=ok' /tmp/du.log && [ "${n:-0}" -gt 0 ] && grep -q '依時間' /tmp/du.log; then
	R duration_mode pass
else
	R duration_mode fail "結束碼 $rc,完成 ${n:-?} 次"
fi

echo "== 同時 4 個客戶端(lat、bw send、bw write 各跑 5 秒,期間再來一個 demo)"
before=$(grep -c '^CLIENT .*status=ok' /tmp/srv.log)
$P client $IP --test lat --op send --duration 5 >/tmp/q2.log 2>&1 &
q2=$!
$P client $IP --test bw --op send --duration 5 --size 16384 >/tmp/q3.log 2>&1 &
q3=$!
$P client $IP --test bw --op write --duration 5 --size 16384 >/tmp/q4.log 2>&1 &
q4=$!
waitlog 20 /tmp/q2.log '已完成'
waitlog 20 /tmp/q3.log '已完成'
waitlog 20 /tmp/q4.log '已完成'
timeout 60 $P client $IP >/tmp/q1.log 2>&1
rc=$?
why=
[ $rc = 0 ] && grep -q 'verify=ok server_verify=ok' /tmp/q1.log || { why="demo 結束碼 $rc"; show concurrent /tmp/q1.log; }
for q in "$q2 /tmp/q2.log" "$q3 /tmp/q3.log" "$q4 /tmp/q4.log"; do
	set -- $q
	wait $1
	rc=$?
	grep SUMMARY $2 | sed 's/^/    /'
	[ $rc = 0 ] && grep -q 'status=ok' $2 || { why="$why $2 結束碼 $rc"; show concurrent $2; }
done
after=$(grep -c '^CLIENT .*status=ok' /tmp/srv.log)
[ $((after - before)) = 4 ] || why="$why 伺服器記錄的完成數 $before -> $after(應多 4)"
grep -q '^\[統計 .*連線 [34] 個' /tmp/srv.log || why="$why 每秒統計沒有看到 3 個以上的連線"
grep '^\[統計' /tmp/srv.log | tail -n 6 | sed 's/^/    /'
if [ -z "$why" ]; then R concurrent_four pass; else R concurrent_four fail "$why"; fi

echo "== 四個細水長流的客戶端(每 15 ms 一則 SEND):同時忙碌輪詢的連線有名額,伺服器不會燒掉所有 CPU"
# 這個 VM 有 2 顆 vCPU:名額是 1。沒有名額時四條連線的執行緒都忙碌輪詢,伺服器 CPU 140-170%
sb=$(wc -l </tmp/srv.log)
pids=
for n in 1 2 3 4; do
	rdma_hostile $IP trickle >/tmp/tr$n.log 2>&1 &
	pids="$pids $!"
done
why=
for p in $pids; do wait $p || why="$why 細水長流的客戶端沒有每則都得到回應"; done
cat /tmp/tr1.log /tmp/tr2.log /tmp/tr3.log /tmp/tr4.log | sed 's/^/    /'
tail -n +$((sb + 1)) /tmp/srv.log | grep '^\[統計.*連線 4 個' >/tmp/tr.st
sed 's/^/    /' /tmp/tr.st
max=$(sed -n 's/.*伺服器 CPU \([0-9]*\)%.*/\1/p' /tmp/tr.st | sort -n | tail -n1)
[ "$(wc -l </tmp/tr.st)" -ge 4 ] || why="$why 四條連線同時存在的統計不到 4 行"
[ "${max:-999}" -le 130 ] || why="$why 伺服器 CPU 最高 ${max:-?}%(名額 1 時應約是一顆 CPU)"
grep -q '同時忙碌輪詢最多 1 條連線' /tmp/srv.log || why="$why 伺服器沒有印出忙碌輪詢的名額"
if [ -z "$why" ]; then R spin_budget pass; else R spin_budget fail "$why"; fi

echo "== 客戶端被 SIGSTOP:伺服器 10 秒內發現並釋放資源,期間照樣服務新的客戶端;惡意客戶端拿它的 key 也存取不了"
$P client $IP --test bw --op write --duration 120 --size 65536 >/tmp/st.log 2>&1 &
fp=$!
waitlog 20 /tmp/st.log '已完成' || echo "    (客戶端沒有印出進度)"
kill -STOP $fp
t0=$(cs)
id=$(srvid /tmp/srv.log '時間 120 秒')
lk=$(sed -n "s/^\[#$id\] 記憶體.*lkey \(0x[0-9a-f]*\),.*/\1/p" /tmp/srv.log)
wk=$(sed -n "s/^\[#$id\] 記憶體.*視窗 MR.*rkey \(0x[0-9a-f]*\)).*/\1/p" /tmp/srv.log)
echo "    停住的是客戶端 #$id,它在伺服器上的本地 MR lkey $lk、視窗 rkey $wk"
timeout 60 $P client $IP --test lat --op write --iters 200 >/tmp/st2.log 2>&1
rc2=$?
show meanwhile /tmp/st2.log
timeout 60 rdma_hostile $IP "key=$wk" "key=$lk" >/tmp/hk.log 2>&1
rch=$?
show keys /tmp/hk.log
why=
lost_check "$id" /tmp/srv.log idle
dt=$(($(cs) - t0))
echo "    腳本看到時已過 ${dt}0 ms"
[ $dt -le 2000 ] || why="$why 腳本 ${dt}0 ms 後才看到"
[ $rc2 = 0 ] && grep -q 'status=ok' /tmp/st2.log || why="$why 期間的新客戶端失敗(結束碼 $rc2)"
if [ -z "$why" ]; then R sigstop_detected pass; else R sigstop_detected fail "$why"; fi
if [ $rch = 0 ] && [ "$(grep -c 'PROBE key=.* expected' /tmp/hk.log)" = 4 ]; then
	R hostile_foreign_keys pass
else
	R hostile_foreign_keys fail "結束碼 $rch:$(grep -m1 UNEXPECTED /tmp/hk.log)"
fi
kill -CONT $fp
wait $fp
show stopped /tmp/st.log

echo "== 惡意客戶端:越界、沒有權限、別條連線的 rkey、說謊的 hello、重試 7、壞掉的訊息、狂送、終端機控制碼、消失"
hb=$(wc -l </tmp/srv.log)
timeout 240 rdma_hostile $IP window oob-write oob-read below-read far-write perm-write perm-read cross stale \
	lie bad-hello hello-version hello-kind hello-size hello-depth hello-count hello-window retry7 rnr7 >/tmp/h.log 2>&1
# 下面的探測要在伺服器記錄裡有自己的 CLIENT 行(原因、閒置秒數)與印出的文字,但記錄的額度是開頭 20 條、
# 之後每秒 2 條:上面的探測(與前面的測試)用掉多少看時機,一起跑時 vanish 曾被併進每秒的彙總。
# 等 11 秒讓額度補滿(>= 20 條),這 10 個探測就一定逐條印出
sleep 11
timeout 240 rdma_hostile $IP garbage short-ctrl zero-send data-in-write imm-unasked overlong flood escape vanish idle \
	>>/tmp/h.log 2>&1
show hostile /tmp/h.log
tail -n +$((hb + 1)) /tmp/srv.log >/tmp/srv-h.log
probe() { # 結果名稱 探測名稱…
	n=$1
	shift
	why=
	for p in "$@"; do
		grep -q "^PROBE $p expected" /tmp/h.log || why="$why $p:$(grep "^PROBE $p " /tmp/h.log | cut -d' ' -f3-)"
	done
	if [ -z "$why" ]; then R $n pass; else R $n fail "$why"; fi
}
probe hostile_control window
probe hostile_out_of_window oob-write oob-read below-read far-write
probe hostile_permissions perm-write perm-read
probe hostile_cross_stale cross stale
probe hostile_bad_hello bad-hello hello-version hello-kind hello-size hello-depth hello-count hello-window
probe hostile_retry7 retry7 rnr7
probe hostile_idle idle
grep '^CLIENT \|中途離線' /tmp/srv-h.log | sed 's/^/    /'
# 壞掉的訊息:每一個都要「立刻」被發現(探測自己量),伺服器記錄的原因是 protocol(不是閒置逾時)
probe hostile_garbage garbage short-ctrl zero-send data-in-write imm-unasked overlong flood
n=$(grep -c '^CLIENT .*status=lost reason=protocol' /tmp/srv-h.log)
if [ "$n" != 6 ]; then
	R hostile_garbage_reason fail "伺服器以 protocol 放棄的連線 $n 個(應 6 個:garbage short-ctrl zero-send data-in-write imm-unasked overlong)"
else
	R hostile_garbage_reason pass
fi
# 終端機控制碼:伺服器照常服務,印出的文字裡沒有任何控制字元(C0、DEL、C1、改變文字方向)
why=
grep -q '^PROBE escape expected' /tmp/h.log || why="$why 探測:$(grep '^PROBE escape ' /tmp/h.log | cut -d' ' -f3-)"
grep '收到客戶端的 SEND\|寫進視窗的內容' /tmp/srv-h.log | grep 'ESC-TEST' | sed 's/^/    /'
[ "$(grep -c 'ESC-TEST' /tmp/srv-h.log)" = 2 ] || why="$why 伺服器沒有印出兩段(過濾後的)文字"
ctl=$(tr -cd '\000-\010\013-\037\177' </tmp/srv-h.log | wc -c)
[ "$ctl" = 0 ] || why="$why 伺服器的輸出裡有 $ctl 個控制字元"
grep -q "$(printf '\302\233')\\|$(printf '\342\200\256')" /tmp/srv-h.log && why="$why 伺服器的輸出裡有 C1 控制字元或 RLO"
if [ -z "$why" ]; then R hostile_escape pass; else R hostile_escape fail "$why"; fi
# 對方主機消失(拆掉 QP、沒有 DREQ):伺服器的 keepalive 在活動期限之前發現
why=
grep -q '^PROBE vanish expected' /tmp/h.log || why="$why 探測:$(grep '^PROBE vanish ' /tmp/h.log | cut -d' ' -f3-)"
lost_check "$(srvid /tmp/srv.log '4032 位元組')" /tmp/srv.log keepalive
if [ -z "$why" ]; then R hostile_vanish pass; else R hostile_vanish fail "$why"; fi
mem=$(hwm $SP)
echo "    伺服器記憶體高峰 VmHWM ${mem} KiB"
why=
grep -q '^PROBE lie expected' /tmp/h.log || why="說謊的 hello 沒有以記憶體不足被拒絕"
[ "${mem:-999999}" -lt 262144 ] || why="$why 伺服器記憶體高峰 ${mem} KiB 超過 256 MiB"
grep -q '拒絕 .*這個要求本身超過每個位址的記憶體上限' /tmp/srv.log || why="$why 伺服器沒有印出拒絕原因"
if [ -z "$why" ]; then R hostile_lie_rejected pass; else R hostile_lie_rejected fail "$why"; fi
run server_unharmed

echo "== 客戶端被 SIGKILL 之後,伺服器要繼續服務下一個"
before=$(grep -c 'status=lost' /tmp/srv.log)
$P client $IP --test bw --op write --iters 10000000 --size 4096 >/tmp/k.log 2>&1 &
kp=$!
waitlog 15 /tmp/k.log '已完成' || echo "    (客戶端沒有印出進度)"
kill -9 $kp
wait $kp
i=0
while [ $i -lt 100 ] && [ "$(grep -c 'status=lost' /tmp/srv.log)" = "$before" ]; do sleep 0.1; i=$((i + 1)); done
after=$(grep -c 'status=lost' /tmp/srv.log)
timeout 30 $P client $IP >/tmp/k2.log 2>&1
rc=$?
if [ "$after" -gt "$before" ] && [ $rc = 0 ] && grep -q 'verify=ok' /tmp/k2.log && kill -0 $SP; then
	R server_survives_kill pass
else
	show killed /tmp/k.log
	show second /tmp/k2.log
	R server_survives_kill fail "伺服器記錄的離線次數 $before -> $after,第二個客戶端結束碼 $rc"
fi

echo "== 客戶端被 SIGINT:印出部分結果並正常結束"
$P client $IP --test lat --op send --iters 10000000 >/tmp/i.log 2>&1 &
ip_=$!
waitlog 15 /tmp/i.log '已完成'
kill -INT $ip_
wait $ip_
rc=$?
show sigint /tmp/i.log
if [ $rc = 0 ] && grep -q 'SUMMARY .*status=interrupted' /tmp/i.log && grep -q '已中斷連線' /tmp/i.log; then
	R client_sigint pass
else
	R client_sigint fail "結束碼 $rc"
fi

echo "== 上限:--max-mem 32 --max-clients 3,每個位址 1 條、16 MiB(記憶體是所有連線合計;已滿的拒絕不附數字)"
startsrv /tmp/cap.log --bind $IP --port 7472 --max-mem 32 --max-clients 3 --max-per-peer 1 --max-peer-mem 16
CP=$SRV
# 兩個各 12 MiB 多一點的客戶端(4 MiB × 3)從兩個位址同時跑,直到最後被 SIGINT(--event:睡著等完成事件,
# 不要和後面的客戶端搶這台 VM 的兩顆 vCPU;它們該一直佔著,不管後面的步驟花多久)
$P client $IP --port 7472 --test bw --op write --size 4194304 --depth 3 --duration 120 --event >/tmp/m1.log 2>&1 &
m1=$!
$P client $IP --port 7472 --bind 10.0.2.16 --test bw --op read --size 4194304 --depth 3 --duration 120 --event >/tmp/m2.log 2>&1 &
m2=$!
waitlog 20 /tmp/m1.log '已完成'
waitlog 20 /tmp/m2.log '已完成'
# 第三個位址的同樣要求:記憶體不夠,而另外兩個位址持有的不比它多,沒有人要讓位 —— 「已滿」
timeout 60 $P client $IP --port 7472 --bind 10.0.2.17 --test bw --op write --size 4194304 --depth 3 --iters 10 >/tmp/m3.log 2>&1
rc3=$?
show third /tmp/m3.log
# 第三個位置給一個慢慢跑的小客戶端,第四個就是「已滿(連線數)」
$P client $IP --port 7472 --bind 10.0.2.18 --test lat --op send --duration 120 --event >/tmp/m4.log 2>&1 &
m4=$!
waitlog 20 /tmp/m4.log '已完成'
timeout 20 $P client $IP --port 7472 --bind 10.0.2.19 >/tmp/m5.log 2>&1
rc5=$?
show busy /tmp/m5.log
kill -INT $m1 $m2 $m4
wait $m1
r1=$?
wait $m2
r2=$?
wait $m4
r4=$?
why=
[ $r1 = 0 ] && [ $r2 = 0 ] && [ $r4 = 0 ] || why="$why 在上限內的客戶端失敗($r1 / $r2 / $r4)"
grep -q 'status=interrupted' /tmp/m1.log && grep -q 'status=interrupted' /tmp/m2.log && grep -q 'status=interrupted' /tmp/m4.log ||
	why="$why 在上限內的客戶端沒有一直服務到最後"
[ $rc3 = 1 ] && grep -q '伺服器 .* 已滿(記憶體),拒絕了這次連線' /tmp/m3.log || why="$why 第三個大客戶端沒有以「已滿(記憶體)」被拒絕(結束碼 $rc3)"
grep '錯誤' /tmp/m3.log | grep -q '[0-9] \(MiB\|KiB\)' && why="$why「已滿」的拒絕洩漏了記憶體數字"
if [ -z "$why" ]; then R caps_memory_total pass; else R caps_memory_total fail "$why"; fi
if [ $rc5 = 1 ] && grep -q '伺服器 .* 已滿(連線數)' /tmp/m5.log; then R caps_busy pass; else R caps_busy fail "結束碼 $rc5:$(head -c 300 /tmp/m5.log)"; fi
echo "-- 單一個超過每個位址上限的客戶端(16 MiB × 4 = 64 MiB > 16 MiB):只有這時怪它的參數"
timeout 30 $P client $IP --port 7472 --test bw --op write --size 16777216 --depth 4 --iters 4 >/tmp/m6.log 2>&1
rc6=$?
show over /tmp/m6.log
timeout 30 $P client $IP --port 7472 >/tmp/m7.log 2>&1
rc7=$?
mem=$(hwm $CP)
echo "    上限 32 MiB 的伺服器:記憶體高峰 VmHWM ${mem} KiB"
why=
[ $rc6 = 1 ] && grep -q '這個要求本身需要 64\.[0-9] MiB 記憶體,超過伺服器給每個位址的上限 16\.0 MiB.*請用較小的 --size' /tmp/m6.log ||
	why="$why 沒有以「要求太大」拒絕(結束碼 $rc6)"
[ "${mem:-999999}" -lt 32768 ] || why="$why 伺服器記憶體高峰 ${mem} KiB 超過上限 32 MiB"
[ $rc7 = 0 ] && grep -q 'verify=ok' /tmp/m7.log || why="$why 緊接著的正常客戶端失敗(結束碼 $rc7)"
if [ -z "$why" ]; then R caps_over_limit pass; else R caps_over_limit fail "$why"; fi
echo "-- ASan 客戶端的錯誤路徑:被拒絕(記憶體不足)、沒有人監聽的埠(結束時 LeakSanitizer 檢查洩漏)"
if [ -n "${ASAN:-}" ]; then
	why=
	timeout 30 $ASAN client $IP --port 7472 --test bw --op write --size 16777216 --depth 2 --iters 2 >/tmp/am.log 2>&1
	rc=$?
	[ $rc = 1 ] && grep -q '這個要求本身需要' /tmp/am.log || { why="$why 被拒絕的 ASan 客戶端結束碼 $rc"; show asan-refused /tmp/am.log; }
	timeout 30 $ASAN client $IP --port 9 >/tmp/au.log 2>&1
	rc=$?
	[ $rc = 1 ] || { why="$why 連不上的 ASan 客戶端結束碼 $rc"; show asan-unreach /tmp/au.log; }
	grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error' /tmp/am.log /tmp/au.log && why="$why sanitizer 回報錯誤"
	if [ -z "$why" ]; then R asan_client_errors pass; else R asan_client_errors fail "$why"; fi
else
	R asan_client_errors skip 無法建置 ASan 版本
fi
kill -TERM $CP
wait $CP
show caps-server /tmp/cap.log

echo "== 剛好在上限上:--max-mem 1 時成本剛好 1 MiB(MR + 連線本身)的要求被接受,多一頁的被拒絕"
# 伺服器的 bw write:本地 MR 4 KiB + 視窗 + 連線本身 Z KiB(先用一個小要求讀出 Z)= 剛好 1 MiB;大小再多 1 位元組,視窗多一頁
startsrv /tmp/ex.log --bind $IP --port 7474 --max-mem 1 --max-clients 2 --max-per-peer 2
XP=$SRV
timeout 30 $P client $IP --port 7474 --test bw --op write --size 4096 --depth 1 --iters 20 >/tmp/x0.log 2>&1
z=$(sed -n 's/^\[#1\] 記憶體 .* + 連線本身約 \([0-9]*\)\.0 KiB.*/\1/p' /tmp/ex.log)
size=$((1048576 - 4096 - ${z:-0} * 1024))
echo "    連線本身 ${z:-?} KiB:剛好 1 MiB 的要求是 --size $size"
timeout 30 $P client $IP --port 7474 --test bw --op write --size $size --depth 1 --iters 20 >/tmp/x1.log 2>&1
r1=$?
timeout 30 $P client $IP --port 7474 --test bw --op write --size $((size + 1)) --depth 1 --iters 20 >/tmp/x2.log 2>&1
r2=$?
grep 'SUMMARY\|錯誤' /tmp/x0.log /tmp/x1.log /tmp/x2.log | sed 's/^/    /'
why=
[ -n "$z" ] || why="$why 伺服器沒有印出連線本身的成本"
[ $r1 = 0 ] && grep -q 'status=ok' /tmp/x1.log || why="$why 剛好 1 MiB 的要求失敗(結束碼 $r1)"
grep -q '^\[#2\] 記憶體 1024\.0 KiB' /tmp/ex.log || why="$why 伺服器為它算的不是剛好 1024 KiB"
[ $r2 = 1 ] && grep -q '這個要求本身需要 1028 KiB 記憶體,超過伺服器給每個位址的上限 1024 KiB' /tmp/x2.log ||
	why="$why 多一頁的要求沒有以「要求太大」被拒絕(結束碼 $r2)"
if [ -z "$why" ]; then R caps_exact pass; else R caps_exact fail "$why"; fi

echo "== 半開的連線要求(收到伺服器的回應後永遠不完成握手):佔住這個位址的名額,但伺服器 5 秒後自己放棄"
rdma_hostile $IP --port 7474 half-open=2 >/tmp/ho.log 2>&1 &
hp=$!
waitlog 15 /tmp/ho.log HALF_OPEN
timeout 20 $P client $IP --port 7474 >/tmp/x3.log 2>&1
r3=$?
i=0
while [ $i -lt 100 ] && [ "$(grep -c '沒有在 5 秒內完成連線' /tmp/ex.log)" -lt 2 ]; do
	sleep 0.1
	i=$((i + 1))
done
n=$(grep -c '沒有在 5 秒內完成連線' /tmp/ex.log)
timeout 30 $P client $IP --port 7474 >/tmp/x4.log 2>&1
r4=$?
why=
kill -0 $hp 2>/dev/null || why="$why 半開的客戶端太早結束(看不出伺服器有沒有自己放棄)"
wait $hp || why="$why 半開的連線要求沒有都得到回應:$(grep PROBE /tmp/ho.log)"
[ $r3 = 1 ] && grep -q '你的位址在伺服器上已有 2 條連線' /tmp/x3.log || why="$why 名額被同一個位址半開的連線佔住時,新客戶端沒有以「位址上限」被拒絕(結束碼 $r3)"
[ "$n" = 2 ] || why="$why 伺服器放棄的半開連線 $n 個(應 2 個)"
[ $r4 = 0 ] && grep -q 'verify=ok' /tmp/x4.log || { why="$why 伺服器放棄之後的客戶端失敗(結束碼 $r4)"; show after /tmp/x4.log; }
kill -TERM $XP
wait $XP
grep -v '記憶體 \|路徑:' /tmp/ex.log | sed 's/^/    exact| /'
if [ -z "$why" ]; then R half_open pass; else R half_open fail "$why"; fi

echo "== 伺服器 --event:客戶端有沒有 --event,每一種操作都要成功"
startsrv /tmp/ev.log --bind $IP --port 7473 --event
EP=$SRV
why=
for t in lat bw; do
	for op in send write read; do
		for e in "" --event; do
			timeout 60 $P client $IP --port 7473 --test $t --op $op --iters 200 --size 1024 $e >/tmp/e.log 2>&1
			rc=$?
			grep SUMMARY /tmp/e.log | sed 's/^/    /'
			[ $rc = 0 ] && grep -q 'status=ok' /tmp/e.log || { why="$why $t/$op${e:+/event}(結束碼 $rc)"; show event /tmp/e.log; }
		done
	done
done
kill -TERM $EP
wait $EP
if [ -z "$why" ]; then R server_event_matrix pass; else R server_event_matrix fail "$why"; fi

echo "== 伺服器被 SIGKILL:客戶端要在幾秒內以清楚的錯誤結束,不能卡住"
startsrv /tmp/ks.log --port 7495
ksp=$SRV
$P client $IP --port 7495 --test lat --op send --iters 100000000 >/tmp/kc.log 2>&1 &
kcp=$!
waitlog 15 /tmp/kc.log '已完成'
kill -9 $ksp
t0=$(cs)
i=0
while [ $i -lt 150 ] && kill -0 $kcp 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
dt=$(($(cs) - t0))
if kill -0 $kcp 2>/dev/null; then
	kill -9 $kcp
	wait $kcp
	R client_server_killed fail "伺服器死後客戶端 15 秒還沒結束"
else
	wait $kcp
	rc=$?
	show killed-server /tmp/kc.log
	echo "    客戶端在 ${dt}0 ms 後結束"
	if [ $rc = 1 ] && grep -q '錯誤' /tmp/kc.log && grep -q 'status=error' /tmp/kc.log; then
		R client_server_killed pass
	else
		R client_server_killed fail "結束碼 $rc"
	fi
fi

echo "== 連不上:5 秒內失敗"
for target in "$IP --port 9" "10.0.2.99"; do
	t0=$(cs)
	timeout 20 $P client $target >/tmp/u.log 2>&1
	rc=$?
	dt=$(($(cs) - t0))
	show "$target" /tmp/u.log
	echo "    耗時 ${dt}0 ms"
	n=unreach_port
	[ "$target" = 10.0.2.99 ] && n=unreach_host
	if [ $rc != 0 ] && [ $rc != 124 ] && [ $dt -le 700 ] && grep -q '錯誤' /tmp/u.log; then
		R $n pass
	else
		R $n fail "結束碼 $rc,耗時 ${dt}0 ms"
	fi
done

echo "== --device / --gid-index / --tos"
oncepair /tmp/g.log /tmp/gc.log "$P server --once --port 7480 --device rxe0" \
	$P client $IP --port 7480 --device rxe0 --gid-index 1 --tos 32
rc=$crc
show device /tmp/gc.log
show device-server /tmp/g.log
timeout 10 $P client $IP --device nosuch0 >/tmp/gn.log 2>&1
rc2=$?
timeout 10 $P client $IP --gid-index 1000 >/tmp/gz.log 2>&1
rc3=$?
show nosuch /tmp/gn.log
show gid1000 /tmp/gz.log
why=
[ $rc = 0 ] || why="$why 客戶端結束碼 $rc"
grep -q "伺服器在 $IP:7480" /tmp/g.log || why="$why 伺服器沒有綁到 rxe0 的位址"
grep -q '本地位址:.*rxe0 埠 1 的 GID index 1(RoCE v2' /tmp/gc.log || why="$why --gid-index 1 沒有說出取自哪一項"
grep -q '路徑:本地 GID index 1 .*traffic class 32' /tmp/gc.log || why="$why 客戶端的 traffic class 不是 32"
grep -q '路徑:本地 GID index 1 .*traffic class 32' /tmp/g.log || why="$why 伺服器沒有沿用 traffic class 32"
[ $rc2 = 1 ] && grep -q '沒有名為 nosuch0' /tmp/gn.log || why="$why --device nosuch0 結束碼 $rc2"
[ $rc3 = 1 ] && grep -q 'GID 表(所有埠)沒有第 1000 項' /tmp/gz.log || why="$why --gid-index 1000 結束碼 $rc3"
if [ -z "$why" ]; then R device_gid_tos pass; else R device_gid_tos fail "$why"; fi

echo "== 非 root 且 memlock 上限太低:ibv_reg_mr 失敗並提示 ulimit -l"
grep -q '^nobody:' /etc/passwd || echo 'nobody:x:65534:65534:nobody:/tmp:/bin/sh' >>/etc/passwd
chmod 666 /dev/infiniband/*
chmod 755 / /run
(ulimit -l 64 && su -s /bin/sh nobody -c "timeout 20 /run/$P client $IP --test bw --size 65536" >/tmp/m.log 2>&1)
rc=$?
show memlock /tmp/m.log
if [ $rc = 1 ] && grep -q 'ulimit -l' /tmp/m.log && grep -q 'ibv_reg_mr' /tmp/m.log; then
	R memlock_hint pass
else
	R memlock_hint fail "結束碼 $rc,沒有 memlock 提示"
fi
# 提示要完整(以前的錯誤訊息緩衝區太小,把提示切在半句)
if grep -q '或減少 --size / --depth' /tmp/m.log; then
	R memlock_hint_whole pass
else
	R memlock_hint_whole fail "提示被截斷:$(grep -o '提示:可鎖定.*' /tmp/m.log)"
fi

echo "== 伺服器自己註冊失敗(非 root、memlock 64 KiB;有 ASan 版本時用它):客戶端得到原因,不是「沒有伺服器」"
V=${ASAN:-$P}
oncepair /tmp/ms.log /tmp/mc.log "ulimit -l 64 && su -s /bin/sh nobody -c '/run/$V server --bind $IP --port 7483 --once'" \
	$P client $IP --port 7483 --test bw --size 65536
rc=$crc
show refused /tmp/mc.log
show server /tmp/ms.log
why=
[ $rc = 1 ] && grep -q '伺服器無法為這次連線配置資源(它那一端的 Cannot allocate memory)' /tmp/mc.log ||
	why="$why 客戶端沒有得到伺服器端錯誤的原因(結束碼 $rc)"
grep -q '沒有 RDMA 伺服器在監聽' /tmp/mc.log && why="$why 客戶端以為沒有伺服器"
grep -q 'ulimit -l' /tmp/ms.log || why="$why 伺服器沒有印出 memlock 提示"
# 伺服器自己的數字:客戶端收到的是拒絕,SUMMARY 也要算成拒絕(rej_server),不是「中途離線」
grep -q '^SUMMARY role=server requests=1 ok=0 lost=0 rejected=1 .* rej_server=1 ' /tmp/ms.log ||
	why="$why 伺服器的 SUMMARY 沒有把它拒絕的這次算成 rej_server:$(grep '^SUMMARY' /tmp/ms.log)"
[ $src = 0 ] || why="$why 伺服器結束碼 $src"
grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error' /tmp/ms.log && why="$why sanitizer 回報錯誤"
if [ -z "$why" ]; then R server_setup_refusal pass; else R server_setup_refusal fail "$why"; fi
chmod 600 /dev/infiniband/*

echo "== 常駐伺服器 SIGTERM:乾淨結束,印出每秒統計與總結"
kill -TERM $SP
wait $SP
rc=$?
grep -v '記憶體 \|路徑:' /tmp/srv.log | tail -n 40 | sed 's/^/    srv| /'
why=
[ $rc = 0 ] || why="$why 結束碼 $rc"
grep -q 'SUMMARY role=server requests=[0-9]* ok=[0-9]* lost=[1-9][0-9]* rejected=[1-9][0-9]* .*peak_clients=[4-9]' /tmp/srv.log || why="$why SUMMARY 不對"
grep -q '^\[統計 .*連線 [0-9]* 個|.* 次操作/秒|.* MB/s|伺服器 CPU [0-9]*%' /tmp/srv.log || why="$why 沒有每秒統計"
grep -q '^CLIENT .*server_cpu_ns=[0-9]* reported_client_cpu_ns=[0-9]* ' /tmp/srv.log || why="$why 沒有兩側的 CPU(客戶端的標成回報)"
if [ -z "$why" ]; then R server_sigterm pass; else R server_sigterm fail "$why"; fi
R end pass
EOF
}

# ---- VM:公平、工作階段上限、記錄洗版、檔案描述子(另一次開機) ------------------------------
# eth0 上另有 10.0.2.16-20:同一台 VM 裡的「不同位址」。惡意的一方是 rdma_hostile 的 hold(一次開很多條並
# 佔住:ping = 每秒一個真的 SEND、alive = 只送 'L'、write = 單邊 WRITE 加回報)、badmagic、churn、poison、
# overstay / overiters。
guest_fair() {
	guest_lib
	cat <<'EOF'
addrs
# served 名稱 結果檔 次數 指令…:正常的客戶端連續跑幾次,每次都要成功;記下每次從啟動到「已連線」
# 花了多久(百分之一秒;被服務的時間,不含之後的測試本身)。FULL="PID 執行緒數" 時,每次開始前先等那個
# 伺服器又被佔滿(主執行緒 + 每條連線一個執行緒):佔用的一方被擠掉後每秒才再連一次,不等就看不出讓位
served() {
	sn=$1 sf=$2 sk=$3
	shift 3
	: >"$sf"
	j=0
	while [ $j -lt $sk ]; do
		if [ -n "${FULL:-}" ]; then
			set -- ${FULL} "$@"
			i=0
			while [ $i -lt 100 ] && [ "$(sed -n 's/^Threads:[^0-9]*//p' /proc/$1/status)" != "$2" ]; do
				sleep 0.1
				i=$((i + 1))
			done
			shift 2
		fi
		t0=$(cs)
		: >/tmp/legit.log
		timeout 30 "$@" >/tmp/legit.log 2>&1 &
		lp=$!
		waitlog 30 /tmp/legit.log '^已連線'
		tc=$(($(cs) - t0))
		wait $lp
		rc=$?
		echo "$rc $tc" >>"$sf"
		[ $rc = 0 ] || show "$sn" /tmp/legit.log
		j=$((j + 1))
		sleep 1
	done
	echo "    $sn:每次的結束碼與連上花的時間(百分之一秒):$(tr '\n' ' ' <"$sf")"
}
# all_ok 結果檔 上限(百分之一秒):每次都成功,而且每次都在上限內
all_ok() { awk -v b="$2" '$1 != 0 || $2 > b { bad = 1 } END { exit bad || NR == 0 }' "$1"; }

echo "== 公平:一個位址佔滿它能佔的(連線數 / 記憶體),別的位址照樣馬上連得上(預設上限:每個位址 4 條、64 MiB)"
startsrv /tmp/fa.log --bind $IP --port 7600
FA=$SRV
rdma_hostile $IP --port 7600 --bind 10.0.2.16 --hold-secs 30 hold=64:ping >/tmp/fa1.log 2>&1 &
h1=$!
rdma_hostile $IP --port 7600 --bind 10.0.2.17 --hold-secs 30 hold=64:write:16777216 >/tmp/fa2.log 2>&1 &
h2=$!
rdma_hostile $IP --port 7600 --bind 10.0.2.18 --hold-secs 15 hold=64:alive >/tmp/fa3.log 2>&1 &
h3=$!
waitlog 60 /tmp/fa1.log HOLD_READY
waitlog 60 /tmp/fa2.log HOLD_READY
waitlog 60 /tmp/fa3.log HOLD_READY
grep -h HOLD_READY /tmp/fa1.log /tmp/fa2.log /tmp/fa3.log | sed 's/^/    /'
served fair_peer_caps /tmp/fa.res 5 $P client $IP --port 7600
wait $h1 $h2 $h3
grep -h HOLD_END /tmp/fa1.log /tmp/fa2.log /tmp/fa3.log | sed 's/^/    /'
why=
[ "$(kv opened /tmp/fa1.log)" = 4 ] && grep -q 'HOLD_READY .*reason=5 detail=1' /tmp/fa1.log ||
	why="$why 佔連線的位址不是開到 4 條就以「位址上限(連線數)」被拒絕"
[ "$(kv opened /tmp/fa2.log)" = 3 ] && grep -q 'HOLD_READY .*reason=5 detail=2' /tmp/fa2.log ||
	why="$why 佔記憶體的位址(16 MiB 一條)不是開到 3 條就以「位址上限(記憶體)」被拒絕"
all_ok /tmp/fa.res 500 || why="$why 別的位址的客戶端沒有每次都成功、在 5 秒內連上"
[ "$(kv still /tmp/fa1.log)" = 4 ] || why="$why 每秒真的 ping 的連線沒有撐完 30 秒(有進展就該留著)"
if [ -z "$why" ]; then R fair_peer_caps pass; else R fair_peer_caps fail "$why"; fi
# 只送 'L' 的連線沒有進展:伺服器 6 秒後以 'X'(idle)結束它們
why=
[ "$(kv opened /tmp/fa3.log)" = 4 ] || why="$why 只送 'L' 的位址沒有開到 4 條"
[ "$(kv idle /tmp/fa3.log)" = 4 ] || why="$why 只送 'L' 的連線沒有都被伺服器以「沒有進展」結束:$(grep HOLD_END /tmp/fa3.log)"
[ "$(grep -c '^CLIENT .*peer=10.0.2.18 .*status=lost reason=idle' /tmp/fa.log)" = 4 ] || why="$why 伺服器的 CLIENT 行不是 4 個 idle"
if [ -z "$why" ]; then R progress_required pass; else R progress_required fail "$why"; fi
kill -TERM $FA
wait $FA

echo "== 讓位:四個位址把伺服器佔滿(--max-clients 8、每個位址 2 條,斷了就再連),第五個位址每次都在幾秒內被服務"
V=${ASAN:-$P}
startsrv /tmp/fe.log --bind $IP --port 7601 --max-clients 8 --max-per-peer 2
FE=$SRV
pids=
for a in 16 17 18 19; do
	rdma_hostile $IP --port 7601 --bind 10.0.2.$a --hold-secs 20 hold=8:ping:refill >/tmp/fe$a.log 2>&1 &
	pids="$pids $!"
done
for a in 16 17 18 19; do waitlog 60 /tmp/fe$a.log HOLD_READY; done
grep -h HOLD_READY /tmp/fe1?.log | sed 's/^/    /'
FULL="$FE 9"
served fair_eviction /tmp/fe.res 5 $V client $IP --port 7601 --bind 10.0.2.20
FULL=
wait $pids
grep -h HOLD_END /tmp/fe1?.log | sed 's/^/    /'
y=$(cat /tmp/fe1?.log | sed -n 's/.*HOLD_END .* yield=\([0-9]*\) .*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
kill -TERM $FE
wait $FE
rc=$?
grep '讓位\|等其他位址\|SUMMARY' /tmp/fe.log | tail -n 8 | sed 's/^/    /'
why=
all_ok /tmp/fe.res 500 || why="$why 第五個位址的客戶端沒有每次都成功、在 5 秒內連上"
[ "$y" -ge 5 ] || why="$why 佔滿的位址被要求讓位 $y 次(應 >= 5)"
[ "$(grep -c '^CLIENT .*status=ended reason=yield' /tmp/fe.log)" = "$y" ] || why="$why 伺服器記錄的讓位和佔用的一方收到的不一樣"
[ "$(kv peak_clients /tmp/fe.log)" -le 8 ] || why="$why 同時服務的連線超過 --max-clients 8"
[ $rc = 0 ] || why="$why 伺服器結束碼 $rc"
grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error' /tmp/fe.log /tmp/legit.log && why="$why sanitizer 回報錯誤"
if [ -z "$why" ]; then R fair_eviction pass; else R fair_eviction fail "$why"; fi

echo "== 讓位(記憶體):一個位址用掉全部 64 MiB(8 MiB 一條),另一個位址要 8 MiB 時,最大的一條讓位"
startsrv /tmp/fm.log --bind $IP --port 7602 --max-mem 64 --max-peer-mem 64 --max-per-peer 16
FM=$SRV
rdma_hostile $IP --port 7602 --bind 10.0.2.16 --hold-secs 20 hold=16:write:8388608:refill >/tmp/fm1.log 2>&1 &
hm=$!
waitlog 60 /tmp/fm1.log HOLD_READY
grep HOLD_READY /tmp/fm1.log | sed 's/^/    /'
FULL="$FM 8"
served fair_eviction_mem /tmp/fm.res 3 $P client $IP --port 7602 --bind 10.0.2.20 --test bw --op write --size 4194304 --depth 2 --iters 4
FULL=
wait $hm
grep HOLD_END /tmp/fm1.log | sed 's/^/    /'
kill -TERM $FM
wait $FM
why=
grep -q 'HOLD_READY opened=7 .*reason=5 detail=2' /tmp/fm1.log || why="$why 佔記憶體的位址不是開到 7 條(約 57 MiB)就停"
all_ok /tmp/fm.res 500 || why="$why 另一個位址的 8 MiB 客戶端沒有每次都成功、在 5 秒內連上"
[ "$(kv yield /tmp/fm1.log)" -ge 3 ] || why="$why 佔記憶體的位址被要求讓位不到 3 次"
[ "$(kv peak_mem_kib /tmp/fm.log)" -le 65536 ] || why="$why 記憶體高峰 $(kv peak_mem_kib /tmp/fm.log) KiB 超過 64 MiB"
if [ -z "$why" ]; then R fair_eviction_mem pass; else R fair_eviction_mem fail "$why"; fi

echo "== 工作階段的上限:時間(--max-session 3)"
startsrv /tmp/l1.log --bind $IP --port 7603 --max-session 3
L1=$SRV
t0=$(cs)
timeout 60 $P client $IP --port 7603 --test bw --op write --duration 20 >/tmp/lt.log 2>&1
rc=$?
dt=$(($(cs) - t0))
grep -v '^\[ *[0-9]* 秒\]' /tmp/lt.log | tail -n 6 | sed 's/^/    /'
echo "    客戶端 ${dt}0 ms 後結束"
kill -TERM $L1
wait $L1
why=
[ $rc = 1 ] || why="$why 結束碼 $rc(應 1)"
grep -q '注意:伺服器只允許這個工作階段 3 秒,比 --duration 20 短' /tmp/lt.log || why="$why 連線時沒有先說上限"
grep -q '伺服器結束了這個工作階段:超過伺服器允許的時間(這個工作階段最多 3 秒' /tmp/lt.log || why="$why 沒有清楚的結束原因"
grep -q 'SUMMARY .* end=time status=ended' /tmp/lt.log || why="$why SUMMARY 不是 end=time status=ended"
grep -q '^CLIENT .*status=ended reason=time' /tmp/l1.log || why="$why 伺服器的 CLIENT 行不是 ended / time"
[ $dt -lt 1500 ] || why="$why 花了 ${dt}0 ms(上限 3 秒)"
if [ -z "$why" ]; then R session_limit_time pass; else R session_limit_time fail "$why"; fi

echo "== 工作階段的上限:次數(--max-session 60,500):雙邊(伺服器自己數)與單邊(客戶端回報)"
startsrv /tmp/l2.log --bind $IP --port 7604 --max-session 60,500
L2=$SRV
timeout 60 $P client $IP --port 7604 --test lat --op send --iters 2000 >/tmp/li.log 2>&1
rc1=$?
timeout 60 $P client $IP --port 7604 --test bw --op write --size 4096 --iters 200000 >/tmp/lw.log 2>&1
rc2=$?
grep '注意\|錯誤\|SUMMARY' /tmp/li.log /tmp/lw.log | sed 's/^/    /'
kill -TERM $L2
wait $L2
why=
[ $rc1 = 1 ] && grep -q '伺服器結束了這個工作階段:超過允許的次數(這個工作階段最多 500 次' /tmp/li.log ||
	why="$why SEND 延遲測試沒有在 500 次時被清楚地結束(結束碼 $rc1)"
grep -q 'SUMMARY .* iters=500 .*end=iters status=ended' /tmp/li.log || why="$why SEND 延遲測試的 SUMMARY 不是 500 次 / ended"
grep -q '注意:伺服器只允許這個工作階段 500 次操作' /tmp/li.log || why="$why 連線時沒有先說次數上限"
[ $rc2 = 1 ] && grep -q 'SUMMARY .*end=iters status=ended' /tmp/lw.log || why="$why 單邊 WRITE 頻寬測試沒有被以次數結束(結束碼 $rc2)"
[ "$(grep -c '^CLIENT .*status=ended reason=iters' /tmp/l2.log)" = 2 ] || why="$why 伺服器的 CLIENT 行不是 2 個 ended / iters"
if [ -z "$why" ]; then R session_limit_iters pass; else R session_limit_iters fail "$why"; fi

echo "== 不理會上限的對方:hello 說 2 秒卻一直 ping、說 20 次卻 ping 到 200 次(預設伺服器)"
startsrv /tmp/l3.log --bind $IP --port 7605
L3=$SRV
timeout 60 rdma_hostile $IP --port 7605 overstay overiters >/tmp/lo.log 2>&1
rc=$?
show overstay /tmp/lo.log
if [ $rc = 0 ]; then R session_limit_hostile pass; else R session_limit_hostile fail "$(grep UNEXPECTED /tmp/lo.log)"; fi

echo "== 說謊的回報:'L' 說 2^62 次、'E' 說 2^48−1 次與 2^60 ns 的 CPU;伺服器的統計與 CLIENT 行只用自己的(或有上限的)數字"
sb=$(wc -l </tmp/l3.log)
timeout 60 rdma_hostile $IP --port 7605 poison >/tmp/po.log 2>&1
rc=$?
sleep 1.5
kill -TERM $L3
wait $L3
show poison /tmp/po.log
tail -n +$((sb + 1)) /tmp/l3.log | grep '^\[統計\|^CLIENT' >/tmp/po.srv
sed 's/^/    /' /tmp/po.srv
why=
[ $rc = 0 ] || why="$why 探測:$(grep 'PROBE poison' /tmp/po.log)"
# 每秒統計的數字不能超過物理上可能的:rxe 的埠 2.5 Gb/s ≈ 313 MB/s;4096 位元組一次,最多約 7.6 萬次/秒
awk -F'|' '/^\[統計/ {
	for (i = 2; i <= NF; i++) { gsub(/,/, "", $i); if (match($i, /[0-9]+ 次/)) { v = substr($i, RSTART, RLENGTH) + 0; if (v > 80000) bad = 1 } }
	for (i = 2; i <= NF; i++) if (match($i, /[0-9.]+ MB\/s/)) { v = substr($i, RSTART, RLENGTH) + 0; if (v > 313) bad = 1 }
} END { exit bad }' /tmp/po.srv || why="$why 每秒統計出現物理上不可能的數字"
grep -q '4,611,\|281474976710655\|1152921504606846976' /tmp/po.srv && why="$why 客戶端說的數字原封不動進了伺服器的輸出"
w=$(grep '^CLIENT .*op=write' /tmp/po.srv)
case $w in *" ops=- reported_ops="*) ;; *) why="$why WRITE 的 CLIENT 行沒有把回報分開標示:$w" ;; esac
[ "$(echo "$w" | sed -n 's/.* reported_ops=\([0-9]*\).*/\1/p')" -le 1000 ] 2>/dev/null || why="$why WRITE 的回報超過約定的 1000 次"
sec=$(echo "$w" | sed -n 's/.* secs=\([0-9]*\)\..*/\1/p')
[ "$(echo "$w" | sed -n 's/.* reported_client_cpu_ns=\([0-9]*\).*/\1/p')" -le $(((sec + 1) * 1000000000)) ] 2>/dev/null ||
	why="$why 回報的客戶端 CPU 超過工作階段的時間"
grep -q '^CLIENT .*op=send .* ops=3 reported_ops=- ' /tmp/po.srv || why="$why SEND 的 CLIENT 行不是伺服器自己數的 3 次"
if [ -z "$why" ]; then R poison_reports pass; else R poison_reports fail "$why"; fi

echo "== 記錄不能被洗版:2,000 個壞掉的 hello、500 次連上就斷;SUMMARY 精確,沒有洩漏"
startsrv /tmp/lf.log --bind $IP --port 7606 --max-per-peer 16
LF=$SRV
rdma_hostile $IP --port 7606 churn=20 >/dev/null 2>&1 # 暖身:第一批連線讓 slab / malloc 長大一次
sleep 2
# ticks PID:行程用掉的 CPU(utime + stime,單位 10 ms)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# res 種類:這個行程持有的 RDMA 資源數(rdma resource show 的每一行帶 pid)
res() { rdma resource show $1 2>/dev/null | grep -c " pid $LF "; }
snap() { echo "thr=$(sed -n 's/^Threads:[^0-9]*//p' /proc/$LF/status) fds=$(ls /proc/$LF/fd | wc -l) cm_id=$(res cm_id) qp=$(res qp) cq=$(res cq) pd=$(res pd) mr=$(res mr) rss=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' /proc/$LF/status)"; }
s0=$(snap)
l0=$(wc -l </tmp/lf.log)
t0=$(cs)
timeout 200 rdma_hostile $IP --port 7606 badmagic=2000 >/tmp/bm.log 2>&1
t1=$(cs)
sleep 2
l1=$(wc -l </tmp/lf.log)
u1=$(ticks $LF)
timeout 200 rdma_hostile $IP --port 7606 churn=500 >/tmp/ch.log 2>&1
t2=$(cs)
u2=$(ticks $LF)
sleep 3
l2=$(wc -l </tmp/lf.log)
s1=$(snap)
cat /tmp/bm.log /tmp/ch.log | grep -v '^PROBE' | sed 's/^/    /'
b=$(((t1 - t0) / 100 + 1))
c=$(((t2 - t1) / 100 + 1))
echo "    壞掉的 hello:$b 秒 $((l1 - l0)) 行;連上就斷:$c 秒 $((l2 - l1)) 行,伺服器 CPU $(((u2 - u1) * 10)) ms(每次 $(((u2 - u1) * 10 / 500)) ms)"
echo "    之前 $s0"
echo "    之後 $s1"
why=
grep -q 'PROBE badmagic expected' /tmp/bm.log || why="$why 不是每個壞掉的 hello 都被拒絕"
# 拒絕:開頭 20 行,之後每秒最多 2 行加一行彙總
[ $((l1 - l0)) -le $((20 + 3 * (b + 3))) ] || why="$why 壞掉的 hello 寫了 $((l1 - l0)) 行($b 秒,上限 $((20 + 3 * (b + 3))))"
if [ -z "$why" ]; then R log_flood_bad_hello pass; else R log_flood_bad_hello fail "$why"; fi
why=
grep -q 'PROBE churn expected' /tmp/ch.log || why="$why 不是每次都得到回應:$(grep PROBE /tmp/ch.log)"
# 連線:開頭 20 條(每條 5 行),之後每秒最多 2 條加一行彙總、一行統計
[ $((l2 - l1)) -le $((100 + 12 * (c + 3))) ] || why="$why 連上就斷寫了 $((l2 - l1)) 行($c 秒,上限 $((100 + 12 * (c + 3))))"
if [ -z "$why" ]; then R log_flood_churn pass; else R log_flood_churn fail "$why"; fi
why=
for k in thr fds cm_id qp cq pd mr; do
	[ "$(echo "$s0" | tr ' ' '\n' | sed -n "s/^$k=//p")" = "$(echo "$s1" | tr ' ' '\n' | sed -n "s/^$k=//p")" ] || why="$why $k 不同"
done
r0=$(echo "$s0" | sed 's/.*rss=//')
r1=$(echo "$s1" | sed 's/.*rss=//')
[ "$r1" -le $((r0 + 2048)) ] || why="$why RSS 從 $r0 KiB 長到 $r1 KiB"
if [ -z "$why" ]; then R churn_no_leak pass; else R churn_no_leak fail "$why"; fi
kill -TERM $LF
wait $LF
grep 'SUMMARY' /tmp/lf.log | sed 's/^/    /'
why=
[ "$(kv requests /tmp/lf.log)" = 2520 ] || why="$why requests=$(kv requests /tmp/lf.log)(應 2520)"
[ "$(kv rej_bad /tmp/lf.log)" = 2000 ] || why="$why rej_bad=$(kv rej_bad /tmp/lf.log)(應 2000)"
[ $(($(kv ok /tmp/lf.log) + $(kv lost /tmp/lf.log) + $(kv ended /tmp/lf.log) + $(kv rejected /tmp/lf.log))) = 2520 ] ||
	why="$why 完成 + 離線 + 結束 + 拒絕 不等於連線要求數"
# 逐行印出的拒絕加上彙總裡的數字,剛好是 2000
n=$(grep -c '拒絕 .* 的連線要求:參數不合理' /tmp/lf.log)
m=$(sed -n 's/^\[彙總\] 這一秒另有 .*參數不合理 \([0-9]*\)、.*/\1/p' /tmp/lf.log | awk '{ n += $1 } END { print n + 0 }')
[ $((n + m)) = 2000 ] || why="$why 逐行的 $n 個加上彙總的 $m 個拒絕不是 2000"
if [ -z "$why" ]; then R summary_exact pass; else R summary_exact fail "$why"; fi

echo "== --max-clients 與檔案描述子:root 時調高 RLIMIT_NOFILE;非 root 調不高時降低 --max-clients 並說一行原因"
(ulimit -n 64 && exec $P server --bind $IP --port 7607 --max-clients 40 --max-per-peer 40 >/tmp/n1.log 2>&1) &
N1=$!
waitlog 15 /tmp/n1.log 等待客戶端
timeout 60 rdma_hostile $IP --port 7607 --bind 10.0.2.16 --hold-secs 3 hold=40:ping >/tmp/nh1.log 2>&1
kill -TERM $N1
wait $N1
grep -v '記憶體 \|路徑:\|連入\|CLIENT\|中途離線' /tmp/n1.log | head -n 4 | sed 's/^/    n1| /'
grep HOLD /tmp/nh1.log | sed 's/^/    /'
why=
grep -q '檔案描述子上限(RLIMIT_NOFILE)從 64 調高到 96:--max-clients 40 每條連線要 2 個' /tmp/n1.log || why="$why 沒有調高 RLIMIT_NOFILE"
[ "$(kv opened /tmp/nh1.log)" = 40 ] && [ "$(kv still /tmp/nh1.log)" = 40 ] || why="$why 40 條連線沒有都開得起來並撐到最後"
grep -q 'Too many open files\|EMFILE' /tmp/n1.log && why="$why 伺服器遇到 EMFILE"
if [ -z "$why" ]; then R nofile_raised pass; else R nofile_raised fail "$why"; fi
grep -q '^nobody:' /etc/passwd || echo 'nobody:x:65534:65534:nobody:/tmp:/bin/sh' >>/etc/passwd
chmod 666 /dev/infiniband/*
chmod 755 / /run
(ulimit -l unlimited && ulimit -n 64 && exec su -s /bin/sh nobody -c "exec /run/$P server --bind $IP --port 7608 --max-clients 1024 --max-per-peer 1024" >/tmp/n2.log 2>&1) &
N2=$!
waitlog 15 /tmp/n2.log 等待客戶端
timeout 60 rdma_hostile $IP --port 7608 --bind 10.0.2.16 --hold-secs 3 hold=64:ping >/tmp/nh2.log 2>&1
timeout 30 $P client $IP --port 7608 >/tmp/n2c.log 2>&1
rc=$?
kill -TERM $N2
wait $N2
chmod 600 /dev/infiniband/*
grep -v '記憶體 \|路徑:\|連入\|CLIENT\|中途離線' /tmp/n2.log | head -n 4 | sed 's/^/    n2| /'
grep HOLD /tmp/nh2.log | sed 's/^/    /'
why=
grep -q '注意:--max-clients 從 1024 降為 24:檔案描述子上限(ulimit -n)只有 64 又無法調高' /tmp/n2.log || why="$why 沒有說明降低 --max-clients"
[ "$(grep -c '降為' /tmp/n2.log)" = 1 ] || why="$why 說明不是一行"
# 每個位址的上限也跟著降為 24:第 25 條以「已滿」或「位址上限」(連線數)被拒絕都對
grep -q 'HOLD_READY opened=24 refused=1 reason=[15] detail=1' /tmp/nh2.log || why="$why 不是開到 24 條就以連線數被拒絕"
grep -q 'Too many open files\|EMFILE\|錯誤:' /tmp/n2.log && why="$why 伺服器印出錯誤"
[ $rc = 0 ] || why="$why 之後的正常客戶端失敗(結束碼 $rc)"
if [ -z "$why" ]; then R nofile_clamped pass; else R nofile_clamped fail "$why"; fi
R end pass
EOF
}

# guest_script 檔案 產生函式:VM 裡的腳本,開頭是 ASan 版本的設定(建置得出來時一起放進 VM,ASAN=它的名稱);
# 要放進 VM 的檔案在 GUEST_FILES
guest_script() {
	local asan
	GUEST_FILES=(-f "$PROG" -f "$HOSTILE")
	# 只建置自己的 ASan 版本(別的程式編譯失敗不影響這裡)
	if make -s -C "$T_ROOT" O=build/asan SANITIZE=1 build/asan/rdma_communication >"$T_TMP/asan.log" 2>&1 &&
		[ -x "$T_ASAN_DIR/rdma_communication" ]; then
		cp "$T_ASAN_DIR/rdma_communication" "$T_TMP/rdma_communication_asan"
		GUEST_FILES+=(-f "$T_TMP/rdma_communication_asan")
		asan="ASAN=rdma_communication_asan; export ASAN_OPTIONS=detect_leaks=1:exitcode=86"
	else
		asan="R default_run_asan skip 無法建置 ASan 版本"
	fi
	{
		echo "$asan"
		"$2"
	} >"$1"
}

# ensure_vm 輸出檔 結束碼檔 秒數 產生函式:第一個需要的檢查開機一次,結果給後面的檢查共用
ensure_vm() {
	need_vm
	if [ ! -f "$2" ]; then
		guest_script "$T_TMP/guest.sh" "$4"
		local rc
		"$VM" run -t "$3" "${GUEST_FILES[@]}" "$T_TMP/guest.sh" 2>&1 | tee "$1"
		rc=${PIPESTATUS[0]}
		echo "$rc" >"$2"
	fi
}
ensure_vm1() { ensure_vm "$VM1_OUT" "$VM1_RC" 420 guest_single; }
ensure_vm3() { ensure_vm "$VM3_OUT" "$VM3_RC" 420 guest_fair; }

# vm_result 名稱:讀取 VM 對這一項的結果
vm_result() {
	local name=$1 out=${2:-$VM1_OUT} line
	grep -aq 'KBS_RESULT end pass' "$out" 2>/dev/null ||
		skip "VM 沒有完整執行(結束碼 $(cat "${out%.out}.rc" 2>/dev/null),見 vm_boot / fair_boot / two_vm 的記錄)"
	line=$(grep -a "KBS_RESULT $name " "$out" | tail -n1)
	[ -n "$line" ] || fail "VM 沒有回報 $name 的結果"
	grep -a -B2000 "KBS_RESULT $name " "$out" | tail -n 60
	case $line in
	*" $name pass"*) return 0 ;;
	*" $name skip"*) skip "${line#*" $name skip "}" ;;
	esac
	local interop=
	grep -aq 'KBS_RESULT interop_rping ' "$out" && interop="(同一次開機的 rping/ib_write_lat:失敗)"
	grep -aq 'KBS_RESULT interop_rping pass' "$out" && grep -aq 'KBS_RESULT interop_ib_write_lat pass' "$out" &&
		interop="(同一次開機的 rping/ib_write_lat:通過)"
	fail "${line#*" $name fail "}$interop"
}

# t_vm_boot 開機函式 輸出檔 結束碼檔:那一次開機完整跑完
t_vm_boot() {
	"$1"
	local rc
	rc=$(cat "$3")
	grep -aq 'rxe0 就緒' "$2" || fail "VM 沒有建立 rxe0(結束碼 $rc)"
	grep -aq 'KBS_RESULT end pass' "$2" || fail "VM 裡的腳本沒有跑完(結束碼 $rc;124 = 逾時)"
	[ "$rc" = 0 ] || fail "VM 結束碼 $rc"
}

vm_check() {
	ensure_vm1
	vm_result "$1"
}

vm3_check() {
	ensure_vm3
	vm_result "$1" "$VM3_OUT"
}

# ---- 兩台 VM ---------------------------------------------------------------------
# A(10.0.0.1)是伺服器;B(10.0.0.2)跑客戶端,然後在一個長時間的 WRITE 頻寬測試中途
# 拔掉網路線 12 秒(主機以 QMP set_link 讓 B 的網卡失去載波)。A 要靠 keepalive 在 10 秒內發現、
# 期間照樣服務 A 自己的客戶端;B 的網路恢復後,新的客戶端要能連上。

guest_two_a() {
	guest_lib
	cat <<'EOF'
echo "== VM A:伺服器 $IP"
startsrv /tmp/s.log --bind $IP
sp=$SRV
echo "== 記憶體的帳:B 開 100 條連線並佔住,伺服器算的記憶體不少於 A 的 MemAvailable 下降的 0.8 倍(也不超過 2 倍)"
# B 先佔住一次再放掉(暖身:slab 快取與 malloc 的 arena 長大一次,之後重用),第二次才量:暖身之後的
# MemAvailable 到佔住時的下降,就是每多一條連線的成本。什麼時候佔滿 / 放掉,看伺服器的執行緒數
$P server --bind $IP --port 7475 --max-clients 128 --max-per-peer 128 --max-mem 1024 --max-peer-mem 1024 >/tmp/m.log 2>&1 &
mp=$!
waitlog 15 /tmp/m.log 等待客戶端
thr() { sed -n 's/^Threads:[^0-9]*//p' /proc/$mp/status; }
avail() { sed -n 's/^MemAvailable:[^0-9]*\([0-9]*\).*/\1/p' /proc/meminfo; }
# until_thr 條件 秒數:等伺服器的執行緒數符合條件(例如 -ge 101)
until_thr() {
	i=0
	while [ $i -lt $(($2 * 10)) ] && ! [ "$(thr)" $1 ]; do sleep 0.1; i=$((i + 1)); done
}
until_thr "-ge 101" 150
until_thr "= 1" 60
sleep 3
before=$(avail)
fds0=$(ls /proc/$mp/fd | wc -l)
until_thr "-ge 101" 150
sleep 2
held=$(avail)
n1=$(thr)
fds1=$(ls /proc/$mp/fd | wc -l)
acc=$(grep '^\[統計' /tmp/m.log | tail -n1 | sed -n 's/.*|記憶體 \([0-9.]*\) MiB.*/\1/p')
until_thr "= 1" 60
sleep 2
fds2=$(ls /proc/$mp/fd | wc -l)
kill -TERM $mp
wait $mp
drop=$((before - held))
acck=$(awk -v m="${acc:-0}" 'BEGIN { printf "%d", m * 1024 }')
echo "    佔住時 $((n1 - 1)) 條連線;伺服器算的 ${acc:-?} MiB($acck KiB),MemAvailable 少了 $drop KiB(每條 $((drop / 100)) KiB)"
echo "    檔案描述子:暖身後 $fds0 個,佔住時 $fds1 個,放開後 $fds2 個"
why=
[ "$n1" = 101 ] || why="$why 沒有 100 條連線同時存在(執行緒 $n1)"
# 上限要誠實的方向只有一個:伺服器算的不能比實際少(少算 = 對端能讓我們配置超過上限)。多算只會
# 提早拒絕;MemAvailable 是整台 VM 的數字,slab 與延遲釋放什麼時候回來不固定(同一程式量到每條
# 44-64 KB),所以多算只要求不超過 2 倍
awk -v a="$acck" -v d="$drop" 'BEGIN { exit !(d > 0 && a >= 0.8 * d && a <= 2 * d) }' ||
	why="$why 伺服器算的 $acck KiB 與 MemAvailable 的下降 $drop KiB 不符(應 >= 0.8 倍:不少算;<= 2 倍)"
[ $((fds1 - fds0)) = 200 ] && [ "$fds2" = "$fds0" ] || why="$why 每條連線的檔案描述子不是 2 個,或沒有全部還回來($fds0 -> $fds1 -> $fds2)"
if [ -z "$why" ]; then R mem_accounting pass; else R mem_accounting fail "$why"; fi
# B 的長時間客戶端連上之後,A 自己的客戶端在 B 斷線期間也要被服務
waitlog 150 /tmp/s.log '時間 60 秒'
id=$(srvid /tmp/s.log '時間 60 秒')
sleep 4
timeout 60 $P client $IP >/tmp/local.log 2>&1
lrc=$?
show local /tmp/local.log
why=
lost_check "$id" /tmp/s.log keepalive
[ $lrc = 0 ] && grep -q 'verify=ok' /tmp/local.log || why="$why B 斷線期間 A 自己的客戶端失敗(結束碼 $lrc)"
if [ -z "$why" ]; then R two_vm_link_down_server pass; else R two_vm_link_down_server fail "$why"; fi
# 等 B 網路恢復後的客戶端
waitlog 120 /tmp/s.log '^CLIENT .*test=demo .*status=ok' >/dev/null
n=0
i=0
while [ $i -lt 1200 ]; do
	n=$(grep -c '^CLIENT .*status=ok' /tmp/s.log)
	[ "$n" -ge 5 ] && break
	sleep 0.1
	i=$((i + 1))
done
kill -TERM $sp
wait $sp
rc=$?
grep -v '記憶體 ' /tmp/s.log | sed 's/^/    server| /'
if [ $rc = 0 ] && [ "$n" -ge 5 ] && grep -q '伺服器端驗證:內容正確' /tmp/s.log; then
	R two_vm_server pass
else
	R two_vm_server fail "伺服器結束碼 $rc,完成的客戶端 $n 個(應 >= 5:B 的三個、A 的一個、B 恢復後一個)"
fi
R end pass
EOF
}

guest_two_b() {
	guest_lib
	cat <<'EOF'
echo "== VM B:客戶端 $IP -> $KBS_PEER"
# 伺服器可能還沒開始監聽:被拒絕時重試
retry_demo() {
	i=0
	while :; do
		timeout 30 $P client $KBS_PEER >/tmp/d.log 2>&1
		rc=$?
		[ $rc = 0 ] && break
		i=$((i + 1))
		[ $i -ge $1 ] && break
		sleep 0.5
	done
}
retry_demo 60
show demo /tmp/d.log
if [ $rc = 0 ] && grep -q 'verify=ok server_verify=ok' /tmp/d.log; then R two_vm_default pass; else R two_vm_default fail "結束碼 $rc(重試 $i 次)"; fi
timeout 60 $P client $KBS_PEER --test lat --op send --iters 300 >/tmp/l.log 2>&1
ok two_vm_lat /tmp/l.log $?
timeout 60 $P client $KBS_PEER --test bw --op write --iters 300 >/tmp/b.log 2>&1
ok two_vm_bw /tmp/b.log $?
echo "== 佔住 A 的第二個伺服器 100 條連線:先暖身一次(佔住 3 秒就放掉),再佔住 15 秒(每條每 3 秒一個真的 SEND)"
timeout 150 rdma_hostile $KBS_PEER --port 7475 --hold-secs 3 hold=100:ping:p3 2>&1 | sed 's/^/    /'
sleep 8
timeout 150 rdma_hostile $KBS_PEER --port 7475 --hold-secs 15 hold=100:ping:p3 2>&1 | sed 's/^/    /'
echo "== 長時間 WRITE 頻寬測試中途拔掉網路線 12 秒(主機以 QMP set_link 切斷 B 的網卡)"
$P client $KBS_PEER --test bw --op write --duration 60 --size 4096 >/tmp/long.log 2>&1 &
lp=$!
waitlog 20 /tmp/long.log '已完成'
echo "KBS_LINK off"
sleep 12
echo "KBS_LINK on"
i=0
while [ $i -lt 50 ] && ! grep -q 1 /sys/class/net/eth0/carrier 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
wait $lp
echo "    長時間客戶端結束碼 $?(預期失敗)"
tail -n 3 /tmp/long.log | sed 's/^/    long| /'
retry_demo 20
show after /tmp/d.log
if [ $rc != 0 ]; then
	ip route
	ip neigh
	rdma link
	ping -c 2 $KBS_PEER
fi
if [ $rc = 0 ] && grep -q 'verify=ok' /tmp/d.log; then R two_vm_after_link_up pass; else R two_vm_after_link_up fail "網路恢復後連不上(結束碼 $rc,重試 $i 次)"; fi
R end pass
EOF
}

ensure_vm2() {
	need_vm
	if [ ! -f "$VM2_RC" ]; then
		guest_two_a >"$T_TMP/a.sh"
		guest_two_b >"$T_TMP/b.sh"
		local rc
		"$VM" run2 -t 360 -f "$PROG" -f "$HOSTILE" "$T_TMP/a.sh" "$T_TMP/b.sh" 2>&1 | tee "$VM2_OUT"
		rc=${PIPESTATUS[0]}
		echo "$rc" >"$VM2_RC"
	fi
}

t_two_vm() {
	ensure_vm2
	local rc a b n
	rc=$(cat "$VM2_RC")
	a=$(grep -ac '^\[A\] KBS_RESULT end pass' "$VM2_OUT")
	b=$(grep -ac '^\[B\] KBS_RESULT end pass' "$VM2_OUT")
	[ "$a" = 1 ] && [ "$b" = 1 ] || fail "兩台 VM 沒有都跑完(結束碼 $rc)"
	for n in "$@"; do
		grep -aq "KBS_RESULT $n pass" "$VM2_OUT" ||
			fail "$n:$(grep -a "KBS_RESULT $n " "$VM2_OUT" | sed 's/.*KBS_RESULT [^ ]* //')"
	done
}

check no_device_server t_no_device_server
check no_device_client t_no_device_client
check bad_args t_bad_args
check help t_help
check help_aligned t_help_aligned
check source_documents_protocol t_source_documents_protocol
check vm_harness_usage t_vm_harness_usage
check vm_boot t_vm_boot ensure_vm1 "$VM1_OUT" "$VM1_RC"
for n in interop_rping interop_ib_write_lat default_run default_run_asan asan_modes \
	lat_send lat_write lat_read bw_send bw_write bw_read \
	event_lat_send event_lat_write event_bw_write event_bw_send lat_send_large bw_send_credits duration_mode \
	concurrent_four spin_budget sigstop_detected hostile_foreign_keys hostile_control hostile_out_of_window \
	hostile_permissions hostile_cross_stale hostile_bad_hello hostile_retry7 hostile_idle hostile_garbage hostile_garbage_reason \
	hostile_escape hostile_vanish hostile_lie_rejected server_unharmed server_survives_kill client_sigint \
	caps_memory_total caps_busy caps_over_limit asan_client_errors caps_exact half_open server_event_matrix \
	client_server_killed unreach_port unreach_host device_gid_tos memlock_hint memlock_hint_whole server_setup_refusal \
	server_sigterm; do
	check "$n" vm_check "$n"
done
check fair_boot t_vm_boot ensure_vm3 "$VM3_OUT" "$VM3_RC"
for n in fair_peer_caps progress_required fair_eviction fair_eviction_mem session_limit_time session_limit_iters \
	session_limit_hostile poison_reports log_flood_bad_hello log_flood_churn churn_no_leak summary_exact \
	nofile_raised nofile_clamped; do
	check "$n" vm3_check "$n"
done
check two_vm t_two_vm two_vm_server two_vm_default two_vm_lat two_vm_bw
check mem_accounting t_two_vm mem_accounting
check two_vm_link_down t_two_vm two_vm_link_down_server two_vm_after_link_up
