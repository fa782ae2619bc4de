#!/bin/bash
# tests/dpdk.sh — dpdk_packet_processing 的檢查
#
# 基本模式(不需要 root):--help、錯誤選項(在 EAL 之前就被擋下)、非 root 的提示。
# 完整模式(root):net_pcap 輸入/輸出(rxonly、macswap、respond,精確計數與輸出訊框,
# 38 種格式錯誤封包,ASan 版本)、net_null 成對 fwd、net_memif 對 dpdk-testpmd、
# net_af_packet 在 veth 上回應 ping、多 lcore RSS、SIGINT/SIGTERM 生命週期、hugepage。
# 每項檢查都移除自己建立的 /var/run/dpdk/<prefix>、命名空間、hugepage 設定與行程。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/dpdk_testpmd.sh
. "$(dirname "$0")/dpdk_testpmd.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/dpdk_packet_processing
PCAPTOOL=$T_ROOT/tests/tools/dpdk_pcap

# ---- 共用函式 ----------------------------------------------------------------------

# dpdk_prefix 名稱:產生唯一的 --file-prefix 並登記移除 /var/run/dpdk/<prefix>
dpdk_prefix() {
	PREFIX="kbs-$1-$$-$RANDOM"
	on_exit "rm -rf '/var/run/dpdk/$PREFIX'"
}

# no_leftover:程式結束後不應留下 /var/run/dpdk/<prefix>
no_leftover() {
	[ ! -e "/var/run/dpdk/$PREFIX" ] || fail "留下了 /var/run/dpdk/$PREFIX:$(ls "/var/run/dpdk/$PREFIX" | tr '\n' ' ')"
}

# sumval 記錄檔 鍵:從 SUMMARY 行取值
sumval() {
	grep '^SUMMARY ' "$1" | tail -n1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# expval 鍵:產生器寫下的預期值
expval() {
	sed -n "s/^$1=//p" "$T_TMP/expect.txt"
}

# run_pcap 模式 輸入 輸出 記錄檔 [程式選項…]:經 net_pcap 處理一個 pcap 檔
run_pcap() {
	local mode=$1 in=$2 out=$3 log=$4 bin=${BIN:-$PROG}
	shift 4
	dpdk_prefix "pcap-$mode"
	timeout 60 "$bin" -l 0 --no-pci --no-huge -m 512 --file-prefix="$PREFIX" \
		--vdev="net_pcap0,rx_pcap=$in,tx_pcap=$out" -- --mode "$mode" \
		--packets "$(expval frames)" --duration 20 --stats-interval 0 "$@" >"$log" 2>&1
}

# 產生測試 pcap;第二個參數是連接埠 MAC(respond 的預期回覆需要)
gen_pcap() {
	"$PCAPTOOL" gen "$T_TMP" "${1:-02:00:00:00:00:01}" 10.0.0.1 >"$T_TMP/gen.out" ||
		fail "dpdk_pcap gen 失敗:$(cat "$T_TMP/gen.out")"
	cat "$T_TMP/gen.out"
}

# check_counters 記錄檔:協定計數必須與產生器的預期完全一致
check_counters() {
	local k
	expect_eq "$(sumval "$1" p0_rx)" "$(expval frames)" "收到的封包數"
	for k in arp ipv4 ipv6 tcp udp icmp icmpv6 vlan qinq other malformed; do
		expect_eq "$(sumval "$1" "p0_$k")" "$(expval "$k")" "協定計數 $k"
	done
}

port_mac() {
	sed -n 's/^連接埠 0:.*MAC \([0-9A-Fa-f:]*\).*/\1/p' "$1" | head -n1
}

# ---- 基本模式 ----------------------------------------------------------------------

t_help() {
	need_bin "$PROG"
	expect_exit 0 as_user "$PROG" --help
	expect_file_match "$T_TMP/out" '用法' "--help 內容"
	expect_file_match "$T_TMP/out" '--mode' "--help 列出 --mode"
	expect_file_match "$T_TMP/out" 'no-huge' "--help 提到沒有 hugepage 的用法"
}

t_bad_options() {
	need_bin "$PROG"
	local args
	while IFS= read -r args; do
		# shellcheck disable=SC2086 # 刻意拆開參數
		expect_exit 64 as_user "$PROG" -l 0 -- $args
		expect_eq "$(wc -l <"$T_TMP/out")" 1 "「$args」的錯誤訊息應為一行"
		expect_file_match "$T_TMP/out" '^錯誤:' "「$args」的錯誤訊息"
	done <<'EOF'
--mode bogus
--burst 0
--burst 513
-p zz
-p 0
--rxq 0
--rxq 17
--stats-interval abc
--duration -1
--ip 0=300.1.1.1
--ip 99=10.0.0.1
--ip 0=10.0.0.1
--mode respond
--mode rxonly extra
--bogus
--burst
EOF
}

t_not_root_hint() {
	need_bin "$PROG"
	is_root || skip "本身不是 root,這項檢查需要以 root 降權成 nobody"
	as_user "$PROG" -l 0-3 -n 4 >"$T_TMP/out" 2>&1
	local rc=$?
	cat "$T_TMP/out"
	expect_eq "$rc" 1 "非 root 的結束碼"
	expect_file_match "$T_TMP/out" '需要 root' "非 root 的提示"
}

# ---- 完整模式 ----------------------------------------------------------------------

need_dpdk() {
	need_full
	need_root
	need_bin "$PROG" "$PCAPTOOL"
}

# 種子用法 -l 0-3 -n 4:在只有 2 個 CPU、沒有網卡的機器上給出清楚的錯誤與提示
t_seed_usage() {
	need_dpdk
	[ "$(nproc)" -lt 4 ] || skip "本機有 $(nproc) 個 CPU,-l 0-3 可以用,無法重現 lcore 不足"
	on_exit "rm -rf /var/run/dpdk/rte"
	local existed=0
	[ -e /var/run/dpdk/rte ] && existed=1
	expect_fail "$PROG" -l 0-3 -n 4
	expect_file_match "$T_TMP/out" 'lcore 2,3' "lcore 不存在的說明"
	expect_file_match "$T_TMP/out" '-l 0-1' "lcore 的建議"
	if [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)" = 0 ]; then
		expect_file_match "$T_TMP/out" 'make setup-hugepages' "hugepage 的提示"
		expect_file_match "$T_TMP/out" '--no-huge' "--no-huge 的提示"
	fi
	expect_file_match "$T_TMP/out" 'dpdk-devbind.py|--vdev' "連接埠的提示"
	[ "$existed" = 1 ] || [ ! -e /var/run/dpdk/rte ] || fail "留下了 /var/run/dpdk/rte"
}

t_pcap_rxonly() {
	need_dpdk
	gen_pcap
	expect_ge "$(expval malformed_kinds)" 30 "格式錯誤的種類"
	run_pcap rxonly "$T_TMP/in.pcap" "$T_TMP/out.pcap" "$T_TMP/log" || fail "結束碼 $?:$(tail -n 3 "$T_TMP/log")"
	cat "$T_TMP/log"
	check_counters "$T_TMP/log"
	expect_eq "$(sumval "$T_TMP/log" p0_tx)" 0 "rxonly 不應送出"
	expect_eq "$("$PCAPTOOL" count "$T_TMP/out.pcap")" 0 "rxonly 的輸出 pcap"
	no_leftover
}

t_pcap_macswap() {
	need_dpdk
	gen_pcap
	run_pcap macswap "$T_TMP/in.pcap" "$T_TMP/out.pcap" "$T_TMP/log" || fail "結束碼 $?:$(tail -n 3 "$T_TMP/log")"
	cat "$T_TMP/log"
	check_counters "$T_TMP/log"
	expect_eq "$(sumval "$T_TMP/log" p0_tx)" "$(expval macswap_tx)" "送回的封包數"
	expect_eq "$(sumval "$T_TMP/log" p0_dropped)" "$(expval runts)" "太短而丟棄的封包數"
	"$PCAPTOOL" cmp "$T_TMP/expect-macswap.pcap" "$T_TMP/out.pcap" >"$T_TMP/cmp" ||
		fail "輸出訊框與預期不同:$(cat "$T_TMP/cmp")"
	cat "$T_TMP/cmp"
	no_leftover
	# --no-parse 走另一條(效能用的)路徑:輸出必須完全一樣,且不計協定
	run_pcap macswap "$T_TMP/in.pcap" "$T_TMP/out2.pcap" "$T_TMP/log2" --no-parse ||
		fail "--no-parse 結束碼 $?:$(tail -n 3 "$T_TMP/log2")"
	cat "$T_TMP/log2"
	expect_eq "$(sumval "$T_TMP/log2" p0_tx)" "$(expval macswap_tx)" "--no-parse 送回的封包數"
	expect_eq "$(sumval "$T_TMP/log2" p0_dropped)" "$(expval runts)" "--no-parse 丟棄的封包數"
	expect_eq "$(sumval "$T_TMP/log2" p0_malformed)" 0 "--no-parse 不應計協定"
	"$PCAPTOOL" cmp "$T_TMP/expect-macswap.pcap" "$T_TMP/out2.pcap" >"$T_TMP/cmp" ||
		fail "--no-parse 輸出訊框與預期不同:$(cat "$T_TMP/cmp")"
	no_leftover
}

t_pcap_respond() {
	need_dpdk
	local mac
	gen_pcap
	# 先跑一次取得 net_pcap 連接埠的 MAC,再以它產生預期的回覆
	run_pcap rxonly "$T_TMP/in.pcap" "$T_TMP/o0.pcap" "$T_TMP/log0" || fail "取得 MAC 失敗"
	mac=$(port_mac "$T_TMP/log0")
	[ -n "$mac" ] || fail "輸出沒有連接埠 MAC"
	gen_pcap "$mac"
	run_pcap respond "$T_TMP/in.pcap" "$T_TMP/out.pcap" "$T_TMP/log" --ip 0=10.0.0.1 ||
		fail "結束碼 $?:$(tail -n 3 "$T_TMP/log")"
	cat "$T_TMP/log"
	check_counters "$T_TMP/log"
	expect_eq "$(sumval "$T_TMP/log" p0_tx)" "$(expval respond_tx)" "回覆的封包數"
	"$PCAPTOOL" cmp "$T_TMP/expect-respond.pcap" "$T_TMP/out.pcap" >"$T_TMP/cmp" ||
		fail "回覆與預期不同:$(cat "$T_TMP/cmp")"
	"$PCAPTOOL" verify "$T_TMP/out.pcap" >>"$T_TMP/cmp" ||
		fail "回覆不正確:$(tail -n1 "$T_TMP/cmp")"
	cat "$T_TMP/cmp"
	no_leftover
}

# ASan + UBSan 版本處理同一個 pcap(含 38 種格式錯誤):不得當掉、不得有 sanitizer 報告。
# 注意:mbuf 的資料區在 DPDK 自己的記憶體裡,ASan 看不到 mbuf 內的越界讀取;
# 那部分由解析器本身的邊界檢查與精確計數(上面三項)保證。
t_pcap_asan() {
	need_dpdk
	build_asan || fail "make SANITIZE=1 失敗:$(tail -n 5 "$T_LOGDIR/build-asan.log" | tr '\n' ' ')"
	[ -x "$T_ASAN_DIR/dpdk_packet_processing" ] || skip "ASan 版本沒有建置出來"
	gen_pcap
	local mode rc
	for mode in rxonly macswap respond; do
		local extra=()
		[ "$mode" = respond ] && extra=(--ip "0=10.0.0.1")
		BIN=$T_ASAN_DIR/dpdk_packet_processing run_pcap "$mode" "$T_TMP/in.pcap" \
			"$T_TMP/out-$mode.pcap" "$T_TMP/log-$mode" "${extra[@]}"
		rc=$?
		cat "$T_TMP/log-$mode"
		[ "$rc" = 0 ] || fail "ASan 版本 $mode 結束碼 $rc:$(grep -m1 -E 'ERROR|runtime error' "$T_TMP/log-$mode")"
		! grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$T_TMP/log-$mode" ||
			fail "ASan 版本 $mode 有 sanitizer 報告"
		check_counters "$T_TMP/log-$mode"
	done
}

# fwd:net_null 成對,port 0 收到的 = port 1 送出的 + port 1 丟棄的(反之亦然)
t_fwd_null_pair() {
	need_dpdk
	local r0 r1 t0 t1 d0 d1 variant
	# 一次含協定解析(兩個 lcore),一次 --no-parse(效能用的快速路徑,只有主 lcore)
	for variant in parse no-parse; do
		local args=(-l 0-1) extra=()
		[ "$variant" = no-parse ] && args=(-l 0) && extra=(--no-parse)
		dpdk_prefix "fwd-$variant"
		timeout 60 "$PROG" "${args[@]}" --no-pci --no-huge -m 1024 --file-prefix="$PREFIX" \
			--vdev=net_null0 --vdev=net_null1 -- --mode fwd --duration 2 "${extra[@]}" \
			>"$T_TMP/log" 2>&1 || fail "$variant 結束碼 $?:$(tail -n 3 "$T_TMP/log")"
		cat "$T_TMP/log"
		r0=$(sumval "$T_TMP/log" p0_rx)
		r1=$(sumval "$T_TMP/log" p1_rx)
		t0=$(sumval "$T_TMP/log" p0_tx)
		t1=$(sumval "$T_TMP/log" p1_tx)
		d0=$(sumval "$T_TMP/log" p0_dropped)
		d1=$(sumval "$T_TMP/log" p1_dropped)
		expect_ge "$r0" 100000 "$variant:port 0 收到的封包"
		expect_ge "$r1" 100000 "$variant:port 1 收到的封包"
		expect_eq "$r0" "$((t1 + d1))" "$variant:port 0 收 = port 1 送 + 丟棄"
		expect_eq "$r1" "$((t0 + d0))" "$variant:port 1 收 = port 0 送 + 丟棄"
		expect_match "$(cat "$T_TMP/log")" '\[1\.[0-9] 秒\]' "$variant:每秒統計"
		no_leftover
	done
	# 奇數個連接埠不能 fwd
	dpdk_prefix fwd1
	expect_exit 64 timeout 60 "$PROG" -l 0 --no-pci --no-huge -m 512 --file-prefix="$PREFIX" \
		--vdev=net_null0 -- --mode fwd
	expect_file_match "$T_TMP/out" '偶數個連接埠' "奇數連接埠的錯誤訊息"
}

# 真正的對端:dpdk-testpmd(txonly,接著 flowgen,最後 rxonly 收完回程)在 net_memif 的一端,
# 我們在另一端 macswap。
# 注意:22.11 的 txonly 引擎不輪詢 RX,所以讓 testpmd 之後切到 rxonly 收完我們送回的封包,
# 再讀取累計的連接埠統計(memif 斷線時統計會歸零,所以在斷線前讀)。
t_memif_testpmd() {
	need_dpdk
	need_cmd dpdk-testpmd
	local sock=$T_TMP/memif.sock tp_prefix pid
	dpdk_prefix memif-tp
	tp_prefix=$PREFIX
	dpdk_prefix memif
	start_bg "$T_TMP/ours.log" "$PROG" -l 1 --no-pci --no-huge -m 1024 \
		--file-prefix="$PREFIX" --vdev="net_memif0,role=server,socket=$sock" -- \
		--mode macswap --stats-interval 0 --duration 60
	pid=$BG_PID
	wait_log 20 "$T_TMP/ours.log" '輪詢' || fail "我們的程式沒有啟動:$(tail -n 3 "$T_TMP/ours.log")"
	testpmd_memif_peer "$T_TMP/tp.log" "$sock" "$tp_prefix" "$pid" txonly:2 flowgen:1 rxonly:1
	stop_bg "$pid" INT 10
	local rc=$?
	cat "$T_TMP/ours.log" "$T_TMP/tp.log"
	expect_eq "$rc" 0 "我們的程式結束碼"
	local tp_rx tp_tx our_rx our_tx our_drop
	tp_rx=$(testpmd_port_stat "$T_TMP/tp.log" RX-packets)
	tp_tx=$(testpmd_port_stat "$T_TMP/tp.log" TX-packets)
	our_rx=$(sumval "$T_TMP/ours.log" p0_rx)
	our_tx=$(sumval "$T_TMP/ours.log" p0_tx)
	our_drop=$(sumval "$T_TMP/ours.log" p0_dropped)
	expect_ge "$our_tx" 5000 "我們送回的封包"
	expect_eq "$tp_rx" "$our_tx" "testpmd 收到的 = 我們送回的"
	expect_eq "$our_rx" "$tp_tx" "我們收到的 = testpmd 送出的"
	expect_eq "$our_rx" "$((our_tx + our_drop))" "我們收 = 送 + 丟棄"
	no_leftover
}

# respond 在 net_af_packet(veth,於命名空間內):對端 ping 100 次,0% 遺失
t_af_packet_ping() {
	need_dpdk
	need_cmd ip ping
	netns_pair dpdk peer vdpdk vpeer 10.77.0.1/24 10.77.0.2/24
	# DPDK 回應的位址與核心的不同,確定回覆來自我們的程式
	dpdk_prefix afp
	start_bg "$T_TMP/ours.log" ip netns exec "$NS_A" "$PROG" -l 0-1 --no-pci \
		--no-huge -m 1024 --file-prefix="$PREFIX" --vdev=net_af_packet0,iface=vdpdk -- \
		--mode respond --ip 0=10.77.0.10 --stats-interval 0 --duration 60
	wait_log 20 "$T_TMP/ours.log" '輪詢' || fail "程式沒有啟動:$(tail -n 3 "$T_TMP/ours.log")"
	ip netns exec "$NS_B" ping -c 100 -i 0.01 -W 1 10.77.0.10 >"$T_TMP/ping" 2>&1
	cat "$T_TMP/ping"
	stop_bg "$BG_PID" TERM 10 || fail "程式結束碼 $?"
	cat "$T_TMP/ours.log"
	expect_file_match "$T_TMP/ping" ' 0% packet loss' "ping 100 次應該 0% 遺失"
	expect_file_match "$T_TMP/ping" '^100 packets transmitted, 100 received' "ping 收到 100 個回覆"
	expect_ge "$(sumval "$T_TMP/ours.log" p0_icmp)" 100 "ICMP 計數"
	expect_ge "$(sumval "$T_TMP/ours.log" p0_tx)" 101 "送出的回覆(100 ICMP + ARP)"
	no_leftover
}

# 多 lcore RSS:-l 0-1 --rxq 2。net_null 支援 RSS 設定;net_af_packet 以 PACKET_FANOUT 雜湊分流
t_rss_multi_lcore() {
	need_dpdk
	dpdk_prefix rss
	timeout 60 "$PROG" -l 0-1 --no-pci --no-huge -m 1024 --file-prefix="$PREFIX" \
		--vdev=net_null0 -- --mode macswap --rxq 2 --duration 2 >"$T_TMP/log" 2>&1 ||
		fail "結束碼 $?:$(tail -n 3 "$T_TMP/log")"
	cat "$T_TMP/log"
	expect_file_match "$T_TMP/log" 'RSS .*已啟用' "net_null 應啟用 RSS"
	expect_eq "$(sumval "$T_TMP/log" lcores)" 2 "轉送 lcore 數"
	expect_ge "$(sumval "$T_TMP/log" p0_q0_rx)" 1000 "佇列 0 的封包"
	expect_ge "$(sumval "$T_TMP/log" p0_q1_rx)" 1000 "佇列 1 的封包"
	no_leftover

	# 真正依流量雜湊分流:net_af_packet qpairs=2,對端送 32 個不同埠的 UDP 流
	need_cmd ip
	netns_pair rss rpeer vrss vrpeer 10.78.0.1/24 10.78.0.2/24
	ip -n "$NS_B" neigh replace 10.78.0.10 lladdr 02:00:00:00:00:10 dev vrpeer
	dpdk_prefix rss-afp
	start_bg "$T_TMP/afp.log" ip netns exec "$NS_A" "$PROG" -l 0-1 --no-pci \
		--no-huge -m 1024 --file-prefix="$PREFIX" --vdev=net_af_packet0,iface=vrss,qpairs=2 \
		-- --mode rxonly --rxq 2 --stats-interval 0 --duration 60
	wait_log 20 "$T_TMP/afp.log" '輪詢' || fail "程式沒有啟動:$(tail -n 3 "$T_TMP/afp.log")"
	local p
	for p in $(seq 5001 5032); do
		ip netns exec "$NS_B" bash -c "echo x >/dev/udp/10.78.0.10/$p" 2>/dev/null
	done
	sleep 0.5
	stop_bg "$BG_PID" INT 10 || fail "程式結束碼 $?"
	cat "$T_TMP/afp.log"
	expect_ge "$(sumval "$T_TMP/afp.log" p0_udp)" 32 "收到的 UDP"
	expect_ge "$(sumval "$T_TMP/afp.log" p0_q0_rx)" 1 "af_packet 佇列 0 的封包"
	expect_ge "$(sumval "$T_TMP/afp.log" p0_q1_rx)" 1 "af_packet 佇列 1 的封包"
	no_leftover
}

# 生命週期:SIGINT 與 SIGTERM 都印總結、結束碼 0、不留 /var/run/dpdk 狀態
lifecycle() {
	local sig=$1
	need_dpdk
	dpdk_prefix "life-$sig"
	start_bg "$T_TMP/log" "$PROG" -l 0-1 --no-pci --no-huge -m 1024 \
		--file-prefix="$PREFIX" --vdev=net_null0 --vdev=net_null1 -- --mode fwd --duration 60
	wait_log 20 "$T_TMP/log" '\[1\.[0-9] 秒\]' || fail "沒有出現每秒統計:$(tail -n 3 "$T_TMP/log")"
	[ -e "/var/run/dpdk/$PREFIX" ] || fail "執行中應該有 /var/run/dpdk/$PREFIX"
	stop_bg "$BG_PID" "$sig" 10
	local rc=$?
	cat "$T_TMP/log"
	expect_eq "$rc" 0 "$sig 後的結束碼"
	expect_file_match "$T_TMP/log" '==== 總結' "總結"
	expect_file_match "$T_TMP/log" '^SUMMARY mode=fwd' "SUMMARY 行"
	expect_file_match "$T_TMP/log" '已停止並關閉 2 個連接埠' "關閉連接埠"
	no_leftover
}
t_lifecycle_sigint() { lifecycle INT; }
t_lifecycle_sigterm() { lifecycle TERM; }

# root 下的錯誤:不存在的 vdev、遮罩選到不存在的連接埠、佇列超過裝置上限、沒有連接埠
t_bad_setup() {
	need_dpdk
	dpdk_prefix bad1
	expect_fail timeout 60 "$PROG" -l 0 --no-pci --no-huge -m 512 --file-prefix="$PREFIX" \
		--vdev=net_bogus0 -- --mode rxonly
	expect_file_match "$T_TMP/out" '錯誤:EAL 初始化失敗' "不存在的 vdev"
	dpdk_prefix bad2
	expect_exit 64 timeout 60 "$PROG" -l 0 --no-pci --no-huge -m 512 --file-prefix="$PREFIX" \
		--vdev=net_null0 -- -p 0x4
	expect_file_match "$T_TMP/out" '不存在的連接埠' "遮罩的錯誤訊息"
	dpdk_prefix bad3
	gen_pcap
	expect_fail timeout 60 "$PROG" -l 0-1 --no-pci --no-huge -m 512 --file-prefix="$PREFIX" \
		--vdev="net_pcap0,rx_pcap=$T_TMP/in.pcap,tx_pcap=$T_TMP/o.pcap" -- --rxq 2
	expect_file_match "$T_TMP/out" '最多 1 個 RX' "佇列數超過上限"
	dpdk_prefix bad4
	expect_fail timeout 60 "$PROG" -l 0 --no-pci --no-huge -m 512 --file-prefix="$PREFIX"
	expect_file_match "$T_TMP/out" '找不到任何連接埠.*dpdk-devbind.py.*--vdev' "沒有連接埠的提示"
	no_leftover
}

# 有 hugepage 時也能執行:暫時保留 hugepage(結束時恢復原本的 nr_hugepages)
t_hugepages() {
	need_dpdk
	local sys=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages orig
	[ -w "$sys" ] || skip "此核心沒有 2 MiB hugepage"
	orig=$(cat "$sys")
	on_exit "echo $orig > $sys"
	if [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)" -lt 128 ]; then
		echo $((orig + 256)) >"$sys"
	fi
	if ! grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts; then
		mkdir -p /dev/hugepages
		mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages || skip "無法掛載 hugetlbfs"
		on_exit "umount /dev/hugepages"
	fi
	[ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)" -ge 128 ] ||
		skip "無法保留足夠的 hugepage(記憶體不足)"
	dpdk_prefix huge
	on_exit "rm -f /dev/hugepages/${PREFIX}map_*"
	timeout 60 "$PROG" -l 0-1 --no-pci -m 256 --huge-unlink --file-prefix="$PREFIX" \
		--vdev=net_null0 --vdev=net_null1 -- --mode macswap --duration 1 >"$T_TMP/log" 2>&1 ||
		fail "結束碼 $?:$(tail -n 3 "$T_TMP/log")"
	cat "$T_TMP/log"
	expect_ge "$(sumval "$T_TMP/log" rx)" 100000 "有 hugepage 時收到的封包"
	no_leftover
	! ls /dev/hugepages/"${PREFIX}"map_* >/dev/null 2>&1 || fail "留下了 hugepage 檔案"
}

check help t_help
check bad_options t_bad_options
check not_root_hint t_not_root_hint
check seed_usage t_seed_usage
check pcap_rxonly t_pcap_rxonly
check pcap_macswap t_pcap_macswap
check pcap_respond t_pcap_respond
check pcap_asan t_pcap_asan
check fwd_null_pair t_fwd_null_pair
check memif_testpmd t_memif_testpmd
check af_packet_ping t_af_packet_ping
check rss_multi_lcore t_rss_multi_lcore
check lifecycle_sigint t_lifecycle_sigint
check lifecycle_sigterm t_lifecycle_sigterm
check bad_setup t_bad_setup
check hugepages t_hugepages
