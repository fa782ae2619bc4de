#!/bin/bash
# tests/rdma.sh — rdma_communication 的檢查
#
# 主機上(基本模式,不需要 root):主機核心沒有 RDMA 時,伺服器與客戶端都要印出
# 「找不到 RDMA 裝置」與建立 Soft-RoCE 的提示並以非零結束;錯誤的參數一律結束碼 64。
#
# Soft-RoCE VM 裡(完整模式,root;沒有 qemu 時略過並說明):為了省時間,
# 大部分檢查在「同一次」開機裡一起跑(tests/vm/rdma-vm.sh run),VM 裡的腳本對每一項
# 印一行「KBS_RESULT 名稱 pass|fail 原因」,主機端的每個檢查只讀取自己的那一行。
# 同一次開機也跑 rping 與 ib_write_lat:我們的程式失敗時,可以分辨是程式還是 VM 壞了。
# 另外一次開機用兩台 VM(qemu UDP socket 網路)跑真正的跨主機客戶端 / 伺服器。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/rdma_communication
VM=$T_ROOT/tests/vm/rdma-vm.sh
VM1_OUT=$T_LOGDIR/rdma.vm-single.out
VM1_RC=$T_LOGDIR/rdma.vm-single.rc
VM2_OUT=$T_LOGDIR/rdma.vm-two.out
VM2_RC=$T_LOGDIR/rdma.vm-two.rc
rm -f "$VM1_OUT" "$VM1_RC" "$VM2_OUT" "$VM2_RC"

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
		"client 10.0.2.15 --size 0"
		"client 10.0.2.15 --size -5"
		"client 10.0.2.15 --size 1x"
		"client 10.0.2.15 --size 999999999"
		"client 10.0.2.15 --iters 0"
		"client 10.0.2.15 --depth 0"
		"client 10.0.2.15 --depth 5000"
		"client 10.0.2.15 --test foo"
		"client 10.0.2.15 --op foo"
		"client 10.0.2.15 --gid-index 300"
		"client 10.0.2.15 --bind 127.0.0.1"
		"client 10.0.2.15 --once"
		"server --test lat"
		"server --bind 127.0.0.1"
		"client 10.0.2.15 --size 67108864 --depth 1024"
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
	for w in 用法 --port 7471 --bind --device --gid-index --test --op --size --iters --depth --event --once 'rdma link add'; do
		expect_file_match "$T_TMP/out" "$w" "--help 缺少 $w"
	done
}

# 原始碼的線路協定說明與預設埠要在檔頭
t_source_documents_protocol() {
	expect_file_match rdma_communication.c '線路協定' "檔頭缺少線路協定說明"
	expect_file_match rdma_communication.c 'rkey' "線路協定沒有說明 rkey 怎麼交換"
	expect_file_match rdma_communication.c 'DEFAULT_PORT 7471' "預設埠"
}

# VM 腳本本身:錯誤用法結束碼 64;make rdma-vm 目標存在
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
}

# ---- VM:一次開機跑很多項 ---------------------------------------------------------

need_vm() {
	need_full
	need_root
	need_cmd qemu-system-x86_64 cpio busybox
	need_bin "$PROG"
	[ -x "$VM" ] || fail "找不到 $VM"
}

# VM 裡的共用函式(busybox sh)
guest_lib() {
	cat <<'EOF'
IP=$KBS_IP
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
EOF
}

# 單一 VM 的腳本:互通性、預設示範、lat/bw × send/write/read、--event、
# 客戶端被殺之後伺服器繼續服務、連不上時 5 秒內失敗、--device/--gid-index、訊號
guest_single() {
	guest_lib
	cat <<'EOF'
P=rdma_communication
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
	$variant server --once >/tmp/ds.log 2>&1 &
	sp=$!
	waitlog 10 /tmp/ds.log 等待客戶端
	timeout 30 $variant client $IP >/tmp/dc.log 2>&1
	crc=$?
	wait $sp
	src=$?
	show client /tmp/dc.log
	show server /tmp/ds.log
	why=
	[ $crc = 0 ] || why="$why 客戶端結束碼 $crc"
	[ $src = 0 ] || why="$why 伺服器結束碼 $src"
	grep -q 'WRITE/READ 驗證成功' /tmp/dc.log || why="$why 客戶端沒有驗證成功"
	grep -q 'SUMMARY role=client test=demo verify=ok server_verify=ok status=ok' /tmp/dc.log || why="$why 客戶端 SUMMARY 不對"
	grep -q '伺服器端驗證:內容正確' /tmp/ds.log || why="$why 伺服器沒有驗證成功"
	grep -q 'SUMMARY role=server clients=1 ok=1 lost=0 status=ok' /tmp/ds.log || why="$why 伺服器 SUMMARY 不對"
	grep -q '收到客戶端的 SEND' /tmp/ds.log || why="$why 伺服器沒有印出收到的問候"
	grep -q 'GID index 1' /tmp/dc.log || why="$why 沒有印出裝置資訊"
	grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error' /tmp/dc.log /tmp/ds.log && why="$why sanitizer 回報錯誤"
	if [ -z "$why" ]; then R $name pass; else R $name fail "$why"; fi
done

echo "== ASan 版本:量測模式與伺服器的連線生命週期(結束時 LeakSanitizer 檢查洩漏)"
if [ -n "${ASAN:-}" ]; then
	$ASAN server --bind $IP --port 7490 >/tmp/as.log 2>&1 &
	ap=$!
	waitlog 20 /tmp/as.log 等待客戶端
	why=
	for args in "--test lat --op send --iters 200" "--test lat --op write --iters 200 --event" \
		"--test bw --op read --iters 200 --size 4096" "--test bw --op send --iters 200 --size 4096 --event"; do
		timeout 60 $ASAN client $IP --port 7490 $args >/tmp/ac.log 2>&1
		rc=$?
		grep SUMMARY /tmp/ac.log | sed 's/^/    /'
		[ $rc = 0 ] || { why="$why「$args」結束碼 $rc"; show asan /tmp/ac.log; }
	done
	kill -TERM $ap
	wait $ap
	rc=$?
	[ $rc = 0 ] || { why="$why 伺服器結束碼 $rc"; show asan-server /tmp/as.log; }
	if [ -z "$why" ]; then R asan_modes pass; else R asan_modes fail "$why"; fi
else
	R asan_modes skip 無法建置 ASan 版本
fi

echo "== 常駐伺服器(--bind $IP)"
$P server --bind $IP >/tmp/srv.log 2>&1 &
SP=$!
waitlog 10 /tmp/srv.log 等待客戶端 || R server_start fail "伺服器沒有啟動"
# run 名稱 參數…:客戶端要成功且 SUMMARY status=ok
run() {
	n=$1
	shift
	timeout 60 $P client $IP "$@" >/tmp/c.log 2>&1
	rc=$?
	grep SUMMARY /tmp/c.log | sed 's/^/    /'
	if [ $rc = 0 ] && grep -q 'SUMMARY .*status=ok' /tmp/c.log; then
		R $n pass
	else
		show $n /tmp/c.log
		R $n fail "結束碼 $rc:$(grep -m1 錯誤 /tmp/c.log)"
	fi
}
for op in send write read; do
	run lat_$op --test lat --op $op --iters 300
	run bw_$op --test bw --op $op --iters 300 --size 65536 --depth 16
done
run event_lat_send --test lat --op send --iters 200 --event
run event_lat_write --test lat --op write --iters 200 --event
run event_bw_write --test bw --op write --iters 200 --event
run event_bw_send --test bw --op send --iters 200 --size 4096 --event
run lat_send_large --test lat --op send --iters 100 --size 8192

echo "== 客戶端被 SIGKILL 之後,伺服器要繼續服務下一個"
before=$(grep -c 中途離線 /tmp/srv.log)
$P client $IP --test bw --op write --iters 10000000 --size 4096 >/tmp/k.log 2>&1 &
kp=$!
waitlog 15 /tmp/k.log '已完成' || echo "    (客戶端沒有印出進度)"
kill -9 $kp
wait $kp
i=0
while [ $i -lt 100 ] && [ "$(grep -c 中途離線 /tmp/srv.log)" = "$before" ]; do sleep 0.1; i=$((i + 1)); done
after=$(grep -c 中途離線 /tmp/srv.log)
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

echo "== 忙碌:第二個客戶端被拒絕並得到清楚的訊息"
$P client $IP --test bw --op write --iters 10000000 --size 4096 >/tmp/b1.log 2>&1 &
bp=$!
waitlog 15 /tmp/b1.log '已完成'
timeout 10 $P client $IP >/tmp/b2.log 2>&1
rc=$?
kill -INT $bp
wait $bp
show busy /tmp/b2.log
if [ $rc != 0 ] && grep -q '正在服務另一個客戶端' /tmp/b2.log; then R server_busy_reject pass; else R server_busy_reject fail "結束碼 $rc"; fi

echo "== 伺服器被 SIGKILL:客戶端要在幾秒內以清楚的錯誤結束,不能卡住"
$P server --port 7495 >/tmp/ks.log 2>&1 &
ksp=$!
waitlog 10 /tmp/ks.log 等待客戶端
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
	if [ $rc != 0 ] && [ $rc != 124 ] && [ $dt -le 500 ] && grep -q '錯誤' /tmp/u.log; then
		R $n pass
	else
		R $n fail "結束碼 $rc,耗時 ${dt}0 ms"
	fi
done

echo "== --device / --gid-index"
$P server --once --port 7480 --device rxe0 >/tmp/g.log 2>&1 &
gp=$!
waitlog 10 /tmp/g.log 等待客戶端
timeout 30 $P client $IP --port 7480 --device rxe0 --gid-index 1 >/tmp/gc.log 2>&1
rc=$?
wait $gp
show device /tmp/gc.log
show device-server /tmp/g.log
timeout 10 $P client $IP --device nosuch0 >/tmp/gn.log 2>&1
rc2=$?
timeout 10 $P client $IP --gid-index 0 >/tmp/gz.log 2>&1
rc3=$?
show nosuch /tmp/gn.log
show gid0 /tmp/gz.log
if [ $rc = 0 ] && grep -q "伺服器在 $IP:7480" /tmp/g.log && [ $rc2 = 1 ] && grep -q '沒有名為 nosuch0' /tmp/gn.log && [ $rc3 = 1 ]; then
	R device_gid pass
else
	R device_gid fail "結束碼 $rc / $rc2 / $rc3"
fi

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
chmod 600 /dev/infiniband/*

echo "== 伺服器 SIGTERM:乾淨結束並印出總結"
kill -TERM $SP
wait $SP
rc=$?
show server /tmp/srv.log
if [ $rc = 0 ] && grep -q 'SUMMARY role=server clients=[0-9]* ok=[0-9]* lost=[1-9]' /tmp/srv.log; then
	R server_sigterm pass
else
	R server_sigterm fail "結束碼 $rc"
fi
R end pass
EOF
}

# ensure_vm1:第一個需要的檢查開機一次,結果給後面的檢查共用
ensure_vm1() {
	need_vm
	if [ ! -f "$VM1_RC" ]; then
		local files=(-f "$PROG") asan=
		# 只建置自己的 ASan 版本(別的程式編譯失敗不影響這裡)
		if make -s -C "$T_ROOT" O=build/asan SANITIZE=1 build/asan/rdma_communication >"$T_TMP/asan.log" 2>&1 &&
			[ -x "$T_ASAN_DIR/rdma_communication" ]; then
			cp "$T_ASAN_DIR/rdma_communication" "$T_TMP/rdma_communication_asan"
			files+=(-f "$T_TMP/rdma_communication_asan")
			asan="ASAN=rdma_communication_asan; export ASAN_OPTIONS=detect_leaks=1:exitcode=86"
		else
			asan="R default_run_asan skip 無法建置 ASan 版本"
		fi
		{
			echo "$asan"
			guest_single
		} >"$T_TMP/guest.sh"
		local rc
		"$VM" run -t 300 "${files[@]}" "$T_TMP/guest.sh" 2>&1 | tee "$VM1_OUT"
		rc=${PIPESTATUS[0]}
		echo "$rc" >"$VM1_RC"
	fi
}

# vm_result 名稱:讀取 VM 對這一項的結果
vm_result() {
	local name=$1 out=${2:-$VM1_OUT} line
	grep -aq 'KBS_RESULT end pass' "$out" 2>/dev/null ||
		skip "VM 沒有完整執行(結束碼 $(cat "${out%.out}.rc" 2>/dev/null),見 vm_boot / two_vm 的記錄)"
	line=$(grep -a "KBS_RESULT $name " "$out" | tail -n1)
	[ -n "$line" ] || fail "VM 沒有回報 $name 的結果"
	grep -a -B2000 "KBS_RESULT $name " "$out" | tail -n 60
	case $line in
	*" $name pass"*) return 0 ;;
	*" $name skip"*) skip "${line#*" $name skip "}" ;;
	esac
	local interop=通過
	grep -aq 'KBS_RESULT interop_rping pass' "$out" && grep -aq 'KBS_RESULT interop_ib_write_lat pass' "$out" ||
		interop=失敗
	fail "${line#*" $name fail "}(同一次開機的 rping/ib_write_lat:$interop)"
}

t_vm_boot() {
	ensure_vm1
	local rc
	rc=$(cat "$VM1_RC")
	grep -aq 'rxe0 就緒' "$VM1_OUT" || fail "VM 沒有建立 rxe0(結束碼 $rc)"
	grep -aq 'KBS_RESULT end pass' "$VM1_OUT" || fail "VM 裡的腳本沒有跑完(結束碼 $rc;124 = 逾時)"
	[ "$rc" = 0 ] || fail "VM 結束碼 $rc"
}

vm_check() {
	ensure_vm1
	vm_result "$1"
}

# ---- 兩台 VM ---------------------------------------------------------------------

guest_two_a() {
	guest_lib
	cat <<'EOF'
echo "== VM A:伺服器 $IP"
: >/tmp/s.log
rdma_communication server --bind $IP >/tmp/s.log 2>&1 &
sp=$!
# 等 B 的三個客戶端都完成(最多 150 秒)
i=0
while [ $i -lt 1500 ]; do
	n=$(grep -c '完成(' /tmp/s.log 2>/dev/null)
	[ "${n:-0}" -ge 3 ] && break
	sleep 0.1
	i=$((i + 1))
done
kill -TERM $sp
wait $sp
rc=$?
show server /tmp/s.log
if [ $rc = 0 ] && grep -q 'SUMMARY role=server clients=[0-9]* ok=3 ' /tmp/s.log && grep -q '伺服器端驗證:內容正確' /tmp/s.log; then
	R two_vm_server pass
else
	R two_vm_server fail "伺服器結束碼 $rc,完成的客戶端不是 3 個"
fi
R end pass
EOF
}

guest_two_b() {
	guest_lib
	cat <<'EOF'
echo "== VM B:客戶端 $IP -> $KBS_PEER"
# 伺服器可能還沒開始監聽:被拒絕時重試
i=0
while :; do
	timeout 30 rdma_communication client $KBS_PEER >/tmp/d.log 2>&1
	rc=$?
	[ $rc = 0 ] && break
	i=$((i + 1))
	[ $i -ge 40 ] && break
	sleep 0.5
done
show demo /tmp/d.log
if [ $rc = 0 ] && grep -q 'verify=ok server_verify=ok' /tmp/d.log; then R two_vm_default pass; else R two_vm_default fail "結束碼 $rc(重試 $i 次)"; fi
timeout 60 rdma_communication client $KBS_PEER --test lat --op send --iters 300 >/tmp/l.log 2>&1
rc=$?
show lat /tmp/l.log
if [ $rc = 0 ] && grep -q 'SUMMARY .*status=ok' /tmp/l.log; then R two_vm_lat pass; else R two_vm_lat fail "結束碼 $rc"; fi
timeout 60 rdma_communication client $KBS_PEER --test bw --op write --iters 300 >/tmp/b.log 2>&1
rc=$?
show bw /tmp/b.log
if [ $rc = 0 ] && grep -q 'SUMMARY .*status=ok' /tmp/b.log; then R two_vm_bw pass; else R two_vm_bw fail "結束碼 $rc"; fi
R end pass
EOF
}

ensure_vm2() {
	need_vm
	if [ ! -f "$VM2_RC" ]; then
		guest_two_a >"$T_TMP/a.sh"
		guest_two_b >"$T_TMP/b.sh"
		local rc
		"$VM" run2 -t 200 -f "$PROG" "$T_TMP/a.sh" "$T_TMP/b.sh" 2>&1 | tee "$VM2_OUT"
		rc=${PIPESTATUS[0]}
		echo "$rc" >"$VM2_RC"
	fi
}

t_two_vm() {
	ensure_vm2
	local rc
	rc=$(cat "$VM2_RC")
	local a b
	a=$(grep -ac '^\[A\] KBS_RESULT end pass' "$VM2_OUT")
	b=$(grep -ac '^\[B\] KBS_RESULT end pass' "$VM2_OUT")
	[ "$a" = 1 ] && [ "$b" = 1 ] || fail "兩台 VM 沒有都跑完(結束碼 $rc)"
	local n
	for n in two_vm_server two_vm_default two_vm_lat two_vm_bw; do
		grep -aq "KBS_RESULT $n pass" "$VM2_OUT" ||
			fail "$n:$(grep -a "KBS_RESULT $n " "$VM2_OUT" | sed 's/.*KBS_RESULT [^ ]* //')"
	done
}

check no_device_server t_no_device_server
check no_device_client t_no_device_client
check bad_args t_bad_args
check help t_help
check source_documents_protocol t_source_documents_protocol
check vm_harness_usage t_vm_harness_usage
check vm_boot t_vm_boot
for n in interop_rping interop_ib_write_lat default_run default_run_asan asan_modes \
	lat_send lat_write lat_read bw_send bw_write bw_read \
	event_lat_send event_lat_write event_bw_write event_bw_send lat_send_large \
	server_survives_kill client_sigint server_busy_reject client_server_killed unreach_port unreach_host device_gid memlock_hint \
	server_sigterm; do
	check "$n" vm_check "$n"
done
check two_vm t_two_vm
