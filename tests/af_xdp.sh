#!/bin/bash
# tests/af_xdp.sh — af_xdp_socket 的測試
#
# 每項檢查都建立自己的兩個命名空間(kbs-xa-PID / kbs-xb-PID),以 veth 相連:
#   A: va 198.18.0.1  ← af_xdp_socket 在這裡
#   B: vb 198.18.0.2  ← 對端:ping、nc、tests/tools/xdp_peer、另一個 af_xdp_socket(txonly 產生器)
# 檢查結束(成功、失敗或中斷)時刪除命名空間,XDP 程式隨之消失。
# 重點:程式只拿它處理的封包(ARP/ping 或 UDP 9 埠),TCP、IPv6、其他 UDP 照常由核心處理;
# 對端送洪水、格式錯誤的 frame、介面消失時,程式不當掉、不留下 XDP 程式。
# 需要 root 的檢查在基本模式下略過並說明原因。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT" || exit 1

XDP=$T_ROOT/af_xdp_socket
ASAN=$T_ASAN_DIR/af_xdp_socket
PEER=$T_ROOT/tests/tools/xdp_peer
PKT_RX=$T_ROOT/bench/pkt_rx

# xdp_env [MTU] [佇列數] [ipv6]:建立命名空間與 veth。
# 預設關掉 IPv6(避免多餘的封包干擾計數);第三個參數為 ipv6 時保留並設定 fd00::1 / fd00::2。
xdp_env() {
	need_full
	need_root
	need_bin "$XDP" "$PEER"
	need_cmd ip ping
	netns_pair xa xb va vb 198.18.0.1/24 198.18.0.2/24 "${2:-1}"
	local ns
	for ns in "$NS_A" "$NS_B"; do
		if [ "${3:-}" = ipv6 ]; then
			ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
		else
			ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
			ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
		fi
	done
	if [ "${3:-}" = ipv6 ]; then
		ip -n "$NS_A" addr add fd00::1/64 dev va nodad
		ip -n "$NS_B" addr add fd00::2/64 dev vb nodad
	fi
	if [ -n "${1:-}" ]; then
		ip -n "$NS_A" link set va mtu "$1"
		ip -n "$NS_B" link set vb mtu "$1"
	fi
	VA_MAC=$(ip -n "$NS_A" -br link show va | awk '{print $3}')
	VB_MAC=$(ip -n "$NS_B" -br link show vb | awk '{print $3}')
}

# xdp_start 程式 佇列 [選項…]:在 A 的 va 上啟動,等它回報實際模式
xdp_start() {
	local bin=$1 q=$2
	shift 2
	XLOG=$T_TMP/xdp.log
	# 先在這裡清空:start_bg 的重新導向在背景才執行,wait_log 可能先讀到上一次啟動留下的「實際生效」
	: >"$XLOG"
	start_bg "$XLOG" ip netns exec "$NS_A" "$bin" "$@" va "$q"
	XPID=$BG_PID
	wait_log 15 "$XLOG" '實際生效|錯誤' || fail "af_xdp_socket 沒有啟動:$(head -c 300 "$XLOG")"
	grep -q '實際生效' "$XLOG" || {
		sleep 0.2 # 讓錯誤訊息寫完再印
		cat "$XLOG"
		fail "af_xdp_socket 啟動失敗:$(grep -m1 錯誤 "$XLOG")"
	}
}

# xdp_stop [訊號]:停止並要求結束碼 0 與 SUMMARY
xdp_stop() {
	local rc=0
	stop_bg "$XPID" "${1:-TERM}" 10 || rc=$?
	cat "$XLOG"
	[ "$rc" -eq 0 ] || fail "af_xdp_socket 結束碼 $rc:$(grep -m1 -E 'ERROR|runtime error|錯誤' "$XLOG")"
	grep -q '^SUMMARY ' "$XLOG" || fail "沒有 SUMMARY"
}

has_xdp() { ip -n "$NS_A" link show va | grep -q 'prog/xdp'; }
xdp_id() { ip -n "$NS_A" link show va | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p'; }
no_xdp_left() {
	if has_xdp; then
		ip -n "$NS_A" link show va
		fail "$1 之後 va 上還掛著 XDP 程式"
	fi
}

# ping_ok 次數 間隔:B ping A,要求 0% 遺失
ping_ok() {
	ip netns exec "$NS_B" ping -c "$1" -i "$2" -W 2 198.18.0.1 >"$T_TMP/ping" 2>&1
	cat "$T_TMP/ping"
	grep -q ' 0% packet loss' "$T_TMP/ping" || fail "ping 有遺失:$(grep 'packet loss' "$T_TMP/ping")"
}

# tcp_exact 位元組數:B 以 TCP 送隨機資料給 A 的核心(nc),要求逐位元組相同
tcp_exact() {
	need_cmd nc sha256sum
	head -c "$1" /dev/urandom >"$T_TMP/tcp.in"
	ip netns exec "$NS_A" timeout 30 nc -l -p 5001 >"$T_TMP/tcp.out" &
	local lpid=$!
	on_exit "kill $lpid 2>/dev/null"
	wait_for 5 ip netns exec "$NS_A" ss -Hltn 'sport = :5001' || fail "nc 沒有開始監聽"
	local rc=0
	ip netns exec "$NS_B" timeout 30 nc -v -q 1 198.18.0.1 5001 <"$T_TMP/tcp.in" 2>"$T_TMP/nc.err" || rc=$?
	cat "$T_TMP/nc.err"
	[ $rc = 0 ] || fail "TCP 連線失敗(nc 結束碼 $rc:$(tr '\n' ' ' <"$T_TMP/nc.err"))"
	wait "$lpid"
	[ "$(sha256sum <"$T_TMP/tcp.in")" = "$(sha256sum <"$T_TMP/tcp.out")" ] ||
		fail "TCP 資料不一致:送 $(stat -c %s "$T_TMP/tcp.in") 位元組,收 $(stat -c %s "$T_TMP/tcp.out")"
}

# ---- respond:只拿 ARP 與 ping ----
t_respond() { # 掛載旗標…
	xdp_env
	xdp_start "$XDP" 0 -q "$@"
	ip -n "$NS_B" neigh del 198.18.0.1 dev vb 2>/dev/null
	ping_ok 200 0.005
	# ARP 由程式回答:對端學到的 MAC 是 va 的
	ip -n "$NS_B" neigh show 198.18.0.1 | grep -qi "$VA_MAC" || fail "對端的鄰居表沒有 va 的 MAC"
	xdp_stop
	expect_ge "$(kv "$XLOG" arp_reply)" 1 "程式回答的 ARP 數"
	expect_ge "$(kv "$XLOG" icmp_reply)" 200 "程式回答的 ICMP 數"
	expect_eq "$(kv "$XLOG" xdp_redirected)" "$(kv "$XLOG" rx)" "XDP 程式導向的數量 = 使用者空間收到的數量"
	no_xdp_left "正常結束"
}

t_respond_default_mode() {
	xdp_env
	xdp_start "$XDP" 0 -q
	expect_file_match "$XLOG" 'native \+ zero-copy 失敗' "應先嘗試 zero-copy 並回報退回"
	expect_file_match "$XLOG" '實際生效.*native.*copy 模式' "應回報實際生效的模式"
	expect_file_match "$XLOG" '掛載方式:bpf_link' "應以 bpf_link 掛載並說明"
	if grep -E 'ip link set|--unload' "$XLOG"; then fail "bpf_link 掛載時不應印出任何卸載指令"; fi
	ping_ok 20 0.01
	xdp_stop
}

# 大 MTU 介面:放不進 UMEM frame(2048 - 256 位元組)的 ping 由核心回答,不是被導過來丟掉
t_respond_jumbo() { # 掛載旗標…
	xdp_env 3000
	xdp_start "$XDP" 0 -q "$@"
	ip netns exec "$NS_B" ping -c 5 -i 0.05 -W 2 -M "do" -s 2500 198.18.0.1 >"$T_TMP/ping" 2>&1
	cat "$T_TMP/ping"
	grep -q ' 0% packet loss' "$T_TMP/ping" || fail "2528 位元組的 ping 沒有回應:$(grep 'packet loss' "$T_TMP/ping")"
	ping_ok 5 0.05
	xdp_stop
	expect_eq "$(kv "$XLOG" icmp_reply)" 5 "程式只回答放得下的 ping"
	expect_eq "$(kv "$XLOG" rx_dropped)" 0 "核心丟棄(放不下的 frame 不應被導過來)"
}

# 程式執行時,核心照常處理它不拿的流量:TCP 逐位元組正確、IPv6 與其他 UDP 埠到得了核心
t_coexist() {
	xdp_env "" 1 ipv6
	need_cmd nc
	xdp_start "$XDP" 0 -q
	tcp_exact 2000000
	ping_ok 20 0.01
	ip netns exec "$NS_B" ping -6 -c 5 -i 0.05 -W 2 fd00::1 >"$T_TMP/ping6" 2>&1 ||
		fail "IPv6 ping 沒有回應(應由核心回答):$(tail -n1 "$T_TMP/ping6")"
	# 其他 UDP 埠:核心的 socket 收得到
	ip netns exec "$NS_A" timeout 10 nc -u -l -p 5353 >"$T_TMP/udp.out" &
	local upid=$!
	on_exit "kill $upid 2>/dev/null"
	sleep 0.3
	echo "udp-to-kernel" | ip netns exec "$NS_B" nc -u -w 1 198.18.0.1 5353
	sleep 0.3
	kill "$upid" 2>/dev/null
	grep -q udp-to-kernel "$T_TMP/udp.out" || fail "送到 UDP 5353 的資料沒有到核心"
	xdp_stop
	expect_ge "$(kv "$XLOG" icmp_reply)" 20 "IPv4 ping 由程式回答"
	expect_ge "$(kv "$XLOG" xdp_passed)" 100 "XDP 程式交給核心的封包數(TCP、IPv6、UDP)"
	expect_eq "$(kv "$XLOG" not_for_us)" 0 "使用者空間不應收到不是給它的封包"
	expect_eq "$(kv "$XLOG" other)" 0 "使用者空間不應收到其他協定"
}

# 敵意的對端:ping 洪水 + 同時的 TCP 傳輸;TCP 仍逐位元組正確,程式照樣回答
t_flood() {
	xdp_env
	xdp_start "$XDP" 0 -q
	ip netns exec "$NS_B" ping -f -c 20000 -s 1400 198.18.0.1 >"$T_TMP/flood" 2>&1 &
	local fpid=$!
	on_exit "kill $fpid 2>/dev/null"
	tcp_exact 4000000
	wait "$fpid"
	cat "$T_TMP/flood"
	xdp_stop
	expect_ge "$(kv "$XLOG" icmp_reply)" 1000 "洪水中程式回答的 ping"
	no_xdp_left "洪水之後"
}

# ---- 主機設定:程式執行時的答案要和「只有核心」時完全一樣 ----
in_a() { ip netns exec "$NS_A" "$@"; }
# 探測:B 送 5 個請求,印出收到的回覆數
probe_ping() { ip netns exec "$NS_B" ping -c 5 -i 0.05 -W 1 198.18.0.1 2>/dev/null | sed -n 's/.* \([0-9]*\) received.*/\1/p'; }
probe_bcast() { ip netns exec "$NS_B" ping -b -c 5 -i 0.05 -W 1 198.18.0.255 2>/dev/null | sed -n 's/.* \([0-9]*\) received.*/\1/p'; }
probe_arp() { ip netns exec "$NS_B" "$PEER" arp vb 198.18.0.1 "$1" 5 | sed -n 's/.*replies=\([0-9]*\).*/\1/p'; }

# 等程式說出第 N 次「主機設定改變」(它每秒重讀一次)
wait_policy_change() {
	wait_for 4 sh -c "[ \$(grep -c '主機設定改變' '$XLOG') -ge $1 ]" || fail "4 秒內沒有看到第 $1 次主機設定改變:$(tail -n 3 "$XLOG")"
}

# t_policy 探測 寬鬆的設定 嚴格的設定 回覆計數鍵|-
# 先量只有核心時兩種設定的回覆數(必須不同,否則這個檢查沒有意義);再以嚴格的設定啟動程式,
# 執行中改成寬鬆、再改回嚴格:每種狀態的回覆數都要和只有核心時一樣。
# 計數鍵不是 - 時,寬鬆狀態下的回覆要是程式自己送的(SUMMARY 的計數 >= 5),證明它真的在拿。
t_policy() {
	xdp_env
	local probe=$1 open=$2 strict=$3 key=$4 k_open k_strict x0 x1 x2 changes=0
	[ "$key" = - ] || changes=2
	eval "$open"
	k_open=$($probe)
	eval "$strict"
	k_strict=$($probe)
	echo "只有核心:寬鬆 $k_open 個回覆,嚴格 $k_strict 個"
	[ "$k_open" != "$k_strict" ] || fail "只有核心時兩種設定的回覆數一樣($k_open):這個檢查沒有意義"
	xdp_start "$XDP" 0 -q
	x0=$($probe)
	expect_eq "$x0" "$k_strict" "啟動時就是嚴格設定:回覆數"
	eval "$open"
	if [ "$changes" -gt 0 ]; then wait_policy_change 1; else sleep 1.5; fi
	x1=$($probe)
	expect_eq "$x1" "$k_open" "執行中改成寬鬆設定:回覆數"
	eval "$strict"
	if [ "$changes" -gt 0 ]; then wait_policy_change 2; else sleep 1.5; fi
	x2=$($probe)
	expect_eq "$x2" "$k_strict" "執行中改回嚴格設定:回覆數"
	xdp_stop
	echo "程式執行中:啟動時嚴格 $x0、改成寬鬆 $x1、再改回嚴格 $x2"
	[ "$key" = - ] || expect_ge "$(kv "$XLOG" "$key")" 5 "寬鬆設定時由程式回答的數量($key)"
	expect_eq "$(grep -c '主機設定改變' "$XLOG")" "$changes" "說明主機設定改變的行數"
}

# icmp_ratemask 含 echo reply(bit 0):核心會限速回覆,所以 ping 交給核心,程式不再拿
t_policy_ratemask() {
	xdp_env
	xdp_start "$XDP" 0 -q
	ping_ok 5 0.05
	local mask
	mask=$(in_a sysctl -n net.ipv4.icmp_ratemask)
	in_a sysctl -qw net.ipv4.icmp_ratemask=$((mask | 1))
	wait_policy_change 1
	expect_file_match "$XLOG" 'ping 交給核心:icmp_ratemask' "說明 ping 交給核心的原因"
	probe_ping >/dev/null
	xdp_stop
	expect_eq "$(kv "$XLOG" icmp_req)" 5 "ratemask 含 echo reply 之後程式不再拿 ping"
}

# netfilter(nftables):有丟掉 ping 的 INPUT 規則時,預設不啟動;--respect-firewall 照防火牆(由核心)回答,
# 規則在執行中被移除 / 加回時跟著改;--bypass-firewall 照拿並說一行
t_firewall_nft() {
	xdp_env
	need_cmd nft
	local rules='table inet kbs { chain input { type filter hook input priority 0; icmp type echo-request drop; }; }'
	in_a nft -f - <<<"$rules" || fail "無法設定 nft 規則"
	expect_eq "$(probe_ping)" 0 "只有核心、有防火牆規則時的回覆數"
	expect_fail in_a timeout 20 "$XDP" -q va 0 # 不該啟動;萬一啟動了,20 秒後結束(還是算失敗:訊息不符)
	expect_file_match "$T_TMP/out" '^錯誤:netfilter 有規則\(nft inet kbs input\(1 條規則\)\).*--bypass-firewall.*--respect-firewall' "預設不啟動並說明兩個選擇"
	expect_eq "$(grep -c '^錯誤' "$T_TMP/out")" 1 "錯誤訊息行數"
	no_xdp_left "因防火牆不啟動"
	xdp_start "$XDP" 0 -q --respect-firewall
	expect_eq "$(probe_ping)" 0 "--respect-firewall:回覆數與只有核心時相同"
	in_a nft flush ruleset
	wait_policy_change 1
	expect_eq "$(probe_ping)" 5 "規則移除後的回覆數"
	in_a nft -f - <<<"$rules"
	wait_policy_change 2
	expect_eq "$(probe_ping)" 0 "規則加回後的回覆數"
	xdp_stop
	expect_eq "$(kv "$XLOG" icmp_reply)" 5 "只有沒有規則的那段時間由程式回答"
	xdp_start "$XDP" 0 -q --bypass-firewall
	expect_file_match "$XLOG" '注意:XDP 拿走的 ARP 與 ping 不經過 netfilter.*nft inet kbs input' "--bypass-firewall 說明略過防火牆"
	expect_eq "$(probe_ping)" 5 "--bypass-firewall:程式照樣回答"
	xdp_stop
	# rxdrop 不回答任何東西:只說一行
	expect_exit 0 in_a "$XDP" -q -m rxdrop --duration 1 va 0
	expect_file_match "$T_TMP/out" '注意:XDP 拿走的送到 UDP 9 埠的封包不經過 netfilter.*rxdrop 只計數丟棄' "rxdrop 說明一行"
}

# 舊式 iptables(x_tables)的規則也要看得到;執行中每秒重讀時不能每次都當成「改變」再說一次
# (曾把上一次的結果當 nftables 的部分沿用,再接上舊式的:每秒多一行、越來越長)
t_firewall_legacy() {
	xdp_env
	need_cmd iptables-legacy
	in_a iptables-legacy -A INPUT -p icmp -j DROP || skip "iptables-legacy 無法在這個核心上建立規則"
	expect_eq "$(probe_ping)" 0 "只有核心、有防火牆規則時的回覆數"
	expect_fail in_a timeout 20 "$XDP" -q va 0
	expect_file_match "$T_TMP/out" '^錯誤:netfilter 有規則\(.*iptables-legacy -t filter INPUT' "看得到舊式 iptables 的 INPUT 規則"
	no_xdp_left "因防火牆不啟動"
	local n0 n1
	xdp_start "$XDP" 0 -q --bypass-firewall
	sleep 1.5
	n0=$(wc -l <"$XLOG")
	sleep 4
	n1=$(wc -l <"$XLOG")
	xdp_stop
	expect_eq "$n1" "$n0" "規則沒變時 4 秒內記錄的行數(開始時 $n0 行)"
	expect_eq "$(grep -c '主機設定改變' "$XLOG")" 0 "規則沒變時說明主機設定改變的行數"
}

# 回程路由:核心只回答有路回得去的 ping(回覆要走路由);rp_filter 開著時 ARP 也要通過來源檢查。
# B 以另一個來源位址 10.99.0.2 ping A、問 A 的 ARP:A 沒有到它的路由、路由從 A 的另一個介面出去、路由從 va 出去,
# 三種情況下程式執行時的回覆數(ping/ARP)都要和只有核心時一樣,ping 只有最後一種由程式回答
# (曾經三種都回答:回覆直接送回來源 MAC,不看路由)
probe_src() {
	local n
	n=$(ip netns exec "$NS_B" ping -I 10.99.0.2 -c 5 -i 0.05 -W 1 198.18.0.1 2>/dev/null | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	echo "$n/$(probe_arp 10.99.0.2)"
}
t_route_back() { # rp_filter
	xdp_env
	in_a sysctl -qw net.ipv4.conf.all.rp_filter="$1"
	ip -n "$NS_B" addr add 10.99.0.2/32 dev vb
	# B 的鄰居項目固定:ping 的結果只看 A 回不回答(ARP 另外由 probe_arp 問)
	ip -n "$NS_B" neigh replace 198.18.0.1 lladdr "$VA_MAC" dev vb nud permanent
	ip -n "$NS_A" link add va2 type veth peer name vc2 # A 的另一個介面(兩端都在 A)
	ip -n "$NS_A" link set va2 up
	ip -n "$NS_A" link set vc2 up
	local devs=("" va2 va) k=() x=() i
	for i in 0 1 2; do
		[ -z "${devs[i]}" ] || ip -n "$NS_A" route replace 10.99.0.0/24 dev "${devs[i]}"
		k[i]=$(probe_src)
	done
	ip -n "$NS_A" route del 10.99.0.0/24
	echo "只有核心(ping/ARP 回覆數):沒有路由 ${k[0]}、走另一個介面 ${k[1]}、走 va ${k[2]}"
	[ "${k[0]%/*} ${k[1]%/*} ${k[2]%/*}" = "0 0 5" ] || fail "只有核心時的 ping 回覆數不是 0 0 5:${k[*]}"
	xdp_start "$XDP" 0 -q
	for i in 0 1 2; do
		[ -z "${devs[i]}" ] || { ip -n "$NS_A" route replace 10.99.0.0/24 dev "${devs[i]}" && sleep 2; } # 程式每秒重讀路由表
		x[i]=$(probe_src)
	done
	xdp_stop
	echo "程式執行中:沒有路由 ${x[0]}、走另一個介面 ${x[1]}、走 va ${x[2]}"
	expect_eq "${x[*]}" "${k[*]}" "程式執行中的回覆數(ping/ARP)"
	expect_eq "$(kv "$XLOG" icmp_reply)" 5 "程式自己回答的 ping 數(只有路由走 va 時)"
	# rp_filter 關著時核心回答 ARP 不看路由,程式三種情況都拿;開著時只有路由走 va 那次
	expect_ge "$(kv "$XLOG" arp_reply)" $(($1 ? 5 : 15)) "程式自己回答的 ARP 數"
}

# --help 的說明欄依顯示寬度對齊(中文字 2 欄):每一列選項說明的起始欄相同
t_help_aligned() {
	need_bin "$XDP"
	"$XDP" --help >"$T_TMP/help" || fail "--help 結束碼 $?"
	# 選項列 = 以空白開頭、含 -- 的列;說明從左欄之後第一個「兩個以上空白」之後開始
	sed -n '/^選項:/,/^$/p' "$T_TMP/help" | grep -- '--' |
		sed -E 's/^(  [-, a-zA-Z]*--[a-z-]+( [^ ]+)? +).*/\1/' >"$T_TMP/left"
	local n widths
	n=$(wc -l <"$T_TMP/left")
	widths=$(while IFS= read -r l; do printf '%s\n' "$l" | LC_ALL=C.UTF-8 wc -L; done <"$T_TMP/left" | sort -u)
	cat "$T_TMP/help"
	expect_ge "$n" 25 "選項列數"
	expect_eq "$(wc -l <<<"$widths")" 1 "說明欄起始欄的種類(各列的寬度:${widths//$'\n'/ })"
}

# ---- 收包:只拿 UDP 9 埠 ----
t_rxdrop() {
	xdp_env
	local n=20000
	xdp_start "$XDP" 0 -q -m rxdrop
	ip netns exec "$NS_B" "$PEER" send vb "$n" 40000 "$VA_MAC" || fail "送出失敗"
	sleep 0.5
	xdp_stop
	expect_eq "$(kv "$XLOG" rx)" "$n" "rxdrop 收到的封包數"
	expect_eq "$(kv "$XLOG" rx_dropped)" 0 "XDP_STATISTICS rx_dropped"
	expect_eq "$(kv "$XLOG" rx_ring_full)" 0 "XDP_STATISTICS rx_ring_full"
}

# 分片的 UDP datagram(到 9 埠)全部交給核心重組:拿走第一片會讓核心永遠湊不齊
t_rxdrop_fragments() {
	xdp_env
	need_bin "$PKT_RX"
	start_bg "$T_TMP/kernel" ip netns exec "$NS_A" "$PKT_RX" recvmmsg 9 30
	local kpid=$BG_PID
	xdp_start "$XDP" 0 -q -m rxdrop
	ip netns exec "$NS_B" "$PEER" udpfrag vb 20 || fail "送出失敗"
	sleep 0.5
	xdp_stop
	stop_bg "$kpid" INT 5
	cat "$T_TMP/kernel"
	expect_eq "$(kv "$T_TMP/kernel" received)" 20 "核心重組後收到的 datagram"
	expect_eq "$(kv "$XLOG" rx)" 0 "程式不應拿走任何片段"
}

# 預設大小、對端全速送 200,000 個 frame(AF_XDP txonly 產生器):送達率 >= 99%
t_rxdrop_delivery() {
	xdp_env
	local n=200000
	xdp_start "$XDP" 0 -q -m rxdrop --cpu 0
	ip netns exec "$NS_B" "$XDP" -q -m txonly --cpu 1 --dst-ip 198.18.0.1 --dst-mac "$VA_MAC" --count "$n" vb 0 \
		>"$T_TMP/gen" 2>&1 || fail "產生器失敗:$(grep -m1 錯誤 "$T_TMP/gen")"
	sleep 0.5
	xdp_stop
	local got
	got=$(kv "$XLOG" rx)
	echo "送 $n,收 $got(產生器 $(kv "$T_TMP/gen" elapsed_s) 秒)"
	expect_eq "$(kv "$T_TMP/gen" tx)" "$n" "產生器送出的數量"
	expect_ge "$((got * 100))" "$((n * 99))" "送達率 >= 99%(收到 $got / $n)"
}

t_txonly() {
	xdp_env
	local n=5000
	ip netns exec "$NS_B" "$PEER" count vb 4 9 >"$T_TMP/count" 2>&1 &
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

# 沒給 --dst-mac:用 ARP 表裡 --dst-ip 的 MAC(曾預設廣播:全速打到網段上每一台主機)
t_txonly_arp_dst() {
	xdp_env
	ip netns exec "$NS_B" "$PEER" count vb 4 9 >"$T_TMP/count" 2>&1 &
	local cpid=$!
	on_exit "kill $cpid 2>/dev/null"
	sleep 0.3
	expect_exit 0 ip netns exec "$NS_A" "$XDP" -q -m txonly --dst-ip 198.18.0.2 --count 100 va 0
	expect_file_match "$T_TMP/out" "MAC $VB_MAC" "目的 MAC 應是對端的(查 ARP 表)"
	wait "$cpid"
	cat "$T_TMP/count"
	# 100 個 + ARP 表裡還沒有對端時,程式讓核心解析 ARP 用的那 1 個空 datagram
	expect_match "$(kv "$T_TMP/count" received)" '^10[01]$' "對端收到的 UDP 封包數(100 或 101)"
	expect_eq "$(kv "$T_TMP/count" broadcast)" 0 "送到廣播 MAC 的封包數"
	# 沒有人回 ARP 的位址:清楚地失敗,不退回廣播
	expect_fail ip netns exec "$NS_A" "$XDP" -q -m txonly --dst-ip 198.18.0.99 --count 1 va 0
	expect_file_match "$T_TMP/out" 'ARP 表找不到 198.18.0.99.*--dst-mac' "找不到 MAC 的說明"
	expect_eq "$(wc -l <"$T_TMP/out")" 1 "錯誤訊息行數"
}

# --count / --rate 小於佇列數:分到 0 個的佇列什麼都不送(曾把 0 當成「不限」,全速送到被停止)
t_txonly_small_share() {
	xdp_env "" 2
	ip netns exec "$NS_B" "$PEER" count vb 6 9 >"$T_TMP/count" 2>&1 &
	local cpid=$!
	on_exit "kill $cpid 2>/dev/null"
	sleep 0.3
	expect_exit 0 ip netns exec "$NS_A" timeout 20 "$XDP" -q -m txonly --dst-ip 198.18.0.2 --dst-mac "$VB_MAC" \
		--count 1 va all
	expect_eq "$(kv "$T_TMP/out" tx)" 1 "--count 1、兩個佇列:送出的封包數"
	# --rate 1:只有一個佇列送(1 pps),不是每個佇列各 1 pps
	expect_exit 0 ip netns exec "$NS_A" timeout 20 "$XDP" -q -m txonly --dst-ip 198.18.0.2 --dst-mac "$VB_MAC" \
		--count 2 --rate 1 va all
	expect_eq "$(kv "$T_TMP/out" tx)" 2 "--count 2 --rate 1:送出的封包數"
	expect_eq "$(kv "$T_TMP/out" q1_tx)" 0 "--rate 1:佇列 1 不送"
	wait "$cpid"
	cat "$T_TMP/count"
	expect_eq "$(kv "$T_TMP/count" received)" 3 "對端收到的 UDP 封包數"
}

# txonly 不掛 XDP 程式:執行中核心照常回答 ping
t_txonly_kernel_ping() {
	xdp_env
	xdp_start "$XDP" 0 -q -m txonly --dst-ip 198.18.0.2 --dst-mac "$VB_MAC" --rate 5000
	has_xdp && fail "txonly 不應掛 XDP 程式"
	ping_ok 100 0.01
	xdp_stop
	expect_ge "$(kv "$XLOG" tx)" 1000 "txonly 同時在送"
}

t_l2fwd() {
	xdp_env
	xdp_start "$XDP" 0 -q -m l2fwd
	ip netns exec "$NS_B" "$PEER" l2fwd vb 1000 >"$T_TMP/l2" 2>&1
	local rc=$?
	cat "$T_TMP/l2"
	ping_ok 10 0.01 # l2fwd 只拿 UDP 9 埠,ping 由核心回答
	[ "$rc" -eq 0 ] || fail "l2fwd:$(cat "$T_TMP/l2")"
	# 廣播的 UDP 9(例如 Wake-on-LAN)不送回:交換 MAC 後來源會是廣播位址
	ip netns exec "$NS_B" "$PEER" count vb 2 9 >"$T_TMP/count" 2>&1 &
	local cpid=$!
	on_exit "kill $cpid 2>/dev/null"
	sleep 0.3
	ip netns exec "$NS_B" "$PEER" send vb 100 1000 || fail "送出失敗"
	wait "$cpid"
	cat "$T_TMP/count"
	xdp_stop
	expect_eq "$(kv "$T_TMP/count" received)" 0 "送回來的廣播 frame"
	expect_eq "$(kv "$XLOG" malformed)" 100 "程式丟棄的廣播 frame"
}

# ---- 多佇列:兩個佇列的 veth,對端以 64 個來源埠送,流量分散到兩個佇列 ----
t_multiqueue_all() {
	xdp_env "" 2
	local n=20000
	xdp_start "$XDP" all -q -m rxdrop
	expect_file_match "$XLOG" '佇列 0-1' "all = 佇列 0-1"
	ip netns exec "$NS_B" "$PEER" send vb "$n" 40000 "$VA_MAC" 64 || fail "送出失敗"
	sleep 0.5
	xdp_stop
	expect_eq "$(kv "$XLOG" rx)" "$n" "兩個佇列合計收到的封包數"
	expect_ge "$(kv "$XLOG" q0_rx)" 1 "佇列 0 收到的封包"
	expect_ge "$(kv "$XLOG" q1_rx)" 1 "佇列 1 收到的封包"
}

t_multiqueue_one() {
	xdp_env "" 2
	need_bin "$PKT_RX"
	local n=20000
	# 核心這邊也有人在 UDP 9 埠收:沒被拿走的那一份應該到它手上
	start_bg "$T_TMP/kernel" ip netns exec "$NS_A" "$PKT_RX" recvmmsg 9 30
	local kpid=$BG_PID
	xdp_start "$XDP" 0 -q -m rxdrop
	ip netns exec "$NS_B" "$PEER" send vb "$n" 40000 "$VA_MAC" 64 || fail "送出失敗"
	sleep 0.5
	xdp_stop
	stop_bg "$kpid" INT 5
	cat "$T_TMP/kernel"
	local mine kern
	mine=$(kv "$XLOG" rx)
	kern=$(kv "$T_TMP/kernel" received)
	echo "佇列 0 由程式拿走 $mine 個,核心收到 $kern 個"
	expect_eq "$mine" "$(kv "$XLOG" q0_redirected)" "程式收到的 = 佇列 0 導向的"
	expect_ge "$mine" 1 "佇列 0 應有流量"
	expect_ge "$kern" 1 "佇列 1 的流量應交給核心"
	expect_eq "$((mine + kern))" "$n" "程式 + 核心 = 送出"
}

# ---- 格式錯誤的 frame(ASan + UBSan 版本) ----
t_malformed_asan() {
	xdp_env 3900 # 3840 B 的 frame 需要大 MTU;native XDP 在這個 MTU 不能用,所以用 SKB 模式
	build_asan af_xdp_socket || fail "make SANITIZE=1 失敗:$(tail -n 3 "$T_LOGDIR/build-asan.log" | tr '\n' ' ')"
	need_bin "$ASAN"
	xdp_start "$ASAN" 0 -q -S --frame-size 4096
	ip netns exec "$NS_B" "$PEER" corpus vb "$VA_MAC" 198.18.0.1 >"$T_TMP/corpus" 2>&1
	local rc=$?
	cat "$T_TMP/corpus"
	sleep 0.3
	xdp_stop
	[ "$rc" -eq 0 ] || fail "回覆不正確:$(cat "$T_TMP/corpus")"
	# 每個收到的 frame 都有去處:回覆(ARP / ICMP 請求)或計入一種丟棄原因
	local k accounted=0
	for k in malformed not_for_us other fragments arp_req icmp_req; do
		accounted=$((accounted + $(kv "$XLOG" "$k")))
	done
	expect_eq "$accounted" "$(kv "$XLOG" rx)" "回覆 + 各種丟棄 = 收到的 frame"
	expect_eq "$(kv "$XLOG" tx)" "$(kv "$T_TMP/corpus" valid)" "只有合法請求得到回覆"
	expect_eq "$(kv "$T_TMP/corpus" kernel_replies)" 1 "帶 IP 選項的 ping 由核心回答"
	# XDP 程式只看幾個欄位:檢查碼錯誤、長度說謊的 frame 仍會送到使用者空間,由那裡的檢查擋下
	expect_eq "$(kv "$XLOG" rx)" "$(kv "$XLOG" xdp_redirected)" "使用者空間收到的 = XDP 程式導向的"
	expect_ge "$(kv "$XLOG" malformed)" 10 "使用者空間擋下的格式錯誤 frame"
	expect_eq "$(($(kv "$XLOG" xdp_redirected) + $(kv "$XLOG" xdp_passed) >= $(kv "$T_TMP/corpus" sent)))" 1 \
		"每個 frame 不是導向就是交給核心"
}

# ---- 閒置時不耗 CPU ----
t_idle_cpu() {
	xdp_env
	xdp_start "$XDP" 0 -q
	local t0 t1 hz
	hz=$(getconf CLK_TCK)
	t0=$(awk '{print $14 + $15}' "/proc/$XPID/stat") # ip netns exec 以 exec 執行程式:PID 相同
	sleep 5
	t1=$(awk '{print $14 + $15}' "/proc/$XPID/stat")
	echo "5 秒內 CPU $((t1 - t0)) ticks(每秒 $hz ticks)"
	expect_le "$((t1 - t0))" "$((hz * 5 / 10))" "閒置 5 秒的 CPU ticks(< 10% 一顆 CPU)"
	xdp_stop
}

# ---- 生命週期 ----
t_lifecycle_signal() { # 訊號
	xdp_env
	xdp_start "$XDP" 0 -q -m rxdrop
	has_xdp || fail "執行中應該看得到 XDP 程式"
	xdp_stop "$1"
	expect_file_match "$XLOG" '總結' "SIG$1 後的總結"
	no_xdp_left "SIG$1"
}

# nohup 執行時 SIGHUP 被忽略(曾被 sigtimedwait 收下而結束);其他結束訊號照常清理
t_nohup() {
	xdp_env
	need_cmd nohup
	xdp_start nohup 0 "$XDP" -q -m rxdrop
	kill -HUP "$XPID"
	sleep 1
	kill -0 "$XPID" 2>/dev/null || fail "nohup 之下收到 SIGHUP 就結束了:$(tail -n 3 "$XLOG")"
	xdp_stop
	no_xdp_left "nohup 之下的 SIGTERM"
}

# bpf_link:SIGKILL 之後 1 秒內介面上什麼都不剩,下一次直接啟動,不需要任何手動指令
t_sigkill_link() { # 模式
	xdp_env
	xdp_start "$XDP" 0 -q -m "$1"
	expect_file_match "$XLOG" '掛載方式:bpf_link' "以 bpf_link 掛載"
	has_xdp || fail "執行中應該看得到 XDP 程式"
	kill -KILL "$XPID"
	local t0 ms
	t0=$(date +%s%N)
	wait_for 1 sh -c "! ip -n '$NS_A' link show va | grep -q prog/xdp" || no_xdp_left "SIGKILL 後 1 秒"
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "SIGKILL 後 $ms ms 介面上已沒有 XDP 程式"
	expect_le "$ms" 1000 "SIGKILL 到程式消失的毫秒數"
	xdp_start "$XDP" 0 -q -m "$1"
	xdp_stop
	no_xdp_left "第二次執行結束"
}

# netlink 掛載(AF_XDP_NETLINK=1,模擬沒有 bpf_link 的核心):SIGKILL 留下程式;下一次執行說明它是
# af_xdp_socket 留下的、擁有者已經不在,並給以 id 指名的卸載指令;那個指令真的卸得下,之後照常啟動
t_sigkill_netlink() { # -S | -N
	xdp_env
	AF_XDP_NETLINK=1 xdp_start "$XDP" 0 -q "$1"
	expect_file_match "$XLOG" '掛載方式:netlink.*卸載指令:sudo .*--unload [0-9]+ va' "netlink 掛載與以 id 指名的卸載指令"
	local id cmd
	id=$(xdp_id)
	kill -KILL "$XPID"
	sleep 0.5
	has_xdp || fail "SIGKILL 後應該還掛著(否則這個檢查沒有意義)"
	expect_fail ip netns exec "$NS_A" timeout 20 env AF_XDP_NETLINK=1 "$XDP" -q "$1" va 0
	expect_file_match "$T_TMP/out" "留著 af_xdp_socket 的 XDP 程式\\(id $id.*行程\\(PID $XPID\\)已經不在了" "說明擁有者已經不在"
	cmd=$(sed -n 's/.*確認後卸下:sudo //p' "$T_TMP/out")
	expect_match "$cmd" "--unload $id va\$" "卸載指令以 id 指名"
	# 指令不會卸下別人的程式:id 不符時什麼都不做
	expect_fail ip netns exec "$NS_A" "$XDP" --unload "$((id + 100000))" va
	has_xdp || fail "id 不符的 --unload 不應卸下任何東西"
	# shellcheck disable=SC2086 # 指令本身要分詞
	ip netns exec "$NS_A" $cmd || fail "卸載指令失敗:$cmd"
	no_xdp_left "執行印出的卸載指令($cmd)"
	AF_XDP_NETLINK=1 xdp_start "$XDP" 0 -q "$1"
	xdp_stop
	no_xdp_left "卸載後再執行一次"
}

# tests 自己編一個「別人的」XDP 程式:丟掉 ICMP echo 請求,其他 XDP_PASS(看得出它在運作)
build_other_prog() {
	need_cmd clang gcc
	OTHER_O=$T_TMP/other.o
	cat >"$T_TMP/other.c" <<'BPF'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int other_drop_icmp(struct xdp_md *ctx)
{
	unsigned char *d = (void *)(long)ctx->data, *e = (void *)(long)ctx->data_end;

	if (d + 35 > e)
		return XDP_PASS;
	return d[12] == 8 && d[13] == 0 && d[23] == 1 && d[34] == 8 ? XDP_DROP : XDP_PASS;
}
char _license[] SEC("license") = "GPL";
BPF
	clang -O2 -g -target bpf -I"/usr/include/$(gcc -dumpmachine)" -c "$T_TMP/other.c" -o "$OTHER_O" ||
		fail "編譯別人的 XDP 程式失敗"
}

# 別人的程式在執行中以 ip -force link set ... xdp 換掉我們的:
#   netlink 掛載:2 秒內以結束碼 1 結束、說出換上來的程式,不卸下它(它繼續運作:ping 被它丟掉)
#   bpf_link:ip 指令失敗,我們照常回答
t_replaced() { # netlink | link
	xdp_env
	build_other_prog
	if [ "$1" = netlink ]; then
		AF_XDP_NETLINK=1 xdp_start "$XDP" 0 -q -N
	else
		xdp_start "$XDP" 0 -q -N
	fi
	ping_ok 3 0.05
	local t0 rc=0
	t0=$(date +%s%N)
	if ! ip -n "$NS_A" -force link set dev va xdp obj "$OTHER_O" sec xdp 2>"$T_TMP/ip.err"; then
		cat "$T_TMP/ip.err"
		[ "$1" = link ] || fail "netlink 掛載時 ip -force 應該換得掉:$(cat "$T_TMP/ip.err")"
		ping_ok 5 0.05
		kill -0 "$XPID" || fail "換不掉時我們的程式不應結束"
		xdp_stop
		expect_ge "$(kv "$XLOG" icmp_reply)" 8 "換不掉之後仍由我們回答的 ping"
		no_xdp_left "結束"
		return
	fi
	[ "$1" = netlink ] || fail "bpf_link 掛載時 ip -force 不應換得掉"
	stop_bg "$XPID" CONT 3 || rc=$? # 只是等它自己結束
	cat "$XLOG"
	expect_eq "$rc" 1 "被換掉後的結束碼"
	expect_le "$((($(date +%s%N) - t0) / 1000000))" 2000 "發現被換掉並結束的毫秒數"
	expect_match "$(tail -n1 "$XLOG")" '被換掉了:現在是 id [0-9]+「other_drop_icmp」' "最後一行說出換上來的程式"
	ip -n "$NS_A" link show va | grep -q 'prog/xdp.*name other_drop_icmp' || fail "別人的程式應該還掛著"
	ip netns exec "$NS_B" ping -c 3 -i 0.05 -W 1 198.18.0.1 >"$T_TMP/ping" 2>&1
	cat "$T_TMP/ping"
	grep -q ' 0 received' "$T_TMP/ping" || fail "別人的程式應該還在運作(丟掉 ping)"
}

# 介面上先有別人的程式:我們不啟動、說是誰的,不給任何卸載指令;--unload 也拒絕卸它
t_foreign_program() {
	xdp_env
	build_other_prog
	ip -n "$NS_A" link set dev va xdpgeneric obj "$OTHER_O" sec xdp || fail "無法掛上別人的程式"
	expect_fail ip netns exec "$NS_A" timeout 20 "$XDP" -q va 0
	expect_file_match "$T_TMP/out" '已經掛著別的 XDP 程式\(id [0-9]+「other_drop_icmp」,SKB 模式\);我們不動它' "說明是別人的程式"
	if grep -E 'ip link set|--unload|xdp.* off' "$T_TMP/out"; then fail "不應叫使用者卸下別人的程式"; fi
	expect_fail ip netns exec "$NS_A" "$XDP" --unload "$(xdp_id)" va
	expect_file_match "$T_TMP/out" '不是 af_xdp_socket 的' "--unload 拒絕卸下別人的程式"
	ip -n "$NS_A" link show va | grep -q 'name other_drop_icmp' || fail "別人的程式應該還掛著"
}

# 介面在執行中被刪除 / 關閉 / 移到別的命名空間 / 失去位址:2 秒內以結束碼 1 結束並說明
t_iface_vanish() { # del | down | moved | moved_netlink | addr
	xdp_env
	if [ "$1" = moved_netlink ]; then
		AF_XDP_NETLINK=1 xdp_start "$XDP" 0 -q
	else
		xdp_start "$XDP" 0 -q
	fi
	local ns_c="kbs-xc-$$"
	case $1 in
	del) ip -n "$NS_A" link del va ;;
	down) ip -n "$NS_A" link set va down ;;
	addr) ip -n "$NS_A" addr flush dev va ;; # 例如 DHCP 換了位址:不能再替舊位址回答 ARP
	moved*)
		ip netns add "$ns_c" || fail "無法建立命名空間 $ns_c"
		on_exit "ip netns del '$ns_c'"
		ip -n "$NS_A" link set va netns "$ns_c"
		;;
	esac
	local t0 rc=0
	t0=$(date +%s%N)
	stop_bg "$XPID" CONT 3 || rc=$? # CONT 不影響程式,只是等它自己結束(最多 3 秒)
	cat "$XLOG"
	[ "$rc" -ne 124 ] || fail "介面 $1 之後 3 秒仍未結束"
	expect_eq "$rc" 1 "結束碼"
	expect_le "$((($(date +%s%N) - t0) / 1000000))" 2000 "結束所需毫秒數"
	if [ "$1" != down ] && [ "$1" != addr ]; then
		expect_match "$(tail -n1 "$XLOG")" '^錯誤:介面 va 已消失\(被刪除或移到別的命名空間\),程式結束' "最後一行說明原因"
	fi
	if [ "$1" = moved ]; then
		# bpf_link:程式結束時核心卸下,介面到了哪個命名空間都一樣
		if ip -n "$ns_c" link show va | grep -q 'prog/xdp'; then fail "bpf_link 掛載的程式在結束後還掛在移走的介面上"; fi
		if grep -q -- '--unload' "$XLOG"; then fail "bpf_link 掛載時不應印出卸載指令"; fi
	elif [ "$1" = moved_netlink ]; then
		# netlink:XDP 程式跟著介面到了另一個命名空間:訊息裡的指令(填上命名空間)要真的卸得下
		local cmd
		cmd=$(sed -n 's/.*XDP 程式還掛在它上面:sudo //p' "$XLOG")
		[ -n "$cmd" ] || fail "沒有說明移走的介面上 XDP 程式怎麼卸"
		ip -n "$ns_c" link show va | grep -q 'prog/xdp' || fail "移走的介面上應該還掛著(否則這個檢查沒有意義)"
		# shellcheck disable=SC2086 # 指令本身要分詞
		${cmd/命名空間/$ns_c} || fail "卸載指令失敗:$cmd"
		if ip -n "$ns_c" link show va | grep -q 'prog/xdp'; then fail "執行 ${cmd/命名空間/$ns_c} 之後還掛著"; fi
	elif [ "$1" = down ]; then
		expect_file_match "$XLOG" '介面 va 已被關閉' "說明介面被關閉"
		no_xdp_left "介面 down 後結束"
	elif [ "$1" = addr ]; then
		expect_file_match "$XLOG" '介面 va 上已經沒有我們回答的 IPv4 位址' "說明位址被移除"
		no_xdp_left "位址被移除後結束"
	fi
}

t_lifecycle_duration() {
	xdp_env
	expect_exit 0 ip netns exec "$NS_A" "$XDP" -q -m rxdrop --duration 1 va 0
	expect_file_match "$T_TMP/out" '^SUMMARY' "SUMMARY"
	no_xdp_left "--duration 結束"
}

t_busy_poll() {
	xdp_env
	local before
	before=$(ip netns exec "$NS_A" cat /sys/class/net/va/napi_defer_hard_irqs /sys/class/net/va/gro_flush_timeout | tr '\n' ' ')
	xdp_start "$XDP" 0 -q -B
	expect_file_match "$XLOG" 'busy-poll:已啟用' "-B 應回報 busy-poll 狀態"
	expect_eq "$(ip netns exec "$NS_A" cat /sys/class/net/va/napi_defer_hard_irqs)" 2 "執行中的 napi_defer_hard_irqs"
	ping_ok 50 0.005
	xdp_stop
	expect_ge "$(kv "$XLOG" icmp_reply)" 50 "busy-poll 時程式回答的 ping"
	expect_eq "$(ip netns exec "$NS_A" cat /sys/class/net/va/napi_defer_hard_irqs /sys/class/net/va/gro_flush_timeout | tr '\n' ' ')" \
		"$before" "結束後 sysfs 值還原"
}

# 程式被凍住(SIGSTOP)時,XDP 程式不能把 ARP 與 ping 繼續導向沒人讀的 socket:1 秒沒有心跳就全部交給核心,
# 核心照它自己的設定回答(和只有核心時相同);SIGCONT 之後程式接回來自己回答。
t_frozen() { # 等待方式旗標…
	xdp_env
	local k_ping k_arp f_ping f_arp
	k_ping=$(probe_ping)
	k_arp=$(probe_arp 198.18.0.2)
	echo "只有核心:ping $k_ping 個回覆,ARP $k_arp 個"
	expect_eq "$k_ping" 5 "只有核心時的 ping 回覆數"
	xdp_start "$XDP" 0 -q "$@"
	on_exit "kill -CONT $XPID"
	expect_eq "$(probe_ping)" 5 "凍住之前的 ping 回覆數"
	kill -STOP "$XPID"
	sleep 1.5 # 心跳門檻 1 秒,加上主執行緒最多 100 ms 的間隔與餘裕
	ip -n "$NS_B" neigh flush dev vb # 之後的 ping 要先問 ARP
	f_ping=$(probe_ping)
	f_arp=$(probe_arp 198.18.0.2)
	echo "程式凍住時:ping $f_ping 個回覆,ARP $f_arp 個"
	expect_eq "$f_ping" "$k_ping" "程式凍住時(核心回答)的 ping 回覆數"
	expect_eq "$f_arp" "$k_arp" "程式凍住時(核心回答)的 ARP 回覆數"
	kill -CONT "$XPID"
	sleep 0.5
	expect_eq "$(probe_ping)" 5 "SIGCONT 之後的 ping 回覆數"
	xdp_stop
	# 凍住期間沒有任何請求被導向程式:它回答的正好是凍住前與 SIGCONT 後的各 5 個
	expect_eq "$(kv "$XLOG" icmp_reply)" 10 "程式自己回答的 ping 數"
	expect_eq "$(kv "$XLOG" icmp_req)" 10 "導向程式的 ping 數"
}

# -B 之後被 SIGKILL:印出的還原指令要真的把 NAPI 設定改回原值
t_busy_poll_sigkill() {
	xdp_env
	local sysfs=/sys/class/net/va before cmd
	before=$(ip netns exec "$NS_A" cat $sysfs/napi_defer_hard_irqs $sysfs/gro_flush_timeout | tr '\n' ' ')
	xdp_start "$XDP" 0 -q -B
	kill -KILL "$XPID"
	sleep 0.5
	[ "$(ip netns exec "$NS_A" cat $sysfs/napi_defer_hard_irqs)" = 2 ] || fail "SIGKILL 後應該還是 2(否則這個檢查沒有意義)"
	cmd=$(sed -n 's/.*NAPI 設定的還原指令:\(.*\)/\1/p' "$XLOG")
	[ -n "$cmd" ] || fail "沒有印出 NAPI 設定的還原指令"
	ip netns exec "$NS_A" sh -c "${cmd//sudo /}" || fail "還原指令失敗:$cmd"
	expect_eq "$(ip netns exec "$NS_A" cat $sysfs/napi_defer_hard_irqs $sysfs/gro_flush_timeout | tr '\n' ' ')" \
		"$before" "執行還原指令後的 sysfs 值"
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
	xdp_start "$XDP" 0 -q -S -m rxdrop
	expect_fail ip netns exec "$NS_A" "$XDP" -q -N va 0
	expect_file_match "$T_TMP/out" '正由另一個 af_xdp_socket\(PID [0-9]+,XDP 程式 id [0-9]+,SKB 模式\).*all' "應回報另一個 af_xdp_socket 與它的模式"
	if grep -E 'ip link set|--unload' "$T_TMP/out"; then fail "不應叫使用者卸下另一個還在執行的程式"; fi
	kill -0 "$XPID" || fail "第一個程式不應受影響"
	xdp_stop
	no_xdp_left "結束"
}

# 佇列正被另一個 AF_XDP socket 使用(txonly 不掛程式,所以走到 bind 的 EBUSY)
t_busy_queue() {
	xdp_env
	xdp_start "$XDP" 0 -q -m txonly --dst-ip 198.18.0.2 --dst-mac "$VB_MAC" --rate 100
	expect_fail ip netns exec "$NS_A" "$XDP" -q -m txonly --dst-ip 198.18.0.2 va 0
	expect_file_match "$T_TMP/out" '另一個 AF_XDP socket' "應說明佇列被佔用"
	expect_eq "$(grep -c '^錯誤' "$T_TMP/out")" 1 "錯誤訊息行數"
	kill -0 "$XPID" || fail "第一個程式不應受影響"
	xdp_stop
}

t_bad_iface_queue() {
	xdp_env
	expect_fail ip netns exec "$NS_A" "$XDP" nosuchif0 0
	expect_file_match "$T_TMP/out" '沒有名為' "不存在的介面"
	expect_fail ip netns exec "$NS_A" "$XDP" va 5
	expect_file_match "$T_TMP/out" '超出範圍.*ethtool -l' "佇列超出範圍"
	expect_fail ip netns exec "$NS_A" "$XDP" va 0-1
	expect_file_match "$T_TMP/out" '超出範圍' "佇列範圍超出"
	# 比 MTU 大的 frame 會在驅動程式被丟掉(曾回報「送出」而對端什麼都沒收到)
	expect_fail ip netns exec "$NS_A" "$XDP" -q -m txonly --dst-ip 198.18.0.2 --dst-mac "$VB_MAC" --frame-size 4096 \
		--size 1600 --count 10 va 0
	expect_file_match "$T_TMP/out" '超過介面 va 能送的 frame.*MTU 1500' "--size 超過 MTU"
	# 介面沒有 IPv4 位址(錯誤路徑曾在清理時存取還沒配置的佇列而 segfault)
	ip -n "$NS_A" addr flush dev va
	expect_fail ip netns exec "$NS_A" "$XDP" va 0
	expect_file_match "$T_TMP/out" '沒有 IPv4 位址.*--ip' "沒有 IPv4 位址"
	expect_eq "$(wc -l <"$T_TMP/out")" 1 "錯誤訊息行數"
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
		"abcdefghijklmnopq 0" "--size 10 lo" "lo -1" "--bogus lo" "lo 3-1" "lo 0-" "lo x" \
		"--cpu x lo" "--cpu 1-0 lo" "-B --spin lo" "--all lo" "-m txonly --all --dst-ip 1.2.3.4 lo" \
		"--udp-port 0 lo" "--duration 0 lo" "--cpu 4000 lo" "--bypass-firewall --respect-firewall lo" \
		"--unload 0 lo" "--unload x lo" "--unload 5 -q lo"; do
		# shellcheck disable=SC2086 # 刻意分詞
		expect_exit 64 "$XDP" $args
		expect_eq "$(wc -l <"$T_TMP/out")" 1 "「$args」的錯誤訊息行數"
	done
	expect_exit 0 "$XDP" --help
	expect_file_match "$T_TMP/out" 'respond' "--help"
	expect_file_match "$T_TMP/out" '資源上限' "--help 說明記憶體上限"
}

check bad_args t_bad_args
check help_aligned t_help_aligned
check not_root t_not_root
check respond_skb t_respond -S
check respond_native t_respond -N
check respond_default_mode t_respond_default_mode
check respond_jumbo_to_kernel t_respond_jumbo
check respond_jumbo_to_kernel_skb t_respond_jumbo -S
check coexist_tcp_ipv6_udp t_coexist
check policy_icmp_echo_ignore_all t_policy probe_ping "in_a sysctl -qw net.ipv4.icmp_echo_ignore_all=0" \
	"in_a sysctl -qw net.ipv4.icmp_echo_ignore_all=1" icmp_reply
check policy_icmp_echo_ignore_broadcasts t_policy probe_bcast "in_a sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0" \
	"in_a sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=1" -
check policy_icmp_ratemask t_policy_ratemask
check policy_arp_ignore_8 t_policy "probe_arp 198.18.0.2" "in_a sysctl -qw net.ipv4.conf.va.arp_ignore=0" \
	"in_a sysctl -qw net.ipv4.conf.va.arp_ignore=8" arp_reply
check policy_arp_ignore_2 t_policy "probe_arp 10.9.9.9" "in_a sysctl -qw net.ipv4.conf.all.arp_ignore=0" \
	"in_a sysctl -qw net.ipv4.conf.all.arp_ignore=2" arp_reply
check policy_arp_filter t_policy "probe_arp 10.77.0.5" \
	"ip -n \$NS_A route replace blackhole 10.77.0.0/24; in_a sysctl -qw net.ipv4.conf.va.arp_filter=0" \
	"in_a sysctl -qw net.ipv4.conf.va.arp_filter=1" arp_reply
check policy_noarp t_policy "probe_arp 198.18.0.2" "ip -n \$NS_A link set va arp on" "ip -n \$NS_A link set va arp off" arp_reply
check route_back t_route_back 0
check route_back_rp_filter t_route_back 1
check firewall_nft t_firewall_nft
check firewall_iptables_legacy t_firewall_legacy
check flood_with_tcp t_flood
check busy_poll t_busy_poll
check busy_poll_sigkill t_busy_poll_sigkill
check frozen_to_kernel t_frozen
check frozen_to_kernel_busy_poll t_frozen -B
check idle_cpu t_idle_cpu
check rxdrop_count t_rxdrop
check rxdrop_delivery t_rxdrop_delivery
check rxdrop_fragments_to_kernel t_rxdrop_fragments
check txonly_peer_count t_txonly
check txonly_small_share t_txonly_small_share
check txonly_arp_dst_mac t_txonly_arp_dst
check txonly_kernel_ping t_txonly_kernel_ping
check l2fwd_swapped t_l2fwd
check multiqueue_all t_multiqueue_all
check multiqueue_queue0 t_multiqueue_one
check malformed_corpus_asan t_malformed_asan
check lifecycle_sigint t_lifecycle_signal INT
check lifecycle_sigterm t_lifecycle_signal TERM
check lifecycle_sighup t_lifecycle_signal HUP
check lifecycle_sigquit t_lifecycle_signal QUIT
check lifecycle_nohup t_nohup
check sigkill_link_respond t_sigkill_link respond
check sigkill_link_rxdrop t_sigkill_link rxdrop
check sigkill_link_l2fwd t_sigkill_link l2fwd
check sigkill_netlink_skb t_sigkill_netlink -S
check sigkill_netlink_native t_sigkill_netlink -N
check replaced_netlink t_replaced netlink
check replaced_link t_replaced link
check foreign_program t_foreign_program
check iface_deleted t_iface_vanish del
check iface_down t_iface_vanish down
check iface_moved_netns t_iface_vanish moved
check iface_moved_netns_netlink t_iface_vanish moved_netlink
check iface_addr_removed t_iface_vanish addr
check lifecycle_duration t_lifecycle_duration
check zerocopy_on_veth t_zerocopy_veth
check native_peer_mtu t_native_mtu_too_big
check already_attached t_already_attached
check busy_queue t_busy_queue
check bad_iface_queue t_bad_iface_queue
