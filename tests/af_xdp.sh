#!/bin/bash
# tests/af_xdp.sh — af_xdp_socket 的測試
#
# 每項檢查都建立自己的兩個命名空間(kbs-xa-PID / kbs-xb-PID),以單一佇列的 veth 相連:
#   A: va 198.18.0.1  ← af_xdp_socket 在這裡
#   B: vb 198.18.0.2  ← 對端:ping、tests/tools/xdp_peer
# 檢查結束(成功、失敗或中斷)時刪除命名空間,XDP 程式隨之消失。
# 需要 root 的檢查在基本模式下略過並說明原因。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT" || exit 1

XDP=$T_ROOT/af_xdp_socket
ASAN=$T_ASAN_DIR/af_xdp_socket
PEER=$T_ROOT/tests/tools/xdp_peer

# xdp_env [MTU]:建立命名空間與 veth,關掉 IPv6(避免多餘的封包干擾計數)
xdp_env() {
	need_full
	need_root
	need_bin "$XDP" "$PEER"
	need_cmd ip ping
	netns_pair xa xb va vb 198.18.0.1/24 198.18.0.2/24
	local ns
	for ns in "$NS_A" "$NS_B"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	done
	if [ -n "${1:-}" ]; then
		ip -n "$NS_A" link set va mtu "$1"
		ip -n "$NS_B" link set vb mtu "$1"
	fi
	VA_MAC=$(ip -n "$NS_A" -br link show va | awk '{print $3}')
	VB_MAC=$(ip -n "$NS_B" -br link show vb | awk '{print $3}')
}

# xdp_start 程式 [選項…]:在 A 的 va 佇列 0 啟動,等它回報實際模式
xdp_start() {
	local bin=$1
	shift
	XLOG=$T_TMP/xdp.log
	start_bg "$XLOG" ip netns exec "$NS_A" "$bin" "$@" va 0
	XPID=$BG_PID
	wait_log 15 "$XLOG" '實際生效|錯誤' || fail "af_xdp_socket 沒有啟動:$(head -c 300 "$XLOG")"
	grep -q '實際生效' "$XLOG" || fail "af_xdp_socket 啟動失敗:$(grep -m1 錯誤 "$XLOG")"
}

# xdp_stop [訊號]:停止並要求結束碼 0 與 SUMMARY
xdp_stop() {
	local rc=0
	stop_bg "$XPID" "${1:-TERM}" 10 || rc=$?
	cat "$XLOG"
	[ "$rc" -eq 0 ] || fail "af_xdp_socket 結束碼 $rc:$(grep -m1 -E 'ERROR|runtime error|錯誤' "$XLOG")"
	grep -q '^SUMMARY ' "$XLOG" || fail "沒有 SUMMARY"
}


no_xdp_left() {
	if ip -n "$NS_A" link show va | grep -q 'prog/xdp'; then
		ip -n "$NS_A" link show va
		fail "$1 之後 va 上還掛著 XDP 程式"
	fi
}

# ---- respond ----
t_respond() { # 掛載旗標…
	xdp_env
	xdp_start "$XDP" -q "$@"
	ip -n "$NS_B" neigh flush all
	ip netns exec "$NS_B" ping -c 200 -i 0.005 -W 2 198.18.0.1 >"$T_TMP/ping" 2>&1
	cat "$T_TMP/ping"
	grep -q ' 0% packet loss' "$T_TMP/ping" || fail "ping 有遺失:$(grep 'packet loss' "$T_TMP/ping")"
	# ARP 由程式回答:對端學到的 MAC 是 va 的
	ip -n "$NS_B" neigh show 198.18.0.1 | grep -qi "$VA_MAC" || fail "對端的鄰居表沒有 va 的 MAC"
	xdp_stop
	expect_ge "$(kv "$XLOG" arp_reply)" 1 "程式回答的 ARP 數"
	expect_ge "$(kv "$XLOG" icmp_reply)" 200 "程式回答的 ICMP 數"
	no_xdp_left "正常結束"
}

t_respond_default_mode() {
	xdp_env
	xdp_start "$XDP" -q
	expect_file_match "$XLOG" 'native \+ zero-copy 失敗' "應先嘗試 zero-copy 並回報退回"
	expect_file_match "$XLOG" '實際生效.*native.*copy 模式' "應回報實際生效的模式"
	ip netns exec "$NS_B" ping -c 20 -i 0.01 -W 2 198.18.0.1 >"$T_TMP/ping" 2>&1 || fail "ping 失敗"
	xdp_stop
}

t_respond_poll_modes() {
	xdp_env
	local m
	for m in -p -B; do
		xdp_start "$XDP" -q "$m"
		ip netns exec "$NS_B" ping -c 50 -i 0.005 -W 2 198.18.0.1 >"$T_TMP/ping" 2>&1
		grep -q ' 0% packet loss' "$T_TMP/ping" || fail "$m 模式 ping 有遺失"
		[ "$m" = -B ] && expect_file_match "$XLOG" 'busy-poll' "-B 應回報 busy-poll 狀態"
		xdp_stop
	done
}

# ---- rxdrop / txonly / l2fwd ----
t_rxdrop() {
	xdp_env
	local n=20000
	xdp_start "$XDP" -q -m rxdrop
	ip netns exec "$NS_B" "$PEER" send vb "$n" 40000 || fail "送出失敗"
	sleep 0.5
	xdp_stop
	expect_eq "$(kv "$XLOG" rx)" "$n" "rxdrop 收到的封包數"
	expect_eq "$(kv "$XLOG" rx_dropped)" 0 "XDP_STATISTICS rx_dropped"
	expect_eq "$(kv "$XLOG" rx_ring_full)" 0 "XDP_STATISTICS rx_ring_full"
}

t_txonly() {
	xdp_env
	local n=5000
	ip netns exec "$NS_B" "$PEER" count vb 4 9001 >"$T_TMP/count" 2>&1 &
	local cpid=$!
	on_exit "kill $cpid 2>/dev/null"
	sleep 0.3
	XLOG=$T_TMP/xdp.log
	ip netns exec "$NS_A" "$XDP" -q -m txonly --dst-ip 198.18.0.2 --dst-mac "$VB_MAC" --count "$n" \
		--rate 20000 va 0 >"$XLOG" 2>&1 || fail "txonly 結束碼非零:$(grep -m1 錯誤 "$XLOG")"
	cat "$XLOG"
	wait "$cpid"
	cat "$T_TMP/count"
	expect_eq "$(kv "$XLOG" tx)" "$n" "程式送出的封包數"
	expect_eq "$(kv "$T_TMP/count" received)" "$n" "對端收到的 UDP 封包數"
	no_xdp_left "txonly 結束"
}

t_l2fwd() {
	xdp_env
	xdp_start "$XDP" -q -m l2fwd
	ip netns exec "$NS_B" "$PEER" l2fwd vb 1000 >"$T_TMP/l2" 2>&1
	local rc=$?
	cat "$T_TMP/l2"
	xdp_stop
	[ "$rc" -eq 0 ] || fail "l2fwd:$(cat "$T_TMP/l2")"
}

# ---- 格式錯誤的 frame(ASan + UBSan 版本) ----
t_malformed_asan() {
	xdp_env 3900 # 3840 B 的 frame 需要大 MTU;native XDP 在這個 MTU 不能用,所以用 SKB 模式
	build_asan || fail "make SANITIZE=1 失敗"
	need_bin "$ASAN"
	xdp_start "$ASAN" -q -S
	ip netns exec "$NS_B" "$PEER" corpus vb "$VA_MAC" 198.18.0.1 >"$T_TMP/corpus" 2>&1
	local rc=$?
	cat "$T_TMP/corpus"
	sleep 0.3
	xdp_stop
	[ "$rc" -eq 0 ] || fail "回覆不正確:$(cat "$T_TMP/corpus")"
	expect_ge "$(kv "$T_TMP/corpus" malformed)" 30 "格式錯誤的種類數"
	expect_eq "$(kv "$XLOG" rx)" "$(kv "$T_TMP/corpus" sent)" "每個 frame 都應計為收到"
	expect_eq "$(kv "$XLOG" tx)" "$(kv "$T_TMP/corpus" valid)" "只有合法請求得到回覆"
}

# ---- 生命週期 ----
t_lifecycle_signal() { # 訊號
	xdp_env
	xdp_start "$XDP" -q -m rxdrop
	ip -n "$NS_A" link show va | grep -q 'prog/xdp' || fail "執行中應該看得到 XDP 程式"
	xdp_stop "$1"
	expect_file_match "$XLOG" '總結' "SIG$1 後的總結"
	no_xdp_left "SIG$1"
}

t_lifecycle_duration() {
	xdp_env
	expect_exit 0 ip netns exec "$NS_A" "$XDP" -q -m rxdrop --duration 1 va 0
	expect_file_match "$T_TMP/out" '^SUMMARY' "SUMMARY"
	no_xdp_left "--duration 結束"
}

t_zerocopy_veth() {
	xdp_env
	expect_fail ip netns exec "$NS_A" "$XDP" -q -N -z va 0
	expect_file_match "$T_TMP/out" 'zero-copy' "錯誤訊息應說明 zero-copy 不支援"
	expect_eq "$(grep -c '^錯誤' "$T_TMP/out")" 1 "錯誤訊息行數"
	no_xdp_left "zero-copy 失敗(致命錯誤路徑)"
}

t_native_mtu_too_big() {
	xdp_env 3900
	expect_fail ip netns exec "$NS_A" "$XDP" -q -N va 0
	expect_file_match "$T_TMP/out" 'MTU' "錯誤訊息應提示對端 MTU"
	no_xdp_left "native 掛載失敗"
}

t_already_attached() {
	xdp_env
	xdp_start "$XDP" -q -S -m rxdrop
	expect_fail ip netns exec "$NS_A" "$XDP" -q -N va 0
	expect_file_match "$T_TMP/out" '已經掛著 XDP 程式.*SKB' "應回報已掛載的程式與其模式"
	kill -0 "$XPID" || fail "第一個程式不應受影響"
	xdp_stop
	no_xdp_left "結束"
}

t_bad_iface_queue() {
	xdp_env
	expect_fail ip netns exec "$NS_A" "$XDP" nosuchif0 0
	expect_file_match "$T_TMP/out" '沒有名為' "不存在的介面"
	expect_fail ip netns exec "$NS_A" "$XDP" va 5
	expect_file_match "$T_TMP/out" '超出範圍.*ethtool -l' "佇列超出範圍"
}

# 不需要 root
t_not_root() {
	need_bin "$XDP"
	is_root || {
		expect_fail "$XDP" lo 0
		expect_file_match "$T_TMP/out" '需要 root' "非 root 訊息"
		return
	}
	expect_fail as_user "$XDP" lo 0
	expect_file_match "$T_TMP/out" '需要 root' "非 root 訊息"
}

t_bad_args() {
	need_bin "$XDP"
	local args
	for args in "" "-m bogus lo" "-b 0 lo" "-b 999 lo" "--frames 100 lo" "--frame-size 1000 lo" \
		"-S -N lo" "-c -z lo" "-m txonly lo" "--dst-ip 1.2.3 lo" "--dst-mac zz lo" "lo 0 extra" \
		"abcdefghijklmnopq 0" "--size 10 lo" "lo -1" "--bogus lo"; do
		# shellcheck disable=SC2086 # 刻意分詞
		expect_exit 64 "$XDP" $args
		expect_eq "$(wc -l <"$T_TMP/out")" 1 "「$args」的錯誤訊息行數"
	done
	expect_exit 0 "$XDP" --help
	expect_file_match "$T_TMP/out" 'respond' "--help"
}

check bad_args t_bad_args
check not_root t_not_root
check respond_skb t_respond -S
check respond_native t_respond -N
check respond_default_mode t_respond_default_mode
check respond_poll_busy_poll t_respond_poll_modes
check rxdrop_count t_rxdrop
check txonly_peer_count t_txonly
check l2fwd_swapped t_l2fwd
check malformed_corpus_asan t_malformed_asan
check lifecycle_sigint t_lifecycle_signal INT
check lifecycle_sigterm t_lifecycle_signal TERM
check lifecycle_duration t_lifecycle_duration
check zerocopy_on_veth t_zerocopy_veth
check native_peer_mtu t_native_mtu_too_big
check already_attached t_already_attached
check bad_iface_queue t_bad_iface_queue
