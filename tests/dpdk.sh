#!/bin/bash
# tests/dpdk.sh — dpdk_packet_processing 的檢查
#
# 基本模式(不需要 root):--help、錯誤選項(在 EAL 之前就被擋下)、非 root 的提示。
# 完整模式(root):net_pcap 輸入/輸出(rxonly、macswap、respond 的精確計數與輸出訊框,
# 片段與跨 segment 的巨型訊框,49 種格式錯誤封包,ASan 版本)、重構前錄下的 golden 輸出、
# net_null 成對 fwd、net_memif 對 dpdk-testpmd(正常、洪水且不收、被 SIGKILL)、
# net_af_packet 在 veth 上回應 ping(含格式錯誤封包的洪水、介面被刪除)、net_af_xdp(ping、精確計數、
# 描述子與 fill ring、介面消失、mbuf 鏈不交給送不了的 TX、結束與 SIGKILL 後留下的東西、改用 net_af_packet)、
# 主機政策(icmp_echo_ignore_all、NOARP)、混雜模式不碰管理者的旗標也不留下、效能比較產生器送的訊框、net_tap 的硬體 ptype、
# 多 lcore RSS、閒置 lcore、telemetry(含結束途中不停查詢)、secondary 行程、hugepage 與執行期目錄的
# 清理、生命週期(含 SIGPIPE、SIGHUP)、危險的 --file-prefix。
# 每項檢查都移除自己建立的 /var/run/dpdk/<prefix>、命名空間、hugepage 設定與行程。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/dpdk_testpmd.sh
. "$(dirname "$0")/dpdk_testpmd.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/dpdk_packet_processing
PCAPTOOL=$T_ROOT/tests/tools/dpdk_pcap
SOCKBENCH=$T_ROOT/bench/dpdk_sockbench
PARSECOST=$T_ROOT/bench/dpdk_parse_cost
GOLDEN=$T_ROOT/tests/data/dpdk
NOHUGE=(--no-pci --no-huge -m 512)

# ---- 共用函式 ----------------------------------------------------------------------

# dpdk_prefix 名稱:產生唯一的 --file-prefix 並登記移除 /var/run/dpdk/<prefix> 與 hugepage 檔案
dpdk_prefix() {
	PREFIX="kbs-$1-$$-$RANDOM"
	on_exit "rm -rf '/var/run/dpdk/$PREFIX' /dev/hugepages/'$PREFIX'map_*"
}

# no_leftover:程式結束後不應留下 /var/run/dpdk/$PREFIX 與 hugepage 檔案
no_leftover() {
	[ ! -e "/var/run/dpdk/$PREFIX" ] ||
		fail "留下了 /var/run/dpdk/$PREFIX:$(find "/var/run/dpdk/$PREFIX" -mindepth 1 -printf '%f ')"
	no_huge_files "$PREFIX"
}
no_huge_files() {
	! compgen -G "/dev/hugepages/$1map_*" >/dev/null || fail "留下了 hugepage 檔案 /dev/hugepages/$1map_*"
}

sumval() { dpdk_sumval "$@"; }

# gone PID:行程已經結束(給 wait_for 用)
gone() { ! kill -0 "$1" 2>/dev/null; }
# count_ge 檔案 正規表示式 N:檔案裡至少有 N 行符合(給 wait_for 用)
count_ge() { [ "$(grep -cE -- "$2" "$1")" -ge "$3" ]; }

# expval 鍵:產生器寫下的預期值
expval() {
	sed -n "s/^$1=//p" "$T_TMP/expect.txt"
}

# pcap_vdevs 模式 輸入 輸出前綴:net_pcap 參數(fwd 要兩個連接埠,輸出 前綴0.pcap、前綴1.pcap)
pcap_vdevs() {
	VDEVS=(--vdev="net_pcap0,rx_pcap=$2,tx_pcap=${3}0.pcap")
	[ "$1" != fwd ] || VDEVS+=(--vdev="net_pcap1,rx_pcap=$2,tx_pcap=${3}1.pcap")
}

# run_pcap 模式 輸入 輸出 記錄檔 [程式選項…]:經 net_pcap 處理一個 pcap 檔,直到讀完
run_pcap() {
	local mode=$1 in=$2 out=$3 log=$4 bin=${BIN:-$PROG} n
	shift 4
	n=$("$PCAPTOOL" count "$in")
	pcap_vdevs "$mode" "$in" "${out%.pcap}"
	[ "$mode" != fwd ] || n=$((n * 2))
	dpdk_prefix "pcap-$mode"
	timeout 60 "$bin" -l 0 "${NOHUGE[@]}" --file-prefix="$PREFIX" "${VDEVS[@]}" -- --mode "$mode" \
		--packets "$n" --duration 20 --stats-interval 0 "$@" >"$log" 2>&1
	local rc=$?
	[ "$mode" = fwd ] || mv "${out%.pcap}0.pcap" "$out"
	return $rc
}

# 產生測試 pcap;參數是連接埠 MAC(respond 的預期回覆需要;net_pcap 的 MAC 固定)
gen_pcap() {
	"$PCAPTOOL" gen "$T_TMP" "${1:-02:70:63:61:70:00}" 10.0.0.1 >"$T_TMP/gen.out" ||
		fail "dpdk_pcap gen 失敗:$(cat "$T_TMP/gen.out")"
	cat "$T_TMP/gen.out"
}

# check_counters 記錄檔 [hw|sw]:協定計數必須與產生器的預期完全一致。
# hw = 預設的 --l4-cksum hw(net_pcap 沒有判定:L4 checksum 錯的算正常封包、計入未驗證),
# sw = --l4-cksum sw 與 respond(軟體驗證:L4 checksum 錯的算 malformed)
check_counters() {
	local k l4=${2:-hw} pfx=
	[ "$l4" = sw ] || pfx=hw_
	expect_eq "$(sumval "$1" p0_rx)" "$(expval frames)" "收到的封包數"
	for k in arp ipv4 ipv6 tcp udp icmp icmpv6 vlan qinq other malformed; do
		expect_eq "$(sumval "$1" "p0_$k")" "$(expval "$pfx$k")" "協定計數 $k(--l4-cksum $l4)"
	done
	expect_eq "$(sumval "$1" p0_l4_unverified)" "$(expval "unverified_$l4")" "L4 checksum 未驗證(--l4-cksum $l4)"
	expect_eq "$(sumval "$1" p0_multiseg)" "$(expval jumbo)" "跨 mbuf segment 的巨型訊框"
	expect_eq "$(sumval "$1" mbuf_in_use)" 0 "結束時仍未歸還的 mbuf"
}

# expect_balanced 記錄檔 收的連接埠 送的連接埠 說明:收到的 = 送出的 + 丟棄的(沒有封包不見)
expect_balanced() {
	local rx tx d
	rx=$(sumval "$1" "p$2_rx")
	tx=$(sumval "$1" "p$3_tx")
	d=$(sumval "$1" "p$3_dropped")
	expect_eq "$rx" "$((tx + d))" "$4:port $2 收 = port $3 送 + 丟棄"
}

port_mac() {
	sed -n 's/^連接埠 0:.*MAC \([0-9A-Fa-f:]*\).*/\1/p' "$1" | head -n1
}

# cmp_pcap 預期 實際 說明
cmp_pcap() {
	"$PCAPTOOL" cmp "$1" "$2" >"$T_TMP/cmp" || fail "$3:$(cat "$T_TMP/cmp")"
	cat "$T_TMP/cmp"
}

# start_ours 記錄檔 參數…:背景啟動我們的程式,等它開始輪詢
start_ours() {
	local log=$1
	shift
	start_bg "$log" "$@"
	wait_log 20 "$log" '輪詢 [0-9]+ 個佇列' || fail "程式沒有啟動:$(tail -n 3 "$log")"
}

# start_afp_respond 記錄檔 介面 位址 lcore:在 $NS_A 以 net_af_packet 綁定介面,respond 模式回答該位址
start_afp_respond() {
	dpdk_prefix "afp-$2"
	start_ours "$1" ip netns exec "$NS_A" "$PROG" -l "$4" --no-pci --no-huge -m 1024 \
		--file-prefix="$PREFIX" --vdev="net_af_packet0,iface=$2" -- --mode respond --ip "0=$3" \
		--stats-interval 1 --duration 60
}

# ---- 基本模式 ----------------------------------------------------------------------

t_help() {
	need_bin "$PROG"
	expect_exit 0 as_user "$PROG" --help
	expect_file_match "$T_TMP/out" '用法' "--help 內容"
	expect_file_match "$T_TMP/out" '--mode' "--help 列出 --mode"
	expect_file_match "$T_TMP/out" '--rxd' "--help 列出 --rxd"
	expect_file_match "$T_TMP/out" '--l4-cksum' "--help 列出 --l4-cksum"
	expect_file_match "$T_TMP/out" 'no-huge' "--help 提到沒有 hugepage 的用法"
	expect_file_match "$T_TMP/out" '資源上限' "--help 說明資源上限"
	expect_file_match "$T_TMP/out" 'dpdk-telemetry.py' "--help 說明 telemetry"
}

# --help 的說明欄以顯示寬度對齊(中日韓字 2 欄、UTF-8 3 位元組):選項列、EAL 參數列與接續列的說明都從同一欄開始
t_help_aligned() {
	need_bin "$PROG"
	need_cmd python3
	as_user "$PROG" --help >"$T_TMP/help" 2>&1 || fail "--help 結束碼 $?"
	python3 - "$T_TMP/help" <<'EOF' || fail "--help 的說明欄沒有對齊(見記錄)"
import re, sys, unicodedata
def width(s):
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)
cols, sect = {}, False
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith(("程式選項", "常用 EAL")):
        sect = True
        continue
    if not line.strip():
        sect = False
    if not sect:
        continue
    m = re.search(r"\S {2,}(\S)", line)
    start = m.start(1) if m else len(line) - len(line.lstrip(" "))
    cols.setdefault(width(line[:start]), []).append(line)
for c, lines in sorted(cols.items()):
    print(c, len(lines), lines[0])
assert sum(len(v) for v in cols.values()) >= 20 and len(cols) == 1, sorted(cols)
EOF
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
--rxd 10
--txd 99999
--rxd abc
--stats-interval abc
--duration -1
--ip 0=300.1.1.1
--ip 99=10.0.0.1
--ip 0=10.0.0.1
--mode respond
--mode rxonly extra
--ptype hw
--l4-cksum bogus
--l4-cksum auto
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

# 語料:正常封包、IPv4/IPv6 第一個片段、跨兩個 mbuf segment 的 2,950 位元組訊框都算正確,
# 49 種格式錯誤(含 L4 checksum 錯誤與巨型訊框的長度矛盾)都算 malformed
t_pcap_rxonly() {
	need_dpdk
	gen_pcap
	expect_ge "$(expval malformed_kinds)" 45 "格式錯誤的種類"
	expect_ge "$(expval jumbo)" 3 "巨型訊框"
	run_pcap rxonly "$T_TMP/in.pcap" "$T_TMP/out.pcap" "$T_TMP/log" || fail "結束碼 $?:$(tail -n 3 "$T_TMP/log")"
	cat "$T_TMP/log"
	check_counters "$T_TMP/log"
	expect_file_match "$T_TMP/log" 'TCP/UDP checksum 網卡沒有 offload:計入未驗證' "net_pcap 沒有 offload:預設不以軟體驗證 L4 checksum"
	expect_eq "$(sumval "$T_TMP/log" l4cksum)" hw "預設的 --l4-cksum"
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
	cmp_pcap "$T_TMP/expect-macswap.pcap" "$T_TMP/out.pcap" "輸出訊框與預期不同"
	no_leftover
	# --no-parse 走另一個引擎:輸出必須完全一樣,且不計協定
	run_pcap macswap "$T_TMP/in.pcap" "$T_TMP/out2.pcap" "$T_TMP/log2" --no-parse ||
		fail "--no-parse 結束碼 $?:$(tail -n 3 "$T_TMP/log2")"
	cat "$T_TMP/log2"
	expect_eq "$(sumval "$T_TMP/log2" engine)" macswap "--no-parse 的引擎"
	expect_eq "$(sumval "$T_TMP/log2" p0_tx)" "$(expval macswap_tx)" "--no-parse 送回的封包數"
	expect_eq "$(sumval "$T_TMP/log2" p0_dropped)" "$(expval runts)" "--no-parse 丟棄的封包數"
	expect_eq "$(sumval "$T_TMP/log2" p0_malformed)" 0 "--no-parse 不應計協定"
	cmp_pcap "$T_TMP/expect-macswap.pcap" "$T_TMP/out2.pcap" "--no-parse 輸出訊框與預期不同"
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
	check_counters "$T_TMP/log" sw
	expect_eq "$(sumval "$T_TMP/log" p0_tx)" "$(expval respond_tx)" "回覆的封包數(含跨 segment 的巨型 ping)"
	cmp_pcap "$T_TMP/expect-respond.pcap" "$T_TMP/out.pcap" "回覆與預期不同"
	"$PCAPTOOL" verify "$T_TMP/out.pcap" >"$T_TMP/cmp" || fail "回覆不正確:$(tail -n1 "$T_TMP/cmp")"
	cat "$T_TMP/cmp"
	no_leftover
}

# 重構前的版本在同樣的輸入上錄下的輸出(tests/data/dpdk/record-golden.sh):每個訊框逐位元組相同
t_golden_outputs() {
	need_dpdk
	local in mode name extra compared=0
	for in in corpus mix64; do
		for mode in fwd-parse fwd-io macswap macswap-noparse respond; do
			name=$in-$mode
			[ -f "$GOLDEN/$name.pcap" ] || continue
			extra=()
			case $mode in
			*-io | *-noparse) extra=(--no-parse) ;;
			respond) extra=(--ip "0=10.0.0.1") ;;
			esac
			run_pcap "${mode%%-*}" "$GOLDEN/$in.pcap" "$T_TMP/$name.pcap" "$T_TMP/$name.log" "${extra[@]}" ||
				fail "$name 結束碼 $?:$(tail -n 3 "$T_TMP/$name.log")"
			# fwd:port 0 收到的由 port 1 送出(輸出 1),反之亦然(輸出 0):兩個都要一樣
			if [ "${mode%%-*}" = fwd ]; then
				cmp_pcap "$GOLDEN/$name.pcap" "$T_TMP/${name}1.pcap" "$name(port 1 的輸出)"
				cmp_pcap "$GOLDEN/$name.pcap" "$T_TMP/${name}0.pcap" "$name(port 0 的輸出)"
			else
				cmp_pcap "$GOLDEN/$name.pcap" "$T_TMP/$name.pcap" "$name"
			fi
			compared=$((compared + 1))
			no_leftover
		done
	done
	# tests/data/dpdk 有 9 個 golden 檔(mix64 沒有 respond):少了就不是在比對
	expect_eq "$compared" 9 "比對過的 golden 檔數"
}

# ASan + UBSan 版本處理同一個 pcap(含 49 種格式錯誤與巨型訊框):不得當掉、不得有 sanitizer 報告。
# 注意:mbuf 的資料區在 DPDK 自己的記憶體裡,ASan 看不到 mbuf 內的越界讀取;
# 那部分由解析器本身的邊界檢查與精確計數(上面幾項)保證。
t_pcap_asan() {
	need_dpdk
	build_asan dpdk_packet_processing || fail "make SANITIZE=1 失敗:$(tail -n 5 "$T_LOGDIR/build-asan.log" | tr '\n' ' ')"
	[ -x "$T_ASAN_DIR/dpdk_packet_processing" ] || skip "ASan 版本沒有建置出來"
	gen_pcap
	local mode rc
	for mode in rxonly macswap respond fwd; do
		local extra=()
		[ "$mode" = respond ] && extra=(--ip "0=10.0.0.1")
		BIN=$T_ASAN_DIR/dpdk_packet_processing run_pcap "$mode" "$T_TMP/in.pcap" \
			"$T_TMP/out-$mode.pcap" "$T_TMP/log-$mode" "${extra[@]}"
		rc=$?
		cat "$T_TMP/log-$mode"
		[ "$rc" = 0 ] || fail "ASan 版本 $mode 結束碼 $rc:$(grep -m1 -E 'ERROR|runtime error' "$T_TMP/log-$mode")"
		! grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$T_TMP/log-$mode" ||
			fail "ASan 版本 $mode 有 sanitizer 報告"
		if [ "$mode" = respond ]; then
			check_counters "$T_TMP/log-$mode" sw
		elif [ "$mode" != fwd ]; then
			check_counters "$T_TMP/log-$mode"
		fi
		no_leftover
	done
}

# --l4-cksum 在 49 種格式錯誤的語料上:L4 checksum 錯的封包只在有驗證時(sw)算 malformed;
# hw(預設,net_pcap 沒有網卡判定)與 off 都不驗證:它們照類別計數、全部計入「未驗證」,不算正確也不算 malformed。
# 三種模式的計數也和 tests/data/dpdk/corpus-rxonly-<模式>.counts(record-golden.sh 刻意錄下)逐項相同。
t_pcap_l4_cksum() {
	need_dpdk
	local l4 got
	gen_pcap
	expect_ge "$(expval cksum_bad)" 8 "只有 L4 checksum 錯的訊框"
	for l4 in hw sw off; do
		run_pcap rxonly "$T_TMP/in.pcap" "$T_TMP/out-$l4.pcap" "$T_TMP/log-$l4" --l4-cksum "$l4" ||
			fail "--l4-cksum $l4 結束碼 $?:$(tail -n 3 "$T_TMP/log-$l4")"
		cat "$T_TMP/log-$l4"
		expect_eq "$(sumval "$T_TMP/log-$l4" l4cksum)" "$l4" "SUMMARY 的 l4cksum"
		if [ "$l4" = sw ]; then check_counters "$T_TMP/log-$l4" sw; else check_counters "$T_TMP/log-$l4" hw; fi
		no_leftover
		run_pcap rxonly "$GOLDEN/corpus.pcap" "$T_TMP/g-$l4.pcap" "$T_TMP/glog-$l4" --l4-cksum "$l4" ||
			fail "golden 語料 --l4-cksum $l4 結束碼 $?"
		got=$(dpdk_golden_counts "$T_TMP/glog-$l4")
		expect_eq "$got" "$(cat "$GOLDEN/corpus-rxonly-$l4.counts")" "--l4-cksum $l4 與 golden 計數"
		no_leftover
	done
	expect_eq "$(($(sumval "$T_TMP/log-sw" p0_malformed) - $(sumval "$T_TMP/log-hw" p0_malformed)))" \
		"$(expval cksum_bad)" "sw 比 hw 多出的 malformed = 只有 checksum 錯的訊框"
}

# 每個探測失敗的 --vdev:結束碼 1,錯誤訊息說出是哪個 vdev 與 PMD 的原因;和一個好的 vdev 一起也一樣
# (不能在比要求少的連接埠上執行)。infinite_rx 給空的 pcap 時警告。
t_vdev_probe_errors() {
	need_dpdk
	local v why good
	while IFS='|' read -r v why; do
		for good in "" --vdev=net_null0; do
			dpdk_prefix vdev-bad
			# shellcheck disable=SC2086 # 空字串 = 沒有好的 vdev
			expect_exit 1 timeout 60 "$PROG" -l 0 "${NOHUGE[@]}" --file-prefix="$PREFIX" $good \
				--vdev="$v" -- --mode rxonly --duration 1 --stats-interval 0
			expect_eq "$(grep -c '^錯誤:' "$T_TMP/out")" 1 "「$v」${good:+ + $good}:錯誤訊息一行"
			grep -qF "錯誤:--vdev=$v 探測失敗:" "$T_TMP/out" || fail "「$v」${good:+ + $good}:沒有說出是哪個 vdev"
			expect_file_match "$T_TMP/out" "^錯誤:--vdev=.* 探測失敗:.*$why" "「$v」${good:+ + $good}:PMD 的原因"
			! grep -q '^SUMMARY' "$T_TMP/out" || fail "「$v」${good:+ + $good}:不該在較少的連接埠上執行"
			no_leftover
		done
	done <<EOF
net_pcap0,rx_pcap=$T_TMP/missing.pcap|Couldn't open
net_pcap0,rx_pcap=$GOLDEN/mix64.pcap,bogus_key=1|PMD 沒有說明原因
net_af_packet0,iface=kbsnosuch0|No such device
net_memif0,role=server,socket=$T_TMP/nodir/m.sock,socket-abstract=no|Invalid socket directory
net_af_xdp0,iface=kbsnosuch0|kbsnosuch0
EOF
	# 空的 pcap 加 infinite_rx=1:警告一行,照常執行
	head -c 24 "$GOLDEN/mix64.pcap" >"$T_TMP/empty.pcap"
	dpdk_prefix vdev-empty
	expect_exit 0 timeout 60 "$PROG" -l 0 "${NOHUGE[@]}" --file-prefix="$PREFIX" \
		--vdev="net_pcap0,rx_pcap=$T_TMP/empty.pcap,infinite_rx=1" -- --mode rxonly --duration 1 --stats-interval 0
	expect_file_match "$T_TMP/out" '^警告:--vdev=net_pcap0.*沒有任何封包' "空 pcap 的警告"
	no_leftover
}

# fwd:net_null 成對,port 0 收到的 = port 1 送出的 + port 1 丟棄的(反之亦然)
t_fwd_null_pair() {
	need_dpdk
	local variant
	# 一次含協定解析(兩個 lcore),一次 --no-parse(io 引擎,只有主 lcore)
	for variant in parse no-parse; do
		local args=(-l 0-1) extra=()
		[ "$variant" = no-parse ] && args=(-l 0) && extra=(--no-parse)
		dpdk_prefix "fwd-$variant"
		timeout 60 "$PROG" "${args[@]}" --no-pci --no-huge -m 1024 --file-prefix="$PREFIX" \
			--vdev=net_null0 --vdev=net_null1 -- --mode fwd --duration 2 "${extra[@]}" \
			>"$T_TMP/log" 2>&1 || fail "$variant 結束碼 $?:$(tail -n 3 "$T_TMP/log")"
		cat "$T_TMP/log"
		expect_ge "$(sumval "$T_TMP/log" p0_rx)" 100000 "$variant:port 0 收到的封包"
		expect_ge "$(sumval "$T_TMP/log" p1_rx)" 100000 "$variant:port 1 收到的封包"
		expect_balanced "$T_TMP/log" 0 1 "$variant"
		expect_balanced "$T_TMP/log" 1 0 "$variant"
		expect_match "$(cat "$T_TMP/log")" '\[1\.[0-9] 秒\]' "$variant:每秒統計"
		expect_file_match "$T_TMP/log" '佇列 0\(lcore [0-9]+\):收 [0-9,]+ pps,空輪詢' "$variant:每個佇列的速率與空輪詢比例"
		expect_file_match "$T_TMP/log" 'burst 大小分布' "$variant:burst 大小分布"
		expect_file_match "$T_TMP/log" 'xstats\(非零\):.*rx_good_packets=' "$variant:結束時的 xstats"
		expect_eq "$(sumval "$T_TMP/log" mbuf_in_use)" 0 "$variant:結束時仍未歸還的 mbuf"
		no_leftover
	done
	# 奇數個連接埠不能 fwd
	dpdk_prefix fwd1
	expect_exit 64 timeout 60 "$PROG" -l 0 "${NOHUGE[@]}" --file-prefix="$PREFIX" \
		--vdev=net_null0 -- --mode fwd
	expect_file_match "$T_TMP/out" '偶數個連接埠' "奇數連接埠的錯誤訊息"
	no_leftover
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
	start_ours "$T_TMP/ours.log" "$PROG" -l 1 --no-pci --no-huge -m 1024 \
		--file-prefix="$PREFIX" --vdev="net_memif0,role=server,socket=$sock" -- \
		--mode macswap --stats-interval 0 --duration 60
	pid=$BG_PID
	testpmd_memif_peer "$T_TMP/tp.log" "$sock" "$tp_prefix" "$pid" txonly:2 flowgen:1 rxonly:1
	stop_bg "$pid" INT 10
	local rc=$?
	cat "$T_TMP/ours.log" "$T_TMP/tp.log"
	expect_eq "$rc" 0 "我們的程式結束碼"
	expect_ge "$(sumval "$T_TMP/ours.log" p0_tx)" 5000 "我們送回的封包"
	expect_eq "$(testpmd_port_stat "$T_TMP/tp.log" RX-packets)" "$(sumval "$T_TMP/ours.log" p0_tx)" \
		"testpmd 收到的 = 我們送回的"
	expect_eq "$(sumval "$T_TMP/ours.log" p0_rx)" "$(testpmd_port_stat "$T_TMP/tp.log" TX-packets)" \
		"我們收到的 = testpmd 送出的"
	expect_balanced "$T_TMP/ours.log" 0 0 "我們"
	expect_file_match "$T_TMP/ours.log" '連接埠 0 連結恢復:up' "memif 對端連上的連結事件"
	# 預設的抽象 socket 誰都能連,而 22.11 的 memif PMD 會被連上就斷線的對端弄到 PANIC:要說出來
	expect_file_match "$T_TMP/ours.log" '警告:連接埠 0\(net_memif server\)用抽象 socket.*socket-abstract=no' \
		"抽象 socket 的警告"
	no_leftover
}

# 敵意的對端(testpmd 在 net_memif 的另一端),我們 macswap:
#   1. 以 io 引擎從 net_pcap 全速重播 49 種格式錯誤封包的語料到 memif(也收我們送回的);
#   2. 改成 txonly 全速灌封包、從不收我們送回的(我們的 TX 環塞滿:送不出的計入 dropped);
#   3. 凍結(SIGSTOP):不送也不收,連線還在。
# 我們:照常計數(malformed 與產生器的比例一致)、沒有用完 mbuf、不被凍結的對端卡住,
# Ctrl-C 後正常結束,mbuf 全部歸還,不留執行期目錄也不留 memif socket 檔。
# 對端「突然消失」不在這項:DPDK 22.11 的 memif PMD 在中斷執行緒解除共享記憶體的對應時,正在
# rx_burst 的 lcore 可能讀到已解除對應的位址(PMD 的競爭,我們的程式修不了,memif 也沒有 RX 中斷
# 模式讓 lcore 停止輪詢);本程式在啟動時警告,README 說明。對端結束時若我們的 lcore 已經停止
# (這裡:凍結的對端在我們結束之後才被 SIGKILL),就不會碰到這個競爭。
t_memif_hostile_peer() {
	need_dpdk
	need_cmd dpdk-testpmd pgrep
	local sock=$T_TMP/memif.sock tp_prefix pid tp rc
	gen_pcap
	dpdk_prefix memif-flood-tp
	tp_prefix=$PREFIX
	dpdk_prefix memif-flood
	start_ours "$T_TMP/ours.log" "$PROG" -l 1 --no-pci --no-huge -m 1024 \
		--file-prefix="$PREFIX" --vdev="net_memif0,role=server,socket=$sock,socket-abstract=no" -- \
		--mode macswap --stats-interval 1 --duration 60
	pid=$BG_PID
	# testpmd:port 0 = net_pcap(從記憶體無限重播語料;巨型訊框要放得進一個 mbuf),port 1 = memif client
	start_bg "$T_TMP/tp.log" bash -c "{ sleep 2; echo 'set fwd io'; echo start; sleep 2; echo stop;
		echo 'set fwd txonly'; echo start; sleep 2; echo stop; sleep 120; } |
		timeout 120 dpdk-testpmd -l 0-1 --no-pci --no-huge -m 1024 --file-prefix='$tp_prefix' \
		--vdev='net_pcap0,rx_pcap=$T_TMP/in.pcap,infinite_rx=1' \
		--vdev='net_memif0,role=client,socket=$sock,socket-abstract=no' -- -i --no-mlockall \
		--total-num-mbufs=8192 --mbuf-size=10240"
	tp=$BG_PID
	wait_log 20 "$T_TMP/ours.log" '連結恢復:up' || fail "testpmd 沒有連上:$(tail -n 3 "$T_TMP/tp.log")"
	wait_for 30 count_ge "$T_TMP/tp.log" 'Telling cores to stop' 2 || fail "testpmd 沒有跑完兩個階段"
	# timeout 把 testpmd 放進自己的行程群組:以 session(start_bg 的 setsid)找它
	tp=$(pgrep -s "$tp" -x dpdk-testpmd) || fail "找不到 testpmd 行程"
	on_exit "kill -KILL $tp"
	kill -STOP "$tp"
	sleep 1.5
	kill -0 "$pid" 2>/dev/null || fail "對端凍結後我們的程式結束了"
	stop_bg "$pid" INT 10
	rc=$?
	cat "$T_TMP/ours.log" "$T_TMP/tp.log"
	expect_eq "$rc" 0 "結束碼(對端凍結時按 Ctrl-C)"
	expect_ge "$(sumval "$T_TMP/ours.log" p0_rx)" 10000 "洪水中收到的封包"
	expect_ge "$(sumval "$T_TMP/ours.log" p0_malformed)" 1000 "計入 malformed 的語料封包"
	expect_le "$(sumval "$T_TMP/ours.log" p0_malformed)" "$(sumval "$T_TMP/ours.log" p0_rx)" "malformed 不超過收到的"
	expect_ge "$(sumval "$T_TMP/ours.log" p0_dropped)" 1 "對端不收時送不出而丟棄的封包"
	expect_balanced "$T_TMP/ours.log" 0 0 "洪水"
	expect_eq "$(sumval "$T_TMP/ours.log" p0_rx_nombuf)" 0 "mbuf pool 沒有用完"
	! grep -q '用抽象 socket' "$T_TMP/ours.log" || fail "socket-abstract=no 不該有抽象 socket 的警告"
	expect_file_match "$T_TMP/ours.log" '^警告:連接埠 0\(net_memif\):對端突然結束時' "memif 競爭的警告"
	expect_eq "$(sumval "$T_TMP/ours.log" mbuf_in_use)" 0 "結束時仍未歸還的 mbuf"
	[ ! -e "$sock" ] || fail "留下了 memif socket 檔 $sock"
	no_leftover
}

# no_promisc 命名空間 介面:程式結束後 Linux 介面不該留在混雜模式
no_promisc() {
	! ip -n "$1" link show "$2" | grep -q PROMISC || fail "$2 留在混雜模式:$(ip -n "$1" link show "$2" | head -n1)"
}

# respond 在 net_af_packet(veth,於命名空間內):對端 ping 100 次,0% 遺失;
# respond 只回應給自己的封包,不開混雜模式(net_af_packet 的混雜模式是 Linux 介面的旗標)
t_af_packet_ping() {
	need_dpdk
	need_cmd ip ping
	netns_pair dpdk peer vdpdk vpeer 10.77.0.1/24 10.77.0.2/24
	# DPDK 回應的位址與核心的不同,確定回覆來自我們的程式
	start_afp_respond "$T_TMP/ours.log" vdpdk 10.77.0.10 0-1
	ip netns exec "$NS_B" ping -c 100 -i 0.01 -W 1 10.77.0.10 >"$T_TMP/ping" 2>&1
	cat "$T_TMP/ping"
	stop_bg "$BG_PID" TERM 10 || fail "程式結束碼 $?"
	cat "$T_TMP/ours.log"
	expect_file_match "$T_TMP/ping" ' 0% packet loss' "ping 100 次應該 0% 遺失"
	expect_file_match "$T_TMP/ping" '^100 packets transmitted, 100 received' "ping 收到 100 個回覆"
	expect_ge "$(sumval "$T_TMP/ours.log" p0_icmp)" 100 "ICMP 計數"
	expect_ge "$(sumval "$T_TMP/ours.log" p0_tx)" 101 "送出的回覆(100 ICMP + ARP)"
	no_promisc "$NS_A" vdpdk
	no_leftover
}

# 洪水:對端以 AF_PACKET 全速重播 49 種格式錯誤的封包,同時另一個來源 ping 我們。
# 格式錯誤的封包全部計入 malformed、不回覆;ping 仍然得到回覆。
t_af_packet_malformed_flood() {
	need_dpdk
	need_cmd ip ping
	need_bin "$SOCKBENCH"
	local flood sent bad
	gen_pcap
	netns_pair dflood dfpeer vdf vdfpeer 10.81.0.1/24 10.81.0.2/24
	start_afp_respond "$T_TMP/ours.log" vdf 10.81.0.10 1
	ip netns exec "$NS_B" taskset -c 0 "$SOCKBENCH" tx vdfpeer 4 "$T_TMP/in.pcap" \
		>"$T_TMP/flood.out" 2>&1 &
	flood=$!
	on_exit "kill $flood"
	sleep 0.5
	ip netns exec "$NS_B" ping -c 50 -i 0.02 -W 1 10.81.0.10 >"$T_TMP/ping" 2>&1
	wait "$flood"
	stop_bg "$BG_PID" INT 10 || fail "程式結束碼 $?"
	cat "$T_TMP/flood.out" "$T_TMP/ping" "$T_TMP/ours.log"
	sent=$(kv "$T_TMP/flood.out" packets)
	expect_ge "$sent" 10000 "洪水送出的封包"
	bad=$(sumval "$T_TMP/ours.log" p0_malformed)
	expect_ge "$bad" 1000 "計入 malformed 的洪水封包"
	# 每 132 個重播的封包有 49 個格式錯誤:被核心或 PMD 丟掉的不算,收到的比例必須一致
	expect_le "$bad" "$sent" "malformed 不會比送出的還多"
	expect_match "$(grep 'packets transmitted' "$T_TMP/ping")" ' [1-9][0-9]* received' "洪水中 ping 仍有回覆"
	expect_ge "$(grep -c 'bytes from 10.81.0.10' "$T_TMP/ping")" 25 "洪水中得到回覆的 ping(50 個中)"
	expect_eq "$(sumval "$T_TMP/ours.log" mbuf_in_use)" 0 "結束時仍未歸還的 mbuf"
	no_leftover
}

# 對端介面停用、消失:net_af_packet 自己不回報連結狀態(永遠是 up),程式看 Linux 介面的旗標:
# 我們這端 down / up、對端那端 down(沒有 carrier)/ up 各印一行連結中斷 / 恢復;
# 最後 veth 被刪除:印出清楚的訊息、不當掉、繼續執行,SIGINT 後正常結束,不留執行期目錄。
t_af_packet_iface_gone() {
	need_dpdk
	need_cmd ip
	netns_pair dgone dgpeer vgone vgpeer 10.82.0.1/24 10.82.0.2/24
	start_afp_respond "$T_TMP/ours.log" vgone 10.82.0.10 0-1
	local n=0 ns dev
	for ns in "$NS_A:vgone" "$NS_B:vgpeer"; do
		dev=${ns#*:}
		ns=${ns%%:*}
		n=$((n + 1))
		ip -n "$ns" link set "$dev" down
		wait_for 5 count_ge "$T_TMP/ours.log" '連接埠 0 連結中斷' "$n" ||
			fail "$dev down 後沒有連結中斷的訊息:$(tail -n 2 "$T_TMP/ours.log")"
		ip -n "$ns" link set "$dev" up
		wait_for 5 count_ge "$T_TMP/ours.log" '連接埠 0 連結恢復' "$n" ||
			fail "$dev up 後沒有連結恢復的訊息:$(tail -n 2 "$T_TMP/ours.log")"
	done
	ip -n "$NS_A" link del vgone || fail "無法刪除 veth"
	wait_log 10 "$T_TMP/ours.log" 'Linux 介面\(ifindex [0-9]+\)已消失' ||
		fail "介面被刪除後沒有清楚的訊息:$(tail -n 3 "$T_TMP/ours.log")"
	sleep 1.5
	kill -0 "$BG_PID" 2>/dev/null || fail "介面消失後程式結束了"
	stop_bg "$BG_PID" INT 10 || fail "程式結束碼 $?"
	cat "$T_TMP/ours.log"
	expect_file_match "$T_TMP/ours.log" '^SUMMARY ' "總結"
	no_leftover
}

# ---- net_af_xdp:DPDK 經 AF_XDP 綁在 veth 上 ------------------------------------------------

# xdp_on 命名空間 介面:介面上掛著的 XDP 程式(「prog/xdp id N」),沒有時空字串
xdp_on() {
	ip -n "$1" -d link show "$2" | grep -o 'prog/xdp id [0-9]*' || true
}

# afxdp_pair 名稱:兩個命名空間以 veth 相連(關掉 IPv6:核心不會自己送 RS/MLD,計數才確定)
afxdp_pair() {
	netns_pair "$1" "$1p" vx vxp 10.86.0.1/24 10.86.0.2/24
	ip netns exec "$NS_A" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$NS_B" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
}

# start_afxdp 記錄檔 程式選項…:在 $NS_A 以 net_af_xdp 綁 vx(lcore 1),等它開始輪詢
start_afxdp() {
	local log=$1
	shift
	dpdk_prefix afxdp
	start_ours "$log" ip netns exec "$NS_A" "$PROG" -l 1 --no-pci --no-huge -m 1024 \
		--file-prefix="$PREFIX" --vdev=net_af_xdp0,iface=vx -- --stats-interval 0 --duration 60 "$@"
}

# afxdp_clean 記錄檔:結束後介面上沒有 XDP 程式、不在混雜模式,程式自己也確認過
afxdp_clean() {
	[ -z "$(xdp_on "$NS_A" vx)" ] || fail "結束後 vx 上仍掛著 XDP 程式:$(xdp_on "$NS_A" vx)"
	expect_file_match "$1" '已確認介面 vx 上沒有留下 XDP 程式' "程式自己確認沒有留下 XDP 程式"
	no_promisc "$NS_A" vx
	no_leftover
}

# ping_exact 記錄檔 次數 大小 樣式:對 DPDK 的位址 ping,每個回覆都要回來,而且逐位元組正確
# (ping 會驗證 ICMP checksum 並逐一比對資料的每個位元組:不符時印 BAD CHECKSUM / wrong data byte)。
# 等最後一個回覆最多 5 秒:這台共用的 2 vCPU 機器上,忙碌輪詢的 lcore 偶爾被搶走上百毫秒以上
ping_exact() {
	ip netns exec "$NS_B" ping -c "$2" -i 0.01 -W 5 -s "$3" -p "$4" 10.86.0.10 >"$1" 2>&1
	cat "$1"
	expect_file_match "$1" "^$2 packets transmitted, $2 received" "ping -s $3:$2 個都有回覆"
	! grep -qE 'BAD CHECKSUM|wrong data|DUP!|truncated' "$1" || fail "ping -s $3:回覆的內容不正確:$(grep -m1 -E 'BAD|wrong|DUP|trunc' "$1")"
}

# respond 經 net_af_xdp:ARP 與 ICMP echo 由我們回答,回覆逐位元組正確(兩種大小、兩種資料樣式);
# 程式說出 XDP 程式掛在哪裡,結束(SIGTERM)後介面上不留 XDP 程式、不留混雜模式
t_af_xdp_ping() {
	need_dpdk
	need_cmd ip ping
	afxdp_pair dxp
	start_afxdp "$T_TMP/ours.log" --mode respond --ip 0=10.86.0.10
	expect_file_match "$T_TMP/ours.log" 'AF_XDP:介面 vx 上的 XDP 程式 xsk_def_prog' "net_af_xdp 掛上 libxdp 的 XDP 程式"
	[ -n "$(xdp_on "$NS_A" vx)" ] || fail "執行中 vx 上應該掛著 XDP 程式"
	ping_exact "$T_TMP/p1" 50 56 a5c3
	ping_exact "$T_TMP/p2" 20 1400 5a0f
	stop_bg "$BG_PID" TERM 10 || fail "程式結束碼 $?"
	cat "$T_TMP/ours.log"
	expect_ge "$(sumval "$T_TMP/ours.log" p0_icmp)" 70 "ICMP 計數"
	expect_ge "$(sumval "$T_TMP/ours.log" p0_tx)" 71 "送出的回覆(70 ICMP + ARP)"
	expect_eq "$(sumval "$T_TMP/ours.log" p0_malformed)" 0 "malformed"
	afxdp_clean "$T_TMP/ours.log"
}

# rxonly 經 net_af_xdp:對端以 AF_PACKET 限速重播 1024 個真實訊框 8 輪(8,192 個),
# 我們收到的總數與每一種協定計數都正好是產生器送出的(L4 checksum 沒有網卡判定:全部計入未驗證)
t_af_xdp_rxonly_counts() {
	need_dpdk
	need_cmd ip
	need_bin "$SOCKBENCH"
	local n=8192 k
	"$PCAPTOOL" mix "$T_TMP/mix.pcap" 1024 3 >"$T_TMP/mix.txt" || fail "dpdk_pcap mix 失敗"
	cat "$T_TMP/mix.txt"
	afxdp_pair dxc
	start_afxdp "$T_TMP/ours.log" --mode rxonly
	ip netns exec "$NS_B" "$SOCKBENCH" tx vxp 60 "$T_TMP/mix.pcap" 20000 "$n" >"$T_TMP/gen.out" 2>&1 ||
		fail "產生器失敗:$(cat "$T_TMP/gen.out")"
	sleep 0.5
	stop_bg "$BG_PID" INT 10 || fail "程式結束碼 $?"
	cat "$T_TMP/gen.out" "$T_TMP/ours.log"
	expect_eq "$(kv "$T_TMP/gen.out" packets)" "$n" "產生器送出的訊框"
	expect_eq "$(sumval "$T_TMP/ours.log" p0_rx)" "$n" "收到的 = 送出的"
	for k in arp ipv4 ipv6 tcp udp icmp icmpv6 vlan other malformed; do
		expect_eq "$(sumval "$T_TMP/ours.log" "p0_$k")" "$(($(kv "$T_TMP/mix.txt" "$k") * n / 1024))" "協定計數 $k"
	done
	expect_eq "$(sumval "$T_TMP/ours.log" p0_l4_unverified)" \
		"$(($(sumval "$T_TMP/ours.log" p0_tcp) + $(sumval "$T_TMP/ours.log" p0_udp) + $(sumval "$T_TMP/ours.log" p0_icmp) + $(sumval "$T_TMP/ours.log" p0_icmpv6)))" \
		"L4 checksum 未驗證 = 全部 TCP/UDP/ICMP/ICMPv6"
	# 沒給 --rxd/--txd:用 PMD 建議的 2048(= net_af_xdp 的 fill ring;舊版固定 1024,RX ring 先滿的丟棄不算 imissed)
	expect_file_match "$T_TMP/ours.log" '描述子 RX 2048 / TX 2048' "net_af_xdp 的描述子數用 PMD 建議的大小"
	! grep -q 'RX ring(.*)小於 PMD 放在 fill ring' "$T_TMP/ours.log" || fail "預設的 RX ring 不該小於 fill ring"
	# 每秒 20,000 個封包:lcore 幾乎都在空轉;忙碌時間只算收到封包的輪詢,遠小於整個 lcore 的 CPU
	local busy cpu
	busy=$(sumval "$T_TMP/ours.log" busy_ns_per_pkt)
	cpu=$(sumval "$T_TMP/ours.log" cpu_ns_per_pkt)
	awk -v b="$busy" -v c="$cpu" -v p="$(sumval "$T_TMP/ours.log" busy_pct)" \
		'BEGIN {exit !(b > 0 && b * 2 < c && p > 0 && p < 50)}' ||
		fail "忙碌時間:busy_ns_per_pkt=$busy cpu_ns_per_pkt=$cpu busy_pct=$(sumval "$T_TMP/ours.log" busy_pct)"
	afxdp_clean "$T_TMP/ours.log"
}

# --rxd 比 fill ring 小:RX ring 先滿時 PMD 不回報丟棄(imissed 是 0),啟動時說清楚
t_af_xdp_small_ring() {
	need_dpdk
	need_cmd ip
	afxdp_pair dxr
	start_afxdp "$T_TMP/ours.log" --mode rxonly --rxd 512
	stop_bg "$BG_PID" INT 10 || fail "程式結束碼 $?"
	cat "$T_TMP/ours.log"
	expect_file_match "$T_TMP/ours.log" '描述子 RX 512 / TX 2048' "--rxd 512、TX 用 PMD 建議的大小"
	expect_file_match "$T_TMP/ours.log" 'AF_XDP:RX ring\(512\)小於 PMD 放在 fill ring 的 2048 個 mbuf' "RX ring 太小的說明"
	afxdp_clean "$T_TMP/ours.log"
}

# 對端與介面消失(net_af_xdp):對端 down / up 各印一行連結中斷 / 恢復,我們的 veth 被刪除時印出介面消失、
# 不當掉、繼續執行;結束時說 XDP 程式隨介面消失(不是「確認沒有留下」),不留執行期目錄
t_af_xdp_iface_gone() {
	need_dpdk
	need_cmd ip ping
	afxdp_pair dxd
	start_afxdp "$T_TMP/ours.log" --mode respond --ip 0=10.86.0.10 --stats-interval 1
	ping_exact "$T_TMP/p1" 3 56 a5c3
	ip -n "$NS_B" link set vxp down
	wait_log 5 "$T_TMP/ours.log" '連接埠 0 連結中斷' || fail "對端 down 後沒有連結中斷的訊息"
	ip -n "$NS_B" link set vxp up
	wait_log 5 "$T_TMP/ours.log" '連接埠 0 連結恢復' || fail "對端 up 後沒有連結恢復的訊息"
	ip -n "$NS_A" link del vx || fail "無法刪除 veth"
	wait_log 10 "$T_TMP/ours.log" 'Linux 介面\(ifindex [0-9]+\)已消失' || fail "介面被刪除後沒有清楚的訊息"
	sleep 1.5
	kill -0 "$BG_PID" 2>/dev/null || fail "介面消失後程式結束了"
	stop_bg "$BG_PID" INT 10 || fail "程式結束碼 $?"
	cat "$T_TMP/ours.log"
	expect_file_match "$T_TMP/ours.log" '介面 vx 已經不存在,它的 XDP 程式隨介面一起消失' "結束時的說明"
	! grep -q '已確認介面 vx 上沒有留下' "$T_TMP/ours.log" || fail "介面不存在時不該說「確認沒有留下」"
	no_leftover
}

# fwd 把 net_pcap 收到的巨型訊框(兩個 mbuf 串成的鏈)轉給 net_af_xdp:它不宣告 TX MULTI_SEGS,只把第一個
# mbuf 與整個長度交給核心,核心拒絕那個描述子、PMD 從此不釋放那兩個 mbuf(舊版:3,000 個巨型訊框漏掉約 6,000 個
# mbuf,對端送得夠多就用光 pool)。現在送出前丟棄並計入丟棄:結束時只剩 PMD 放在 fill ring 的 2,048 個
t_af_xdp_tx_chains() {
	need_dpdk
	need_cmd ip
	gen_pcap
	"$PCAPTOOL" repeat "$T_TMP/in.pcap" "$T_TMP/jumbo.pcap" 3000 2049 || fail "dpdk_pcap repeat 失敗"
	afxdp_pair dxj
	dpdk_prefix afxdp-chain
	ip netns exec "$NS_A" timeout 60 "$PROG" -l 1 --no-pci --no-huge -m 1024 --file-prefix="$PREFIX" \
		--vdev="net_pcap0,rx_pcap=$T_TMP/jumbo.pcap,tx_pcap=/dev/null" --vdev=net_af_xdp0,iface=vx -- \
		--mode fwd --packets 3000 --stats-interval 0 --duration 30 >"$T_TMP/ours.log" 2>&1 || fail "程式結束碼 $?"
	cat "$T_TMP/ours.log"
	expect_file_match "$T_TMP/ours.log" 'TX 多 segment 無\(跨 segment 的封包不送,計入丟棄\)' "net_af_xdp 的 TX 說明"
	expect_eq "$(sumval "$T_TMP/ours.log" p0_rx)" 3000 "收到的巨型訊框"
	expect_eq "$(sumval "$T_TMP/ours.log" p0_multiseg)" 3000 "跨 segment 的封包"
	expect_eq "$(sumval "$T_TMP/ours.log" p1_tx)" 0 "送給 net_af_xdp 的鏈"
	expect_eq "$(sumval "$T_TMP/ours.log" p1_dropped)" 3000 "丟棄並計數的鏈"
	expect_le "$(sumval "$T_TMP/ours.log" mbuf_in_use)" 2048 "結束時仍未歸還的 mbuf(只有 net_af_xdp 的 fill ring)"
	afxdp_clean "$T_TMP/ours.log"
}

# promiscuity 命名空間 介面:核心的 promiscuity 計數(PACKET_MR_PROMISC 與管理者的旗標各算一次)
promiscuity() {
	ip -n "$1" -d link show "$2" | grep -o 'promiscuity [0-9]*' | cut -d' ' -f2
}
admin_promisc() {
	ip -n "$NS_A" link show vx | head -n1 | grep -q PROMISC
}

# 混雜模式不碰管理者的旗標,也不留下。舊版用 PMD 的混雜模式 = 介面的 IFF_PROMISC 旗標:rte_eth_dev_start
# 清掉管理者開著的旗標(respond 結束後就一直關著),被 kill -9 時我們開的旗標一直開著。現在 Linux 介面上
# 以 PACKET_MR_PROMISC 向核心登記(計數式,socket 關閉時核心撤銷),並把管理者的旗標放回去
t_iface_promisc() {
	need_dpdk
	need_cmd ip
	local vdev
	afxdp_pair dxm
	ip -n "$NS_A" link set vx promisc on
	start_afxdp "$T_TMP/resp.log" --mode respond --ip 0=10.86.0.10
	admin_promisc || fail "respond 執行中管理者的 promisc 旗標被清掉"
	stop_bg "$BG_PID" INT 10 || fail "respond 的結束碼 $?"
	admin_promisc || fail "respond 結束後管理者的 promisc 旗標被清掉"
	start_afxdp "$T_TMP/rx.log" --mode rxonly
	stop_bg "$BG_PID" INT 10 || fail "rxonly 的結束碼 $?"
	admin_promisc || fail "rxonly 結束後管理者的 promisc 旗標被清掉"
	ip -n "$NS_A" link set vx promisc off
	for vdev in net_af_xdp0 net_af_packet0; do
		dpdk_prefix "promisc-$vdev"
		start_ours "$T_TMP/$vdev.log" ip netns exec "$NS_A" "$PROG" -l 1 --no-pci --no-huge -m 1024 \
			--file-prefix="$PREFIX" --vdev="$vdev,iface=vx" -- --mode rxonly --stats-interval 0 --duration 60
		expect_eq "$(promiscuity "$NS_A" vx)" 1 "$vdev rxonly 執行中的 promiscuity"
		! admin_promisc || fail "$vdev:不該改管理者的 promisc 旗標"
		stop_bg "$BG_PID" KILL 10
		cat "$T_TMP/$vdev.log"
		expect_eq "$(promiscuity "$NS_A" vx)" 0 "$vdev 被 kill -9 之後的 promiscuity"
		! admin_promisc || fail "$vdev 被 kill -9 之後介面留在混雜模式"
		ip -n "$NS_A" link set vx xdpgeneric off 2>/dev/null
		ip -n "$NS_A" link set vx xdp off 2>/dev/null
	done
}

# 效能比較的線上產生器(dpdk_sockbench xdptx,XDP live frames)送的是 pcap 裡真的訊框:對 net_af_xdp 的
# rxonly 送一輪 1,024 個(少於 RX ring 與 fill ring 的 2,048,lcore 被搶走也不會丟),收到的總數與每一種
# 協定計數正好等於 pcap 的組成(全部一樣的訊框、全零的訊框、錯位的長度都會讓計數不符)
t_wiregen_frames() {
	need_dpdk
	need_cmd ip
	need_bin "$SOCKBENCH"
	local k
	"$PCAPTOOL" mix "$T_TMP/mix.pcap" 1024 5 >"$T_TMP/mix.txt" || fail "dpdk_pcap mix 失敗"
	cat "$T_TMP/mix.txt"
	afxdp_pair dxg
	start_afxdp "$T_TMP/ours.log" --mode rxonly
	local rc=0
	ip netns exec "$NS_B" "$SOCKBENCH" xdptx vxp 10 "$T_TMP/mix.pcap" 1024 >"$T_TMP/gen.out" 2>&1 || rc=$?
	[ "$rc" -ne 77 ] || skip "產生器無法在此執行:$(head -n1 "$T_TMP/gen.out")"
	[ "$rc" -eq 0 ] || fail "產生器失敗:$(cat "$T_TMP/gen.out")"
	cat "$T_TMP/gen.out"
	sleep 0.5
	stop_bg "$BG_PID" INT 10 || fail "程式結束碼 $?"
	cat "$T_TMP/ours.log"
	expect_eq "$(kv "$T_TMP/gen.out" packets)" 1024 "產生器送出的訊框"
	expect_eq "$(sumval "$T_TMP/ours.log" p0_rx)" 1024 "收到的 = 送出的"
	for k in arp ipv4 ipv6 tcp udp icmp icmpv6 vlan other malformed; do
		expect_eq "$(sumval "$T_TMP/ours.log" "p0_$k")" "$(kv "$T_TMP/mix.txt" "$k")" "協定計數 $k"
	done
	afxdp_clean "$T_TMP/ours.log"
}

# 效能工具 bench/dpdk_parse_cost 量的是真的解析:每輪的協定計數等於 pcap 的組成(malformed 0);
# 壞的輸入(不是 pcap、截斷、超過一個 mbuf 的訊框、輪數不對)是一行錯誤與非 0 結束碼,不是靜靜地少量一部分
t_parse_cost_tool() {
	need_dpdk
	need_bin "$PARSECOST"
	local k args bad rc
	dpdk_prefix pcost
	args=(-l 1 --no-pci --no-huge -m 256 --file-prefix="$PREFIX" --log-level=1 --)
	"$PCAPTOOL" mix "$T_TMP/mix.pcap" 1024 3 >"$T_TMP/mix.txt" || fail "dpdk_pcap mix 失敗"
	"$PARSECOST" "${args[@]}" "$T_TMP/mix.pcap" 3 >"$T_TMP/out" 2>&1 || fail "dpdk_parse_cost 失敗:$(tail -n1 "$T_TMP/out")"
	cat "$T_TMP/mix.txt" "$T_TMP/out"
	expect_eq "$(kv "$T_TMP/out" pkts)" 1024 "量的訊框數"
	for k in ipv4 ipv6 tcp udp vlan arp other malformed; do
		expect_eq "$(kv "$T_TMP/out" "$k")" "$(kv "$T_TMP/mix.txt" "$k")" "每輪的協定計數 $k"
	done
	expect_match "$(kv "$T_TMP/out" parse_ns_per_pkt)" '^[0-9]+\.[0-9]+$' "解析時間是正數"
	head -c 30000 "$T_TMP/mix.pcap" >"$T_TMP/trunc.pcap"
	gen_pcap # in.pcap 有跨 segment 的巨型訊框
	echo "not a pcap" >"$T_TMP/text.pcap"
	for bad in "$T_TMP/text.pcap 3:1" "$T_TMP/trunc.pcap 3:1" "$T_TMP/in.pcap 3:1" "$T_TMP/mix.pcap 2:64" \
		"$T_TMP/mix.pcap 5x:64"; do
		read -r -a k <<<"${bad%:*}"
		rc=0
		"$PARSECOST" "${args[@]}" "${k[@]}" >"$T_TMP/bad" 2>&1 || rc=$?
		cat "$T_TMP/bad"
		expect_eq "$rc" "${bad##*:}" "「${bad%:*}」的結束碼"
		expect_eq "$(grep -c '^錯誤:' "$T_TMP/bad")" 1 "「${bad%:*}」一行錯誤"
		! grep -q SUMMARY "$T_TMP/bad" || fail "「${bad%:*}」不該印結果"
	done
}

# 主機政策:respond 經 net_af_xdp 代替核心回答,照樣遵守 net.ipv4.icmp_echo_ignore_all 與介面的 NOARP
# (舊版不管,管理者關掉 ping 之後我們照樣回答);每次改變印一行,被擋下的 request 計入 policy_ignored。
# net_af_packet 只是旁聽:--ip 也是核心的位址時,核心也會回答,啟動時說清楚
t_host_policy() {
	need_dpdk
	need_cmd ip ping
	afxdp_pair dxh
	start_afxdp "$T_TMP/ours.log" --mode respond --ip 0=10.86.0.10
	expect_file_match "$T_TMP/ours.log" '主機政策:ICMP echo 回答、ARP 回答;每秒重讀;回覆不經過 netfilter' "啟動時的主機政策"
	ping_exact "$T_TMP/p1" 5 56 a5c3
	ip netns exec "$NS_A" sysctl -qw net.ipv4.icmp_echo_ignore_all=1
	wait_log 5 "$T_TMP/ours.log" 'ICMP echo 不回答\(net.ipv4.icmp_echo_ignore_all=1\)' ||
		fail "icmp_echo_ignore_all=1 之後沒有政策改變的訊息"
	ip netns exec "$NS_B" ping -c 5 -i 0.05 -W 1 10.86.0.10 >"$T_TMP/p2" 2>&1
	cat "$T_TMP/p2"
	expect_file_match "$T_TMP/p2" '^5 packets transmitted, 0 received' "icmp_echo_ignore_all=1 時不回答 ping"
	ip netns exec "$NS_A" sysctl -qw net.ipv4.icmp_echo_ignore_all=0
	wait_log 5 "$T_TMP/ours.log" '主機政策:ICMP echo 回答、ARP 回答$' || fail "恢復之後沒有政策改變的訊息"
	ping_exact "$T_TMP/p3" 5 56 a5c3
	ip -n "$NS_A" link set vx arp off
	ip -n "$NS_B" neigh flush dev vxp
	wait_log 5 "$T_TMP/ours.log" 'ARP 不回答' || fail "NOARP 之後沒有政策改變的訊息"
	ip netns exec "$NS_B" ping -c 3 -i 0.2 -W 1 10.86.0.10 >"$T_TMP/p4" 2>&1
	cat "$T_TMP/p4"
	expect_file_match "$T_TMP/p4" '^3 packets transmitted, 0 received' "介面 NOARP 時不回答 ARP(對端拿不到 MAC)"
	stop_bg "$BG_PID" INT 10 || fail "程式結束碼 $?"
	cat "$T_TMP/ours.log"
	expect_ge "$(sumval "$T_TMP/ours.log" p0_policy_ignored)" 6 "被主機政策擋下的 request(5 個 echo + ARP)"
	ip -n "$NS_A" link set vx arp on
	afxdp_clean "$T_TMP/ours.log"
	# net_af_packet,--ip 是核心自己的位址:警告會有兩個回覆
	start_afp_respond "$T_TMP/afp.log" vx 10.86.0.1 1
	stop_bg "$BG_PID" INT 10 || fail "net_af_packet 的結束碼 $?"
	cat "$T_TMP/afp.log"
	expect_file_match "$T_TMP/afp.log" '注意:--ip 0=10.86.0.1 也是核心在介面 vx 上的位址:net_af_packet 只是旁聽' \
		"--ip 與核心重複的警告"
	no_leftover
}

# 結束方式與留下的東西:SIGINT、SIGTERM 之後介面上沒有 XDP 程式;SIGKILL 之後 libxdp 以 netlink
# 掛上的程式還在(沒有行程能替被殺掉的行程卸下它),下一次執行說出它、沿用它,結束後一併卸下
t_af_xdp_exit() {
	need_dpdk
	need_cmd ip
	local sig
	afxdp_pair dxe
	for sig in INT TERM KILL; do
		start_afxdp "$T_TMP/$sig.log" --mode rxonly
		[ -n "$(xdp_on "$NS_A" vx)" ] || fail "$sig:執行中 vx 上應該掛著 XDP 程式"
		stop_bg "$BG_PID" "$sig" 10
		cat "$T_TMP/$sig.log"
		if [ "$sig" = KILL ]; then
			[ -n "$(xdp_on "$NS_A" vx)" ] || fail "SIGKILL 後 XDP 程式應該還在(否則這項檢查驗不到下一次執行的清理)"
			rm -rf "/var/run/dpdk/$PREFIX"
			start_afxdp "$T_TMP/next.log" --mode rxonly
			expect_file_match "$T_TMP/next.log" '^注意:連接埠 0 的介面 vx 上已掛著 libxdp 的 xsk_def_prog' \
				"下一次執行說出上次留下的 XDP 程式"
			stop_bg "$BG_PID" INT 10 || fail "下一次執行的結束碼 $?"
			cat "$T_TMP/next.log"
			afxdp_clean "$T_TMP/next.log"
		else
			afxdp_clean "$T_TMP/$sig.log"
		fi
	done
}

# net_af_xdp 做不到時改用 net_af_packet:以 LIBXDP_OBJECT_PATH 指向空目錄讓 libxdp 找不到它的 XDP 物件檔
# (像少裝了 libxdp 的 BPF 物件、或沒有權限載入 XDP 的容器)。一行說明原因,ping 照樣由我們回答,
# 介面上不留 XDP 程式
t_af_xdp_fallback() {
	need_dpdk
	need_cmd ip ping
	afxdp_pair dxf
	mkdir -p "$T_TMP/noobj"
	dpdk_prefix afxdp-fb
	start_ours "$T_TMP/ours.log" ip netns exec "$NS_A" env LIBXDP_OBJECT_PATH="$T_TMP/noobj" "$PROG" -l 1 \
		--no-pci --no-huge -m 1024 --file-prefix="$PREFIX" --vdev=net_af_xdp0,iface=vx -- \
		--mode respond --ip 0=10.86.0.10 --stats-interval 0 --duration 60
	expect_eq "$(grep -c '^注意:連接埠 0 無法使用 net_af_xdp(.*),改用 net_af_packet 綁在同一個介面 vx' "$T_TMP/ours.log")" 1 \
		"改用 net_af_packet 的一行說明"
	ping_exact "$T_TMP/p1" 20 56 a5c3
	stop_bg "$BG_PID" INT 10 || fail "程式結束碼 $?"
	cat "$T_TMP/ours.log"
	expect_file_match "$T_TMP/ours.log" '驅動程式 net_af_packet' "連接埠改由 net_af_packet 驅動"
	[ -z "$(xdp_on "$NS_A" vx)" ] || fail "vx 上留下了 XDP 程式"
	no_promisc "$NS_A" vx
	no_leftover
}

# 硬體 ptype:net_tap 回報 packet_type 與 checksum 旗標。核心從 tap 介面送出 ICMP、UDP,
# 我們以 m->packet_type 計數;--ptype sw 以軟體解析同樣的流量,兩者計數一致。
# net_tap 也以 LSC 中斷回報連結變化:把介面 down 再 up,程式各印一行並繼續執行。
t_tap_hw_ptype() {
	need_dpdk
	need_cmd ip ping
	local mode log
	for mode in auto sw; do
		local ns="kbs-dtap-$mode-$$"
		ip netns add "$ns" || fail "無法建立命名空間"
		on_exit "ip netns del '$ns'"
		log=$T_TMP/tap-$mode.log
		dpdk_prefix "tap-$mode"
		# 新介面繼承 default:關掉 IPv6,核心就不會自己送 MLD/RS,計數才確定
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
		start_ours "$log" ip netns exec "$ns" "$PROG" -l 0-1 --no-pci --no-huge -m 512 \
			--file-prefix="$PREFIX" --vdev=net_tap0,iface=dtap0 -- --mode rxonly \
			--ptype "$mode" --stats-interval 0 --duration 60
		ip -n "$ns" addr add 10.83.0.1/24 dev dtap0
		ip -n "$ns" link set dtap0 up
		ip -n "$ns" neigh replace 10.83.0.10 lladdr 02:00:00:00:00:10 dev dtap0
		ip netns exec "$ns" ping -c 3 -i 0.1 -W 0.1 10.83.0.10 >/dev/null 2>&1
		local p
		for p in 5001 5002 5003 5004; do
			ip netns exec "$ns" bash -c "echo x >/dev/udp/10.83.0.10/$p"
		done
		sleep 0.5
		if [ "$mode" = auto ]; then
			# net_tap 以 LSC 中斷回報連結變化:介面 down / up 各印一行,程式繼續執行
			ip -n "$ns" link set dtap0 down
			wait_log 5 "$log" '連接埠 0 連結中斷' || fail "介面 down 後沒有連結中斷的訊息"
			ip -n "$ns" link set dtap0 up
			wait_log 5 "$log" '連接埠 0 連結恢復' || fail "介面 up 後沒有連結恢復的訊息"
		fi
		stop_bg "$BG_PID" INT 10 || fail "$mode:結束碼 $?"
		cat "$log"
		expect_eq "$(sumval "$log" p0_icmp)" 3 "$mode:ICMP"
		expect_eq "$(sumval "$log" p0_udp)" 4 "$mode:UDP"
		expect_eq "$(sumval "$log" p0_malformed)" 0 "$mode:malformed"
		expect_eq "$(sumval "$log" p0_ipv6)" 0 "$mode:IPv6(已關閉)"
		no_leftover
	done
	expect_eq "$(sumval "$T_TMP/tap-auto.log" p0_ptype)" hw "net_tap 回報 ptype:使用硬體分類"
	expect_file_match "$T_TMP/tap-auto.log" '封包分類:硬體' "硬體分類的說明"
	expect_file_match "$T_TMP/tap-auto.log" '連結事件 中斷\(LSC callback\)' "net_tap 支援 LSC 中斷"
	expect_eq "$(sumval "$T_TMP/tap-sw.log" p0_ptype)" sw "--ptype sw:軟體分類"
	expect_eq "$(sumval "$T_TMP/tap-auto.log" p0_ipv4)" "$(sumval "$T_TMP/tap-sw.log" p0_ipv4)" "兩種分類的 IPv4 計數"
}

# 多 lcore RSS:-l 0-1 --rxq 2。net_null 支援 RSS 設定;net_af_packet 以 PACKET_FANOUT 雜湊分流
t_rss_multi_lcore() {
	need_dpdk
	dpdk_prefix rss
	timeout 60 "$PROG" -l 0-1 --no-pci --no-huge -m 1024 --file-prefix="$PREFIX" \
		--vdev=net_null0 -- --mode macswap --rxq 2 --duration 2 >"$T_TMP/log" 2>&1 ||
		fail "結束碼 $?:$(tail -n 3 "$T_TMP/log")"
	cat "$T_TMP/log"
	expect_file_match "$T_TMP/log" 'RSS 已啟用\(PMD 回報 rss_hf 0x[0-9a-f]+' "net_null 應啟用 RSS 並讀回 rss_hf"
	expect_eq "$(sumval "$T_TMP/log" lcores)" 2 "轉送 lcore 數"
	expect_ge "$(sumval "$T_TMP/log" p0_q0_rx)" 1000 "佇列 0 的封包"
	expect_ge "$(sumval "$T_TMP/log" p0_q1_rx)" 1000 "佇列 1 的封包"
	expect_file_match "$T_TMP/log" '佇列 1\(lcore [0-9]\):收' "佇列 1 的每秒速率"
	no_leftover

	# 真正依流量雜湊分流:net_af_packet qpairs=2,對端送 32 個不同埠的 UDP 流
	need_cmd ip ethtool
	netns_pair rss rpeer vrss vrpeer 10.78.0.1/24 10.78.0.2/24
	ip -n "$NS_B" neigh replace 10.78.0.10 lladdr 02:00:00:00:00:10 dev vrpeer
	# veth 的 TX checksum offload 讓核心送出的 UDP checksum 只算了一半(CHECKSUM_PARTIAL),
	# 經 AF_PACKET 看到的是還沒完成的值:關掉它,我們的軟體驗證才看得到正確的 checksum
	ip netns exec "$NS_B" ethtool -K vrpeer tx off >/dev/null 2>&1 ||
		skip "無法以 ethtool 關閉 veth 的 TX checksum offload"
	dpdk_prefix rss-afp
	start_ours "$T_TMP/afp.log" ip netns exec "$NS_A" "$PROG" -l 0-1 --no-pci \
		--no-huge -m 1024 --file-prefix="$PREFIX" --vdev=net_af_packet0,iface=vrss,qpairs=2 \
		-- --mode rxonly --rxq 2 --stats-interval 0 --duration 60
	local p
	for p in $(seq 5001 5032); do
		ip netns exec "$NS_B" bash -c "echo x >/dev/udp/10.78.0.10/$p" 2>/dev/null
	done
	sleep 0.5
	stop_bg "$BG_PID" INT 10 || fail "程式結束碼 $?"
	cat "$T_TMP/afp.log"
	expect_ge "$(sumval "$T_TMP/afp.log" p0_udp)" 32 "收到的 UDP"
	expect_eq "$(sumval "$T_TMP/afp.log" p0_malformed)" 0 "checksum 完整的 UDP 不算 malformed"
	expect_ge "$(sumval "$T_TMP/afp.log" p0_q0_rx)" 1 "af_packet 佇列 0 的封包"
	expect_ge "$(sumval "$T_TMP/afp.log" p0_q1_rx)" 1 "af_packet 佇列 1 的封包"
	# rxonly 要收所有封包而開了混雜模式:結束時關掉(不要把 Linux 介面留在混雜模式)
	no_promisc "$NS_A" vrss
	no_leftover
}

# 沒有佇列的 lcore 不空轉:--lcores 0@0,1@1,2@1,一個連接埠一個佇列,lcore 2 閒置。
# 以 /proc 讀每個執行緒的 CPU 時間:lcore 1 忙碌輪詢,lcore 2 幾乎為 0。
t_idle_lcore() {
	need_dpdk
	local pid t busy=-1 idle=-1
	dpdk_prefix idle
	start_ours "$T_TMP/log" "$PROG" --lcores 0@0,1@1,2@1 "${NOHUGE[@]}" --file-prefix="$PREFIX" \
		--vdev=net_null0 -- --mode rxonly --stats-interval 0 --duration 60
	pid=$BG_PID
	sleep 2
	for t in /proc/"$pid"/task/*; do
		case $(cat "$t/comm") in
		rte-worker-1) busy=$(awk '{print $14 + $15}' "$t/stat") ;;
		rte-worker-2) idle=$(awk '{print $14 + $15}' "$t/stat") ;;
		esac
	done
	stop_bg "$pid" INT 10 || fail "結束碼 $?"
	cat "$T_TMP/log"
	echo "CPU 時間(clock ticks):lcore 1 = $busy,lcore 2 = $idle"
	expect_file_match "$T_TMP/log" 'lcore 2 沒有分配到任何 RX 佇列,閒置並結束' "閒置 lcore 的訊息"
	expect_ge "$busy" 50 "輪詢 lcore 的 CPU 時間(2 秒)"
	expect_ge "$idle" 0 "閒置 lcore 的執行緒存在"
	expect_le "$idle" 5 "閒置 lcore 的 CPU 時間"
	expect_eq "$(sumval "$T_TMP/log" lcores)" 1 "轉送 lcore 數"
	no_leftover
}

# telemetry:執行中以 dpdk-telemetry.py 讀我們註冊的指令(全部加總與單一連接埠)
t_telemetry() {
	need_dpdk
	need_cmd dpdk-telemetry.py python3
	dpdk_prefix tel
	start_ours "$T_TMP/log" "$PROG" -l 0-1 "${NOHUGE[@]}" --file-prefix="$PREFIX" \
		--vdev=net_null0 --vdev=net_null1 -- --mode macswap --stats-interval 0 --duration 60
	sleep 1
	echo /packet_processing/stats | timeout 10 dpdk-telemetry.py -f "$PREFIX" >"$T_TMP/all" 2>&1
	echo /packet_processing/stats,1 | timeout 10 dpdk-telemetry.py -f "$PREFIX" >"$T_TMP/p1" 2>&1
	echo /ethdev/stats,0 | timeout 10 dpdk-telemetry.py -f "$PREFIX" >"$T_TMP/eth" 2>&1
	stop_bg "$BG_PID" INT 10 || fail "結束碼 $?"
	cat "$T_TMP/all" "$T_TMP/p1" "$T_TMP/eth"
	python3 - "$T_TMP/all" "$T_TMP/p1" <<'EOF' || fail "telemetry 的回覆不正確:$(tail -c 300 "$T_TMP/all")"
import json, sys
def load(path):
    text = open(path).read()
    return json.loads(text[text.index('{"/packet_processing/stats"'):].splitlines()[0])["/packet_processing/stats"]
a, p = load(sys.argv[1]), load(sys.argv[2])
assert a["mode"] == "macswap" and a["port"] == -1, a
assert a["rx"] > 100000 and a["tx"] > 0 and a["other"] > 0, a
assert p["port"] == 1 and 0 < p["rx"] <= a["rx"] and len(p["queue_rx"]) == 1, p
print("telemetry 正確:全部 rx", a["rx"], "、port 1 rx", p["rx"])
EOF
	expect_file_match "$T_TMP/eth" '"ipackets": [1-9]' "DPDK 內建的 /ethdev/stats 也可讀"
	no_leftover
}

# telemetry 與結束:一個不停查詢的 telemetry 用戶端(像監控系統)在程式結束的整個過程中持續送指令。
# EAL 的 telemetry 執行緒在 rte_eal_cleanup() 之後仍在,隨時會呼叫我們的 callback:程式必須正常結束
# (結束碼 0、SUMMARY),不得讀到已釋放的計數或已解除對應的 DPDK 記憶體而當掉,也不留執行期目錄。
# 最後一輪用 ASan 版本(有的話)。
t_telemetry_shutdown() {
	need_dpdk
	need_cmd python3
	cat >"$T_TMP/ham.py" <<'EOF'
import socket, sys, time
deadline = time.time() + 30
while True:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(sys.argv[1])
        break
    except OSError:
        if time.time() > deadline:
            print("HAMMER no_socket"); sys.exit(1)
        time.sleep(0.01)
s.recv(16384)
n, ok, why = 0, 0, "deadline"
try:
    while time.time() < deadline:
        for cmd in ("/packet_processing/stats", "/packet_processing/stats,0"):
            s.send(cmd.encode())
            r = s.recv(65536)
            if not r:
                raise EOFError
            n += 1
            ok += b'"rx"' in r
except (EOFError, OSError) as e:
    why = type(e).__name__
print("HAMMER requests=%d answered=%d end=%s" % (n, ok, why))
EOF
	local i bin rc
	for i in 1 2 3; do
		bin=$PROG
		if [ "$i" = 3 ] && build_asan dpdk_packet_processing; then
			bin=$T_ASAN_DIR/dpdk_packet_processing
		fi
		dpdk_prefix "telend-$i"
		start_bg "$T_TMP/log$i" "$bin" -l 0-1 "${NOHUGE[@]}" --file-prefix="$PREFIX" \
			--vdev=net_null0 --vdev=net_null1 -- --mode fwd --stats-interval 0 --duration 2
		local prog=$BG_PID
		start_bg "$T_TMP/ham$i" python3 "$T_TMP/ham.py" "/var/run/dpdk/$PREFIX/dpdk_telemetry.v2"
		local ham=$BG_PID
		wait_for 40 gone "$prog" || fail "第 $i 次:程式在結束時卡住了:$(tail -n 3 "$T_TMP/log$i")"
		wait "$prog"
		rc=$?
		wait_for 10 gone "$ham"
		cat "$T_TMP/log$i" "$T_TMP/ham$i"
		expect_eq "$rc" 0 "第 $i 次($(basename "$bin")):telemetry 查詢中結束的結束碼"
		expect_file_match "$T_TMP/log$i" '^SUMMARY ' "第 $i 次:總結"
		expect_ge "$(kv "$T_TMP/ham$i" answered)" 10 "第 $i 次:執行中回答的 telemetry 查詢"
		# 程式關掉 socket 時用戶端正在哪個系統呼叫裡是機率:recv 看到 EOF / reset,send 看到 EPIPE。
		# 三者都是「連線由程式關閉」;只有 deadline(30 秒內程式沒關)才不對
		expect_match "$(kv "$T_TMP/ham$i" end)" '^(EOFError|ConnectionResetError|BrokenPipeError)$' \
			"第 $i 次:用戶端一直查詢到程式結束(連線由程式關閉)"
		! grep -qE 'AddressSanitizer|runtime error' "$T_TMP/log$i" || fail "第 $i 次:sanitizer 報告"
		no_leftover
	done
}

# secondary 行程:主要行程(我們,用 hugepage)執行中,
#   1. --proc-type=secondary(大小寫、縮寫都算,EAL 也這樣解析):一行錯誤,結束碼 64,不碰 EAL;
#   2. --proc-type=auto:EAL 附加失敗(hugepage 已 unlink),清楚的訊息,不刪主要行程的目錄;
#   3. 同一個 --file-prefix 的第二個主要行程:鎖在別人手上,清楚的訊息,不刪目錄。
# 每次之後主要行程仍在、執行期目錄完整、telemetry 仍可讀;最後主要行程正常結束,不留任何東西。
t_secondary_refused() {
	need_dpdk
	need_cmd dpdk-telemetry.py
	dpdk_hugepages 128 || skip "$HUGE_WHY"
	dpdk_prefix prim
	start_ours "$T_TMP/prim.log" "$PROG" -l 0-1 --no-pci -m 64 --file-prefix="$PREFIX" \
		--vdev=net_null0 -- --mode rxonly --stats-interval 0 --duration 60
	local prim=$BG_PID args
	for args in "--proc-type=secondary" "--proc-type=Secondary" "--proc=secondary" "--proc-type=auto" ""; do
		# shellcheck disable=SC2086 # 刻意拆開(空字串 = 不加)
		expect_fail timeout 30 "$PROG" -l 0 --no-pci -m 64 --file-prefix="$PREFIX" $args \
			-- --mode rxonly
		expect_eq "$(grep -cv '^EAL:\|^TELEMETRY:' "$T_TMP/out")" 1 "「${args:-第二個主要行程}」應只有一行錯誤"
		case $args in
		*[Ss]econdary)
			# EAL 不分大小寫、接受縮寫:一樣在 EAL 碰到任何共享狀態之前就拒絕
			expect_file_match "$T_TMP/out" '^錯誤:本程式只以主要行程\(primary\)執行' "「$args」拒絕 secondary"
			! grep -q '^EAL:' "$T_TMP/out" || fail "「$args」:拒絕前已經初始化 EAL"
			;;
		*) expect_file_match "$T_TMP/out" "^錯誤:.*(正由 PID $prim 使用|已有主要行程在執行)" "指出 prefix 正被使用" ;;
		esac
		kill -0 "$prim" 2>/dev/null || fail "「${args:-第二個主要行程}」之後主要行程不見了"
		[ -e "/var/run/dpdk/$PREFIX/config" ] || fail "「${args:-第二個主要行程}」刪掉了主要行程的 /var/run/dpdk/$PREFIX"
		echo /packet_processing/stats | timeout 10 dpdk-telemetry.py -f "$PREFIX" >"$T_TMP/tel" 2>&1
		expect_file_match "$T_TMP/tel" '"rx": [1-9]' "「${args:-第二個主要行程}」之後 telemetry 仍可讀"
	done
	stop_bg "$prim" INT 10 || fail "主要行程結束碼 $?"
	cat "$T_TMP/prim.log"
	expect_file_match "$T_TMP/prim.log" '^SUMMARY ' "主要行程的總結"
	no_leftover
}

# hugepage 檔案與執行期目錄:正常結束、SIGINT、初始化失敗之後都不留任何東西;
# 使用者要求保留檔案(--huge-unlink=existing,讓 dpdk-proc-info 附加)時執行中檔案在、結束後刪除;
# 預設被 SIGKILL 也不留 hugepage 檔案(只剩執行期目錄,沒有程式能替被殺掉的行程清理)。
t_hugepage_cleanup() {
	need_dpdk
	dpdk_hugepages 128 || skip "$HUGE_WHY"
	local common=(--no-pci -m 64 --vdev=net_null0 --vdev=net_null1)
	# 1. 正常結束(--duration)
	dpdk_prefix huge-clean
	timeout 60 "$PROG" -l 0-1 "${common[@]}" --file-prefix="$PREFIX" -- --mode macswap \
		--duration 1 >"$T_TMP/log" 2>&1 || fail "結束碼 $?:$(tail -n 3 "$T_TMP/log")"
	cat "$T_TMP/log"
	expect_ge "$(sumval "$T_TMP/log" rx)" 100000 "有 hugepage 時收到的封包"
	no_leftover
	# 2. SIGINT
	dpdk_prefix huge-int
	start_ours "$T_TMP/int.log" "$PROG" -l 0-1 "${common[@]}" --file-prefix="$PREFIX" -- \
		--mode macswap --duration 60
	stop_bg "$BG_PID" INT 10 || fail "SIGINT 後結束碼 $?"
	no_leftover
	# 3. 初始化失敗(不存在的 vdev:記憶體已對應,裝置探測才失敗)
	dpdk_prefix huge-fail
	expect_fail timeout 60 "$PROG" -l 0 --no-pci -m 64 --file-prefix="$PREFIX" \
		--vdev=net_bogus0 -- --mode rxonly
	expect_file_match "$T_TMP/out" '錯誤:EAL 初始化失敗' "不存在的 vdev"
	no_leftover
	# 4. --huge-unlink=existing:執行中檔案存在(secondary 可附加),結束後由我們刪除
	dpdk_prefix huge-keep
	start_ours "$T_TMP/keep.log" "$PROG" -l 0-1 "${common[@]}" --huge-unlink=existing \
		--file-prefix="$PREFIX" -- --mode macswap --duration 60
	compgen -G "/dev/hugepages/${PREFIX}map_*" >/dev/null || fail "--huge-unlink=existing 執行中應有 hugepage 檔案"
	stop_bg "$BG_PID" INT 10 || fail "--huge-unlink=existing 結束碼 $?"
	no_leftover
	# 5. 預設被 SIGKILL:hugepage 檔案早已 unlink
	dpdk_prefix huge-kill
	start_ours "$T_TMP/kill.log" "$PROG" -l 0-1 "${common[@]}" --file-prefix="$PREFIX" -- \
		--mode macswap --duration 60
	kill -KILL "$BG_PID"
	wait "$BG_PID" 2>/dev/null
	no_huge_files "$PREFIX"
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

# 其他結束方式:輸出接到 head(讀完幾行就關掉管線:下一次寫入收到 SIGPIPE)與 SIGHUP(關掉終端機、
# ssh 斷線)都和 Ctrl-C 一樣正常結束:結束碼 0、停止並關閉連接埠、不留執行期目錄
t_pipe_and_hup() {
	need_dpdk
	local rc t0
	dpdk_prefix pipe
	t0=$SECONDS
	timeout 60 "$PROG" -l 0-1 "${NOHUGE[@]}" --file-prefix="$PREFIX" --vdev=net_null0 -- \
		--mode rxonly --stats-interval 1 --duration 30 2>&1 | head -n 3 >"$T_TMP/head"
	rc=${PIPESTATUS[0]}
	cat "$T_TMP/head"
	expect_eq "$rc" 0 "輸出管線關閉(SIGPIPE)後的結束碼"
	expect_le $((SECONDS - t0)) 20 "輸出管線關閉後應該很快結束(秒)"
	no_leftover
	dpdk_prefix hup
	start_ours "$T_TMP/hup.log" "$PROG" -l 0-1 "${NOHUGE[@]}" --file-prefix="$PREFIX" \
		--vdev=net_null0 -- --mode rxonly --stats-interval 0 --duration 60
	stop_bg "$BG_PID" HUP 10
	rc=$?
	cat "$T_TMP/hup.log"
	expect_eq "$rc" 0 "SIGHUP 後的結束碼"
	expect_file_match "$T_TMP/hup.log" '已停止並關閉 1 個連接埠' "SIGHUP 後關閉連接埠"
	expect_file_match "$T_TMP/hup.log" '^SUMMARY ' "SIGHUP 後的總結"
	no_leftover
}

# --file-prefix 是 /var/run/dpdk/ 底下的目錄名稱,程式結束時整個刪除:
#   1. 「.」、含「/」的名稱、空字串(EAL 自己只擋「%」)在 EAL 之前以一行錯誤拒絕(結束碼 64),
#      /var/run/dpdk 裡別人的檔案不受影響(「.」的執行期目錄就是 /var/run/dpdk 本身);
#      EAL 也接受縮寫(--file=.),同樣拒絕;
#   2. 重複的 --file-prefix 由最後一個生效(EAL 的規則):結束時刪除的是它的 hugepage 檔案,
#      不是第一個名稱(可能是別的行程)的 /dev/hugepages/<名稱>map_*。
t_prefix_safety() {
	need_dpdk
	local canary=/var/run/dpdk/kbs-canary-$$ bad victim
	mkdir -p /var/run/dpdk
	echo keep >"$canary"
	on_exit "rm -f '$canary'"
	for bad in "--file-prefix=." "--file=." "--file-prefix=kbs-a/b" "--file-prefix="; do
		expect_exit 64 timeout 30 "$PROG" -l 0 "${NOHUGE[@]}" "$bad" --vdev=net_null0 -- \
			--mode rxonly --duration 1 --stats-interval 0
		expect_eq "$(wc -l <"$T_TMP/out")" 1 "「$bad」的錯誤訊息應為一行"
		expect_file_match "$T_TMP/out" '^錯誤:--file-prefix' "「$bad」的錯誤訊息"
		[ -f "$canary" ] || fail "「$bad」刪掉了 /var/run/dpdk 裡別人的檔案"
	done
	grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts || skip "/dev/hugepages 沒有掛載 hugetlbfs"
	victim=kbs-victim-$$-$RANDOM
	touch "/dev/hugepages/${victim}map_0" || skip "無法在 /dev/hugepages 建立檔案"
	on_exit "rm -f '/dev/hugepages/${victim}map_0'"
	dpdk_prefix dup
	timeout 60 "$PROG" -l 0 "${NOHUGE[@]}" --file-prefix="$victim" --file-prefix="$PREFIX" \
		--vdev=net_null0 -- --mode rxonly --duration 1 --stats-interval 0 >"$T_TMP/dup" 2>&1 ||
		fail "重複的 --file-prefix:結束碼 $?:$(tail -n 3 "$T_TMP/dup")"
	[ -e "/dev/hugepages/${victim}map_0" ] || fail "結束時刪掉了第一個 --file-prefix($victim)的 hugepage 檔案"
	[ ! -e "/var/run/dpdk/$victim" ] || fail "用了第一個 --file-prefix 當執行期目錄"
	no_leftover
}

# root 下的錯誤:不存在的 vdev、遮罩選到不存在的連接埠、佇列超過裝置上限、沒有連接埠;
# 每一次都不留執行期目錄
t_bad_setup() {
	need_dpdk
	dpdk_prefix bad1
	expect_fail timeout 60 "$PROG" -l 0 "${NOHUGE[@]}" --file-prefix="$PREFIX" \
		--vdev=net_bogus0 -- --mode rxonly
	expect_file_match "$T_TMP/out" '錯誤:EAL 初始化失敗' "不存在的 vdev"
	no_leftover
	dpdk_prefix bad2
	expect_exit 64 timeout 60 "$PROG" -l 0 "${NOHUGE[@]}" --file-prefix="$PREFIX" \
		--vdev=net_null0 -- -p 0x4
	expect_file_match "$T_TMP/out" '不存在的連接埠' "遮罩的錯誤訊息"
	no_leftover
	dpdk_prefix bad3
	gen_pcap
	expect_fail timeout 60 "$PROG" -l 0-1 "${NOHUGE[@]}" --file-prefix="$PREFIX" \
		--vdev="net_pcap0,rx_pcap=$T_TMP/in.pcap,tx_pcap=$T_TMP/o.pcap" -- --rxq 2
	expect_file_match "$T_TMP/out" '最多 1 個 RX' "佇列數超過上限"
	no_leftover
	dpdk_prefix bad4
	expect_fail timeout 60 "$PROG" -l 0 "${NOHUGE[@]}" --file-prefix="$PREFIX"
	expect_file_match "$T_TMP/out" '找不到任何連接埠.*dpdk-devbind.py.*--vdev' "沒有連接埠的提示"
	no_leftover
}

check help t_help
check help_aligned t_help_aligned
check bad_options t_bad_options
check not_root_hint t_not_root_hint
check seed_usage t_seed_usage
check pcap_rxonly t_pcap_rxonly
check pcap_macswap t_pcap_macswap
check pcap_respond t_pcap_respond
check golden_outputs t_golden_outputs
check pcap_l4_cksum t_pcap_l4_cksum
check vdev_probe_errors t_vdev_probe_errors
check pcap_asan t_pcap_asan
check fwd_null_pair t_fwd_null_pair
check memif_testpmd t_memif_testpmd
check memif_hostile_peer t_memif_hostile_peer
check af_packet_ping t_af_packet_ping
check af_packet_malformed_flood t_af_packet_malformed_flood
check af_packet_iface_gone t_af_packet_iface_gone
check af_xdp_ping t_af_xdp_ping
check af_xdp_rxonly_counts t_af_xdp_rxonly_counts
check af_xdp_small_ring t_af_xdp_small_ring
check wiregen_frames t_wiregen_frames
check parse_cost_tool t_parse_cost_tool
check host_policy t_host_policy
check af_xdp_iface_gone t_af_xdp_iface_gone
check af_xdp_tx_chains t_af_xdp_tx_chains
check iface_promisc t_iface_promisc
check af_xdp_exit t_af_xdp_exit
check af_xdp_fallback t_af_xdp_fallback
check tap_hw_ptype t_tap_hw_ptype
check rss_multi_lcore t_rss_multi_lcore
check idle_lcore t_idle_lcore
check telemetry t_telemetry
check telemetry_shutdown t_telemetry_shutdown
check secondary_refused t_secondary_refused
check hugepage_cleanup t_hugepage_cleanup
check lifecycle_sigint t_lifecycle_sigint
check lifecycle_sigterm t_lifecycle_sigterm
check pipe_and_hup t_pipe_and_hup
check bad_setup t_bad_setup
check prefix_safety t_prefix_safety
